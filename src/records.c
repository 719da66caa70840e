/*
 * records.c - map DCI registry records to C structs (see records.h).
 *
 * Records are read from the parsed tree (canonjson.h), whose accessors take
 * any node, NULL included, and answer NULL or 0 for the wrong type.  Every
 * string taken out is copied, so an output struct never points into the
 * tree; a string holding U+0000 is never taken (it would be cut short), and
 * a record holding one anywhere is refused whole with DCI_REC_NUL.
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canonjson.h"
#include "dbuf.h"

/* Entries looked at per identifier list or relations array, at most. */
#define MAX_IDENTS		64
/* Nesting followed when an identifier or place hides inside objects. */
#define MAX_DEPTH		3

typedef const cj_node *jobj;

/* Allocation context of one mapping call: any failure is reported once, at the end. */
typedef struct mctx
{
	int			oom;
} mctx;

/* ---------------------------------------------------------------- values */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_blank(const char *s)
{
	if (s == NULL)
		return 1;
	while (is_space(*s))
		s++;
	return *s == '\0';
}

static inline jobj
get(jobj o, const char *key)
{
	return cj_get(o, key);
}

static inline int
is_obj(jobj v)
{
	return cj_typeof(v) == CJ_OBJECT;
}

static inline int
is_arr(jobj v)
{
	return cj_typeof(v) == CJ_ARRAY;
}

static inline size_t
arr_len(jobj v)
{
	return cj_array_len(v);
}

static inline jobj
arr_at(jobj v, size_t i)
{
	return cj_array_get(v, i);
}

/* An object, or the first object in an array: a one-element list counts as its element. */
static jobj
obj_or_first(jobj v)
{
	if (is_obj(v))
		return v;
	for (size_t i = 0; i < arr_len(v) && i < MAX_IDENTS; i++)
	{
		jobj		e = arr_at(v, i);

		if (is_obj(e))
			return e;
	}
	return NULL;
}

/* Text of a scalar value: strings (without U+0000) and numbers (canonical), not blank. */
static const char *
val_text(jobj v)
{
	const char *s;

	switch (cj_typeof(v))
	{
		case CJ_STRING:
			if (cj_has_nul(v))
				return NULL;
			s = cj_string(v);
			break;
		case CJ_NUMBER:
			s = cj_number(v, NULL);
			break;
		default:
			return NULL;
	}
	return is_blank(s) ? NULL : s;
}

/* Text of a code: a scalar, or an object's value/code/name (codes sometimes come as {namespace, value}). */
static const char *
code_text(jobj v)
{
	static const char *const keys[] = {"value", "code", "name", "label", NULL};
	const char *s = val_text(v);

	if (s == NULL && is_obj(v))
		for (int i = 0; keys[i] && s == NULL; i++)
			s = val_text(get(v, keys[i]));
	return s;
}

/* First non-blank text under any of keys. */
static const char *
first_text(jobj o, const char *const *keys)
{
	const char *s;

	for (int i = 0; keys[i]; i++)
		if ((s = val_text(get(o, keys[i]))) != NULL)
			return s;
	return NULL;
}

