/*
 * async.c - the registry side of DCI's callback flows: async search
 * (/registry/search), subscribe and unsubscribe answer an ACK at once and
 * POST a signed callback (on-search, on-subscribe, on-unsubscribe) to the
 * request's header.sender_uri later; /registry/sync/txn/status answers
 * what a callback carried (or will carry).
 *
 * The request checks (token, envelope, signature, quota) are search.c's;
 * these handlers run after them, under the records' read lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "registry.h"

#define CB_DEFAULT_DELAY 20		/* ms between the ACK and the callback */
#define CB_SECOND_AFTER 50		/* ms between the two deliveries of cbdup / cbpartial */

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int
cb_delay(const opts *o)
{
	return o->cbdelay_ms >= 0 ? o->cbdelay_ms : CB_DEFAULT_DELAY;
}

/*
 * The acknowledgement: ACK (HTTP 202, or 200 with ack200), NACK (acknack)
 * or ERR with ackerr's code (HTTP 400).  False when no callback follows.
 */
static bool
ack_reply(const opts *o, const char *corr, reply *r)
{
	char		ts[21];

	format_ts(time(NULL), ts);
	dbuf_reset(&r->body);
	r->ctype = "application/json";
	if (o->ackerr[0])
	{
		r->status = 400;
		dbuf_puts(&r->body, "{\"message\":{\"ack_status\":\"ERR\",\"correlation_id\":");
		jw_string(&r->body, corr);
		dbuf_puts(&r->body, ",\"error\":{\"code\":");
		jw_string(&r->body, o->ackerr);
		dbuf_puts(&r->body, ",\"message\":\"rejected by the ackerr option\"},\"timestamp\":");
		jw_string(&r->body, ts);
		dbuf_puts(&r->body, "}}");
		return false;
	}
	r->status = o->ack200 ? 200 : 202;
	dbuf_printf(&r->body, "{\"message\":{\"ack_status\":\"%s\",\"correlation_id\":", o->acknack ? "NACK" : "ACK");
	jw_string(&r->body, corr);
	dbuf_puts(&r->body, ",\"timestamp\":");
	jw_string(&r->body, ts);
	dbuf_puts(&r->body, "}}");
	return !o->acknack;
}

/* header.sender_uri, required when a callback will be sent. */
static const char *
callback_uri(const opts *o, struct json_object *hdr, reply *r)
{
	const char *uri = member_str(hdr, "sender_uri");

	if (o->cbnone || o->acknack || o->ackerr[0])
		return uri ? uri : "";
	if (uri == NULL || (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0))
	{
		reply_error(r, 400, "err.sender_uri.invalid",
					"header.sender_uri must be the http(s) URL the callback goes to");
		STAT_ADD(rejected, 1);
		return NULL;
	}
	return uri;
}

int
async_send(env_out *e, dbuf *msg, const cb_target *t, int delay_ms, bool dup)
{
	char		mid[37];
	reply		tmp;
	int			n = 0;

	uuid_v4(mid);
	e->message_id = mid;
	memset(&tmp, 0, sizeof(tmp));
	dbuf_init(&tmp.body);
	envelope_finish(e, msg, &tmp);
	if (tmp.stream)
	{
		dbuf_reset(&tmp.body);
		vbody_materialize(tmp.stream, &tmp.body);
	}
	if (tmp.status == 200)
	{
		cb_spec		s = {t->url, tmp.body.data, tmp.body.len, e->action, mid, t->transaction_id,
		t->correlation_id, t->receiver, t->subscription_code};

		/* cbdup: the very same envelope (same message_id, same signature) again */
		for (int i = 0; i < (dup ? 2 : 1); i++)
			if (callback_enqueue(&s, delay_ms + i * CB_SECOND_AFTER) != 0)
				n++;
	}
	reply_reset(&tmp);
	dbuf_free(&tmp.body);
	e->message_id = NULL;
	return n;
}

/* An env_out for a callback of this request. */
static void
callback_env(const request *rq, const char *action, const char *sender, env_out *e)
{
	memset(e, 0, sizeof(*e));
	e->o = rq->o;
	e->scheme = answer_scheme(rq->o, rq->view);
	e->action = action;
	e->status = "succ";
	e->receiver = answer_receiver(rq->o, sender);
	e->corrupt = rq->o->cbbadsig;
	e->foreign = rq->o->cbunknown;
}

/* -------------------------------------------------------------- search */

