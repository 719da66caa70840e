/*
 * subscribe.c - subscriptions to a registry's events: dci_subscribe,
 * dci_subscribe_vital_events and dci_unsubscribe.
 *
 * A subscription is an asynchronous request (async.c): its row in
 * dci.subscription is written 'requested' with the pending transaction,
 * before the request leaves, and the on-subscribe callback (inbox.c) gives
 * it the registry's code.  Notifications find their subscription by that
 * code, or by source and event type.
 */
#include "postgres.h"

#include <time.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "dci.h"
#include "inbox.h"

PG_FUNCTION_INFO_V1(dci_subscribe);
PG_FUNCTION_INFO_V1(dci_subscribe_vital_events);
PG_FUNCTION_INFO_V1(dci_unsubscribe);

#define MAX_CODE_LEN	99		/* SPDCI SubscriptionCode maxLength */
#define DEFAULT_RECORD_TYPE "person"	/* dci_RecordType */

/* What one subscription asks for. */
typedef struct subscription_spec
{
	const char *reg_event_type;
	const char *reg_type;		/* NULL: omitted */
	const char *filter;			/* JSON text; NULL: everything ([]) */
	const char *frequency;		/* JSON text or NULL */
	const char *notify_record_type;
} subscription_spec;

static void
bad_argument(const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* A member of a jsonb object, or NULL. */
static JsonbValue *
jsonb_member(Jsonb *jb, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
}

/*
 * SPDCI filter_type of a filter: a list of predicates, an {type, value}
 * identifier, or an expression template (its value an object).
 */
static const char *
filter_type(Jsonb *filter)
{
	JsonbValue *type;
	JsonbValue *value;

	if (JB_ROOT_IS_SCALAR(filter))
		bad_argument("filter must be a JSON array (predicates) or object (an identifier or an expression)",
					 "Pass NULL to be notified of every event.");
	if (JB_ROOT_IS_ARRAY(filter))
		return "predicate";
	type = jsonb_member(filter, "type");
	value = jsonb_member(filter, "value");
	if (type && type->type == jbvString && value && value->type != jbvBinary)
		return "idtype-value";
	return "expression";
}

static void
check_frequency(Jsonb *f)
{
	static const char *const keys[] = {"start_time", "end_time", "frequency"};

	if (!JB_ROOT_IS_OBJECT(f) || JB_ROOT_IS_SCALAR(f))
		bad_argument("frequency must be a JSON object", NULL);
	for (int i = 0; i < 3; i++)
	{
		JsonbValue *v = jsonb_member(f, keys[i]);

		if (v == NULL || v->type != jbvString)
			bad_argument("frequency needs start_time, end_time (date-times) and frequency (a cron string)",
						 "e.g. {\"start_time\":\"2026-01-01T00:00:00Z\",\"end_time\":\"2027-01-01T00:00:00Z\",\"frequency\":\"0 0 * * *\"}");
	}
}

static void
check_text(const char *what, const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a non-empty text of at most %zu bytes", what, max)));
}

/* Send one subscription; its transaction_id. */
static char *
subscribe_one(dci_source *src, const subscription_spec *sp)
{
	char	   *txn = dci_new_transaction_id();
	char	   *ref = psprintf("%s-0", txn);
	const char *filter = sp->filter ? sp->filter : "[]";
	const char *ftype = "predicate";
	char		ts[21];
	dbuf		msg;
	dci_async_request req;
	dci_auto_op sub;

	check_text("reg_event_type", sp->reg_event_type, 256);
	if (sp->filter)
		ftype = filter_type(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(sp->filter))));
	dci_format_ts((long) time(NULL), ts);
	dbuf_init(&msg);
	dbuf_puts(&msg, "{\"subscribe_request\":[{\"locale\":\"eng\",\"reference_id\":");
	dci_json_string(&msg, ref);
	dbuf_puts(&msg, ",\"subscribe_criteria\":{\"filter\":");
	dbuf_puts(&msg, filter);
	dbuf_puts(&msg, ",\"filter_type\":");
	dci_json_string(&msg, ftype);
	if (sp->frequency)
	{
		dbuf_puts(&msg, ",\"frequency\":");
		dbuf_puts(&msg, sp->frequency);
	}
	dbuf_puts(&msg, ",\"notify_record_type\":");
	dci_json_string(&msg, sp->notify_record_type ? sp->notify_record_type : DEFAULT_RECORD_TYPE);
	dbuf_puts(&msg, ",\"reg_event_type\":");
	dci_json_string(&msg, sp->reg_event_type);
	if (sp->reg_type)
	{
		dbuf_puts(&msg, ",\"reg_type\":");
		dci_json_string(&msg, sp->reg_type);
	}
	dbuf_puts(&msg, ",\"version\":\"" DCI_PROTOCOL_VERSION "\"},\"timestamp\":");
	dci_json_string(&msg, ts);
	dbuf_puts(&msg, "}],\"transaction_id\":");
	dci_json_string(&msg, txn);
	dbuf_putc(&msg, '}');
	if (msg.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	memset(&sub, 0, sizeof(sub));
	sub.stmt = DCI_AUTO_SUB_INSERT;
	sub.nparams = 8;
	sub.params[0] = src->code;
	sub.params[1] = sp->reg_event_type;
	sub.params[2] = filter;
	sub.params[3] = txn;
	sub.params[4] = ref;
	sub.params[5] = sp->reg_type;
	sub.params[6] = sp->notify_record_type ? sp->notify_record_type : DEFAULT_RECORD_TYPE;
	sub.params[7] = sp->frequency;

	memset(&req, 0, sizeof(req));
	req.action = "subscribe";
	req.url = src->subscribe_url;
	req.transaction_id = txn;
	req.message_json = pstrdup(msg.data);
	req.total_count = 1;
	req.extra = &sub;
	req.nextra = 1;
	dbuf_free(&msg);
	dci_async_send(src, &req);
	return txn;
}

