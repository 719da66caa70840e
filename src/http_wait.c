/*
 * http_wait.c - the backend side of the transport's waits.
 *
 * http.c asks a hook to wait for its sockets; here that wait is a
 * WaitEventSet holding the sockets, the backend's latch and postmaster
 * death, with dci's wait event, as postgres_fdw waits for libpq.  A cancel
 * or statement_timeout sets the latch: the wait returns at once and the
 * transfer is dropped, and the caller raises the standard error.  Sockets
 * curl keeps open between calls count against the backend's file
 * descriptors (AcquireExternalFD), like libpq connections do.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "dci.h"

static WaitEventSet *wait_set = NULL;
static int	wait_set_size = 0;

/* The set for these sockets: rebuilt only when curl's sockets changed. */
static void
build_set(dci_http_socket *socks, int nsocks)
{
	if (wait_set)
		FreeWaitEventSet(wait_set);
	wait_set = NULL;
	wait_set = CreateWaitEventSet(TopMemoryContext, nsocks + 2);
	wait_set_size = nsocks;
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < nsocks; i++)
	{
		uint32		ev = ((socks[i].events & DCI_WAIT_READ) ? WL_SOCKET_READABLE : 0) |
			((socks[i].events & DCI_WAIT_WRITE) ? WL_SOCKET_WRITEABLE : 0);

		/* curl may register a socket for neither (paused): watch it for reading */
		AddWaitEventToSet(wait_set, ev ? ev : WL_SOCKET_READABLE, socks[i].fd, NULL,
						  (void *) (intptr_t) i);
	}
}

static int
latch_wait(void *arg, dci_http_socket *socks, int nsocks, int changed, long timeout_ms)
{
	WaitEvent	events[16];
	int			n;

	if (changed || wait_set == NULL || wait_set_size != nsocks)
		build_set(socks, nsocks);
	for (int i = 0; i < nsocks; i++)
		socks[i].events = 0;
	n = WaitEventSetWait(wait_set, timeout_ms, events, lengthof(events), dci_wait_event());
	for (int i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
			ResetLatch(MyLatch);
		else if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
		{
			int			k = (int) (intptr_t) events[i].user_data;

			if (k >= 0 && k < nsocks)
				socks[k].events = ((events[i].events & WL_SOCKET_READABLE) ? DCI_WAIT_READ : 0) |
					((events[i].events & WL_SOCKET_WRITEABLE) ? DCI_WAIT_WRITE : 0);
		}
	}
	/* the caller raises the error once the transfers are dropped */
	return (QueryCancelPending || ProcDiePending) ? -1 : 0;
}

static int
open_socket(void *arg)
{
	return AcquireExternalFD() ? 0 : -1;
}

static void
close_socket(void *arg)
{
	ReleaseExternalFD();
}

/* Install the hooks (once per process) and the current GUC values. */
void
dci_http_apply_config(void)
{
	static bool hooked = false;
	dci_http_config cfg;

	if (!hooked)
	{
		dci_http_hooks h = {latch_wait, open_socket, close_socket, NULL};

		dci_http_set_hooks(&h);
		hooked = true;
	}
	cfg.connect_timeout_ms = dci_connect_timeout_ms;
	cfg.max_response_bytes = (size_t) dci_max_response_kb * 1024;
	cfg.max_host_connections = dci_max_host_connections;
	cfg.ca_file = dci_ca_file;
	dci_http_configure(&cfg);
}
