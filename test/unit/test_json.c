/*
 * test_json.c - unit tests of the tree side of src/canonjson.c: result codes,
 * limits and memory, numbers as handed out, UTF-8, U+0000, accessors and the
 * compact emitter.  (Canonical text against the vectors: test_protocol.c.)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "unit.h"

/* Result code of parsing text under lim (NULL: defaults). */
static cj_result
parse_rc(const char *text, size_t len, const cj_limits *lim)
{
	cj_result	r = CJ_OK;
	char		err[256];
	cj_node    *n = cj_parse_ex(text, len, lim, &r, err, sizeof(err));

	if (n != NULL)
		CHECK(r == CJ_OK, "a tree comes with CJ_OK");
	else
		CHECK(r != CJ_OK && err[0] != '\0', "a refusal says why: %.40s", text);
	cj_free(n);
	return r;
}

#define RC(lit, want) \
	do { \
		cj_result	r_ = parse_rc((lit), sizeof(lit) - 1, NULL); \
		CHECK(r_ == (want), "%s: %s, want %s", #lit, cj_result_name(r_), cj_result_name(want)); \
	} while (0)

void
test_json_result_codes(void)
{
	RC("{\"a\":[1,2,{\"b\":null}]}", CJ_OK);
	RC(" 7 ", CJ_OK);
	/* syntax */
	RC("{a:1}", CJ_ERR_SYNTAX);
	RC("[1,]", CJ_ERR_SYNTAX);
	RC("[01]", CJ_ERR_SYNTAX);
	RC("[1 2]", CJ_ERR_SYNTAX);
	RC("[1]x", CJ_ERR_SYNTAX);
	RC("<html>", CJ_ERR_SYNTAX);
	RC("tRue", CJ_ERR_SYNTAX);
	RC("\"\\x\"", CJ_ERR_SYNTAX);
	RC("\"\\u12G4\"", CJ_ERR_SYNTAX);
	RC("\xef\xbb\xbf{}", CJ_ERR_SYNTAX);
	RC("[\"\t\"]", CJ_ERR_SYNTAX);
	/* truncated: the text ends inside a value */
	RC("", CJ_ERR_TRUNCATED);
	RC("  \n", CJ_ERR_TRUNCATED);
	RC("{", CJ_ERR_TRUNCATED);
	RC("{\"a\"", CJ_ERR_TRUNCATED);
	RC("{\"a\":", CJ_ERR_TRUNCATED);
	RC("{\"a\":1", CJ_ERR_TRUNCATED);
	RC("{\"a\":1,", CJ_ERR_TRUNCATED);
	RC("[\"abc", CJ_ERR_TRUNCATED);
	RC("[\"a\\", CJ_ERR_TRUNCATED);
	RC("[\"\\u00", CJ_ERR_TRUNCATED);
	RC("[\"\\ud83d", CJ_ERR_TRUNCATED);
	RC("[\"\\ud83d\\u", CJ_ERR_TRUNCATED);
	RC("[\"\xe2\x82", CJ_ERR_TRUNCATED);
	RC("[-", CJ_ERR_TRUNCATED);
	RC("[1.", CJ_ERR_TRUNCATED);
	RC("[1e", CJ_ERR_TRUNCATED);
	RC("[1e+", CJ_ERR_TRUNCATED);
	RC("[tr", CJ_ERR_TRUNCATED);
	RC("nul", CJ_ERR_TRUNCATED);
	/* not UTF-8 */
	RC("\"\xff\"", CJ_ERR_UTF8);
	RC("\"\\udc00\"", CJ_ERR_UTF8);
	RC("\"\\ud800x\"", CJ_ERR_UTF8);
	RC("[\xff]", CJ_ERR_UTF8);
	/* numbers without a canonical form */
	RC("[1e400]", CJ_ERR_NUMBER);
	RC("-1.5e309", CJ_ERR_NUMBER);
	/* budget */
	{
		cj_limits	lim = {3, 0};
		cj_limits	deep = {0, 2};

		CHECK(parse_rc("[1,2]", 5, &lim) == CJ_OK, "3 nodes fit a budget of 3");
		CHECK(parse_rc("[1,2,3]", 7, &lim) == CJ_ERR_BUDGET, "4 nodes do not");
		CHECK(parse_rc("{\"a\":1,\"b\":2}", 13, &lim) == CJ_ERR_BUDGET, "keys count as nodes");
		CHECK(parse_rc("[[1]]", 5, &deep) == CJ_OK, "depth 2 fits");
		CHECK(parse_rc("[[[1]]]", 7, &deep) == CJ_ERR_BUDGET, "depth 3 does not");
	}
	CHECK(strcmp(cj_result_name(CJ_ERR_UTF8), "invalid UTF-8") == 0 &&
		  strcmp(cj_result_name(CJ_ERR_TRUNCATED), "truncated") == 0, "result names");
}

/* Peak resident set of the process, in kB (Linux). */
static long
rss_kb(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

/* A text of n empty arrays in one array: "[[],[],...]". */
static char *
empty_arrays(size_t n, size_t *len)
{
	char	   *s = malloc(3 * n + 2);
	size_t		k = 0;

	s[k++] = '[';
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			s[k++] = ',';
		s[k++] = '[';
		s[k++] = ']';
	}
	s[k++] = ']';
	*len = k;
	return s;
}

void
test_json_budget(void)
{
	size_t		len;
	char	   *text = empty_arrays(350000, &len);	/* 1 MB */
	cj_limits	small = {10000, 0};
	cj_limits	big = {1000000, 0};
	cj_result	r;
	char		err[256];
	cj_node    *n;
	long		before,
				after;

	n = cj_parse_ex(text, len, &small, &r, err, sizeof(err));
	CHECK(n == NULL && r == CJ_ERR_BUDGET && strstr(err, "more than 10000 values"), "1 MB of [] under 10000 nodes: %s", err);
	before = rss_kb();
	n = cj_parse_ex(text, len, &big, &r, err, sizeof(err));
	after = rss_kb();
	CHECK(n != NULL && cj_array_len(n) == 350000, "accepted under a budget of 1000000: %s", err);
	/* 8 bytes a node: the tree is under three times the text */
	CHECK(cj_memory(n) < 3 * len, "tree of %zu bytes for %zu bytes of text", cj_memory(n), len);
	CHECK(before < 0 || after - before < (long) (4 * len / 1024), "RSS grew %ld kB for a %zu kB text",
		  after - before, len / 1024);
	cj_free(n);
	free(text);

	/* nested: refused at the depth limit, without reading further */
	{
		size_t		d = 1 << 20;
		char	   *deep = malloc(2 * d);

		memset(deep, '[', d);
		memset(deep + d, ']', d);
		n = cj_parse_ex(deep, 2 * d, NULL, &r, err, sizeof(err));
		CHECK(n == NULL && r == CJ_ERR_BUDGET && strstr(err, "nesting deeper than 256") &&
			  strstr(err, "offset 256"), "a million levels: %s", err);
		{
			cj_limits	lim = {0, 5000};

			n = cj_parse_ex(deep + d - 1000, 2000, &lim, &r, err, sizeof(err));
			CHECK(n != NULL, "1000 levels under a depth limit raised to the maximum: %s", err);
			cj_free(n);
			n = cj_parse_ex(deep + d - 1001, 2002, &lim, &r, err, sizeof(err));
			CHECK(n == NULL && r == CJ_ERR_BUDGET, "1001 levels: the limit is at most CJ_MAX_DEPTH");
		}
		free(deep);
	}
}

/* The canonical number text of the only value of text, or "ERR". */
static char *
num_of(const char *text)
{
	char		err[256];
	cj_node    *n = cj_parse(text, strlen(text), err, sizeof(err));
	char	   *s;

	if (n == NULL)
		return strdup("ERR");
	s = strdup(cj_number(n, NULL) ? cj_number(n, NULL) : "NOT A NUMBER");
	cj_free(n);
	return s;
}

#define NUM_IS(text, want) \
	do { \
		char	   *got_ = num_of(text); \
		CHECK(strcmp(got_, (want)) == 0, "number %s reads %s, want %s", (text), got_, (want)); \
		free(got_); \
	} while (0)

void
test_json_numbers(void)
{
	char		err[256];
	cj_node    *a;
	cj_node    *b;
	dbuf		x,
				y;

	/* what is handed out is what was signed */
	NUM_IS("1.0", "1.0");
	NUM_IS("0.99999999999999999999", "1.0");
	NUM_IS("0.0", "0.0");
	NUM_IS("1e-400", "0.0");
	NUM_IS("-1e-400", "-0.0");
	NUM_IS("-0", "0");
	NUM_IS("-0.0", "-0.0");
	NUM_IS("100e-2", "1.0");
	NUM_IS("2.50", "2.5");
	NUM_IS("1E2", "100.0");
	NUM_IS("1e16", "1e+16");
	NUM_IS("0.00001", "1e-05");
	NUM_IS("42", "42");
	NUM_IS("-17", "-17");
	NUM_IS("18446744073709551617", "18446744073709551617");
	NUM_IS("-99999999999999999999999999999999999999", "-99999999999999999999999999999999999999");
	NUM_IS("1e400", "ERR");
	NUM_IS("\"1\"", "NOT A NUMBER");

	/* 1.0 and 0.99999999999999999999 share a signature and a value */
	a = cj_parse("{\"v\":1.0}", 9, err, sizeof(err));
	b = cj_parse("{\"v\":0.99999999999999999999}", 28, err, sizeof(err));
	dbuf_init(&x);
	dbuf_init(&y);
	CHECK(a && b && cj_canonical(a, &x) == 0 && cj_canonical(b, &y) == 0 && strcmp(x.data, y.data) == 0,
		  "same canonical text: %s / %s", x.data, y.data);
	dbuf_reset(&x);
	dbuf_reset(&y);
	CHECK(cj_compact(a, &x) == 0 && cj_compact(b, &y) == 0 && strcmp(x.data, y.data) == 0 &&
		  strcmp(x.data, "{\"v\":1.0}") == 0, "same compact text: %s / %s", x.data, y.data);
	CHECK(strcmp(cj_number(cj_get(a, "v"), NULL), cj_number(cj_get(b, "v"), NULL)) == 0, "same handed-out value");
	CHECK(!cj_is_integer(cj_get(a, "v")), "1.0 is not written as an integer");
	cj_free(a);
	cj_free(b);
	dbuf_free(&x);
	dbuf_free(&y);

	/* integers: verbatim, flagged, any length up to Python's 4300 digits */
	a = cj_parse("[18446744073709551617,-0,7]", 27, err, sizeof(err));
	{
		size_t		l;

		CHECK(a && cj_is_integer(cj_array_get(a, 0)) && strcmp(cj_number(cj_array_get(a, 0), &l), "18446744073709551617") == 0 &&
			  l == 20, "2^64+1 verbatim");
		CHECK(strcmp(cj_number(cj_array_get(a, 1), &l), "0") == 0 && l == 1 && cj_is_integer(cj_array_get(a, 1)), "-0 is 0");
		CHECK(cj_number(cj_array_get(a, 5), &l) == NULL && l == 0 && cj_number(NULL, NULL) == NULL, "no number");
	}
	cj_free(a);
}

/* Deterministic pseudo-random numbers. */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Canonical text c of a literal must read back as the same double, and no
 * string of fewer significant digits may (shortest round trip, checked
 * independently of how the parser found it).
 */
static int
check_shortest(const char *lit)
{
	char		err[256];
	char		text[128];
	cj_node    *n;
	const char *c;
	double		x;
	char		digits[32];
	int			nd = 0;
	int			ok = 1;

	n = cj_parse(lit, strlen(lit), err, sizeof(err));
	if (n == NULL)
		return strstr(err, "beyond the range") != NULL;
	c = cj_number(n, NULL);
	x = strtod(lit, NULL);
	if (strtod(c, NULL) != x || signbit(strtod(c, NULL)) != signbit(x))
		ok = 0;
	/* the significant digits of c */
	for (const char *p = c; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && (nd > 0 || *p != '0'))
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (ok && nd > 1 && x != 0)
	{
		/* every (nd-1)-digit decimal near x must miss it */
		for (int prec = nd - 1; prec >= nd - 1 && ok; prec--)
		{
			double		lo,
						hi;

			snprintf(text, sizeof(text), "%.*e", prec - 1, x);
			lo = strtod(text, NULL);
			/* the neighbour one unit away, on the other side of x */
			{
				char	   *e = strchr(text, 'e');
				double		unit = pow(10, atoi(e + 1) - (prec - 1));

				hi = strtod(text, NULL) + (strtod(text, NULL) < x ? unit : -unit);
				snprintf(text, sizeof(text), "%.*e", prec - 1, hi);
				hi = strtod(text, NULL);
			}
			if (lo == x || hi == x)
				ok = 0;
		}
	}
	if (!ok)
		printf("not the shortest round trip: %s -> %s\n", lit, c);
	cj_free(n);
	return ok;
}

void
test_json_float_shortest(void)
{
	int			bad = 0;
	char		lit[128];

	for (int i = 0; i < 20000; i++)
	{
		uint64_t	r = next_rand();
		int			kind = (int) (r % 4);

		if (kind == 0)
		{
			/* a short decimal: the fast path */
			snprintf(lit, sizeof(lit), "%s%llu.%llue%d", r & 16 ? "-" : "", (unsigned long long) (next_rand() % 100000),
					 (unsigned long long) (next_rand() % 10000000000ULL), (int) (next_rand() % 600) - 300);
		}
		else if (kind == 1)
		{
			/* any double, 17 digits: the slow path */
			double		d;
			uint64_t	bits = next_rand();

			memcpy(&d, &bits, sizeof(d));
			if (isnan(d) || isinf(d))
				continue;
			snprintf(lit, sizeof(lit), "%.17e", d);
		}
		else if (kind == 2)
		{
			/* near the edges of the fast path's range */
			snprintf(lit, sizeof(lit), "%llu.%llue%d", (unsigned long long) (next_rand() % 10),
					 (unsigned long long) (next_rand() % 100000000000000ULL), (int) (next_rand() % 6) + (r & 32 ? 304 : -310));
		}
		else
		{
			/* 15 and 16 significant digits */
			snprintf(lit, sizeof(lit), "0.%015llu%s", (unsigned long long) (next_rand() % 1000000000000000ULL),
					 r & 64 ? "7" : "");
		}
		if (!check_shortest(lit))
			bad++;
	}
	CHECK(bad == 0, "%d literals without their shortest round trip", bad);
}

void
test_json_utf8(void)
{
	static const char *const bad[] = {
		"\"\xc0\x80\"", "\"\xc1\xbf\"",	/* overlong 2 */
		"\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"", /* overlong 3 */
		"\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"",	/* overlong 4 */
		"\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", /* surrogates */
		"\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xfe\"", "\"\xff\"",	/* > U+10FFFF */
		"\"\x80\"", "\"a\xbf\"",	/* lone continuation */
		"\"\xc3\x28\"", "\"\xe2\x28\xa1\"", "\"\xf0\x90\x28\xbc\"",	/* broken sequence */
		"\"\\ud800\"", "\"\\udfff\"", "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"",	/* escaped surrogates */
		"{\"\xff\":1}",			/* in a key */
		"[1,\xc3\xa9]",			/* valid UTF-8, but outside a string: syntax */
	};
	static const struct
	{
		const char *text;
		const char *canon;
	}			good[] = {
		{"\"\xc2\x80\"", "\"\\u0080\""},
		{"\"\xdf\xbf\"", "\"\\u07ff\""},
		{"\"\xe0\xa0\x80\"", "\"\\u0800\""},
		{"\"\xed\x9f\xbf\"", "\"\\ud7ff\""},
		{"\"\xee\x80\x80\"", "\"\\ue000\""},
		{"\"\xef\xbf\xbf\"", "\"\\uffff\""},
		{"\"\xf0\x90\x80\x80\"", "\"\\ud800\\udc00\""},
		{"\"\xf4\x8f\xbf\xbf\"", "\"\\udbff\\udfff\""},
		{"\"\\udbff\\udfff\"", "\"\\udbff\\udfff\""},
	};
	char		err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		cj_result	r = parse_rc(bad[i], strlen(bad[i]), NULL);

		CHECK(r == (i + 1 == sizeof(bad) / sizeof(bad[0]) ? CJ_ERR_SYNTAX : CJ_ERR_UTF8),
			  "bad UTF-8 %zu refused as %s", i, cj_result_name(r));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		dbuf		out;

		dbuf_init(&out);
		CHECK(cj_canonicalize(good[i].text, strlen(good[i].text), &out, err, sizeof(err)) == 0 &&
			  strcmp(out.data, good[i].canon) == 0, "good UTF-8 %zu: %s", i, out.data ? out.data : err);
		dbuf_free(&out);
	}
	/* one bad byte anywhere refuses the whole body */
	{
		const char *t = "{\"header\":{\"status\":\"succ\"},\"message\":{\"x\":[\"ok\",\"caf\xe9\"]}}";

		CHECK(parse_rc(t, strlen(t), NULL) == CJ_ERR_UTF8, "Latin-1 deep inside");
	}
}

