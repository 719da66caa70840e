/*
 * exchange.c - one exchange with a registry, from request to checked answer.
 *
 *   source row + request -> envelope -> signature -> token -> HTTP
 *   -> verify the signature -> bind the answer to the request -> answer
 *
 * or one error value (SQLSTATE, message, detail, hint) that says why not.
 * Many exchanges can be in flight at once (a batch): each is final, checked
 * or failed, when the done callback sees it, while the others go on.
 *
 * Retries: a 429 or 503, a refused connection, or a connection closed
 * before any byte of the answer are sent again, up to the source's
 * max_retries, after the registry's Retry-After (header or body) or an
 * exponential backoff with jitter, within the call's time budget
 * (timeout_seconds from the first send, token fetches included).  A 401
 * with OAuth2 fetches a token newer than the 401 and resends once.
 * Searches are idempotent reads, so a resend is safe; nothing else is
 * retried (a timeout has used the budget; an answer cut in the middle may
 * have been processed).
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "dci.h"
#include "replies.h"

#define BACKOFF_BASE_MS	250
#define MIN_ATTEMPT_MS	200		/* no resend with less time than this left */
#define DCI_MAX_PAUSE_SECONDS 3600	/* the longest pause a registry can impose */

static long registry_wait_ms(dci_http_response *h, bool *per_day);

/* ---- errors ---- */

static void
set_error(dci_error *e, int sqlstate, const char *detail, const char *hint,
		  const char *fmt,...) pg_attribute_printf(5, 6);

static void
set_error(dci_error *e, int sqlstate, const char *detail, const char *hint, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->sqlstate = sqlstate;
	e->message = pstrdup(buf);
	e->detail = detail && detail[0] ? pstrdup(detail) : NULL;
	e->hint = hint ? pstrdup(hint) : NULL;
}

void
dci_report(int elevel, const dci_error *e)
{
	ereport(elevel,
			(errcode(e->sqlstate ? e->sqlstate : ERRCODE_INTERNAL_ERROR),
			 errmsg("%s", e->message ? e->message : "DCI request failed"),
			 e->detail ? errdetail("%s", e->detail) : 0,
			 e->hint ? errhint("%s", e->hint) : 0));
}

/* ---- exchanges ---- */

/* Frees the malloc'd parts of an exchange when its memory context goes. */
static void
exchange_reset_cb(void *arg)
{
	dci_exchange *ex = arg;

	dci_http_response_free(&ex->http);
	dci_response_free(&ex->resp);
	dbuf_free(&ex->body);
	if (ex->bearer)
		explicit_bzero(ex->bearer, strlen(ex->bearer));
}

static dci_exchange *
exchange_alloc(dci_source *src, const char *url, const char *action, dci_expect expect)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "dci exchange",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	dci_exchange *ex = palloc0(sizeof(dci_exchange));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	ex->src = src;
	ex->cxt = cxt;
	ex->url = url;
	ex->action = action;
	ex->expect = expect;
	dci_http_response_init(&ex->http);
	dbuf_init(&ex->body);
	cb->func = exchange_reset_cb;
	cb->arg = ex;
	MemoryContextRegisterResetCallback(cxt, cb);
	MemoryContextSwitchTo(old);
	return ex;
}

dci_exchange *
dci_exchange_search_new(dci_source *src, const char *url, const dci_search_item *items, int nitems)
{
	dci_exchange *ex = exchange_alloc(src, url ? url : src->search_url, "search", DCI_EXPECT_ANSWER);

	ex->items = items;
	ex->nitems = nitems;
	return ex;
}

dci_exchange *
dci_exchange_message_new(dci_source *src, const char *url, const char *action,
						 const char *transaction_id, const char *message_json, dci_expect expect)
{
	dci_exchange *ex = exchange_alloc(src, url, action, expect);
	MemoryContext old = MemoryContextSwitchTo(ex->cxt);

	ex->message_json = pstrdup(message_json);
	if (transaction_id)
		strlcpy(ex->transaction_id, transaction_id, sizeof(ex->transaction_id));
	MemoryContextSwitchTo(old);
	return ex;
}

void
dci_exchange_free(dci_exchange *ex)
{
	if (ex)
		MemoryContextDelete(ex->cxt);
}

const char *
dci_reference_id(const dci_exchange *ex, int k)
{
	return psprintf("%s-%d", ex->transaction_id, k);
}

