/*
 * jsonw.c - write JSON text directly in the canonical form the dci-ed25519
 * digest is computed over (Python's json.dumps(sort_keys=True,
 * separators=(",",":")), ensure_ascii): responses are emitted with their keys
 * already in code-point order, so the signed text is the text sent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "registry.h"

static const char hexdig[] = "0123456789abcdef";

static void
put_u16(dbuf *b, unsigned cp)
{
	char		s[6] = {'\\', 'u', hexdig[(cp >> 12) & 15], hexdig[(cp >> 8) & 15],
	hexdig[(cp >> 4) & 15], hexdig[cp & 15]};

	dbuf_append(b, s, 6);
}

/* Decode one UTF-8 sequence; invalid input yields U+FFFD and consumes 1 byte. */
static unsigned
utf8_next(const unsigned char *s, size_t len, size_t *used)
{
	unsigned	c = s[0],
				cp;
	size_t		n;

	if (c < 0x80)
	{
		*used = 1;
		return c;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, cp = c & 0x07;
	else
		goto bad;
	if (n > len)
		goto bad;
	for (size_t i = 1; i < n; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms and out-of-range values are not text Python could hold */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto bad;
	*used = n;
	return cp;
bad:
	*used = 1;
	return 0xfffd;
}

void
jw_string_n(dbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	dbuf_putc(b, '"');
	while (i < len)
	{
		size_t		run = i;

		/* copy plain printable ASCII in one go: the common case */
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i)
		{
			dbuf_append(b, s + i, run - i);
			i = run;
			continue;
		}
		switch (p[i])
		{
			case '"':
				dbuf_append(b, "\\\"", 2);
				i++;
				continue;
			case '\\':
				dbuf_append(b, "\\\\", 2);
				i++;
				continue;
			case '\n':
				dbuf_append(b, "\\n", 2);
				i++;
				continue;
			case '\r':
				dbuf_append(b, "\\r", 2);
				i++;
				continue;
			case '\t':
				dbuf_append(b, "\\t", 2);
				i++;
				continue;
			case '\b':
				dbuf_append(b, "\\b", 2);
				i++;
				continue;
			case '\f':
				dbuf_append(b, "\\f", 2);
				i++;
				continue;
			default:
				break;
		}
		{
			size_t		used;
			unsigned	cp = utf8_next(p + i, len - i, &used);

			i += used;
			if (cp >= 0x10000)
			{
				cp -= 0x10000;
				put_u16(b, 0xd800 | (cp >> 10));
				put_u16(b, 0xdc00 | (cp & 0x3ff));
			}
			else
				put_u16(b, cp);
		}
	}
	dbuf_putc(b, '"');
}

void
jw_string(dbuf *b, const char *s)
{
	jw_string_n(b, s ? s : "", s ? strlen(s) : 0);
}

void
jw_key(dbuf *b, const char *key)
{
	jw_string(b, key);
	dbuf_putc(b, ':');
}

void
jw_long(dbuf *b, long v)
{
	dbuf_printf(b, "%ld", v);
}

/* The strcount fault sends counts as strings, as some registries do. */
void
jw_count(dbuf *b, long v, bool as_string)
{
	if (as_string)
		dbuf_printf(b, "\"%ld\"", v);
	else
		dbuf_printf(b, "%ld", v);
}

/* Python's repr() of a double: shortest digits that read back the same,
 * fixed notation for exponents -4..15, else d.ddde+XX. */
static int
put_double(dbuf *b, double d)
{
	char		buf[40],
				digits[20];
	int			prec,
				nd = 0,
				exp;
	char	   *e;

	if (!isfinite(d))
		return -1;
	for (prec = 1; prec <= 17; prec++)
	{
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	e = strchr(buf, 'e');
	exp = atoi(e + 1);
	for (char *p = buf; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (buf[0] == '-')
		dbuf_putc(b, '-');
	if (exp >= -4 && exp < 16)
	{
		if (exp < 0)
		{
			dbuf_puts(b, "0.");
			for (int i = -1; i > exp; i--)
				dbuf_putc(b, '0');
			dbuf_append(b, digits, nd);
		}
		else
		{
			for (int i = 0; i <= exp; i++)
				dbuf_putc(b, i < nd ? digits[i] : '0');
			dbuf_putc(b, '.');
			if (nd > exp + 1)
				dbuf_append(b, digits + exp + 1, nd - exp - 1);
			else
				dbuf_putc(b, '0');
		}
	}
	else
	{
		dbuf_putc(b, digits[0]);
		if (nd > 1)
		{
			dbuf_putc(b, '.');
			dbuf_append(b, digits + 1, nd - 1);
		}
		dbuf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
	return 0;
}

static int
cmp_keys(const void *a, const void *b)
{
	/* UTF-8 byte order is code-point order, which is what sort_keys uses */
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int
jw_canonical(dbuf *b, struct json_object *o)
{
	switch (json_object_get_type(o))
	{
		case json_type_null:
			dbuf_puts(b, "null");
			return 0;
		case json_type_boolean:
			dbuf_puts(b, json_object_get_boolean(o) ? "true" : "false");
			return 0;
		case json_type_int:
			dbuf_printf(b, "%lld", (long long) json_object_get_int64(o));
			return 0;
		case json_type_double:
			return put_double(b, json_object_get_double(o));
		case json_type_string:
			jw_string_n(b, json_object_get_string(o), json_object_get_string_len(o));
			return 0;
		case json_type_array:
			{
				size_t		n = json_object_array_length(o);

				dbuf_putc(b, '[');
				for (size_t i = 0; i < n; i++)
				{
					if (i)
						dbuf_putc(b, ',');
					if (jw_canonical(b, json_object_array_get_idx(o, i)) < 0)
						return -1;
				}
				dbuf_putc(b, ']');
				return 0;
			}
		case json_type_object:
			{
				size_t		n = json_object_object_length(o),
							i = 0;
				const char **keys = malloc((n ? n : 1) * sizeof(char *));
				int			rc = 0;

				if (keys == NULL)
					return -1;
				json_object_object_foreach(o, k, v)
				{
					(void) v;
					keys[i++] = k;
				}
				qsort(keys, n, sizeof(char *), cmp_keys);
				dbuf_putc(b, '{');
				for (i = 0; i < n && rc == 0; i++)
				{
					if (i)
						dbuf_putc(b, ',');
					jw_key(b, keys[i]);
					rc = jw_canonical(b, json_object_object_get(o, keys[i]));
				}
				dbuf_putc(b, '}');
				free(keys);
				return rc;
			}
	}
	return -1;
}

void
uuid_v4(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
	{
		/* never seen with OpenSSL 3 on Linux; a non-unique id beats a crash */
		for (int i = 0; i < 16; i++)
			r[i] = (unsigned char) random();
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
			 r[12], r[13], r[14], r[15]);
}

void
format_ts(time_t t, char out[21])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
