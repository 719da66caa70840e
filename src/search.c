/*
 * search.c - one call from config row to checked response, and the SQL
 * functions dci_search, dci_search_by_id and dci_test_connection.
 *
 *   dci_source_get (config cache) -> dci_auth_bearer (token)
 *   -> dci_build_search (envelope + signature) -> dci_http_perform (curl)
 *   -> dci_response_parse -> dci_verify_response -> caller maps records
 *
 * Registry outcomes (network, HTTP status, bad body, bad signature, rjct)
 * are recorded on the exchange, so a batch can mark rows and go on;
 * dci_exchange_raise turns one into an ERROR.  Malloc'd response memory is
 * released by a memory-context callback, so an ERROR anywhere leaks nothing.
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_search);
PG_FUNCTION_INFO_V1(dci_search_by_id);
PG_FUNCTION_INFO_V1(dci_test_connection);
PG_FUNCTION_INFO_V1(dci_search_by_id_batch);

/* Frees the malloc'd parts of an exchange when its memory context goes. */
static void
exchange_reset_cb(void *arg)
{
	dci_exchange *ex = arg;

	dci_http_response_free(&ex->http);
	dci_response_free(&ex->resp);
}

static dci_exchange *
exchange_new(dci_source *src)
{
	dci_exchange *ex = palloc0(sizeof(dci_exchange));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	ex->src = src;
	dci_http_response_init(&ex->http);
	cb->func = exchange_reset_cb;
	cb->arg = ex;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return ex;
}

void
dci_exchange_free(dci_exchange *ex)
{
	exchange_reset_cb(ex);
}

const char *
dci_reference_id(dci_exchange *ex, int i)
{
	return psprintf("%s-%d", ex->reference_prefix, i);
}

static void
fail(dci_exchange *ex, int sqlstate, const char *detail, const char *fmt,...) pg_attribute_printf(4, 5);

static void
fail(dci_exchange *ex, int sqlstate, const char *detail, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ex->sqlstate = sqlstate;
	ex->error = pstrdup(buf);
	ex->detail = detail && detail[0] ? pstrdup(detail) : NULL;
}

