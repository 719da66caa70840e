/*
 * progress.c - how far each running batch has got, for the dci.progress view.
 *
 * A batch call takes a slot in shared memory (with shared_preload_libraries;
 * otherwise the view shows this backend's own batch only), updates it as
 * envelopes land, and gives it back when its call's memory goes, which
 * happens at the end of the call and on error alike.
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_progress_rows);

#define PROGRESS_SLOTS 64

typedef struct progress_slot
{
	int32		pid;			/* 0 = free */
	Oid			dbid;
	char		source[NAMEDATALEN];
	char		function[NAMEDATALEN];
	int64		total;
	int64		done;
	int64		failed;
	int64		requests;
	TimestampTz started;
	bool		waiting;		/* held back by pacing or a pause */
} progress_slot;

typedef struct progress_shared
{
	LWLock	   *lock;
	progress_slot slots[PROGRESS_SLOTS];
} progress_shared;

static progress_shared *shared = NULL;
static progress_slot local_slot;	/* without preloading */

Size
dci_progress_shmem_size(void)
{
	return MAXALIGN(sizeof(progress_shared));
}

void
dci_progress_shmem_attach(void *mem, bool found, LWLock *lock)
{
	shared = mem;
	if (!found)
	{
		memset(shared, 0, sizeof(progress_shared));
		shared->lock = lock;
	}
}

static void
release_cb(void *arg)
{
	progress_slot *s = arg;

	/* the pid is the claim; clearing it is one aligned store */
	s->pid = 0;
}

/*
 * A slot for a batch of total identifiers of source, released when the
 * current memory context goes.  NULL when every slot is taken.
 */
dci_progress *
dci_progress_begin(const char *source, const char *function, int64 total)
{
	progress_slot *s = NULL;
	MemoryContextCallback *cb;

	if (shared)
	{
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		for (int i = 0; i < PROGRESS_SLOTS; i++)
			if (shared->slots[i].pid == 0)
			{
				s = &shared->slots[i];
				s->pid = MyProcPid;
				break;
			}
		LWLockRelease(shared->lock);
		if (s == NULL)
			return NULL;
	}
	else
	{
		s = &local_slot;
		s->pid = MyProcPid;
	}
	s->dbid = MyDatabaseId;
	strlcpy(s->source, source, NAMEDATALEN);
	strlcpy(s->function, function, NAMEDATALEN);
	s->total = total;
	s->done = s->failed = s->requests = 0;
	s->started = GetCurrentTimestamp();
	s->waiting = false;
	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = release_cb;
	cb->arg = s;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return (dci_progress *) s;
}

/* Counters are each written by the one owner: readers may see them a step behind. */
void
dci_progress_add(dci_progress *p, int64 done, int64 failed, int64 requests)
{
	progress_slot *s = (progress_slot *) p;

	if (s == NULL)
		return;
	s->done += done;
	s->failed += failed;
	s->requests += requests;
}

void
dci_progress_waiting(dci_progress *p, bool waiting)
{
	if (p)
		((progress_slot *) p)->waiting = waiting;
}

/* dci_progress(): the rows of the dci.progress view. */
Datum
dci_progress_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	progress_slot *copy;
	int			n = shared ? PROGRESS_SLOTS : 1;
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	copy = palloc(sizeof(progress_slot) * n);
	if (shared)
	{
		LWLockAcquire(shared->lock, LW_SHARED);
		memcpy(copy, shared->slots, sizeof(progress_slot) * n);
		LWLockRelease(shared->lock);
	}
	else
		copy[0] = local_slot;
	for (int i = 0; i < n; i++)
	{
		progress_slot *s = &copy[i];
		Datum		v[12];
		bool		nl[12];
		double		secs;
		double		rate;

		if (s->pid == 0 || s->dbid != MyDatabaseId)
			continue;
		memset(nl, 0, sizeof(nl));
		secs = (double) (now - s->started) / USECS_PER_SEC;
		rate = secs > 0 ? s->done / secs : 0;
		v[0] = Int32GetDatum(s->pid);
		v[1] = CStringGetTextDatum(s->source);
		v[2] = CStringGetTextDatum(s->function);
		v[3] = Int64GetDatum(s->done);
		v[4] = Int64GetDatum(s->total);
		v[5] = Int64GetDatum(s->failed);
		v[6] = Int64GetDatum(s->requests);
		v[7] = TimestampTzGetDatum(s->started);
		v[8] = Float8GetDatum(rate);
		nl[9] = rate <= 0;
		v[9] = TimestampTzGetDatum(now + (TimestampTz) ((s->total - s->done) / Max(rate, 1e-9) * USECS_PER_SEC));
		v[10] = BoolGetDatum(s->waiting);
		v[11] = Float8GetDatum(s->total > 0 ? 100.0 * s->done / s->total : 100.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
	return (Datum) 0;
}
