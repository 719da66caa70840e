/*
 * listener.c - the DCI callback endpoint: a background worker that serves
 * HTTP (libmicrohttpd) and ingests the callbacks registries POST to it.
 *
 * PostgreSQL backend code is not thread-safe, so libmicrohttpd runs without
 * threads of its own: its epoll descriptor sits in the worker's
 * WaitEventSet next to the latch, and MHD_run is called from the main loop.
 * The HTTP callbacks below only collect bodies (malloc, never palloc or
 * ereport: an ERROR must not unwind through libmicrohttpd) and suspend the
 * connection; the main loop then ingests every collected body in one
 * transaction, one subtransaction per callback, commits, and only then
 * queues each acknowledgement and resumes its connection.
 *
 * Nothing from the network is trusted before dci_inbox_ingest has checked
 * the signature: this file only bounds what a client can make the worker
 * hold (body size, buffered bytes, connections, time) and maps refusals to
 * SPDCI error acks.
 */
#include "postgres.h"

#include <netdb.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "dci.h"
#include "inbox.h"

/* keys.c: the SQL function whose answer GET /.well-known/jwks.json serves */
extern Datum dci_jwks(PG_FUNCTION_ARGS);

PGDLLEXPORT void dci_listener_main(Datum main_arg);

/* GUCs */
static int	listener_port = 0;
static char *listener_address = NULL;
static char *listener_database = NULL;
static int	listener_max_connections = 64;
static int	listener_timeout = 30;
static char *listener_tls_cert_file = NULL;
static char *listener_tls_key_file = NULL;

/* Callbacks ingested in one transaction: under the 64 subxids a PGPROC caches. */
#define BATCH_MAX 32
/* Bodies held at once, in units of dci.max_response_size. */
#define BUFFER_FACTOR 4
/* Seconds between attempts to bind the port. */
#define RETRY_SECONDS 10
/* Seconds between two "database not ready" warnings. */
#define NOT_READY_LOG_SECONDS 60
/* A transaction waits this long for a lock before the batch answers 503. */
#define LOCK_TIMEOUT "5s"
#define TLS_FILE_MAX (1024 * 1024)
#define JWKS_PATH "/.well-known/jwks.json"
/* 413: its libmicrohttpd constant was renamed between versions */
#define HTTP_TOO_LARGE 413

typedef enum lreq_kind
{
	REQ_CALLBACK,
	REQ_JWKS
} lreq_kind;

/* One open TCP connection (the deadline applies per request on it). */
typedef struct lconn
{
	struct lconn *prev;
	struct lconn *next;
	int			fd;
	int64		since_ms;		/* opened, or last answer queued */
	bool		busy;			/* suspended while the database works for it */
	bool		killed;			/* shut down for being too slow */
} lconn;

/* One HTTP request: its body while it arrives, then its answer. */
typedef struct lreq
{
	struct lreq *next;			/* in the pending list */
	struct MHD_Connection *conn;
	lconn	   *lc;
	lreq_kind	kind;
	char	   *body;			/* malloc'd, NUL-terminated */
	size_t		len;
	size_t		cap;			/* counted in buffered_bytes */
	int			status;			/* HTTP status of the answer */
	char	   *reply;			/* malloc'd answer body */
	size_t		reply_len;
} lreq;

/* What the daemon was started with: a change on SIGHUP restarts it. */
typedef struct listen_config
{
	char	   *address;
	int			port;
	int			max_connections;
	int			timeout;
	char	   *cert;			/* PEM contents, NULL without TLS */
	char	   *key;
} listen_config;

static struct MHD_Daemon *daemon_ = NULL;
static listen_config current;
static WaitEventSet *wait_set = NULL;
static lconn *conns = NULL;
static lreq *pending_head = NULL;
static lreq *pending_tail = NULL;
static size_t buffered_bytes = 0;
static MemoryContext batch_cxt = NULL;
static bool mhd_starting = false;
static bool conn_closed = false;	/* a connection closed during MHD_run */

