/*
 * shmem.c - dci's one shared-memory segment (with shared_preload_libraries).
 *
 * Three parts, each owned by its file: OAuth2 tokens (token_cache.c), the
 * per-source budget and circuit breaker (budget.c), and the progress of
 * running batches (progress.c).  Requested and attached here, once.
 * Without preloading there is no segment: each part falls back to
 * per-backend state and says so through its *_shared_available().
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "dci.h"

#define DCI_LWLOCKS 3			/* tokens, budget, progress */

static shmem_startup_hook_type prev_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_request_hook = NULL;
#endif

static Size
segment_size(void)
{
	return add_size(add_size(dci_token_shmem_size(), dci_budget_shmem_size()),
					dci_progress_shmem_size());
}

static void
shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_request_hook)
		prev_request_hook();
#endif
	RequestAddinShmemSpace(segment_size());
	RequestNamedLWLockTranche("dci", DCI_LWLOCKS);
}

static void
shmem_startup(void)
{
	bool		found;
	char	   *mem;
	LWLockPadded *locks;

	if (prev_startup_hook)
		prev_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mem = ShmemInitStruct("dci", segment_size(), &found);
	locks = GetNamedLWLockTranche("dci");
	dci_token_shmem_attach(mem, found, &locks[0].lock);
	mem += dci_token_shmem_size();
	dci_budget_shmem_attach(mem, found, &locks[1].lock);
	mem += dci_budget_shmem_size();
	dci_progress_shmem_attach(mem, found, &locks[2].lock);
	LWLockRelease(AddinShmemInitLock);
	/* the budget's daily counts outlive a restart */
	if (!found && !IsUnderPostmaster)
		dci_budget_load();
	if (!IsUnderPostmaster)
		on_shmem_exit(dci_budget_save_at_exit, (Datum) 0);
}

void
dci_shmem_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
#else
	shmem_request();
#endif
	prev_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}
