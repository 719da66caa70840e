/*
 * senders.c - per-sender counts and quotas (OpenSPP-style rate limits).
 *
 * Counts: every envelope that names a sender_id, what became of it, and the
 * highest rate observed over any 1 s and any 60 s (sliding, in 100 ms
 * buckets).  Quotas (POST /admin/ratelimit): per second, per minute and per
 * day, counting requests or search items, in fixed windows as OpenSPP's
 * middleware keeps them: a second or minute window opens with the first
 * request after the previous one ended; the day is the UTC day.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define BUCKETS		600			/* 100 ms buckets: the last 60 s */
#define BUCKET_MS	100

typedef struct sender_state
{
	/* counts since /admin/reset-stats */
	uint64_t	requests,
				accepted,
				rejected,
				rate_limited,
				items;
	uint32_t	max_1s,
				max_60s;
	/* the sliding measure */
	uint32_t	bucket[BUCKETS];
	int64_t		cur;			/* the current bucket's number (ms / 100) */
	uint32_t	sum_1s,
				sum_60s;
	/* quota (0: none) and its windows */
	long		per_second,
				per_minute,
				per_day;
	bool		count_items;
	int64_t		sec_start,		/* ms; 0: no window open */
				min_start;
	long		sec_used,
				min_used;
	int64_t		day;			/* UTC day number of day_used */
	long		day_used;
} sender_state;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static strmap senders;

void
senders_init(void)
{
	strmap_init(&senders, 64);
}

