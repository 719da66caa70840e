/*
 * inbox.c - one ingestion path for every callback a registry sends:
 * on-search, on-subscribe, on-unsubscribe, notify, and txn-on-status (the
 * answer a poll gets).  The listener, dci_receive and dci_txn_status all
 * come here.
 *
 *   size -> parse -> callback? -> source (by the transaction it answers,
 *   then by header.sender_id) -> signature, as sync answers are checked ->
 *   bound to a transaction or subscription of ours -> stored once per
 *   (source, message_id) -> transaction / subscription updated -> NOTIFY
 *
 * A callback is hostile input until its signature is checked: nothing is
 * written before, and a refusal (an ERROR) stores nothing.  Registry text
 * reaches error messages only through dci_sanitize.  Writes run as the
 * tables' owner (owner.c), every name and operator qualified.
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "dci.h"
#include "inbox.h"

PG_FUNCTION_INFO_V1(dci_receive);

#define MAX_ID_LEN		128		/* message_id, transaction_id, sender_id we accept */
#define MAX_CODE_LEN	99		/* SPDCI: correlation_id, subscription codes */

/* What a callback answers, read from the envelope before anything is written. */
typedef struct callback
{
	const char *body;
	size_t		len;
	dci_via		via;
	dci_response r;				/* owns the json-c tree */
	const char *action;			/* header.action */
	const char *kind;			/* what it answers: on-search, on-subscribe, on-unsubscribe, notify */
	const char *message_id;
	const char *sender_id;		/* NULL when absent */
	const cj_node *answer; /* the message that answers (txn_status inside a txn-on-status) */
	const char *transaction_id; /* ours, for all but notify */
	const char *correlation_id;
	const char *status;			/* header.status */
	dci_source *src;
	/* the transaction row, when there is one */
	bool		have_txn;
	char	   *txn_source;
	char	   *txn_action;
	char	   *txn_status;
	int			txn_total;
	int			txn_completed;
	int			txn_failed;
	char	   *subscription_code;	/* notify: the subscription it was matched to */
} callback;

static void
free_callback_cb(void *arg)
{
	dci_response_free(&((callback *) arg)->r);
}

static void refuse(int sqlstate, const char *detail, const char *fmt,...) pg_attribute_printf(3, 4);

static void
refuse(int sqlstate, const char *detail, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(sqlstate), errmsg("%s", buf),
			 detail ? errdetail("%s", detail) : 0));
}

/* A short identifier from the envelope: a non-empty string of at most max bytes, or NULL. */
static const char *
get_id(const cj_node *o, const char *key, size_t max)
{
	const char *s = dci_get_string(o, key);

	return (s && s[0] && strlen(s) <= max) ? s : NULL;
}

static bool
is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* ---- reading the envelope ---- */

