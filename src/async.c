/*
 * async.c - asynchronous requests and their transactions: dci_search_async,
 * dci_txn_status and dci_poll_transactions; and dci_async_send, which
 * subscribe.c shares.
 *
 * The pending row of a request is committed (autonomous.c) before the
 * request leaves, so a callback that arrives at once, even before the
 * caller commits or after it rolled back, finds its transaction.  The
 * request expects an Ack; an ERR or NACK is recorded rjct, a request that
 * never got an answer failed, both committed before the ERROR that reports
 * them.  Polling asks the registry's sync txn status and hands the answer to
 * the inbox like any callback: callbacks and polls converge on the same rows.
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "dci.h"
#include "inbox.h"

PG_FUNCTION_INFO_V1(dci_search_async);
PG_FUNCTION_INFO_V1(dci_txn_status);
PG_FUNCTION_INFO_V1(dci_poll_transactions);

#define MAX_CORRELATION_LEN 99	/* SPDCI maxLength */

char *
dci_jsonb_text(Datum jsonb)
{
	Jsonb	   *jb = DatumGetJsonbP(jsonb);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

char *
dci_new_transaction_id(void)
{
	char		id[37];

	dci_uuid(id);
	return pstrdup(id);
}

/* An asynchronous request needs somewhere to send its answer. */
static void
require_callback_uri(dci_source *src)
{
	if (src->our_callback_uri == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" has no our_callback_uri", src->code),
				 errhint("Set dci.data_source.our_callback_uri to the URL where the registry posts its callbacks "
						 "(the dci listener, or the proxy in front of it).")));
}

/* Is this body an Ack that refuses (ERR, NACK)?  Then the registry rejected the request. */
static bool
refusing_ack(dci_exchange *ex)
{
	dci_response r;
	char		err[64];
	bool		refused = false;

	if (ex->http.result != DCI_HTTP_OK || ex->http.body.len == 0)
		return false;
	if (ex->resp.root != NULL)
		return ex->resp.ack_status && pg_strcasecmp(ex->resp.ack_status, "ACK") != 0;
	{
		cj_limits	small = {10000, 32};

		if (dci_response_parse(ex->http.body.data, ex->http.body.len, &small, &r, err, sizeof(err)) == CJ_OK)
			refused = r.ack_status && pg_strcasecmp(r.ack_status, "ACK") != 0;
		dci_response_free(&r);
	}
	return refused;
}

void
dci_async_send(dci_source *src, const dci_async_request *req)
{
	dci_auto_op *ops = palloc0(sizeof(dci_auto_op) * (1 + req->nextra));
	char	   *total = psprintf("%d", req->total_count);
	dci_exchange *ex;
	dci_auto_op done;
	bool		rjct;

	require_callback_uri(src);
	ops[0].stmt = DCI_AUTO_TXN_INSERT;
	ops[0].nparams = 5;
	ops[0].params[0] = req->transaction_id;
	ops[0].params[1] = src->code;
	ops[0].params[2] = req->action;
	ops[0].params[3] = req->message_json;
	ops[0].params[4] = total;
	for (int i = 0; i < req->nextra; i++)
		ops[1 + i] = req->extra[i];
	/* committed before the request leaves: its callback may come at once */
	dci_autonomous_run(ops, 1 + req->nextra, ERROR);

	ex = dci_exchange_message_new(src, req->url, req->action, req->transaction_id,
								  req->message_json, DCI_EXPECT_ACK);
	dci_exchange_send(ex);
	memset(&done, 0, sizeof(done));
	done.params[0] = req->transaction_id;
	if (ex->err.sqlstate == 0)
	{
		const char *corr = dci_get_string(ex->resp.message, "correlation_id");

		done.stmt = DCI_AUTO_TXN_ACKED;
		done.nparams = 2;
		done.params[1] = corr && strlen(corr) <= MAX_CORRELATION_LEN ? corr : NULL;
		/* the request is out: a failure to note the Ack must not read as a failed request */
		dci_autonomous_run(&done, 1, WARNING);
		dci_exchange_free(ex);
		return;
	}

	rjct = refusing_ack(ex);
	done.stmt = DCI_AUTO_TXN_REFUSED;
	done.nparams = 3;
	done.params[1] = rjct ? "rjct" : "failed";
	done.params[2] = ex->err.message;
	dci_autonomous_run(&done, 1, WARNING);
	/* an ERR or NACK, whatever its HTTP status (401/403 stay authentication errors) */
	if (rjct && ex->err.sqlstate != ERRCODE_DCI_AUTH)
		ex->err.sqlstate = ERRCODE_DCI_REJECTED;
	if (ex->err.detail == NULL)
		ex->err.detail = MemoryContextStrdup(ex->cxt,
											 psprintf("Transaction %s is recorded in dci.transaction as %s.",
													  req->transaction_id, rjct ? "rjct" : "failed"));
	dci_exchange_raise(ex);
}