static time_t failure_log_time = 0;
static int	failures_unlogged = 0;
static time_t not_ready_log_time = 0;

static int64
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What pg_stat_activity shows while the worker waits for requests. */
static uint32
listener_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 event = 0;

	if (event == 0)
		event = WaitEventExtensionNew("DciListener");
	return event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

static size_t
max_body(void)
{
	return (size_t) dci_max_response_kb * 1024;
}

/* ---- acknowledgements (malloc'd: built inside libmicrohttpd callbacks too) ---- */

/*
 * The SPDCI ack: {"message":{"ack_status":S,"correlation_id":C,
 * "timestamp":T[,"error":{"code":E,"message":M}]}}.  NULL only without
 * memory.
 */
static char *
make_ack(const char *ack_status, const char *correlation_id, const char *code,
		 const char *message, size_t *len)
{
	dbuf		b;
	char		ts[21];
	int			rc;

	dci_format_ts((long) time(NULL), ts);
	dbuf_init(&b);
	rc = dbuf_puts(&b, "{\"message\":{\"ack_status\":");
	rc |= dci_json_string(&b, ack_status);
	rc |= dbuf_puts(&b, ",\"correlation_id\":");
	rc |= dci_json_string(&b, correlation_id ? correlation_id : "");
	rc |= dbuf_puts(&b, ",\"timestamp\":");
	rc |= dci_json_string(&b, ts);
	if (code)
	{
		rc |= dbuf_puts(&b, ",\"error\":{\"code\":");
		rc |= dci_json_string(&b, code);
		rc |= dbuf_puts(&b, ",\"message\":");
		rc |= dci_json_string(&b, message ? message : "");
		rc |= dbuf_putc(&b, '}');
	}
	rc |= dbuf_puts(&b, "}}");
	if (rc != 0)
	{
		dbuf_free(&b);
		*len = 0;
		return NULL;
	}
	*len = b.len;
	return dbuf_steal(&b);
}

/* Queue status with body (malloc'd, taken over; NULL: an empty body). */
static enum MHD_Result
send_body(struct MHD_Connection *conn, lconn *lc, int status, char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		: MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
	{
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	if (lc)
		lc->since_ms = now_ms();
	return ret;
}

static enum MHD_Result
send_err(struct MHD_Connection *conn, lconn *lc, int status, const char *code, const char *message)
{
	size_t		len;
	char	   *body = make_ack("ERR", "", code, message, &len);

	return send_body(conn, lc, status, body, len);
}

/* ---- libmicrohttpd callbacks: no palloc, no ereport ---- */

static void
req_free(lreq *r)
{
	if (r == NULL)
		return;
	buffered_bytes -= r->cap;
	free(r->body);
	free(r->reply);
	free(r);
}

static void
req_drop_body(lreq *r)
{
	buffered_bytes -= r->cap;
	free(r->body);
	r->body = NULL;
	r->cap = r->len = 0;
}

/* Make room for extra more bytes (and the NUL), within the buffer budget. */
static bool
req_reserve(lreq *r, size_t extra)
{
	size_t		need = r->len + extra + 1;
	size_t		ncap;
	char	   *nb;

	if (need <= r->cap)
		return true;
	ncap = r->cap ? r->cap : 8192;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max_body() + 1)
		ncap = max_body() + 1;
	if (ncap < need || buffered_bytes - r->cap + ncap > BUFFER_FACTOR * max_body())
		return false;
	nb = realloc(r->body, ncap);
	if (nb == NULL)
		return false;
	buffered_bytes += ncap - r->cap;
	r->body = nb;
	r->cap = ncap;
	return true;
}

static lconn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? (lconn *) ci->socket_context : NULL;
}

/* Hand a complete request to the main loop; the connection waits for it. */
static void
to_pending(struct MHD_Connection *conn, lreq *r)
{
	r->conn = conn;
	r->next = NULL;
	if (pending_tail)
		pending_tail->next = r;
	else
		pending_head = r;
	pending_tail = r;
	if (r->lc)
		r->lc->busy = true;
	MHD_suspend_connection(conn);
}