static void
read_envelope(callback *cb)
{
	static const char *const actions[] = {"on-search", "on-subscribe", "on-unsubscribe", "notify",
	"txn-on-status", NULL};
	char		err[256];
	const cj_node *hdr;
	const cj_node *enc;

	{
		/* the same bounds as a sync answer: a value per 4 bytes of dci.max_response_size */
		cj_limits	lim = {Max(100000, (long) dci_max_response_kb * 1024 / 4), 0};
		cj_result	pr = dci_response_parse(cb->body, cb->len, &lim, &cb->r, err, sizeof(err));

		if (pr == CJ_ERR_NOMEM)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (pr != CJ_OK)
			refuse(ERRCODE_DCI_BAD_RESPONSE, NULL, "callback is not a DCI envelope: %s", dci_sanitize(err));
	}
	hdr = cb->r.header;
	if (hdr == NULL || cb->r.message == NULL)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL, "callback has no %s (SPDCI: a callback carries a header and a message)",
			   hdr == NULL ? "header" : "message");
	cb->action = dci_get_string(hdr, "action");
	if (cb->action == NULL || !is_one_of(cb->action, actions))
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
			   "not a callback envelope: header.action is %s%s%s",
			   cb->action ? "\"" : "", cb->action ? dci_sanitize(cb->action) : "missing", cb->action ? "\"" : "");
	cb->message_id = get_id(hdr, "message_id", MAX_ID_LEN);
	if (cb->message_id == NULL)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
			   "%s callback has no usable header.message_id (a string of 1 to %d bytes)", cb->action, MAX_ID_LEN);
	cb->sender_id = dci_get_string(hdr, "sender_id");
	if (cb->sender_id && (cb->sender_id[0] == '\0' || strlen(cb->sender_id) > MAX_ID_LEN))
		refuse(ERRCODE_DCI_AUTH, NULL, "%s callback has an unusable header.sender_id", cb->action);
	enc = cj_get(hdr, "is_msg_encrypted");
	if (cj_typeof(enc) == CJ_TRUE)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL, "%s callback is encrypted, which dci does not support", cb->action);
	cb->status = dci_get_string(hdr, "status");

	cb->answer = cb->r.message;
	cb->kind = cb->action;
	if (strcmp(cb->action, "txn-on-status") == 0)
	{
		const cj_node *txr = dci_get_object(cb->r.message, "txnstatus_response");
		const char *type = dci_get_string(txr, "txn_type");

		cb->answer = dci_get_object(txr, "txn_status");
		if (type == NULL || cb->answer == NULL)
			refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
				   "txn-on-status callback has no txnstatus_response.txn_type and txn_status");
		/* registry_core_api says on-search; some copies of the schema say search */
		if (strcmp(type, "on-search") == 0 || strcmp(type, "search") == 0)
			cb->kind = "on-search";
		else if (strcmp(type, "on-subscribe") == 0 || strcmp(type, "subscribe") == 0)
			cb->kind = "on-subscribe";
		else if (strcmp(type, "on-unsubscribe") == 0 || strcmp(type, "unsubscribe") == 0)
			cb->kind = "on-unsubscribe";
		else
			refuse(ERRCODE_DCI_BAD_RESPONSE, NULL, "txn-on-status callback has txn_type \"%s\"",
				   dci_sanitize(type));
	}
	if (strcmp(cb->kind, "notify") != 0)
	{
		cb->transaction_id = get_id(cb->answer, "transaction_id", MAX_ID_LEN);
		if (cb->transaction_id == NULL)
			cb->transaction_id = get_id(cb->r.message, "transaction_id", MAX_ID_LEN);
		if (cb->transaction_id == NULL)
			refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
				   "%s callback has no usable message.transaction_id", cb->action);
	}
	cb->correlation_id = get_id(cb->answer, "correlation_id", MAX_CODE_LEN);
	if (cb->correlation_id == NULL)
		cb->correlation_id = get_id(cb->r.message, "correlation_id", MAX_CODE_LEN);
}

/* ---- SQL as the tables' owner ---- */

static int
run(const char *sql, int n, Oid *types, Datum *vals, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, n, types, vals, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "dci inbox: unexpected SPI result %d", rc);
	return (int) SPI_processed;
}

static char *
col_text(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? pstrdup(v) : NULL;
}

static int
col_int(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? atoi(v) : 0;
}