/* The message while the answer is not ready: every item "pdng". */
static void
pending_message(dbuf *p, struct json_object *items, const char *corr, const char *txn, const char *ts)
{
	bool		first = true;

	dbuf_puts(p, "{\"correlation_id\":");
	jw_string(p, corr);
	dbuf_puts(p, ",\"search_response\":[");
	for (size_t i = 0; i < json_object_array_length(items); i++)
	{
		const char *ref = member_str(json_object_array_get_idx(items, i), "reference_id");

		if (ref == NULL)
			continue;
		if (!first)
			dbuf_putc(p, ',');
		first = false;
		dbuf_puts(p, "{\"reference_id\":");
		jw_string(p, ref);
		dbuf_puts(p, ",\"status\":\"pdng\",\"timestamp\":");
		jw_string(p, ts);
		dbuf_putc(p, '}');
	}
	dbuf_putc(p, ']');
	if (txn)
	{
		dbuf_puts(p, ",\"transaction_id\":");
		jw_string(p, txn);
	}
	dbuf_putc(p, '}');
}

void
handle_async_search(const request *rq, struct json_object *env, reply *r)
{
	const opts *o = rq->o;
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	struct json_object *items = member(msg, "search_request");
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *uri,
			   *txn_out,
			   *status = "succ",
			   *code = NULL,
			   *why = NULL;
	char		corr[37],
				tbuf[37];
	search_out	so;
	dbuf		m,
				p;
	txn_info	ti;
	env_out		e;
	cb_target	t;
	int			delay = cb_delay(o);

	if (!json_object_is_type(items, json_type_array))
	{
		reply_error(r, 400, "err.request.bad", "message.search_request must be an array");
		STAT_ADD(rejected, 1);
		return;
	}
	if ((uri = callback_uri(o, hdr, r)) == NULL)
		return;
	uuid_v4(corr);
	if (!ack_reply(o, corr, r))
		return;
	STAT_ADD(async_requests, 1);
	search_run(rq, env, &so);
	STAT_ADD(search_requests, 1);
	STAT_ADD(search_items, so.n);
	txn_out = answer_txn(o, txn, tbuf);
	dbuf_init(&m);
	dbuf_init(&p);
	if (o->rjct[0])
	{
		status = "rjct";
		code = o->rjct;
		why = "rejected by the rjct option";
		search_message(&m, &so, 0, 0, corr, txn_out);
	}
	else
	{
		if (o->hdrrjct && so.n > 0 && so.rjct == so.n)
		{
			status = "rjct";
			code = "rjct.errors.too_many";
			why = "All search requests failed";
		}
		search_message(&m, &so, 0, so.nemitted, corr, txn_out);
	}
	pending_message(&p, items, corr, txn_out, so.ts);

	memset(&ti, 0, sizeof(ti));
	ti.sender = sender;
	ti.transaction_id = txn ? txn : "";
	ti.correlation_id = corr;
	snprintf(ti.txn_type, sizeof(ti.txn_type), "on-search");
	snprintf(ti.status, sizeof(ti.status), "%s", status);
	ti.message = m.data;
	ti.pending = p.data;
	ti.total = so.n;
	ti.completed = so.n;
	ti.ready_ms = txn_now_ms() + delay;
	txn_store(&ti);

	if (!o->cbnone)
	{
		memset(&t, 0, sizeof(t));
		t.url = uri;
		t.transaction_id = txn;
		t.correlation_id = corr;
		t.receiver = sender;
		callback_env(rq, "on-search", sender, &e);
		e.total = so.n;
		if (o->cbpartial && !o->rjct[0])
		{
			/* half the items, "pdng", completed_count < total_count; then the rest */
			size_t		half = so.nemitted / 2;
			dbuf		m1;

			dbuf_init(&m1);
			search_message(&m1, &so, 0, half, corr, txn_out);
			e.status = "pdng";
			e.completed = (long) half;
			async_send(&e, &m1, &t, delay, false);
			dbuf_reset(&m1);
			search_message(&m1, &so, half, so.nemitted, corr, txn_out);
			e.status = status;
			e.reason_code = code;
			e.reason_msg = why;
			e.completed = so.n;
			async_send(&e, &m1, &t, delay + CB_SECOND_AFTER, o->cbdup);
			dbuf_free(&m1);
		}
		else
		{
			e.status = status;
			e.reason_code = code;
			e.reason_msg = why;
			e.completed = so.n;
			async_send(&e, &m, &t, delay, o->cbdup);
		}
	}
	dbuf_free(&m);
	dbuf_free(&p);
	search_out_free(&so);
}