/*
 * dci_search_async(source, query_type, query, reg_type, reg_event_type,
 * page_size, page_number) returns text: the transaction_id.
 */
Datum
dci_search_async(PG_FUNCTION_ARGS)
{
	dci_source *src;
	dci_search_item item;
	dci_async_request req;
	dbuf		msg;
	char		err[256];
	char	   *txn;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, query_type and query of dci_search_async must not be null")));
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	require_callback_uri(src);
	memset(&item, 0, sizeof(item));
	txn = dci_new_transaction_id();
	item.reference_id = psprintf("%s-0", txn);
	item.query_type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	item.query_json = dci_jsonb_text(PG_GETARG_DATUM(2));
	item.query_len = strlen(item.query_json);
	item.reg_type = PG_ARGISNULL(3) ? src->reg_type : text_to_cstring(PG_GETARG_TEXT_PP(3));
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

	dbuf_init(&msg);
	if (dci_search_message(txn, &item, 1, (long) time(NULL), &msg, err, sizeof(err)) != 0 ||
		msg.data == NULL)
	{
		dbuf_free(&msg);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the search envelope for DCI source \"%s\": %s", src->code, err)));
	}
	memset(&req, 0, sizeof(req));
	req.action = "search";
	req.url = src->async_search_url;
	req.transaction_id = txn;
	req.message_json = pstrdup(msg.data);
	req.total_count = 1;
	dbuf_free(&msg);
	dci_async_send(src, &req);
	PG_RETURN_TEXT_P(cstring_to_text(txn));
}

/* ---- txn status ---- */

/* The action of one of the source's transactions; ERROR when it has none of that id. */
static char *
transaction_action(const char *source, const char *txn)
{
	dci_owner_scope scope;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2] = {CStringGetTextDatum(txn), CStringGetTextDatum(source)};
	char	   *action = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	dci_owner_enter(&scope);
	if (SPI_execute_with_args("SELECT action FROM dci.transaction WHERE transaction_id OPERATOR(pg_catalog.=) $1 "
							  "AND source_code OPERATOR(pg_catalog.=) $2", 2, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "cannot read dci.transaction");
	if (SPI_processed == 1)
		action = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	dci_owner_leave(&scope);
	if (action == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("DCI source \"%s\" has no transaction \"%s\" in dci.transaction",
						source, dci_sanitize(txn))));
	return action;
}

/* When the transaction was last asked about, and why that failed (NULL: it did not). */
static void
note_poll(const char *txn, const char *error)
{
	dci_owner_scope scope;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2] = {CStringGetTextDatum(txn), error ? CStringGetTextDatum(error) : (Datum) 0};
	char		nulls[2] = {' ', error ? ' ' : 'n'};

	dci_owner_enter(&scope);
	if (SPI_execute_with_args("UPDATE dci.transaction SET polled_at = pg_catalog.now(), "
							  "last_error = COALESCE($2, last_error) "
							  "WHERE transaction_id OPERATOR(pg_catalog.=) $1", 2, types, vals, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "cannot update dci.transaction");
	dci_owner_leave(&scope);
}