static dci_signer
make_signer(dci_source *src)
{
	dci_signer	s;

	s.mode = src->signing_mode;
	s.key = src->signing_key;
	s.kid = src->kid;
	s.validity = 300;
	return s;
}

static dci_header
make_header(dci_exchange *ex, const char *message_id, int total)
{
	dci_header	h;

	h.message_id = message_id;
	h.message_ts = (long) time(NULL);
	h.action = ex->action;
	h.sender_id = ex->src->our_sender_id;
	h.sender_uri = ex->src->our_callback_uri;
	h.receiver_id = ex->src->registry_sender_id;
	h.total_count = total;
	return h;
}

/*
 * The signed body of one attempt: a resend is a new message (fresh
 * message_id and signature times), for the same transaction.
 */
static void
build_body(dci_exchange *ex)
{
	dci_source *src = ex->src;
	char		message_id[37];
	char		err[256];
	dci_header	h;
	dci_signer	signer = make_signer(src);
	int			rc;
	MemoryContext old = MemoryContextSwitchTo(ex->cxt);

	dci_uuid(message_id);
	dbuf_free(&ex->body);
	dbuf_init(&ex->body);
	if (ex->items)
	{
		dci_search_item *items = palloc(sizeof(dci_search_item) * Max(ex->nitems, 1));

		if (ex->transaction_id[0] == '\0')
			dci_uuid(ex->transaction_id);
		for (int k = 0; k < ex->nitems; k++)
		{
			items[k] = ex->items[k];
			items[k].reference_id = dci_reference_id(ex, k);
			if (items[k].reg_type == NULL)
				items[k].reg_type = src->reg_type;
		}
		h = make_header(ex, message_id, ex->nitems);
		rc = dci_build_search(&h, ex->transaction_id, items, ex->nitems, &signer, &ex->body,
							  err, sizeof(err));
	}
	else
	{
		h = make_header(ex, message_id, 1);
		rc = dci_build_request(&h, ex->message_json, strlen(ex->message_json), &signer,
							   &ex->body, err, sizeof(err));
	}
	MemoryContextSwitchTo(old);
	if (rc != 0 || ex->body.data == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the %s envelope for DCI source \"%s\": %s",
						ex->action, src->code, rc != 0 ? err : "out of memory")));
}

/* Is this HTML (a proxy's error page) rather than an API answer? */
static bool
looks_html(const dci_http_response *h)
{
	const char *p = h->body.data;

	if (strstr(h->content_type, "html") != NULL)
		return true;
	if (p == NULL)
		return false;
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return pg_strncasecmp(p, "<!doctype", 9) == 0 || pg_strncasecmp(p, "<html", 5) == 0;
}

/* The registry's reason, sanitized: "code: message", or NULL when it gave none. */
static char *
reason_text(const char *code, const char *message)
{
	if (code == NULL && message == NULL)
		return NULL;
	return psprintf("%s%s%s", code ? dci_sanitize(code) : "",
					code && message ? ": " : "", message ? dci_sanitize(message) : "");
}

/* The same as " (code: message)", or "". */
static char *
reason_suffix(const char *code, const char *message)
{
	char	   *r = reason_text(code, message);

	return r ? psprintf(" (%s)", r) : "";
}

