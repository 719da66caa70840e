/*
 * unit.h - a very small unit test harness for the protocol layer.
 *
 * A test is a void function that makes CHECKs:
 *
 *     void
 *     test_something(void)
 *     {
 *         CHECK(1 + 1 == 2, "arithmetic: got %d", 1 + 1);
 *     }
 *
 * and is listed, with UNIT_TEST(test_something), in the table that
 * test_protocol.c hands to unit_main().  Test functions in other files
 * (test_records.c) include this header too and are declared in, and listed
 * by, test_protocol.c.  Exactly one file defines UNIT_MAIN before including
 * this header: it gets the counters and the runner.
 *
 * A failed CHECK prints one line, "file:line: CHECK(cond) failed: message";
 * the run ends with "unit: N passed, M failed".
 */
#ifndef DCI_UNIT_H
#define DCI_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct unit_test
{
	const char *name;
	void		(*fn) (void);
} unit_test;

#define UNIT_TEST(fn) { #fn, fn }

extern int	unit_passed;
extern int	unit_failed;
/* The directory given on the command line (test vectors), or "test/vectors". */
extern const char *unit_vectors_dir;

static inline void unit_fail(const char *file, int line, const char *cond, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Report a failed CHECK: one line on stdout, so it stays in order with the summary. */
static inline void
unit_fail(const char *file, int line, const char *cond, const char *fmt,...)
{
	va_list		ap;

	unit_failed++;
	printf("%s:%d: CHECK(%s) failed: ", file, line, cond);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* CHECK(cond, printf-format, args...): counts a pass or reports a failure. */
#define CHECK(cond, ...) \
	do { \
		if (cond) \
			unit_passed++; \
		else \
			unit_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/* Whole file in a malloc'd NUL-terminated buffer; NULL (and a failure) if unreadable. */
char	   *unit_read_file(const char *path, size_t *len);

/* Path of a file in the vectors directory (static buffer). */
const char *unit_vector_path(const char *name);

/*
 * Run the tests (all, or those named after the vectors directory on the
 * command line), print the summary and return the exit status.
 */
int			unit_main(const unit_test *tests, size_t ntests, int argc, char **argv);

#ifdef UNIT_MAIN

#include <stdlib.h>
#include <string.h>

int			unit_passed;
int			unit_failed;
const char *unit_vectors_dir = "test/vectors";

char *
unit_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	size_t		cap = 0;
	size_t		n = 0;

	if (f == NULL)
	{
		unit_fail(__FILE__, __LINE__, "fopen", "cannot open %s", path);
		return NULL;
	}
	for (;;)
	{
		size_t		got;

		if (cap - n < 4096)
		{
			size_t		ncap = cap ? cap * 2 : 65536;
			char	   *nb = realloc(buf, ncap);

			if (nb == NULL)
			{
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

const char *
unit_vector_path(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", unit_vectors_dir, name);
	return path;
}

int
unit_main(const unit_test *tests, size_t ntests, int argc, char **argv)
{
	size_t		i;
	int			j;

	if (argc > 1)
		unit_vectors_dir = argv[1];
	for (i = 0; i < ntests; i++)
	{
		int			run = argc <= 2;

		for (j = 2; j < argc && !run; j++)
			run = strcmp(argv[j], tests[i].name) == 0;
		if (run)
			tests[i].fn();
	}
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed > 0 ? 1 : 0;
}

#endif							/* UNIT_MAIN */

#endif							/* DCI_UNIT_H */
