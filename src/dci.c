/*
 * dci.c - module entry: GUCs, cancel handling and small SQL utilities.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "dci.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(dci_clear_token_cache);
PG_FUNCTION_INFO_V1(dci_stats);
PG_FUNCTION_INFO_V1(dci_reset_circuit);



int			dci_connect_timeout_ms = 5000;
int			dci_max_response_kb = 16384;
int			dci_signature_skew = 60;
int			dci_max_host_connections = 8;
char	   *dci_ca_file = NULL;

dci_counters dci_stats_counters;

void		_PG_init(void);

static void
shutdown_http(int code, Datum arg)
{
	dci_http_shutdown();
	dci_auth_forget(NULL, false);
	dci_token_shared_release_mine();
}

/*
 * Register the exit cleanup (token wipe, claims given back, curl closed) in
 * this process on first use: callbacks registered in _PG_init of a preloaded
 * library belong to the postmaster and are dropped at fork.
 */
void
dci_ensure_exit_hook(void)
{
	static bool registered = false;

	if (registered)
		return;
	/* before shared memory goes: giving back a token claim takes an LWLock */
	before_shmem_exit(shutdown_http, (Datum) 0);
	registered = true;
}

/* The wait event dci's waits show in pg_stat_activity. */
uint32
dci_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 event = 0;

	if (event == 0)
		event = WaitEventExtensionNew("DciHttp");
	return event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

void
dci_check_cancel(void)
{
	CHECK_FOR_INTERRUPTS();
	/* interrupts held off: still stop with the standard cancel error */
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling statement due to user request")));
}

void
_PG_init(void)
{
	DefineCustomIntVariable("dci.connect_timeout_ms",
							"Time allowed to open a connection to a DCI registry.",
							NULL, &dci_connect_timeout_ms, 5000, 100, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.max_response_size",
							"Largest response body accepted from a registry.",
							"A larger response fails the call instead of filling memory.",
							&dci_max_response_kb, 16384, 1, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.signature_skew",
							"Clock skew, in seconds, allowed when checking response signatures.",
							NULL, &dci_signature_skew, 60, 0, 3600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.max_host_connections",
							"Most connections one backend opens to one registry host at once.",
							NULL, &dci_max_host_connections, 8, 1, 256,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.batch_concurrency",
							"Envelopes a batch function keeps in flight at once.",
							NULL, &dci_batch_concurrency, 4, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.cache_ttl",
							"Seconds a lookup answer is reused by this backend (0: no response cache).",
							"Only found and not-found answers are cached, never failures.",
							&dci_cache_ttl, 0, 0, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.cache_max_entries",
							"Most answers the response cache holds before it is emptied.",
							NULL, &dci_cache_max_entries, 100000, 1, 10000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.breaker_threshold",
							"Consecutive failures to reach a source after which calls to it fail at once (0: no circuit breaker).",
							NULL, &dci_breaker_threshold, 5, 0, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dci.breaker_cooldown",
							"Seconds an open circuit stays open before one probe may try the source again.",
							NULL, &dci_breaker_cooldown, 30, 1, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("dci.ca_file",
							   "CA bundle used to verify registries' TLS certificates (default: the system's).",
							   NULL, &dci_ca_file, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	dci_listener_init();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("dci");
#else
	EmitWarningsOnPlaceholders("dci");
#endif

	dci_source_cache_init();
	dci_shmem_init();
}

Datum
dci_clear_token_cache(PG_FUNCTION_ARGS)
{
	dci_auth_forget(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)), true);
	PG_RETURN_VOID();
}

Datum
dci_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(dci_stats_counters.requests);
	values[1] = Int64GetDatum(dci_http_connections_opened());
	values[2] = Int64GetDatum(dci_stats_counters.token_fetches);
	values[3] = Int64GetDatum(dci_stats_counters.retries_401);
	values[4] = Int64GetDatum(dci_stats_counters.cache_hits);
	values[5] = Int64GetDatum(dci_stats_counters.retries);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

Datum
dci_reset_circuit(PG_FUNCTION_ARGS)
{
	dci_budget_reset_breaker(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}
