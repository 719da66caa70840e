/*
 * fuzz_canonjson.c - libFuzzer target for the canonical JSON module.
 *
 * For every input that parses: the canonical text must be pure ASCII (the
 * emitter escapes as ensure_ascii does), canonicalizing it again must give
 * the same bytes (idempotence: a number with no canonical form, such as
 * 1e400, is refused by the parser), and the envelope emitter must cope with the
 * tree as header and message, normalized or not.  Anything else abort()s.
 *
 * Built with -DFUZZ_STANDALONE it is an ordinary program that runs the
 * target over the files named on the command line (see README.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const dbuf *a, const dbuf *b)
{
	fprintf(stderr, "fuzz_canonjson: %s\n", what);
	if (a && a->data)
		fprintf(stderr, "first:  %.500s\n", a->data);
	if (b && b->data)
		fprintf(stderr, "second: %.500s\n", b->data);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		err[256];
	cj_node    *n;
	dbuf		first,
				second,
				env;
	size_t		i;

	n = cj_parse((const char *) data, size, err, sizeof(err));
	if (n == NULL)
	{
		/* a refusal always says why */
		if (err[0] == '\0')
			fail("parse failed without a message", NULL, NULL);
		return 0;
	}
	dbuf_init(&first);
	dbuf_init(&second);
	dbuf_init(&env);
	if (cj_canonical(n, &first) != 0)
		fail("cj_canonical failed on a parsed tree", NULL, NULL);
	for (i = 0; i < first.len; i++)
	{
		if ((unsigned char) first.data[i] < 0x20 || (unsigned char) first.data[i] > 0x7e)
			fail("canonical text is not printable ASCII", &first, NULL);
	}
	if (cj_canonicalize(first.data, first.len, &second, err, sizeof(err)) != 0)
		fail(err, &first, NULL);
	else if (second.len != first.len || memcmp(first.data, second.data, first.len) != 0)
		fail("canonical text is not a fixed point", &first, &second);
	if (cj_canonical_envelope(n, n, 0, &env) != 0)
		fail("cj_canonical_envelope failed", NULL, NULL);
	dbuf_reset(&env);
	if (cj_canonical_envelope(n, NULL, 1, &env) != 0)
		fail("normalized cj_canonical_envelope failed", NULL, NULL);
	dbuf_free(&first);
	dbuf_free(&second);
	dbuf_free(&env);
	cj_free(n);
	return 0;
}

#ifdef FUZZ_STANDALONE

/* Run the target over each file named on the command line. */
int
main(int argc, char **argv)
{
	int			i;
	int			count = 0;

	for (i = 1; i < argc; i++)
	{
		FILE	   *f = fopen(argv[i], "rb");
		uint8_t    *buf = NULL;
		size_t		len = 0;
		size_t		cap = 0;
		size_t		got;

		if (f == NULL)
		{
			fprintf(stderr, "fuzz_canonjson: cannot open %s\n", argv[i]);
			return 2;
		}
		do
		{
			if (cap - len < 4096)
			{
				uint8_t    *nb;

				cap = cap ? cap * 2 : 65536;
				nb = realloc(buf, cap);
				if (nb == NULL)
				{
					fprintf(stderr, "fuzz_canonjson: out of memory\n");
					return 2;
				}
				buf = nb;
			}
			got = fread(buf + len, 1, cap - len, f);
			len += got;
		} while (got > 0);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		count++;
	}
	printf("fuzz_canonjson: %d inputs ok\n", count);
	return 0;
}

#endif							/* FUZZ_STANDALONE */