void
dci_exchange_raise(dci_exchange *ex)
{
	int			sqlstate = ex->sqlstate ? ex->sqlstate : ERRCODE_INTERNAL_ERROR;
	char	   *msg = pstrdup(ex->error ? ex->error : "unknown DCI error");
	char	   *detail = ex->detail;

	dci_exchange_free(ex);
	ereport(ERROR, (errcode(sqlstate), errmsg("%s", msg),
					detail ? errdetail("%s", detail) : 0));
	pg_unreachable();
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
make_header(dci_source *src, const char *action, const char *message_id, int total)
{
	dci_header	h;

	h.message_id = message_id;
	h.message_ts = (long) time(NULL);
	h.action = action;
	h.sender_id = src->our_sender_id;
	h.sender_uri = src->our_callback_uri;
	h.receiver_id = src->registry_sender_id;
	h.total_count = total;
	return h;
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

/* Check one finished HTTP exchange; on success ex->resp holds the parsed envelope. */
static void
process_response(dci_exchange *ex)
{
	dci_source *src = ex->src;
	dci_http_response *h = &ex->http;
	char		err[256];
	dci_sig_result sr;

	switch (h->result)
	{
		case DCI_HTTP_OK:
			break;
		case DCI_HTTP_TIMEOUT:
			fail(ex, ERRCODE_DCI_TIMEOUT, h->detail, "DCI source \"%s\" did not answer within %d s",
				 src->code, src->timeout_seconds);
			return;
		case DCI_HTTP_TOO_BIG:
			fail(ex, ERRCODE_DCI_BAD_RESPONSE, NULL,
				 "response from DCI source \"%s\" is larger than dci.max_response_size (%d kB)",
				 src->code, dci_max_response_kb);
			return;
		case DCI_HTTP_BAD_URL:
			fail(ex, ERRCODE_INVALID_PARAMETER_VALUE, h->detail, "URL of DCI source \"%s\" is not a valid http(s) URL",
				 src->code);
			return;
		default:
			fail(ex, ERRCODE_DCI_NETWORK, h->detail, "DCI source \"%s\" could not be reached: %s",
				 src->code, h->error);
			return;
	}

	if (h->status != 200 && h->status != 202)
	{
		dci_response r;
		const char *what = "";

		if (looks_html(h))
			what = " with an HTML page";
		else if (dci_response_parse(h->body.data, h->body.len, &r, err, sizeof(err)) == 0)
		{
			if (r.reason_code || r.reason_message)
				what = psprintf(" (%s%s%s)", r.reason_code ? r.reason_code : "",
								r.reason_code && r.reason_message ? ": " : "",
								r.reason_message ? r.reason_message : "");
			dci_response_free(&r);
		}
		fail(ex, h->status == 401 || h->status == 403 ? ERRCODE_DCI_AUTH : ERRCODE_DCI_HTTP_STATUS, NULL,
			 "DCI source \"%s\" answered HTTP %ld%s", src->code, h->status, what);
		return;
	}

	if (looks_html(h))
	{
		fail(ex, ERRCODE_DCI_BAD_RESPONSE, NULL,
			 "DCI source \"%s\" answered HTTP %ld with an HTML page instead of a DCI envelope",
			 src->code, h->status);
		return;
	}
	if (dci_response_parse(h->body.data, h->body.len, &ex->resp, err, sizeof(err)) != 0)
	{
		fail(ex, ERRCODE_DCI_BAD_RESPONSE, psprintf("HTTP %ld, %zu bytes, Content-Type %s", h->status, h->body.len,
													h->content_type[0] ? h->content_type : "(none)"),
			 "response from DCI source \"%s\" is not a DCI envelope: %s", src->code, err);
		return;
	}

	/* a rejection is an error whether or not it is signed: report its reason */
	if ((ex->resp.status && pg_strcasecmp(ex->resp.status, "rjct") == 0) ||
		(ex->resp.ack_status && pg_strcasecmp(ex->resp.ack_status, "ERR") == 0))
	{
		fail(ex, ERRCODE_DCI_REJECTED, NULL, "DCI source \"%s\" rejected the request: %s%s%s",
			 src->code, ex->resp.reason_code ? ex->resp.reason_code : "no reason code",
			 ex->resp.reason_message ? ": " : "",
			 ex->resp.reason_message ? ex->resp.reason_message : "");
		return;
	}
	if (ex->resp.header == NULL || ex->resp.message == NULL)
	{
		fail(ex, ERRCODE_DCI_BAD_RESPONSE, NULL, "response from DCI source \"%s\" has no %s",
			 src->code, ex->resp.header == NULL ? "header" : "message");
		return;
	}

	if (src->verify_mode != DCI_VERIFY_OFF && src->registry_key != NULL)
	{
		dci_signing_mode mode = dci_key_algorithm(src->registry_key) == DCI_ALG_RS256
			? DCI_SIGN_JWS_RS256 : DCI_SIGN_ED25519;

		err[0] = '\0';
		sr = dci_verify_response(h->body.data, h->body.len, mode, src->registry_key,
								 (long) time(NULL), dci_signature_skew, err, sizeof(err));
		if (sr == DCI_SIG_MISSING && src->verify_mode == DCI_VERIFY_IF_PRESENT)
			sr = DCI_SIG_OK;
		if (sr != DCI_SIG_OK)
		{
			fail(ex, ERRCODE_DCI_SIGNATURE, err,
				 "response signature from DCI source \"%s\" is not valid (%s)",
				 src->code, dci_sig_result_name(sr));
			return;
		}
	}
	ex->sqlstate = 0;
}

/*
 * Send several envelopes at once (up to parallel in flight) and check each.
 * bodies[i] are built by build(i); a 401 with OAuth2 refreshes the token and
 * resends those envelopes once.  on_done(i), when given, is called as soon
 * as ex[i] is final, while the other envelopes are still in flight.
 */
typedef void (*build_fn) (dci_source *src, void *arg, int i, dbuf *body);

typedef struct round_ctx
{
	dci_source *src;
	dci_exchange **ex;
	dci_http_response *resp;
	const int  *pending;			/* request k carries envelope pending[k] */
	int		   *retry;			/* envelopes to resend after a 401 */
	int			nretry;
	bool		may_retry;
	dci_envelope_done on_done;
	void	   *done_arg;
} round_ctx;

/* One transfer finished: check it now (or keep it for the 401 retry). */
static void
round_done(void *arg, int k)
{
	round_ctx  *c = arg;
	int			i = c->pending[k];
	dci_http_response *r = &c->resp[k];

	if (c->may_retry && r->result == DCI_HTTP_OK && r->status == 401)
	{
		/* token revoked or expired early: refresh once, resend */
		dci_http_response_free(r);
		c->retry[c->nretry++] = i;
		return;
	}
	dci_http_response_free(&c->ex[i]->http);
	c->ex[i]->http = *r;
	/* moved: the array's copy must not be freed again */
	dci_http_response_init(r);
	process_response(c->ex[i]);
	if (c->on_done)
		c->on_done(c->done_arg, i);
}

/* Build and send one round of envelopes; frees its buffers on every path. */
static dci_http_result
send_round(dci_source *src, dci_http_request *req, dci_http_response *resp, dbuf *bodies,
		   const int *pending, int npending, int parallel, build_fn build, void *arg,
		   const char *url, const char *bearer, round_ctx *c)
{
	dci_http_result hr = DCI_HTTP_OK;

	for (int k = 0; k < npending; k++)
	{
		dbuf_init(&bodies[k]);
		dci_http_response_init(&resp[k]);
	}
	PG_TRY();
	{
		for (int k = 0; k < npending; k++)
		{
			build(src, arg, pending[k], &bodies[k]);
			req[k].url = url;
			req[k].body = bodies[k].data;
			req[k].body_len = bodies[k].len;
			req[k].bearer = bearer;
			req[k].timeout_ms = (long) src->timeout_seconds * 1000;
			req[k].verify_tls = src->verify_ssl;
		}
		dci_stats_counters.requests += npending;
		hr = dci_http_perform_cb(req, resp, npending, parallel, dci_abort_requested, NULL,
								 round_done, c);
	}
	PG_CATCH();
	{
		/* an ERROR in a callback: drop transfers in flight and malloc'd buffers */
		dci_http_reset_transfers();
		for (int k = 0; k < npending; k++)
		{
			dbuf_free(&bodies[k]);
			dci_http_response_free(&resp[k]);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	for (int k = 0; k < npending; k++)
	{
		dbuf_free(&bodies[k]);
		dci_http_response_free(&resp[k]);
	}
	return hr;
}

static void
exchange_many(dci_source *src, dci_exchange **ex, int n, int parallel,
			  build_fn build, void *arg, const char *url,
			  dci_envelope_done on_done, void *done_arg)
{
	dci_http_request *req = palloc0(sizeof(dci_http_request) * n);
	dci_http_response *resp = palloc0(sizeof(dci_http_response) * n);
	dbuf	   *bodies = palloc0(sizeof(dbuf) * n);
	int		   *pending = palloc(sizeof(int) * n);
	int		   *retry = palloc(sizeof(int) * n);
	int			npending = n;

	for (int i = 0; i < n; i++)
		pending[i] = i;
	dci_http_apply_config();

	for (int attempt = 0; attempt < 2 && npending > 0; attempt++)
	{
		const char *bearer = dci_auth_bearer(src, attempt > 0);
		dci_http_result hr;
		round_ctx	c = {src, ex, resp, pending, retry, 0,
			attempt == 0 && src->auth_type == DCI_AUTH_OAUTH2, on_done, done_arg};

		hr = send_round(src, req, resp, bodies, pending, npending, parallel, build, arg, url, bearer, &c);
		if (hr == DCI_HTTP_ABORTED)
			dci_check_cancel();
		if (hr == DCI_HTTP_INTERNAL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not set up HTTP transfers for DCI source \"%s\"", src->code)));
		dci_stats_counters.retries_401 += c.nretry;
		memcpy(pending, retry, sizeof(int) * c.nretry);
		npending = c.nretry;
	}
	pfree(req);
	pfree(resp);
	pfree(bodies);
	pfree(pending);
	pfree(retry);
}

/* One envelope of a search: its items and the exchange that carries it. */
typedef struct search_job
{
	const dci_search_item *items;
	int			nitems;
	dci_exchange *ex;
} search_job;

/* One search envelope: fresh ids each time (a resend is a new message). */
static void
build_search_body(dci_source *src, void *arg, int i, dbuf *body)
{
	search_job *job = ((search_job *) arg) + i;
	dci_exchange *ex = job->ex;
	char		message_id[37];
	char		txn[37];
	char		err[256];
	dci_header	h;
	dci_signer	signer = make_signer(src);
	dci_search_item *items = palloc(sizeof(dci_search_item) * job->nitems);

	dci_uuid(message_id);
	dci_uuid(txn);
	if (ex->reference_prefix)
		pfree(ex->reference_prefix);
	ex->reference_prefix = pstrdup(txn);
	for (int k = 0; k < job->nitems; k++)
	{
		items[k] = job->items[k];
		items[k].reference_id = dci_reference_id(ex, k);
		if (items[k].reg_type == NULL)
			items[k].reg_type = src->reg_type;
	}
	h = make_header(src, "search", message_id, job->nitems);
	if (dci_build_search(&h, txn, items, job->nitems, &signer, body, err, sizeof(err)) != 0)
	{
		dbuf_free(body);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the search envelope for DCI source \"%s\": %s", src->code, err)));
	}
	for (int k = 0; k < job->nitems; k++)
		pfree((char *) items[k].reference_id);
	pfree(items);
}