/* ----------------------------------------------------------- subscribe */

static void
item_reject(dbuf *m, const char *ref, const char *ts, const char *code, const char *why)
{
	dbuf_puts(m, "{\"reference_id\":");
	jw_string(m, ref);
	dbuf_puts(m, ",\"status\":\"rjct\",\"status_reason_code\":");
	jw_string(m, code);
	dbuf_puts(m, ",\"status_reason_message\":");
	jw_string(m, why);
	dbuf_puts(m, ",\"timestamp\":");
	jw_string(m, ts);
	dbuf_putc(m, '}');
}

/* A member as canonical JSON, when present and not null. */
static void
opt_member(dbuf *m, const char *key, struct json_object *v)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return;
	dbuf_putc(m, ',');
	jw_key(m, key);
	if (jw_canonical(m, v) < 0)
		dbuf_puts(m, "null");
}

/* reg_event_type as a string, or the value of {"namespace","value"}. */
static const char *
event_text(struct json_object *v)
{
	if (json_object_is_type(v, json_type_object))
		v = member(v, "value");
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 ?
		json_object_get_string(v) : NULL;
}

/* One subscribe_request item; true when it made a subscription. */
static bool
subscribe_item(const request *rq, const char *sender, const char *uri, const char *txn,
			   struct json_object *it, bool dup, const char *ts, dbuf *m)
{
	const opts *o = rq->o;
	const char *ref = member_str(it, "reference_id");
	const char *locale = member_str(it, "locale");
	struct json_object *sc = member(it, "subscribe_criteria");
	const char *ev = event_text(member(sc, "reg_event_type"));
	const char *reg_type = member_str(sc, "reg_type");
	const char *nrt = member_str(sc, "notify_record_type");
	const char *ft = member_str(sc, "filter_type");
	sub_new		n;
	char		code[20];

	if (ref == NULL || *ref == '\0')
		item_reject(m, "", ts, "rjct.reference_id.invalid", "reference_id is missing or not a string");
	else if (dup)
		item_reject(m, ref, ts, "rjct.reference_id.duplicate", "reference_id repeats an earlier item's");
	else if (o->subrjct[0])
		item_reject(m, ref, ts, o->subrjct, "rejected by the subrjct option");
	else if (!json_object_is_type(sc, json_type_object))
		item_reject(m, ref, ts, "rjct.notify_details.invalid", "subscribe_criteria is missing");
	else if (ev == NULL)
		item_reject(m, ref, ts, "rjct.notify_types.invalid", "subscribe_criteria.reg_event_type is missing");
	else
	{
		memset(&n, 0, sizeof(n));
		n.sender = sender;
		n.sender_uri = uri;
		n.view = rq->view->kind;
		n.reg_type = reg_type ? reg_type : rq->view->default_reg_type;
		n.reg_event_type = ev;
		n.filter_type = ft;
		n.filter = member(sc, "filter");
		n.notify_record_type = nrt ? nrt : rq->view->record_type;
		n.transaction_id = txn;
		if (subs_add(&n, code) < 0)
		{
			item_reject(m, ref, ts, "rjct.notify_details.invalid", "the registry could not keep it");
			return false;
		}
		/* SubscribeResponse.subscribe_response[] with SubscriptionInfo, keys sorted */
		dbuf_puts(m, "{\"locale\":");
		jw_string(m, locale ? locale : "eng");
		dbuf_puts(m, ",\"reference_id\":");
		jw_string(m, ref);
		dbuf_puts(m, ",\"status\":\"succ\",\"subscriptions\":[{\"code\":");
		jw_string(m, code);
		opt_member(m, "filter", member(sc, "filter"));
		opt_member(m, "filter_type", member(sc, "filter_type"));
		opt_member(m, "frequency", member(sc, "frequency"));
		dbuf_puts(m, ",\"notify_record_type\":");
		jw_string(m, n.notify_record_type);
		dbuf_puts(m, ",\"reg_event_type\":");
		jw_string(m, ev);
		dbuf_puts(m, ",\"reg_type\":");
		jw_string(m, n.reg_type);
		dbuf_puts(m, ",\"status\":\"subscribe\",\"timestamp\":");
		jw_string(m, ts);
		dbuf_puts(m, ",\"version\":\"1.0.0\"}],\"timestamp\":");
		jw_string(m, ts);
		dbuf_putc(m, '}');
		return true;
	}
	return false;
}