/* The transport failed: say where it stopped and why, in plain words. */
static void
transport_error(dci_exchange *ex)
{
	dci_source *src = ex->src;
	dci_http_response *h = &ex->http;
	const char *where = dci_redact_url(ex->url);
	/* curl's text can quote the peer (a certificate's name): sanitize it */
	const char *cause = dci_sanitize(h->error);

	switch (h->result)
	{
		case DCI_HTTP_TIMEOUT:
			if (h->stage == DCI_STAGE_CONNECT)
				set_error(&ex->err, ERRCODE_DCI_TIMEOUT, cause, "The limit is dci.connect_timeout_ms.",
						  "DCI source \"%s\" could not be connected to within %d ms", src->code,
						  dci_connect_timeout_ms);
			else if (h->stage == DCI_STAGE_TLS)
				set_error(&ex->err, ERRCODE_DCI_TIMEOUT, cause, "The limit is dci.connect_timeout_ms.",
						  "TLS handshake with DCI source \"%s\" did not complete within %d ms",
						  src->code, dci_connect_timeout_ms);
			else
				set_error(&ex->err, ERRCODE_DCI_TIMEOUT, cause,
						  "The limit is the source's timeout_seconds, counted from the first send and including token fetches and resends.",
						  "DCI source \"%s\" did not answer within %d s%s", src->code,
						  src->timeout_seconds,
						  h->stage == DCI_STAGE_BODY ? " (the answer was still arriving)" : "");
			return;
		case DCI_HTTP_TOO_BIG:
			set_error(&ex->err, ERRCODE_DCI_BAD_RESPONSE, NULL, "Raise dci.max_response_size, or lower the source's batch_size.",
					  "response from DCI source \"%s\" is larger than dci.max_response_size (%d kB)",
					  src->code, dci_max_response_kb);
			return;
		case DCI_HTTP_BAD_URL:
			set_error(&ex->err, ERRCODE_INVALID_PARAMETER_VALUE, where, NULL,
					  "URL of DCI source \"%s\" is not a valid http(s) URL", src->code);
			return;
		default:
			break;
	}
	switch (h->stage)
	{
		case DCI_STAGE_TLS:
			set_error(&ex->err, ERRCODE_DCI_NETWORK, where, NULL,
					  "TLS handshake with DCI source \"%s\" failed: %s", src->code, cause);
			break;
		case DCI_STAGE_BODY:
			set_error(&ex->err, ERRCODE_DCI_NETWORK, psprintf("%zu bytes of the answer had arrived", h->body.len), NULL,
					  "DCI source \"%s\": connection lost while reading the answer: %s", src->code, cause);
			break;
		case DCI_STAGE_WAIT:
			set_error(&ex->err, ERRCODE_DCI_NETWORK, where, NULL,
					  "DCI source \"%s\" closed the connection without answering: %s", src->code, cause);
			break;
		default:
			set_error(&ex->err, ERRCODE_DCI_NETWORK, where, NULL,
					  "DCI source \"%s\" could not be reached: %s", src->code, cause);
			break;
	}
}

/* Our transaction_id, the registry's receiver_id and every item's reference_id. */
static bool
check_binding(dci_exchange *ex)
{
	dci_source *src = ex->src;
	dci_response *r = &ex->resp;
	const char *txn = r->transaction_id;
	const char *receiver = r->receiver_id;
	const char *hint = "An answer that is not bound to our request could be a replayed answer to another question.";

	/* relaxed: OpenCRVS copies the request's header, receiver_id unswapped */
	if (receiver && receiver[0] && strcmp(receiver, src->our_sender_id) != 0 && !src->relax_binding)
	{
		set_error(&ex->err, ERRCODE_DCI_SIGNATURE, psprintf("receiver_id \"%s\", our sender id \"%s\"",
															  dci_sanitize(receiver), src->our_sender_id),
				  hint, "answer from DCI source \"%s\" is addressed to another receiver", src->code);
		return false;
	}
	if (txn == NULL && !src->relax_binding)
	{
		set_error(&ex->err, ERRCODE_DCI_SIGNATURE, NULL,
				  "If this registry really omits it, set the source's relax_response_binding.",
				  "answer from DCI source \"%s\" has no message.transaction_id", src->code);
		return false;
	}
	if (txn && strcmp(txn, ex->transaction_id) != 0)
	{
		set_error(&ex->err, ERRCODE_DCI_SIGNATURE, psprintf("transaction_id \"%s\", ours \"%s\"",
															  dci_sanitize(txn), ex->transaction_id),
				  hint, "answer from DCI source \"%s\" answers another transaction", src->code);
		return false;
	}
	if (ex->items)
	{
		size_t		n = dci_response_nitems(r);
		size_t		plen = strlen(ex->transaction_id);

		for (size_t i = 0; i < n; i++)
		{
			const char *ref = dci_item_reference_id(dci_response_item_at(r, i));
			char	   *end;
			long		k;

			if (ref == NULL)
			{
				if (src->relax_binding)
					continue;
				set_error(&ex->err, ERRCODE_DCI_SIGNATURE, NULL,
						  "If this registry really omits it, set the source's relax_response_binding.",
						  "answer from DCI source \"%s\" has an item without reference_id", src->code);
				return false;
			}
			if (strncmp(ref, ex->transaction_id, plen) != 0 || ref[plen] != '-' ||
				(k = strtol(ref + plen + 1, &end, 10)) < 0 || *end != '\0' || end == ref + plen + 1 ||
				k >= ex->nitems)
			{
				set_error(&ex->err, ERRCODE_DCI_SIGNATURE, psprintf("reference_id \"%s\"", dci_sanitize(ref)),
						  hint, "answer from DCI source \"%s\" has an item for a reference_id we did not send",
						  src->code);
				return false;
			}
		}
	}
	return true;
}