static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* The transaction the callback answers, locked against a concurrent callback of it. */
static void
read_transaction(callback *cb)
{
	Oid			types[1] = {TEXTOID};
	Datum		vals[1] = {CStringGetTextDatum(cb->transaction_id)};

	if (run("SELECT source_code, action, status, total_count, completed_count, failed_count "
			"FROM dci.transaction WHERE transaction_id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			1, types, vals, NULL, SPI_OK_SELECT) == 0)
		return;
	cb->have_txn = true;
	cb->txn_source = col_text(0, 1);
	cb->txn_action = col_text(0, 2);
	cb->txn_status = col_text(0, 3);
	cb->txn_total = col_int(0, 4);
	cb->txn_completed = col_int(0, 5);
	cb->txn_failed = col_int(0, 6);
}

/* ---- who sent it ---- */

/* Does src accept this body's signature, as it accepts its sync answers? */
static bool
signature_ok(dci_source *src, const callback *cb, char *err, size_t errlen, dci_sig_result *sr)
{
	dci_signing_mode mode;

	*sr = DCI_SIG_OK;
	if (src->verify_mode == DCI_VERIFY_OFF)
		return true;
	mode = dci_key_algorithm(src->registry_key) == DCI_ALG_RS256 ? DCI_SIGN_JWS_RS256 : DCI_SIGN_ED25519;
	err[0] = '\0';
	*sr = dci_verify_parsed(&cb->r, mode, src->registry_key, (long) time(NULL),
							dci_signature_skew, err, errlen);
	if (*sr == DCI_SIG_MISSING && src->verify_mode == DCI_VERIFY_IF_PRESENT)
		*sr = DCI_SIG_OK;
	return *sr == DCI_SIG_OK;
}

static bool match_subscription(callback *cb, bool must);

/* Codes of the sources that hold this subscription code (a notify names it). */
static List *
owners_of_code(const char *code)
{
	Oid			types[1] = {TEXTOID};
	Datum		vals[1] = {CStringGetTextDatum(code)};
	List	   *owners = NIL;

	run("SELECT source_code FROM dci.subscription WHERE subscription_code OPERATOR(pg_catalog.=) $1",
		1, types, vals, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		owners = lappend(owners, col_text((int) i, 1));
	return owners;
}

/*
 * A candidate source, or NULL when its configuration does not load (an
 * inactive key, a missing setting): another source of the same registry
 * must not stop callbacks for the one they are meant for.
 */
static dci_source *
try_source(const char *code)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	dci_source *volatile src = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		src = dci_source_get(code);
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
		FreeErrorData(edata);
		src = NULL;
	}
	PG_END_TRY();
	return src;
}

static int
cmp_code(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

static bool
has_code(List *codes, const char *code)
{
	ListCell   *lc;

	foreach(lc, codes)
		if (strcmp((char *) lfirst(lc), code) == 0)
			return true;
	return false;
}

static List *
add_code(List *codes, const char *code)
{
	return has_code(codes, code) ? codes : lappend(codes, pstrdup(code));
}

/*
 * The source this callback comes from: the source of the transaction it
 * answers; else the sources holding the subscription a notify names; only
 * when it names neither, every active source whose registry_sender_id is
 * header.sender_id (several sources may share one registry).  The first
 * whose key verifies it, and (a notify) that has a subscription for it,
 * is the one.
 */
static void
find_source(callback *cb)
{
	List	   *codes = NIL;
	List	   *senders = cb->sender_id ? dci_source_codes_by_sender(cb->sender_id) : NIL;
	ListCell   *lc;
	char		first_err[256] = "";
	dci_sig_result first_sr = DCI_SIG_OK;
	const char *first_code = NULL;
	dci_source *verified = NULL;
	bool		notify = strcmp(cb->kind, "notify") == 0;

	if (cb->have_txn)
	{
		dci_source *t = dci_source_get(cb->txn_source);

		if (cb->sender_id == NULL ||
			(t->registry_sender_id && strcmp(t->registry_sender_id, cb->sender_id) == 0))
			codes = add_code(codes, cb->txn_source);
	}
	/*
	 * A callback that names what it answers is judged by that source's key
	 * alone: another source (one that checks nothing, say) must not take it.
	 */
	if (codes == NIL && notify && get_id(cb->answer, "subscription_code", MAX_ID_LEN))
		foreach(lc, owners_of_code(get_id(cb->answer, "subscription_code", MAX_ID_LEN)))
		{
			if (has_code(senders, lfirst(lc)))
				codes = add_code(codes, lfirst(lc));
		}
	/* otherwise every source of that registry, in a stable order */
	if (codes == NIL)
	{
		list_sort(senders, cmp_code);
		foreach(lc, senders)
			codes = add_code(codes, lfirst(lc));
	}
	if (codes == NIL)
	{
		if (cb->sender_id == NULL)
			refuse(ERRCODE_DCI_AUTH, NULL,
				   "%s callback names no sender_id and answers no transaction of ours", cb->action);
		ereport(ERROR,
				(errcode(ERRCODE_DCI_AUTH),
				 errmsg("%s callback from unknown sender \"%s\"", cb->action, dci_sanitize(cb->sender_id)),
				 errhint("A callback is taken from an active source whose registry_sender_id is its header.sender_id.")));
	}
	foreach(lc, codes)
	{
		dci_source *src = try_source((char *) lfirst(lc));
		char		err[256];
		dci_sig_result sr;

		if (src == NULL)
			continue;
		if (signature_ok(src, cb, err, sizeof(err), &sr))
		{
			if (verified == NULL)
				verified = src;
			cb->src = src;
			if (!notify || match_subscription(cb, false))
				return;
			continue;
		}
		if (first_code == NULL)
		{
			first_code = src->code;
			first_sr = sr;
			strlcpy(first_err, err, sizeof(first_err));
		}
	}
	if (verified)
	{
		/* authentic, but for no subscription of ours: say so for the first source that took it */
		cb->src = verified;
		match_subscription(cb, true);
	}
	if (first_code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DCI_AUTH),
				 errmsg("%s callback from \"%s\": no source of that registry is usable",
						cb->action, cb->sender_id ? dci_sanitize(cb->sender_id) : "(no sender_id)"),
				 errhint("Every source whose registry_sender_id it is failed to load: see dci_test_connection.")));
	refuse(ERRCODE_DCI_SIGNATURE, first_err[0] ? first_err : NULL,
		   "%s callback signature from DCI source \"%s\" is not valid (%s)",
		   cb->action, first_code, dci_sig_result_name(first_sr));
}