void
test_json_nul(void)
{
	const char *t = "{\"a\":{\"s\":\"x\\u0000y\"},\"b\":[\"plain\",1],\"k\\u0000\":2,\"c\":\"\\u0000\"}";
	char		err[256];
	cj_node    *n = cj_parse(t, strlen(t), err, sizeof(err));
	const cj_node *s;
	size_t		len;
	dbuf		out;

	CHECK(n != NULL, "NUL strings are valid JSON: %s", err);
	s = cj_get(cj_get(n, "a"), "s");
	CHECK(cj_str(s, &len) != NULL && len == 3 && memcmp(cj_str(s, NULL), "x\0y", 3) == 0,
		  "the string keeps its NUL and what follows it");
	CHECK(strlen(cj_string(s)) == 1, "cj_string stops at it: check cj_has_nul");
	CHECK(cj_has_nul(s) && cj_has_nul(cj_get(n, "a")) && cj_has_nul(n), "the flag rises to the root");
	CHECK(!cj_has_nul(cj_get(n, "b")) && !cj_has_nul(cj_array_get(cj_get(n, "b"), 0)), "siblings are clean");
	CHECK(cj_has_nul(cj_get(n, "c")) && cj_str(cj_get(n, "c"), &len) && len == 1, "a lone NUL");
	CHECK(!cj_has_nul(cj_get(n, "k")) && cj_get(n, "k") == NULL, "a key with a NUL is not the key before it");
	CHECK(!cj_has_nul(NULL), "NULL has none");
	dbuf_init(&out);
	CHECK(cj_compact(n, &out) == 0 &&
		  strcmp(out.data, "{\"a\":{\"s\":\"x\\u0000y\"},\"b\":[\"plain\",1],\"c\":\"\\u0000\",\"k\\u0000\":2}") == 0,
		  "compact text escapes it: %s", out.data);
	dbuf_free(&out);
	cj_free(n);
	/* what a later duplicate hides does not count */
	{
		const char *dup = "[{\"k\":\"\\u0000\",\"k\":1},{\"k\":1,\"k\":\"\\u0000\"}]";

		n = cj_parse(dup, strlen(dup), err, sizeof(err));
	}
	CHECK(n && !cj_has_nul(cj_array_get(n, 0)) && cj_has_nul(cj_array_get(n, 1)) && cj_has_nul(n),
		  "shadowed NUL: %s", err);
	cj_free(n);
	/* a key with a NUL flags its object */
	n = cj_parse("[{\"\\u0000\":1},{}]", 17, err, sizeof(err));
	CHECK(n && cj_has_nul(n) && cj_has_nul(cj_array_get(n, 0)) && !cj_has_nul(cj_array_get(n, 1)), "NUL in a key");
	cj_free(n);
}

