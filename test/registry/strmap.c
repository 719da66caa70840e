/*
 * strmap.c - a small chained hash table keyed by byte strings.
 *
 * Not thread-safe by itself: fixture indexes are built before the server
 * starts and only read afterwards; the token tables sit behind a mutex.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* FNV-1a: short keys, no adversary (loopback test server). */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
strmap_init(strmap *m, size_t nbuckets)
{
	size_t		n = 16;

	while (n < nbuckets)
		n <<= 1;
	m->buckets = calloc(n, sizeof(strmap_entry *));
	m->nbuckets = m->buckets ? n : 0;
	m->count = 0;
}

static void
strmap_grow(strmap *m)
{
	size_t		n = m->nbuckets * 2;
	strmap_entry **nb = calloc(n, sizeof(strmap_entry *));

	if (nb == NULL)
		return;					/* keep the old table: slower, still correct */
	for (size_t i = 0; i < m->nbuckets; i++)
	{
		strmap_entry *e = m->buckets[i];

		while (e)
		{
			strmap_entry *next = e->next;
			size_t		b = e->hash & (n - 1);

			e->next = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

static strmap_entry **
strmap_slot(const strmap *m, const char *key, size_t keylen, uint64_t h)
{
	strmap_entry **p = &m->buckets[h & (m->nbuckets - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->hash == h && strlen((*p)->key) == keylen &&
			memcmp((*p)->key, key, keylen) == 0)
			break;
	return p;
}

void *
strmap_get(const strmap *m, const char *key, size_t keylen)
{
	strmap_entry **p;

	if (m->nbuckets == 0)
		return NULL;
	p = strmap_slot(m, key, keylen, hash_bytes(key, keylen));
	return *p ? (*p)->value : NULL;
}

int
strmap_put(strmap *m, const char *key, size_t keylen, void *value, void **old)
{
	uint64_t	h = hash_bytes(key, keylen);
	strmap_entry **p;
	strmap_entry *e;

	if (old)
		*old = NULL;
	if (m->nbuckets == 0)
		return -1;
	p = strmap_slot(m, key, keylen, h);
	if (*p)
	{
		if (old)
			*old = (*p)->value;
		(*p)->value = value;
		return 0;
	}
	e = malloc(sizeof(strmap_entry) + keylen + 1);
	if (e == NULL)
		return -1;
	e->hash = h;
	e->value = value;
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	e->next = NULL;
	*p = e;
	if (++m->count > m->nbuckets)
		strmap_grow(m);
	return 0;
}

int
strmap_delete(strmap *m, const char *key, size_t keylen, void **old)
{
	strmap_entry **p;
	strmap_entry *e;

	if (old)
		*old = NULL;
	if (m->nbuckets == 0)
		return -1;
	p = strmap_slot(m, key, keylen, hash_bytes(key, keylen));
	if (*p == NULL)
		return -1;
	e = *p;
	*p = e->next;
	if (old)
		*old = e->value;
	free(e);
	m->count--;
	return 0;
}

void
strmap_sweep(strmap *m, bool (*fn) (const char *key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
	{
		strmap_entry **p = &m->buckets[i];

		while (*p)
		{
			strmap_entry *e = *p;

			if (fn(e->key, e->value, arg))
			{
				*p = e->next;
				free(e);
				m->count--;
			}
			else
				p = &e->next;
		}
	}
}

void
strmap_free(strmap *m, void (*free_value) (void *))
{
	for (size_t i = 0; i < m->nbuckets; i++)
	{
		strmap_entry *e = m->buckets[i];

		while (e)
		{
			strmap_entry *next = e->next;

			if (free_value)
				free_value(e->value);
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}