/* Addressed to us, and answering a transaction of this source of that kind. */
static void
check_binding(callback *cb)
{
	const char *receiver = dci_get_string(cb->r.header, "receiver_id");
	const char *want;

	if (receiver && receiver[0] && strcmp(receiver, cb->src->our_sender_id) != 0)
		refuse(ERRCODE_DCI_SIGNATURE, psprintf("receiver_id \"%s\", our sender id \"%s\"",
											   dci_sanitize(receiver), cb->src->our_sender_id),
			   "%s callback from DCI source \"%s\" is addressed to another receiver",
			   cb->action, cb->src->code);
	if (strcmp(cb->kind, "notify") == 0)
		return;
	if (!cb->have_txn)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
			   "%s callback from registry \"%s\" answers transaction \"%s\", which is not in dci.transaction",
			   cb->action, cb->sender_id ? dci_sanitize(cb->sender_id) : cb->src->code,
			   dci_sanitize(cb->transaction_id));
	if (strcmp(cb->txn_source, cb->src->code) != 0)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
			   "%s callback from DCI source \"%s\" answers transaction \"%s\", which is not one of its transactions in dci.transaction",
			   cb->action, cb->src->code, dci_sanitize(cb->transaction_id));
	want = strcmp(cb->kind, "on-search") == 0 ? "search" :
		strcmp(cb->kind, "on-subscribe") == 0 ? "subscribe" : "unsubscribe";
	if (strcmp(cb->txn_action, want) != 0)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
			   "%s callback from DCI source \"%s\" answers transaction \"%s\", which is a %s",
			   cb->action, cb->src->code, cb->transaction_id, cb->txn_action);
}

/* ---- what it says ---- */

/* A search answer: items, how many are answered, how many failed. */
typedef struct search_tally
{
	int			answered;		/* items not pdng/rcvd */
	int			failed;
	char	   *first_error;
} search_tally;

static bool
pending_status(const char *s)
{
	return s && (pg_strcasecmp(s, "pdng") == 0 || pg_strcasecmp(s, "rcvd") == 0);
}

/* Each item: one of our reference ids, read as sync answers are. */
static void
tally_search(callback *cb, search_tally *t)
{
	dci_response view;
	size_t		n;
	size_t		plen = strlen(cb->transaction_id);

	memset(t, 0, sizeof(*t));
	dci_response_view(cb->r.header, cb->answer, &view);
	n = dci_response_nitems(&view);
	for (size_t i = 0; i < n; i++)
	{
		const cj_node *item = dci_response_item_at(&view, i);
		const char *ref = dci_get_string(item, "reference_id");
		const cj_node *records;
		dci_error	err;
		char	   *end;
		long		k;

		if (ref == NULL ? !cb->src->relax_binding :
			(strncmp(ref, cb->transaction_id, plen) != 0 || ref[plen] != '-' ||
			 (k = strtol(ref + plen + 1, &end, 10)) < 0 || *end != '\0' ||
			 end == ref + plen + 1 || k >= Max(cb->txn_total, 1)))
			refuse(ERRCODE_DCI_SIGNATURE, ref ? psprintf("reference_id \"%s\"", dci_sanitize(ref)) : NULL,
				   "%s callback from DCI source \"%s\" has an item for a reference_id we did not send",
				   cb->action, cb->src->code);
		if (pending_status(dci_item_status(item)))
			continue;
		t->answered++;
		if (dci_answer_outcome(cb->src, item, &records, &err) == DCI_FAILED)
		{
			t->failed++;
			if (t->first_error == NULL)
				t->first_error = psprintf("%s: %s", ref ? dci_sanitize(ref) : "item", err.message);
		}
	}
}

/* The registry's reason for a rejection, sanitized. */
static char *
reason(const cj_node *o, const char *what)
{
	const char *code = dci_get_string(o, "status_reason_code");
	const char *msg = dci_get_string(o, "status_reason_message");

	return psprintf("%s rejected by the registry: %s%s%s", what, code ? dci_sanitize(code) : "no reason code",
					msg ? ": " : "", msg ? dci_sanitize(msg) : "");
}

/* The new state of the transaction; false when the callback adds nothing to it. */
typedef struct txn_update
{
	const char *status;
	int			completed;
	int			failed;
	char	   *error;
} txn_update;

static bool
final_status(const char *s)
{
	return strcmp(s, "succ") == 0 || strcmp(s, "rjct") == 0 || strcmp(s, "failed") == 0;
}