void
test_json_tree(void)
{
	const char *t = "{\"s\":\"caf\\u00e9\",\"n\":-12.50,\"t\":true,\"f\":false,\"z\":null,"
		"\"a\":[1,\"x\",[],{}],\"o\":{\"k\":\"first\",\"k\":\"last\"},\"s\":\"again\"}";
	char		err[256];
	cj_node    *n = cj_parse(t, strlen(t), err, sizeof(err));
	const cj_node *a;
	const cj_node *o;
	size_t		len;

	CHECK(n && cj_typeof(n) == CJ_OBJECT && cj_object_len(n) == 8, "object of 8 members as sent");
	CHECK(strcmp(cj_string(cj_get(n, "s")), "again") == 0, "last duplicate wins");
	CHECK(cj_object_shadowed(n, 0) && !cj_object_shadowed(n, 7) && !cj_object_shadowed(n, 1), "shadowed member 0");
	CHECK(strcmp(cj_object_key(n, 0, &len), "s") == 0 && len == 1 &&
		  strcmp(cj_string(cj_object_value(n, 0)), "caf\xc3\xa9") == 0, "member 0 as sent, decoded");
	CHECK(strcmp(cj_number(cj_get(n, "n"), NULL), "-12.5") == 0, "number canonical");
	CHECK(cj_typeof(cj_get(n, "t")) == CJ_TRUE && cj_typeof(cj_get(n, "f")) == CJ_FALSE &&
		  cj_typeof(cj_get(n, "z")) == CJ_NULL && cj_get(n, "z") != NULL, "literals; null is present");
	a = cj_get(n, "a");
	CHECK(cj_array_len(a) == 4 && cj_typeof(cj_array_get(a, 2)) == CJ_ARRAY && cj_array_len(cj_array_get(a, 2)) == 0 &&
		  cj_typeof(cj_array_get(a, 3)) == CJ_OBJECT && cj_object_len(cj_array_get(a, 3)) == 0, "array items");
	CHECK(cj_array_get(a, 4) == NULL && cj_array_get(n, 0) == NULL && cj_array_len(n) == 0, "out of range, wrong type");
	o = cj_get(n, "o");
	CHECK(strcmp(cj_string(cj_get(o, "k")), "last") == 0 && cj_object_shadowed(o, 0), "small object duplicates");
	CHECK(cj_object_key(o, 2, &len) == NULL && len == 0 && cj_object_value(o, 2) == NULL &&
		  cj_object_value(a, 0) == NULL && !cj_object_shadowed(a, 0), "object accessors out of range");
	CHECK(cj_get(n, "absent") == NULL && cj_get(NULL, "s") == NULL && cj_get(n, NULL) == NULL &&
		  cj_string(cj_get(n, "n")) == NULL && cj_str(NULL, &len) == NULL && len == 0, "absent and wrong types");
	CHECK(cj_memory(n) > 0 && cj_memory(a) == 0 && cj_memory(NULL) == 0, "only a root owns memory");
	cj_free((cj_node *) a);		/* not a root: ignored */
	CHECK(cj_array_len(a) == 4, "still there");
	cj_free(n);

	/* a large object: duplicates found by sorting */
	{
		dbuf		b,
					out;
		cj_node    *big;

		dbuf_init(&b);
		dbuf_init(&out);
		dbuf_putc(&b, '{');
		for (int i = 0; i < 100; i++)
			dbuf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i % 40, i);
		dbuf_putc(&b, '}');
		big = cj_parse(b.data, b.len, err, sizeof(err));
		CHECK(big && cj_object_len(big) == 100, "100 members");
		{
			int			shadowed = 0;

			for (size_t i = 0; i < 100; i++)
				shadowed += cj_object_shadowed(big, i);
			CHECK(shadowed == 60, "60 of 100 shadowed, got %d", shadowed);
		}
		CHECK(strcmp(cj_number(cj_get(big, "k5"), NULL), "85") == 0, "last of three");
		CHECK(cj_canonical(big, &out) == 0 && strncmp(out.data, "{\"k0\":80,\"k1\":81,\"k10\":90,", 26) == 0,
			  "canonical dedupes: %.40s", out.data);
		dbuf_free(&b);
		dbuf_free(&out);
		cj_free(big);
	}
}

