/*
 * autonomous.c - writes that commit whatever becomes of the caller's
 * transaction: the pending row of an asynchronous request (its callback may
 * arrive before the caller commits, or after it rolled back) and the rjct
 * row of a refused one (the ERROR that reports it rolls the caller back).
 *
 * A dynamic background worker, registered per call (no preloading needed),
 * connects to the caller's database, becomes the tables' owner as
 * dci_owner_enter does, runs statements from the fixed table below with the
 * caller's text parameters, commits and exits.  The caller waits for it.
 * Nothing but parameters travels: the worker never runs SQL it was sent.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "dci.h"
#include "inbox.h"

PGDLLEXPORT void dci_autonomous_main(Datum main_arg);

#define AUTO_MAGIC		0x44434931	/* "DCI1" */
#define AUTO_ERRLEN		512

/* Indexed by dci_auto_stmt; every name and operator qualified. */
static const char *const auto_sql[] = {
	[DCI_AUTO_TXN_INSERT] =
	"INSERT INTO dci.transaction (transaction_id, source_code, action, request, total_count) "
	"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5::pg_catalog.int4)",
	[DCI_AUTO_TXN_ACKED] =
	"UPDATE dci.transaction SET acked_at = COALESCE(acked_at, pg_catalog.now()), "
	"correlation_id = COALESCE(correlation_id, $2) "
	"WHERE transaction_id OPERATOR(pg_catalog.=) $1",
	[DCI_AUTO_TXN_REFUSED] =
	"WITH t AS (UPDATE dci.transaction SET status = $2, last_error = $3, completed_at = pg_catalog.now() "
	"WHERE transaction_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'pending' "
	"RETURNING transaction_id) "
	"UPDATE dci.subscription s SET status = 'rjct', last_error = $3, updated_at = pg_catalog.now() "
	"FROM t WHERE s.transaction_id OPERATOR(pg_catalog.=) t.transaction_id "
	"AND s.status OPERATOR(pg_catalog.=) 'requested'",
	[DCI_AUTO_SUB_INSERT] =
	"INSERT INTO dci.subscription (source_code, reg_event_type, filter, transaction_id, reference_id, "
	"reg_type, notify_record_type, frequency) "
	"VALUES ($1, $2, $3::pg_catalog.jsonb, $4, $5, $6, $7, $8::pg_catalog.jsonb)",
};

/* The shared segment: a header, then per statement: int32 stmt, int32 n, n x (int32 len, bytes). */
typedef struct auto_shared
{
	uint32		magic;
	Oid			database;
	int			nops;
	volatile int result;		/* 0 not run, 1 committed, 2 failed */
	char		error[AUTO_ERRLEN];
	Size		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} auto_shared;

static Size
serialized_size(const dci_auto_op *ops, int nops)
{
	Size		sz = 0;

	for (int i = 0; i < nops; i++)
	{
		sz += 2 * sizeof(int32);
		for (int p = 0; p < ops[i].nparams; p++)
			sz += sizeof(int32) + (ops[i].params[p] ? strlen(ops[i].params[p]) : 0);
	}
	return sz;
}

static char *
put_int(char *p, int32 v)
{
	memcpy(p, &v, sizeof(v));
	return p + sizeof(v);
}

static const char *
get_int(const char *p, const char *end, int32 *v)
{
	if (end - p < (ptrdiff_t) sizeof(int32))
		elog(ERROR, "dci autonomous write: truncated parameters");
	memcpy(v, p, sizeof(*v));
	return p + sizeof(*v);
}

