/*
 * events.c - vital events (POST /admin/event): a death, a birth or any
 * change of a record is recorded in the registry's data (later searches
 * see it) and notified to every subscription it concerns with a signed
 * "notify" callback, retried until acked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "registry.h"

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

/* NotifyEventRequest with one event carrying record text rec, keys sorted. */
static void
notify_message(dbuf *m, const opts *o, reg_view *v, const char *event, const char *reg_type,
			   const char *code, const char *txn, const char *rec, size_t reclen)
{
	char		ref[37],
				ts[21];
	bool		hostile = false;

	uuid_v4(ref);
	format_ts(time(NULL), ts);
	dbuf_puts(m, "{\"notify_event\":[{\"data\":{\"reg_event_type\":");
	jw_string(m, event);
	dbuf_puts(m, ",\"reg_record_type\":");
	jw_string(m, v->record_type);
	dbuf_puts(m, ",\"reg_records\":[");
	record_write(m, o, rec, reclen, &hostile);
	dbuf_puts(m, "],\"reg_type\":");
	jw_string(m, reg_type ? reg_type : v->default_reg_type);
	dbuf_puts(m, ",\"version\":\"1.0.0\"},\"locale\":\"eng\",\"reference_id\":");
	jw_string(m, ref);
	dbuf_puts(m, ",\"timestamp\":");
	jw_string(m, ts);
	/* the schema has no place for it; OpenSPP sends message.subscription_code */
	dbuf_puts(m, "}],\"subscription_code\":");
	jw_string(m, code);
	if (txn)
	{
		dbuf_puts(m, ",\"transaction_id\":");
		jw_string(m, txn);
	}
	dbuf_putc(m, '}');
}

/* Record the event in v's data; the index of the record it concerns, or -1 (err set). */
static long
record_event(reg_view *v, struct json_object *doc, const char *event, int *status,
			 char *err, size_t errlen)
{
	struct json_object *ident = member(doc, "identifier");
	struct json_object *record = member(doc, "record");
	long		idx = -1;

	*status = 400;
	if (json_object_is_type(record, json_type_object))
	{
		struct json_object *copy = NULL;

		if (json_object_deep_copy(record, &copy, NULL) != 0)
		{
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* a record with a known identifier replaces that record, else it is added */
		idx = fixtures_apply(v, fixtures_find_same(v->kind == REG_OPENCRVS ?
												   fixtures_view(REG_CRVS) : v, copy),
							 copy, err, errlen);
	}
	else if (json_object_is_type(ident, json_type_object))
	{
		const char *type = member_str(ident, "type");
		const char *value = member_str(ident, "value");
		reg_view   *data = v->kind == REG_OPENCRVS ? fixtures_view(REG_CRVS) : v;
		const idx_list *l = type && value ? fixtures_lookup(data, type, value) : NULL;

		if (type == NULL || value == NULL)
		{
			snprintf(err, errlen, "identifier must be {\"type\": \"UIN\", \"value\": \"...\"}");
			return -1;
		}
		if (l == NULL || l->n == 0)
		{
			*status = 404;
			snprintf(err, errlen, "%s has no record with %s %s", v->prefix + 1, type, value);
			return -1;
		}
		idx = l->idx[0];
	}
	else
	{
		snprintf(err, errlen, "give \"identifier\": {\"type\", \"value\"} or a full \"record\"");
		return -1;
	}
	if (idx >= 0 && event_type_is(event, "death") && (v->kind == REG_CRVS || v->kind == REG_OPENCRVS))
	{
		const char *date = member_str(doc, "death_date");
		char		today[21];

		if (date == NULL)
		{
			format_ts(time(NULL), today);
			today[10] = '\0';	/* YYYY-MM-DD */
			date = today;
		}
		idx = fixtures_mark_dead(v, (size_t) idx, date, member_str(doc, "death_place"), err, errlen);
	}
	if (idx < 0)
		*status = 500;
	return idx;
}

void
admin_event(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	const char *prefix,
			   *event;
	char		path[80],
				err[300];
	reg_view   *v;
	const char *rest;
	long		idx;
	int			status;
	bool		dup;
	sub_match  *m = NULL;
	size_t		nm = 0;
	dbuf		out;
	long		notified = 0;

	if (doc == NULL)
		return;
	prefix = member_str(doc, "prefix");
	event = member_str(doc, "reg_event_type");
	dup = json_object_get_boolean(member(doc, "dup")) || rq->o->cbdup;
	snprintf(path, sizeof(path), "/%s", prefix ? prefix + (prefix[0] == '/') : "");
	v = prefix ? fixtures_view_by_prefix(path, &rest) : NULL;
	if (v == NULL || *rest != '\0' || event == NULL || *event == '\0')
	{
		reply_error(r, 400, "err.request.bad",
					"{\"prefix\": \"crvs\", \"reg_event_type\": \"death\", \"identifier\": {\"type\", \"value\"}} "
					"or a full \"record\" expected");
		json_object_put(doc);
		return;
	}
	fixtures_write_lock();
	idx = record_event(v, doc, event, &status, err, sizeof(err));
	if (idx < 0)
	{
		fixtures_unlock();
		reply_error(r, status, status == 404 ? "err.request.not_found" : "err.request.bad", err);
		json_object_put(doc);
		return;
	}
	dbuf_init(&out);
	dbuf_puts(&out, "{\"subscriptions\":[");
	nm = subs_matching(v->kind, event, v, v->rec[idx], &m);
	for (size_t i = 0; i < nm; i++)
	{
		char		txn[37];
		dbuf		msg;
		env_out		e;
		cb_target	t;

		if (m[i].sender_uri == NULL || m[i].sender_uri[0] == '\0')
			continue;			/* nowhere to send it (subscribed with cbnone) */
		uuid_v4(txn);
		dbuf_init(&msg);
		notify_message(&msg, rq->o, v, event, m[i].reg_type, m[i].code,
					   rq->o->notxn ? NULL : txn, v->text[idx], v->textlen[idx]);
		memset(&e, 0, sizeof(e));
		e.o = rq->o;
		e.scheme = answer_scheme(rq->o, v);
		e.action = "notify";
		e.status = "succ";
		e.total = 1;
		e.completed = 1;
		e.receiver = answer_receiver(rq->o, m[i].sender);
		e.corrupt = rq->o->cbbadsig;
		e.foreign = rq->o->cbunknown;
		memset(&t, 0, sizeof(t));
		t.url = m[i].sender_uri;
		t.transaction_id = txn;
		t.receiver = m[i].sender;
		t.subscription_code = m[i].code;
		if (async_send(&e, &msg, &t, rq->o->cbdelay_ms > 0 ? rq->o->cbdelay_ms : 0, dup) > 0)
		{
			STAT_ADD(notifications, 1);
			if (notified++)
				dbuf_putc(&out, ',');
			dbuf_puts(&out, "{\"code\":");
			jw_string(&out, m[i].code);
			dbuf_puts(&out, ",\"sender_id\":");
			jw_string(&out, m[i].sender);
			dbuf_puts(&out, ",\"transaction_id\":");
			jw_string(&out, txn);
			dbuf_putc(&out, '}');
		}
		dbuf_free(&msg);
	}
	dbuf_printf(&out, "],\"notified\":%ld,\"record\":", notified);
	dbuf_append(&out, v->text[idx], v->textlen[idx]);
	dbuf_putc(&out, '}');
	fixtures_unlock();
	sub_matches_free(m, nm);
	reply_json(r, 200, out.data);
	dbuf_free(&out);
	json_object_put(doc);
}
