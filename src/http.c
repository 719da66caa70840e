/*
 * http.c - libcurl transport (see http.h).
 *
 * The multi handle and a pool of easy handles live for the whole process:
 * the multi handle owns the connection cache (keep-alive across calls), the
 * share handle the TLS session and DNS caches, and reusing easy handles
 * avoids re-initialising curl state per row.  curl tells us, through its
 * socket and timer callbacks, which sockets to wait on and for how long;
 * the wait itself is the hook's (the glue waits on the latch too).
 *
 * A second context (its own multi handle and slots) serves a run started
 * from inside another run's done() callback, e.g. an OAuth2 token fetch
 * after a 401 while other envelopes are still in flight.
 */
#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define DCI_USER_AGENT "dci-postgresql/0.2.0"
#define MAX_DEPTH 2

typedef struct slot
{
	CURL	   *easy;
	struct curl_slist *headers;
	dci_http_xfer *x;
	size_t		max_bytes;
	int			too_big;
	int			active;
	char		errbuf[CURL_ERROR_SIZE];
} slot;

typedef struct http_ctx
{
	CURLM	   *multi;
	slot	   *slots;
	int			nslots;
	dci_http_socket *socks;		/* what curl wants us to wait for */
	dci_http_socket *ready;		/* the hook's copy, with what is ready */
	int			nsocks;
	int			capsocks;
	int			socks_changed;
	long long	timer_at;		/* when curl wants its timeout action; -1 none */
} http_ctx;

static http_ctx ctxs[MAX_DEPTH];
static int	depth = 0;
static http_ctx *last_waiter = NULL;
static CURLSH *share = NULL;
static long connections_opened = 0;
static dci_http_config config = {10000, 16 * 1024 * 1024, 0, NULL};
static char *ca_file_copy = NULL;
static int	curl_ready = 0;

static int	poll_wait(void *arg, dci_http_socket *socks, int nsocks, int changed, long timeout_ms);
static dci_http_hooks hooks = {poll_wait, NULL, NULL, NULL};

long long
dci_http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
dci_http_result_name(dci_http_result r)
{
	switch (r)
	{
		case DCI_HTTP_OK:
			return "ok";
		case DCI_HTTP_NETWORK:
			return "network error";
		case DCI_HTTP_TIMEOUT:
			return "timeout";
		case DCI_HTTP_TOO_BIG:
			return "response too large";
		case DCI_HTTP_ABORTED:
			return "aborted";
		case DCI_HTTP_BAD_URL:
			return "bad URL";
		case DCI_HTTP_INTERNAL:
			return "internal error";
	}
	return "unknown";
}