/* Check one finished attempt; on success ex->resp holds the bound answer. */
static void
process_answer(dci_exchange *ex)
{
	dci_source *src = ex->src;
	dci_http_response *h = &ex->http;
	char		err[256];
	dci_sig_result sr;
	cj_limits	lim;
	cj_result	pr;

	memset(&ex->err, 0, sizeof(ex->err));
	dci_response_free(&ex->resp);
	if (h->result != DCI_HTTP_OK)
	{
		transport_error(ex);
		return;
	}

	if (h->status < 200 || h->status > 299)
	{
		dci_response r;
		const char *what = "";

		if (looks_html(h))
			what = " with an HTML page";
		else
		{
			/* an error body is read under a small budget: it is only a reason */
			cj_limits	small = {10000, 32};

			if (dci_response_parse(h->body.data, h->body.len, &small, &r, err, sizeof(err)) == CJ_OK)
				what = reason_suffix(r.reason_code, r.reason_message);
			dci_response_free(&r);
		}
		if (h->status == 429 || h->status == 503)
		{
			bool		per_day;
			long		wait_ms = registry_wait_ms(h, &per_day);

			set_error(&ex->err, ERRCODE_DCI_HTTP_STATUS,
					  per_day ? "It says today's quota is spent." :
					  wait_ms >= 0 ? psprintf("It asked to wait %ld s, more than the call had left.", wait_ms / 1000) : NULL,
					  "The registry is rationing requests: see the source's max_retries and the README on quotas.",
					  "DCI source \"%s\" answered HTTP %ld%s%s", src->code, h->status, what,
					  ex->attempts > 1 ? psprintf(" after %d attempts", ex->attempts) : "");
		}
		else
			set_error(&ex->err, h->status == 401 || h->status == 403 ? ERRCODE_DCI_AUTH : ERRCODE_DCI_HTTP_STATUS,
					  NULL, NULL, "DCI source \"%s\" answered HTTP %ld%s", src->code, h->status, what);
		return;
	}
	if (looks_html(h))
	{
		set_error(&ex->err, ERRCODE_DCI_BAD_RESPONSE, NULL, NULL,
				  "DCI source \"%s\" answered HTTP %ld with an HTML page instead of a DCI envelope",
				  src->code, h->status);
		return;
	}
	lim.max_nodes = Max(100000, (long) dci_max_response_kb * 1024 / 4);
	lim.max_depth = 0;
	pr = dci_response_parse(h->body.data, h->body.len, &lim, &ex->resp, err, sizeof(err));
	if (pr == CJ_ERR_NOMEM)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pr != CJ_OK)
	{
		set_error(&ex->err, ERRCODE_DCI_BAD_RESPONSE,
				  psprintf("HTTP %ld, %zu bytes, Content-Type %s", h->status, h->body.len,
						   h->content_type[0] ? dci_sanitize(h->content_type) : "(none)"),
				  pr == CJ_ERR_BUDGET ? "An answer may hold at most one value per 4 bytes of dci.max_response_size." : NULL,
				  "response from DCI source \"%s\" is not a DCI envelope: %s", src->code, dci_sanitize(err));
		return;
	}

	if (ex->expect == DCI_EXPECT_ACK)
	{
		const char *ack = ex->resp.ack_status;

		if (ack == NULL)
			set_error(&ex->err, ERRCODE_DCI_BAD_RESPONSE, NULL, NULL,
					  "DCI source \"%s\" answered the %s request without message.ack_status (SPDCI: an asynchronous request is answered by an Ack)",
					  src->code, ex->action);
		else if (pg_strcasecmp(ack, "ACK") != 0)
			set_error(&ex->err, ERRCODE_DCI_REJECTED, NULL, NULL,
					  "DCI source \"%s\" answered the %s request with %s%s", src->code, ex->action,
					  dci_sanitize(ack), reason_suffix(ex->resp.reason_code, ex->resp.reason_message));
		return;
	}

	/* the signature first: nothing in an unchecked answer is acted on */
	if (src->verify_mode != DCI_VERIFY_OFF)
	{
		dci_signing_mode mode = dci_key_algorithm(src->registry_key) == DCI_ALG_RS256
			? DCI_SIGN_JWS_RS256 : DCI_SIGN_ED25519;

		err[0] = '\0';
		/* on the tree the values are read from: what is verified is what is used */
		sr = dci_verify_parsed(&ex->resp, mode, src->registry_key,
							   (long) time(NULL), dci_signature_skew, err, sizeof(err));
		if (sr == DCI_SIG_MISSING && src->verify_mode == DCI_VERIFY_IF_PRESENT)
			sr = DCI_SIG_OK;
		if (sr != DCI_SIG_OK)
		{
			bool		rjct = ex->resp.status && pg_strcasecmp(ex->resp.status, "rjct") == 0;

			set_error(&ex->err, ERRCODE_DCI_SIGNATURE,
					  rjct ? psprintf("%s; the unchecked answer claims status rjct%s", dci_sanitize(err),
									  reason_suffix(ex->resp.reason_code, ex->resp.reason_message)) : dci_sanitize(err),
					  NULL, "response signature from DCI source \"%s\" is not valid (%s)",
					  src->code, dci_sig_result_name(sr));
			return;
		}
	}
	if ((ex->resp.status && pg_strcasecmp(ex->resp.status, "rjct") == 0) ||
		(ex->resp.ack_status && pg_strcasecmp(ex->resp.ack_status, "ERR") == 0))
	{
		char	   *why = reason_text(ex->resp.reason_code, ex->resp.reason_message);

		set_error(&ex->err, ERRCODE_DCI_REJECTED, NULL, NULL, "DCI source \"%s\" rejected the request: %s",
				  src->code, why ? why : "no reason code");
		return;
	}
	if (ex->resp.header == NULL || ex->resp.message == NULL)
	{
		set_error(&ex->err, ERRCODE_DCI_BAD_RESPONSE, NULL, NULL,
				  "response from DCI source \"%s\" has no %s (SPDCI: a sync answer carries a header and a message)",
				  src->code, ex->resp.header == NULL ? "header" : "message");
		return;
	}
	check_binding(ex);
}