static bool
search_update(callback *cb, txn_update *u)
{
	search_tally t;
	long		hdr_completed;
	bool		poll = strcmp(cb->action, "txn-on-status") == 0;

	tally_search(cb, &t);
	u->failed = poll ? t.failed : cb->txn_failed + t.failed;
	u->error = t.first_error;
	if (!poll && cb->status && pg_strcasecmp(cb->status, "rjct") == 0)
	{
		u->status = "rjct";
		u->completed = cb->txn_total;
		u->error = reason(cb->r.header, "search");
		return true;
	}
	if (poll)
	{
		/* a status answer holds every item: complete unless one is still pending */
		dci_response view;

		dci_response_view(cb->r.header, cb->answer, &view);
		u->completed = (t.answered == (int) dci_response_nitems(&view) && t.answered > 0)
			? cb->txn_total : Max(cb->txn_completed, t.answered);
	}
	else if (dci_get_long(cb->r.header, "completed_count", &hdr_completed) == 1)
		u->completed = (int) Max(cb->txn_completed, Min(hdr_completed, cb->txn_total));
	else if (cb->status && pending_status(cb->status))
		u->completed = Min(cb->txn_completed + t.answered, cb->txn_total);
	else
		u->completed = cb->txn_total;	/* registries that omit unmatched items say nothing more */
	u->completed = Min(u->completed, cb->txn_total);
	/* part of the answer came (even an empty part): the rest is still due */
	if (u->completed < cb->txn_total)
		u->status = "partial";
	else
		u->status = u->failed > 0 ? "failed" : "succ";
	if (poll && u->completed <= cb->txn_completed && !final_status(u->status))
		return false;
	return true;
}

static bool
subscribe_update(callback *cb, txn_update *u, bool apply)
{
	const cj_node *items = cj_get(cb->answer, "subscribe_response");
	size_t		n = dci_records_len(items);
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	int			answered = 0;
	int			rejected = 0;

	if (cb->status && pg_strcasecmp(cb->status, "rjct") == 0 && strcmp(cb->action, "txn-on-status") != 0)
	{
		Datum		vals[3] = {CStringGetTextDatum(cb->transaction_id),
		CStringGetTextDatum(cb->src->code), CStringGetTextDatum(reason(cb->r.header, "subscription"))};

		if (apply)
			run("UPDATE dci.subscription SET status = 'rjct', last_error = $3, updated_at = pg_catalog.now() "
				"WHERE transaction_id OPERATOR(pg_catalog.=) $1 AND source_code OPERATOR(pg_catalog.=) $2 "
				"AND status OPERATOR(pg_catalog.=) 'requested'", 3, types, vals, NULL, SPI_OK_UPDATE);
		u->status = "rjct";
		u->completed = cb->txn_total;
		u->error = reason(cb->r.header, "subscription");
		return true;
	}
	for (size_t i = 0; i < n; i++)
	{
		const cj_node *item = dci_records_get(items, i);
		const char *ref = dci_get_string(item, "reference_id");
		const char *st = dci_item_status(item);
		const cj_node *subs = cj_get(item, "subscriptions");
		size_t		nsubs = dci_records_len(subs);
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
		Datum		vals[6];

		if (ref == NULL || pending_status(st))
			continue;
		answered++;
		vals[0] = CStringGetTextDatum(cb->transaction_id);
		vals[1] = CStringGetTextDatum(cb->src->code);
		vals[2] = CStringGetTextDatum(ref);
		if (st && pg_strcasecmp(st, "rjct") == 0)
		{
			rejected++;
			vals[3] = CStringGetTextDatum(reason(item, "subscription"));
			if (apply)
				run("UPDATE dci.subscription SET status = 'rjct', last_error = $4, updated_at = pg_catalog.now() "
					"WHERE transaction_id OPERATOR(pg_catalog.=) $1 AND source_code OPERATOR(pg_catalog.=) $2 "
					"AND reference_id OPERATOR(pg_catalog.=) $3", 4, types, vals, nulls, SPI_OK_UPDATE);
			continue;
		}
		for (size_t k = 0; k < nsubs; k++)
		{
			const cj_node *sub = dci_records_get(subs, k);
			const char *code = get_id(sub, "code", MAX_CODE_LEN);
			const char *sst = dci_get_string(sub, "status");

			if (code == NULL)
				refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
					   "on-subscribe callback from DCI source \"%s\" has a subscription without a usable code",
					   cb->src->code);
			if (!apply)
				continue;
			vals[3] = CStringGetTextDatum(code);
			vals[4] = CStringGetTextDatum(sst && strcmp(sst, "unsubscribe") == 0 ? "unsubscribed" : "subscribed");
			/* the requested row takes the first code; a second code gets a row of its own */
			if (run("UPDATE dci.subscription SET subscription_code = $4, status = $5, updated_at = pg_catalog.now() "
					"WHERE transaction_id OPERATOR(pg_catalog.=) $1 AND source_code OPERATOR(pg_catalog.=) $2 "
					"AND reference_id OPERATOR(pg_catalog.=) $3 "
					"AND (subscription_code IS NULL OR subscription_code OPERATOR(pg_catalog.=) $4)",
					5, types, vals, nulls, SPI_OK_UPDATE) == 0)
				run("INSERT INTO dci.subscription (subscription_code, source_code, reg_event_type, filter, status, "
					"transaction_id, reference_id, reg_type, notify_record_type, frequency) "
					"SELECT $4, source_code, reg_event_type, filter, $5, transaction_id, reference_id, reg_type, "
					"notify_record_type, frequency FROM dci.subscription "
					"WHERE transaction_id OPERATOR(pg_catalog.=) $1 AND source_code OPERATOR(pg_catalog.=) $2 "
					"AND reference_id OPERATOR(pg_catalog.=) $3 LIMIT 1 "
					"ON CONFLICT (source_code, subscription_code) DO NOTHING",
					5, types, vals, nulls, SPI_OK_INSERT);
		}
	}
	u->completed = Min(Max(cb->txn_completed, answered), cb->txn_total);
	u->failed = rejected;
	if (u->completed < cb->txn_total)
		u->status = "partial";
	else
		u->status = rejected > 0 ? "rjct" : "succ";
	if (rejected > 0)
		u->error = psprintf("%d of %d subscriptions rejected by the registry", rejected, cb->txn_total);
	return answered > 0 || strcmp(cb->action, "txn-on-status") != 0;
}