void
dci_exchange_search(dci_source *src, const dci_search_item *items, int nitems,
					dci_exchange *ex)
{
	search_job	job = {items, nitems, ex};

	exchange_many(src, &ex, 1, 1, build_search_body, &job, src->search_url, NULL, NULL);
}

void
dci_exchange_search_many(dci_source *src, const dci_search_item **items,
						 const int *nitems, dci_exchange **ex, int n, int parallel,
						 dci_envelope_done on_done, void *done_arg)
{
	search_job *jobs = palloc(sizeof(search_job) * n);

	for (int i = 0; i < n; i++)
	{
		jobs[i].items = items[i];
		jobs[i].nitems = nitems[i];
		jobs[i].ex = ex[i];
	}
	exchange_many(src, ex, n, parallel, build_search_body, jobs, src->search_url, on_done, done_arg);
	pfree(jobs);
}

dci_exchange *
dci_exchange_new(dci_source *src)
{
	return exchange_new(src);
}

typedef struct request_args
{
	const char *action;
	const char *message_json;
} request_args;

static void
build_request_body(dci_source *src, void *arg, int i, dbuf *body)
{
	request_args *a = arg;
	char		message_id[37];
	char		err[256];
	dci_header	h;
	dci_signer	signer = make_signer(src);

	dci_uuid(message_id);
	h = make_header(src, a->action, message_id, 1);
	if (dci_build_request(&h, a->message_json, strlen(a->message_json), &signer,
						  body, err, sizeof(err)) != 0)
	{
		dbuf_free(body);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the %s envelope for DCI source \"%s\": %s", a->action, src->code, err)));
	}
}