/* ---- sending ---- */

typedef struct run_state
{
	dci_source *src;
	dci_exchange_next next;
	dci_exchange_done done;
	void	   *arg;
	dci_progress *progress;
	int			timeout_ms;
	long long	started;
} run_state;

/* A copy of err in the exchange's memory. */
static void
keep_error(dci_exchange *ex, const dci_error *err)
{
	MemoryContext old = MemoryContextSwitchTo(ex->cxt);

	ex->err.sqlstate = err->sqlstate;
	ex->err.message = err->message ? pstrdup(err->message) : NULL;
	ex->err.detail = err->detail ? pstrdup(err->detail) : NULL;
	ex->err.hint = err->hint ? pstrdup(err->hint) : NULL;
	MemoryContextSwitchTo(old);
}

/*
 * The source's budget for one more send of ex: false (ex->err set) when it
 * must fail now; else *wait_ms is how long pacing or a pause holds it back.
 * The time budget of a call starts when it may be sent.
 */
static bool
take_budget(run_state *rs, dci_exchange *ex, long *wait_ms)
{
	dci_error	err;
	int			cost = (rs->src->quota_items && ex->items) ? ex->nitems : 1;

	if (!dci_budget_take(rs->src, cost, wait_ms, &err))
	{
		keep_error(ex, &err);
		return false;
	}
	if (ex->deadline == 0)
		ex->deadline = Max(rs->started, dci_http_now_ms() + *wait_ms) + rs->timeout_ms;
	dci_progress_waiting(rs->progress, *wait_ms > 0);
	return true;
}

/* The per-attempt request of an exchange, with a token valid now. */
static void
prepare_attempt(run_state *rs, dci_exchange *ex)
{
	long long	now = dci_http_now_ms();
	long		left;

	if (ex->deadline == 0)
		ex->deadline = rs->started + rs->timeout_ms;
	left = (long) (ex->deadline - now);
	build_body(ex);
	memset(&ex->xfer.req, 0, sizeof(ex->xfer.req));
	ex->xfer.req.url = ex->url;
	ex->xfer.req.body = ex->body.data;
	ex->xfer.req.body_len = ex->body.len;
	/* the token is taken when the request goes on the wire (run_start) */
	ex->xfer.req.bearer = NULL;
	ex->xfer.req.timeout_ms = Max(left, 1);
	ex->xfer.req.verify_tls = rs->src->verify_ssl;
	ex->xfer.tag = ex;
	ex->attempts++;
	dci_stats_counters.requests++;
}