static const char *
reject_code(int status)
{
	return status == MHD_HTTP_SERVICE_UNAVAILABLE ? "err.service.unavailable" : "err.request.bad";
}

static const char *
reject_message(int status)
{
	return status == MHD_HTTP_SERVICE_UNAVAILABLE
		? "the listener is holding too many request bodies; retry later"
		: "request body larger than dci.max_response_size";
}

/* Is this a body worth a transaction: one JSON object, no NUL byte? */
static bool
looks_like_object(const lreq *r)
{
	size_t		i = 0;

	while (i < r->len && (r->body[i] == ' ' || r->body[i] == '\t' ||
						  r->body[i] == '\r' || r->body[i] == '\n'))
		i++;
	return i < r->len && r->body[i] == '{' && memchr(r->body, '\0', r->len) == NULL;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
		   const char *version, const char *upload_data, size_t *upload_data_size,
		   void **req_cls)
{
	lreq	   *r = *req_cls;

	if (r == NULL)
	{
		lconn	   *lc = conn_of(conn);
		const char *cl;
		unsigned long long clen = 0;

		/* headers are in: decide before any body byte is read */
		if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		{
			if (strcmp(url, JWKS_PATH) != 0)
				return send_err(conn, lc, MHD_HTTP_NOT_FOUND, "err.request.not_found",
								"only POST callbacks and GET " JWKS_PATH " are served here");
		}
		else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_err(conn, lc, MHD_HTTP_METHOD_NOT_ALLOWED, "err.request.bad",
							"method not allowed");
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl)
		{
			char	   *end;

			errno = 0;
			clen = strtoull(cl, &end, 10);
			if (errno != 0 || end == cl || *end != '\0')
				return send_err(conn, lc, MHD_HTTP_BAD_REQUEST, "err.request.bad",
								"bad Content-Length");
			if (clen > max_body())
				return send_err(conn, lc, HTTP_TOO_LARGE, reject_code(413),
								reject_message(413));
		}
		r = calloc(1, sizeof(lreq));
		if (r == NULL)
			return send_err(conn, lc, MHD_HTTP_SERVICE_UNAVAILABLE, reject_code(503),
							"out of memory");
		r->lc = lc;
		r->kind = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ? REQ_JWKS : REQ_CALLBACK;
		*req_cls = r;
		/* one allocation when the length is announced */
		if (r->kind == REQ_CALLBACK && clen > 0 && !req_reserve(r, (size_t) clen))
			return send_err(conn, lc, MHD_HTTP_SERVICE_UNAVAILABLE, reject_code(503),
							reject_message(503));
		return MHD_YES;
	}

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (r->kind != REQ_CALLBACK)
			return MHD_YES;		/* a GET body: ignored */

		/*
		 * A body sent without Content-Length that outgrows the limit: no
		 * answer can be queued in the middle of an upload, so the
		 * connection is closed rather than the rest read.
		 */
		if (r->len + n > max_body() || !req_reserve(r, n))
			return MHD_NO;
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}

	/* the whole request is in: answered from the main loop */
	if (r->kind == REQ_CALLBACK && !looks_like_object(r))
		return send_err(conn, r->lc, MHD_HTTP_BAD_REQUEST, "err.request.bad",
						"the body is not a JSON object");
	to_pending(conn, r);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	lreq	   *r = *req_cls;

	/* never while suspended: a pending request is still listed */
	req_free(r);
	*req_cls = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
	{
		lconn	   *lc = calloc(1, sizeof(lconn));
		const union MHD_ConnectionInfo *ci;

		if (lc == NULL)
			return;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		lc->fd = ci ? ci->connect_fd : -1;
		lc->since_ms = now_ms();
		lc->next = conns;
		if (conns)
			conns->prev = lc;
		conns = lc;
		*socket_context = lc;
	}
	else if (*socket_context)
	{
		lconn	   *lc = *socket_context;

		conn_closed = true;
		if (lc->prev)
			lc->prev->next = lc->next;
		else
			conns = lc->next;
		if (lc->next)
			lc->next->prev = lc->prev;
		free(lc);
		*socket_context = NULL;
	}
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];
	size_t		n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* per-connection complaints are a client's doing: not worth the log */
	ereport(mhd_starting ? LOG : DEBUG1,
			(errmsg("dci listener: libmicrohttpd: %s", buf)));
}

