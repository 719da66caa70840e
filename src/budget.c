/*
 * budget.c - what a source may be sent, and when: pacing, a daily quota,
 * the registry's own requests to wait, and a circuit breaker.
 *
 * Pacing spaces requests evenly (a virtual schedule: each send reserves
 * cost * 60 s / requests_per_minute of it), so a limit of 60 a minute is one
 * a second, never 60 at the top of each minute.  With quota_counts = items
 * each identifier of an envelope costs one.  The daily quota refuses what
 * today's budget cannot cover, at once, without a request.  A 429 or 503
 * that says how long to wait pauses the source for everyone; OpenSPP's
 * RATE_LIMIT_PER_DAY marks the day spent.  After dci.breaker_threshold
 * consecutive failures (no connection, timeouts, 5xx) calls fail at once
 * until dci.breaker_cooldown has passed and one probe has succeeded.
 *
 * With shared_preload_libraries the state is one per database and source
 * for the whole cluster, and today's counts are saved in
 * pg_stat/dci_budget.stat so that a restart does not hand out a second
 * day's budget.  Without it each backend keeps its own.
 */
#include "postgres.h"

#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_source_status);

#define BUDGET_SLOTS 128
#define BUDGET_FILE "pg_stat/dci_budget.stat"
#define BUDGET_FILE_MAGIC 0x44434931	/* "DCI1" */
#define SAVE_EVERY_MS 10000

int			dci_breaker_threshold = 5;
int			dci_breaker_cooldown = 30;

typedef struct budget_slot
{
	Oid			dbid;
	char		code[NAMEDATALEN];	/* "" = free */
	/* pacing */
	int64		next_free_ms;	/* epoch ms of the next free place in the schedule */
	int64		minute_start_ms;
	int64		used_minute;
	/* daily quota (UTC days) */
	int32		day;
	int64		used_today;
	/* the registry's own word */
	int64		paused_until_ms;
	int64		day_spent_until_ms;
	/* circuit breaker */
	int32		failures;
	int64		open_until_ms;
	int32		probe_pid;
	char		last_failure[160];
	int64		last_used_ms;
	/* for dci_source_status() */
	int32		per_minute;
	int32		per_day;
	int64		sent;
	int64		refused;
} budget_slot;

typedef struct budget_shared
{
	LWLock	   *lock;
	int64		saved_at_ms;
	budget_slot slots[BUDGET_SLOTS];
} budget_shared;

/* The file: magic, count, then {dbid, code, day, used_today, day_spent_until_ms}. */
typedef struct budget_record
{
	Oid			dbid;
	char		code[NAMEDATALEN];
	int32		day;
	int64		used_today;
	int64		day_spent_until_ms;
} budget_record;

static budget_shared *shared = NULL;
static budget_shared *local = NULL;	/* without preloading */

Size
dci_budget_shmem_size(void)
{
	return MAXALIGN(sizeof(budget_shared));
}

void
dci_budget_shmem_attach(void *mem, bool found, LWLock *lock)
{
	shared = mem;
	if (!found)
	{
		memset(shared, 0, sizeof(budget_shared));
		shared->lock = lock;
	}
}

bool
dci_budget_shared_available(void)
{
	return shared != NULL;
}

static int64
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int32
utc_day(int64 ms)
{
	return (int32) (ms / 86400000);
}

static budget_shared *
state(void)
{
	if (shared)
		return shared;
	if (local == NULL)
		local = MemoryContextAllocZero(TopMemoryContext, sizeof(budget_shared));
	return local;
}

static void
lock_state(budget_shared *b)
{
	if (b == shared)
		LWLockAcquire(b->lock, LW_EXCLUSIVE);
}

static void
unlock_state(budget_shared *b)
{
	if (b == shared)
		LWLockRelease(b->lock);
}

/*
 * The slot of (dbid, code), made when create.  When every slot is taken, the
 * one used longest ago that holds nothing that must be kept (no use today,
 * no pause, closed circuit) is given up; with none, NULL (the caller fails
 * the call rather than send without a budget).
 */