/*
 * Just before an attempt goes on the wire, after any pacing or backoff:
 * the token then, not when it was scheduled, so that a resend after a 401
 * (or a token revoked while it waited) takes one issued since.  Our own
 * copy: the cache may hold another token by the time curl reads ours.
 */
static int
run_start(void *arg, dci_http_xfer *x)
{
	run_state  *rs = arg;
	dci_exchange *ex = x->tag;
	const char *bearer;
	long		left = (long) (ex->deadline - dci_http_now_ms());

	if (ex->bearer)
	{
		explicit_bzero(ex->bearer, strlen(ex->bearer));
		pfree(ex->bearer);
		ex->bearer = NULL;
	}
	bearer = dci_auth_bearer(rs->src, ex->token_not_before, ex->deadline);
	if (bearer)
		ex->bearer = MemoryContextStrdup(ex->cxt, bearer);
	x->req.bearer = ex->bearer;
	/* the budget left after the token fetch */
	left = (long) (ex->deadline - dci_http_now_ms());
	x->req.timeout_ms = Max(left, 1);
	return 0;
}

static dci_http_xfer *
run_next(void *arg)
{
	run_state  *rs = arg;
	dci_exchange *ex;
	long		wait_ms;

	/* an exchange the budget refuses is final at once, without a request */
	while ((ex = rs->next(rs->arg)) != NULL && !take_budget(rs, ex, &wait_ms))
	{
		if (rs->done)
			rs->done(rs->arg, ex);
	}
	if (ex == NULL)
		return NULL;
	prepare_attempt(rs, ex);
	ex->xfer.due_ms = wait_ms > 0 ? dci_http_now_ms() + wait_ms : 0;
	return &ex->xfer;
}

/* The registry asked to wait: ms (the Retry-After header, else the body), or -1; and per day? */
static long
registry_wait_ms(dci_http_response *h, bool *per_day)
{
	dci_retry_hint hint;
	long		secs = -1;

	*per_day = false;
	if (h->result != DCI_HTTP_OK || (h->status != 429 && h->status != 503))
		return -1;
	if (dci_retry_hint_parse(h->body.data ? h->body.data : "", h->body.len, &hint))
	{
		secs = hint.seconds;
		*per_day = hint.per_day != 0;
	}
	if (h->retry_after >= 0)
		secs = h->retry_after;
	/* a registry's wish is bounded: an hour at most, whatever it asks */
	if (secs > DCI_MAX_PAUSE_SECONDS)
		secs = DCI_MAX_PAUSE_SECONDS;
	return secs >= 0 ? secs * 1000L : -1;
}

/* Whether a failed attempt is sent again, and after how long (ms); -1: final. */
static long
retry_delay(run_state *rs, dci_exchange *ex)
{
	dci_http_response *h = &ex->http;
	long long	now = dci_http_now_ms();
	long		left = (long) (ex->deadline - now);
	long		delay;
	bool		per_day;
	bool		retriable;

	/* a 401 with OAuth2: a token issued after this 401, and one resend */
	if (h->result == DCI_HTTP_OK && h->status == 401 && rs->src->auth_type == DCI_AUTH_OAUTH2 &&
		!ex->refreshed_401)
	{
		ex->refreshed_401 = true;
		ex->token_not_before = h->done_ms;
		dci_stats_counters.retries_401++;
		return 0;
	}
	delay = registry_wait_ms(h, &per_day);
	/* the registry's word holds for every backend, whether or not we resend */
	if (delay > 0 || per_day)
		dci_budget_result(rs->src, false, delay, per_day, NULL);
	if (per_day)
		return -1;
	retriable = (h->result == DCI_HTTP_OK && (h->status == 429 || h->status == 503)) ||
		(h->result == DCI_HTTP_NETWORK &&
		 (h->stage == DCI_STAGE_CONNECT || h->stage == DCI_STAGE_WAIT));
	if (!retriable || ex->attempts > rs->src->max_retries)
		return -1;
	if (delay < 0)
	{
		/* exponential backoff with jitter, so backends do not resend in step */
		double		base = BACKOFF_BASE_MS * pow(2.0, ex->attempts - 1);

		delay = (long) (base * (0.5 + pg_prng_double(&pg_global_prng_state)));
	}
	if (delay + MIN_ATTEMPT_MS > left)
		return -1;
	dci_stats_counters.retries++;
	return delay;
}