void
dci_exchange_request(dci_source *src, const char *url, const char *action,
					 const char *message_json, dci_exchange *ex)
{
	request_args a = {action, message_json};

	exchange_many(src, &ex, 1, 1, build_request_body, &a, url, NULL, NULL);
}

/* A one-item search: raise a failed item (not found is an answer). */
static void
check_single_item(dci_exchange *ex)
{
	struct json_object *records;
	const char *error;
	int			sqlstate;

	if (dci_item_outcome(ex, 0, 1, &records, &error, &sqlstate) == DCI_FAILED)
	{
		ex->sqlstate = sqlstate;
		ex->error = (char *) error;
		dci_exchange_raise(ex);
	}
}

static Datum
body_to_jsonb(dci_exchange *ex)
{
	Datum		d = DirectFunctionCall1(jsonb_in, CStringGetDatum(ex->http.body.data));

	dci_exchange_free(ex);
	return d;
}

/* One search item; the checked response envelope as jsonb. */
static Datum
search_one(dci_source *src, const dci_search_item *item)
{
	dci_exchange *ex = exchange_new(src);

	dci_exchange_search(src, item, 1, ex);
	if (ex->sqlstate)
		dci_exchange_raise(ex);
	check_single_item(ex);
	return body_to_jsonb(ex);
}

static char *
jsonb_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