static budget_slot *
find_slot(budget_shared *b, Oid dbid, const char *code, bool create)
{
	budget_slot *free_slot = NULL;
	budget_slot *oldest = NULL;
	int64		now = now_ms();

	for (int i = 0; i < BUDGET_SLOTS; i++)
	{
		budget_slot *s = &b->slots[i];

		if (s->code[0] == '\0')
		{
			if (free_slot == NULL)
				free_slot = s;
		}
		else if (s->dbid == dbid && strcmp(s->code, code) == 0)
		{
			s->last_used_ms = now;
			return s;
		}
		else if ((s->day != utc_day(now) || s->used_today == 0) && s->paused_until_ms <= now &&
				 s->day_spent_until_ms <= now && s->failures == 0 &&
				 (oldest == NULL || s->last_used_ms < oldest->last_used_ms))
			oldest = s;
	}
	if (!create)
		return NULL;
	if (free_slot == NULL)
		free_slot = oldest;
	if (free_slot)
	{
		memset(free_slot, 0, sizeof(budget_slot));
		free_slot->dbid = dbid;
		strlcpy(free_slot->code, code, NAMEDATALEN);
		free_slot->last_used_ms = now;
	}
	return free_slot;
}

static char *
format_ms(int64 ms)
{
	TimestampTz t = time_t_to_timestamptz((pg_time_t) (ms / 1000));

	return pstrdup(timestamptz_to_str(t));
}

static void
save_file(budget_shared *b)
{
	FILE	   *f;
	int32		magic = BUDGET_FILE_MAGIC;
	int32		n = 0;
	char		tmp[MAXPGPATH];

	snprintf(tmp, sizeof(tmp), "%s.tmp", BUDGET_FILE);
	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL)
		return;
	for (int i = 0; i < BUDGET_SLOTS; i++)
		if (b->slots[i].code[0] != '\0')
			n++;
	fwrite(&magic, sizeof(magic), 1, f);
	fwrite(&n, sizeof(n), 1, f);
	for (int i = 0; i < BUDGET_SLOTS; i++)
	{
		budget_slot *s = &b->slots[i];
		budget_record r;

		if (s->code[0] == '\0')
			continue;
		memset(&r, 0, sizeof(r));
		r.dbid = s->dbid;
		strlcpy(r.code, s->code, NAMEDATALEN);
		r.day = s->day;
		r.used_today = s->used_today;
		r.day_spent_until_ms = s->day_spent_until_ms;
		fwrite(&r, sizeof(r), 1, f);
	}
	if (ferror(f) || FreeFile(f) != 0)
	{
		unlink(tmp);
		return;
	}
	(void) rename(tmp, BUDGET_FILE);
}

/* At postmaster start: today's counts as they were at the last save. */
void
dci_budget_load(void)
{
	FILE	   *f = AllocateFile(BUDGET_FILE, PG_BINARY_R);
	int32		magic = 0;
	int32		n = 0;
	int32		today = utc_day(now_ms());

	if (f == NULL || shared == NULL)
	{
		if (f)
			FreeFile(f);
		return;
	}
	if (fread(&magic, sizeof(magic), 1, f) == 1 && magic == BUDGET_FILE_MAGIC &&
		fread(&n, sizeof(n), 1, f) == 1)
	{
		for (int i = 0; i < n && i < BUDGET_SLOTS; i++)
		{
			budget_record r;
			budget_slot *s;

			if (fread(&r, sizeof(r), 1, f) != 1)
				break;
			r.code[NAMEDATALEN - 1] = '\0';
			if (r.day != today && r.day_spent_until_ms < now_ms())
				continue;
			s = find_slot(shared, r.dbid, r.code, true);
			if (s == NULL)
				break;
			s->day = r.day;
			s->used_today = r.used_today;
			s->day_spent_until_ms = r.day_spent_until_ms;
		}
	}
	FreeFile(f);
}

void
dci_budget_save_at_exit(int code, Datum arg)
{
	if (shared)
		save_file(shared);
}

/* A holder of the half-open probe that has exited leaves it free. */
static bool
probe_held(const budget_slot *s)
{
	if (s->probe_pid == 0)
		return false;
	return !(kill(s->probe_pid, 0) != 0 && errno == ESRCH);
}

/*
 * Take cost from src's budget before a send.  Returns true with *wait_ms
 * (how long to wait before sending, the place reserved in the schedule),
 * or false with err set when the call must fail now: the daily quota is
 * spent or the circuit is open.
 */