/* Without a hook (stand-alone tools): poll(2). */
static int
poll_wait(void *arg, dci_http_socket *socks, int nsocks, int changed, long timeout_ms)
{
	struct pollfd pfd[64];
	int			n = nsocks < 64 ? nsocks : 64;

	for (int i = 0; i < n; i++)
	{
		pfd[i].fd = socks[i].fd;
		pfd[i].events = ((socks[i].events & DCI_WAIT_READ) ? POLLIN : 0) |
			((socks[i].events & DCI_WAIT_WRITE) ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	if (poll(pfd, n, (int) timeout_ms) < 0 && errno != EINTR)
		return 0;
	for (int i = 0; i < n; i++)
		socks[i].events = ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ? DCI_WAIT_READ : 0) |
			((pfd[i].revents & (POLLOUT | POLLERR)) ? DCI_WAIT_WRITE : 0);
	return 0;
}

void
dci_http_set_hooks(const dci_http_hooks *h)
{
	hooks = *h;
	if (hooks.wait == NULL)
		hooks.wait = poll_wait;
}

void
dci_http_configure(const dci_http_config *cfg)
{
	const char *ca = (cfg->ca_file && cfg->ca_file[0]) ? cfg->ca_file : NULL;

	config = *cfg;
	/* called before every exchange: copy the CA path only when it changed */
	if ((ca == NULL) != (ca_file_copy == NULL) || (ca && strcmp(ca, ca_file_copy) != 0))
	{
		free(ca_file_copy);
		ca_file_copy = ca ? strdup(ca) : NULL;
	}
	config.ca_file = ca_file_copy;
	for (int i = 0; i < MAX_DEPTH; i++)
		if (ctxs[i].multi)
			curl_multi_setopt(ctxs[i].multi, CURLMOPT_MAX_HOST_CONNECTIONS, config.max_host_connections);
}

long
dci_http_connections_opened(void)
{
	return connections_opened;
}

void
dci_http_response_init(dci_http_response *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	dbuf_init(&r->body);
}

void
dci_http_response_free(dci_http_response *r)
{
	dbuf_free(&r->body);
}

/* ---- curl's callbacks ---- */

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	http_ctx   *c = userp;
	int			i;

	for (i = 0; i < c->nsocks; i++)
		if (c->socks[i].fd == (int) s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < c->nsocks)
		{
			c->socks[i] = c->socks[--c->nsocks];
			c->socks_changed = 1;
		}
		return 0;
	}
	if (i == c->nsocks)
	{
		if (c->nsocks == c->capsocks)
		{
			int			cap = c->capsocks ? c->capsocks * 2 : 8;
			dci_http_socket *a = realloc(c->socks, sizeof(dci_http_socket) * cap);
			dci_http_socket *b;

			if (a == NULL)
				return -1;
			c->socks = a;
			b = realloc(c->ready, sizeof(dci_http_socket) * cap);
			if (b == NULL)
				return -1;
			c->ready = b;
			c->capsocks = cap;
		}
		c->socks[c->nsocks].fd = (int) s;
		c->nsocks++;
		c->socks_changed = 1;
	}
	c->socks[i].events = ((what & CURL_POLL_IN) ? DCI_WAIT_READ : 0) |
		((what & CURL_POLL_OUT) ? DCI_WAIT_WRITE : 0);
	/* a change of events alone needs the wait set adjusted too */
	c->socks_changed = 1;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	http_ctx   *c = userp;

	c->timer_at = timeout_ms < 0 ? -1 : dci_http_now_ms() + timeout_ms;
	return 0;
}

/* Sockets count against the backend's file descriptors (the hook's say). */
static curl_socket_t
open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	curl_socket_t s;

	if (hooks.open_socket && hooks.open_socket(hooks.arg) != 0)
		return CURL_SOCKET_BAD;
	s = socket(address->family, address->socktype, address->protocol);
	if (s == CURL_SOCKET_BAD && hooks.close_socket)
		hooks.close_socket(hooks.arg);
	return s;
}

static int
close_socket_cb(void *clientp, curl_socket_t s)
{
	int			rc = close(s);

	if (hooks.close_socket)
		hooks.close_socket(hooks.arg);
	return rc;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	slot	   *s = userdata;
	size_t		n = size * nmemb;
	dci_http_response *r = &s->x->resp;

	if (r->body.len + n > s->max_bytes)
	{
		s->too_big = 1;
		return 0;				/* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (dbuf_append(&r->body, ptr, n) != 0)
		return 0;
	return n;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	slot	   *s = userdata;
	size_t		n = size * nitems;
	char		line[128];
	const char *v;

	if (n < 12 || n >= sizeof(line) || strncasecmp(buf, "Retry-After:", 12) != 0)
		return n;
	memcpy(line, buf, n);
	line[n] = '\0';
	v = line + 12;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9')
	{
		char	   *end;
		long		secs = strtol(v, &end, 10);

		if (secs >= 0 && secs < 86400 * 366)
			s->x->resp.retry_after = secs;
	}
	else
	{
		time_t		at = curl_getdate(v, NULL);

		if (at > 0)
			s->x->resp.retry_after = at > time(NULL) ? (long) (at - time(NULL)) : 0;
	}
	return n;
}

/* ---- contexts and slots ---- */

static int
ensure_ctx(http_ctx *c)
{
	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		curl_ready = 1;
	}
	if (share == NULL)
	{
		share = curl_share_init();
		if (share == NULL)
			return -1;
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	}
	if (c->multi)
		return 0;
	c->multi = curl_multi_init();
	if (c->multi == NULL)
		return -1;
	c->timer_at = -1;
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, config.max_host_connections);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 64L);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return 0;
}

