/*
 * http_server.c - libmicrohttpd glue: body collection, routing, the delay
 * and drip faults (suspend/resume, so a slow answer does not stall other
 * clients on the same thread), streamed bodies, connection resets,
 * per-request logging and connection counting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http_server.h"
#include "registry.h"

typedef struct conn_ctx
{
	bool		counted;		/* made a non-admin request: counts as a connection */
} conn_ctx;

typedef struct req_ctx
{
	dbuf		body;
	bool		too_large;
	bool		have_reply;		/* computed, waiting out a delay */
	bool		admin;			/* not counted in the stats */
	bool		again;			/* suspended: route again when resumed (admin waits) */
	int			delay_ms;
	struct timespec start;
	reply		rep;
	char		label[200];		/* method and url, for the log line */
} req_ctx;

static struct MHD_Daemon *daemon_;

/* ------------------------------------------------------------ delay queue */

typedef struct delayed
{
	struct delayed *next;
	struct timespec due;
	struct MHD_Connection *conn;
} delayed;

static pthread_mutex_t dq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dq_cond;
static delayed *dq_head;		/* sorted by due */
static bool dq_stop;
static pthread_t dq_thread;

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *
dq_main(void *arg)
{
	pthread_mutex_lock(&dq_lock);
	for (;;)
	{
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		while (dq_head && (dq_stop || !ts_before(&now, &dq_head->due)))
		{
			delayed    *d = dq_head;

			dq_head = d->next;
			MHD_resume_connection(d->conn);
			free(d);
		}
		if (dq_stop)
			break;
		if (dq_head)
			pthread_cond_timedwait(&dq_cond, &dq_lock, &dq_head->due);
		else
			pthread_cond_wait(&dq_cond, &dq_lock);
	}
	pthread_mutex_unlock(&dq_lock);
	return NULL;
}

static void
dq_add(struct MHD_Connection *conn, int ms)
{
	delayed    *d = malloc(sizeof(delayed)),
			  **p;

	if (d == NULL)
	{
		MHD_resume_connection(conn);	/* no memory: answer now rather than never */
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->due);
	d->due.tv_sec += ms / 1000;
	d->due.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (d->due.tv_nsec >= 1000000000L)
	{
		d->due.tv_sec++;
		d->due.tv_nsec -= 1000000000L;
	}
	d->conn = conn;
	pthread_mutex_lock(&dq_lock);
	for (p = &dq_head; *p && !ts_before(&d->due, &(*p)->due); p = &(*p)->next)
		;
	d->next = *p;
	*p = d;
	pthread_cond_signal(&dq_cond);
	pthread_mutex_unlock(&dq_lock);
}

/* ---------------------------------------------------------------- replies */

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Reset the TCP connection now (RST, not FIN): connect() with AF_UNSPEC makes
 * Linux abort the connection (tcp_disconnect) while the descriptor stays
 * MHD's; SO_LINGER 0 makes MHD's own close reset it too, on any system.
 */
static void
conn_reset(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct linger lg = {1, 0};
	struct sockaddr sa;

	if (ci == NULL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void) connect(ci->connect_fd, &sa, sizeof(sa));
	STAT_ADD(resets, 1);
}

/* A body served by a content reader: streamed, dripped, or cut by a reset. */
typedef struct stream_ctx
{
	struct MHD_Connection *conn;
	vbody	   *body;
	dbuf		hold;			/* a plain body, which body's one segment points into */
	int			drip_ms;
	uint64_t	reset_at;		/* UINT64_MAX: never */
	bool		paused;			/* the pause before this read was taken */
} stream_ctx;

#define DRIP_CHUNK 16