bool
dci_budget_take(dci_source *src, int cost, long *wait_ms, dci_error *err)
{
	budget_shared *b = state();
	budget_slot *s;
	int64		now = now_ms();
	int64		at;
	bool		ok = true;
	bool		save = false;

	*wait_ms = 0;
	memset(err, 0, sizeof(*err));
	lock_state(b);
	s = find_slot(b, MyDatabaseId, src->code, true);
	if (s == NULL)
	{
		/* never send without the budget a source asks for */
		unlock_state(b);
		err->sqlstate = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		err->message = psprintf("no room to keep the budget of DCI source \"%s\": %d sources are in use",
								src->code, BUDGET_SLOTS);
		err->hint = pstrdup("Sources with a quota, a pause or an open circuit keep their place for the day.");
		return false;
	}
	s->per_minute = src->requests_per_minute;
	s->per_day = src->requests_per_day;
	if (s->day != utc_day(now))
	{
		s->day = utc_day(now);
		s->used_today = 0;
	}

	/* the circuit breaker: open, or half-open with a probe already out */
	if (dci_breaker_threshold > 0 && s->failures >= dci_breaker_threshold)
	{
		if (now < s->open_until_ms || probe_held(s))
		{
			err->sqlstate = ERRCODE_DCI_NETWORK;
			err->message = psprintf("circuit for DCI source \"%s\" is open until %s after %d consecutive failures",
									src->code, format_ms(Max(s->open_until_ms, now)), s->failures);
			err->detail = s->last_failure[0] ? psprintf("Last failure: %s", s->last_failure) : NULL;
			err->hint = pstrdup("Calls fail at once until dci.breaker_cooldown has passed and a probe succeeds.");
			ok = false;
		}
		else
			s->probe_pid = MyProcPid;
	}
	if (ok && s->day_spent_until_ms > now)
	{
		err->sqlstate = ERRCODE_DCI_NETWORK;
		err->message = psprintf("DCI source \"%s\" said its daily quota is spent, until %s",
								src->code, format_ms(s->day_spent_until_ms));
		err->hint = pstrdup("The registry answered RATE_LIMIT_PER_DAY; nothing is sent before then.");
		ok = false;
	}
	if (ok && src->requests_per_day > 0 && s->used_today + cost > src->requests_per_day)
	{
		err->sqlstate = ERRCODE_DCI_NETWORK;
		err->message = psprintf("daily quota of DCI source \"%s\" is spent: %lld of %d %s used today; it resets at %s",
								src->code, (long long) s->used_today, src->requests_per_day,
								src->quota_items ? "identifiers" : "requests",
								format_ms(((int64) utc_day(now) + 1) * 86400000));
		err->hint = pstrdup("requests_per_day in dci.data_source; rows not sent are failed, known values stay.");
		ok = false;
	}
	if (ok && s->paused_until_ms - now > (int64) src->timeout_seconds * 1000)
	{
		err->sqlstate = ERRCODE_DCI_NETWORK;
		err->message = psprintf("DCI source \"%s\" asked to be left alone until %s, beyond this call's timeout",
								src->code, format_ms(s->paused_until_ms));
		err->hint = pstrdup("The registry answered 429 or 503 with a Retry-After; dci_reset_circuit() forgets it.");
		ok = false;
	}
	if (!ok)
	{
		s->refused++;
		unlock_state(b);
		return false;
	}

	/* a place in the schedule: no earlier than the pause and the last place */
	at = Max(now, s->paused_until_ms);
	if (src->requests_per_minute > 0)
	{
		/* one percent of slack: a sliding window on the other side must never see one too many */
		int64		interval = (int64) ((60000.0 * 1.01) / src->requests_per_minute);

		at = Max(at, s->next_free_ms);
		s->next_free_ms = at + interval * cost;
	}
	if (now - s->minute_start_ms >= 60000)
	{
		s->minute_start_ms = now;
		s->used_minute = 0;
	}
	s->used_minute += cost;
	s->used_today += cost;
	s->sent++;
	*wait_ms = (long) (at - now);
	if (b == shared && now - b->saved_at_ms > SAVE_EVERY_MS && src->requests_per_day > 0)
	{
		b->saved_at_ms = now;
		save = true;
	}
	if (save)
		save_file(b);
	unlock_state(b);
	return true;
}

