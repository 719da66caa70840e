/*
 * sink.c - a callback receiver inside the registry, for testing the
 * registry itself: POST /sink/<anything> keeps what it gets and answers an
 * ACK (faults by /opt/ as anywhere: /opt/failfirst=2,key=k,status=503/sink/x),
 * GET /admin/sink lists it.  The extension's tests use their own listener.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "registry.h"

#define SINK_KEEP 1000

typedef struct sink_entry
{
	char	   *path;
	char	   *body;
	char	   *subscription_code;
	time_t		at;
} sink_entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sink_entry entries[SINK_KEEP];
static size_t head,
			count;

static void
entry_free(sink_entry *e)
{
	free(e->path);
	free(e->body);
	free(e->subscription_code);
	memset(e, 0, sizeof(*e));
}

void
handle_sink(const request *rq, reply *r)
{
	sink_entry	e;
	struct json_object *env = rq->len ? json_tokener_parse(rq->body) : NULL;
	struct json_object *msg = NULL,
			   *corr = NULL;
	char		id[37],
				ts[21];
	dbuf		b;

	e.path = strdup(rq->path);
	e.body = strndup(rq->body ? rq->body : "", rq->len);
	e.subscription_code = rq->subscription_code ? strdup(rq->subscription_code) : NULL;
	e.at = time(NULL);
	pthread_mutex_lock(&lock);
	if (count == SINK_KEEP)
	{
		entry_free(&entries[head]);
		head = (head + 1) % SINK_KEEP;
		count--;
	}
	entries[(head + count) % SINK_KEEP] = e;
	count++;
	pthread_mutex_unlock(&lock);
	/* the ack echoes the callback's correlation_id when it has one */
	if (json_object_object_get_ex(env, "message", &msg) &&
		json_object_object_get_ex(msg, "correlation_id", &corr) &&
		json_object_is_type(corr, json_type_string))
		snprintf(id, sizeof(id), "%s", json_object_get_string(corr));
	else
		uuid_v4(id);
	json_object_put(env);
	format_ts(time(NULL), ts);
	dbuf_init(&b);
	dbuf_puts(&b, "{\"message\":{\"ack_status\":\"ACK\",\"correlation_id\":");
	jw_string(&b, id);
	dbuf_puts(&b, ",\"timestamp\":");
	jw_string(&b, ts);
	dbuf_puts(&b, "}}");
	reply_json(r, 200, b.data);
	dbuf_free(&b);
}

void
sink_json(reply *r)
{
	dbuf		b;

	dbuf_init(&b);
	dbuf_puts(&b, "{\"received\":[");
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count; i++)
	{
		sink_entry *e = &entries[(head + i) % SINK_KEEP];
		struct json_object *body = json_tokener_parse(e->body);
		char		ts[21];

		format_ts(e->at, ts);
		if (i)
			dbuf_putc(&b, ',');
		dbuf_puts(&b, "{\"path\":");
		jw_string(&b, e->path);
		dbuf_puts(&b, ",\"at\":");
		jw_string(&b, ts);
		dbuf_puts(&b, ",\"subscription_code_header\":");
		if (e->subscription_code)
			jw_string(&b, e->subscription_code);
		else
			dbuf_puts(&b, "null");
		/* the body as sent: JSON inline when it parses, else a string */
		dbuf_puts(&b, ",\"body\":");
		if (body)
			dbuf_puts(&b, e->body);
		else
			jw_string(&b, e->body);
		dbuf_putc(&b, '}');
		json_object_put(body);
	}
	pthread_mutex_unlock(&lock);
	dbuf_puts(&b, "]}");
	reply_json(r, 200, b.data);
	dbuf_free(&b);
}

void
sink_forget(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count; i++)
		entry_free(&entries[(head + i) % SINK_KEEP]);
	head = count = 0;
	pthread_mutex_unlock(&lock);
}