/*
 * dci_subscribe(source, reg_event_type, filter, reg_type, frequency,
 * notify_record_type) returns text: the transaction_id.
 */
Datum
dci_subscribe(PG_FUNCTION_ARGS)
{
	dci_source *src;
	subscription_spec sp;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and reg_event_type of dci_subscribe must not be null")));
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	memset(&sp, 0, sizeof(sp));
	sp.reg_event_type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	sp.filter = PG_ARGISNULL(2) ? NULL : dci_jsonb_text(PG_GETARG_DATUM(2));
	sp.reg_type = PG_ARGISNULL(3) ? src->reg_type : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
	{
		check_frequency(PG_GETARG_JSONB_P(4));
		sp.frequency = dci_jsonb_text(PG_GETARG_DATUM(4));
	}
	sp.notify_record_type = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (sp.notify_record_type)
		check_text("notify_record_type", sp.notify_record_type, 256);
	PG_RETURN_TEXT_P(cstring_to_text(subscribe_one(src, &sp)));
}

/*
 * The codes a source uses for a vital event: its vital_events entry for the
 * event, over the defaults of its record_profile (OpenCRVS:
 * ocrvs:registry_type:<event>; SPDCI: the source's reg_type), with
 * reg_event_type the event's name unless configured.
 */
static void
vital_event_spec(dci_source *src, const char *event, subscription_spec *sp)
{
	cj_node    *conf = src->vital_events ? cj_parse(src->vital_events, strlen(src->vital_events), NULL, 0) : NULL;
	const cj_node *e = dci_get_object(conf, event);
	const cj_node *filter = cj_get(e, "filter");
	const char *v;

	memset(sp, 0, sizeof(*sp));
	sp->reg_event_type = event;
	sp->reg_type = src->reg_type;
	if (src->record_profile && strcmp(src->record_profile, "opencrvs") == 0)
		sp->reg_type = psprintf("ocrvs:registry_type:%s", event);
	if ((v = dci_get_string(e, "reg_event_type")) != NULL)
		sp->reg_event_type = pstrdup(v);
	if ((v = dci_get_string(e, "reg_type")) != NULL)
		sp->reg_type = pstrdup(v);
	if ((v = dci_get_string(e, "notify_record_type")) != NULL)
		sp->notify_record_type = pstrdup(v);
	if (filter)
		sp->filter = dci_node_text(filter);
	cj_free(conf);
}

/*
 * dci_subscribe_vital_events(event_types, source) returns setof text: one
 * subscription per event type, each sent on its own (an ERROR for one
 * leaves those before it subscribed).
 */
Datum
dci_subscribe_vital_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *events;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	dci_source *src;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event_types and source of dci_subscribe_vital_events must not be null")));
	events = PG_GETARG_ARRAYTYPE_P(0);
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (ARR_NDIM(events) > 1)
		bad_argument("event_types must be a one-dimensional array", NULL);
	deconstruct_array(events, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		bad_argument("event_types must name at least one event, e.g. '{death}'", NULL);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			bad_argument("event_types must not contain NULL", NULL);
		check_text("an event type", TextDatumGetCString(elems[i]), 64);
	}
	if (src->our_callback_uri == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" has no our_callback_uri", src->code),
				 errhint("Set dci.data_source.our_callback_uri to the URL where the registry posts its callbacks.")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < n; i++)
	{
		subscription_spec sp;
		Datum		txn;
		bool		isnull = false;

		vital_event_spec(src, TextDatumGetCString(elems[i]), &sp);
		txn = CStringGetTextDatum(subscribe_one(src, &sp));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &txn, &isnull);
	}
	return (Datum) 0;
}

/* dci_unsubscribe(source, subscription_codes) returns text: the transaction_id. */
Datum
dci_unsubscribe(PG_FUNCTION_ARGS)
{
	dci_source *src;
	ArrayType  *codes;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	   *txn;
	char		ts[21];
	dbuf		msg;
	dci_async_request req;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and subscription_codes of dci_unsubscribe must not be null")));
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	codes = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(codes) > 1)
		bad_argument("subscription_codes must be a one-dimensional array", NULL);
	deconstruct_array(codes, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		bad_argument("subscription_codes must name at least one subscription",
					 "The codes are in dci.subscription.subscription_code.");
	txn = dci_new_transaction_id();
	dci_format_ts((long) time(NULL), ts);
	dbuf_init(&msg);
	dbuf_puts(&msg, "{\"subscription_codes\":[");
	for (int i = 0; i < n; i++)
	{
		char	   *code;

		if (nulls[i])
			bad_argument("subscription_codes must not contain NULL", NULL);
		code = TextDatumGetCString(elems[i]);
		check_text("a subscription code", code, MAX_CODE_LEN);
		if (i > 0)
			dbuf_putc(&msg, ',');
		dci_json_string(&msg, code);
	}
	dbuf_puts(&msg, "],\"timestamp\":");
	dci_json_string(&msg, ts);
	dbuf_puts(&msg, ",\"transaction_id\":");
	dci_json_string(&msg, txn);
	dbuf_putc(&msg, '}');
	if (msg.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	memset(&req, 0, sizeof(req));
	req.action = "unsubscribe";
	req.url = src->unsubscribe_url;
	req.transaction_id = txn;
	req.message_json = pstrdup(msg.data);
	req.total_count = 1;
	dbuf_free(&msg);
	dci_async_send(src, &req);
	PG_RETURN_TEXT_P(cstring_to_text(txn));
}
