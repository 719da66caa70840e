/*
 * fuzz_canonjson.c - fuzz target of the JSON parser and its emitters.
 *
 * For every input: a refusal comes with a result code and a message; a
 * smaller budget only ever refuses more, and then for the budget.  For every
 * input that parses: the tree costs a bounded multiple of the text; the
 * canonical text is printable ASCII and a fixed point (a number with no
 * canonical form, such as 1e400, is refused by the parser); the compact text
 * parses back to the same canonical text; every container's NUL flag is the
 * OR of what is below it; cj_get finds each member that is not shadowed; and
 * the envelope emitter copes with the tree as header and message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "fuzz.h"

#define FAIL(what, a, b) fuzz_fail("canonjson", (what), (a), (b))

/* Walk the tree: types, lengths, NUL flags, lookups.  Returns the NUL flag it computed. */
static int
walk(const cj_node *n, int depth)
{
	int			nul = 0;
	size_t		len;
	const char *s;

	switch (cj_typeof(n))
	{
		case CJ_STRING:
			s = cj_str(n, &len);
			if (s == NULL || s[len] != '\0')
				FAIL("string without its NUL terminator", NULL, NULL);
			nul = memchr(s, '\0', len) != NULL;
			break;
		case CJ_NUMBER:
			s = cj_number(n, &len);
			if (s == NULL || len == 0 || strlen(s) != len)
				FAIL("number without text", NULL, NULL);
			if (cj_is_integer(n) != (strpbrk(s, ".e") == NULL))
				FAIL("integer flag differs from the text", NULL, NULL);
			break;
		case CJ_ARRAY:
			for (size_t i = 0; i < cj_array_len(n); i++)
				nul |= walk(cj_array_get(n, i), depth + 1);
			if (cj_array_get(n, cj_array_len(n)) != NULL)
				FAIL("array item past the end", NULL, NULL);
			break;
		case CJ_OBJECT:
			for (size_t i = 0; i < cj_object_len(n); i++)
			{
				const char *k = cj_object_key(n, i, &len);
				int			v = walk(cj_object_value(n, i), depth + 1);

				/* a shadowed member is no data */
				if (!cj_object_shadowed(n, i))
					nul |= v | (memchr(k, '\0', len) != NULL);
				if (!cj_object_shadowed(n, i) && memchr(k, '\0', len) == NULL &&
					cj_get(n, k) != cj_object_value(n, i))
					FAIL("cj_get misses a member that is not shadowed", NULL, NULL);
				if (cj_object_shadowed(n, i) && cj_get(n, k) == cj_object_value(n, i) &&
					memchr(k, '\0', len) == NULL)
					FAIL("cj_get returns a shadowed member", NULL, NULL);
			}
			break;
		default:
			break;
	}
	if (nul != cj_has_nul(n))
		FAIL("NUL flag differs from the tree", NULL, NULL);
	return nul;
}

int
fuzz_canonjson(const uint8_t *data, size_t size)
{
	char		err[256];
	cj_result	r;
	cj_result	rs;
	cj_limits	small = {64, 8};
	cj_node    *n;
	cj_node    *ns;
	cj_node    *again;
	dbuf		first,
				second,
				compact,
				env;

	n = cj_parse_ex((const char *) data, size, NULL, &r, err, sizeof(err));
	ns = cj_parse_ex((const char *) data, size, &small, &rs, NULL, 0);
	if (n == NULL && (r == CJ_OK || err[0] == '\0'))
		FAIL("refused without a result or a message", NULL, NULL);
	if (n != NULL && ns == NULL && rs != CJ_ERR_BUDGET)
		FAIL("a smaller budget refused for another reason", NULL, NULL);
	if (n == NULL && ns != NULL)
		FAIL("a smaller budget accepted what the default refused", NULL, NULL);
	cj_free(ns);
	if (n == NULL)
		return 0;
	if (cj_memory(n) > 16 + 13 * (size + 1))
		FAIL("tree too large for its text", NULL, NULL);
	walk(n, 0);

	dbuf_init(&first);
	dbuf_init(&second);
	dbuf_init(&compact);
	dbuf_init(&env);
	if (cj_canonical(n, &first) != 0)
		FAIL("cj_canonical failed on a parsed tree", NULL, NULL);
	for (size_t i = 0; i < first.len; i++)
		if ((unsigned char) first.data[i] < 0x20 || (unsigned char) first.data[i] > 0x7e)
			FAIL("canonical text is not printable ASCII", &first, NULL);
	if (cj_canonicalize(first.data, first.len, &second, err, sizeof(err)) != 0)
		FAIL(err, &first, NULL);
	if (second.len != first.len || memcmp(first.data, second.data, first.len) != 0)
		FAIL("canonical text is not a fixed point", &first, &second);
	if (cj_compact(n, &compact) != 0 || (again = cj_parse(compact.data, compact.len, err, sizeof(err))) == NULL)
		FAIL("compact text does not parse", &compact, NULL);
	dbuf_reset(&second);
	if (cj_canonical(again, &second) != 0 || second.len != first.len ||
		memcmp(first.data, second.data, first.len) != 0)
		FAIL("compact text is not the same JSON", &first, &second);
	if (cj_has_nul(again) != cj_has_nul(n))
		FAIL("NUL flag lost in the compact text", NULL, NULL);
	cj_free(again);
	if (cj_canonical_envelope(n, n, 0, &env) != 0)
		FAIL("cj_canonical_envelope failed", NULL, NULL);
	dbuf_reset(&env);
	if (cj_canonical_envelope(n, NULL, 1, &env) != 0)
		FAIL("normalized cj_canonical_envelope failed", NULL, NULL);
	dbuf_free(&first);
	dbuf_free(&second);
	dbuf_free(&compact);
	dbuf_free(&env);
	cj_free(n);
	return 0;
}