static bool
unsubscribe_update(callback *cb, txn_update *u, bool apply)
{
	const cj_node *list = cj_get(cb->answer, "subscription_status");
	size_t		n = dci_records_len(list);
	const char *mstatus = dci_get_string(cb->answer, "status");
	Oid			types[2] = {TEXTOID, TEXTOID};

	if (pending_status(mstatus) && strcmp(cb->action, "txn-on-status") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		const cj_node *s = dci_records_get(list, i);
		const char *code = get_id(s, "code", MAX_CODE_LEN);
		const char *st = dci_get_string(s, "status");
		const char *rc = dci_get_string(s, "status_reason_code");
		Datum		vals[2];

		if (code == NULL || st == NULL || !apply)
			continue;
		/* unsubscribed now, or already: either way no more notifications */
		if (strcmp(st, "unsubscribe") != 0 &&
			!(rc && strcmp(rc, "rjct.event.already_unsubscribed") == 0))
			continue;
		vals[0] = CStringGetTextDatum(cb->src->code);
		vals[1] = CStringGetTextDatum(code);
		run("UPDATE dci.subscription SET status = 'unsubscribed', updated_at = pg_catalog.now() "
			"WHERE source_code OPERATOR(pg_catalog.=) $1 AND subscription_code OPERATOR(pg_catalog.=) $2",
			2, types, vals, NULL, SPI_OK_UPDATE);
	}
	u->completed = cb->txn_total;
	if ((mstatus && pg_strcasecmp(mstatus, "rjct") == 0) ||
		(cb->status && pg_strcasecmp(cb->status, "rjct") == 0 && strcmp(cb->action, "txn-on-status") != 0))
	{
		u->status = "rjct";
		u->error = reason(mstatus ? cb->answer : cb->r.header, "unsubscribe");
	}
	else
		u->status = "succ";
	return true;
}