/* After the final attempt: the breaker counts failures to reach the registry. */
static void
record_outcome(run_state *rs, dci_exchange *ex)
{
	dci_http_response *h = &ex->http;
	bool		failure = (h->result == DCI_HTTP_NETWORK || h->result == DCI_HTTP_TIMEOUT) ||
		(h->result == DCI_HTTP_OK && h->status >= 500);

	if (h->result == DCI_HTTP_ABORTED || h->result == DCI_HTTP_INTERNAL)
		return;
	dci_budget_result(rs->src, failure, 0, false, failure ? ex->err.message : NULL);
}

static long
run_done(void *arg, dci_http_xfer *x)
{
	run_state  *rs = arg;
	dci_exchange *ex = x->tag;
	long		again;
	long		wait_ms;
	MemoryContext old;

	dci_http_response_free(&ex->http);
	ex->http = x->resp;
	/* moved: the transfer's copy must not be freed again */
	dci_http_response_init(&x->resp);
	again = retry_delay(rs, ex);
	if (again >= 0 && take_budget(rs, ex, &wait_ms))
	{
		prepare_attempt(rs, ex);
		return Max(again, wait_ms);
	}
	/* the error's text lives as long as the exchange */
	old = MemoryContextSwitchTo(ex->cxt);
	if (again < 0 || ex->err.sqlstate == 0)
		process_answer(ex);
	MemoryContextSwitchTo(old);
	record_outcome(rs, ex);
	dci_progress_add(rs->progress, 0, 0, ex->attempts);
	if (rs->done)
		rs->done(rs->arg, ex);
	return -1;
}

/* The transfers of a run; an ERROR in a callback drops those still in flight. */
static dci_http_result
run_guarded(dci_http_ops *ops, run_state *rs, int width)
{
	dci_http_result hr = DCI_HTTP_OK;

	PG_TRY();
	{
		hr = dci_http_run(ops, rs, width);
	}
	PG_CATCH();
	{
		dci_http_reset_transfers();
		PG_RE_THROW();
	}
	PG_END_TRY();
	return hr;
}

void
dci_exchange_run(dci_source *src, int parallel, dci_exchange_next next,
				 dci_exchange_done done, void *arg, dci_progress *progress)
{
	run_state	rs = {src, next, done, arg, progress, src->timeout_seconds * 1000, 0};
	dci_http_ops ops = {run_next, run_done, run_start};
	dci_http_result hr;

	dci_http_apply_config();
	rs.started = dci_http_now_ms();
	/* never more in flight than connections: a queued request's clock would run */
	hr = run_guarded(&ops, &rs, Max(1, Min(parallel, dci_max_host_connections)));
	if (hr == DCI_HTTP_ABORTED)
		dci_check_cancel();
	if (hr == DCI_HTTP_INTERNAL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not set up HTTP transfers for DCI source \"%s\"", src->code)));
}

/* One exchange, final when this returns. */
typedef struct one_state
{
	dci_exchange *ex;
	bool		given;
} one_state;

static dci_exchange *
one_next(void *arg)
{
	one_state  *o = arg;

	if (o->given)
		return NULL;
	o->given = true;
	return o->ex;
}

void
dci_exchange_send(dci_exchange *ex)
{
	one_state	o = {ex, false};

	dci_exchange_run(ex->src, 1, one_next, NULL, &o, NULL);
}

void
dci_exchange_raise(dci_exchange *ex)
{
	dci_error	e = ex->err;

	/* the error's strings live in the exchange's context: copy before it goes */
	e.message = e.message ? pstrdup(e.message) : NULL;
	e.detail = e.detail ? pstrdup(e.detail) : NULL;
	e.hint = e.hint ? pstrdup(e.hint) : NULL;
	dci_exchange_free(ex);
	dci_report(ERROR, &e);
	pg_unreachable();
}
