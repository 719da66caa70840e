/*
 * callback.c - async ACKs, callbacks and our ACK body (see callback.h).
 */
#include "callback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SETERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

/* ---- the ACK of an async request ---- */

static dci_ack_status
ack_status_of(const char *s)
{
	if (s == NULL)
		return DCI_ACK_UNKNOWN;
	if (strcasecmp(s, "ACK") == 0)
		return DCI_ACK_ACK;
	if (strcasecmp(s, "NACK") == 0)
		return DCI_ACK_NACK;
	if (strcasecmp(s, "ERR") == 0)
		return DCI_ACK_ERR;
	return DCI_ACK_UNKNOWN;
}

cj_result
dci_ack_parse(const char *body, size_t len, const cj_limits *lim,
			  dci_ack *out, char *err, size_t errlen)
{
	cj_result	res;
	const cj_node *m;
	const cj_node *e;

	memset(out, 0, sizeof(*out));
	out->root = cj_parse_ex(body, len, lim, &res, err, errlen);
	if (out->root == NULL)
		return res;
	m = cj_get(out->root, "message");
	if (cj_typeof(m) != CJ_OBJECT)
	{
		SETERR(cj_typeof(out->root) == CJ_OBJECT ? "acknowledgement has no message object" :
			   "acknowledgement is JSON but not an object");
		dci_ack_free(out);
		return CJ_ERR_SHAPE;
	}
	out->ack_status = dci_get_string(m, "ack_status");
	out->status = ack_status_of(out->ack_status);
	out->correlation_id = dci_get_string(m, "correlation_id");
	out->timestamp = dci_get_string(m, "timestamp");
	e = cj_get(m, "error");
	out->error_code = dci_get_text(e, "code");
	out->error_message = dci_get_string(e, "message");
	return CJ_OK;
}

void
dci_ack_free(dci_ack *a)
{
	cj_free(a->root);
	memset(a, 0, sizeof(*a));
}

int
dci_build_ack(dbuf *out, const char *status, long timestamp,
			  const char *correlation_id,
			  const char *error_code, const char *error_message)
{
	char		ts[21];
	size_t		start = out->len;
	int			rc = 0;
	int			is_err;

	if (status == NULL || ack_status_of(status) == DCI_ACK_UNKNOWN)
		return -1;
	is_err = ack_status_of(status) == DCI_ACK_ERR;
	if (is_err && error_code == NULL)
		return -1;
	dci_format_ts(timestamp, ts);
	/* keys in code-point order: ack_status, correlation_id, error {code, message}, timestamp */
	rc |= dbuf_puts(out, "{\"message\":{\"ack_status\":");
	rc |= dci_json_string(out, is_err ? "ERR" : ack_status_of(status) == DCI_ACK_ACK ? "ACK" : "NACK");
	rc |= dbuf_puts(out, ",\"correlation_id\":");
	rc |= dci_json_string(out, correlation_id);
	if (is_err)
	{
		rc |= dbuf_puts(out, ",\"error\":{\"code\":");
		rc |= dci_json_string(out, error_code);
		if (error_message != NULL)
		{
			rc |= dbuf_puts(out, ",\"message\":");
			rc |= dci_json_string(out, error_message);
		}
		rc |= dbuf_putc(out, '}');
	}
	rc |= dbuf_puts(out, ",\"timestamp\":");
	rc |= dci_json_string(out, ts);
	rc |= dbuf_puts(out, "}}");
	if (rc != 0)
	{
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* ---- callbacks ---- */

static const struct
{
	const char *name;
	dci_cb_action action;
	const char *items;			/* member of the message holding the items */
}			actions[] =
{
	{"on-search", DCI_CB_ON_SEARCH, "search_response"},
	{"on-subscribe", DCI_CB_ON_SUBSCRIBE, "subscribe_response"},
	{"on-unsubscribe", DCI_CB_ON_UNSUBSCRIBE, "subscription_status"},
	{"notify", DCI_CB_NOTIFY, "notify_event"},
	{"txn-on-status", DCI_CB_TXN_ON_STATUS, NULL},
};

const char *
dci_cb_action_name(dci_cb_action a)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].action == a)
			return actions[i].name;
	return NULL;
}