static int
ensure_slots(http_ctx *c, int n)
{
	slot	   *s;

	if (n <= c->nslots)
		return 0;
	s = realloc(c->slots, sizeof(slot) * n);
	if (s == NULL)
		return -1;
	c->slots = s;
	for (int i = c->nslots; i < n; i++)
	{
		memset(&c->slots[i], 0, sizeof(slot));
		c->slots[i].easy = curl_easy_init();
		if (c->slots[i].easy == NULL)
		{
			c->nslots = i;
			return -1;
		}
	}
	c->nslots = n;
	return 0;
}

/* Prepare slot s for transfer x; 0 ok. */
static int
setup_slot(slot *s, dci_http_xfer *x)
{
	CURL	   *h = s->easy;
	const dci_http_request *r = &x->req;
	char		line[160];
	int			rc = 0;

	curl_easy_reset(h);
	s->x = x;
	s->too_big = 0;
	s->max_bytes = config.max_response_bytes ? config.max_response_bytes : (size_t) 16 * 1024 * 1024;
	s->errbuf[0] = '\0';
	s->headers = NULL;

	snprintf(line, sizeof(line), "Content-Type: %s",
			 r->content_type ? r->content_type : "application/json");
	s->headers = curl_slist_append(s->headers, line);
	s->headers = curl_slist_append(s->headers, "Accept: application/json");
	/* no 100-continue round trip before every POST */
	s->headers = curl_slist_append(s->headers, "Expect:");
	if (r->bearer || r->authorization)
	{
		const char *v = r->bearer ? r->bearer : r->authorization;
		size_t		len = strlen(v) + 32;
		char	   *auth = malloc(len);

		if (auth == NULL)
			return -1;
		snprintf(auth, len, "Authorization: %s%s", r->bearer ? "Bearer " : "", v);
		s->headers = curl_slist_append(s->headers, auth);
		/* curl copies the string; wipe ours */
		memset(auth, 0, len);
		free(auth);
	}
	if (s->headers == NULL)
		return -1;

	rc |= curl_easy_setopt(h, CURLOPT_URL, r->url);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, DCI_USER_AGENT);
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->headers);
	if (r->body)
	{
		rc |= curl_easy_setopt(h, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
	}
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 30000L);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
						   config.connect_timeout_ms > 0 ? config.connect_timeout_ms : 10000L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, r->verify_tls ? 1L : 0L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, r->verify_tls ? 2L : 0L);
	if (config.ca_file)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, config.ca_file);
	rc |= curl_easy_setopt(h, CURLOPT_SHARE, share);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) s->max_bytes);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	rc |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	rc |= curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	rc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	rc |= curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_PRIVATE, s);
	if (r->forbid_reuse)
	{
		rc |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	}
	return rc ? -1 : 0;
}

/*
 * curl's messages carry timings ("... after 0 ms: ..."): they say nothing a
 * DBA can act on, and they make equal failures print differently.
 */
static void
drop_timings(char *msg)
{
	char	   *p;

	while ((p = strstr(msg, " after ")) != NULL)
	{
		char	   *q = p + 7;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q == p + 7 || strncmp(q, " ms", 3) != 0)
			break;
		memmove(p, q + 3, strlen(q + 3) + 1);
	}
}

/* TLS failures curl reports before any request byte is sent. */
static int
tls_failure(CURLcode code)
{
	switch (code)
	{
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_USE_SSL_FAILED:
			return 1;
		default:
			return 0;
	}
}

