/*
 * search.c - the generic SQL functions: dci_search, dci_search_by_id,
 * dci_search_by_id_batch and dci_test_connection.
 *
 * Each is a thin layer over exchange.c (one envelope, checked and bound to
 * its request) or batch.c (identifier lookups with one outcome each).
 */
#include "postgres.h"

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

/* A one-item search: raise a failed item (not found is an answer). */
static void
check_single_item(dci_exchange *ex)
{
	struct json_object *records;
	dci_error	err;

	if (dci_item_outcome(ex, 0, &records, &err) == DCI_FAILED)
	{
		ex->err = err;
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
	dci_exchange *ex = dci_exchange_search_new(src, NULL, item, 1);

	dci_exchange_send(ex);
	if (ex->err.sqlstate)
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
		struct json_object *records;
		dci_error	err;
		dci_outcome o;

		/* the probe is a lookup: ok only if a lookup would work, by the same rules */
		memset(&item, 0, sizeof(item));
		item.query_type = "idtype-value";
		item.query_json = dci_idtype_query(src->test_identifier_type, src->test_identifier_value);
		item.query_len = strlen(item.query_json);
		ex = dci_exchange_search_new(src, NULL, &item, 1);
		dci_exchange_send(ex);
		status = (int) ex->http.status;
		if (ex->err.sqlstate)
			dci_exchange_raise(ex);
		dci_status = pstrdup(ex->resp.status ? ex->resp.status : "succ");
		o = dci_item_outcome(ex, 0, &records, &err);
		if (o == DCI_FAILED)
		{
			ex->err = err;
			dci_exchange_raise(ex);
		}
		message = psprintf("connected: authenticated, signed search accepted, answer checked (test identifier %s)",
						   o == DCI_FOUND ? "found" : "not found");
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
map_records(dci_source *src, const char *value, struct json_object *records, TupleDesc rectype,
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
