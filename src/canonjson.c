/*
 * canonjson.c - strict JSON parser and Python-compatible canonical emitter
 * (see canonjson.h).
 *
 * The parser follows RFC 8259 strictly: no comments, no NaN/Infinity
 * literals, no leading zeros, no raw control characters in strings, valid
 * UTF-8 only, and \u escapes must form valid code points (no lone
 * surrogates).  Numbers are kept as their source text so that integers are
 * emitted exactly as Python's unbounded int would print them.
 */
#include "canonjson.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting is refused: the parser and emitter recurse. */
#define CJ_MAX_DEPTH	256

/* Python 3.11+ refuses int() of more digits than this (sys.int_info). */
#define CJ_MAX_INT_DIGITS	4300

typedef struct cj_member
{
	char	   *key;			/* decoded UTF-8, NUL-terminated */
	size_t		klen;
	cj_node    *val;
} cj_member;

struct cj_node
{
	cj_type		type;
	char	   *s;				/* string value or number text */
	size_t		slen;
	size_t		n;				/* number of items or members */
	cj_node   **items;			/* CJ_ARRAY */
	cj_member  *members;		/* CJ_OBJECT, in input order */
};

typedef struct cj_parser
{
	const unsigned char *p;
	const unsigned char *start;
	const unsigned char *end;
	char	   *err;
	size_t		errlen;
	int			failed;
} cj_parser;

static cj_node *parse_value(cj_parser *ps, int depth);