/* libmicrohttpd would abort(), which the postmaster treats as a crash of every backend. */
static void
on_mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	ereport(LOG,
			(errmsg("dci listener: libmicrohttpd failed at %s:%u: %s; restarting",
					file ? file : "?", line, reason ? reason : "")));
	proc_exit(1);
}

/* ---- the daemon ---- */

/* A whole small file, palloc'd in ctx, or NULL with the reason logged. */
static char *
read_small_file(const char *path, const char *what, MemoryContext ctx)
{
	FILE	   *f = AllocateFile(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("dci listener: could not open %s \"%s\": %m", what, path)));
		return NULL;
	}
	buf = MemoryContextAlloc(ctx, TLS_FILE_MAX + 1);
	n = fread(buf, 1, TLS_FILE_MAX + 1, f);
	FreeFile(f);
	if (n == 0 || n > TLS_FILE_MAX)
	{
		ereport(WARNING,
				(errmsg("dci listener: %s \"%s\" is empty or larger than %d bytes",
						what, path, TLS_FILE_MAX)));
		explicit_bzero(buf, TLS_FILE_MAX + 1);
		pfree(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static void
config_free(listen_config *c)
{
	if (c->address)
		pfree(c->address);
	if (c->cert)
		pfree(c->cert);
	if (c->key)
	{
		explicit_bzero(c->key, strlen(c->key));
		pfree(c->key);
	}
	memset(c, 0, sizeof(*c));
}

/* The configuration the GUCs ask for now; false when it cannot be served. */
static bool
config_read(listen_config *c)
{
	bool		cert_set = listener_tls_cert_file && listener_tls_cert_file[0];
	bool		key_set = listener_tls_key_file && listener_tls_key_file[0];

	memset(c, 0, sizeof(*c));
	c->address = MemoryContextStrdup(TopMemoryContext, listener_address);
	c->port = listener_port;
	c->max_connections = listener_max_connections;
	c->timeout = listener_timeout;
	if (cert_set != key_set)
	{
		/* never fall back to plain HTTP when TLS was asked for */
		ereport(WARNING,
				(errmsg("dci listener: dci.listener_tls_cert_file and dci.listener_tls_key_file must be set together; not serving")));
		return false;
	}
	if (cert_set)
	{
		c->cert = read_small_file(listener_tls_cert_file, "TLS certificate file", TopMemoryContext);
		c->key = read_small_file(listener_tls_key_file, "TLS key file", TopMemoryContext);
		if (c->cert == NULL || c->key == NULL)
			return false;
	}
	return true;
}

static bool
config_equal(const listen_config *a, const listen_config *b)
{
	return strcmp(a->address, b->address) == 0 && a->port == b->port &&
		a->max_connections == b->max_connections && a->timeout == b->timeout &&
		((a->cert == NULL && b->cert == NULL) ||
		 (a->cert && b->cert && strcmp(a->cert, b->cert) == 0)) &&
		((a->key == NULL && b->key == NULL) ||
		 (a->key && b->key && strcmp(a->key, b->key) == 0));
}

static void
rebuild_wait_set(void)
{
	if (wait_set)
		FreeWaitEventSet(wait_set);
#if PG_VERSION_NUM >= 170000
	wait_set = CreateWaitEventSet(NULL, 3);
#else
	wait_set = CreateWaitEventSet(TopMemoryContext, 3);
#endif
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (daemon_)
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);

		AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, di->epoll_fd, NULL, NULL);
	}
}