static void
write_update(callback *cb, const txn_update *u)
{
	Oid			types[6] = {TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID};
	Datum		vals[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	vals[0] = CStringGetTextDatum(cb->transaction_id);
	vals[1] = CStringGetTextDatum(u->status);
	vals[2] = Int32GetDatum(u->completed);
	vals[3] = Int32GetDatum(u->failed);
	vals[4] = text_or_null(u->error, &nulls[4]);
	vals[5] = text_or_null(cb->correlation_id, &nulls[5]);
	run("UPDATE dci.transaction SET status = $2, completed_count = $3, failed_count = $4, "
		"last_error = COALESCE($5, last_error), "
		"correlation_id = COALESCE(correlation_id, $6), "
		"acked_at = COALESCE(acked_at, pg_catalog.now()), "
		"completed_at = CASE WHEN $2 IN ('succ', 'rjct', 'failed') THEN pg_catalog.now() END "
		"WHERE transaction_id OPERATOR(pg_catalog.=) $1", 6, types, vals, nulls, SPI_OK_UPDATE);
}

/*
 * What the callback changes (written only with apply); false when it says
 * nothing new (a poll of a pending or settled transaction).
 */
static bool
plan_update(callback *cb, txn_update *u, bool apply)
{
	memset(u, 0, sizeof(*u));
	if (strcmp(cb->kind, "notify") == 0)
		return true;
	/* a transaction already settled keeps its outcome; a repeated status answer adds nothing */
	if (final_status(cb->txn_status) && strcmp(cb->action, "txn-on-status") == 0)
		return false;
	if (strcmp(cb->kind, "on-search") == 0)
		return search_update(cb, u);
	if (strcmp(cb->kind, "on-subscribe") == 0)
		return subscribe_update(cb, u, apply);
	return unsubscribe_update(cb, u, apply);
}

/*
 * The subscription a notify belongs to: the one it names (subscription_code
 * in the message, as OpenSPP sends it), else the newest live one of this
 * source for its event type.  None: refused, nothing we did not ask for is kept.
 */
static bool
match_subscription(callback *cb, bool must)
{
	const char *code = get_id(cb->answer, "subscription_code", MAX_CODE_LEN);
	const cj_node *ev = dci_records_get(cj_get(cb->answer, "notify_event"), 0);
	const char *event = dci_get_string(dci_get_object(ev, "data"), "reg_event_type");
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2];
	char		nulls[2] = {' ', ' '};

	if (ev == NULL)
		refuse(ERRCODE_DCI_BAD_RESPONSE, NULL, "notify callback from DCI source \"%s\" has no notify_event",
			   cb->src->code);
	vals[0] = CStringGetTextDatum(cb->src->code);
	if (code)
	{
		vals[1] = CStringGetTextDatum(code);
		if (run("SELECT subscription_code FROM dci.subscription WHERE source_code OPERATOR(pg_catalog.=) $1 "
				"AND subscription_code OPERATOR(pg_catalog.=) $2", 2, types, vals, nulls, SPI_OK_SELECT) > 0)
		{
			cb->subscription_code = col_text(0, 1);
			return true;
		}
		/* the code the registry names decides: another subscription of ours is not it */
		if (must)
			refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
				   "notify callback from registry \"%s\" names subscription \"%s\", which no source of that registry has in dci.subscription",
				   cb->sender_id ? dci_sanitize(cb->sender_id) : cb->src->code, dci_sanitize(code));
		return false;
	}
	if (event)
	{
		vals[1] = CStringGetTextDatum(event);
		if (run("SELECT subscription_code FROM dci.subscription WHERE source_code OPERATOR(pg_catalog.=) $1 "
				"AND status OPERATOR(pg_catalog.=) ANY ('{requested,subscribed}') "
				"AND pg_catalog.lower(pg_catalog.regexp_replace(reg_event_type, '^.*:', '')) OPERATOR(pg_catalog.=) "
				"pg_catalog.lower(pg_catalog.regexp_replace($2, '^.*:', '')) "
				"ORDER BY status OPERATOR(pg_catalog.=) 'subscribed' DESC, created_at DESC LIMIT 1",
				2, types, vals, nulls, SPI_OK_SELECT) > 0)
		{
			cb->subscription_code = col_text(0, 1);
			return true;
		}
	}
	if (!must)
		return false;
	refuse(ERRCODE_DCI_BAD_RESPONSE, NULL,
		   "notify callback from DCI source \"%s\" names no subscription, and none of its live subscriptions is for event \"%s\"",
		   cb->src->code, event ? dci_sanitize(event) : "(none)");
	return false;
}

/* The body as jsonb; what jsonb cannot hold (\u0000) is a malformed callback. */
static Datum
body_jsonb(callback *cb)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *json = pnstrdup(cb->body, cb->len);
	Datum		d = (Datum) 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		d = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
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
		refuse(ERRCODE_DCI_BAD_RESPONSE, edata->message,
			   "%s callback from DCI source \"%s\" cannot be stored as jsonb", cb->action, cb->src->code);
	}
	PG_END_TRY();
	return d;
}

static const char *
via_name(dci_via via)
{
	return via == DCI_VIA_LISTENER ? "listener" : via == DCI_VIA_POLL ? "poll" : "sql";
}

