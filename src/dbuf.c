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

/* Length of the valid UTF-8 sequence at p (1..4, RFC 3629), 0 when invalid. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t		avail = end - p;
	int			need;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		need = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		need = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		need = 4;
	else
		return 0;
	if (avail < (size_t) need)
		return 0;
	for (int i = 1; i < need; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
		(p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
		return 0;
	return need;
}

/* "\\xHH" of a byte or a C1 control into esc; its length. */
static size_t
put_hex_escape(char *esc, unsigned long v)
{
	static const char hex[] = "0123456789abcdef";

	esc[0] = '\\';
	esc[1] = 'x';
	esc[2] = hex[(v >> 4) & 15];
	esc[3] = hex[v & 15];
	return 4;
}

int
dbuf_put_sanitized(dbuf *b, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + (s ? len : 0);
	size_t		used = 0;

	while (p < end)
	{
		char		esc[12];
		size_t		elen = 0;
		int			n = utf8_len(p, end);
		unsigned long cp = 0;

		if (n == 1)
			cp = p[0];
		else if (n == 2)
			cp = ((unsigned long) (p[0] & 0x1F) << 6) | (p[1] & 0x3F);
		else if (n == 3)
			cp = ((unsigned long) (p[0] & 0x0F) << 12) | ((unsigned long) (p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		else if (n == 4)
			cp = 0x10000;		/* above every character escaped below */
		if (n == 0)
		{
			/* a byte that is no UTF-8 */
			cp = p[0];
			elen = put_hex_escape(esc, cp);
			n = 1;
		}
		else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\\')
		{
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : cp == '\t' ? 't' : '\\';
			elen = 2;
		}
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			elen = put_hex_escape(esc, cp);
		else if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
				 (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c)
		{
			/* line separators and bidirectional controls: they reorder or break what follows */
			snprintf(esc, sizeof(esc), "\\u{%04lx}", cp);
			elen = strlen(esc);
		}
		if (used + (elen ? elen : (size_t) n) > max)
			return dbuf_append(b, "...", 3);
		if (elen ? dbuf_append(b, esc, elen) : dbuf_append(b, (const char *) p, n))
			return -1;
		used += elen ? elen : (size_t) n;
		p += n;
	}
	return 0;
}