/* Bind and start serving current; false (logged) when it cannot. */
static bool
daemon_start(void)
{
	struct addrinfo hints;
	struct addrinfo *ai = NULL;
	char		portstr[16];
	const char *host = current.address;
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	int			rc;
	int			save_errno;

	Assert(daemon_ == NULL);
	if (current.port == 0)
		return true;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (strcmp(host, "*") == 0)
		host = "0.0.0.0";
	snprintf(portstr, sizeof(portstr), "%d", current.port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0 || ai == NULL)
	{
		ereport(WARNING,
				(errmsg("dci listener: could not resolve dci.listener_address \"%s\": %s",
						current.address, gai_strerror(rc))));
		return false;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (current.cert)
	{
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		{
			freeaddrinfo(ai);
			ereport(WARNING,
					(errmsg("dci listener: this libmicrohttpd has no TLS support; not serving")));
			return false;
		}
		flags |= MHD_USE_TLS;
	}
	mhd_starting = true;
	daemon_ = MHD_start_daemon(flags, (uint16_t) current.port, NULL, NULL, on_request, NULL,
							   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
							   MHD_OPTION_SOCK_ADDR, ai->ai_addr,
							   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) current.max_connections,
							   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) current.timeout,
							   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
							   MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
							   current.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, current.cert,
							   MHD_OPTION_HTTPS_MEM_KEY, current.key,
							   MHD_OPTION_END);
	save_errno = errno;
	mhd_starting = false;
	freeaddrinfo(ai);
	if (daemon_ == NULL)
	{
		errno = save_errno;
		ereport(WARNING,
				(errmsg("dci listener: could not listen on %s port %d%s: %m; retrying in %d s",
						current.address, current.port, current.cert ? " (TLS)" : "",
						RETRY_SECONDS)));
		return false;
	}
	ereport(LOG,
			(errmsg("dci listener: accepting DCI callbacks on %s port %d (%s), database \"%s\"",
					current.address, current.port, current.cert ? "HTTPS" : "HTTP",
					listener_database)));
	return true;
}