void
test_json_compact(void)
{
	const char *t = "{ \"z\" : [ 1.50 , \"\xc3\xa9\\u00e9\\ud83d\\ude00\\n\\u007f\x7f/\" ] , \"a\" : { } , \"a\" : null }";
	char		err[256];
	cj_node    *n = cj_parse(t, strlen(t), err, sizeof(err));
	dbuf		out;
	cj_node    *again;

	dbuf_init(&out);
	CHECK(n && cj_compact(n, &out) == 0, "compact: %s", err);
	CHECK(strcmp(out.data, "{\"a\":null,\"z\":[1.5,\"\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80\\n\x7f\x7f/\"]}") == 0,
		  "UTF-8 kept, canonical otherwise: %s", out.data);
	/* it parses back to the same canonical text */
	again = cj_parse(out.data, out.len, err, sizeof(err));
	{
		dbuf		c1,
					c2;

		dbuf_init(&c1);
		dbuf_init(&c2);
		CHECK(again && cj_canonical(n, &c1) == 0 && cj_canonical(again, &c2) == 0 && strcmp(c1.data, c2.data) == 0,
			  "round trip: %s", c2.data);
		dbuf_free(&c1);
		dbuf_free(&c2);
	}
	/* appends; a subtree alone */
	dbuf_reset(&out);
	dbuf_puts(&out, "X");
	CHECK(cj_compact(cj_get(n, "z"), &out) == 0 && strncmp(out.data, "X[1.5,", 6) == 0, "subtree, appended");
	dbuf_reset(&out);
	CHECK(cj_compact(NULL, &out) == 0 && strcmp(out.data, "null") == 0, "NULL is null");
	dbuf_free(&out);
	cj_free(again);
	cj_free(n);
}