/* s without surrounding blanks, in a fresh allocation. */
static char *
xdup(mctx *cx, const char *s)
{
	size_t		n;
	char	   *p;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	p = malloc(n + 1);
	if (p == NULL)
	{
		cx->oom = 1;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Set *dst to a copy of s unless it is already set or s is blank: first source wins. */
static void
set_str(mctx *cx, char **dst, const char *s)
{
	if (*dst == NULL && !is_blank(s))
		*dst = xdup(cx, s);
}

static int
ci_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* Case-insensitive substring test. */
static int
ci_contains(const char *hay, const char *needle)
{
	size_t		n = strlen(needle);

	if (hay == NULL)
		return 0;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

/* Uppercase letters and digits of s only, truncated to fit: "Self-care" -> "SELFCARE". */
static void
alnum_upper(const char *s, char *out, size_t outlen)
{
	size_t		n = 0;

	for (; *s && n + 1 < outlen; s++)
	{
		char		c = *s;

		if (c >= 'a' && c <= 'z')
			out[n++] = (char) (c - 'a' + 'A');
		else if ((c >= 'A' && c <= 'Z') || is_digit(c))
			out[n++] = c;
	}
	out[n] = '\0';
}

static int
in_list(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* Integer value of 3, 3.0 or " 3 ": 1 ok, 0 absent/blank, -1 not an integer or beyond a long. */
static inline int
val_long(jobj v, long *out)
{
	return cj_long(v, out);
}

/* Boolean value: 1, 0, -1 absent or unrecognized. */
static int
val_bool(jobj v)
{
	static const char *const yes[] = {"TRUE", "YES", "Y", "T", "1", NULL};
	static const char *const no[] = {"FALSE", "NO", "N", "F", "0", NULL};
	char		buf[8];
	const char *s;
	long		n;

	switch (cj_typeof(v))
	{
		case CJ_TRUE:
			return 1;
		case CJ_FALSE:
			return 0;
		case CJ_NUMBER:
			if (val_long(v, &n) != 1)
				return -1;
			return n == 1 ? 1 : n == 0 ? 0 : -1;
		case CJ_STRING:
			s = val_text(v);
			if (s == NULL || strlen(s) > 16)
				return -1;
			alnum_upper(s, buf, sizeof(buf));
			if (in_list(buf, yes))
				return 1;
			if (in_list(buf, no))
				return 0;
			return -1;
		default:
			return -1;
	}
}

const char *
dci_rec_text(const cj_node *o, const char *key)
{
	return val_text(get(o, key));
}

int
dci_rec_long(const cj_node *o, const char *key, long *out)
{
	long		n;
	int			r = val_long(get(o, key), &n);

	if (r == 1 && out)
		*out = n;
	return r;
}

int
dci_rec_bool(const cj_node *o, const char *key)
{
	return val_bool(get(o, key));
}

/* ----------------------------------------------------------------- dates */

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* n digits at p as a number, or -1. */
static int
digits(const char *p, const char *e, int n)
{
	int			v = 0;

	if (e - p < n)
		return -1;
	for (int i = 0; i < n; i++)
	{
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Zone suffix Z, +hh, +hhmm, +hh:mm at p; the position after it, or NULL. */
static const char *
parse_zone(const char *p, const char *e)
{
	if (p < e && (*p == 'Z' || *p == 'z'))
		return p + 1;
	if (p < e && (*p == '+' || *p == '-'))
	{
		int			hh = digits(p + 1, e, 2);

		if (hh < 0 || hh > 23)
			return NULL;
		p += 3;
		if (p < e && *p == ':')
		{
			p++;
			if (p >= e)
				return NULL;
		}
		if (p < e)
		{
			int			mm = digits(p, e, 2);

			if (mm < 0 || mm > 59)
				return NULL;
			p += 2;
		}
		return p;
	}
	return p;
}

int
dci_date_parse(const char *s, char out[11])
{
	const char *p;
	const char *e;
	int			y,
				m,
				d;

	if (s == NULL)
		return 0;
	p = s;
	while (is_space(*p))
		p++;
	e = p + strlen(p);
	while (e > p && is_space(e[-1]))
		e--;
	if (e == p)
		return 0;
	if ((e - p == 4 && (strncasecmp(p, "null", 4) == 0 || strncasecmp(p, "none", 4) == 0)) ||
		(e - p == 3 && strncasecmp(p, "nil", 3) == 0))
		return 0;

	if (e - p >= 10 && p[4] == '-' && p[7] == '-')
	{
		y = digits(p, e, 4);
		m = digits(p + 5, e, 2);
		d = digits(p + 8, e, 2);
	}
	else if (e - p >= 10 && p[2] == '.' && p[5] == '.')
	{
		d = digits(p, e, 2);
		m = digits(p + 3, e, 2);
		y = digits(p + 6, e, 4);
	}
	else
		return -1;
	if (y < 0 || m < 0 || d < 0)
		return -1;
	p += 10;

	/* optional time, then optional zone, then nothing */
	if (p < e && (*p == 'T' || *p == 't' || *p == ' '))
	{
		int			hh = digits(p + 1, e, 2);
		int			mi;

		if (hh < 0 || hh > 23 || p + 3 >= e || p[3] != ':')
			return -1;
		mi = digits(p + 4, e, 2);
		if (mi < 0 || mi > 59)
			return -1;
		p += 6;
		if (p < e && *p == ':')
		{
			int			ss = digits(p + 1, e, 2);

			if (ss < 0 || ss > 60)
				return -1;
			p += 3;
			if (p < e && (*p == '.' || *p == ','))
			{
				p++;
				if (p >= e || !is_digit(*p))
					return -1;
				while (p < e && is_digit(*p))
					p++;
			}
		}
	}
	p = parse_zone(p, e);
	if (p == NULL || p != e)
		return -1;

	/* 0000-00-00 is how some databases write "no date" */
	if (y == 0 && m == 0 && d == 0)
		return 0;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;

	out[0] = (char) ('0' + y / 1000);
	out[1] = (char) ('0' + y / 100 % 10);
	out[2] = (char) ('0' + y / 10 % 10);
	out[3] = (char) ('0' + y % 10);
	out[4] = '-';
	out[5] = (char) ('0' + m / 10);
	out[6] = (char) ('0' + m % 10);
	out[7] = '-';
	out[8] = (char) ('0' + d / 10);
	out[9] = (char) ('0' + d % 10);
	out[10] = '\0';
	return 1;
}

char *
dci_date_normalize(const char *s)
{
	char		buf[11];

	if (dci_date_parse(s, buf) != 1)
		return NULL;
	return strdup(buf);
}

/*
 * First valid date under any of keys in any of nodes into *dst.  Sets bit in
 * *bad when a present value was unreadable and no valid one was found.
 * Returns 1 valid, 0 absent, -1 only invalid ones.
 */
static int
set_date(mctx *cx, char **dst, jobj *nodes, int nnodes, const char *const *keys,
		 unsigned *bad, unsigned bit)
{
	int			seen_invalid = 0;
	char		buf[11];

	if (*dst != NULL)
		return 1;
	for (int i = 0; i < nnodes; i++)
		for (int k = 0; keys[k]; k++)
		{
			const char *s = val_text(get(nodes[i], keys[k]));
			int			r = dci_date_parse(s, buf);

			if (r == 1)
			{
				*dst = xdup(cx, buf);
				return 1;
			}
			if (r < 0)
				seen_invalid = 1;
		}
	if (seen_invalid)
		*bad |= bit;
	return seen_invalid ? -1 : 0;
}

/* --------------------------------------------------------------- profile */

int
dci_profile_parse(const char *s, dci_profile *out)
{
	if (s == NULL || *s == '\0' || strcasecmp(s, "spdci") == 0)
		*out = DCI_PROFILE_SPDCI;
	else if (strcasecmp(s, "opencrvs") == 0)
		*out = DCI_PROFILE_OPENCRVS;
	else
		return -1;
	return 0;
}

/* ------------------------------------------------------- person structure */

#define MAX_NODES 10

static void
add_node(jobj *nodes, int *n, jobj v)
{
	v = obj_or_first(v);
	if (v == NULL || *n >= MAX_NODES)
		return;
	for (int i = 0; i < *n; i++)
		if (nodes[i] == v)
			return;
	nodes[(*n)++] = v;
}

/*
 * The objects a person's fields may sit in: the record itself, then the IBR /
 * social "member" and its demographic_info(.person), the DR personal_details.
 */
static int
person_nodes(jobj rec, jobj *nodes)
{
	int			n = 0;
	jobj		member = obj_or_first(get(rec, "member"));
	jobj		demo = obj_or_first(get(member, "demographic_info"));
	jobj		rdemo = obj_or_first(get(rec, "demographic_info"));

	add_node(nodes, &n, rec);
	add_node(nodes, &n, member);
	add_node(nodes, &n, demo);
	add_node(nodes, &n, get(demo, "person"));
	add_node(nodes, &n, rdemo);
	add_node(nodes, &n, get(rdemo, "person"));
	add_node(nodes, &n, get(rec, "personal_details"));
	add_node(nodes, &n, get(rec, "person"));
	return n;
}

/* --------------------------------------------------------------- identifiers */

typedef struct ident
{
	const char *type;			/* may be NULL */
	const char *value;
} ident;

typedef struct ident_list
{
	ident		items[MAX_IDENTS];
	int			n;
} ident_list;

static const char *const ident_type_keys[] = {"identifier_type", "type", "name", "id_type", "idtype", NULL};
static const char *const ident_value_keys[] = {"identifier_value", "value", "identifier", "id", "id_value", NULL};

static void
ident_add(ident_list *l, const char *type, const char *value)
{
	if (value != NULL && l->n < MAX_IDENTS)
	{
		l->items[l->n].type = type;
		l->items[l->n].value = value;
		l->n++;
	}
}

static const char *
ident_obj_type(jobj o)
{
	for (int i = 0; ident_type_keys[i]; i++)
	{
		const char *s = code_text(get(o, ident_type_keys[i]));

		if (s != NULL)
			return s;
	}
	return NULL;
}

/* One identifier-ish value: object {type, value}, scalar (typed by the sibling type), or a list of those. */
static void
ident_collect(ident_list *l, jobj v, const char *sibling_type)
{
	if (is_obj(v))
		ident_add(l, ident_obj_type(v), first_text(v, ident_value_keys));
	else if (is_arr(v))
	{
		for (size_t i = 0; i < arr_len(v) && i < MAX_IDENTS; i++)
		{
			jobj		e = arr_at(v, i);

			if (is_obj(e))
				ident_add(l, ident_obj_type(e), first_text(e, ident_value_keys));
			else
				ident_add(l, sibling_type, val_text(e));
		}
	}
	else
		ident_add(l, sibling_type, val_text(v));
}

static void
ident_collect_node(ident_list *l, jobj node)
{
	const char *sib = code_text(get(node, "identifier_type"));

	ident_collect(l, get(node, "identifier"), sib);
	ident_collect(l, get(node, "identifiers"), sib);
	ident_add(l, sib, val_text(get(node, "identifier_value")));
}

/* Last segment of a namespaced code: "ns:org:IdType:BRN" -> "BRN". */
static const char *
last_segment(const char *s)
{
	const char *r = s;

	for (; *s; s++)
		if ((*s == ':' || *s == '/' || *s == '#') && s[1] != '\0')
			r = s + 1;
	return r;
}

static int
idtype_matches(const char *type, const char *want)
{
	if (type == NULL || want == NULL)
		return 0;
	return ci_eq(type, want) || ci_eq(last_segment(type), last_segment(want));
}

/* The identifier of the wanted type, else the first one that has a value. */
static void
pick_identifier(mctx *cx, jobj *nodes, int nnodes, const char *want,
				char **type_out, char **value_out)
{
	ident_list	l;
	int			pick = -1;

	l.n = 0;
	for (int i = 0; i < nnodes; i++)
		ident_collect_node(&l, nodes[i]);
	/* household member codes are untyped, so they come after every typed one */
	for (int i = 0; i < nnodes; i++)
		ident_collect(&l, get(nodes[i], "member_identifier"), NULL);
	if (!is_blank(want))
		for (int i = 0; i < l.n && pick < 0; i++)
			if (idtype_matches(l.items[i].type, want))
				pick = i;
	if (pick < 0 && l.n > 0)
		pick = 0;
	if (pick >= 0)
	{
		set_str(cx, type_out, l.items[pick].type);
		set_str(cx, value_out, l.items[pick].value);
	}
}

int
dci_rec_has_identifier(const cj_node *rec, const char *type, const char *value)
{
	jobj		nodes[MAX_NODES + 1];
	int			nnodes;
	ident_list	l;

	if (!is_obj(rec) || type == NULL || value == NULL)
		return DCI_ID_NONE;
	nnodes = person_nodes(rec, nodes);
	l.n = 0;
	for (int i = 0; i < nnodes; i++)
		ident_collect_node(&l, nodes[i]);
	for (int i = 0; i < l.n; i++)
		if (idtype_matches(l.items[i].type, type) && strcmp(l.items[i].value, value) == 0)
			return DCI_ID_YES;
	/* an identifier hidden behind U+0000 is still one: never "none" then */
	return l.n == 0 && !cj_has_nul(rec) ? DCI_ID_NONE : DCI_ID_NO;
}

/* A parent's identifier: scalar, {identifier_value|identifier|value}, or a list; nested at most MAX_DEPTH. */
static const char *
any_identifier(jobj v, int depth)
{
	const char *s = val_text(v);

	if (s != NULL || depth >= MAX_DEPTH)
		return s;
	if (is_obj(v))
	{
		for (int i = 0; ident_value_keys[i]; i++)
			if ((s = any_identifier(get(v, ident_value_keys[i]), depth + 1)) != NULL)
				return s;
		return any_identifier(get(v, "identifiers"), depth + 1);
	}
	for (size_t i = 0; i < arr_len(v) && i < MAX_IDENTS; i++)
		if ((s = any_identifier(arr_at(v, i), depth + 1)) != NULL)
			return s;
	return NULL;
}

/* ----------------------------------------------------------------- names */

static const char *const given_keys_snake[] = {"given_name", "first_name", "givenName", "firstNames", "firstName", "given", NULL};
static const char *const given_keys_camel[] = {"givenName", "firstNames", "firstName", "given_name", "first_name", "given", NULL};
static const char *const second_keys[] = {"second_name", "middle_name", "additionalName", "additional_name", "middleName", NULL};
static const char *const family_keys_snake[] = {"surname", "sur_name", "family_name", "last_name", "familyName", "lastName", "family", NULL};
static const char *const family_keys_camel[] = {"familyName", "lastName", "surname", "sur_name", "family_name", "last_name", "family", NULL};
static const char *const full_keys[] = {"full_name", "fullName", "text", "display_name", NULL};
static const char *const node_full_keys[] = {"full_name", "fullName", NULL};

/* A name part under any of keys: a string, or the strings of a list joined by spaces (FHIR given[]). */
static char *
name_part(mctx *cx, jobj o, const char *const *keys)
{
	for (int k = 0; keys[k]; k++)
	{
		jobj		v = get(o, keys[k]);
		const char *s = val_text(v);
		dbuf		b;

		if (s != NULL)
			return xdup(cx, s);
		if (!is_arr(v))
			continue;
		dbuf_init(&b);
		for (size_t i = 0; i < arr_len(v) && i < MAX_IDENTS; i++)
		{
			const char *e = val_text(arr_at(v, i));

			if (e == NULL)
				continue;
			if ((b.len > 0 && dbuf_putc(&b, ' ') != 0) || dbuf_puts(&b, e) != 0)
			{
				cx->oom = 1;
				dbuf_free(&b);
				return NULL;
			}
		}
		if (b.len > 0)
		{
			char	   *r = xdup(cx, b.data);

			dbuf_free(&b);
			return r;
		}
		dbuf_free(&b);
	}
	return NULL;
}

/* given + second + family, blanks skipped; NULL when all are missing. */
static char *
join_name(mctx *cx, const char *given, const char *second, const char *family)
{
	const char *parts[3] = {given, second, family};
	dbuf		b;
	char	   *r = NULL;

	dbuf_init(&b);
	for (int i = 0; i < 3; i++)
	{
		if (is_blank(parts[i]))
			continue;
		if ((b.len > 0 && dbuf_putc(&b, ' ') != 0) || dbuf_puts(&b, parts[i]) != 0)
		{
			cx->oom = 1;
			dbuf_free(&b);
			return NULL;
		}
	}
	if (b.len > 0)
		r = xdup(cx, b.data);
	dbuf_free(&b);
	return r;
}

typedef struct name_parts
{
	char	   *given;
	char	   *second;
	char	   *family;
	char	   *full;
} name_parts;

static void
name_parts_free(name_parts *np)
{
	free(np->given);
	free(np->second);
	free(np->family);
	free(np->full);
	memset(np, 0, sizeof(*np));
}

/*
 * Name of a person: from the first container holding a given or family name
 * (the name object, or the person object itself for camelCase givenName /
 * given_name at top level); full is the name as a single string if one is sent.
 */
static void
read_name(mctx *cx, jobj *nodes, int nnodes, int camel_first, name_parts *np)
{
	const char *const *gk = camel_first ? given_keys_camel : given_keys_snake;
	const char *const *fk = camel_first ? family_keys_camel : family_keys_snake;

	for (int i = 0; i < nnodes && np->full == NULL; i++)
	{
		jobj		nv = get(nodes[i], "name");
		const char *s = val_text(nv);

		if (s == NULL)
			s = val_text(arr_at(nv, 0));	/* ["Jane Doe"] */
		if (s == NULL)
			s = first_text(obj_or_first(nv), full_keys);
		if (s == NULL)
			s = first_text(nodes[i], node_full_keys);
		if (s != NULL)
			np->full = xdup(cx, s);
	}

	for (int i = 0; i < nnodes && np->given == NULL && np->family == NULL; i++)
	{
		jobj		nameobj = obj_or_first(get(nodes[i], "name"));
		jobj		order[2];

		order[0] = camel_first ? nodes[i] : nameobj;
		order[1] = camel_first ? nameobj : nodes[i];
		for (int j = 0; j < 2 && np->given == NULL && np->family == NULL; j++)
		{
			if (order[j] == NULL)
				continue;
			np->given = name_part(cx, order[j], gk);
			np->family = name_part(cx, order[j], fk);
			if (np->given != NULL || np->family != NULL)
				np->second = name_part(cx, order[j], second_keys);
		}
	}
	if (np->full == NULL)
		np->full = join_name(cx, np->given, np->second, np->family);
}

/* ------------------------------------------------------------------- sex */

static const char *
normalize_sex(jobj v)
{
	static const char *const male[] = {"MALE", "M", "1", "MAN", "BOY", NULL};
	static const char *const female[] = {"FEMALE", "F", "2", "WOMAN", "GIRL", NULL};
	static const char *const other[] = {"OTHER", "OTHERS", "O", "3", NULL};
	const char *s = code_text(v);
	char		buf[16];

	if (s == NULL)
		return NULL;
	if (strlen(s) > 32)
		return "unknown";
	alnum_upper(s, buf, sizeof(buf));
	if (in_list(buf, male))
		return "male";
	if (in_list(buf, female))
		return "female";
	if (in_list(buf, other))
		return "other";
	/* 4, U, unknown and anything unrecognized */
	return "unknown";
}

/* ----------------------------------------------------------------- places */

/* Text of a place: a string, or an object's name / address / locality / identifier. */
static const char *
place_text(jobj v, int depth)
{
	static const char *const keys[] = {"name", "text", "label", "address", "address_line_1",
	"locality", "city", "identifier", NULL};
	const char *s = val_text(v);

	if (s != NULL || depth >= MAX_DEPTH)
		return s;
	v = obj_or_first(v);
	if (v == NULL)
		return NULL;
	if ((s = first_text(v, keys)) != NULL)
		return s;
	return place_text(get(v, "address"), depth + 1);
}

/* ------------------------------------------------------------------ birth */

static const char *const birth_keys_snake[] = {"birth_date", "birthdate", "birthDate", "date_of_birth", "dateOfBirth", "dob", NULL};
static const char *const birth_keys_camel[] = {"birthDate", "birthdate", "birth_date", "dateOfBirth", "date_of_birth", "dob", NULL};
static const char *const death_keys_snake[] = {"death_date", "deathdate", "deathDate", "date_of_death", "dateOfDeath", NULL};
static const char *const death_keys_camel[] = {"deathDate", "deathdate", "death_date", "dateOfDeath", "date_of_death", NULL};
static const char *const reg_keys[] = {"registration_date", "registrationDate", "date_of_registration", NULL};
static const char *const place_keys_snake[] = {"birth_place", "birthplace", "birthPlace", "place_of_birth", "placeOfBirth", NULL};
static const char *const place_keys_camel[] = {"birthPlace", "birthplace", "birth_place", "placeOfBirth", "place_of_birth", NULL};
static const char *const deceased_flag_keys[] = {"deceased", "is_deceased", "isDeceased", "dead", "is_dead", NULL};
static const char *const vital_status_keys[] = {"vital_status", "vitalStatus", "life_status", NULL};

/* Parents from OpenCRVS relations[]: {"@type": "spdci:Mother", identifier: [...]}. */
static void
read_relations(mctx *cx, jobj node, dci_birth *out)
{
	static const char *const role_keys[] = {"@type", "type", "relationship", "relationship_type",
	"relation", "role", NULL};
	jobj		rel = get(node, "relations");
	size_t		n = is_obj(rel) ? 1 : arr_len(rel);

	for (size_t i = 0; i < n && i < MAX_IDENTS; i++)
	{
		jobj		r = is_obj(rel) ? rel : arr_at(rel, i);
		const char *role = NULL;
		const char *id;

		if (!is_obj(r))
			continue;
		for (int k = 0; role_keys[k] && role == NULL; k++)
			role = code_text(get(r, role_keys[k]));
		id = any_identifier(get(r, "identifier"), 0);
		if (id == NULL)
			id = any_identifier(get(r, "identifiers"), 0);
		if (id == NULL)
			id = val_text(get(r, "identifier_value"));
		if (ci_contains(role, "mother"))
			set_str(cx, &out->parent1_identifier, id);
		else if (ci_contains(role, "father"))
			set_str(cx, &out->parent2_identifier, id);
	}
}

/* Death evidence: 1 yes, 0 explicitly no, -1 nothing said. */
static int
deceased_marker(jobj node)
{
	int			r = -1;

	for (int k = 0; deceased_flag_keys[k]; k++)
	{
		jobj		v = get(node, deceased_flag_keys[k]);
		int			b;

		/* OpenCRVS nests {deceased: true, deathDate} under "deceased" */
		if (is_obj(v))
			v = get(v, "deceased");
		b = val_bool(v);
		if (b == 1)
			return 1;
		if (b == 0)
			r = 0;
	}
	for (int k = 0; vital_status_keys[k]; k++)
	{
		const char *s = code_text(get(node, vital_status_keys[k]));

		if (ci_eq(s, "deceased") || ci_eq(s, "dead"))
			return 1;
		if (ci_eq(s, "alive") || ci_eq(s, "living"))
			r = 0;
	}
	return r;
}

void
dci_birth_clear(dci_birth *b)
{
	if (b == NULL)
		return;
	free(b->identifier_type);
	free(b->identifier_value);
	free(b->given_name);
	free(b->family_name);
	free(b->person_name);
	free(b->sex);
	free(b->birth_date);
	free(b->birth_place);
	free(b->parent1_identifier);
	free(b->parent2_identifier);
	free(b->death_date);
	free(b->registration_date);
	memset(b, 0, sizeof(*b));
}

int
dci_map_birth(const cj_node *rec, dci_profile p, const char *want_idtype, dci_birth *out)
{
	mctx		cx = {0};
	jobj		nodes[MAX_NODES + 1];
	int			nnodes;
	int			camel = (p == DCI_PROFILE_OPENCRVS);
	name_parts	np = {0};
	int			death;
	int			marker = -1;

	memset(out, 0, sizeof(*out));
	if (!is_obj(rec))
		return DCI_REC_NOT_OBJECT;
	if (cj_has_nul(rec))
		return DCI_REC_NUL;
	nnodes = person_nodes(rec, nodes);

	pick_identifier(&cx, nodes, nnodes, want_idtype, &out->identifier_type, &out->identifier_value);

	read_name(&cx, nodes, nnodes, camel, &np);
	out->given_name = np.given;
	out->family_name = np.family;
	out->person_name = np.full;
	np.given = np.family = np.full = NULL;
	name_parts_free(&np);

	for (int i = 0; i < nnodes && out->sex == NULL; i++)
	{
		const char *s = normalize_sex(get(nodes[i], "sex"));

		if (s == NULL)
			s = normalize_sex(get(nodes[i], "gender"));
		set_str(&cx, &out->sex, s);
	}

	set_date(&cx, &out->birth_date, nodes, nnodes, camel ? birth_keys_camel : birth_keys_snake,
			 &out->bad, DCI_BAD_BIRTH_DATE);
	set_date(&cx, &out->registration_date, nodes, nnodes, reg_keys, &out->bad, DCI_BAD_REG_DATE);

	for (int i = 0; i < nnodes && out->birth_place == NULL; i++)
	{
		const char *const *pk = camel ? place_keys_camel : place_keys_snake;

		for (int k = 0; pk[k] && out->birth_place == NULL; k++)
			set_str(&cx, &out->birth_place, place_text(get(nodes[i], pk[k]), 0));
	}

	for (int i = 0; i < nnodes; i++)
	{
		set_str(&cx, &out->parent1_identifier, any_identifier(get(nodes[i], "parent1_identifier"), 0));
		set_str(&cx, &out->parent2_identifier, any_identifier(get(nodes[i], "parent2_identifier"), 0));
		set_str(&cx, &out->parent1_identifier, any_identifier(get(nodes[i], "mother_identifier"), 0));
		set_str(&cx, &out->parent2_identifier, any_identifier(get(nodes[i], "father_identifier"), 0));
	}
	for (int i = 0; i < nnodes; i++)
		read_relations(&cx, nodes[i], out);

	/* Death: a date under the person or under OpenCRVS' nested "deceased" object. */
	{
		jobj		dnodes[2 * MAX_NODES];
		int			nd = 0;

		for (int i = 0; i < nnodes; i++)
			dnodes[nd++] = nodes[i];
		for (int i = 0; i < nnodes; i++)
			if (is_obj(get(nodes[i], "deceased")))
				dnodes[nd++] = get(nodes[i], "deceased");
		death = set_date(&cx, &out->death_date, dnodes, nd,
						 camel ? death_keys_camel : death_keys_snake, &out->bad, DCI_BAD_DEATH_DATE);
	}
	for (int i = 0; i < nnodes && marker != 1; i++)
	{
		int			m = deceased_marker(nodes[i]);

		if (m != -1)
			marker = m;
	}
	if (death == 1 || marker == 1)
		out->is_deceased = 1;
	else if (death == -1 && marker != 0)
		out->is_deceased = -1;	/* something is written as the death date, but not a date */
	else
		out->is_deceased = 0;

	if (cx.oom)
	{
		dci_birth_clear(out);
		return DCI_REC_NOMEM;
	}
	return DCI_REC_OK;
}

/* ------------------------------------------------------------- enrollment */

static const char *const status_keys[] = {"enrollment_status", "enrolment_status", "enrollmentStatus",
"enrolmentStatus", NULL};
static const char *const enroll_date_keys[] = {"enrollment_date", "enrolment_date", "enrollmentDate",
"enrolmentDate", NULL};
static const char *const prog_keys[] = {"programme_identifier", "programme", "program", "programmes",
"programme_enrollment", "programme_enrolment", NULL};
static const char *const prog_name_keys[] = {"programme_name", "program_name", "programmeName", "name", NULL};
static const char *const flat_prog_name_keys[] = {"programme_name", "program_name", "programmeName", NULL};
static const char *const flat_prog_id_keys[] = {"programme_id", "program_id", "programmeId", NULL};
static const char *const prog_id_keys[] = {"programme_identifier", "program_identifier", "programme_id",
"program_id", "identifier", "id", "code", NULL};

/* Normalized enrollment status per the SPDCI code list (1 Active ... 4 Suspended). */
static char *
normalize_enroll_status(mctx *cx, jobj v)
{
	static const char *const names[] = {"active", "deceased", "graduated", "suspended"};
	const char *s;
	long		n;
	char	   *r;

	/* {code: "1"}: the code inside */
	if (is_obj(v))
	{
		static const char *const keys[] = {"value", "code", "name", "label", NULL};

		for (int i = 0; keys[i]; i++)
			if (val_text(get(v, keys[i])) != NULL)
			{
				v = get(v, keys[i]);
				break;
			}
	}
	if (val_long(v, &n) == 1)
	{
		char		buf[24];
		int			len = 0;
		unsigned long u;

		if (n >= 1 && n <= 4)
			return xdup(cx, names[n - 1]);
		/* an unknown code, kept as its decimal text */
		u = n < 0 ? 0UL - (unsigned long) n : (unsigned long) n;
		do
		{
			buf[sizeof(buf) - 1 - len++] = (char) ('0' + u % 10);
			u /= 10;
		} while (u > 0);
		if (n < 0)
			buf[sizeof(buf) - 1 - len++] = '-';
		r = malloc(len + 1);
		if (r == NULL)
		{
			cx->oom = 1;
			return NULL;
		}
		memcpy(r, buf + sizeof(buf) - len, len);
		r[len] = '\0';
		return r;
	}
	s = code_text(v);
	if (s == NULL)
		return NULL;
	r = xdup(cx, s);
	if (r == NULL)
		return NULL;
	for (char *c = r; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char) (*c - 'A' + 'a');
	/* "enrolled" is how some IBRs say Active */
	if (strcmp(r, "enrolled") == 0 || strcmp(r, "enroled") == 0)
		strcpy(r, "active");
	return r;
}

void
dci_enrollment_clear(dci_enrollment *e)
{
	if (e == NULL)
		return;
	free(e->identifier_type);
	free(e->identifier_value);
	free(e->name);
	free(e->programme_name);
	free(e->programme_id);
	free(e->enrollment_status);
	free(e->enrollment_date);
	memset(e, 0, sizeof(*e));
}

int
dci_map_enrollment(const cj_node *rec, const char *want_idtype, dci_enrollment *out)
{
	mctx		cx = {0};
	jobj		nodes[MAX_NODES + 1];
	int			nnodes;
	jobj		places[MAX_NODES];	/* where programme, status and date may be */
	int			nplaces = 0;
	int			nbase;
	name_parts	np = {0};

	memset(out, 0, sizeof(*out));
	if (!is_obj(rec))
		return DCI_REC_NOT_OBJECT;
	if (cj_has_nul(rec))
		return DCI_REC_NUL;
	nnodes = person_nodes(rec, nodes);

	pick_identifier(&cx, nodes, nnodes, want_idtype, &out->identifier_type, &out->identifier_value);

	read_name(&cx, nodes, nnodes, 0, &np);
	out->name = np.full;
	np.full = NULL;
	name_parts_free(&np);

	/* Status and date on the record or member first, then on the programme objects. */
	places[nplaces++] = rec;
	add_node(places, &nplaces, get(rec, "member"));
	nbase = nplaces;
	for (int i = 0; i < nbase; i++)
	{
		set_str(&cx, &out->programme_name, first_text(places[i], flat_prog_name_keys));
		set_str(&cx, &out->programme_id, first_text(places[i], flat_prog_id_keys));
	}
	for (int i = 0; i < nbase; i++)
		for (int k = 0; prog_keys[k]; k++)
		{
			jobj		v = get(places[i], prog_keys[k]);
			jobj		po = obj_or_first(v);

			if (po == NULL)
			{
				/* programme_identifier as a bare code, or a list of codes */
				const char *s = val_text(v);

				if (s == NULL)
					s = val_text(arr_at(v, 0));
				set_str(&cx, &out->programme_id, s);
				continue;
			}
			add_node(places, &nplaces, po);
			/* the SPDCI sample nests {programme: {programme_identifier, programme_name}} */
			add_node(places, &nplaces, get(po, "programme"));
			add_node(places, &nplaces, get(po, "programme_identifier"));
		}
	for (int i = nbase; i < nplaces; i++)
	{
		set_str(&cx, &out->programme_name, first_text(places[i], prog_name_keys));
		set_str(&cx, &out->programme_id, first_text(places[i], prog_id_keys));
	}

	for (int i = 0; i < nplaces && out->enrollment_status == NULL; i++)
		for (int k = 0; status_keys[k] && out->enrollment_status == NULL; k++)
			out->enrollment_status = normalize_enroll_status(&cx, get(places[i], status_keys[k]));
	if (out->enrollment_status == NULL)
		out->is_active = -1;
	else
		out->is_active = strcmp(out->enrollment_status, "active") == 0 ? 1 : 0;

	set_date(&cx, &out->enrollment_date, places, nplaces, enroll_date_keys, &out->bad, DCI_BAD_ENROLL_DATE);

	if (cx.oom)
	{
		dci_enrollment_clear(out);
		return DCI_REC_NOMEM;
	}
	return DCI_REC_OK;
}

/* ------------------------------------------------------------- disability */

const char *
dci_wg_domain_name(int domain)
{
	static const char *const names[] = {"vision", "hearing", "mobility", "cognition", "self_care",
	"communication"};

	return domain >= 0 && domain < DCI_WG_NDOMAINS ? names[domain] : NULL;
}

/* Domain of a Washington Group code or name: VIS_SS, Vision, SELF_CARE, "self-care", ...; -1 if none. */
static int
wg_domain(const char *s)
{
	static const char *const vision[] = {"VISSS", "VISION", "SEEING", "VISUAL", NULL};
	static const char *const hearing[] = {"HEARSS", "HEARING", NULL};
	static const char *const mobility[] = {"MOBSS", "MOBILITY", "WALKING", NULL};
	static const char *const cognition[] = {"COGSS", "COGNITION", "COGNITIVE", "REMEMBERING",
	"CONCENTRATING", NULL};
	static const char *const selfcare[] = {"SCSS", "SELFCARE", "SELFCARING", NULL};
	static const char *const communication[] = {"COMSS", "COMMUNICATION", "COMMUNICATING", NULL};
	static const char *const *const table[DCI_WG_NDOMAINS] = {vision, hearing, mobility, cognition,
	selfcare, communication};
	char		buf[24];

	if (s == NULL || strlen(s) > 40)
		return -1;
	alnum_upper(s, buf, sizeof(buf));
	for (int d = 0; d < DCI_WG_NDOMAINS; d++)
		if (in_list(buf, table[d]))
			return d;
	return -1;
}

/* Severity 1..4 of 3, "3", "A_LOT", "a lot of difficulty", {severity: 3}; 0 when unknown or out of range. */
static int
wg_severity(jobj v, int depth)
{
	static const char *const s1[] = {"NODIFFICULTY", "NONE", "NO", NULL};
	static const char *const s2[] = {"SOMEDIFFICULTY", "SOME", NULL};
	static const char *const s3[] = {"ALOT", "ALOTOFDIFFICULTY", "ALOTDIFFICULTY", NULL};
	static const char *const s4[] = {"CANNOTDOATALL", "CANNOTDOITATALL", "CANNOTDO", "CANNOT",
	"UNABLE", NULL};
	static const char *const sev_keys[] = {"functional_severity", "severity", "score", "value",
	"level", NULL};
	char		buf[24];
	const char *s;
	long		n;
	int			r;

	switch (val_long(v, &n))
	{
		case 1:
			return n >= 1 && n <= 4 ? (int) n : 0;
		case 0:
			return 0;
		default:
			break;
	}
	if (is_obj(v))
	{
		if (depth >= 1)
			return 0;
		for (int k = 0; sev_keys[k]; k++)
			if ((r = wg_severity(get(v, sev_keys[k]), depth + 1)) != 0)
				return r;
		return 0;
	}
	s = val_text(v);
	if (s == NULL || strlen(s) > 40)
		return 0;
	alnum_upper(s, buf, sizeof(buf));
	if (in_list(buf, s1))
		return 1;
	if (in_list(buf, s2))
		return 2;
	if (in_list(buf, s3))
		return 3;
	if (in_list(buf, s4))
		return 4;
	return 0;
}

static void
wg_set(dci_disability *d, int domain, int sev)
{
	/* two answers for one domain: keep the worse */
	if (domain >= 0 && sev > d->scores[domain])
		d->scores[domain] = sev;
}

/* Scores keyed by domain name: {vision: 3, "SELF_CARE": "2", ...}. */
static void
wg_named(dci_disability *d, jobj o)
{
	for (size_t i = 0; i < cj_object_len(o); i++)
	{
		int			dom;

		/* a duplicate key counts once, with its last value */
		if (cj_object_shadowed(o, i))
			continue;
		dom = wg_domain(cj_object_key(o, i, NULL));
		if (dom >= 0)
			wg_set(d, dom, wg_severity(cj_object_value(o, i), 0));
	}
}

/* One disability_info entry: {disability_limitation_type, functional_severity}, or named scores. */
static void
wg_entry(dci_disability *d, jobj e)
{
	static const char *const type_keys[] = {"disability_limitation_type", "limitation_type",
	"functional_limitation_type", "domain", "functional_domain", NULL};
	static const char *const sev_keys[] = {"functional_severity", "severity", "score", "value",
	"level", NULL};
	const char *t = NULL;

	if (!is_obj(e))
		return;
	for (int k = 0; type_keys[k] && t == NULL; k++)
		t = code_text(get(e, type_keys[k]));
	if (t == NULL)
	{
		wg_named(d, e);
		return;
	}
	for (int k = 0; sev_keys[k]; k++)
	{
		int			s = wg_severity(get(e, sev_keys[k]), 0);

		if (s != 0)
		{
			wg_set(d, wg_domain(t), s);
			break;
		}
	}
}

static void
add_type(mctx *cx, dci_disability *d, const char *s)
{
	char	  **n;

	if (is_blank(s))
		return;
	for (size_t i = 0; i < d->n_disability_types; i++)
		if (strcmp(d->disability_types[i], s) == 0)
			return;
	if (d->n_disability_types >= MAX_IDENTS)
		return;
	n = realloc(d->disability_types, (d->n_disability_types + 1) * sizeof(char *));
	if (n == NULL)
	{
		cx->oom = 1;
		return;
	}
	d->disability_types = n;
	if ((n[d->n_disability_types] = xdup(cx, s)) != NULL)
		d->n_disability_types++;
}

/* A type field: a code, or a list of codes. */
static void
add_types(mctx *cx, dci_disability *d, jobj v)
{
	if (is_arr(v))
	{
		for (size_t i = 0; i < arr_len(v) && i < MAX_IDENTS; i++)
			add_type(cx, d, code_text(arr_at(v, i)));
	}
	else
		add_type(cx, d, code_text(v));
}

/*
 * The registry's own verdict from disability_status.  The SPDCI code list
 * numbers it 0 Approved, 1 Pending, 2 Expired while others send 0/1 as
 * no/yes, so a number alone decides nothing.
 */
static int
status_verdict(jobj v)
{
	static const char *const yes[] = {"APPROVED", "REGISTERED", "ACTIVE", "CERTIFIED", "CONFIRMED",
	"VALID", "DISABLED", "YES", "TRUE", NULL};
	static const char *const no[] = {"REJECTED", "DENIED", "DECLINED", "NOTDISABLED", "NO", "FALSE",
	"NONE", NULL};
	char		buf[24];
	const char *s;
	long		n;

	if (cj_typeof(v) == CJ_TRUE || cj_typeof(v) == CJ_FALSE)
		return cj_typeof(v) == CJ_TRUE;
	if (val_long(v, &n) != -1)
		return -1;
	s = code_text(v);
	if (s == NULL || strlen(s) > 40)
		return -1;
	alnum_upper(s, buf, sizeof(buf));
	if (in_list(buf, yes))
		return 1;
	if (in_list(buf, no))
		return 0;
	return -1;					/* pending, expired, anything else */
}

/* IBR is_disabled per its code list (1 Disabled, 2 Not disabled, 3 Unknown), or a boolean. */
static int
is_disabled_verdict(jobj v)
{
	long		n;

	if (val_long(v, &n) == 1)
		return n == 1 ? 1 : (n == 0 || n == 2) ? 0 : -1;
	return val_bool(v);
}

void
dci_disability_clear(dci_disability *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_disability_types; i++)
		free(d->disability_types[i]);
	free(d->disability_types);
	free(d->severity);
	free(d->assessment_date);
	memset(d, 0, sizeof(*d));
}

int
dci_map_disability(const cj_node *rec, dci_disability *out)
{
	static const char *const status_keys_dr[] = {"disability_status", "disabilityStatus", NULL};
	static const char *const flag_keys[] = {"has_disability", "hasDisability", "disabled", NULL};
	static const char *const isdis_keys[] = {"is_disabled", "isDisabled", NULL};
	static const char *const info_keys[] = {"disability_info", "disabilityInfo", "functional_limitations", NULL};
	static const char *const named_keys[] = {"functional_scores", "wg_scores", "washington_group",
	"wg_short_set", NULL};
	static const char *const type_keys[] = {"disability_type", "disability_types", "impairment_type", NULL};
	static const char *const level_keys[] = {"disability_level", "disability_status_level", "severity",
	"disability_severity", NULL};
	static const char *const assess_keys[] = {"assessment_date", "assessmentDate", "registration_date",
	"registrationDate", "last_updated", "lastUpdated", NULL};
	mctx		cx = {0};
	jobj		nodes[MAX_NODES + 1];
	int			nnodes;
	int			verdict = -1;
	int			known = 0,
				high = 0;

	memset(out, 0, sizeof(*out));
	out->has_disability = -1;
	out->registry_says = -1;
	if (!is_obj(rec))
		return DCI_REC_NOT_OBJECT;
	if (cj_has_nul(rec))
		return DCI_REC_NUL;
	nnodes = person_nodes(rec, nodes);

	/* registry verdict: disability_status, else a direct flag */
	for (int i = 0; i < nnodes && verdict == -1; i++)
		for (int k = 0; status_keys_dr[k] && verdict == -1; k++)
			verdict = status_verdict(get(nodes[i], status_keys_dr[k]));
	for (int i = 0; i < nnodes && verdict == -1; i++)
	{
		for (int k = 0; flag_keys[k] && verdict == -1; k++)
			verdict = val_bool(get(nodes[i], flag_keys[k]));
		for (int k = 0; isdis_keys[k] && verdict == -1; k++)
			verdict = is_disabled_verdict(get(nodes[i], isdis_keys[k]));
	}
	out->registry_says = verdict;

	/* Washington Group scores, from every shape seen */
	for (int i = 0; i < nnodes; i++)
	{
		for (int k = 0; info_keys[k]; k++)
		{
			jobj		v = get(nodes[i], info_keys[k]);

			if (is_arr(v))
			{
				for (size_t j = 0; j < arr_len(v) && j < MAX_IDENTS; j++)
					wg_entry(out, arr_at(v, j));
			}
			else
				wg_entry(out, v);
		}
		for (int k = 0; named_keys[k]; k++)
			wg_named(out, get(nodes[i], named_keys[k]));
		wg_named(out, nodes[i]);
	}

	/* impairment / disability types */
	for (int i = 0; i < nnodes; i++)
	{
		jobj		det = get(nodes[i], "disability_details");
		jobj		info = get(nodes[i], "disability_info");

		if (is_obj(det))
			add_types(&cx, out, get(det, "impairment_type"));
		for (size_t j = 0; j < arr_len(det) && j < MAX_IDENTS; j++)
			add_types(&cx, out, get(arr_at(det, j), "impairment_type"));
		for (int k = 0; type_keys[k]; k++)
			add_types(&cx, out, get(nodes[i], type_keys[k]));
		if (is_obj(info))
			add_types(&cx, out, get(info, "disability_type"));
		for (size_t j = 0; j < arr_len(info) && j < MAX_IDENTS; j++)
			add_types(&cx, out, get(arr_at(info, j), "disability_type"));
	}

	for (int i = 0; i < nnodes && out->severity == NULL; i++)
		for (int k = 0; level_keys[k] && out->severity == NULL; k++)
			set_str(&cx, &out->severity, code_text(get(nodes[i], level_keys[k])));

	/* assessment_date, then registration_date, then last_updated: key order first */
	for (int k = 0; assess_keys[k] && out->assessment_date == NULL; k++)
	{
		const char *one[2] = {assess_keys[k], NULL};

		set_date(&cx, &out->assessment_date, nodes, nnodes, one, &out->bad, DCI_BAD_ASSESS_DATE);
	}
	if (out->assessment_date != NULL)
		out->bad &= ~DCI_BAD_ASSESS_DATE;

	for (int dom = 0; dom < DCI_WG_NDOMAINS; dom++)
	{
		if (out->scores[dom] == 0)
			continue;
		known++;
		if (out->scores[dom] >= 3)
			high = 1;
	}
	if (verdict != -1)
		out->has_disability = verdict;
	else if (high)
		out->has_disability = 1;
	else if (known > 0)
		out->has_disability = 0;

	if (cx.oom)
	{
		dci_disability_clear(out);
		out->has_disability = -1;
		out->registry_says = -1;
		return DCI_REC_NOMEM;
	}
	return DCI_REC_OK;
}

int
dci_disability_is_pwd(const dci_disability *d, int threshold)
{
	int			known = 0;

	if (d == NULL)
		return -1;
	for (int dom = 0; dom < DCI_WG_NDOMAINS; dom++)
	{
		int			s = d->scores[dom];

		if (s < 1 || s > 4)
			continue;
		known++;
		if (s >= threshold)
			return 1;
	}
	if (d->registry_says == 1 || d->registry_says == 0)
		return d->registry_says;
	return known > 0 ? 0 : -1;
}
