/*
 * token_cache.c - OAuth2 tokens shared by every backend of the cluster.
 *
 * With dci in shared_preload_libraries, tokens live in a small shared
 * array, one entry per database and source: parallel batch workers and every other
 * backend use the same token, and only one of them fetches a new one when
 * it is due (the others wait for it, a few seconds at most).  Shared memory
 * is not reachable from SQL, so the token cannot be read back.  Without
 * preloading, auth.c keeps a per-backend cache instead.
 */
#include "postgres.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "common/hashfn.h"

#include "dci.h"

#define TOKEN_SLOTS 64
#define TOKEN_MAX 8192			/* longest token kept (JWTs with many claims) */
#define CODE_MAX 64

typedef struct token_slot
{
	Oid			dbid;			/* sources are per database: key is (dbid, code) */
	char		code[CODE_MAX];	/* "" = free */
	uint32		config_hash;	/* credentials the token was fetched with */
	time_t		refresh_at;
	int			refreshing_pid; /* a backend fetching a new token, or 0 */
	time_t		refreshing_since;
	long long	fetched_at;		/* monotonic ms when it was issued */
	char		token[TOKEN_MAX];
} token_slot;

typedef struct token_shared
{
	LWLock	   *lock;
	token_slot	slots[TOKEN_SLOTS];
} token_shared;

static token_shared *shared = NULL;

Size
dci_token_shmem_size(void)
{
	return MAXALIGN(sizeof(token_shared));
}

/* Called by shmem.c with this part of dci's segment. */
void
dci_token_shmem_attach(void *mem, bool found, LWLock *lock)
{
	shared = mem;
	if (!found)
	{
		memset(shared, 0, sizeof(token_shared));
		shared->lock = lock;
	}
}

bool
dci_token_shared_available(void)
{
	return shared != NULL;
}

uint32
dci_token_config_hash(dci_source *src)
{
	uint32		h = 0;
	const char *parts[4] = {src->oauth2_token_url, src->oauth2_client_id,
	src->oauth2_client_secret, src->oauth2_scope};

	for (int i = 0; i < 4; i++)
		if (parts[i])
			h = hash_combine(h, hash_bytes((const unsigned char *) parts[i], strlen(parts[i])));
	/* another way to present the credentials is another token */
	h = hash_combine(h, (uint32) src->oauth2_client_auth);
	return h;
}

static token_slot *
find_slot(const char *code, bool create)
{
	token_slot *free_slot = NULL;

	for (int i = 0; i < TOKEN_SLOTS; i++)
	{
		token_slot *s = &shared->slots[i];

		if (s->code[0] == '\0')
		{
			if (free_slot == NULL)
				free_slot = s;
		}
		else if (s->dbid == MyDatabaseId && strcmp(s->code, code) == 0)
			return s;
	}
	if (create && free_slot)
	{
		memset(free_slot, 0, offsetof(token_slot, token) + 1);
		free_slot->dbid = MyDatabaseId;
		strlcpy(free_slot->code, code, CODE_MAX);
	}
	return create ? free_slot : NULL;
}

/* A refresh claim whose holder has exited (killed mid-fetch) is free. */
static bool
claim_held(const token_slot *s, time_t now, int timeout_seconds)
{
	if (s->refreshing_pid == 0)
		return false;
	if (kill(s->refreshing_pid, 0) != 0 && errno == ESRCH)
		return false;
	/* a live holder that hangs far beyond its own timeout gives up its claim too */
	return now - s->refreshing_since <= timeout_seconds + 5;
}

/*
 * A valid shared token for src, copied into buf (1), or 0 when this backend
 * should fetch one (it then holds the refresh claim and must call
 * dci_token_shared_put or dci_token_shared_abandon).  Waits while another
 * backend is fetching.  -1: the shared cache cannot serve this source.
 */
int
dci_token_shared_get(dci_source *src, uint32 cfg, long long not_before,
					 char *buf, size_t bufsize, long long *fetched_at)
{
	if (!dci_token_shared_available() || strlen(src->code) >= CODE_MAX)
		return -1;
	for (int waited = 0;; waited++)
	{
		token_slot *s;
		time_t		now = time(NULL);

		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		s = find_slot(src->code, true);
		if (s == NULL)
		{
			LWLockRelease(shared->lock);
			return -1;			/* more sources than slots: per-backend cache */
		}
		/* after a 401, only a token issued after it will do */
		if (s->config_hash == cfg && s->token[0] != '\0' && now < s->refresh_at &&
			s->fetched_at >= not_before)
		{
			strlcpy(buf, s->token, bufsize);
			*fetched_at = s->fetched_at;
			LWLockRelease(shared->lock);
			return 1;
		}
		/* nobody fetching (or the fetcher died or hangs): we fetch */
		if (!claim_held(s, now, src->timeout_seconds))
		{
			s->refreshing_pid = MyProcPid;
			s->refreshing_since = now;
			LWLockRelease(shared->lock);
			return 0;
		}
		LWLockRelease(shared->lock);
		/* someone else is fetching: wait on our latch a little, interruptibly */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5L,
						 dci_wait_event());
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (waited > 200 * (src->timeout_seconds + 5))
			return 0;
	}
}

/* At exit: give back any refresh claim this backend still holds. */
void
dci_token_shared_release_mine(void)
{
	if (!dci_token_shared_available())
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < TOKEN_SLOTS; i++)
		if (shared->slots[i].refreshing_pid == MyProcPid)
			shared->slots[i].refreshing_pid = 0;
	LWLockRelease(shared->lock);
}

void
dci_token_shared_put(dci_source *src, uint32 cfg, const char *token, time_t refresh_at,
					 long long fetched_at)
{
	token_slot *s;

	if (!dci_token_shared_available())
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = find_slot(src->code, true);
	if (s)
	{
		if (strlen(token) < TOKEN_MAX)
		{
			strlcpy(s->token, token, TOKEN_MAX);
			s->config_hash = cfg;
			s->refresh_at = refresh_at;
			s->fetched_at = fetched_at;
		}
		else
			s->token[0] = '\0';	/* too long to share: each backend keeps its own */
		if (s->refreshing_pid == MyProcPid)
			s->refreshing_pid = 0;
	}
	LWLockRelease(shared->lock);
}

void
dci_token_shared_abandon(dci_source *src)
{
	token_slot *s;

	if (!dci_token_shared_available())
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = find_slot(src->code, false);
	if (s && s->refreshing_pid == MyProcPid)
		s->refreshing_pid = 0;
	LWLockRelease(shared->lock);
}

void
dci_token_shared_forget(const char *code)
{
	if (!dci_token_shared_available())
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < TOKEN_SLOTS; i++)
	{
		token_slot *s = &shared->slots[i];

		if (s->code[0] != '\0' && s->dbid == MyDatabaseId &&
			(code == NULL || strcmp(s->code, code) == 0))
		{
			explicit_bzero(s->token, TOKEN_MAX);
			s->code[0] = '\0';
			s->refreshing_pid = 0;
		}
	}
	LWLockRelease(shared->lock);
}