static void perr(cj_parser *ps, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Record the first error only: later ones are consequences. */
static void
perr(cj_parser *ps, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (ps->failed)
		return;
	ps->failed = 1;
	if (ps->err == NULL || ps->errlen == 0)
		return;
	n = snprintf(ps->err, ps->errlen, "invalid JSON at offset %zu: ",
				 (size_t) (ps->p - ps->start));
	if (n < 0 || (size_t) n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static cj_node *
new_node(cj_type t)
{
	cj_node    *n = calloc(1, sizeof(cj_node));

	if (n != NULL)
		n->type = t;
	return n;
}

void
cj_free(cj_node *n)
{
	size_t		i;

	if (n == NULL)
		return;
	if (n->type == CJ_ARRAY)
	{
		for (i = 0; i < n->n; i++)
			cj_free(n->items[i]);
		free(n->items);
	}
	else if (n->type == CJ_OBJECT)
	{
		for (i = 0; i < n->n; i++)
		{
			free(n->members[i].key);
			cj_free(n->members[i].val);
		}
		free(n->members);
	}
	free(n->s);
	free(n);
}

static void
skip_ws(cj_parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 when malformed. */
static long
read_hex4(cj_parser *ps)
{
	long		v = 0;
	int			i;

	if (ps->end - ps->p < 4)
		return -1;
	for (i = 0; i < 4; i++)
	{
		int			h = hexval(ps->p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	ps->p += 4;
	return v;
}

static int
put_utf8(dbuf *b, unsigned long cp)
{
	char		u[4];
	size_t		n;

	if (cp < 0x80)
	{
		u[0] = (char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		u[0] = (char) (0xC0 | (cp >> 6));
		u[1] = (char) (0x80 | (cp & 0x3F));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		u[0] = (char) (0xE0 | (cp >> 12));
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char) (0x80 | (cp & 0x3F));
		n = 3;
	}
	else
	{
		u[0] = (char) (0xF0 | (cp >> 18));
		u[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char) (0x80 | (cp & 0x3F));
		n = 4;
	}
	return dbuf_append(b, u, n);
}

/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 when it is invalid:
 * overlong forms, UTF-16 surrogates and code points above U+10FFFF are all
 * rejected (RFC 3629).
 */
static int
utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t		avail = end - p;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
	{
		if (avail < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
			(p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* Parse a string token (ps->p at the opening quote) into a malloc'd buffer. */
static char *
parse_string_raw(cj_parser *ps, size_t *lenp)
{
	dbuf		b;

	dbuf_init(&b);
	ps->p++;					/* opening quote */
	if (dbuf_reserve(&b, 16) != 0)
		goto oom;
	for (;;)
	{
		const unsigned char *run = ps->p;

		/* copy a run of plain characters at once */
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' &&
			   *ps->p >= 0x20 && *ps->p < 0x80)
			ps->p++;
		if (ps->p > run && dbuf_append(&b, (const char *) run, ps->p - run) != 0)
			goto oom;
		if (ps->p >= ps->end)
		{
			perr(ps, "unterminated string");
			goto fail;
		}
		if (*ps->p == '"')
		{
			ps->p++;
			break;
		}
		if (*ps->p < 0x20)
		{
			perr(ps, "unescaped control character 0x%02x in string", *ps->p);
			goto fail;
		}
		if (*ps->p >= 0x80)
		{
			int			n = utf8_seq_len(ps->p, ps->end);

			if (n == 0)
			{
				perr(ps, "invalid UTF-8 in string");
				goto fail;
			}
			if (dbuf_append(&b, (const char *) ps->p, n) != 0)
				goto oom;
			ps->p += n;
			continue;
		}
		/* backslash escape */
		ps->p++;
		if (ps->p >= ps->end)
		{
			perr(ps, "unterminated escape");
			goto fail;
		}
		{
			unsigned char e = *ps->p++;
			char		c;
			long		cp;

			switch (e)
			{
				case '"':
					c = '"';
					break;
				case '\\':
					c = '\\';
					break;
				case '/':
					c = '/';
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				case 'u':
					cp = read_hex4(ps);
					if (cp < 0)
					{
						perr(ps, "bad \\u escape");
						goto fail;
					}
					if (cp >= 0xDC00 && cp <= 0xDFFF)
					{
						perr(ps, "lone low surrogate \\u%04lx", cp);
						goto fail;
					}
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						long		lo;

						if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
						{
							perr(ps, "lone high surrogate \\u%04lx", cp);
							goto fail;
						}
						ps->p += 2;
						lo = read_hex4(ps);
						if (lo < 0)
						{
							perr(ps, "bad \\u escape");
							goto fail;
						}
						if (lo < 0xDC00 || lo > 0xDFFF)
						{
							perr(ps, "high surrogate \\u%04lx not followed by a low surrogate", cp);
							goto fail;
						}
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					if (put_utf8(&b, (unsigned long) cp) != 0)
						goto oom;
					continue;
				default:
					ps->p--;
					perr(ps, "bad escape '\\%c'", (e >= 0x20 && e < 0x7f) ? e : '?');
					goto fail;
			}
			if (dbuf_putc(&b, c) != 0)
				goto oom;
		}
	}
	*lenp = b.len;
	return b.data;

oom:
	perr(ps, "out of memory");
fail:
	dbuf_free(&b);
	return NULL;
}

static cj_node *
parse_number(cj_parser *ps)
{
	const unsigned char *s = ps->p;
	const unsigned char *digits;
	cj_node    *n;
	int			is_int = 1;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	digits = ps->p;
	if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
	{
		perr(ps, "bad number");
		return NULL;
	}
	if (*ps->p == '0')
	{
		ps->p++;
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		{
			perr(ps, "leading zero in number");
			return NULL;
		}
	}
	else
	{
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && *ps->p == '.')
	{
		is_int = 0;
		ps->p++;
		if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
		{
			perr(ps, "digit expected after '.'");
			return NULL;
		}
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
	{
		is_int = 0;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
		{
			perr(ps, "digit expected in exponent");
			return NULL;
		}
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (is_int && (size_t) (ps->p - digits) > CJ_MAX_INT_DIGITS)
	{
		ps->p = s;
		perr(ps, "integer has more than %d digits", CJ_MAX_INT_DIGITS);
		return NULL;
	}
	n = new_node(CJ_NUMBER);
	if (n == NULL)
		goto oom;
	n->slen = ps->p - s;
	n->s = malloc(n->slen + 1);
	if (n->s == NULL)
	{
		free(n);
		goto oom;
	}
	memcpy(n->s, s, n->slen);
	n->s[n->slen] = '\0';
	return n;

oom:
	perr(ps, "out of memory");
	return NULL;
}

static int
match_literal(cj_parser *ps, const char *lit)
{
	size_t		l = strlen(lit);

	if ((size_t) (ps->end - ps->p) < l || memcmp(ps->p, lit, l) != 0)
		return 0;
	ps->p += l;
	return 1;
}

static cj_node *
parse_array(cj_parser *ps, int depth)
{
	cj_node    *n = new_node(CJ_ARRAY);
	size_t		cap = 0;

	if (n == NULL)
	{
		perr(ps, "out of memory");
		return NULL;
	}
	ps->p++;					/* '[' */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']')
	{
		ps->p++;
		return n;
	}
	for (;;)
	{
		cj_node    *v;

		skip_ws(ps);
		v = parse_value(ps, depth);
		if (v == NULL)
			goto fail;
		if (n->n == cap)
		{
			size_t		ncap = cap ? cap * 2 : 4;
			cj_node   **ni = realloc(n->items, ncap * sizeof(cj_node *));

			if (ni == NULL)
			{
				cj_free(v);
				perr(ps, "out of memory");
				goto fail;
			}
			n->items = ni;
			cap = ncap;
		}
		n->items[n->n++] = v;
		skip_ws(ps);
		if (ps->p >= ps->end)
		{
			perr(ps, "unterminated array");
			goto fail;
		}
		if (*ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (*ps->p == ']')
		{
			ps->p++;
			return n;
		}
		perr(ps, "',' or ']' expected");
		goto fail;
	}
fail:
	cj_free(n);
	return NULL;
}

static cj_node *
parse_object(cj_parser *ps, int depth)
{
	cj_node    *n = new_node(CJ_OBJECT);
	size_t		cap = 0;

	if (n == NULL)
	{
		perr(ps, "out of memory");
		return NULL;
	}
	ps->p++;					/* '{' */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
	{
		ps->p++;
		return n;
	}
	for (;;)
	{
		char	   *key;
		size_t		klen;
		cj_node    *v;

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
		{
			perr(ps, "string key expected");
			goto fail;
		}
		key = parse_string_raw(ps, &klen);
		if (key == NULL)
			goto fail;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
		{
			free(key);
			perr(ps, "':' expected");
			goto fail;
		}
		ps->p++;
		skip_ws(ps);
		v = parse_value(ps, depth);
		if (v == NULL)
		{
			free(key);
			goto fail;
		}
		if (n->n == cap)
		{
			size_t		ncap = cap ? cap * 2 : 4;
			cj_member  *nm = realloc(n->members, ncap * sizeof(cj_member));

			if (nm == NULL)
			{
				free(key);
				cj_free(v);
				perr(ps, "out of memory");
				goto fail;
			}
			n->members = nm;
			cap = ncap;
		}
		n->members[n->n].key = key;
		n->members[n->n].klen = klen;
		n->members[n->n].val = v;
		n->n++;
		skip_ws(ps);
		if (ps->p >= ps->end)
		{
			perr(ps, "unterminated object");
			goto fail;
		}
		if (*ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (*ps->p == '}')
		{
			ps->p++;
			return n;
		}
		perr(ps, "',' or '}' expected");
		goto fail;
	}
fail:
	cj_free(n);
	return NULL;
}

static cj_node *
parse_value(cj_parser *ps, int depth)
{
	cj_node    *n;

	if (ps->p >= ps->end)
	{
		perr(ps, "unexpected end of input");
		return NULL;
	}
	switch (*ps->p)
	{
		case '{':
		case '[':
			if (depth >= CJ_MAX_DEPTH)
			{
				perr(ps, "nesting deeper than %d", CJ_MAX_DEPTH);
				return NULL;
			}
			return *ps->p == '{' ? parse_object(ps, depth + 1) : parse_array(ps, depth + 1);
		case '"':
			n = new_node(CJ_STRING);
			if (n == NULL)
			{
				perr(ps, "out of memory");
				return NULL;
			}
			n->s = parse_string_raw(ps, &n->slen);
			if (n->s == NULL)
			{
				free(n);
				return NULL;
			}
			return n;
		case 't':
		case 'f':
		case 'n':
			{
				cj_type		t;

				if (match_literal(ps, "true"))
					t = CJ_TRUE;
				else if (match_literal(ps, "false"))
					t = CJ_FALSE;
				else if (match_literal(ps, "null"))
					t = CJ_NULL;
				else
				{
					perr(ps, "unknown literal");
					return NULL;
				}
				n = new_node(t);
				if (n == NULL)
				{
					perr(ps, "out of memory");
					return NULL;
				}
				return n;
			}
		default:
			if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
				return parse_number(ps);
			if (*ps->p >= 0x20 && *ps->p < 0x7f)
				perr(ps, "unexpected character '%c'", *ps->p);
			else
				perr(ps, "unexpected byte 0x%02x", *ps->p);
			return NULL;
	}
}

cj_node *
cj_parse(const char *text, size_t len, char *err, size_t errlen)
{
	cj_parser	ps;
	cj_node    *n;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL)
	{
		set_err(err, errlen, "invalid JSON: no input");
		return NULL;
	}
	ps.start = ps.p = (const unsigned char *) text;
	ps.end = ps.p + len;
	ps.err = err;
	ps.errlen = errlen;
	ps.failed = 0;
	skip_ws(&ps);
	n = parse_value(&ps, 0);
	if (n == NULL)
	{
		if (!ps.failed)
			perr(&ps, "parse error");
		return NULL;
	}
	skip_ws(&ps);
	if (ps.p != ps.end)
	{
		perr(&ps, "trailing characters after the JSON value");
		cj_free(n);
		return NULL;
	}
	return n;
}

cj_type
cj_typeof(const cj_node *n)
{
	return n ? n->type : CJ_NULL;
}

const cj_node *
cj_get(const cj_node *obj, const char *key)
{
	size_t		klen;
	size_t		i;

	if (obj == NULL || key == NULL || obj->type != CJ_OBJECT)
		return NULL;
	klen = strlen(key);
	/* last one wins, as in Python's dict */
	for (i = obj->n; i > 0; i--)
	{
		const cj_member *m = &obj->members[i - 1];

		if (m->klen == klen && memcmp(m->key, key, klen) == 0)
			return m->val;
	}
	return NULL;
}

const char *
cj_string(const cj_node *n)
{
	if (n == NULL || n->type != CJ_STRING)
		return NULL;
	return n->s;
}

/* ---- emitter ---- */

static int
emit_string(const char *s, size_t len, dbuf *out)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;

	if (dbuf_reserve(out, len + 2) != 0 || dbuf_putc(out, '"') != 0)
		return -1;
	while (p < end)
	{
		unsigned char c = *p;
		const unsigned char *run = p;
		unsigned long cp;
		int			n;

		/* printable ASCII other than " and \ goes out unchanged */
		while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && dbuf_append(out, (const char *) run, p - run) != 0)
			return -1;
		if (p >= end)
			break;
		c = *p;
		if (c < 0x80)
		{
			const char *esc = NULL;

			switch (c)
			{
				case '"':
					esc = "\\\"";
					break;
				case '\\':
					esc = "\\\\";
					break;
				case '\n':
					esc = "\\n";
					break;
				case '\r':
					esc = "\\r";
					break;
				case '\t':
					esc = "\\t";
					break;
				case '\b':
					esc = "\\b";
					break;
				case '\f':
					esc = "\\f";
					break;
			}
			if (esc != NULL ? dbuf_puts(out, esc) : dbuf_printf(out, "\\u%04x", c))
				return -1;
			p++;
			continue;
		}
		/* strings come from the parser, so UTF-8 is valid; still be safe */
		n = utf8_seq_len(p, end);
		if (n == 0)
			return -1;
		if (n == 2)
			cp = ((unsigned long) (p[0] & 0x1F) << 6) | (p[1] & 0x3F);
		else if (n == 3)
			cp = ((unsigned long) (p[0] & 0x0F) << 12) | ((unsigned long) (p[1] & 0x3F) << 6) |
				(p[2] & 0x3F);
		else
			cp = ((unsigned long) (p[0] & 0x07) << 18) | ((unsigned long) (p[1] & 0x3F) << 12) |
				((unsigned long) (p[2] & 0x3F) << 6) | (p[3] & 0x3F);
		p += n;
		if (cp >= 0x10000)
		{
			cp -= 0x10000;
			if (dbuf_printf(out, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
				return -1;
		}
		else if (dbuf_printf(out, "\\u%04lx", cp))
			return -1;
	}
	return dbuf_putc(out, '"');
}

/*
 * Digits and decimal exponent of a finite double from "%.*e" output:
 * digits receives the significant digits (no point), *exp10 the exponent of
 * the first digit.  Works whatever the locale's radix character is.
 */
static int
split_e(const char *buf, char *digits, size_t dsize, int *exp10)
{
	const char *p = buf;
	size_t		nd = 0;

	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (nd + 1 >= dsize)
				return -1;
			digits[nd++] = *p;
		}
	}
	if (*p != 'e' || nd == 0)
		return -1;
	digits[nd] = '\0';
	*exp10 = atoi(p + 1);
	return 0;
}

/* strtod of digits * 10^(exp10 - ndigits + 1), without a radix character. */
static double
digits_to_double(const char *digits, int exp10, int neg)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), "%s%se%d", neg ? "-" : "", digits,
			 exp10 - (int) strlen(digits) + 1);
	return strtod(buf, NULL);
}

/* Add delta (+1 or -1) to the last digit of a digit string, in place. */
static int
bump_digits(char *digits, int *exp10, int delta, size_t dsize)
{
	size_t		nd = strlen(digits);
	size_t		i = nd;

	if (delta > 0)
	{
		while (i > 0 && digits[i - 1] == '9')
			digits[--i] = '0';
		if (i == 0)
		{
			/* 99..9 + 1 = 100..0: one more leading digit */
			if (nd + 2 > dsize)
				return -1;
			memmove(digits + 1, digits, nd + 1);
			digits[0] = '1';
			digits[nd] = '\0';	/* keep the same number of digits */
			(*exp10)++;
			return 0;
		}
		digits[i - 1]++;
	}
	else
	{
		while (i > 0 && digits[i - 1] == '0')
			digits[--i] = '9';
		if (i == 0)
			return -1;
		digits[i - 1]--;
		if (digits[0] == '0')
			return -1;			/* would lose a digit; not a candidate */
	}
	return 0;
}

/*
 * Shortest digit string that reads back as x (Python's repr, i.e. David
 * Gay's dtoa mode 0): the fewest significant digits that round-trip, and of
 * those the one nearest to x.  The nearest n-digit decimal normally is the
 * answer; next to a power of two the rounding interval is lopsided, so the
 * neighbours one unit away are tried as well.
 */
static int
shortest_digits(double x, char *digits, size_t dsize, int *exp10)
{
	char		buf[64];
	int			prec;
	int			neg = signbit(x) ? 1 : 0;

	for (prec = 1; prec <= 17; prec++)
	{
		char		cand[2][32];
		int			cexp[2];
		int			ok[2];
		int			k;

		snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
		if (split_e(buf, digits, dsize, exp10) != 0)
			return -1;
		if (digits_to_double(digits, *exp10, neg) == x)
			return 0;
		if (prec == 17)
			break;
		for (k = 0; k < 2; k++)
		{
			snprintf(cand[k], sizeof(cand[k]), "%s", digits);
			cexp[k] = *exp10;
			ok[k] = bump_digits(cand[k], &cexp[k], k == 0 ? 1 : -1, sizeof(cand[k])) == 0 &&
				digits_to_double(cand[k], cexp[k], neg) == x;
		}
		/*
		 * Both cannot read back as x: the rounding interval is convex, so the
		 * nearest candidate between them would have too.
		 */
		if (ok[0] || ok[1])
		{
			k = ok[0] ? 0 : 1;
			snprintf(digits, dsize, "%s", cand[k]);
			*exp10 = cexp[k];
			return 0;
		}
	}
	/* %.16e always round-trips a double */
	snprintf(buf, sizeof(buf), "%.16e", x);
	return split_e(buf, digits, dsize, exp10);
}

/* Python's float repr of x, appended to out. */
static int
emit_double(double x, dbuf *out)
{
	char		digits[40];
	int			e;
	int			nd;
	int			i;

	if (isnan(x))
		return dbuf_puts(out, "NaN");
	if (isinf(x))
		return dbuf_puts(out, x < 0 ? "-Infinity" : "Infinity");
	if (shortest_digits(x, digits, sizeof(digits), &e) != 0)
		return -1;
	/* drop trailing zeros (only "0" itself keeps one) */
	nd = (int) strlen(digits);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	if (signbit(x) && dbuf_putc(out, '-') != 0)
		return -1;
	if (e < -4 || e >= 16)
	{
		/* scientific: d[.ddd]e+XX */
		if (dbuf_putc(out, digits[0]) != 0)
			return -1;
		if (nd > 1 && (dbuf_putc(out, '.') != 0 || dbuf_append(out, digits + 1, nd - 1) != 0))
			return -1;
		return dbuf_printf(out, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	if (e < 0)
	{
		/* 0.000ddd */
		if (dbuf_puts(out, "0.") != 0)
			return -1;
		for (i = 0; i < -e - 1; i++)
			if (dbuf_putc(out, '0') != 0)
				return -1;
		return dbuf_append(out, digits, nd);
	}
	/* ddd.ddd, with at least one digit after the point */
	if (nd <= e + 1)
	{
		if (dbuf_append(out, digits, nd) != 0)
			return -1;
		for (i = nd; i < e + 1; i++)
			if (dbuf_putc(out, '0') != 0)
				return -1;
		return dbuf_puts(out, ".0");
	}
	if (dbuf_append(out, digits, e + 1) != 0 || dbuf_putc(out, '.') != 0)
		return -1;
	return dbuf_append(out, digits + e + 1, nd - e - 1);
}

/*
 * Value of a JSON number literal that is not an integer.  The literal is
 * rewritten as <digits>e<exp> so that strtod never depends on the locale's
 * radix character.
 */
static int
number_to_double(const char *s, size_t len, double *out)
{
	const char *p = s;
	const char *end = s + len;
	dbuf		b;
	long		fracdigits = 0;
	long		exp = 0;
	int			neg = 0;
	int			any = 0;

	dbuf_init(&b);
	if (p < end && *p == '-')
	{
		neg = 1;
		p++;
	}
	if (dbuf_reserve(&b, len + 32) != 0)
		return -1;
	if (neg)
		dbuf_putc(&b, '-');
	for (; p < end && *p >= '0' && *p <= '9'; p++)
	{
		if (*p == '0' && !any)
			continue;			/* leading zeros do not matter */
		any = 1;
		dbuf_putc(&b, *p);
	}
	if (p < end && *p == '.')
	{
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
		{
			fracdigits++;
			if (*p == '0' && !any)
				continue;
			any = 1;
			dbuf_putc(&b, *p);
		}
	}
	if (!any)
		dbuf_putc(&b, '0');
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		int			eneg = 0;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = (*p++ == '-');
		for (; p < end && *p >= '0' && *p <= '9'; p++)
		{
			/* saturate: anything this large is 0 or infinity anyway */
			if (exp < 1000000000L)
				exp = exp * 10 + (*p - '0');
		}
		if (eneg)
			exp = -exp;
	}
	dbuf_printf(&b, "e%ld", exp - fracdigits);
	*out = strtod(b.data, NULL);
	dbuf_free(&b);
	return 0;
}

static int	emit_node(const cj_node *n, dbuf *out);

typedef struct sort_ent
{
	const char *key;
	size_t		klen;
	const cj_node *val;
	size_t		idx;
} sort_ent;

/* Keys by code point (byte order of UTF-8), then input order. */
static int
cmp_ent(const void *a, const void *b)
{
	const sort_ent *x = a;
	const sort_ent *y = b;
	size_t		l = x->klen < y->klen ? x->klen : y->klen;
	int			c = memcmp(x->key, y->key, l);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/*
 * Emit an object from a member list: sorted, a duplicate key keeps its last
 * value, and with drop_null members whose (final) value is null are left out.
 */
static int
emit_members(sort_ent *ents, size_t n, int drop_null, dbuf *out)
{
	size_t		i;
	int			first = 1;

	if (n > 1)
		qsort(ents, n, sizeof(sort_ent), cmp_ent);
	if (dbuf_putc(out, '{') != 0)
		return -1;
	for (i = 0; i < n; i++)
	{
		if (i + 1 < n && ents[i + 1].klen == ents[i].klen &&
			memcmp(ents[i + 1].key, ents[i].key, ents[i].klen) == 0)
			continue;			/* a later duplicate wins */
		if (drop_null && cj_typeof(ents[i].val) == CJ_NULL)
			continue;
		if (!first && dbuf_putc(out, ',') != 0)
			return -1;
		first = 0;
		if (emit_string(ents[i].key, ents[i].klen, out) != 0 ||
			dbuf_putc(out, ':') != 0 ||
			emit_node(ents[i].val, out) != 0)
			return -1;
	}
	return dbuf_putc(out, '}');
}

static int
emit_object(const cj_node *n, dbuf *out)
{
	sort_ent   *ents;
	size_t		i;
	int			rc;

	if (n->n == 0)
		return dbuf_puts(out, "{}");
	ents = malloc(n->n * sizeof(sort_ent));
	if (ents == NULL)
		return -1;
	for (i = 0; i < n->n; i++)
	{
		ents[i].key = n->members[i].key;
		ents[i].klen = n->members[i].klen;
		ents[i].val = n->members[i].val;
		ents[i].idx = i;
	}
	rc = emit_members(ents, n->n, 0, out);
	free(ents);
	return rc;
}

static int
emit_number(const cj_node *n, dbuf *out)
{
	double		d;

	if (memchr(n->s, '.', n->slen) == NULL && memchr(n->s, 'e', n->slen) == NULL &&
		memchr(n->s, 'E', n->slen) == NULL)
	{
		/* Python's int("-0") is 0; JSON allows no other redundant forms */
		if (n->slen == 2 && n->s[0] == '-' && n->s[1] == '0')
			return dbuf_putc(out, '0');
		return dbuf_append(out, n->s, n->slen);
	}
	if (number_to_double(n->s, n->slen, &d) != 0)
		return -1;
	return emit_double(d, out);
}

static int
emit_node(const cj_node *n, dbuf *out)
{
	size_t		i;

	if (n == NULL)
		return dbuf_puts(out, "null");
	switch (n->type)
	{
		case CJ_NULL:
			return dbuf_puts(out, "null");
		case CJ_TRUE:
			return dbuf_puts(out, "true");
		case CJ_FALSE:
			return dbuf_puts(out, "false");
		case CJ_NUMBER:
			return emit_number(n, out);
		case CJ_STRING:
			return emit_string(n->s, n->slen, out);
		case CJ_ARRAY:
			if (dbuf_putc(out, '[') != 0)
				return -1;
			for (i = 0; i < n->n; i++)
			{
				if ((i > 0 && dbuf_putc(out, ',') != 0) || emit_node(n->items[i], out) != 0)
					return -1;
			}
			return dbuf_putc(out, ']');
		case CJ_OBJECT:
			return emit_object(n, out);
	}
	return -1;
}

int
cj_canonical(const cj_node *n, dbuf *out)
{
	size_t		start = out->len;

	if (emit_node(n, out) != 0)
	{
		/* leave out as it was */
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* Defaults of OpenSPP's header models (spp_dci/schemas/envelope.py). */
static const cj_node default_version = {.type = CJ_STRING, .s = (char *) "1.0.0", .slen = 5};
static const cj_node default_false = {.type = CJ_FALSE};
static const cj_node default_zero = {.type = CJ_NUMBER, .s = (char *) "0", .slen = 1};

static int
emit_normalized_header(const cj_node *h, dbuf *out)
{
	static const struct
	{
		const char *key;
		const cj_node *val;
		int			callback_only;
	}			defaults[] =
	{
		{"version", &default_version, 0},
		{"total_count", &default_zero, 0},
		{"is_msg_encrypted", &default_false, 0},
		{"completed_count", &default_zero, 1},
	};
	sort_ent   *ents;
	size_t		n = 0;
	size_t		i;
	int			is_callback;
	int			rc;

	/* only an object has members to drop or defaults to gain */
	if (h == NULL || h->type != CJ_OBJECT)
		return emit_node(h, out);
	ents = malloc((h->n + sizeof(defaults) / sizeof(defaults[0])) * sizeof(sort_ent));
	if (ents == NULL)
		return -1;
	for (i = 0; i < h->n; i++)
	{
		ents[n].key = h->members[i].key;
		ents[n].klen = h->members[i].klen;
		ents[n].val = h->members[i].val;
		ents[n].idx = n;
		n++;
	}
	/* a header with a status is a DCICallbackHeader, which adds completed_count */
	is_callback = cj_get(h, "status") != NULL;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
	{
		if (defaults[i].callback_only && !is_callback)
			continue;
		if (cj_get(h, defaults[i].key) != NULL)
			continue;
		ents[n].key = defaults[i].key;
		ents[n].klen = strlen(defaults[i].key);
		ents[n].val = defaults[i].val;
		ents[n].idx = n;
		n++;
	}
	rc = emit_members(ents, n, 1, out);
	free(ents);
	return rc;
}

int
cj_canonical_envelope(const cj_node *header, const cj_node *message,
					  int normalize_header, dbuf *out)
{
	size_t		start = out->len;
	int			rc;

	/* "header" < "message": already in sorted order */
	rc = dbuf_puts(out, "{\"header\":");
	if (rc == 0)
		rc = normalize_header ? emit_normalized_header(header, out) : emit_node(header, out);
	if (rc == 0)
		rc = dbuf_puts(out, ",\"message\":");
	if (rc == 0)
		rc = emit_node(message, out);
	if (rc == 0)
		rc = dbuf_putc(out, '}');
	if (rc != 0)
	{
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

int
cj_canonicalize(const char *text, size_t len, dbuf *out, char *err, size_t errlen)
{
	cj_node    *n = cj_parse(text, len, err, errlen);
	int			rc;

	if (n == NULL)
		return -1;
	rc = cj_canonical(n, out);
	cj_free(n);
	if (rc != 0)
		set_err(err, errlen, "out of memory while writing canonical JSON");
	return rc;
}