static dci_cb_action
action_of(const char *s)
{
	for (size_t i = 0; s != NULL && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(s, actions[i].name) == 0)
			return actions[i].action;
	return DCI_CB_UNKNOWN;
}

/* What txn_status holds, by txn_type: the request's name, or its callback's. */
static dci_cb_action
txn_action_of(const char *t)
{
	if (t == NULL)
		return DCI_CB_UNKNOWN;
	if (strcmp(t, "search") == 0 || strcmp(t, "on-search") == 0)
		return DCI_CB_ON_SEARCH;
	/* "subscibe" is the official YAML's typo, which some peers copied */
	if (strcmp(t, "subscribe") == 0 || strcmp(t, "on-subscribe") == 0 || strcmp(t, "subscibe") == 0)
		return DCI_CB_ON_SUBSCRIBE;
	if (strcmp(t, "unsubscribe") == 0 || strcmp(t, "on-unsubscribe") == 0)
		return DCI_CB_ON_UNSUBSCRIBE;
	return DCI_CB_UNKNOWN;
}

static const cj_node *
list_member(const cj_node *o, const char *key)
{
	const cj_node *v = cj_get(o, key);

	return cj_typeof(v) == CJ_ARRAY || cj_typeof(v) == CJ_OBJECT ? v : NULL;
}

/* A header count: -1 absent; 0 ok; -1 returned when present but no integer. */
static int
read_count(const cj_node *h, const char *key, long *out)
{
	int			r = dci_get_long(h, key, out);

	if (r == 0)
		*out = -1;
	return r < 0 || (r == 1 && *out < 0) ? -1 : 0;
}

/* The message part: the payload and its items, by action. */
static cj_result
read_payload(dci_callback *cb, char *err, size_t errlen)
{
	dci_cb_action a = cb->action;
	const cj_node *payload = cb->env.message;

	if (a == DCI_CB_TXN_ON_STATUS)
	{
		const cj_node *tr = cj_get(payload, "txnstatus_response");

		if (cj_typeof(tr) != CJ_OBJECT)
		{
			SETERR("txn-on-status message has no txnstatus_response object");
			return CJ_ERR_SHAPE;
		}
		cb->txn_type = dci_get_string(tr, "txn_type");
		cb->inner = txn_action_of(cb->txn_type);
		if (cb->inner == DCI_CB_UNKNOWN)
		{
			SETERR("txnstatus_response has no known txn_type");
			return CJ_ERR_SHAPE;
		}
		payload = cj_get(tr, "txn_status");
		if (cj_typeof(payload) != CJ_OBJECT)
		{
			SETERR("txnstatus_response has no txn_status object");
			return CJ_ERR_SHAPE;
		}
		a = cb->inner;
	}
	cb->payload = payload;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].action == a)
			cb->items = list_member(payload, actions[i].items);
	if (a == DCI_CB_ON_UNSUBSCRIBE)
	{
		cb->payload_status = dci_get_string(payload, "status");
		cb->payload_timestamp = dci_get_string(payload, "timestamp");
		/* the official YAML's typo */
		if (cb->payload_timestamp == NULL)
			cb->payload_timestamp = dci_get_string(payload, "timesatmp");
	}
	return CJ_OK;
}

