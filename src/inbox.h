/*
 * inbox.h - callbacks from registries: one ingestion path (inbox.c), and the
 * autonomous writes that record asynchronous requests (autonomous.c).
 *
 * Every callback (on-search, on-subscribe, on-unsubscribe, notify,
 * txn-on-status), whether the listener, dci_receive or a poll brings it, is
 * verified, stored once in dci.inbox, applied to dci.transaction and
 * dci.subscription, and announced with NOTIFY dci_inbox.
 */
#ifndef DCI_INBOX_H
#define DCI_INBOX_H

#include "postgres.h"

typedef enum dci_via
{
	DCI_VIA_LISTENER,
	DCI_VIA_SQL,
	DCI_VIA_POLL
} dci_via;

typedef struct dci_ingest_result
{
	int64		inbox_id;		/* 0: nothing stored (a poll that says "still pending") */
	bool		duplicate;		/* same (source, message_id) seen before: nothing new stored */
	char		action[32];		/* header.action */
	char		correlation_id[64]; /* for our ACK, may be "" */
	char		source_code[64];	/* the source the callback was verified for */
} dci_ingest_result;

/*
 * Verify, store once, update transaction/subscription, NOTIFY dci_inbox.  Must
 * run inside a transaction.  Refusals raise ERROR with: ERRCODE_DCI_BAD_RESPONSE
 * (DC004) malformed / not a callback envelope, ERRCODE_DCI_SIGNATURE (DC005) bad
 * or missing signature, ERRCODE_DCI_AUTH (DC007) unknown sender; 54000 too
 * large.  Nothing is stored on refusal.
 */
extern int64 dci_inbox_ingest(const char *body, size_t len, dci_via via, dci_ingest_result *res);

/* The NOTIFY channel that carries each new inbox id. */
#define DCI_INBOX_CHANNEL "dci_inbox"

/*
 * autonomous.c: writes that commit at once, whatever becomes of the caller's
 * transaction (a dynamic background worker runs them and exits).  Each
 * statement is one of a fixed set, run as the tables' owner; params are text.
 */
typedef enum dci_auto_stmt
{
	DCI_AUTO_TXN_INSERT,		/* transaction_id, source, action, request, total_count */
	DCI_AUTO_TXN_ACKED,			/* transaction_id, correlation_id */
	DCI_AUTO_TXN_REFUSED,		/* transaction_id, status (rjct/failed), last_error; its subscriptions rjct */
	DCI_AUTO_SUB_INSERT			/* source, reg_event_type, filter, transaction_id, reference_id,
								 * reg_type, notify_record_type, frequency */
} dci_auto_stmt;

#define DCI_AUTO_MAX_PARAMS 8

typedef struct dci_auto_op
{
	dci_auto_stmt stmt;
	int			nparams;
	const char *params[DCI_AUTO_MAX_PARAMS];	/* NULL: SQL NULL */
} dci_auto_op;

/* Run the statements in one transaction of a background worker; false (reported at elevel) if it did not commit. */
extern bool dci_autonomous_run(const dci_auto_op *ops, int nops, int elevel);

/* async.c: the pending transaction of an asynchronous request, sent and acked */
typedef struct dci_async_request
{
	const char *action;			/* search, subscribe, unsubscribe */
	const char *url;
	const char *transaction_id;
	const char *message_json;	/* the message, as sent and as recorded */
	int			total_count;	/* answers expected (search items) */
	const dci_auto_op *extra;	/* written with the pending row (subscriptions) */
	int			nextra;
} dci_async_request;

/*
 * Record the transaction as pending (committed before anything is sent),
 * send the request, expect an Ack; ERROR (the transaction then recorded rjct
 * or failed) on anything else.
 */
extern void dci_async_send(struct dci_source *src, const dci_async_request *req);

/* JSON text of a jsonb value (palloc'd). */
extern char *dci_jsonb_text(Datum jsonb);
/* A fresh transaction id (UUID). */
extern char *dci_new_transaction_id(void);

#endif