/* How far a failed transfer got: connect, TLS, waiting, or inside the body. */
static dci_http_stage
failed_stage(slot *s, CURLcode code)
{
	curl_off_t	connect = 0,
				appconnect = 0;
	long		header_bytes = 0;
	long		request_bytes = 0;
	char	   *scheme = NULL;

	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
		code == CURLE_COULDNT_RESOLVE_PROXY)
		return DCI_STAGE_CONNECT;
	curl_easy_getinfo(s->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
	curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &header_bytes);
	if (tls_failure(code))
		return DCI_STAGE_TLS;
	/* a TLS handshake that timed out: curl keeps no connect time for it, only says so */
	if (code == CURLE_OPERATION_TIMEDOUT && strstr(s->errbuf, "SSL connection timeout") != NULL)
		return DCI_STAGE_TLS;
	/* a request on the wire (a reused connection has no connect time at all) */
	if (request_bytes > 0)
		return (header_bytes == 0 && s->x->resp.body.len == 0) ? DCI_STAGE_WAIT : DCI_STAGE_BODY;
	curl_easy_getinfo(s->easy, CURLINFO_CONNECT_TIME_T, &connect);
	curl_easy_getinfo(s->easy, CURLINFO_APPCONNECT_TIME_T, &appconnect);
	curl_easy_getinfo(s->easy, CURLINFO_SCHEME, &scheme);
	if (connect > 0 && scheme && strcasecmp(scheme, "https") == 0 && appconnect == 0)
		return DCI_STAGE_TLS;
	return DCI_STAGE_CONNECT;
}

/* Fill the transfer's response from a finished curl transfer. */
static void
finish_slot(slot *s, CURLcode code)
{
	dci_http_response *resp = &s->x->resp;
	char	   *ct = NULL;
	long		nconn = 0;

	resp->done_ms = dci_http_now_ms();
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &resp->seconds);
	if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
		connections_opened += nconn;
	if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	switch (code)
	{
		case CURLE_OK:
			resp->result = DCI_HTTP_OK;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			resp->result = DCI_HTTP_TIMEOUT;
			break;
		case CURLE_FILESIZE_EXCEEDED:
			resp->result = DCI_HTTP_TOO_BIG;
			break;
		case CURLE_WRITE_ERROR:
			resp->result = s->too_big ? DCI_HTTP_TOO_BIG : DCI_HTTP_INTERNAL;
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			resp->result = DCI_HTTP_BAD_URL;
			break;
		default:
			resp->result = DCI_HTTP_NETWORK;
			break;
	}
	resp->stage = code == CURLE_OK ? DCI_STAGE_NONE : failed_stage(s, code);
	/* garbage from the peer (an HTTP/0.9 reply) is no bad URL of ours */
	if (resp->result == DCI_HTTP_BAD_URL && resp->stage >= DCI_STAGE_WAIT)
		resp->result = DCI_HTTP_NETWORK;
	if (code != CURLE_OK)
	{
		snprintf(resp->error, sizeof(resp->error), "%s",
				 s->errbuf[0] ? s->errbuf : curl_easy_strerror(code));
		drop_timings(resp->error);
	}
}

static void
release_slot(http_ctx *c, slot *s)
{
	if (s->active)
		curl_multi_remove_handle(c->multi, s->easy);
	s->active = 0;
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	s->x = NULL;
}

void
dci_http_reset_transfers(void)
{
	for (int d = 0; d < MAX_DEPTH; d++)
		for (int i = 0; i < ctxs[d].nslots; i++)
			release_slot(&ctxs[d], &ctxs[d].slots[i]);
	depth = 0;
}

/* ---- the run loop ---- */

typedef struct delayed
{
	dci_http_xfer **x;
	int			n;
	int			cap;
} delayed;

static int
delay_push(delayed *d, dci_http_xfer *x)
{
	if (d->n == d->cap)
	{
		int			cap = d->cap ? d->cap * 2 : 8;
		dci_http_xfer **a = realloc(d->x, sizeof(dci_http_xfer *) * cap);

		if (a == NULL)
			return -1;
		d->x = a;
		d->cap = cap;
	}
	d->x[d->n++] = x;
	return 0;
}

/* The delayed transfer that is due, or NULL. */
static dci_http_xfer *
delay_pop_due(delayed *d, long long now)
{
	for (int i = 0; i < d->n; i++)
		if (d->x[i]->due_ms <= now)
		{
			dci_http_xfer *x = d->x[i];

			d->x[i] = d->x[--d->n];
			return x;
		}
	return NULL;
}

static int
delay_has_due(const delayed *d, long long now)
{
	for (int i = 0; i < d->n; i++)
		if (d->x[i]->due_ms <= now)
			return 1;
	return 0;
}

static long long
delay_earliest(const delayed *d)
{
	long long	best = -1;

	for (int i = 0; i < d->n; i++)
		if (best < 0 || d->x[i]->due_ms < best)
			best = d->x[i]->due_ms;
	return best;
}