/* Ask the registry where a transaction stands; its answer goes through the inbox. */
static Datum
txn_status(const char *source, const char *txn)
{
	dci_source *src = dci_source_get(source);
	char	   *action = transaction_action(source, txn);
	dbuf		msg;
	dci_exchange *ex;
	dci_ingest_result res;
	Datum		answer;
	char		ref[37];

	if (strcmp(action, "search") != 0 && strcmp(action, "subscribe") != 0 &&
		strcmp(action, "unsubscribe") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("DCI transaction \"%s\" is a %s, which has no status to ask for", txn, action)));
	/* the same transaction_id: SPDCI keeps it across the requests of one business transaction */
	dci_uuid(ref);
	dbuf_init(&msg);
	dbuf_puts(&msg, "{\"transaction_id\":");
	dci_json_string(&msg, txn);
	dbuf_puts(&msg, ",\"txnstatus_request\":{\"attribute_type\":\"transaction_id\",\"attribute_value\":");
	dci_json_string(&msg, txn);
	dbuf_puts(&msg, ",\"locale\":\"eng\",\"reference_id\":");
	dci_json_string(&msg, ref);
	dbuf_puts(&msg, ",\"txn_type\":");
	dci_json_string(&msg, action);
	dbuf_puts(&msg, "}}");
	if (msg.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	ex = dci_exchange_message_new(src, src->txn_status_url, "txn-status", txn, msg.data,
								  DCI_EXPECT_ANSWER);
	dbuf_free(&msg);
	dci_exchange_send(ex);
	if (ex->err.sqlstate)
		dci_exchange_raise(ex);
	dci_inbox_ingest(ex->http.body.data, ex->http.body.len, DCI_VIA_POLL, &res);
	answer = DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(ex->http.body.data, ex->http.body.len)));
	dci_exchange_free(ex);
	note_poll(txn, NULL);
	return answer;
}

/* dci_txn_status(source, transaction_id) returns jsonb: the registry's checked answer. */
Datum
dci_txn_status(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(txn_status(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							   text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

/*
 * dci_poll_transactions(older_than, max_transactions) returns int: asks
 * about the pending and partial transactions not heard of for older_than,
 * the longest silent first; each failure is written on its row and the
 * rest go on.  Returns how many were asked about.
 */
Datum
dci_poll_transactions(PG_FUNCTION_ARGS)
{
	Interval   *older = PG_ARGISNULL(0) ? NULL : PG_GETARG_INTERVAL_P(0);
	int			max = PG_ARGISNULL(1) ? 100 : PG_GETARG_INT32(1);
	dci_owner_scope scope;
	Oid			types[2] = {INTERVALOID, INT4OID};
	Datum		vals[2];
	int			n;
	char	  **txns;
	char	  **sources;
	volatile int asked = 0;
	MemoryContext volatile cxt = CurrentMemoryContext;

	if (older == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than of dci_poll_transactions must not be null")));
	if (max < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_transactions must not be negative")));
	vals[0] = IntervalPGetDatum(older);
	vals[1] = Int32GetDatum(max);
	dci_owner_enter(&scope);
	if (SPI_execute_with_args("SELECT transaction_id, source_code FROM dci.transaction "
							  "WHERE status OPERATOR(pg_catalog.=) ANY ('{pending,partial}') "
							  "AND action OPERATOR(pg_catalog.=) ANY ('{search,subscribe,unsubscribe}') "
							  "AND COALESCE(polled_at, sent_at) OPERATOR(pg_catalog.<) "
							  "(pg_catalog.now() OPERATOR(pg_catalog.-) $1) "
							  "ORDER BY COALESCE(polled_at, sent_at) LIMIT $2",
							  2, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "cannot read dci.transaction");
	n = (int) SPI_processed;
	txns = MemoryContextAlloc(cxt, sizeof(char *) * Max(n, 1));
	sources = MemoryContextAlloc(cxt, sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		txns[i] = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		sources[i] = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	dci_owner_leave(&scope);

	for (int i = 0; i < n; i++)
	{
		ResourceOwner owner = CurrentResourceOwner;

		CHECK_FOR_INTERRUPTS();
		/* one transaction's failure is written on its row; the others go on */
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			(void) txn_status(sources[i], txns[i]);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
				ReThrowError(edata);
			note_poll(txns[i], psprintf("status poll: %s", edata->message));
			FreeErrorData(edata);
		}
		PG_END_TRY();
		asked++;
	}
	PG_RETURN_INT32(asked);
}
