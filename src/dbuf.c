/*
 * dbuf.c - growable byte buffer (see dbuf.h).
 */
#include "dbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
dbuf_init(dbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int
dbuf_reserve(dbuf *b, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (extra > ((size_t) -1) / 2 - b->len)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';	/* keep the NUL promise of dbuf.h on a new buffer */
	return 0;
}

int
dbuf_append(dbuf *b, const char *s, size_t n)
{
	if (dbuf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
dbuf_puts(dbuf *b, const char *s)
{
	return dbuf_append(b, s, strlen(s));
}

int
dbuf_putc(dbuf *b, char c)
{
	return dbuf_append(b, &c, 1);
}

int
dbuf_printf(dbuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || dbuf_reserve(b, (size_t) n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return 0;
}

void
dbuf_reset(dbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
dbuf_free(dbuf *b)
{
	free(b->data);
	dbuf_init(b);
}

char *
dbuf_steal(dbuf *b)
{
	char	   *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	dbuf_init(b);
	return p;
}
