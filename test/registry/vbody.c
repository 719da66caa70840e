/*
 * vbody.c - a response body made of segments, each a byte string repeated
 * some number of times, read sequentially.  Hostile answers (a record with
 * millions of nested arrays) are hashed and sent from it without ever being
 * held in memory whole; drip and resetbody serve ordinary bodies through it.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

void
vbody_init(vbody *b)
{
	memset(b, 0, sizeof(*b));
}

void
vbody_free(vbody *b)
{
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	free(b->owned);
	free(b->seg);
	memset(b, 0, sizeof(*b));
}

int
vbody_add(vbody *b, const char *data, size_t len, uint64_t repeat)
{
	if (len == 0 || repeat == 0)
		return 0;
	if (b->nseg == b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 8;
		vseg	   *n = realloc(b->seg, cap * sizeof(vseg));

		if (n == NULL)
			return -1;
		b->seg = n;
		b->cap = cap;
	}
	b->seg[b->nseg].data = data;
	b->seg[b->nseg].len = len;
	b->seg[b->nseg].repeat = repeat;
	b->nseg++;
	b->total += (uint64_t) len * repeat;
	return 0;
}

int
vbody_add_owned(vbody *b, char *data, size_t len)
{
	char	  **n = realloc(b->owned, (b->nowned + 1) * sizeof(char *));

	if (n == NULL)
	{
		free(data);
		return -1;
	}
	b->owned = n;
	b->owned[b->nowned++] = data;
	return vbody_add(b, data, len, 1);
}

int
vbody_add_copy(vbody *b, const char *data, size_t len)
{
	char	   *c;

	if (len == 0)
		return 0;
	c = malloc(len);
	if (c == NULL)
		return -1;
	memcpy(c, data, len);
	return vbody_add_owned(b, c, len);
}

void
vbody_rewind(vbody *b)
{
	b->rseg = 0;
	b->rrep = 0;
	b->roff = 0;
	b->rpos = 0;
}

size_t
vbody_read(vbody *b, char *buf, size_t max)
{
	size_t		n = 0;

	while (n < max && b->rseg < b->nseg)
	{
		const vseg *s = &b->seg[b->rseg];
		size_t		take = s->len - b->roff;

		if (s->len == 1)
		{
			/* a run of one byte ("[" a million times): one memset */
			uint64_t	left = s->repeat - b->rrep;

			take = left < max - n ? (size_t) left : max - n;
			memset(buf + n, s->data[0], take);
			n += take;
			b->rrep += take;
			if (b->rrep == s->repeat)
			{
				b->rrep = 0;
				b->rseg++;
			}
			continue;
		}
		if (take > max - n)
			take = max - n;
		memcpy(buf + n, s->data + b->roff, take);
		n += take;
		b->roff += take;
		if (b->roff == s->len)
		{
			b->roff = 0;
			if (++b->rrep == s->repeat)
			{
				b->rrep = 0;
				b->rseg++;
			}
		}
	}
	b->rpos += n;
	return n;
}

int
vbody_materialize(vbody *b, dbuf *out)
{
	char		buf[65536];
	size_t		n;

	vbody_rewind(b);
	if (dbuf_reserve(out, (size_t) b->total + 1) < 0)
		return -1;
	while ((n = vbody_read(b, buf, sizeof(buf))) > 0)
		if (dbuf_append(out, buf, n) < 0)
			return -1;
	vbody_rewind(b);
	return 0;
}
