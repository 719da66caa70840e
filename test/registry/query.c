/*
 * query.c - match records against DCI queries: idtype-value, predicate and
 * a documented subset of expression (see README.md, "Queries").
 *
 * Runs on request threads over shared, read-only json-c objects: only
 * lookups and json_object_get_string() on strings (never on other types,
 * which would write the object's cached text).
 */
#define _GNU_SOURCE				/* qsort_r */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "registry.h"

typedef enum op
{
	OP_EQ,
	OP_NE,
	OP_GT,
	OP_GE,
	OP_LT,
	OP_LE,
	OP_IN,
	OP_LIKE,
	OP_BAD
} op;

static op
op_parse(const char *s)
{
	static const char *const names[] = {"eq", "ne", "gt", "ge", "lt", "le", "in", "like"};

	if (s && *s == '$')
		s++;					/* Mongo-style "$eq" as in the spec's examples */
	for (int i = 0; s && i < 8; i++)
		if (strcasecmp(s, names[i]) == 0)
			return (op) i;
	return OP_BAD;
}

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

/* A scalar's text: strings as they are, numbers and booleans printed into buf. */
static const char *
scalar_text(struct json_object *v, char *buf, size_t size)
{
	switch (json_object_get_type(v))
	{
		case json_type_string:
			return json_object_get_string(v);
		case json_type_int:
			snprintf(buf, size, "%lld", (long long) json_object_get_int64(v));
			return buf;
		case json_type_double:
			snprintf(buf, size, "%.17g", json_object_get_double(v));
			return buf;
		case json_type_boolean:
			return json_object_get_boolean(v) ? "true" : "false";
		default:
			return NULL;
	}
}

static bool
is_empty(struct json_object *v)
{
	return v == NULL || json_object_is_type(v, json_type_null) ||
		(json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0);
}

