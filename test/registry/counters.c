/*
 * counters.c - state that options keep across requests, named by key=K:
 * the failfirst counters (the first N requests with key K get the fault,
 * later ones are served) and the answers captured for replay.
 *
 * One mutex: these are touched once per request that names a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

typedef struct key_state
{
	uint64_t	seen;			/* requests with this key since /admin/reset-counters */
	uint64_t	stat_requests;	/* the same since /admin/reset-stats */
	uint64_t	stat_faulted;	/* of which answered with the fault */
} key_state;

typedef struct captured
{
	char	   *body;
	size_t		len;
} captured;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static strmap keys;				/* key -> key_state */
static strmap replays;			/* key or path -> captured */

void
counters_init(void)
{
	strmap_init(&keys, 64);
	strmap_init(&replays, 64);
}

static void
free_captured(void *p)
{
	captured   *c = p;

	if (c)
		free(c->body);
	free(c);
}

void
counters_shutdown(void)
{
	strmap_free(&keys, free);
	strmap_free(&replays, free_captured);
}

long
counters_hit(const char *key)
{
	key_state  *k;
	long		n = 0;

	pthread_mutex_lock(&lock);
	k = strmap_get(&keys, key, strlen(key));
	if (k == NULL && (k = calloc(1, sizeof(key_state))) != NULL &&
		strmap_put(&keys, key, strlen(key), k, NULL) < 0)
	{
		free(k);
		k = NULL;
	}
	if (k)
	{
		n = (long) ++k->seen;
		k->stat_requests++;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void
counters_faulted(const char *key)
{
	key_state  *k;

	pthread_mutex_lock(&lock);
	k = strmap_get(&keys, key, strlen(key));
	if (k)
		k->stat_faulted++;
	pthread_mutex_unlock(&lock);
}

static bool
clear_seen(const char *key, void *value, void *arg)
{
	((key_state *) value)->seen = 0;
	return false;
}

static bool
clear_stats(const char *key, void *value, void *arg)
{
	key_state  *k = value;

	k->stat_requests = k->stat_faulted = 0;
	return false;
}

static bool
drop_captured(const char *key, void *value, void *arg)
{
	free_captured(value);
	return true;
}

void
counters_reset(void)
{
	pthread_mutex_lock(&lock);
	strmap_sweep(&keys, clear_seen, NULL);
	strmap_sweep(&replays, drop_captured, NULL);
	pthread_mutex_unlock(&lock);
}

void
counters_reset_stats(void)
{
	pthread_mutex_lock(&lock);
	strmap_sweep(&keys, clear_stats, NULL);
	pthread_mutex_unlock(&lock);
}

typedef struct json_arg
{
	dbuf	   *out;
	bool		first;
} json_arg;

static bool
key_json(const char *key, void *value, void *arg)
{
	json_arg   *a = arg;
	key_state  *k = value;

	if (k->stat_requests == 0)
		return false;
	if (!a->first)
		dbuf_putc(a->out, ',');
	a->first = false;
	jw_key(a->out, key);
	dbuf_printf(a->out, "{\"requests\":%llu,\"retries\":%llu,\"faulted\":%llu}",
				(unsigned long long) k->stat_requests,
				(unsigned long long) (k->stat_requests - 1),
				(unsigned long long) k->stat_faulted);
	return false;
}

void
counters_json(dbuf *out)
{
	json_arg	a = {out, true};

	dbuf_putc(out, '{');
	pthread_mutex_lock(&lock);
	strmap_sweep(&keys, key_json, &a);
	pthread_mutex_unlock(&lock);
	dbuf_putc(out, '}');
}

int
replay_swap(const char *key, dbuf *body)
{
	captured   *fresh = malloc(sizeof(captured)),
			   *old = NULL;
	int			rc = 0;

	if (fresh == NULL || (fresh->body = malloc(body->len + 1)) == NULL)
	{
		free(fresh);
		return -1;
	}
	memcpy(fresh->body, body->data, body->len);
	fresh->body[body->len] = '\0';
	fresh->len = body->len;
	pthread_mutex_lock(&lock);
	if (strmap_put(&replays, key, strlen(key), fresh, (void **) &old) < 0)
	{
		free_captured(fresh);
		rc = -1;
	}
	pthread_mutex_unlock(&lock);
	if (old)
	{
		/* the previous request's answer goes out instead of this one's */
		dbuf_reset(body);
		dbuf_append(body, old->body, old->len);
		free_captured(old);
		rc = 1;
	}
	return rc;
}