/* Only between batches: nothing is suspended then. */
static void
daemon_stop(void)
{
	Assert(pending_head == NULL);
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

/* ---- the database side ---- */

/*
 * ERROR unless the extension is installed at our version; make the
 * session the extension owner's, so that what the worker does (the
 * NOTIFY, anything a trigger on the inbox runs) is done as that role.
 */
static void
ensure_ready(void)
{
	Oid			owner;

	dci_check_schema_version();
	owner = dci_config_owner();
	if (owner != GetSessionUserId() || owner != GetUserId())
		(void) set_config_option("session_authorization", GetUserNameFromId(owner, false),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}

/* The refusal an ingestion ERROR becomes: HTTP status and SPDCI code. */
static int
classify(int sqlerrcode, const char **code)
{
	*code = "err.request.bad";
	if (sqlerrcode == ERRCODE_DCI_BAD_RESPONSE)
		return MHD_HTTP_BAD_REQUEST;
	if (sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		return HTTP_TOO_LARGE;
	/* bad bytes in the body: encoding, a \u0000, nesting too deep */
	if (ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		return MHD_HTTP_BAD_REQUEST;
	if (sqlerrcode == ERRCODE_DCI_SIGNATURE)
	{
		*code = "err.signature.invalid";
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (sqlerrcode == ERRCODE_DCI_AUTH)
	{
		*code = "err.sender.unknown";
		return MHD_HTTP_UNAUTHORIZED;
	}
	/* anything else is the database's trouble: the sender should retry */
	*code = "err.service.unavailable";
	return MHD_HTTP_SERVICE_UNAVAILABLE;
}

/*
 * correlation_id of a refused body, for its ERR ack: read with the bounded
 * parser (no ERROR possible), kept only when short and printable.
 */
static void
body_correlation_id(const lreq *r, char *out, size_t outlen)
{
	dci_response resp;
	char		err[64];
	const char *c;
	cj_limits	lim = {Max(100000, (long) dci_max_response_kb * 1024 / 4), 0};

	out[0] = '\0';
	if (r->body == NULL || dci_response_parse(r->body, r->len, &lim, &resp, err, sizeof(err)) != CJ_OK)
	{
		dci_response_free(&resp);
		return;
	}
	c = resp.correlation_id;
	if (c && strlen(c) < outlen)
	{
		const char *p;

		for (p = c; *p; p++)
			if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
				break;
		if (*p == '\0')
			strlcpy(out, c, outlen);
	}
	dci_response_free(&resp);
}

/*
 * Log one failed request, at most one line a second (a flood of bad
 * requests must not flood the log), counting the ones left out.
 */
static void
log_failure(int elevel, const char *what, const char *msg)
{
	time_t		now = time(NULL);

	if (now == failure_log_time)
	{
		failures_unlogged++;
		return;
	}
	failure_log_time = now;
	if (failures_unlogged > 0)
		ereport(elevel,
				(errmsg("dci listener: %s: %s (and %d more failed requests in the last second)",
						what, msg, failures_unlogged)));
	else
		ereport(elevel, (errmsg("dci listener: %s: %s", what, msg)));
	failures_unlogged = 0;
}

/* Fill r's answer from an ERROR raised while working on it. */
static void
answer_error(lreq *r, ErrorData *edata)
{
	const char *code;
	char		corr[64];
	char	   *msg;

	r->status = classify(edata->sqlerrcode, &code);
	if (r->status == MHD_HTTP_SERVICE_UNAVAILABLE)
	{
		/* the database's trouble: said in our log, not to the network */
		log_failure(WARNING, "could not store a callback", edata->message);
		msg = "the database cannot take the callback now; retry later";
	}
	else
	{
		msg = dci_sanitize(edata->message);
		log_failure(LOG, psprintf("refused a callback (%s)", code), msg);
	}
	body_correlation_id(r, corr, sizeof(corr));
	r->reply = make_ack("ERR", corr, code, msg, &r->reply_len);
}

static void
answer_jwks(lreq *r)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		d;
	Jsonb	   *jb;
	char	   *text;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = (Datum) 0;
	fcinfo->args[0].isnull = true;
	d = dci_jwks(fcinfo);
	jb = DatumGetJsonbP(d);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	r->reply = strdup(text);
	r->reply_len = r->reply ? strlen(r->reply) : 0;
	r->status = r->reply ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static void
answer_callback(lreq *r)
{
	dci_ingest_result res;

	memset(&res, 0, sizeof(res));
	(void) dci_inbox_ingest(r->body, r->len, DCI_VIA_LISTENER, &res);
	res.correlation_id[sizeof(res.correlation_id) - 1] = '\0';
	r->status = MHD_HTTP_OK;
	r->reply = make_ack("ACK", res.correlation_id, NULL, NULL, &r->reply_len);
}

/* One request in a subtransaction: its ERROR becomes its answer only. */
static void
work_one(lreq *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		if (r->kind == REQ_JWKS)
			answer_jwks(r);
		else
			answer_callback(r);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(batch_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		free(r->reply);
		r->reply = NULL;
		answer_error(r, edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* Answer every request of the batch with 503 (nothing of it is stored). */
static void
fail_batch(lreq **reqs, int n, const char *why)
{
	for (int i = 0; i < n; i++)
	{
		free(reqs[i]->reply);
		reqs[i]->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		reqs[i]->reply = make_ack("ERR", "", "err.service.unavailable", why, &reqs[i]->reply_len);
	}
}

/*
 * Ingest n requests in one transaction and commit.  The answers are sent
 * by the caller, after this returns: an ACK never leaves before its commit,
 * and a failed commit turns every answer into a 503.
 */
static void
run_batch(lreq **reqs, int n)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		pgstat_report_activity(STATE_RUNNING, "dci listener: ingesting callbacks");
		PushActiveSnapshot(GetTransactionSnapshot());
		ensure_ready();
		for (int i = 0; i < n; i++)
			work_one(reqs[i]);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		time_t		now = time(NULL);

		/* nothing of the batch is stored: every answer becomes a 503 */
		MemoryContextSwitchTo(batch_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		if (edata->sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE ||
			edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE)
		{
			if (now - not_ready_log_time >= NOT_READY_LOG_SECONDS)
			{
				not_ready_log_time = now;
				ereport(WARNING,
						(errmsg("dci listener: database \"%s\" is not ready for callbacks: %s",
								listener_database, edata->message),
						 errhint("Run CREATE EXTENSION dci (or ALTER EXTENSION dci UPDATE) in database \"%s\"; callbacks are answered 503 until then.",
								 listener_database)));
			}
			fail_batch(reqs, n, "the DCI extension is not ready in the listener's database; retry later");
		}
		else
		{
			ereport(WARNING,
					(errmsg("dci listener: could not commit %d callback(s): %s", n, edata->message)));
			fail_batch(reqs, n, "the database cannot take the callback now; retry later");
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(batch_cxt);
}

/* Ingest what libmicrohttpd collected, then answer and resume each. */
static void
drain_pending(void)
{
	while (pending_head)
	{
		lreq	   *reqs[BATCH_MAX];
		int			n = 0;

		while (pending_head && n < BATCH_MAX)
		{
			lreq	   *r = pending_head;

			pending_head = r->next;
			r->next = NULL;
			reqs[n++] = r;
		}
		if (pending_head == NULL)
			pending_tail = NULL;

		MemoryContextSwitchTo(batch_cxt);
		run_batch(reqs, n);

		for (int i = 0; i < n; i++)
		{
			lreq	   *r = reqs[i];
			char	   *body = r->reply;

			r->reply = NULL;
			req_drop_body(r);
			if (r->status == 0)
				r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			/* a suspended connection may be given its response at any moment */
			(void) send_body(r->conn, r->lc, r->status, body, r->reply_len);
			if (r->lc)
				r->lc->busy = false;
			MHD_resume_connection(r->conn);
		}
	}
}

/*
 * Slow senders: a connection must bring each whole request within
 * dci.listener_timeout of opening or of its previous answer.  Shutting the
 * socket down makes libmicrohttpd see the end and close it cleanly.
 */
static void
sweep_slow(void)
{
	int64		now = now_ms();

	for (lconn *lc = conns; lc; lc = lc->next)
		if (!lc->busy && !lc->killed && lc->fd >= 0 &&
			now - lc->since_ms > (int64) current.timeout * 1000)
		{
			lc->killed = true;
			(void) shutdown(lc->fd, SHUT_RDWR);
		}
}

/*
 * Apply the GUCs: the daemon restarts only when its settings changed (or
 * when it is not running).  False when it should be running but is not
 * because it could not bind: worth another try later.  A configuration
 * that cannot be served (TLS half set, unreadable files) waits for the
 * next reload instead.
 */
static bool
reconfigure(void)
{
	listen_config next;
	bool		ok = config_read(&next);
	bool		bound = true;

	if (ok && daemon_ && config_equal(&next, &current))
	{
		config_free(&next);
		return true;
	}
	daemon_stop();
	config_free(&current);
	current = next;
	if (ok)
		bound = daemon_start();
	rebuild_wait_set();
	return bound;
}

/* Commits are acknowledged to a remote party: never asynchronous. */
static void
set_session_options(void)
{
	const char *sc = GetConfigOptionResetString("synchronous_commit");

	SetConfigOption("synchronous_commit",
					(sc && strcmp(sc, "off") == 0) ? "local" : sc,
					PGC_SUSET, PGC_S_SESSION);
	SetConfigOption("lock_timeout", LOCK_TIMEOUT, PGC_SUSET, PGC_S_SESSION);
}

void
dci_listener_main(Datum main_arg)
{
	char	   *start_database;
	time_t		last_try = 0;
	bool		retry_bind = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	start_database = pstrdup(listener_database);
	BackgroundWorkerInitializeConnection(start_database, NULL, 0);
	pgstat_report_appname("dci listener");
	set_session_options();

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "dci listener batch",
									  ALLOCSET_DEFAULT_SIZES);
	MHD_set_panic_func(on_mhd_panic, NULL);

	/* say now, not at the first callback, when the database is not ready */
	MemoryContextSwitchTo(batch_cxt);
	run_batch(NULL, 0);

	memset(&current, 0, sizeof(current));
	retry_bind = !reconfigure();
	last_try = time(NULL);

	for (;;)
	{
		WaitEvent	ev;
		long		timeout = -1;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* another database needs another process: let the postmaster start it */
			if (strcmp(start_database, listener_database) != 0)
			{
				ereport(LOG,
						(errmsg("dci listener: dci.listener_database changed to \"%s\"; restarting",
								listener_database)));
				proc_exit(1);
			}
			set_session_options();
			retry_bind = !reconfigure();
			last_try = time(NULL);
		}
		if (retry_bind && time(NULL) - last_try >= RETRY_SECONDS)
		{
			retry_bind = !reconfigure();
			last_try = time(NULL);
		}

		if (daemon_)
		{
			MHD_UNSIGNED_LONG_LONG mhd_timeout;

			/*
			 * At its connection limit libmicrohttpd takes the listening
			 * socket out of its epoll set, and puts it back only in the run
			 * after one closed: run again, or new connections would wait for
			 * some unrelated event.
			 */
			conn_closed = false;
			(void) MHD_run(daemon_);
			if (conn_closed)
				(void) MHD_run(daemon_);
			if (pending_head)
			{
				drain_pending();
				/* the answers go out, and new requests come in, at the next MHD_run */
				continue;
			}
			sweep_slow();
			/* at least once a second: slow senders are swept */
			timeout = 1000;
			if (MHD_get_timeout(daemon_, &mhd_timeout) == MHD_YES && mhd_timeout < 1000)
				timeout = (long) mhd_timeout;
		}
		else if (retry_bind)
			timeout = RETRY_SECONDS * 1000L;

		(void) WaitEventSetWait(wait_set, timeout, &ev, 1, listener_wait_event());
		ResetLatch(MyLatch);
	}
}

/* ---- registration ---- */

static bool
check_nonempty(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("The value must not be empty.");
		return false;
	}
	return true;
}

void
dci_listener_init(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("dci.listener_port",
							"TCP port of the DCI callback listener (0: no listener).",
							"Turning the listener on from 0 needs a server restart; other changes apply on reload.",
							&listener_port, 0, 0, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("dci.listener_address",
							   "Address the DCI callback listener binds to ('*': every IPv4 address).",
							   NULL, &listener_address, "127.0.0.1",
							   PGC_SIGHUP, 0, check_nonempty, NULL, NULL);
	DefineCustomStringVariable("dci.listener_database",
							   "Database whose dci.inbox the callback listener writes to.",
							   NULL, &listener_database, "postgres",
							   PGC_SIGHUP, 0, check_nonempty, NULL, NULL);
	DefineCustomIntVariable("dci.listener_max_connections",
							"Most connections the callback listener keeps open at once.",
							NULL, &listener_max_connections, 64, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.listener_timeout",
							"Time a sender has to deliver each whole request to the callback listener.",
							"Idle keep-alive connections are closed after it too.",
							&listener_timeout, 30, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("dci.listener_tls_cert_file",
							   "TLS certificate (PEM) of the callback listener; with the key file, it serves HTTPS.",
							   NULL, &listener_tls_cert_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("dci.listener_tls_key_file",
							   "TLS private key (PEM) of the callback listener.",
							   NULL, &listener_tls_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress || listener_port == 0)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dci");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dci_listener_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dci listener");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dci listener");
	RegisterBackgroundWorker(&worker);
}