cj_result
dci_callback_parse(const char *body, size_t len, const cj_limits *lim,
				   dci_callback *out, char *err, size_t errlen)
{
	dci_response *env = &out->env;
	cj_result	res;

	memset(out, 0, sizeof(*out));
	out->total_count = out->completed_count = -1;
	res = dci_response_parse(body, len, lim, env, err, errlen);
	if (res != CJ_OK)
		return res;
	res = CJ_ERR_SHAPE;
	if (env->header == NULL)
	{
		SETERR("callback has no header object");
		goto fail;
	}
	out->action = action_of(env->action);
	if (out->action == DCI_CB_UNKNOWN)
	{
		SETERR(env->action ? "header action is no callback action" : "header has no action");
		goto fail;
	}
	out->message_id = env->message_id;
	out->message_ts = dci_get_string(env->header, "message_ts");
	out->status = env->status;
	/* on-subscribe and on-unsubscribe carry a MsgHeader, which has no status */
	if (out->message_id == NULL || out->message_ts == NULL ||
		(out->status == NULL && out->action != DCI_CB_ON_SUBSCRIBE && out->action != DCI_CB_ON_UNSUBSCRIBE))
	{
		SETERR("callback header lacks %s", out->message_id == NULL ? "message_id" :
			   out->message_ts == NULL ? "message_ts" : "status");
		goto fail;
	}
	out->reason_code = env->reason_code;
	out->reason_message = env->reason_message;
	out->sender_id = env->sender_id;
	out->receiver_id = env->receiver_id;
	if (read_count(env->header, "total_count", &out->total_count) != 0 ||
		read_count(env->header, "completed_count", &out->completed_count) != 0)
	{
		SETERR("callback header counts are not integers");
		goto fail;
	}
	if (cj_typeof(cj_get(env->header, "is_msg_encrypted")) == CJ_TRUE)
	{
		SETERR("encrypted callbacks (is_msg_encrypted) are not supported");
		goto fail;
	}
	if (env->message == NULL)
	{
		/* a rejection may come as a header alone */
		if (cj_get(env->root, "message") == NULL && out->status != NULL && strcasecmp(out->status, "rjct") == 0)
			return CJ_OK;
		SETERR("callback has no message object");
		goto fail;
	}
	out->transaction_id = env->transaction_id;
	out->correlation_id = env->correlation_id;
	if (out->transaction_id == NULL)
	{
		SETERR("callback message has no transaction_id");
		goto fail;
	}
	res = read_payload(out, err, errlen);
	if (res == CJ_OK)
		return CJ_OK;
fail:
	dci_callback_free(out);
	out->total_count = out->completed_count = -1;
	return res;
}

void
dci_callback_free(dci_callback *cb)
{
	dci_response_free(&cb->env);
	memset(cb, 0, sizeof(*cb));
}

size_t
dci_cb_nitems(const dci_callback *cb)
{
	return dci_records_len(cb->items);
}

const cj_node *
dci_cb_item(const dci_callback *cb, size_t i)
{
	return dci_records_get(cb->items, i);
}

/* Add one subscription to out (when there is room); counts it either way. */
static void
add_sub(dci_subscription *out, size_t max, size_t *n, const char *ref,
		const cj_node *s, const char *ts)
{
	const char *code = dci_get_string(s, "code");

	if (code == NULL)
		code = dci_get_string(s, "subscription_code");
	if (code == NULL)
		return;
	if (*n < max)
	{
		out[*n].reference_id = ref;
		out[*n].code = code;
		out[*n].status = dci_get_string(s, "status");
		out[*n].timestamp = dci_get_string(s, "timestamp");
		if (out[*n].timestamp == NULL)
			out[*n].timestamp = ts;
	}
	(*n)++;
}

size_t
dci_cb_subscriptions(const dci_callback *cb, dci_subscription *out, size_t max)
{
	dci_cb_action a = cb->action == DCI_CB_TXN_ON_STATUS ? cb->inner : cb->action;
	size_t		n = 0;

	for (size_t i = 0; i < dci_cb_nitems(cb); i++)
	{
		const cj_node *it = dci_cb_item(cb, i);

		if (a == DCI_CB_ON_UNSUBSCRIBE)
			add_sub(out, max, &n, NULL, it, cb->payload_timestamp);
		else if (a == DCI_CB_ON_SUBSCRIBE)
		{
			const cj_node *subs = list_member(it, "subscriptions");

			for (size_t j = 0; j < dci_records_len(subs); j++)
				add_sub(out, max, &n, dci_item_reference_id(it), dci_records_get(subs, j),
						dci_get_string(it, "timestamp"));
		}
	}
	return n;
}
