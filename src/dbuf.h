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

/*
 * Append outside text (a registry's reason code or message) so that it is
 * safe in an error message or a log line: valid UTF-8 only, on one line.
 * Control characters (C0, DEL, C1) become \n \r \t or \xHH, a backslash
 * \\, the Unicode line separators and bidirectional overrides \u{202e} and the like,
 * and every byte that is not part of valid UTF-8 \xHH.  At most max bytes
 * are appended (whole characters and escapes only), then "..." when text was
 * left out.  0 ok, -1 out of memory.
 */
int			dbuf_put_sanitized(dbuf *b, const char *s, size_t len, size_t max);

#endif
