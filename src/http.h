/*
 * http.h - HTTP transport for dci (libcurl), no PostgreSQL headers.
 *
 * One curl multi handle per process holds the connection cache, so every
 * request (a single lookup or a batch of envelopes) reuses keep-alive
 * connections and TLS sessions across calls and rows.  Requests run in a
 * poll loop that asks the caller every few milliseconds whether to give up,
 * which is how query cancel and statement_timeout stop them at once.
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

typedef struct dci_http_request
{
	const char *url;
	const char *body;			/* POST body; NULL: GET */
	size_t		body_len;
	const char *content_type;	/* default application/json */
	const char *bearer;			/* Authorization: Bearer ...; NULL: none */
	const char *authorization;	/* whole Authorization value when bearer is NULL */
	long		timeout_ms;		/* whole request */
	int			verify_tls;
	int			forbid_reuse;	/* fresh connection (benchmarks only) */
} dci_http_request;

typedef struct dci_http_response
{
	dci_http_result result;
	long		status;			/* HTTP status, 0 when none */
	dbuf		body;			/* caller frees with dci_http_response_free */
	char		content_type[128];
	char		error[128];		/* short reason on failure, e.g. "Couldn't connect to server" */
	char		detail[256];	/* curl's full message (timings, host, port; no secrets) */
	double		seconds;
} dci_http_response;

typedef int (*dci_abort_check) (void *arg);

/* Set once per process (and again when the GUCs change). */
void		dci_http_configure(const dci_http_config *cfg);

/*
 * Perform n requests, at most max_parallel at a time (<= 0: all), filling
 * resp[i] for req[i].  Returns DCI_HTTP_ABORTED if abort_check said stop
 * (every transfer is then removed at once), DCI_HTTP_INTERNAL on setup
 * failure, else DCI_HTTP_OK (each response has its own result).
 */
dci_http_result dci_http_perform(const dci_http_request *req,
								 dci_http_response *resp, int n,
								 int max_parallel,
								 dci_abort_check abort_check, void *arg);

/*
 * Called as each transfer finishes, while the others stay in flight, so the
 * caller's work on one answer overlaps the registry's work on the next.
 * index is the request's position.  If it does not return (a longjmp), the
 * caller must call dci_http_reset_transfers before the next perform.
 */
typedef void (*dci_http_done) (void *arg, int index);

dci_http_result dci_http_perform_cb(const dci_http_request *req,
									dci_http_response *resp, int n,
									int max_parallel,
									dci_abort_check abort_check, void *arg,
									dci_http_done done, void *done_arg);
/* Drop every transfer still attached (their connections are closed). */
void		dci_http_reset_transfers(void);

void		dci_http_response_init(dci_http_response *r);
void		dci_http_response_free(dci_http_response *r);
const char *dci_http_result_name(dci_http_result r);

/* Connections opened by this process so far (for tests of reuse). */
long		dci_http_connections_opened(void);
/* Drop the connection cache and every handle (at exit, or to reset). */
void		dci_http_shutdown(void);

#endif
