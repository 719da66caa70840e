/*
 * canonjson.c - bounded two-pass JSON parser into an arena tree, and the
 * Python-compatible canonical emitter (see canonjson.h).
 *
 * The parser follows RFC 8259 strictly: no comments, no NaN/Infinity
 * literals, no leading zeros, no raw control characters in strings, valid
 * UTF-8 only, and \u escapes must form valid code points.
 *
 * It runs the same code twice over the text.  The scan pass validates and
 * counts: nodes, bytes of text, and the child count of every non-empty
 * container in opening order.  The build pass then allocates the whole tree
 * at once and fills it, each container's children in one contiguous block.
 * So a tree costs 8 bytes per node plus its strings, nothing is reallocated
 * while it grows, and a document over budget is refused before any tree
 * memory is taken.  Neither pass recurses: nesting lives in an explicit
 * stack bounded by max_depth.
 *
 * A node is 8 bytes: a word of type, flags and length, and the byte offset
 * from the node to its text (string, canonical number) or to its children
 * (objects: key, value, key, value, ...).  Offsets are relative to the node
 * itself, so nodes need no back pointer to the tree.
 */
#include "canonjson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python 3.11+ refuses int() of more digits than this (sys.int_info). */
#define CJ_MAX_INT_DIGITS	4300

/* Room for a non-integer's canonical text ("-2.2250738585072014e-308") and its NUL. */
#define CJ_NUM_TEXT			25

/* node->meta: type in bits 0-2, flags in bits 3-5, length above. */
#define M_TYPE		0x07u
#define F_NUL		0x08u		/* holds U+0000 (itself or below) */
#define F_INT		0x10u		/* number written as an integer */
#define F_SHADOWED	0x20u		/* object key: a later member has the same key */
#define LEN_SHIFT	6

struct cj_node
{
	uint32_t	meta;
	uint32_t	off;			/* bytes from this node to its text or children */
};

/* What precedes the root in the arena. */
#define CJ_MAGIC	0x636a6474u

typedef struct cj_doc
{
	size_t		bytes;			/* the whole allocation */
	uint32_t	magic;
	uint32_t	nodes;
} cj_doc;

/* An open container while parsing. */
typedef struct frame
{
	cj_node    *node;			/* build: the container */
	cj_node    *block;			/* build: its children */
	uint32_t	n;				/* children (members) so far */
	uint32_t	cap;			/* build: children the scan counted */
	size_t		slot;			/* scan: index of its count */
	uint32_t	flags;			/* build: F_NUL of the children */
	int			is_object;
} frame;

typedef struct parser
{
	const unsigned char *start;
	const unsigned char *p;
	const unsigned char *end;
	int			build;
	size_t		max_nodes;
	int			max_depth;
	frame	   *stack;
	/* scan pass */
	size_t		nodes;
	size_t		text;
	uint32_t   *counts;
	size_t		ncounts;
	size_t		capcounts;
	/* build pass */
	size_t		ci;
	cj_node    *next;
	cj_node    *nend;
	char	   *tnext;
	char	   *tend;
	const cj_node **scratch;
	size_t		scratchcap;
	/* outcome */
	cj_result	res;
	char	   *err;
	size_t		errlen;
} parser;

static inline cj_type
ntype(const cj_node *n)
{
	return (cj_type) (n->meta & M_TYPE);
}

static inline uint32_t
nlen(const cj_node *n)
{
	return n->meta >> LEN_SHIFT;
}

static inline const void *
nptr(const cj_node *n)
{
	return (const char *) n + n->off;
}

static inline void
set_off(cj_node *n, const void *target)
{
	n->off = (uint32_t) ((const char *) target - (const char *) n);
}

const char *
cj_result_name(cj_result r)
{
	switch (r)
	{
		case CJ_OK:
			return "ok";
		case CJ_ERR_SYNTAX:
			return "syntax error";
		case CJ_ERR_TRUNCATED:
			return "truncated";
		case CJ_ERR_UTF8:
			return "invalid UTF-8";
		case CJ_ERR_BUDGET:
			return "over the parser's limits";
		case CJ_ERR_NOMEM:
			return "out of memory";
		case CJ_ERR_NUMBER:
			return "number without a canonical form";
		case CJ_ERR_SHAPE:
			return "unexpected shape";
	}
	return "unknown";
}