/* Store the transaction and send its callback (subscribe, unsubscribe). */
static void
finish_async(const request *rq, const char *action, const char *sender, const char *txn,
			 const char *uri, const char *corr, long total, dbuf *m)
{
	const opts *o = rq->o;
	txn_info	ti;
	env_out		e;
	cb_target	t;

	memset(&ti, 0, sizeof(ti));
	ti.sender = sender;
	ti.transaction_id = txn ? txn : "";
	ti.correlation_id = corr;
	snprintf(ti.txn_type, sizeof(ti.txn_type), "%s", action);
	snprintf(ti.status, sizeof(ti.status), "succ");
	ti.message = m->data;
	ti.total = total;
	ti.completed = total;
	ti.ready_ms = txn_now_ms() + cb_delay(o);
	txn_store(&ti);
	if (o->cbnone)
		return;
	memset(&t, 0, sizeof(t));
	t.url = uri;
	t.transaction_id = txn;
	t.correlation_id = corr;
	t.receiver = sender;
	callback_env(rq, action, sender, &e);
	e.total = total;
	e.completed = total;
	async_send(&e, m, &t, cb_delay(o), o->cbdup);
}

void
handle_subscribe(const request *rq, struct json_object *env, reply *r)
{
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	struct json_object *items = member(msg, "subscribe_request");
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *uri;
	char		corr[37],
				tbuf[37],
				ts[21];
	const char *txn_out = answer_txn(rq->o, txn, tbuf);
	size_t		n;
	bool	   *dup;
	dbuf		m;

	if (!json_object_is_type(items, json_type_array))
	{
		reply_error(r, 400, "err.request.bad", "message.subscribe_request must be an array");
		STAT_ADD(rejected, 1);
		return;
	}
	if ((uri = callback_uri(rq->o, hdr, r)) == NULL)
		return;
	uuid_v4(corr);
	if (!ack_reply(rq->o, corr, r))
		return;
	STAT_ADD(async_requests, 1);
	n = json_object_array_length(items);
	dup = duplicate_refs(items, n);
	format_ts(time(NULL), ts);
	dbuf_init(&m);
	dbuf_puts(&m, "{\"correlation_id\":");
	jw_string(&m, corr);
	dbuf_puts(&m, ",\"subscribe_response\":[");
	for (size_t i = 0; i < n; i++)
	{
		if (i)
			dbuf_putc(&m, ',');
		subscribe_item(rq, sender, uri, txn, json_object_array_get_idx(items, i), dup && dup[i], ts, &m);
	}
	free(dup);
	dbuf_putc(&m, ']');
	if (txn_out)
	{
		dbuf_puts(&m, ",\"transaction_id\":");
		jw_string(&m, txn_out);
	}
	dbuf_putc(&m, '}');
	finish_async(rq, "on-subscribe", sender, txn, uri, corr, (long) n, &m);
	dbuf_free(&m);
}

/* --------------------------------------------------------- unsubscribe */

void
handle_unsubscribe(const request *rq, struct json_object *env, reply *r)
{
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	struct json_object *codes = member(msg, "subscription_codes");
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *uri;
	char		corr[37],
				tbuf[37],
				ts[21];
	const char *txn_out = answer_txn(rq->o, txn, tbuf);
	size_t		n;
	long		bad = 0;
	dbuf		items,
				m;

	/* the standard's YAML spells it sunscription_codes in places: that is not accepted */
	if (!json_object_is_type(codes, json_type_array))
	{
		reply_error(r, 400, "err.request.bad", "message.subscription_codes (an array of codes) is missing");
		STAT_ADD(rejected, 1);
		return;
	}
	if ((uri = callback_uri(rq->o, hdr, r)) == NULL)
		return;
	uuid_v4(corr);
	if (!ack_reply(rq->o, corr, r))
		return;
	STAT_ADD(async_requests, 1);
	n = json_object_array_length(codes);
	format_ts(time(NULL), ts);
	dbuf_init(&items);
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *c = json_object_array_get_idx(codes, i);
		const char *code = json_object_is_type(c, json_type_string) ? json_object_get_string(c) : "";
		int			rc = subs_remove(sender, code);

		if (i)
			dbuf_putc(&items, ',');
		dbuf_puts(&items, "{\"code\":");
		jw_string(&items, code);
		if (rc == SUB_REMOVED)
			dbuf_puts(&items, ",\"status\":\"unsubscribe\"}");
		else
		{
			bad++;
			dbuf_puts(&items, ",\"status\":\"rjct\",\"status_reason_code\":");
			jw_string(&items, rc == SUB_ALREADY ? "rjct.event.already_unsubscribed" :
					  "rjct.subscription_code.invalid");
			dbuf_putc(&items, '}');
		}
	}
	/* UnSubscribeResponse, keys sorted */
	dbuf_init(&m);
	dbuf_puts(&m, "{\"correlation_id\":");
	jw_string(&m, corr);
	if (bad == 0)
		dbuf_puts(&m, ",\"status\":\"succ\"");
	else
		dbuf_printf(&m, ",\"status\":\"rjct\",\"status_reason_code\":\"rjct.subscription_code.invalid\","
					"\"status_reason_message\":\"%ld of %zu subscription codes are unknown or already "
					"unsubscribed\"", bad, n);
	dbuf_puts(&m, ",\"subscription_status\":[");
	dbuf_append(&m, items.data ? items.data : "", items.len);
	dbuf_puts(&m, "],\"timestamp\":");
	jw_string(&m, ts);
	if (txn_out)
	{
		dbuf_puts(&m, ",\"transaction_id\":");
		jw_string(&m, txn_out);
	}
	dbuf_putc(&m, '}');
	finish_async(rq, "on-unsubscribe", sender, txn, uri, corr, (long) n, &m);
	dbuf_free(&items);
	dbuf_free(&m);
}