/*
 * The outcome of a send, for the breaker and the registry's own word.
 * failure: no connection, a timeout or a 5xx; pause_ms > 0: the registry
 * asked everyone to wait; day_spent: it said today's quota is spent.
 */
void
dci_budget_result(dci_source *src, bool failure, long pause_ms, bool day_spent, const char *why)
{
	budget_shared *b = state();
	budget_slot *s;
	int64		now = now_ms();

	lock_state(b);
	s = find_slot(b, MyDatabaseId, src->code, true);
	if (s == NULL)
	{
		unlock_state(b);
		return;
	}
	if (pause_ms > 0)
		s->paused_until_ms = Max(s->paused_until_ms, now + pause_ms);
	if (day_spent)
	{
		s->day_spent_until_ms = pause_ms > 0 ? now + pause_ms : ((int64) utc_day(now) + 1) * 86400000;
		if (b == shared)
			save_file(b);
	}
	if (failure)
	{
		s->failures++;
		if (why)
		{
			/* cut on a character boundary: never half a UTF-8 sequence */
			int			len = pg_mbcliplen(why, strlen(why), sizeof(s->last_failure) - 1);

			memcpy(s->last_failure, why, len);
			s->last_failure[len] = '\0';
		}
		if (dci_breaker_threshold > 0 && s->failures >= dci_breaker_threshold)
			s->open_until_ms = now + (int64) dci_breaker_cooldown * 1000;
	}
	else
		s->failures = 0;
	if (s->probe_pid == MyProcPid)
		s->probe_pid = 0;
	unlock_state(b);
}

/* Forget the state of one source (or all of this database): dci_clear_token_cache. */
void
dci_budget_reset_breaker(const char *code)
{
	budget_shared *b = state();

	lock_state(b);
	for (int i = 0; i < BUDGET_SLOTS; i++)
	{
		budget_slot *s = &b->slots[i];

		if (s->code[0] && s->dbid == MyDatabaseId && (code == NULL || strcmp(s->code, code) == 0))
		{
			s->failures = 0;
			s->open_until_ms = 0;
			s->probe_pid = 0;
			s->paused_until_ms = 0;
			s->day_spent_until_ms = 0;
		}
	}
	unlock_state(b);
}

/* dci_source_status(): each source's budget and breaker, in this database. */
Datum
dci_source_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	budget_shared *b = state();
	budget_slot *copy = palloc(sizeof(budget_slot) * BUDGET_SLOTS);
	int64		now = now_ms();

	InitMaterializedSRF(fcinfo, 0);
	lock_state(b);
	memcpy(copy, b->slots, sizeof(budget_slot) * BUDGET_SLOTS);
	unlock_state(b);
	for (int i = 0; i < BUDGET_SLOTS; i++)
	{
		budget_slot *s = &copy[i];
		Datum		v[12];
		bool		n[12];
		bool		open;

		if (s->code[0] == '\0' || s->dbid != MyDatabaseId)
			continue;
		memset(n, 0, sizeof(n));
		open = dci_breaker_threshold > 0 && s->failures >= dci_breaker_threshold;
		v[0] = CStringGetTextDatum(s->code);
		v[1] = CStringGetTextDatum(!open ? "closed" : now < s->open_until_ms ? "open" : "half-open");
		v[2] = Int32GetDatum(s->failures);
		n[3] = !open;
		v[3] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) (s->open_until_ms / 1000)));
		n[4] = s->last_failure[0] == '\0';
		v[4] = CStringGetTextDatum(s->last_failure);
		v[5] = Int64GetDatum(now - s->minute_start_ms < 60000 ? s->used_minute : 0);
		v[6] = Int64GetDatum(s->day == utc_day(now) ? s->used_today : 0);
		n[7] = s->per_minute <= 0;
		v[7] = Int32GetDatum(s->per_minute);
		n[8] = s->per_day <= 0;
		v[8] = Int32GetDatum(s->per_day);
		v[9] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) (((int64) utc_day(now) + 1) * 86400)));
		n[10] = s->paused_until_ms <= now && s->day_spent_until_ms <= now;
		v[10] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) (Max(s->paused_until_ms, s->day_spent_until_ms) / 1000)));
		v[11] = BoolGetDatum(b == shared);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}