static bool
numeric_text(const char *s, double *out)
{
	char	   *end;

	if (s == NULL || *s == '\0')
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

static bool
is_date_only(const char *s)
{
	return strlen(s) == 10 && isdigit((unsigned char) s[0]) && s[4] == '-' && s[7] == '-';
}

/* -1/0/1 like strcmp; a date-only operand compares with the date part of a datetime. */
static int
compare(struct json_object *rv, struct json_object *av)
{
	char		b1[64],
				b2[64];
	const char *r = scalar_text(rv, b1, sizeof(b1));
	const char *a = scalar_text(av, b2, sizeof(b2));
	double		dr,
				da;

	if (r == NULL || a == NULL)
		return 2;				/* not comparable */
	if ((json_object_is_type(rv, json_type_int) || json_object_is_type(rv, json_type_double) ||
		 json_object_is_type(av, json_type_int) || json_object_is_type(av, json_type_double)) &&
		numeric_text(r, &dr) && numeric_text(a, &da))
		return dr < da ? -1 : dr > da ? 1 : 0;
	if (is_date_only(a) && strlen(r) > 10 && (r[10] == 'T' || r[10] == ' '))
	{
		int			c = strncmp(r, a, 10);

		return c < 0 ? -1 : c > 0 ? 1 : 0;
	}
	if (is_date_only(r) && strlen(a) > 10 && (a[10] == 'T' || a[10] == ' '))
	{
		int			c = strncmp(r, a, 10);

		return c < 0 ? -1 : c > 0 ? 1 : 0;
	}
	{
		int			c = strcmp(r, a);

		return c < 0 ? -1 : c > 0 ? 1 : 0;
	}
}

/* SQL LIKE, case-insensitive: % any run, _ one byte. */
static bool
like(const char *s, const char *p)
{
	for (; *p; p++, s++)
	{
		if (*p == '%')
		{
			while (p[1] == '%')
				p++;
			if (p[1] == '\0')
				return true;
			for (; *s; s++)
				if (like(s, p + 1))
					return true;
			return false;
		}
		if (*s == '\0')
			return false;
		if (*p != '_' && tolower((unsigned char) *p) != tolower((unsigned char) *s))
			return false;
	}
	return *s == '\0';
}

static bool
test_one(struct json_object *rv, op o, struct json_object *av)
{
	char		b1[64],
				b2[64];

	switch (o)
	{
		case OP_EQ:
		case OP_NE:
			return compare(rv, av) == 0;
		case OP_GT:
			return compare(rv, av) == 1;
		case OP_GE:
			{
				int			c = compare(rv, av);

				return c == 0 || c == 1;
			}
		case OP_LT:
			return compare(rv, av) == -1;
		case OP_LE:
			{
				int			c = compare(rv, av);

				return c == 0 || c == -1;
			}
		case OP_IN:
			if (!json_object_is_type(av, json_type_array))
				return compare(rv, av) == 0;
			for (size_t i = 0; i < json_object_array_length(av); i++)
				if (compare(rv, json_object_array_get_idx(av, i)) == 0)
					return true;
			return false;
		case OP_LIKE:
			{
				const char *r = scalar_text(rv, b1, sizeof(b1));
				const char *a = scalar_text(av, b2, sizeof(b2));

				return r && a && like(r, a);
			}
		case OP_BAD:
			break;
	}
	return false;
}

/* ----------------------------------------------------------- attribute values */

typedef struct collect
{
	op			o;
	struct json_object *av;
	bool		any;			/* some value satisfied the test */
	bool		seen;			/* some non-empty value exists */
	const char *idtype;			/* identifier type wanted, or NULL for any */
} collect;

static void
visit(collect *c, struct json_object *v)
{
	if (json_object_is_type(v, json_type_array))
	{
		for (size_t i = 0; i < json_object_array_length(v); i++)
			visit(c, json_object_array_get_idx(v, i));
		return;
	}
	if (is_empty(v))
		return;
	c->seen = true;
	if (!c->any && test_one(v, c->o == OP_NE ? OP_EQ : c->o, c->av))
		c->any = true;
}

/* Walk a dotted path; arrays on the way are searched element by element. */
static void
walk(collect *c, struct json_object *node, const char *path)
{
	const char *dot = strchr(path, '.');
	size_t		n = dot ? (size_t) (dot - path) : strlen(path);
	char		seg[128];
	struct json_object *next;

	if (json_object_is_type(node, json_type_array))
	{
		for (size_t i = 0; i < json_object_array_length(node); i++)
			walk(c, json_object_array_get_idx(node, i), path);
		return;
	}
	if (n >= sizeof(seg))
		return;
	memcpy(seg, path, n);
	seg[n] = '\0';
	next = member(node, seg);
	if (next == NULL && dot && (strcmp(seg, "program") == 0 || strcmp(seg, "programme") == 0))
	{
		/* spec examples say programme_identifier.program.programme_identifier */
		walk(c, node, dot + 1);
		return;
	}
	if (next == NULL)
		return;
	if (dot)
		walk(c, next, dot + 1);
	else
		visit(c, next);
}

static void
ident_visit(const char *type, const char *value, void *arg)
{
	collect    *c = arg;
	struct json_object *v;

	if (c->idtype && strcasecmp(c->idtype, type) != 0)
		return;
	/* a transient string: identifiers are compared as text */
	v = json_object_new_string(value);
	visit(c, v);
	json_object_put(v);
}

static bool
is_identifier_alias(const char *name)
{
	static const char *const aliases[] = {"person_identifier", "identifier", "identifier_value",
	"member.member_identifier", "member_identifier", NULL};

	for (int i = 0; aliases[i]; i++)
		if (strcasecmp(name, aliases[i]) == 0)
			return true;
	return false;
}

/* Evaluate "<attribute> <op> <value>" on one record. */
static bool
eval(reg_view *v, struct json_object *rec, const char *name, op o, struct json_object *av)
{
	collect		c = {o, av, false, false, NULL};

	walk(&c, rec, name);
	if (!c.seen)
	{
		/* no such attribute: an identifier alias, or an identifier type (UIN, BRN) */
		if (is_identifier_alias(name))
		{
			struct json_object *m = member(rec, "member");

			fixtures_identifiers(v, rec, ident_visit, &c);
			walk(&c, m, "member_identifier");
		}
		else
		{
			c.idtype = name;
			fixtures_identifiers(v, rec, ident_visit, &c);
		}
	}
	if (o == OP_NE)
		return !c.any;
	if (!c.seen)
		return o == OP_EQ && is_empty(av);
	return c.any;
}

/* ----------------------------------------------------------------- predicate */

typedef struct expr
{
	const char *name;
	op			o;
	struct json_object *value;
} expr;

static int
expr_parse(struct json_object *e, expr *out, char *msg, size_t msglen)
{
	struct json_object *n = member(e, "attribute_name");
	struct json_object *o = member(e, "operator");

	if (!json_object_is_type(e, json_type_object) || !json_object_is_type(n, json_type_string) ||
		!json_object_is_type(o, json_type_string) || member(e, "attribute_value") == NULL)
	{
		snprintf(msg, msglen, "an expression needs attribute_name, operator and attribute_value");
		return -1;
	}
	out->name = json_object_get_string(n);
	out->o = op_parse(json_object_get_string(o));
	out->value = member(e, "attribute_value");
	if (out->o == OP_BAD)
	{
		snprintf(msg, msglen, "unknown operator \"%s\" (eq ne gt ge lt le in like)",
				 json_object_get_string(o));
		return -1;
	}
	return 0;
}

typedef struct pred
{
	expr		e1,
				e2;
	int			cond;			/* 0 none, 1 and, 2 or, 3 not (e1 and not e2) */
} pred;

static query_status
predicate_parse(struct json_object *q, pred **out, size_t *np, char *msg, size_t msglen)
{
	size_t		n;
	pred	   *p;

	if (!json_object_is_type(q, json_type_array) || json_object_array_length(q) == 0)
	{
		snprintf(msg, msglen, "a predicate query is a non-empty array of {seq_num, expression1, condition, expression2}");
		return Q_BAD_FILTER;
	}
	n = json_object_array_length(q);
	p = calloc(n, sizeof(pred));
	if (p == NULL)
		return Q_BAD_FILTER;
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *it = json_object_array_get_idx(q, i);
		struct json_object *cond = member(it, "condition");

		if (expr_parse(member(it, "expression1"), &p[i].e1, msg, msglen) < 0)
			goto bad;
		if (cond == NULL || is_empty(cond))
			continue;
		if (!json_object_is_type(cond, json_type_string))
			goto badcond;
		if (strcasecmp(json_object_get_string(cond), "and") == 0)
			p[i].cond = 1;
		else if (strcasecmp(json_object_get_string(cond), "or") == 0)
			p[i].cond = 2;
		else if (strcasecmp(json_object_get_string(cond), "not") == 0)
			p[i].cond = 3;
		else
			goto badcond;
		if (expr_parse(member(it, "expression2"), &p[i].e2, msg, msglen) < 0)
			goto bad;
	}
	*out = p;
	*np = n;
	return Q_OK;
badcond:
	snprintf(msg, msglen, "condition must be and, or or not");
bad:
	free(p);
	return Q_BAD_FILTER;
}