/* The newest inbox row of the transaction, or 0. */
static int64
latest_inbox_id(callback *cb)
{
	Oid			types[1] = {TEXTOID};
	Datum		vals[1] = {CStringGetTextDatum(cb->transaction_id)};
	char	   *v;

	if (run("SELECT pg_catalog.max(id) FROM dci.inbox WHERE transaction_id OPERATOR(pg_catalog.=) $1",
			1, types, vals, NULL, SPI_OK_SELECT) == 0)
		return 0;
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return v ? strtoll(v, NULL, 10) : 0;
}

/* Store the callback once; its id, and whether it was there already. */
static int64
store(callback *cb, Datum envelope, bool *duplicate)
{
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	Datum		vals[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	const char *status = cb->status && strlen(cb->status) <= 16 ? cb->status : NULL;
	bool		isnull;

	vals[0] = CStringGetTextDatum(cb->src->code);
	vals[1] = CStringGetTextDatum(cb->action);
	vals[2] = CStringGetTextDatum(cb->message_id);
	vals[3] = text_or_null(cb->transaction_id, &nulls[3]);
	vals[4] = text_or_null(cb->correlation_id, &nulls[4]);
	vals[5] = text_or_null(status, &nulls[5]);
	vals[6] = envelope;
	vals[7] = CStringGetTextDatum(via_name(cb->via));
	vals[8] = text_or_null(cb->subscription_code, &nulls[8]);
	*duplicate = false;
	if (run("INSERT INTO dci.inbox (source_code, action, message_id, transaction_id, correlation_id, status, "
			"envelope, received_via, subscription_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
			"ON CONFLICT (source_code, message_id) DO NOTHING RETURNING id",
			9, types, vals, nulls, SPI_OK_INSERT_RETURNING) == 1)
		return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*duplicate = true;
	if (run("SELECT id FROM dci.inbox WHERE source_code OPERATOR(pg_catalog.=) $1 "
			"AND message_id OPERATOR(pg_catalog.=) $3", 3, types, vals, nulls, SPI_OK_SELECT) != 1)
		elog(ERROR, "dci inbox: duplicate message vanished");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

int64
dci_inbox_ingest(const char *body, size_t len, dci_via via, dci_ingest_result *res)
{
	MemoryContext cxt;
	MemoryContext old;
	MemoryContextCallback *mcb;
	callback   *cb;
	dci_owner_scope scope;
	txn_update	u;
	Datum		envelope;
	bool		duplicate = false;
	int64		id = 0;

	memset(res, 0, sizeof(*res));
	if (!IsTransactionState())
		elog(ERROR, "dci_inbox_ingest must run inside a transaction");
	if (body == NULL || len > (size_t) dci_max_response_kb * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("callback is larger than dci.max_response_size (%d kB)", dci_max_response_kb)));
	dci_check_schema_version();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "dci ingest", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	cb = palloc0(sizeof(callback));
	cb->body = body;
	cb->len = len;
	cb->via = via;
	mcb = palloc0(sizeof(MemoryContextCallback));
	mcb->func = free_callback_cb;
	mcb->arg = cb;
	MemoryContextRegisterResetCallback(cxt, mcb);

	read_envelope(cb);
	strlcpy(res->action, cb->action, sizeof(res->action));
	if (cb->correlation_id && strlen(cb->correlation_id) < sizeof(res->correlation_id))
		strlcpy(res->correlation_id, cb->correlation_id, sizeof(res->correlation_id));

	dci_owner_enter(&scope);
	if (cb->transaction_id)
		read_transaction(cb);
	find_source(cb);
	check_binding(cb);
	strlcpy(res->source_code, cb->src->code, sizeof(res->source_code));
	envelope = body_jsonb(cb);
	if (!plan_update(cb, &u, false))
	{
		/* nothing new: the transaction's newest row stands for it */
		res->duplicate = true;
		id = latest_inbox_id(cb);
	}
	else
	{
		id = store(cb, envelope, &duplicate);
		res->duplicate = duplicate;
		if (!duplicate)
		{
			/* the subscription rows change only for a callback seen the first time */
			plan_update(cb, &u, true);
			if (u.status)
				write_update(cb, &u);
			Async_Notify(DCI_INBOX_CHANNEL, psprintf(INT64_FORMAT, id));
		}
	}
	dci_owner_leave(&scope);
	res->inbox_id = id;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return id;
}

/* dci_receive(envelope jsonb) returns bigint: a callback handed over by SQL. */
Datum
dci_receive(PG_FUNCTION_ARGS)
{
	char	   *json = dci_jsonb_text(PG_GETARG_DATUM(0));
	dci_ingest_result res;
	int64		id = dci_inbox_ingest(json, strlen(json), DCI_VIA_SQL, &res);

	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
