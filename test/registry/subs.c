/*
 * subs.c - subscriptions (made by /registry/subscribe, ended by
 * /registry/unsubscribe) and which of them a vital event concerns.
 *
 * A subscription keeps its subscriber (sender_id, and sender_uri where
 * notifications go), its registry, reg_type, reg_event_type and filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "registry.h"

typedef struct subscription
{
	char		code[20];		/* SUB-XXXXXXXXXXXX */
	char	   *sender;
	char	   *sender_uri;
	reg_kind	view;
	char	   *reg_type;
	char	   *reg_event_type;
	char	   *filter_type;
	char	   *filter;			/* canonical JSON text, NULL: none */
	char	   *notify_record_type;
	char	   *transaction_id;
	bool		active;
	time_t		created_at;
} subscription;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static subscription **subs;
static size_t nsubs,
			capsubs;

static void
sub_free(subscription *s)
{
	free(s->sender);
	free(s->sender_uri);
	free(s->reg_type);
	free(s->reg_event_type);
	free(s->filter_type);
	free(s->filter);
	free(s->notify_record_type);
	free(s->transaction_id);
	free(s);
}

void
subs_shutdown(void)
{
	for (size_t i = 0; i < nsubs; i++)
		sub_free(subs[i]);
	free(subs);
	subs = NULL;
	nsubs = capsubs = 0;
}

/* The last part of an event type, after any namespace ("spdci-common:RegistryEventType:Death"). */
static const char *
event_tail(const char *s)
{
	const char *c = strrchr(s, ':');

	return c ? c + 1 : s;
}