static bool
predicate_match(reg_view *v, struct json_object *rec, const pred *p, size_t n)
{
	/* the list's items are all required (AND); each item is e1 [cond e2] */
	for (size_t i = 0; i < n; i++)
	{
		bool		a = eval(v, rec, p[i].e1.name, p[i].e1.o, p[i].e1.value);
		bool		r;

		switch (p[i].cond)
		{
			case 1:
				r = a && eval(v, rec, p[i].e2.name, p[i].e2.o, p[i].e2.value);
				break;
			case 2:
				r = a || eval(v, rec, p[i].e2.name, p[i].e2.o, p[i].e2.value);
				break;
			case 3:
				r = a && !eval(v, rec, p[i].e2.name, p[i].e2.o, p[i].e2.value);
				break;
			default:
				r = a;
		}
		if (!r)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- expression */

/*
 * {"type":"ns:dci:Expression:equals","value":{path: value, ...}} or the
 * spec's example form {path: value | {"eq": value}, ...}; every member must hold.
 */
static bool
expression_match(reg_view *v, struct json_object *rec, struct json_object *terms)
{
	json_object_object_foreach(terms, path, val)
	{
		if (json_object_is_type(val, json_type_object) && json_object_object_length(val) == 1)
		{
			json_object_object_foreach(val, opname, operand)
			{
				if (!eval(v, rec, path, op_parse(opname), operand))
					return false;
			}
		}
		else if (!eval(v, rec, path, OP_EQ, val))
			return false;
	}
	return true;
}

static query_status
expression_terms(struct json_object *q, struct json_object **terms, char *msg, size_t msglen)
{
	struct json_object *t = member(q, "type");
	struct json_object *val = member(q, "value");

	if (!json_object_is_type(q, json_type_object) || json_object_object_length(q) == 0)
	{
		snprintf(msg, msglen, "an expression query is an object");
		return Q_BAD_CRITERIA;
	}
	if (json_object_is_type(t, json_type_string) && json_object_is_type(val, json_type_object))
	{
		const char *ts = json_object_get_string(t);
		size_t		tl = strlen(ts);

		if (tl < 6 || strcasecmp(ts + tl - 6, "equals") != 0)
		{
			snprintf(msg, msglen, "expression type \"%s\" is not supported (ns:dci:Expression:equals)", ts);
			return Q_BAD_CRITERIA;
		}
		*terms = val;
	}
	else
		*terms = q;
	json_object_object_foreach(*terms, path, v)
	{
		if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 1)
		{
			json_object_object_foreach(v, opname, operand)
			{
				(void) operand;
				if (op_parse(opname) == OP_BAD)
				{
					snprintf(msg, msglen, "%s: unknown operator \"%s\"", path, opname);
					return Q_BAD_FILTER;
				}
			}
		}
	}
	return Q_OK;
}

/* ------------------------------------------------------------------- entry */

static void
list_add(idx_list *l, uint32_t i)
{
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 8;
		uint32_t   *n = realloc(l->idx, cap * sizeof(uint32_t));

		if (n == NULL)
			return;
		l->idx = n;
		l->cap = cap;
	}
	l->idx[l->n++] = i;
}