static void
stream_pause(stream_ctx *sc, int ms)
{
	sc->paused = true;
	MHD_suspend_connection(sc->conn);
	dq_add(sc->conn, ms);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream_ctx *sc = cls;
	uint64_t	sent = sc->body->rpos;
	size_t		n;

	if (sent >= sc->reset_at)
	{
		/* let the part already sent reach the client, then reset */
		if (!sc->paused)
		{
			stream_pause(sc, 100);
			return 0;
		}
		conn_reset(sc->conn);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (sc->drip_ms > 0 && sent > 0 && !sc->paused)
	{
		stream_pause(sc, sc->drip_ms);
		return 0;
	}
	sc->paused = false;
	if (sc->drip_ms > 0 && max > DRIP_CHUNK)
		max = DRIP_CHUNK;
	if (sc->reset_at != UINT64_MAX && max > sc->reset_at - sent)
		max = (size_t) (sc->reset_at - sent);
	n = vbody_read(sc->body, buf, max);
	return n > 0 ? (ssize_t) n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
stream_free(void *cls)
{
	stream_ctx *sc = cls;

	vbody_free(sc->body);
	free(sc->body);
	dbuf_free(&sc->hold);
	free(sc);
}

static struct MHD_Response *
stream_response(struct MHD_Connection *conn, reply *r)
{
	stream_ctx *sc = calloc(1, sizeof(stream_ctx));
	struct MHD_Response *resp;

	if (sc == NULL)
		return NULL;
	sc->conn = conn;
	dbuf_init(&sc->hold);
	if (r->stream)
	{
		sc->body = r->stream;
		r->stream = NULL;
	}
	else
	{
		sc->body = malloc(sizeof(vbody));
		if (sc->body == NULL)
		{
			free(sc);
			return NULL;
		}
		vbody_init(sc->body);
		sc->hold = r->body;		/* take the buffer: no copy */
		dbuf_init(&r->body);
		vbody_add(sc->body, sc->hold.data, sc->hold.len, 1);
	}
	sc->drip_ms = r->drip_ms;
	sc->reset_at = r->reset_body ? sc->body->total / 2 : UINT64_MAX;
	resp = MHD_create_response_from_callback(sc->body->total, 64 * 1024, stream_read, sc, stream_free);
	if (resp == NULL)
		stream_free(sc);
	return resp;
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, req_ctx *ctx)
{
	reply	   *r = &ctx->rep;
	size_t		len;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int			status = r->status ? r->status : 500;

	if (!ctx->admin && status >= 100 && status < 600)
		STAT_ADD(status_counts[status], 1);
	if (r->reset)
	{
		/* before any byte of the answer: MHD_NO closes what conn_reset aborted */
		conn_reset(conn);
		if (!g_reg.quiet)
			fprintf(stderr, "dci-registry: %s -> connection reset (%.2f ms)\n",
					ctx->label, ms_since(&ctx->start));
		return MHD_NO;
	}
	if (r->stream || r->drip_ms > 0 || r->reset_body)
	{
		len = r->stream ? (size_t) r->stream->total : r->body.len;
		resp = stream_response(conn, r);
	}
	else
	{
		char	   *data;

		len = r->body.len;
		data = dbuf_steal(&r->body);
		resp = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
			: MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			free(data);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "application/json");
	if (r->www_auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->has_retry_after)
	{
		char		ra[24];

		snprintf(ra, sizeof(ra), "%ld", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	if (!g_reg.quiet)
		fprintf(stderr, "dci-registry: %s -> %d (%zu bytes, %.2f ms)\n",
				ctx->label, status, len, ms_since(&ctx->start));
	return ret;
}

/* --------------------------------------------------------------- routing */

const char *
request_arg(const request *rq, const char *name)
{
	return rq->conn ? MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

static void
count_connection(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_ctx   *cc = ci ? ci->socket_context : NULL;

	if (cc && !cc->counted)
	{
		cc->counted = true;
		STAT_ADD(connections, 1);
	}
}

static void
route(struct MHD_Connection *conn, const char *url, const char *method, req_ctx *ctx)
{
	opts		o;
	request		rq = {0};
	reply	   *r = &ctx->rep;
	const char *path = url;
	const char *rest;
	char		err[200];

	opts_parse("", 0, &o, err, sizeof(err));
	if (strncmp(path, "/opt/", 5) == 0)
	{
		const char *end = strchr(path + 5, '/');

		if (end == NULL || opts_parse(path + 5, end - (path + 5), &o, err, sizeof(err)) < 0)
		{
			reply_error(r, 400, "err.request.bad", end ? err : "/opt/<list> must be followed by a path");
			return;
		}
		path = end;
	}
	if (o.key[0] && strncmp(path, "/admin/", 7) != 0)
	{
		/* failfirst=N,key=K: the first N requests with key K get the faults, later ones not */
		long		rank = counters_hit(o.key);

		if (o.failfirst > 0 && rank > o.failfirst)
			opts_strip_faults(&o);
		else if (o.failfirst > 0)
			counters_faulted(o.key);
	}
	rq.method = method;
	rq.path = path;
	rq.o = &o;
	rq.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	rq.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.query_alg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "alg");
	rq.conn = conn;
	rq.query_client_id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "client_id");
	rq.query_client_secret = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "client_secret");
	rq.subscription_code = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-DCI-Subscription-Code");
	rq.body = ctx->body.data;
	rq.len = ctx->body.len;

	if (strncmp(path, "/sink/", 6) == 0 || strcmp(path, "/sink") == 0)
	{
		/* the registry's own callback receiver: not counted, faults apply */
		ctx->admin = true;
		handle_sink(&rq, r);
		faults_apply(&o, r);
		ctx->delay_ms = o.delay_ms;
		return;
	}
	if (strncmp(path, "/admin/", 7) == 0)
	{
		/* admin calls are not counted: tests read the stats with them */
		ctx->admin = true;
		rq.started = &ctx->start;
		handle_admin(&rq, r);
		faults_apply(&o, r);
		return;
	}
	STAT_ADD(requests, 1);
	count_connection(conn);
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Injected"))
		STAT_ADD(injected_headers, 1);	/* a header smuggled in through a token (crlftoken) */
	if (o.always401)
	{
		reply_error(r, 401, "err.auth.invalid", "rejected by the 401 option");
		r->www_auth = true;
		STAT_ADD(rejected, 1);
	}
	else if (strcmp(path, "/.well-known/jwks.json") == 0)
		handle_jwks(&rq, r);
	else if (strcmp(path, "/oauth2/client/token") == 0)
		handle_token(&rq, r);
	else if ((rq.view = fixtures_view_by_prefix(path, &rest)) != NULL)
	{
		rq.endpoint = rest;
		if (strcmp(rest, "/oauth2/client/token") == 0)
			handle_token(&rq, r);
		else if (strcmp(rest, "/.well-known/jwks.json") == 0)
			handle_jwks(&rq, r);
		else
			handle_registry(&rq, r);
	}
	else
		reply_error(r, 404, "err.request.not_found", "no such path (registries: /crvs /ibr /dr /opencrvs)");
	faults_apply(&o, r);
	ctx->delay_ms = o.delay_ms;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			   const char *version, const char *upload_data, size_t *upload_data_size,
			   void **con_cls)
{
	req_ctx    *ctx = *con_cls;

	if (ctx == NULL)
	{
		const char *cl;

		ctx = calloc(1, sizeof(req_ctx));
		if (ctx == NULL)
			return MHD_NO;
		dbuf_init(&ctx->body);
		dbuf_init(&ctx->rep.body);
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		snprintf(ctx->label, sizeof(ctx->label), "%s %s", method, url);
		*con_cls = ctx;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > REG_MAX_BODY)
		{
			/* refuse before reading: MHD closes the connection after this */
			reply_error(&ctx->rep, 413, "err.request.bad", "request body over 16 MB");
			return send_reply(conn, ctx);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		if (ctx->body.len + *upload_data_size > REG_MAX_BODY)
			ctx->too_large = true;
		if (!ctx->too_large && dbuf_append(&ctx->body, upload_data, *upload_data_size) < 0)
			ctx->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (ctx->have_reply)
		return send_reply(conn, ctx);	/* resumed after a delay */
	if (ctx->again)
	{
		/* an admin call waiting for something: ask again */
		ctx->again = false;
		reply_reset(&ctx->rep);
	}
	if (ctx->too_large)
	{
		reply_error(&ctx->rep, 413, "err.request.bad", "request body over 16 MB");
		return send_reply(conn, ctx);
	}
	route(conn, url, method, ctx);
	if (ctx->rep.again_ms > 0)
	{
		ctx->again = true;
		MHD_suspend_connection(conn);
		dq_add(conn, ctx->rep.again_ms);
		return MHD_YES;
	}
	if (ctx->delay_ms > 0)
	{
		/* suspend before queueing: the delay thread may resume at once */
		ctx->have_reply = true;
		MHD_suspend_connection(conn);
		dq_add(conn, ctx->delay_ms);
		return MHD_YES;
	}
	return send_reply(conn, ctx);
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
				  enum MHD_RequestTerminationCode toe)
{
	req_ctx    *ctx = *con_cls;

	if (ctx)
	{
		dbuf_free(&ctx->body);
		dbuf_free(&ctx->rep.body);
		if (ctx->rep.stream)
		{
			vbody_free(ctx->rep.stream);
			free(ctx->rep.stream);
		}
		free(ctx);
		*con_cls = NULL;
	}
}

static void
connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
				  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(conn_ctx));
	else
	{
		free(*socket_context);
		*socket_context = NULL;
	}
}

int
http_start(int port, int threads, int *bound_port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	unsigned	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *di;
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dq_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&dq_thread, NULL, dq_main, NULL) != 0)
	{
		snprintf(err, errlen, "cannot start the delay thread");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);	/* a test server: loopback only */
	if (!g_reg.quiet)
		flags |= MHD_USE_ERROR_LOG;
	daemon_ = MHD_start_daemon(flags, (uint16_t) port, NULL, NULL, access_handler, NULL,
							   MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
							   MHD_OPTION_THREAD_POOL_SIZE, (unsigned) (threads > 1 ? threads : 0),
							   MHD_OPTION_CONNECTION_LIMIT, (unsigned) 10000,
							   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 300,
							   MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024,
							   MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
							   MHD_OPTION_NOTIFY_CONNECTION, connection_notify, NULL,
							   MHD_OPTION_END);
	if (daemon_ == NULL)
	{
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
		return -1;
	}
	di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = di ? di->port : port;
	return 0;
}

void
http_stop(void)
{
	/* resume every delayed connection first: MHD will not stop with suspended ones */
	pthread_mutex_lock(&dq_lock);
	dq_stop = true;
	pthread_cond_signal(&dq_cond);
	pthread_mutex_unlock(&dq_lock);
	pthread_join(dq_thread, NULL);
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