bool
event_type_is(const char *a, const char *b)
{
	return a && b && strcasecmp(event_tail(a), event_tail(b)) == 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A filter that selects nothing out: absent, null, "", {} or []. */
static bool
filter_empty(struct json_object *f)
{
	switch (json_object_get_type(f))
	{
		case json_type_null:
			return true;
		case json_type_string:
			return json_object_get_string_len(f) == 0;
		case json_type_object:
			return json_object_object_length(f) == 0;
		case json_type_array:
			return json_object_array_length(f) == 0;
		default:
			return false;
	}
}

int
subs_add(const sub_new *n, char code[20])
{
	subscription *s = calloc(1, sizeof(subscription));
	unsigned char rnd[6];
	int			rc = 0;

	if (s == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1)
	{
		free(s);
		return -1;
	}
	snprintf(s->code, sizeof(s->code), "SUB-%02X%02X%02X%02X%02X%02X",
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	s->sender = strdup(n->sender);
	s->sender_uri = dup_or_null(n->sender_uri);
	s->view = n->view;
	s->reg_type = dup_or_null(n->reg_type);
	s->reg_event_type = strdup(n->reg_event_type);
	s->filter_type = dup_or_null(n->filter_type);
	s->notify_record_type = dup_or_null(n->notify_record_type);
	s->transaction_id = dup_or_null(n->transaction_id);
	s->active = true;
	s->created_at = time(NULL);
	if (n->filter && !filter_empty(n->filter))
	{
		dbuf		b;

		dbuf_init(&b);
		if (jw_canonical(&b, n->filter) == 0)
			s->filter = dbuf_steal(&b);
		dbuf_free(&b);
	}
	if (s->sender == NULL || s->reg_event_type == NULL)
	{
		sub_free(s);
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (nsubs == capsubs)
	{
		size_t		cap = capsubs ? capsubs * 2 : 16;
		subscription **x = realloc(subs, cap * sizeof(subscription *));

		if (x == NULL)
			rc = -1;
		else
		{
			subs = x;
			capsubs = cap;
		}
	}
	if (rc == 0)
		subs[nsubs++] = s;
	pthread_mutex_unlock(&lock);
	if (rc < 0)
		sub_free(s);
	else
		memcpy(code, s->code, sizeof(s->code));
	return rc;
}

int
subs_remove(const char *sender, const char *code)
{
	int			rc = SUB_UNKNOWN;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsubs; i++)
	{
		subscription *s = subs[i];

		/* another sender's code is unknown to this one */
		if (strcmp(s->code, code) != 0 || strcmp(s->sender, sender) != 0)
			continue;
		rc = s->active ? SUB_REMOVED : SUB_ALREADY;
		s->active = false;
		break;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/* Does the filter of s let rec through?  An unusable filter lets nothing through. */
static bool
filter_passes(const subscription *s, reg_view *v, struct json_object *rec)
{
	struct json_object *f;
	const char *type = s->filter_type;
	bool		match = false;
	char		msg[200];

	if (s->filter == NULL)
		return true;
	f = json_tokener_parse(s->filter);
	if (type == NULL && json_object_is_type(f, json_type_array))
		type = "predicate";
	else if (type == NULL && json_object_is_type(f, json_type_object))
	{
		struct json_object *t = NULL;

		/* {"type","value"}: an identifier; anything else: an expression */
		type = json_object_object_get_ex(f, "value", &t) && json_object_object_get_ex(f, "type", &t) &&
			strchr(json_object_get_string(t), ':') == NULL ? "idtype-value" : "expression";
	}
	if (query_match_one(v, rec, type, f, &match, msg, sizeof(msg)) != Q_OK)
		match = false;
	json_object_put(f);
	return match;
}

size_t
subs_matching(reg_kind view, const char *event_type, reg_view *v, struct json_object *rec,
			  sub_match **out)
{
	size_t		n = 0;
	sub_match  *m;

	*out = NULL;
	pthread_mutex_lock(&lock);
	m = calloc(nsubs ? nsubs : 1, sizeof(sub_match));
	for (size_t i = 0; m && i < nsubs; i++)
	{
		subscription *s = subs[i];

		if (!s->active || s->view != view || !event_type_is(s->reg_event_type, event_type) ||
			!filter_passes(s, v, rec))
			continue;
		memcpy(m[n].code, s->code, sizeof(m[n].code));
		m[n].sender = strdup(s->sender);
		m[n].sender_uri = dup_or_null(s->sender_uri);
		m[n].reg_type = dup_or_null(s->reg_type);
		n++;
	}
	pthread_mutex_unlock(&lock);
	*out = m;
	return n;
}

void
sub_matches_free(sub_match *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
	{
		free(m[i].sender);
		free(m[i].sender_uri);
		free(m[i].reg_type);
	}
	free(m);
}

static void
opt_text(dbuf *b, const char *key, const char *v)
{
	dbuf_printf(b, ",\"%s\":", key);
	if (v)
		jw_string(b, v);
	else
		dbuf_puts(b, "null");
}

void
subs_json(dbuf *out)
{
	dbuf_puts(out, "{\"subscriptions\":[");
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsubs; i++)
	{
		subscription *s = subs[i];
		char		ts[21];

		format_ts(s->created_at, ts);
		if (i)
			dbuf_putc(out, ',');
		dbuf_puts(out, "{\"code\":");
		jw_string(out, s->code);
		dbuf_printf(out, ",\"active\":%s,\"registry\":", s->active ? "true" : "false");
		jw_string(out, fixtures_view(s->view)->prefix + 1);
		opt_text(out, "sender_id", s->sender);
		opt_text(out, "sender_uri", s->sender_uri);
		opt_text(out, "reg_type", s->reg_type);
		opt_text(out, "reg_event_type", s->reg_event_type);
		opt_text(out, "filter_type", s->filter_type);
		dbuf_puts(out, ",\"filter\":");
		dbuf_puts(out, s->filter ? s->filter : "null");
		opt_text(out, "notify_record_type", s->notify_record_type);
		opt_text(out, "transaction_id", s->transaction_id);
		opt_text(out, "created", ts);
		dbuf_putc(out, '}');
	}
	pthread_mutex_unlock(&lock);
	dbuf_puts(out, "]}");
}