query_status
query_run(reg_view *v, const char *query_type, struct json_object *query,
		  idx_list *out, char *msg, size_t msglen)
{
	memset(out, 0, sizeof(*out));
	if (query_type == NULL)
	{
		snprintf(msg, msglen, "search_criteria.query_type is missing");
		return Q_BAD_CRITERIA;
	}
	if (strcasecmp(query_type, "idtype-value") == 0)
	{
		struct json_object *t = member(query, "type");
		struct json_object *val = member(query, "value");
		char		buf[64];
		const char *vs = scalar_text(val, buf, sizeof(buf));
		const idx_list *hit;

		if (!json_object_is_type(t, json_type_string) || vs == NULL ||
			json_object_is_type(val, json_type_boolean))
		{
			snprintf(msg, msglen, "an idtype-value query is {\"type\": <identifier type>, \"value\": <value>}");
			return Q_BAD_CRITERIA;
		}
		hit = fixtures_lookup(v, json_object_get_string(t), vs);
		for (size_t i = 0; hit && i < hit->n; i++)
			list_add(out, hit->idx[i]);
		return Q_OK;
	}
	if (strcasecmp(query_type, "predicate") == 0)
	{
		pred	   *p;
		size_t		np;
		query_status st = predicate_parse(query, &p, &np, msg, msglen);

		if (st != Q_OK)
			return st;
		for (size_t i = 0; i < v->nrec; i++)
			if (predicate_match(v, v->rec[i], p, np))
				list_add(out, (uint32_t) i);
		free(p);
		return Q_OK;
	}
	if (strcasecmp(query_type, "expression") == 0)
	{
		struct json_object *terms;
		query_status st = expression_terms(query, &terms, msg, msglen);

		if (st != Q_OK)
			return st;
		for (size_t i = 0; i < v->nrec; i++)
			if (expression_match(v, v->rec[i], terms))
				list_add(out, (uint32_t) i);
		return Q_OK;
	}
	snprintf(msg, msglen, "query_type \"%s\" is not idtype-value, predicate or expression", query_type);
	return Q_BAD_CRITERIA;
}