/* ---------------------------------------------------------- txn status */

/* txn_type asked (search, on-search, ...) against the one stored (on-search, ...). */
static bool
txn_type_fits(const char *asked, const char *stored)
{
	if (asked == NULL)
		return true;
	if (strncmp(asked, "on-", 3) == 0)
		asked += 3;
	return strcmp(asked, stored + 3) == 0;
}

void
handle_txn_status(const request *rq, struct json_object *env, reply *r)
{
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	struct json_object *tr = member(msg, "txnstatus_request");
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *type = member_str(tr, "txn_type");
	const char *attr = member_str(tr, "attribute_type");
	const char *value = member_str(tr, "attribute_value");
	char		tbuf[37],
				why[300];
	txn_info	t;
	env_out		e;
	dbuf		m;

	if (!json_object_is_type(tr, json_type_object))
	{
		reply_error(r, 400, "err.request.bad", "message.txnstatus_request is missing");
		STAT_ADD(rejected, 1);
		return;
	}
	if (attr == NULL || (strcmp(attr, "transaction_id") != 0 && strcmp(attr, "correlation_id") != 0) ||
		value == NULL)
	{
		snprintf(why, sizeof(why), "attribute_type \"%s\" with a string attribute_value is not supported "
				 "(transaction_id and correlation_id are)", attr ? attr : "");
		reject_envelope(rq, "txn-on-status", answer_receiver(rq->o, sender), txn ? txn : "",
						"rjct.reference_id.invalid", why, 1, r);
		return;
	}
	if (txn_find(sender, strcmp(attr, "correlation_id") == 0, value, &t) < 0 ||
		!txn_type_fits(type, t.txn_type))
	{
		if (t.message)
			txn_info_free(&t);
		snprintf(why, sizeof(why), "no %s transaction of this sender with %s \"%s\"",
				 type ? type : "async", attr, value);
		reject_envelope(rq, "txn-on-status", answer_receiver(rq->o, sender), txn ? txn : "",
						"rjct.reference_id.invalid", why, 1, r);
		return;
	}
	/* TxnStatusResponse, keys sorted; txn_status is the callback's message */
	dbuf_init(&m);
	dbuf_puts(&m, "{\"correlation_id\":");
	jw_string(&m, t.correlation_id);
	{
		const char *txn_out = answer_txn(rq->o, txn, tbuf);

		if (txn_out)
		{
			dbuf_puts(&m, ",\"transaction_id\":");
			jw_string(&m, txn_out);
		}
	}
	dbuf_puts(&m, ",\"txnstatus_response\":{\"txn_status\":");
	dbuf_puts(&m, t.message);
	dbuf_puts(&m, ",\"txn_type\":");
	jw_string(&m, t.txn_type);
	dbuf_puts(&m, "}}");
	memset(&e, 0, sizeof(e));
	e.o = rq->o;
	e.scheme = answer_scheme(rq->o, rq->view);
	e.action = "txn-on-status";
	e.status = "succ";
	e.total = 1;
	e.completed = 1;
	e.receiver = answer_receiver(rq->o, sender);
	envelope_finish(&e, &m, r);
	dbuf_free(&m);
	txn_info_free(&t);
}