bool
dci_autonomous_run(const dci_auto_op *ops, int nops, int elevel)
{
	Size		len = serialized_size(ops, nops);
	dsm_segment *seg;
	auto_shared *sh;
	char	   *p;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	int			result;

	seg = dsm_create(offsetof(auto_shared, data) + len, 0);
	sh = dsm_segment_address(seg);
	memset(sh, 0, offsetof(auto_shared, data));
	sh->magic = AUTO_MAGIC;
	sh->database = MyDatabaseId;
	sh->nops = nops;
	sh->len = len;
	p = sh->data;
	for (int i = 0; i < nops; i++)
	{
		Assert(ops[i].nparams <= DCI_AUTO_MAX_PARAMS);
		p = put_int(p, (int32) ops[i].stmt);
		p = put_int(p, ops[i].nparams);
		for (int k = 0; k < ops[i].nparams; k++)
		{
			const char *v = ops[i].params[k];
			int32		l = v ? (int32) strlen(v) : -1;

			p = put_int(p, l);
			if (l > 0)
			{
				memcpy(p, v, l);
				p += l;
			}
		}
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dci");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dci_autonomous_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dci autonomous write for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "dci autonomous write");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		dsm_detach(seg);
		ereport(elevel,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a background worker to record the DCI transaction"),
				 errhint("Asynchronous DCI requests record their transaction from a background worker: raise max_worker_processes.")));
		return false;
	}
	status = WaitForBackgroundWorkerShutdown(handle);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while recording a DCI transaction")));
	pg_read_barrier();
	result = sh->result;
	if (result != 1)
	{
		char		msg[AUTO_ERRLEN];

		strlcpy(msg, result == 2 ? sh->error : "the worker did not run", sizeof(msg));
		dsm_detach(seg);
		ereport(elevel,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not record the DCI transaction: %s", msg)));
		return false;
	}
	dsm_detach(seg);
	return true;
}

/* Run the statements of the segment as the tables' owner; true when all ran. */
static void
run_statements(auto_shared *sh)
{
	const char *p = sh->data;
	const char *end = sh->data + sh->len;
	dci_owner_scope scope;

	dci_owner_enter(&scope);
	for (int i = 0; i < sh->nops; i++)
	{
		int32		stmt;
		int32		n;
		Oid			types[DCI_AUTO_MAX_PARAMS];
		Datum		vals[DCI_AUTO_MAX_PARAMS];
		char		nulls[DCI_AUTO_MAX_PARAMS];
		int			rc;

		p = get_int(p, end, &stmt);
		p = get_int(p, end, &n);
		if (stmt < 0 || stmt >= (int32) lengthof(auto_sql) || n < 0 || n > DCI_AUTO_MAX_PARAMS)
			elog(ERROR, "dci autonomous write: bad statement %d", stmt);
		for (int k = 0; k < n; k++)
		{
			int32		l;

			p = get_int(p, end, &l);
			types[k] = TEXTOID;
			nulls[k] = l < 0 ? 'n' : ' ';
			vals[k] = (Datum) 0;
			if (l >= 0)
			{
				if (end - p < l)
					elog(ERROR, "dci autonomous write: truncated parameters");
				vals[k] = PointerGetDatum(cstring_to_text_with_len(p, l));
				p += l;
			}
		}
		rc = SPI_execute_with_args(auto_sql[stmt], n, types, vals, nulls, false, 0);
		if (rc != SPI_OK_INSERT && rc != SPI_OK_UPDATE)
			elog(ERROR, "dci autonomous write: statement %d failed (%d)", stmt, rc);
	}
	dci_owner_leave(&scope);
}

void
dci_autonomous_main(Datum main_arg)
{
	dsm_segment *seg;
	auto_shared *sh;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "dci autonomous write");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		proc_exit(0);			/* the caller is gone: nothing to record for it */
	sh = dsm_segment_address(seg);
	if (sh->magic != AUTO_MAGIC)
		proc_exit(1);
	/* as the bootstrap superuser (no login check), then the tables' owner */
	BackgroundWorkerInitializeConnectionByOid(sh->database, InvalidOid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "dci autonomous write");
	PG_TRY();
	{
		run_statements(sh);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		strlcpy(sh->error, edata->message ? edata->message : "unknown error", AUTO_ERRLEN);
		pg_write_barrier();
		sh->result = 2;
		PG_RE_THROW();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	pg_write_barrier();
	sh->result = 1;
	dsm_detach(seg);
	proc_exit(0);
}