struct json_object *
query_path(struct json_object *rec, const char *path)
{
	char		seg[128];
	struct json_object *node = rec;

	while (node && *path)
	{
		const char *dot = strchr(path, '.');
		size_t		n = dot ? (size_t) (dot - path) : strlen(path);

		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		node = member(node, seg);
		path = dot ? dot + 1 : path + n;
	}
	return node;
}

/* ---------------------------------------------------------------------- sort */

typedef struct sort_item
{
	uint32_t	idx;
	struct json_object *key;
} sort_item;

static int
sort_cmp(const void *a, const void *b, void *arg)
{
	int			sort_desc = *(int *) arg;
	const sort_item *x = a,
			   *y = b;
	int			c;

	if (is_empty(x->key) || is_empty(y->key))
		c = is_empty(x->key) - is_empty(y->key);	/* unknown values last */
	else
	{
		c = compare(x->key, y->key);
		if (c == 2)
			c = 0;
		if (sort_desc)
			c = -c;
	}
	return c ? c : (x->idx < y->idx ? -1 : 1);	/* stable: fixture order */
}

void
query_sort(reg_view *v, idx_list *l, struct json_object *sort)
{
	struct json_object *first = json_object_is_type(sort, json_type_array) &&
		json_object_array_length(sort) > 0 ? json_object_array_get_idx(sort, 0) : NULL;
	struct json_object *name = member(first, "attribute_name");
	struct json_object *order = member(first, "sort_order");
	sort_item  *items;
	int			desc;

	if (!json_object_is_type(name, json_type_string) || l->n < 2)
		return;
	items = malloc(l->n * sizeof(sort_item));
	if (items == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
	{
		items[i].idx = l->idx[i];
		items[i].key = query_path(v->rec[l->idx[i]], json_object_get_string(name));
	}
	desc = json_object_is_type(order, json_type_string) &&
		strcasecmp(json_object_get_string(order), "desc") == 0;
	qsort_r(items, l->n, sizeof(sort_item), sort_cmp, &desc);
	for (size_t i = 0; i < l->n; i++)
		l->idx[i] = items[i].idx;
	free(items);
}

/* ---------------------------------------------------------------- one record */

/*
 * Does rec match query_type/query (a subscription's filter_type/filter)?
 * idtype-value: rec has that identifier; predicate, expression as for a
 * search.  Anything else is Q_BAD_CRITERIA (the caller fails closed).
 */
query_status
query_match_one(reg_view *v, struct json_object *rec, const char *query_type,
				struct json_object *query, bool *match, char *msg, size_t msglen)
{
	*match = false;
	if (query_type == NULL)
	{
		snprintf(msg, msglen, "filter_type is missing");
		return Q_BAD_CRITERIA;
	}
	if (strcasecmp(query_type, "idtype-value") == 0)
	{
		struct json_object *t = member(query, "type");
		char		buf[64];
		const char *vs = scalar_text(member(query, "value"), buf, sizeof(buf));

		if (!json_object_is_type(t, json_type_string) || vs == NULL)
		{
			snprintf(msg, msglen,
					 "an idtype-value filter is {\"type\": <identifier type>, \"value\": <value>}");
			return Q_BAD_CRITERIA;
		}
		*match = eval(v, rec, json_object_get_string(t), OP_EQ, member(query, "value"));
		return Q_OK;
	}
	if (strcasecmp(query_type, "predicate") == 0)
	{
		pred	   *p;
		size_t		np;
		query_status st = predicate_parse(query, &p, &np, msg, msglen);

		if (st != Q_OK)
			return st;
		*match = predicate_match(v, rec, p, np);
		free(p);
		return Q_OK;
	}
	if (strcasecmp(query_type, "expression") == 0)
	{
		struct json_object *terms;
		query_status st = expression_terms(query, &terms, msg, msglen);

		if (st != Q_OK)
			return st;
		*match = expression_match(v, rec, terms);
		return Q_OK;
	}
	snprintf(msg, msglen, "filter_type \"%s\" is not idtype-value, predicate or expression", query_type);
	return Q_BAD_CRITERIA;
}
