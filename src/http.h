/*
 * http.h - HTTP transport for dci (libcurl), no PostgreSQL headers.
 *
 * One curl multi handle per process holds the connection cache, so every
 * request (a single lookup or a batch of envelopes) reuses keep-alive
 * connections and TLS sessions across calls and rows.  The transport never
 * sleeps on its own: it hands its sockets and its timer to a wait hook (the
 * glue waits on them together with the backend's latch), so a cancel, a
 * statement_timeout or postmaster death stops a request at once.
 */
#ifndef DCI_HTTP_H
#define DCI_HTTP_H

#include <stddef.h>

#include "dbuf.h"

typedef struct dci_http_config
{
	long		connect_timeout_ms;
	size_t		max_response_bytes;
	long		max_host_connections;	/* 0: curl's default (unlimited) */
	const char *ca_file;		/* NULL: system bundle */
} dci_http_config;

typedef enum dci_http_result
{
	DCI_HTTP_OK = 0,			/* a response arrived (any HTTP status) */
	DCI_HTTP_NETWORK,			/* connect, DNS, TLS, reset ... */
	DCI_HTTP_TIMEOUT,
	DCI_HTTP_TOO_BIG,			/* body over max_response_bytes */
	DCI_HTTP_ABORTED,			/* the caller's abort check said stop */
	DCI_HTTP_BAD_URL,			/* not http(s), or unparsable */
	DCI_HTTP_INTERNAL			/* out of memory, curl setup failure */
} dci_http_result;

/* Where a failed transfer stopped: what a retry and a message need to know. */
typedef enum dci_http_stage
{
	DCI_STAGE_NONE,				/* no failure */
	DCI_STAGE_CONNECT,			/* no connection (refused, DNS, connect timeout) */
	DCI_STAGE_TLS,				/* TCP up, TLS handshake not done */
	DCI_STAGE_WAIT,				/* request sent, no response byte yet */
	DCI_STAGE_BODY				/* part of the response arrived, then it broke */
} dci_http_stage;

typedef struct dci_http_request
{
	const char *url;
	const char *body;			/* POST body; NULL: GET */
	size_t		body_len;
	const char *content_type;	/* default application/json */
	const char *bearer;			/* Authorization: Bearer ...; NULL: none */
	const char *authorization;	/* whole Authorization value when bearer is NULL */
	long		timeout_ms;		/* this attempt, from the moment it is started */
	int			verify_tls;
	int			forbid_reuse;	/* fresh connection (benchmarks only) */
} dci_http_request;

typedef struct dci_http_response
{
	dci_http_result result;
	dci_http_stage stage;		/* with a failure: how far it got */
	long		status;			/* HTTP status, 0 when none */
	dbuf		body;			/* caller frees with dci_http_response_free */
	char		content_type[128];
	long		retry_after;	/* seconds of a Retry-After header (delta form), -1 none */
	char		error[256];		/* the cause, e.g. "SSL certificate problem: certificate has expired" */
	double		seconds;
	long long	done_ms;		/* dci_http_now_ms() when it finished */
} dci_http_response;

/* What the wait hook waits for. */
#define DCI_WAIT_READ	1
#define DCI_WAIT_WRITE	2

typedef struct dci_http_socket
{
	int			fd;
	int			events;			/* DCI_WAIT_* wanted; on return, those ready */
} dci_http_socket;

typedef struct dci_http_hooks
{
	/*
	 * Wait until a socket is ready (set socks[i].events to what is ready,
	 * 0 for the others) or timeout_ms passes (-1: no timeout).  changed is
	 * nonzero when the set of sockets differs from the previous call.
	 * Returns 0, or -1 to abort every transfer (a cancel is pending).
	 */
	int			(*wait) (void *arg, dci_http_socket *socks, int nsocks, int changed,
						 long timeout_ms);
	/* a socket is about to be opened: 0 allows it, -1 refuses (no fd left) */
	int			(*open_socket) (void *arg);
	void		(*close_socket) (void *arg);
	void	   *arg;
} dci_http_hooks;

/* Set once per process (and again when the GUCs change). */
void		dci_http_configure(const dci_http_config *cfg);
void		dci_http_set_hooks(const dci_http_hooks *hooks);

/*
 * One transfer, owned by the caller for the length of a run.  The caller
 * fills req; the transport fills resp.
 */
typedef struct dci_http_xfer
{
	dci_http_request req;
	dci_http_response resp;
	void	   *tag;			/* the caller's */
	long long	due_ms;			/* not before (dci_http_now_ms); 0: now */
	/* private to http.c */
	int			slot;
} dci_http_xfer;

typedef struct dci_http_ops
{
	/* the next transfer to start (held until its due_ms), or NULL when there is none now */
	dci_http_xfer *(*next) (void *arg);

	/*
	 * A transfer finished (resp filled).  Return -1 when it is final, or a
	 * delay in ms after which the transport sends it again (the caller may
	 * have rewritten x->req meanwhile; resp is reset before the resend).
	 */
	long		(*done) (void *arg, dci_http_xfer *x);

	/*
	 * Optional: called just before x goes on the wire (after any wait), so
	 * that what must be fresh (a token) is taken then.  Returns 0, or -1 to
	 * finish x without sending it (done() then sees resp.result INTERNAL).
	 */
	int			(*start) (void *arg, dci_http_xfer *x);
} dci_http_ops;

/*
 * Run transfers, at most max_parallel at a time, until next() has no more
 * and none is in flight or waiting to be resent.  DCI_HTTP_ABORTED when the
 * wait hook said stop (every transfer is dropped), DCI_HTTP_INTERNAL on a
 * curl failure, else DCI_HTTP_OK.  If done() does not return (a longjmp),
 * call dci_http_reset_transfers before the next run.  A run may be started
 * from inside done() (a token fetch): it uses a second connection cache.
 */
dci_http_result dci_http_run(const dci_http_ops *ops, void *arg, int max_parallel);

/* n independent requests, each final on its first answer (no resend). */
dci_http_result dci_http_perform(const dci_http_request *req, dci_http_response *resp, int n,
								 int max_parallel);

/* Drop every transfer still attached (their connections are closed). */
void		dci_http_reset_transfers(void);

void		dci_http_response_init(dci_http_response *r);
void		dci_http_response_free(dci_http_response *r);
const char *dci_http_result_name(dci_http_result r);

/* Connections opened by this process so far (for tests of reuse). */
long		dci_http_connections_opened(void);
/* Drop the connection cache and every handle (at exit, or to reset). */
void		dci_http_shutdown(void);

/* Monotonic milliseconds. */
long long	dci_http_now_ms(void);

#endif
