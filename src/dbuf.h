/*
 * dbuf.h - a growable byte buffer on malloc, for the protocol layer.
 *
 * The protocol code (canonjson, sign, envelope, records) must not include
 * PostgreSQL headers, so it allocates with malloc and reports failure by
 * return value; callers in the PostgreSQL glue free before they ereport.
 */
#ifndef DCI_DBUF_H
#define DCI_DBUF_H

#include <stddef.h>

typedef struct dbuf
{
	char	   *data;			/* always NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
} dbuf;

void		dbuf_init(dbuf *b);
int			dbuf_reserve(dbuf *b, size_t extra);	/* 0 ok, -1 out of memory */
int			dbuf_append(dbuf *b, const char *s, size_t n);
int			dbuf_puts(dbuf *b, const char *s);
int			dbuf_putc(dbuf *b, char c);
int			dbuf_printf(dbuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		dbuf_reset(dbuf *b);	/* len = 0, keeps the memory */
void		dbuf_free(dbuf *b);
char	   *dbuf_steal(dbuf *b);	/* returns data (caller frees), leaves b empty */

#endif