void
senders_shutdown(void)
{
	strmap_free(&senders, free);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sender's state, made on first use; the lock is held. */
static sender_state *
state_of(const char *sender)
{
	sender_state *s = strmap_get(&senders, sender, strlen(sender));

	if (s == NULL && (s = calloc(1, sizeof(sender_state))) != NULL &&
		strmap_put(&senders, sender, strlen(sender), s, NULL) < 0)
	{
		free(s);
		s = NULL;
	}
	return s;
}

/* Move the sliding window to bucket b, dropping what falls out of it. */
static void
advance(sender_state *s, int64_t b)
{
	if (b <= s->cur)
		return;
	if (b - s->cur >= BUCKETS)
	{
		memset(s->bucket, 0, sizeof(s->bucket));
		s->sum_1s = s->sum_60s = 0;
		s->cur = b;
		return;
	}
	while (s->cur < b)
	{
		s->cur++;
		/* bucket cur - 10 leaves the 1 s window; the slot of cur - 600 is reused */
		s->sum_1s -= s->bucket[(s->cur - 10 + BUCKETS) % BUCKETS];
		s->sum_60s -= s->bucket[s->cur % BUCKETS];
		s->bucket[s->cur % BUCKETS] = 0;
	}
}

void
senders_seen(const char *sender)
{
	sender_state *s;

	pthread_mutex_lock(&lock);
	if ((s = state_of(sender)) != NULL)
	{
		advance(s, now_ms() / BUCKET_MS);
		s->bucket[s->cur % BUCKETS]++;
		s->sum_1s++;
		s->sum_60s++;
		if (s->sum_1s > s->max_1s)
			s->max_1s = s->sum_1s;
		if (s->sum_60s > s->max_60s)
			s->max_60s = s->sum_60s;
		s->requests++;
	}
	pthread_mutex_unlock(&lock);
}

void
senders_rejected(const char *sender)
{
	sender_state *s;

	pthread_mutex_lock(&lock);
	if ((s = state_of(sender)) != NULL)
		s->rejected++;
	pthread_mutex_unlock(&lock);
}

/* Would cost more exceed limit in a window that holds used? */
static bool
over(long limit, long used, long cost)
{
	return limit > 0 && used + cost > limit;
}

int
senders_admit(const char *sender, long items, int *kind, long *retry_after, char *msg, size_t msglen)
{
	sender_state *s;
	int64_t		t = now_ms();
	int64_t		day = t / 86400000;
	long		cost;
	int			rc = 0;

	pthread_mutex_lock(&lock);
	s = state_of(sender);
	if (s == NULL)
	{
		pthread_mutex_unlock(&lock);
		return 0;
	}
	cost = s->count_items ? (items > 0 ? items : 1) : 1;
	if (s->sec_start && t - s->sec_start >= 1000)
		s->sec_start = 0;
	if (s->min_start && t - s->min_start >= 60000)
		s->min_start = 0;
	if (s->day != day)
	{
		s->day = day;
		s->day_used = 0;
	}
	if (!s->sec_start)
	{
		s->sec_start = t;
		s->sec_used = 0;
	}
	if (!s->min_start)
	{
		s->min_start = t;
		s->min_used = 0;
	}
	if (over(s->per_day, s->day_used, cost))
	{
		*kind = RATE_DAY;
		*retry_after = (long) (((day + 1) * 86400000 - t + 999) / 1000);
		snprintf(msg, msglen, "Daily rate limit exceeded: %ld %s per day allowed", s->per_day,
				 s->count_items ? "items" : "requests");
		rc = -1;
	}
	else if (over(s->per_minute, s->min_used, cost))
	{
		*kind = RATE_MINUTE;
		*retry_after = (long) ((s->min_start + 60000 - t + 999) / 1000);
		snprintf(msg, msglen, "Rate limit exceeded: %ld %s per minute allowed", s->per_minute,
				 s->count_items ? "items" : "requests");
		rc = -1;
	}
	else if (over(s->per_second, s->sec_used, cost))
	{
		*kind = RATE_MINUTE;	/* OpenSPP has no per-second code */
		*retry_after = 1;
		snprintf(msg, msglen, "Rate limit exceeded: %ld %s per second allowed", s->per_second,
				 s->count_items ? "items" : "requests");
		rc = -1;
	}
	if (rc == 0)
	{
		s->sec_used += cost;
		s->min_used += cost;
		s->day_used += cost;
		s->accepted++;
		s->items += items;
	}
	else
		s->rate_limited++;
	pthread_mutex_unlock(&lock);
	return rc;
}

int
senders_set_limit(const char *sender, long per_second, long per_minute, long per_day, bool items)
{
	sender_state *s;

	pthread_mutex_lock(&lock);
	s = state_of(sender);
	if (s)
	{
		s->per_second = per_second;
		s->per_minute = per_minute;
		s->per_day = per_day;
		s->count_items = items;
		s->sec_start = s->min_start = 0;
		s->day_used = 0;
	}
	pthread_mutex_unlock(&lock);
	return s ? 0 : -1;
}

static bool
clear_stats(const char *key, void *value, void *arg)
{
	sender_state *s = value;

	s->requests = s->accepted = s->rejected = s->rate_limited = s->items = 0;
	s->max_1s = s->max_60s = 0;
	memset(s->bucket, 0, sizeof(s->bucket));
	s->sum_1s = s->sum_60s = 0;
	return false;
}

static bool
clear_windows(const char *key, void *value, void *arg)
{
	sender_state *s = value;

	s->sec_start = s->min_start = 0;
	s->sec_used = s->min_used = s->day_used = 0;
	return false;
}

void
senders_reset_stats(void)
{
	pthread_mutex_lock(&lock);
	strmap_sweep(&senders, clear_stats, NULL);
	pthread_mutex_unlock(&lock);
}

void
senders_reset_windows(void)
{
	pthread_mutex_lock(&lock);
	strmap_sweep(&senders, clear_windows, NULL);
	pthread_mutex_unlock(&lock);
}

typedef struct json_arg
{
	dbuf	   *out;
	bool		first;
} json_arg;

static void
limit_json(dbuf *b, const char *name, long v)
{
	dbuf_printf(b, ",\"%s\":", name);
	if (v > 0)
		dbuf_printf(b, "%ld", v);
	else
		dbuf_puts(b, "null");
}

static bool
sender_json(const char *key, void *value, void *arg)
{
	json_arg   *a = arg;
	sender_state *s = value;

	if (!a->first)
		dbuf_putc(a->out, ',');
	a->first = false;
	jw_key(a->out, key);
	dbuf_printf(a->out, "{\"requests\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"rate_limited\":%llu,"
				"\"items\":%llu,\"max_per_second\":%u,\"max_per_minute\":%u,\"limits\":{\"counts\":\"%s\"",
				(unsigned long long) s->requests, (unsigned long long) s->accepted,
				(unsigned long long) s->rejected, (unsigned long long) s->rate_limited,
				(unsigned long long) s->items, s->max_1s, s->max_60s,
				s->count_items ? "items" : "requests");
	limit_json(a->out, "per_second", s->per_second);
	limit_json(a->out, "per_minute", s->per_minute);
	limit_json(a->out, "per_day", s->per_day);
	dbuf_puts(a->out, "}}");
	return false;
}

void
senders_json(dbuf *out)
{
	json_arg	a = {out, true};

	dbuf_putc(out, '{');
	pthread_mutex_lock(&lock);
	strmap_sweep(&senders, sender_json, &a);
	pthread_mutex_unlock(&lock);
	dbuf_putc(out, '}');
}