/* Attach x to a free slot; false when it could not be set up (x is then failed). */
static int
start_xfer(http_ctx *c, int width, dci_http_xfer *x, const dci_http_ops *ops, void *arg)
{
	if (ops->start && ops->start(arg, x) != 0)
	{
		dci_http_response_free(&x->resp);
		dci_http_response_init(&x->resp);
		x->resp.result = DCI_HTTP_INTERNAL;
		snprintf(x->resp.error, sizeof(x->resp.error), "not sent");
		return 0;
	}
	for (int i = 0; i < width; i++)
	{
		slot	   *s = &c->slots[i];

		if (s->active)
			continue;
		dci_http_response_free(&x->resp);
		dci_http_response_init(&x->resp);
		if (setup_slot(s, x) != 0 || curl_multi_add_handle(c->multi, s->easy) != CURLM_OK)
		{
			curl_slist_free_all(s->headers);
			s->headers = NULL;
			s->x = NULL;
			x->resp.result = DCI_HTTP_INTERNAL;
			snprintf(x->resp.error, sizeof(x->resp.error), "cannot set up the request");
			return 0;
		}
		s->active = 1;
		x->slot = i;
		return 1;
	}
	return 0;
}

static dci_http_result
run_ctx(http_ctx *c, const dci_http_ops *ops, void *arg, int width)
{
	delayed		dl = {NULL, 0, 0};
	int			active = 0;
	int			exhausted = 0;
	int			running = 0;
	dci_http_result result = DCI_HTTP_OK;

	for (;;)
	{
		CURLMsg    *msg;
		int			left;
		long long	now = dci_http_now_ms();
		long long	due;
		long		timeout;

		/*
		 * Fill free slots: transfers that are due first, then new ones.  A
		 * transfer waiting for its time (a resend, or one paced by the
		 * caller) holds its slot meanwhile.
		 */
		while (active + dl.n < width || (active < width && delay_has_due(&dl, now)))
		{
			dci_http_xfer *x = delay_pop_due(&dl, now);
			long		again;

			if (x == NULL && active + dl.n < width && !exhausted &&
				(x = ops->next(arg)) == NULL)
				exhausted = 1;
			if (x == NULL)
				break;
			if (x->due_ms > now)
			{
				if (delay_push(&dl, x) != 0)
				{
					result = DCI_HTTP_INTERNAL;
					goto out;
				}
				continue;
			}
			if (start_xfer(c, width, x, ops, arg))
			{
				active++;
				continue;
			}
			/* could not even start: the caller hears of it like any failure */
			again = ops->done(arg, x);
			if (again >= 0)
			{
				x->due_ms = dci_http_now_ms() + again;
				if (delay_push(&dl, x) != 0)
				{
					result = DCI_HTTP_INTERNAL;
					goto out;
				}
			}
		}
		if (active == 0 && dl.n == 0 && exhausted)
			break;

		/* curl's timer, or the next resend, whichever is first */
		now = dci_http_now_ms();
		timeout = -1;
		if (c->timer_at >= 0)
			timeout = c->timer_at > now ? (long) (c->timer_at - now) : 0;
		due = delay_earliest(&dl);
		if (due >= 0 && (timeout < 0 || due - now < timeout))
			timeout = due > now ? (long) (due - now) : 0;
		/* never block for good on a timer curl forgot: look again each second */
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		if (timeout != 0)
		{
			int			nready = c->nsocks;

			if (nready > 0)
				memcpy(c->ready, c->socks, sizeof(dci_http_socket) * nready);
			/* the hook keeps one wait set: another context's sockets are a change too */
			if (last_waiter != c)
				c->socks_changed = 1;
			last_waiter = c;
			if (hooks.wait(hooks.arg, c->ready, nready, c->socks_changed, timeout) != 0)
			{
				result = DCI_HTTP_ABORTED;
				goto out;
			}
			c->socks_changed = 0;
			/* acting on one socket may change the set (and move c->ready): copy first */
			if (nready > 0)
			{
				dci_http_socket *ready = malloc(sizeof(dci_http_socket) * nready);

				if (ready == NULL)
				{
					result = DCI_HTTP_INTERNAL;
					goto out;
				}
				memcpy(ready, c->ready, sizeof(dci_http_socket) * nready);
				for (int i = 0; i < nready; i++)
				{
					int			ev = ready[i].events;

					if (ev)
						curl_multi_socket_action(c->multi, ready[i].fd,
												 ((ev & DCI_WAIT_READ) ? CURL_CSELECT_IN : 0) |
												 ((ev & DCI_WAIT_WRITE) ? CURL_CSELECT_OUT : 0),
												 &running);
				}
				free(ready);
			}
		}
		if (c->timer_at >= 0 && c->timer_at <= dci_http_now_ms())
		{
			c->timer_at = -1;
			if (curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
			{
				result = DCI_HTTP_INTERNAL;
				goto out;
			}
		}

		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		{
			slot	   *s = NULL;
			dci_http_xfer *x;
			long		again;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
			if (s == NULL || s->x == NULL)
				continue;
			x = s->x;
			finish_slot(s, msg->data.result);
			release_slot(c, s);
			active--;
			again = ops->done(arg, x);
			if (again >= 0)
			{
				x->due_ms = dci_http_now_ms() + again;
				if (delay_push(&dl, x) != 0)
				{
					result = DCI_HTTP_INTERNAL;
					goto out;
				}
			}
		}
	}

out:
	if (result != DCI_HTTP_OK)
	{
		/* stop everything in flight */
		for (int i = 0; i < width; i++)
			if (c->slots[i].active)
			{
				c->slots[i].x->resp.result = result;
				release_slot(c, &c->slots[i]);
			}
	}
	free(dl.x);
	return result;
}

dci_http_result
dci_http_run(const dci_http_ops *ops, void *arg, int max_parallel)
{
	http_ctx   *c;
	int			width = max_parallel > 0 ? max_parallel : 1;
	dci_http_result r;

	if (depth >= MAX_DEPTH)
		return DCI_HTTP_INTERNAL;
	c = &ctxs[depth];
	if (ensure_ctx(c) != 0 || ensure_slots(c, width) != 0)
		return DCI_HTTP_INTERNAL;
	depth++;
	r = run_ctx(c, ops, arg, width);
	depth--;
	return r;
}

/* ---- n independent requests ---- */

typedef struct perform_state
{
	dci_http_xfer *x;
	int			n;
	int			next;
} perform_state;

static dci_http_xfer *
perform_next(void *arg)
{
	perform_state *p = arg;

	return p->next < p->n ? &p->x[p->next++] : NULL;
}

static long
perform_done(void *arg, dci_http_xfer *x)
{
	return -1;
}

dci_http_result
dci_http_perform(const dci_http_request *req, dci_http_response *resp, int n, int max_parallel)
{
	dci_http_xfer *x = calloc(n > 0 ? n : 1, sizeof(dci_http_xfer));
	perform_state p = {x, n, 0};
	dci_http_ops ops = {perform_next, perform_done, NULL};
	dci_http_result r;

	for (int i = 0; i < n; i++)
		dci_http_response_init(&resp[i]);
	if (x == NULL)
		return DCI_HTTP_INTERNAL;
	for (int i = 0; i < n; i++)
	{
		x[i].req = req[i];
		dci_http_response_init(&x[i].resp);
	}
	r = dci_http_run(&ops, &p, max_parallel);
	for (int i = 0; i < n; i++)
	{
		resp[i] = x[i].resp;
		if (r != DCI_HTTP_OK && i >= p.next)
			resp[i].result = r;
	}
	free(x);
	return r;
}

void
dci_http_shutdown(void)
{
	for (int d = 0; d < MAX_DEPTH; d++)
	{
		http_ctx   *c = &ctxs[d];

		for (int i = 0; i < c->nslots; i++)
		{
			release_slot(c, &c->slots[i]);
			curl_easy_cleanup(c->slots[i].easy);
		}
		free(c->slots);
		if (c->multi)
			curl_multi_cleanup(c->multi);
		free(c->socks);
		free(c->ready);
		memset(c, 0, sizeof(*c));
	}
	depth = 0;
	if (share)
		curl_share_cleanup(share);
	share = NULL;
}