Datum
dci_search(PG_FUNCTION_ARGS)
{
	dci_source *src;
	dci_search_item item;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, query_type and query of dci_search must not be null")));
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	memset(&item, 0, sizeof(item));
	item.query_type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	item.query_json = jsonb_text(PG_GETARG_JSONB_P(2));
	item.query_len = strlen(item.query_json);
	item.reg_type = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	item.reg_event_type = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	item.page_size = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	item.page_number = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	if (!PG_ARGISNULL(5) && item.page_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_size must be positive")));
	if (!PG_ARGISNULL(6) && item.page_number <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_number must be positive (pages count from 1)")));

	PG_RETURN_DATUM(search_one(src, &item));
}

Datum
dci_search_by_id(PG_FUNCTION_ARGS)
{
	dci_source *src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	dci_search_item item;

	memset(&item, 0, sizeof(item));
	item.query_type = "idtype-value";
	item.query_json = dci_idtype_query(text_to_cstring(PG_GETARG_TEXT_PP(1)),
									   text_to_cstring(PG_GETARG_TEXT_PP(2)));
	item.query_len = strlen(item.query_json);
	PG_RETURN_DATUM(search_one(src, &item));
}

/* Write the outcome into last_test_* as the tables' owner. */
static void
record_test(const char *code, bool ok, int status, const char *message, double ms)
{
	Oid			types[5] = {TEXTOID, BOOLOID, INT4OID, TEXTOID, FLOAT8OID};
	Datum		vals[5];
	char		nulls[5] = {' ', ' ', status ? ' ' : 'n', message ? ' ' : 'n', ' '};
	dci_owner_scope scope;

	vals[0] = CStringGetTextDatum(code);
	vals[1] = BoolGetDatum(ok);
	vals[2] = Int32GetDatum(status);
	vals[3] = message ? CStringGetTextDatum(message) : (Datum) 0;
	vals[4] = Float8GetDatum(ms);

	dci_owner_enter(&scope);
	if (SPI_execute_with_args("UPDATE dci.data_source SET last_test_at = pg_catalog.now(), "
							  "last_test_ok = $2, last_test_http_status = $3, last_test_message = $4, "
							  "last_test_latency_ms = $5 WHERE code OPERATOR(pg_catalog.=) $1",
							  5, types, vals, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "cannot update dci.data_source");
	dci_owner_leave(&scope);
}

Datum
dci_test_connection(PG_FUNCTION_ARGS)
{
	char	   *code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	dci_source *src = dci_source_get(code);
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	instr_time	start,
				elapsed;
	volatile bool ok = false;
	volatile int status = 0;
	char	   *volatile message = NULL;
	char	   *volatile dci_status = NULL;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	INSTR_TIME_SET_CURRENT(start);
	/* a subtransaction, so that any failure becomes a report instead of an ERROR */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		dci_search_item item;
		dci_exchange *ex;

		memset(&item, 0, sizeof(item));
		item.query_type = "idtype-value";
		item.query_json = "{\"type\":\"UIN\",\"value\":\"dci-connection-test\"}";
		item.query_len = strlen(item.query_json);
		ex = exchange_new(src);
		dci_exchange_search(src, &item, 1, ex);
		status = (int) ex->http.status;
		if (ex->sqlstate)
			dci_exchange_raise(ex);
		dci_status = pstrdup(ex->resp.status ? ex->resp.status : "succ");
		message = pstrdup("connected: authenticated, signed search accepted");
		{
			/* an item-level rjct still proves the envelope was accepted */
			struct json_object *it = dci_response_item(&ex->resp, dci_reference_id(ex, 0), 0);
			const char *ist = it ? dci_item_status(it) : NULL;

			if (ist && pg_strcasecmp(ist, "rjct") == 0)
				message = psprintf("connected; test item answered rjct (%s)",
								   dci_item_reason_code(it) ? dci_item_reason_code(it) : "no reason code");
		}
		dci_exchange_free(ex);
		ok = true;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* cancel and timeouts are not a connection-test result: stop */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		message = edata->message;
		dci_status = NULL;
		ok = false;
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);

	record_test(code, ok, status, message, INSTR_TIME_GET_MILLISEC(elapsed));

	values[0] = BoolGetDatum(ok);
	values[1] = Int32GetDatum(status);
	nulls[1] = status == 0;
	values[2] = dci_status ? CStringGetTextDatum(dci_status) : (Datum) 0;
	nulls[2] = dci_status == NULL;
	values[3] = Float8GetDatum(INSTR_TIME_GET_MILLISEC(elapsed));
	values[4] = CStringGetTextDatum(message ? message : "");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* dci_search_by_id_batch: the raw records of each identifier, as a jsonb array. */
static bool
map_records(dci_source *src, struct json_object *records, TupleDesc rectype,
			void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	StringInfoData buf;
	size_t		n = dci_records_len(records);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, dci_json_text(dci_records_get(records, i)));
	}
	appendStringInfoChar(&buf, ']');
	*out = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	*isnull = false;
	return true;
}

static const dci_lookup_kind records_kind = {NULL, map_records, false};

Datum
dci_search_by_id_batch(PG_FUNCTION_ARGS)
{
	dci_lookup_batch(fcinfo, &records_kind, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					 text_to_cstring(PG_GETARG_TEXT_PP(1)), PG_GETARG_ARRAYTYPE_P(2),
					 PG_GETARG_BOOL(3), NULL);
	return (Datum) 0;
}