static void perr(parser *ps, cj_result r, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* Record the first error only: later ones are consequences. */
static void
perr(parser *ps, cj_result r, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (ps->res != CJ_OK)
		return;
	ps->res = r;
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

/* The build pass found what the scan did not: a bug, reported rather than trusted. */
static int
internal(parser *ps)
{
	perr(ps, CJ_ERR_SYNTAX, "internal error: passes disagree");
	return -1;
}

static inline void
skip_ws(parser *ps)
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

/* Four hex digits after "\u"; -1 when malformed, -2 when the text ends first. */
static long
read_hex4(parser *ps)
{
	long		v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		int			h;

		if (ps->p + i >= ps->end)
			return -2;
		h = hexval(ps->p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	ps->p += 4;
	return v;
}

/*
 * Length of the valid UTF-8 sequence at p (1..4), 0 when it is invalid:
 * overlong forms, UTF-16 surrogates and code points above U+10FFFF are all
 * rejected (RFC 3629).  -1 when the text ends inside a sequence that was
 * valid so far.
 */
static int
utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t		avail = end - p;
	int			need;
	size_t		i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;
	for (i = 1; i < (size_t) need && i < avail; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (avail >= 2)
	{
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0;			/* surrogate */
		if (c == 0xF0 && p[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0;			/* above U+10FFFF */
	}
	return avail < (size_t) need ? -1 : need;
}

/* Append decoded bytes of a string: copied in the build pass, counted in the scan. */
static inline int
put_bytes(parser *ps, char *dst, size_t *n, const void *src, size_t len)
{
	if (dst != NULL)
	{
		/* keep one byte for the NUL */
		if ((size_t) (ps->tend - dst) <= *n + len)
			return internal(ps);
		memcpy(dst + *n, src, len);
	}
	*n += len;
	return 0;
}

static int
put_code_point(parser *ps, char *dst, size_t *n, unsigned long cp)
{
	unsigned char u[4];
	size_t		k;

	if (cp < 0x80)
	{
		u[0] = (unsigned char) cp;
		k = 1;
	}
	else if (cp < 0x800)
	{
		u[0] = (unsigned char) (0xC0 | (cp >> 6));
		u[1] = (unsigned char) (0x80 | (cp & 0x3F));
		k = 2;
	}
	else if (cp < 0x10000)
	{
		u[0] = (unsigned char) (0xE0 | (cp >> 12));
		u[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char) (0x80 | (cp & 0x3F));
		k = 3;
	}
	else
	{
		u[0] = (unsigned char) (0xF0 | (cp >> 18));
		u[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char) (0x80 | (cp & 0x3F));
		k = 4;
	}
	return put_bytes(ps, dst, n, u, k);
}

/* The code point of a \u escape (ps->p after the "\u"), pairs joined; -1 on error. */
static long
read_escape_u(parser *ps)
{
	long		cp = read_hex4(ps);
	long		lo;

	if (cp < 0)
	{
		if (cp == -2)
			perr(ps, CJ_ERR_TRUNCATED, "text ends inside a \\u escape");
		else
			perr(ps, CJ_ERR_SYNTAX, "bad \\u escape");
		return -1;
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF)
	{
		perr(ps, CJ_ERR_UTF8, "lone low surrogate \\u%04lx", cp);
		return -1;
	}
	if (cp < 0xD800 || cp > 0xDBFF)
		return cp;
	if (ps->end - ps->p < 2)
	{
		perr(ps, ps->p == ps->end || *ps->p == '\\' ? CJ_ERR_TRUNCATED : CJ_ERR_UTF8,
			 "lone high surrogate \\u%04lx", cp);
		return -1;
	}
	if (ps->p[0] != '\\' || ps->p[1] != 'u')
	{
		perr(ps, CJ_ERR_UTF8, "lone high surrogate \\u%04lx", cp);
		return -1;
	}
	ps->p += 2;
	lo = read_hex4(ps);
	if (lo < 0)
	{
		if (lo == -2)
			perr(ps, CJ_ERR_TRUNCATED, "text ends inside a \\u escape");
		else
			perr(ps, CJ_ERR_SYNTAX, "bad \\u escape");
		return -1;
	}
	if (lo < 0xDC00 || lo > 0xDFFF)
	{
		perr(ps, CJ_ERR_UTF8, "high surrogate \\u%04lx not followed by a low surrogate", cp);
		return -1;
	}
	return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
}

/*
 * The string token at ps->p (its opening quote).  The build pass writes its
 * decoded bytes, NUL-terminated, into the text region and fills node; the
 * scan pass counts them.  0 ok, -1 error.
 */
static int
parse_string(parser *ps, cj_node *node)
{
	char	   *dst = ps->build ? ps->tnext : NULL;
	size_t		n = 0;
	uint32_t	flags = 0;

	ps->p++;
	for (;;)
	{
		const unsigned char *run = ps->p;
		unsigned char c;

		/* copy a run of plain ASCII at once */
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' &&
			   *ps->p >= 0x20 && *ps->p < 0x80)
			ps->p++;
		if (ps->p > run && put_bytes(ps, dst, &n, run, ps->p - run) != 0)
			return -1;
		if (ps->p >= ps->end)
		{
			perr(ps, CJ_ERR_TRUNCATED, "unterminated string");
			return -1;
		}
		c = *ps->p;
		if (c == '"')
		{
			ps->p++;
			break;
		}
		if (c < 0x20)
		{
			perr(ps, CJ_ERR_SYNTAX, "unescaped control character 0x%02x in string", c);
			return -1;
		}
		if (c >= 0x80)
		{
			int			k = utf8_seq_len(ps->p, ps->end);

			if (k <= 0)
			{
				if (k < 0)
					perr(ps, CJ_ERR_TRUNCATED, "text ends inside a UTF-8 sequence");
				else
					perr(ps, CJ_ERR_UTF8, "invalid UTF-8 in string");
				return -1;
			}
			if (put_bytes(ps, dst, &n, ps->p, k) != 0)
				return -1;
			ps->p += k;
			continue;
		}
		/* backslash escape */
		ps->p++;
		if (ps->p >= ps->end)
		{
			perr(ps, CJ_ERR_TRUNCATED, "unterminated escape");
			return -1;
		}
		c = *ps->p++;
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
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
				{
					long		cp = read_escape_u(ps);

					if (cp < 0)
						return -1;
					if (cp == 0)
						flags |= F_NUL;
					if (put_code_point(ps, dst, &n, (unsigned long) cp) != 0)
						return -1;
					continue;
				}
			default:
				ps->p--;
				perr(ps, CJ_ERR_SYNTAX, "bad escape '\\%c'", (c >= 0x20 && c < 0x7f) ? c : '?');
				return -1;
		}
		if (put_bytes(ps, dst, &n, &c, 1) != 0)
			return -1;
	}
	if (n > CJ_MAX_LEN)
	{
		perr(ps, CJ_ERR_BUDGET, "string longer than %u bytes", CJ_MAX_LEN);
		return -1;
	}
	if (dst == NULL)
	{
		ps->text += n + 1;
		return 0;
	}
	dst[n] = '\0';
	node->meta = CJ_STRING | flags | ((uint32_t) n << LEN_SHIFT);
	set_off(node, dst);
	ps->tnext += n + 1;
	return 0;
}

static int	canon_float(const char *s, size_t len, int fast_only, char *out, size_t *outlen);

/* A number token; the build pass stores its canonical text. */
static int
parse_number(parser *ps, cj_node *node)
{
	const unsigned char *s = ps->p;
	const unsigned char *digits;
	int			is_int = 1;
	size_t		len;
	char	   *dst;
	size_t		tl;
	int			rc;

	if (*ps->p == '-')
		ps->p++;
	digits = ps->p;
	if (ps->p >= ps->end)
		goto truncated;
	if (!(*ps->p >= '0' && *ps->p <= '9'))
		goto bad;
	if (*ps->p == '0')
	{
		ps->p++;
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		{
			perr(ps, CJ_ERR_SYNTAX, "leading zero in number");
			return -1;
		}
	}
	else
	{
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (is_int && (size_t) (ps->p - digits) > CJ_MAX_INT_DIGITS)
	{
		ps->p = s;
		perr(ps, CJ_ERR_NUMBER, "integer has more than %d digits", CJ_MAX_INT_DIGITS);
		return -1;
	}
	if (ps->p < ps->end && *ps->p == '.')
	{
		is_int = 0;
		ps->p++;
		if (ps->p >= ps->end)
			goto truncated;
		if (!(*ps->p >= '0' && *ps->p <= '9'))
			goto bad;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
	{
		is_int = 0;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end)
			goto truncated;
		if (!(*ps->p >= '0' && *ps->p <= '9'))
			goto bad;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	len = ps->p - s;
	if (!ps->build)
	{
		char		tmp[CJ_NUM_TEXT];

		/* the exact room when the fast path knows it; the most a double takes otherwise */
		if (is_int)
			ps->text += len + 1;
		else if (canon_float((const char *) s, len, 1, tmp, &tl) == 0)
			ps->text += tl + 1;
		else
			ps->text += CJ_NUM_TEXT;
		return 0;
	}
	dst = ps->tnext;
	if (is_int)
	{
		if ((size_t) (ps->tend - dst) < len + 1)
			return internal(ps);
		/* Python's int("-0") is 0; JSON allows no other redundant forms */
		if (len == 2 && s[0] == '-' && s[1] == '0')
		{
			dst[0] = '0';
			tl = 1;
		}
		else
		{
			memcpy(dst, s, len);
			tl = len;
		}
	}
	else
	{
		char		tmp[CJ_NUM_TEXT];

		if ((rc = canon_float((const char *) s, len, 0, tmp, &tl)) != 0)
		{
			ps->p = s;
			if (rc == -2)
				perr(ps, CJ_ERR_NOMEM, "out of memory");
			else
				perr(ps, CJ_ERR_NUMBER, "number %.*s is beyond the range of a double",
					 (int) (len > 40 ? 40 : len), (const char *) s);
			return -1;
		}
		if ((size_t) (ps->tend - dst) < tl + 1)
			return internal(ps);
		memcpy(dst, tmp, tl);
	}
	dst[tl] = '\0';
	node->meta = CJ_NUMBER | (is_int ? F_INT : 0) | ((uint32_t) tl << LEN_SHIFT);
	set_off(node, dst);
	ps->tnext += tl + 1;
	return 0;

truncated:
	perr(ps, CJ_ERR_TRUNCATED, "text ends inside a number");
	return -1;
bad:
	perr(ps, CJ_ERR_SYNTAX, "bad number");
	return -1;
}

/* true, false or null at ps->p. */
static int
parse_literal(parser *ps, cj_node *node)
{
	static const struct
	{
		const char *text;
		cj_type		type;
	}			lits[] = {{"true", CJ_TRUE}, {"false", CJ_FALSE}, {"null", CJ_NULL}};
	size_t		avail = ps->end - ps->p;

	for (int i = 0; i < 3; i++)
	{
		size_t		l = strlen(lits[i].text);

		if (ps->p[0] != lits[i].text[0])
			continue;
		if (avail >= l && memcmp(ps->p, lits[i].text, l) == 0)
		{
			ps->p += l;
			if (ps->build)
			{
				node->meta = lits[i].type;
				node->off = 0;
			}
			return 0;
		}
		if (avail < l && memcmp(ps->p, lits[i].text, avail) == 0)
		{
			perr(ps, CJ_ERR_TRUNCATED, "text ends inside a literal");
			return -1;
		}
	}
	perr(ps, CJ_ERR_SYNTAX, "unknown literal");
	return -1;
}

/* One more node: the scan pass enforces the budget. */
static inline int
count_node(parser *ps)
{
	if (!ps->build && ++ps->nodes > ps->max_nodes)
	{
		perr(ps, CJ_ERR_BUDGET, "more than %zu values", ps->max_nodes);
		return -1;
	}
	return 0;
}

/* Reserve the slot of a container's child count (scan pass). */
static int
push_count(parser *ps, size_t *slot)
{
	if (ps->ncounts == ps->capcounts)
	{
		size_t		cap = ps->capcounts ? ps->capcounts * 2 : 64;
		uint32_t   *c = realloc(ps->counts, cap * sizeof(uint32_t));

		if (c == NULL)
		{
			perr(ps, CJ_ERR_NOMEM, "out of memory");
			return -1;
		}
		ps->counts = c;
		ps->capcounts = cap;
	}
	*slot = ps->ncounts;
	ps->counts[ps->ncounts++] = 0;
	return 0;
}

static int
key_eq(const cj_node *a, const cj_node *b)
{
	return a->meta >> LEN_SHIFT == b->meta >> LEN_SHIFT &&
		memcmp(nptr(a), nptr(b), nlen(a)) == 0;
}

/* Keys by length and bytes, then position. */
static int
cmp_key_nodes(const void *x, const void *y)
{
	const cj_node *a = *(const cj_node *const *) x;
	const cj_node *b = *(const cj_node *const *) y;
	int			c;

	if (nlen(a) != nlen(b))
		return nlen(a) < nlen(b) ? -1 : 1;
	c = memcmp(nptr(a), nptr(b), nlen(a));
	if (c != 0)
		return c;
	return a < b ? -1 : (a > b);
}

/* Flag every member whose key comes again later: the last one counts. */
static int
mark_shadowed(parser *ps, cj_node *block, uint32_t n)
{
	uint32_t	i,
				j;

	if (n < 2)
		return 0;
	if (n <= 16)
	{
		for (i = 0; i + 1 < n; i++)
			for (j = i + 1; j < n; j++)
				if (key_eq(&block[2 * i], &block[2 * j]))
				{
					block[2 * i].meta |= F_SHADOWED;
					break;
				}
		return 0;
	}
	if (ps->scratchcap < n)
	{
		const cj_node **s = realloc(ps->scratch, n * sizeof(cj_node *));

		if (s == NULL)
		{
			perr(ps, CJ_ERR_NOMEM, "out of memory");
			return -1;
		}
		ps->scratch = s;
		ps->scratchcap = n;
	}
	for (i = 0; i < n; i++)
		ps->scratch[i] = &block[2 * i];
	qsort(ps->scratch, n, sizeof(cj_node *), cmp_key_nodes);
	for (i = 0; i + 1 < n; i++)
		if (key_eq(ps->scratch[i], ps->scratch[i + 1]))
			((cj_node *) ps->scratch[i])->meta |= F_SHADOWED;
	return 0;
}

/* Open a container at ps->p ('[' or '{') into node; pushes a frame unless it is empty. */
static int
open_container(parser *ps, cj_node *node, int *depth, int *empty)
{
	int			is_object = *ps->p == '{';
	frame	   *f;

	if (*depth >= ps->max_depth)
	{
		perr(ps, CJ_ERR_BUDGET, "nesting deeper than %d levels", ps->max_depth);
		return -1;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p >= ps->end)
	{
		perr(ps, CJ_ERR_TRUNCATED, "unterminated %s", is_object ? "object" : "array");
		return -1;
	}
	*empty = *ps->p == (is_object ? '}' : ']');
	if (*empty)
	{
		ps->p++;
		if (ps->build)
		{
			node->meta = is_object ? CJ_OBJECT : CJ_ARRAY;
			node->off = 0;
		}
		return 0;
	}
	f = &ps->stack[(*depth)++];
	f->node = node;
	f->n = 0;
	f->flags = 0;
	f->is_object = is_object;
	if (!ps->build)
		return push_count(ps, &f->slot);
	if (ps->ci >= ps->ncounts)
		return internal(ps);
	f->cap = ps->counts[ps->ci++];
	if (f->cap == 0 || (size_t) (ps->nend - ps->next) < (size_t) f->cap * (is_object ? 2 : 1))
		return internal(ps);
	f->block = ps->next;
	ps->next += (size_t) f->cap * (is_object ? 2 : 1);
	node->meta = (is_object ? CJ_OBJECT : CJ_ARRAY) | (f->cap << LEN_SHIFT);
	set_off(node, f->block);
	return 0;
}

/* Close the container of frame f (its closing bracket just read). */
static int
close_container(parser *ps, frame *f)
{
	if (f->n > CJ_MAX_LEN)
	{
		perr(ps, CJ_ERR_BUDGET, "more than %u members in one array or object", CJ_MAX_LEN);
		return -1;
	}
	if (!ps->build)
	{
		ps->counts[f->slot] = f->n;
		return 0;
	}
	if (f->n != f->cap)
		return internal(ps);
	if (f->is_object)
	{
		if (mark_shadowed(ps, f->block, f->n) != 0)
			return -1;
		/* what a later duplicate hides is not data: only live members count */
		if (f->flags)
		{
			f->flags = 0;
			for (uint32_t i = 0; i < f->n; i++)
				if (!(f->block[2 * i].meta & F_SHADOWED))
					f->flags |= (f->block[2 * i].meta | f->block[2 * i + 1].meta) & F_NUL;
		}
	}
	f->node->meta |= f->flags;
	return 0;
}

/*
 * One pass over the text.  The states: a value is expected (into target), an
 * object key is expected, or a value has just ended (cur).
 */
static int
run_pass(parser *ps, cj_node *root)
{
	enum
	{
		ST_VALUE, ST_KEY, ST_AFTER
	}			st = ST_VALUE;
	int			depth = 0;
	cj_node    *target = root;
	cj_node    *cur = NULL;

	ps->p = ps->start;
	skip_ws(ps);
	if (ps->p >= ps->end)
	{
		perr(ps, CJ_ERR_TRUNCATED, "no JSON value");
		return -1;
	}
	for (;;)
	{
		frame	   *f;

		if (st == ST_VALUE)
		{
			unsigned char c;
			int			empty;

			if (count_node(ps) != 0)
				return -1;
			if (ps->p >= ps->end)
			{
				perr(ps, CJ_ERR_TRUNCATED, "value expected");
				return -1;
			}
			c = *ps->p;
			if (c == '{' || c == '[')
			{
				if (open_container(ps, target, &depth, &empty) != 0)
					return -1;
				if (empty)
				{
					cur = target;
					st = ST_AFTER;
				}
				else if (c == '{')
					st = ST_KEY;
				else
				{
					f = &ps->stack[depth - 1];
					target = ps->build ? &f->block[0] : NULL;
					skip_ws(ps);
				}
				continue;
			}
			if (c == '"')
			{
				if (parse_string(ps, target) != 0)
					return -1;
			}
			else if (c == '-' || (c >= '0' && c <= '9'))
			{
				if (parse_number(ps, target) != 0)
					return -1;
			}
			else if (c == 't' || c == 'f' || c == 'n')
			{
				if (parse_literal(ps, target) != 0)
					return -1;
			}
			else
			{
				int			k = c >= 0x80 ? utf8_seq_len(ps->p, ps->end) : 1;

				if (k == 0)
					perr(ps, CJ_ERR_UTF8, "invalid UTF-8");
				else if (c >= 0x20 && c < 0x7f)
					perr(ps, CJ_ERR_SYNTAX, "unexpected character '%c'", c);
				else
					perr(ps, CJ_ERR_SYNTAX, "unexpected byte 0x%02x", c);
				return -1;
			}
			cur = target;
			st = ST_AFTER;
			continue;
		}

		if (st == ST_KEY)
		{
			cj_node    *key;

			f = &ps->stack[depth - 1];
			skip_ws(ps);
			if (ps->p >= ps->end)
			{
				perr(ps, CJ_ERR_TRUNCATED, "unterminated object");
				return -1;
			}
			if (*ps->p != '"')
			{
				perr(ps, CJ_ERR_SYNTAX, "string key expected");
				return -1;
			}
			if (count_node(ps) != 0)
				return -1;
			if (ps->build && f->n >= f->cap)
				return internal(ps);
			key = ps->build ? &f->block[2 * f->n] : NULL;
			if (parse_string(ps, key) != 0)
				return -1;
			if (ps->build)
				f->flags |= key->meta & F_NUL;
			skip_ws(ps);
			if (ps->p >= ps->end)
			{
				perr(ps, CJ_ERR_TRUNCATED, "unterminated object");
				return -1;
			}
			if (*ps->p != ':')
			{
				perr(ps, CJ_ERR_SYNTAX, "':' expected");
				return -1;
			}
			ps->p++;
			skip_ws(ps);
			target = ps->build ? &f->block[2 * f->n + 1] : NULL;
			st = ST_VALUE;
			continue;
		}

		/* ST_AFTER: cur has ended */
		if (depth == 0)
			break;
		f = &ps->stack[depth - 1];
		if (ps->build)
			f->flags |= cur->meta & F_NUL;
		f->n++;
		skip_ws(ps);
		if (ps->p >= ps->end)
		{
			perr(ps, CJ_ERR_TRUNCATED, "unterminated %s", f->is_object ? "object" : "array");
			return -1;
		}
		if (*ps->p == ',')
		{
			ps->p++;
			skip_ws(ps);
			if (f->is_object)
				st = ST_KEY;
			else
			{
				if (ps->build && f->n >= f->cap)
					return internal(ps);
				target = ps->build ? &f->block[f->n] : NULL;
				st = ST_VALUE;
			}
			continue;
		}
		if (*ps->p == (f->is_object ? '}' : ']'))
		{
			ps->p++;
			if (close_container(ps, f) != 0)
				return -1;
			cur = f->node;
			depth--;
			continue;
		}
		perr(ps, CJ_ERR_SYNTAX, "',' or '%c' expected", f->is_object ? '}' : ']');
		return -1;
	}
	skip_ws(ps);
	if (ps->p != ps->end)
	{
		perr(ps, CJ_ERR_SYNTAX, "trailing characters after the JSON value");
		return -1;
	}
	return 0;
}

cj_node *
cj_parse_ex(const char *text, size_t len, const cj_limits *lim,
			cj_result *res, char *err, size_t errlen)
{
	parser		ps;
	cj_doc	   *doc = NULL;
	cj_node    *root = NULL;
	size_t		nodebytes;
	size_t		bytes;

	memset(&ps, 0, sizeof(ps));
	ps.err = err;
	ps.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ps.max_nodes = lim && lim->max_nodes ? lim->max_nodes : CJ_DEFAULT_MAX_NODES;
	ps.max_depth = lim && lim->max_depth > 0 ? lim->max_depth : CJ_DEFAULT_MAX_DEPTH;
	if (ps.max_depth > CJ_MAX_DEPTH)
		ps.max_depth = CJ_MAX_DEPTH;
	if (text == NULL)
	{
		ps.res = CJ_ERR_TRUNCATED;
		set_err(err, errlen, "invalid JSON: no input");
		goto done;
	}
	ps.start = (const unsigned char *) text;
	ps.end = ps.start + len;
	/* offsets inside the tree are 32-bit */
	if (len > INT32_MAX / 2)
	{
		ps.p = ps.start;
		perr(&ps, CJ_ERR_BUDGET, "text of %zu bytes is too long", len);
		goto done;
	}
	ps.stack = malloc((size_t) ps.max_depth * sizeof(frame));
	if (ps.stack == NULL)
	{
		ps.res = CJ_ERR_NOMEM;
		set_err(err, errlen, "out of memory");
		goto done;
	}

	/* scan: validate and count */
	if (run_pass(&ps, NULL) != 0)
		goto done;

	/* build: one allocation for the header, the nodes and their text */
	nodebytes = ps.nodes * sizeof(cj_node);
	bytes = sizeof(cj_doc) + nodebytes + ps.text;
	if (bytes > INT32_MAX)
	{
		ps.p = ps.start;
		perr(&ps, CJ_ERR_BUDGET, "tree of %zu bytes is too large", bytes);
		goto done;
	}
	doc = malloc(bytes);
	if (doc == NULL)
	{
		ps.p = ps.start;
		perr(&ps, CJ_ERR_NOMEM, "out of memory for a tree of %zu bytes", bytes);
		goto done;
	}
	doc->bytes = bytes;
	doc->magic = CJ_MAGIC;
	doc->nodes = (uint32_t) ps.nodes;
	root = (cj_node *) (doc + 1);
	ps.build = 1;
	ps.next = root + 1;
	ps.nend = root + ps.nodes;
	ps.tnext = (char *) doc + sizeof(cj_doc) + nodebytes;
	ps.tend = (char *) doc + bytes;
	if (run_pass(&ps, root) != 0)
	{
		free(doc);
		doc = NULL;
		root = NULL;
	}
	else if (ps.next != ps.nend)
	{
		internal(&ps);
		free(doc);
		doc = NULL;
		root = NULL;
	}

done:
	free(ps.stack);
	free(ps.counts);
	free(ps.scratch);
	if (res != NULL)
		*res = root ? CJ_OK : (ps.res != CJ_OK ? ps.res : CJ_ERR_SYNTAX);
	return root;
}

cj_node *
cj_parse(const char *text, size_t len, char *err, size_t errlen)
{
	return cj_parse_ex(text, len, NULL, NULL, err, errlen);
}

static cj_doc *
doc_of(const cj_node *root)
{
	cj_doc	   *d;

	if (root == NULL)
		return NULL;
	d = (cj_doc *) root - 1;
	/* anything but a root is left alone */
	return d->magic == CJ_MAGIC ? d : NULL;
}

void
cj_free(cj_node *root)
{
	cj_doc	   *d = doc_of(root);

	if (d != NULL)
	{
		d->magic = 0;
		free(d);
	}
}

size_t
cj_memory(const cj_node *root)
{
	cj_doc	   *d = doc_of(root);

	return d ? d->bytes : 0;
}

/* ---- reading ---- */

cj_type
cj_typeof(const cj_node *n)
{
	return n ? ntype(n) : CJ_NULL;
}

int
cj_has_nul(const cj_node *n)
{
	return n != NULL && (n->meta & F_NUL) != 0;
}

const char *
cj_string(const cj_node *n)
{
	return n != NULL && ntype(n) == CJ_STRING ? nptr(n) : NULL;
}

const char *
cj_str(const cj_node *n, size_t *len)
{
	if (n == NULL || ntype(n) != CJ_STRING)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = nlen(n);
	return nptr(n);
}

const char *
cj_number(const cj_node *n, size_t *len)
{
	if (n == NULL || ntype(n) != CJ_NUMBER)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = nlen(n);
	return nptr(n);
}

int
cj_is_integer(const cj_node *n)
{
	return n != NULL && ntype(n) == CJ_NUMBER && (n->meta & F_INT) != 0;
}

static inline int
is_blank_char(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Integer of decimal text, blanks around allowed: 1 ok, -1 not one or beyond a long. */
static int
text_long(const char *s, long *out)
{
	char	   *end;
	long		v;

	while (is_blank_char(*s))
		s++;
	if (!(*s >= '0' && *s <= '9') && !((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	while (is_blank_char(*end))
		end++;
	if (*end != '\0')
		return -1;
	*out = v;
	return 1;
}

int
cj_long(const cj_node *n, long *out)
{
	const char *s;
	double		d;

	switch (cj_typeof(n))
	{
		case CJ_NULL:
			return 0;
		case CJ_NUMBER:
			s = nptr(n);
			if (n->meta & F_INT)
				return text_long(s, out);
			d = strtod(s, NULL);
			/* the range test also rejects NaN */
			if (!(d >= -9.0e18 && d <= 9.0e18) || (double) (long) d != d)
				return -1;
			*out = (long) d;
			return 1;
		case CJ_STRING:
			if (n->meta & F_NUL)
				return -1;
			for (s = nptr(n); is_blank_char(*s); s++)
				;
			if (*s == '\0')
				return 0;
			return text_long(s, out);
		default:
			return -1;
	}
}

size_t
cj_array_len(const cj_node *n)
{
	return n != NULL && ntype(n) == CJ_ARRAY ? nlen(n) : 0;
}

const cj_node *
cj_array_get(const cj_node *n, size_t i)
{
	if (i >= cj_array_len(n))
		return NULL;
	return (const cj_node *) nptr(n) + i;
}

size_t
cj_object_len(const cj_node *n)
{
	return n != NULL && ntype(n) == CJ_OBJECT ? nlen(n) : 0;
}

const char *
cj_object_key(const cj_node *n, size_t i, size_t *len)
{
	if (i >= cj_object_len(n))
	{
		if (len)
			*len = 0;
		return NULL;
	}
	return cj_str((const cj_node *) nptr(n) + 2 * i, len);
}

const cj_node *
cj_object_value(const cj_node *n, size_t i)
{
	if (i >= cj_object_len(n))
		return NULL;
	return (const cj_node *) nptr(n) + 2 * i + 1;
}

int
cj_object_shadowed(const cj_node *n, size_t i)
{
	if (i >= cj_object_len(n))
		return 0;
	return (((const cj_node *) nptr(n) + 2 * i)->meta & F_SHADOWED) != 0;
}

const cj_node *
cj_get(const cj_node *obj, const char *key)
{
	const cj_node *m;
	size_t		klen;
	size_t		i;

	if (key == NULL || cj_object_len(obj) == 0)
		return NULL;
	klen = strlen(key);
	m = nptr(obj);
	/* last one wins, as in Python's dict */
	for (i = nlen(obj); i > 0; i--)
	{
		const cj_node *k = &m[2 * (i - 1)];

		if (nlen(k) == klen && memcmp(nptr(k), key, klen) == 0)
			return k + 1;
	}
	return NULL;
}

/* ---- numbers ---- */

/*
 * Python's repr of a double given its shortest digits (no trailing zeros but
 * for "0" itself) and the decimal exponent e of the first digit, written to
 * out (at least CJ_NUM_TEXT bytes).  Returns the length.
 */
static size_t
format_repr(int neg, const char *digits, int nd, int e, char *out)
{
	size_t		n = 0;
	int			i;

	if (neg)
		out[n++] = '-';
	if (e < -4 || e >= 16)
	{
		/* scientific: d[.ddd]e+XX */
		int			ae = e < 0 ? -e : e;

		out[n++] = digits[0];
		if (nd > 1)
		{
			out[n++] = '.';
			memcpy(out + n, digits + 1, nd - 1);
			n += nd - 1;
		}
		out[n++] = 'e';
		out[n++] = e < 0 ? '-' : '+';
		if (ae >= 100)
			out[n++] = (char) ('0' + ae / 100);
		out[n++] = (char) ('0' + ae / 10 % 10);
		out[n++] = (char) ('0' + ae % 10);
		return n;
	}
	if (e < 0)
	{
		/* 0.000ddd */
		out[n++] = '0';
		out[n++] = '.';
		for (i = 0; i < -e - 1; i++)
			out[n++] = '0';
		memcpy(out + n, digits, nd);
		return n + nd;
	}
	/* ddd.ddd, with at least one digit after the point */
	if (nd <= e + 1)
	{
		memcpy(out + n, digits, nd);
		n += nd;
		for (i = nd; i < e + 1; i++)
			out[n++] = '0';
		out[n++] = '.';
		out[n++] = '0';
		return n;
	}
	memcpy(out + n, digits, e + 1);
	n += e + 1;
	out[n++] = '.';
	memcpy(out + n, digits + e + 1, nd - e - 1);
	return n + nd - e - 1;
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
		char		cand[2][40];
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

/* Python's repr of a finite double into out; -1 for infinities and NaN. */
static int
repr_double(double x, char *out, size_t *outlen)
{
	char		digits[40];
	int			e;
	int			nd;

	if (isnan(x) || isinf(x))
		return -1;
	if (shortest_digits(x, digits, sizeof(digits), &e) != 0)
		return -1;
	/* drop trailing zeros (only "0" itself keeps one) */
	nd = (int) strlen(digits);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	*outlen = format_repr(signbit(x) ? 1 : 0, digits, nd, e, out);
	return 0;
}

/*
 * Canonical text of a JSON number literal that is not an integer: Python's
 * repr(float(s)).  0 ok, -1 when it overflows the double, -2 out of memory;
 * with fast_only, 1 when only the slow path could tell.
 *
 * The literal's significant digits d1..dn are found first, with the decimal
 * exponent e of d1.  When n <= 15 and the value lies well inside the normal
 * range, those digits are the answer: any decimal of at most DBL_DIG (15)
 * significant digits reads back from the double nearest to it, so no other
 * string of at most as many digits maps to that double, and none shorter
 * can.  Anything else goes through strtod and the shortest round trip.
 */
static int
canon_float(const char *s, size_t len, int fast_only, char *out, size_t *outlen)
{
	const char *p = s;
	const char *end = s + len;
	int			neg = 0;
	int			point = 0;
	long long	ndig = 0;		/* digits before the exponent, '.' skipped */
	long long	intdig = 0;		/* of which before the point */
	long long	first = -1;		/* index of the first and last non-zero digit */
	long long	last = -1;
	long long	exp = 0;
	long long	e;
	long long	nd;
	const char *q;

	if (p < end && *p == '-')
	{
		neg = 1;
		p++;
	}
	for (q = p; q < end && *q != 'e' && *q != 'E'; q++)
	{
		if (*q == '.')
		{
			point = 1;
			continue;
		}
		if (*q != '0')
		{
			if (first < 0)
				first = ndig;
			last = ndig;
		}
		ndig++;
		if (!point)
			intdig++;
	}
	if (q < end)
	{
		int			eneg = 0;

		q++;
		if (q < end && (*q == '+' || *q == '-'))
			eneg = (*q++ == '-');
		for (; q < end; q++)
		{
			/* saturate: beyond this it is 0 or infinity anyway */
			if (exp < 4000000000LL)
				exp = exp * 10 + (*q - '0');
		}
		if (eneg)
			exp = -exp;
	}
	if (first < 0)
	{
		/* every digit is zero */
		memcpy(out, neg ? "-0.0" : "0.0", neg ? 4 : 3);
		*outlen = neg ? 4 : 3;
		return 0;
	}
	nd = last - first + 1;
	e = exp + intdig - 1 - first;
	if (nd <= 15 && e >= -307 && e <= 307)
	{
		char		digits[16];
		long long	k = 0;
		long long	i = 0;

		for (q = p; k < nd; q++)
		{
			if (*q == '.')
				continue;
			if (i >= first)
				digits[k++] = *q;
			i++;
		}
		*outlen = format_repr(neg, digits, (int) nd, (int) e, out);
		return 0;
	}
	if (fast_only)
		return 1;
	{
		/* strtod of "<digits>e<exp>": exact for any length, no locale radix */
		char		small[96];
		char	   *buf = small;
		size_t		need = (size_t) nd + 32;
		long long	k = 0;
		long long	i = 0;
		double		d;
		int			rc;

		if (need > sizeof(small) && (buf = malloc(need)) == NULL)
			return -2;
		if (neg)
			buf[k++] = '-';
		for (q = p; i <= last; q++)
		{
			if (*q == '.')
				continue;
			if (i >= first)
				buf[k++] = *q;
			i++;
		}
		snprintf(buf + k, need - k, "e%lld", e - nd + 1);
		d = strtod(buf, NULL);
		if (buf != small)
			free(buf);
		rc = repr_double(d, out, outlen);
		return rc;
	}
}

/* ---- emitters ---- */

typedef struct sort_ent
{
	const char *key;
	uint32_t	klen;
	uint32_t	idx;
} sort_ent;

typedef struct emitter
{
	dbuf	   *out;
	int			ascii;			/* ensure_ascii */
	sort_ent   *ents;			/* a stack of member lists being sorted */
	size_t		cap;
} emitter;

static const char hexdig[] = "0123456789abcdef";

static inline void
hex4(char *b, unsigned long v)
{
	b[0] = '\\';
	b[1] = 'u';
	b[2] = hexdig[(v >> 12) & 15];
	b[3] = hexdig[(v >> 8) & 15];
	b[4] = hexdig[(v >> 4) & 15];
	b[5] = hexdig[v & 15];
}

/* A string literal: ensure_ascii escapes everything above 0x7e, compact keeps UTF-8. */
static int
emit_string(emitter *em, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;
	unsigned char hi = em->ascii ? 0x7f : 0xff;
	dbuf	   *out = em->out;

	if (dbuf_reserve(out, len + 2) != 0 || dbuf_putc(out, '"') != 0)
		return -1;
	while (p < end)
	{
		const unsigned char *run = p;
		unsigned char c;
		char		esc[12];
		size_t		elen = 2;
		unsigned long cp;
		int			n;

		/* characters that go out unchanged */
		while (p < end && *p >= 0x20 && *p < hi && *p != '"' && *p != '\\')
			p++;
		if (p > run && dbuf_append(out, (const char *) run, p - run) != 0)
			return -1;
		if (p >= end)
			break;
		c = *p;
		if (c < 0x80 || !em->ascii)
		{
			esc[0] = '\\';
			switch (c)
			{
				case '"':
					esc[1] = '"';
					break;
				case '\\':
					esc[1] = '\\';
					break;
				case '\n':
					esc[1] = 'n';
					break;
				case '\r':
					esc[1] = 'r';
					break;
				case '\t':
					esc[1] = 't';
					break;
				case '\b':
					esc[1] = 'b';
					break;
				case '\f':
					esc[1] = 'f';
					break;
				default:
					hex4(esc, c);
					elen = 6;
			}
			if (dbuf_append(out, esc, elen) != 0)
				return -1;
			p++;
			continue;
		}
		/* strings come from the parser, so UTF-8 is valid; still be safe */
		n = utf8_seq_len(p, end);
		if (n <= 0)
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
			hex4(esc, 0xD800 + (cp >> 10));
			hex4(esc + 6, 0xDC00 + (cp & 0x3FF));
			elen = 12;
		}
		else
		{
			hex4(esc, cp);
			elen = 6;
		}
		if (dbuf_append(out, esc, elen) != 0)
			return -1;
	}
	return dbuf_putc(out, '"');
}

/* Keys by code point (the byte order of UTF-8); keys are unique here. */
static int
cmp_ent(const void *a, const void *b)
{
	const sort_ent *x = a;
	const sort_ent *y = b;
	size_t		l = x->klen < y->klen ? x->klen : y->klen;
	int			c = memcmp(x->key, y->key, l);

	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : (x->klen > y->klen);
}

static void
sort_ents(sort_ent *e, size_t n)
{
	if (n > 12)
	{
		qsort(e, n, sizeof(sort_ent), cmp_ent);
		return;
	}
	/* insertion sort: objects are mostly small */
	for (size_t i = 1; i < n; i++)
	{
		sort_ent	t = e[i];
		size_t		j = i;

		while (j > 0 && cmp_ent(&e[j - 1], &t) > 0)
		{
			e[j] = e[j - 1];
			j--;
		}
		e[j] = t;
	}
}

static int	emit_node(emitter *em, const cj_node *n, size_t top);

/*
 * An object: members sorted, a duplicate key's last value only.  Its member
 * list sits at ents[top..]; nested objects stack theirs above it.
 */
static int
emit_object(emitter *em, const cj_node *n, size_t top)
{
	const cj_node *m = nptr(n);
	uint32_t	len = nlen(n);
	size_t		k = 0;
	size_t		i;

	if (top + len > em->cap)
	{
		size_t		cap = em->cap ? em->cap : 64;
		sort_ent   *e;

		while (cap < top + len)
			cap *= 2;
		e = realloc(em->ents, cap * sizeof(sort_ent));
		if (e == NULL)
			return -1;
		em->ents = e;
		em->cap = cap;
	}
	for (i = 0; i < len; i++)
	{
		const cj_node *key = &m[2 * i];

		if (key->meta & F_SHADOWED)
			continue;
		em->ents[top + k].key = nptr(key);
		em->ents[top + k].klen = nlen(key);
		em->ents[top + k].idx = (uint32_t) i;
		k++;
	}
	sort_ents(em->ents + top, k);
	if (dbuf_putc(em->out, '{') != 0)
		return -1;
	for (i = 0; i < k; i++)
	{
		/* re-read: a nested object may have moved the stack */
		sort_ent	e = em->ents[top + i];

		if ((i > 0 && dbuf_putc(em->out, ',') != 0) ||
			emit_string(em, e.key, e.klen) != 0 ||
			dbuf_putc(em->out, ':') != 0 ||
			emit_node(em, &m[2 * e.idx + 1], top + k) != 0)
			return -1;
	}
	return dbuf_putc(em->out, '}');
}

static int
emit_node(emitter *em, const cj_node *n, size_t top)
{
	uint32_t	i;

	if (n == NULL)
		return dbuf_append(em->out, "null", 4);
	switch (ntype(n))
	{
		case CJ_NULL:
			return dbuf_append(em->out, "null", 4);
		case CJ_TRUE:
			return dbuf_append(em->out, "true", 4);
		case CJ_FALSE:
			return dbuf_append(em->out, "false", 5);
		case CJ_NUMBER:
			return dbuf_append(em->out, nptr(n), nlen(n));
		case CJ_STRING:
			return emit_string(em, nptr(n), nlen(n));
		case CJ_ARRAY:
			if (dbuf_putc(em->out, '[') != 0)
				return -1;
			for (i = 0; i < nlen(n); i++)
			{
				if ((i > 0 && dbuf_putc(em->out, ',') != 0) ||
					emit_node(em, (const cj_node *) nptr(n) + i, top) != 0)
					return -1;
			}
			return dbuf_putc(em->out, ']');
		case CJ_OBJECT:
			if (nlen(n) == 0)
				return dbuf_append(em->out, "{}", 2);
			return emit_object(em, n, top);
	}
	return -1;
}

/* Leave out as it was before a failed emission. */
static int
emit_done(emitter *em, size_t start, int rc)
{
	free(em->ents);
	if (rc != 0)
	{
		em->out->len = start;
		if (em->out->data)
			em->out->data[start] = '\0';
		return -1;
	}
	return 0;
}

static int
emit_top(const cj_node *n, int ascii, dbuf *out)
{
	emitter		em = {out, ascii, NULL, 0};
	size_t		start = out->len;

	return emit_done(&em, start, emit_node(&em, n, 0));
}

int
cj_canonical(const cj_node *n, dbuf *out)
{
	return emit_top(n, 1, out);
}

int
cj_compact(const cj_node *n, dbuf *out)
{
	return emit_top(n, 0, out);
}

/* A header member for normalization: a node, or a default's literal text. */
typedef struct hdr_ent
{
	sort_ent	k;
	const cj_node *val;
	const char *lit;
} hdr_ent;

static int
cmp_hdr_ent(const void *a, const void *b)
{
	return cmp_ent(&((const hdr_ent *) a)->k, &((const hdr_ent *) b)->k);
}

/* OpenSPP's re-serialized header: nulls dropped, its model's defaults added. */
static int
emit_normalized_header(emitter *em, const cj_node *h)
{
	/* defaults of OpenSPP's header models (spp_dci/schemas/envelope.py) */
	static const struct
	{
		const char *key;
		const char *lit;
		int			callback_only;
	}			defaults[] =
	{
		{"version", "\"1.0.0\"", 0},
		{"total_count", "0", 0},
		{"is_msg_encrypted", "false", 0},
		{"completed_count", "0", 1},
	};
	const int	ndef = sizeof(defaults) / sizeof(defaults[0]);
	hdr_ent    *ents;
	size_t		n = 0;
	size_t		i;
	int			is_callback;
	int			first = 1;
	int			rc = 0;

	/* only an object has members to drop or defaults to gain */
	if (h == NULL || ntype(h) != CJ_OBJECT)
		return emit_node(em, h, 0);
	ents = malloc((nlen(h) + ndef) * sizeof(hdr_ent));
	if (ents == NULL)
		return -1;
	for (i = 0; i < nlen(h); i++)
	{
		size_t		kl;

		if (cj_object_shadowed(h, i))
			continue;
		ents[n].k.key = cj_object_key(h, i, &kl);
		ents[n].k.klen = (uint32_t) kl;
		ents[n].val = cj_object_value(h, i);
		ents[n].lit = NULL;
		n++;
	}
	/* a header with a status is a DCICallbackHeader, which adds completed_count */
	is_callback = cj_get(h, "status") != NULL;
	for (i = 0; i < (size_t) ndef; i++)
	{
		if ((defaults[i].callback_only && !is_callback) || cj_get(h, defaults[i].key) != NULL)
			continue;
		ents[n].k.key = defaults[i].key;
		ents[n].k.klen = (uint32_t) strlen(defaults[i].key);
		ents[n].val = NULL;
		ents[n].lit = defaults[i].lit;
		n++;
	}
	qsort(ents, n, sizeof(hdr_ent), cmp_hdr_ent);
	rc = dbuf_putc(em->out, '{');
	for (i = 0; i < n && rc == 0; i++)
	{
		if (ents[i].lit == NULL && ntype(ents[i].val) == CJ_NULL)
			continue;
		if (!first)
			rc |= dbuf_putc(em->out, ',');
		first = 0;
		rc |= emit_string(em, ents[i].k.key, ents[i].k.klen);
		rc |= dbuf_putc(em->out, ':');
		if (rc == 0)
			rc = ents[i].lit ? dbuf_puts(em->out, ents[i].lit) : emit_node(em, ents[i].val, 0);
	}
	if (rc == 0)
		rc = dbuf_putc(em->out, '}');
	free(ents);
	return rc ? -1 : 0;
}

int
cj_canonical_envelope(const cj_node *header, const cj_node *message,
					  int normalize_header, dbuf *out)
{
	emitter		em = {out, 1, NULL, 0};
	size_t		start = out->len;
	int			rc;

	/* "header" < "message": already in sorted order */
	rc = dbuf_puts(out, "{\"header\":");
	if (rc == 0)
		rc = normalize_header ? emit_normalized_header(&em, header) : emit_node(&em, header, 0);
	if (rc == 0)
		rc = dbuf_puts(out, ",\"message\":");
	if (rc == 0)
		rc = emit_node(&em, message, 0);
	if (rc == 0)
		rc = dbuf_putc(out, '}');
	return emit_done(&em, start, rc);
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
