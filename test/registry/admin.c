/*
 * admin.c - test-only administration (/admin/...), the JWKS document and the
 * OAuth2 client-credentials token endpoint.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "registry.h"

static void
reply_ok(reply *r)
{
	reply_json(r, 200, "{\"ok\":true}");
}

struct json_object *
admin_body(const request *rq, reply *r)
{
	struct json_object *o = NULL;
	struct json_tokener *tok = json_tokener_new();

	if (tok && rq->len > 0)
	{
		o = json_tokener_parse_ex(tok, rq->body, (int) rq->len);
		if (o && json_tokener_get_parse_end(tok) != rq->len)
		{
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object))
	{
		json_object_put(o);
		reply_error(r, 400, "err.request.bad", "the body must be a JSON object");
		return NULL;
	}
	return o;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* POST /admin/senders: a JWKS document (or one JWK); all keys or none. */
static void
admin_senders(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	struct json_object *list = NULL;
	size_t		n;
	sender_key *ks;
	char		err[256];
	dbuf		out;

	if (doc == NULL)
		return;
	if (!json_object_object_get_ex(doc, "keys", &list))
		list = NULL;
	n = list ? (json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0) : 1;
	if (n == 0)
	{
		reply_error(r, 400, "err.request.bad", "\"keys\" must be a non-empty array");
		json_object_put(doc);
		return;
	}
	ks = calloc(n, sizeof(sender_key));
	for (size_t i = 0; ks && i < n; i++)
	{
		if (keys_from_jwk(list ? json_object_array_get_idx(list, i) : doc, &ks[i], err, sizeof(err)) < 0)
		{
			reply_error(r, 400, "err.request.bad", err);
			for (size_t j = 0; j < i; j++)
			{
				EVP_PKEY_free(ks[j].pkey);
				free(ks[j].kid);
				free(ks[j].sender);
			}
			free(ks);
			json_object_put(doc);
			return;
		}
	}
	dbuf_init(&out);
	dbuf_puts(&out, "{\"registered\":[");
	for (size_t i = 0; ks && i < n; i++)
	{
		if (i)
			dbuf_putc(&out, ',');
		jw_string(&out, ks[i].kid);
		keys_register(&ks[i]);	/* takes ownership */
	}
	dbuf_puts(&out, "]}");
	reply_json(r, 200, out.data);
	dbuf_free(&out);
	free(ks);
	json_object_put(doc);
}

static void
admin_tokens(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	const char *t;

	if (doc == NULL)
		return;
	t = member_str(doc, "token");
	if (t == NULL || *t == '\0')
		reply_error(r, 400, "err.request.bad", "{\"token\": \"...\"} expected");
	else
	{
		auth_add_static_token(t);
		reply_ok(r);
	}
	json_object_put(doc);
}

static void
admin_clients(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	struct json_object *ttl = NULL;
	const char *id,
			   *secret,
			   *method;
	long		t = -1;
	client_auth m = CLIENT_BODY;

	if (doc == NULL)
		return;
	id = member_str(doc, "client_id");
	secret = member_str(doc, "client_secret");
	method = member_str(doc, "method");
	if (json_object_object_get_ex(doc, "ttl", &ttl) && !json_object_is_type(ttl, json_type_null))
		t = (long) json_object_get_int64(ttl);
	if (id == NULL || *id == '\0' || secret == NULL || t < -1 || (method && client_auth_parse(method, &m) < 0))
		reply_error(r, 400, "err.request.bad",
					"{\"client_id\": \"...\", \"client_secret\": \"...\", \"ttl\": seconds, "
					"\"method\": \"body\"|\"basic\"|\"query\"} expected");
	else if (auth_add_client(id, secret, t, m) < 0)
		reply_error(r, 500, "err.service.unavailable", "out of memory");
	else
		reply_ok(r);
	json_object_put(doc);
}

static void
admin_stats(reply *r)
{
	dbuf		b;
	bool		first = true;

	dbuf_init(&b);
	dbuf_printf(&b, "{\"requests\":%llu,\"connections\":%llu,\"token_requests\":%llu,"
				"\"search_requests\":%llu,\"search_items\":%llu,\"rejected\":%llu,\"senders\":%d,"
				"\"resets\":%llu,\"injected_headers\":%llu,\"revocations\":%llu,"
				"\"blackhole_connections\":%llu,\"rate_limited\":%llu,\"responses\":{",
				(unsigned long long) STAT_GET(requests),
				(unsigned long long) STAT_GET(connections),
				(unsigned long long) STAT_GET(token_requests),
				(unsigned long long) STAT_GET(search_requests),
				(unsigned long long) STAT_GET(search_items),
				(unsigned long long) STAT_GET(rejected), keys_count(),
				(unsigned long long) STAT_GET(resets),
				(unsigned long long) STAT_GET(injected_headers),
				(unsigned long long) STAT_GET(revocations),
				(unsigned long long) STAT_GET(blackhole_connections),
				(unsigned long long) STAT_GET(status_counts[429]));
	for (int code = 100; code < 600; code++)
	{
		uint64_t	n = STAT_GET(status_counts[code]);

		if (n == 0)
			continue;
		dbuf_printf(&b, "%s\"%d\":%llu", first ? "" : ",", code, (unsigned long long) n);
		first = false;
	}
	dbuf_printf(&b, "},\"async_requests\":%llu,\"callbacks\":{\"queued\":%llu,\"sent\":%llu,"
				"\"retried\":%llu,\"acked\":%llu,\"failed\":%llu},\"notifications\":%llu",
				(unsigned long long) STAT_GET(async_requests),
				(unsigned long long) STAT_GET(callbacks_queued),
				(unsigned long long) STAT_GET(callbacks_sent),
				(unsigned long long) STAT_GET(callbacks_retried),
				(unsigned long long) STAT_GET(callbacks_acked),
				(unsigned long long) STAT_GET(callbacks_failed),
				(unsigned long long) STAT_GET(notifications));
	dbuf_puts(&b, ",\"keys\":");
	counters_json(&b);
	dbuf_puts(&b, ",\"by_sender\":");
	senders_json(&b);
	dbuf_putc(&b, '}');
	reply_json(r, 200, b.data);
	dbuf_free(&b);
}

static void
admin_reset_stats(reply *r)
{
	__atomic_store_n(&g_reg.stats.requests, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.connections, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.token_requests, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.search_requests, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.search_items, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.rejected, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.resets, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.injected_headers, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.revocations, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.blackhole_connections, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.callbacks_queued, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.callbacks_sent, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.callbacks_retried, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.callbacks_acked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.callbacks_failed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.async_requests, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reg.stats.notifications, 0, __ATOMIC_RELAXED);
	for (int code = 0; code < 600; code++)
		__atomic_store_n(&g_reg.stats.status_counts[code], 0, __ATOMIC_RELAXED);
	counters_reset_stats();
	senders_reset_stats();
	reply_ok(r);
}

/*
 * GET /admin/callbacks[?transaction_id=&correlation_id=&action=&subscription_code=&receiver=]
 * [&wait_ms=MS[&count=N]]: the deliveries; with wait_ms, answered once at
 * least count (default 1) match and all of them are acked or failed, or
 * when wait_ms has passed ("complete" says which).  The wait holds no thread.
 */
static void
admin_callbacks(const request *rq, reply *r)
{
	cb_filter	f;
	const char *w = request_arg(rq, "wait_ms");
	const char *c = request_arg(rq, "count");
	long		wait_ms = w ? atol(w) : 0;
	long		want = c ? atol(c) : 1;
	dbuf		b;
	bool		done;

	f.transaction_id = request_arg(rq, "transaction_id");
	f.correlation_id = request_arg(rq, "correlation_id");
	f.action = request_arg(rq, "action");
	f.subscription_code = request_arg(rq, "subscription_code");
	f.receiver = request_arg(rq, "receiver");
	dbuf_init(&b);
	done = callbacks_json(&f, want, &b);
	if (!done && wait_ms > 0 && rq->started)
	{
		struct timespec now;
		double		elapsed;

		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - rq->started->tv_sec) * 1e3 + (now.tv_nsec - rq->started->tv_nsec) / 1e6;
		if (elapsed < wait_ms)
		{
			r->again_ms = 20;	/* suspended, asked again in 20 ms */
			dbuf_free(&b);
			return;
		}
	}
	reply_json(r, 200, b.data);
	dbuf_free(&b);
}

/* POST /admin/fetch-jwks {"url": ..., "sender": optional}: GET a JWKS and register its keys. */
static void
admin_fetch_jwks(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	struct json_object *jwks = NULL,
			   *list = NULL;
	const char *url,
			   *sender;
	char		err[300];
	dbuf		body,
				out;
	size_t		n;

	if (doc == NULL)
		return;
	url = member_str(doc, "url");
	sender = member_str(doc, "sender");
	dbuf_init(&body);
	dbuf_init(&out);
	if (url == NULL)
		reply_error(r, 400, "err.request.bad", "{\"url\": \"https://.../.well-known/jwks.json\"} expected");
	else if (http_get(url, &body, err, sizeof(err)) < 0)
		reply_error(r, 502, "err.service.unavailable", err);
	else if ((jwks = json_tokener_parse(body.data ? body.data : "")) == NULL ||
			 !json_object_object_get_ex(jwks, "keys", &list) ||
			 !json_object_is_type(list, json_type_array) || (n = json_object_array_length(list)) == 0)
		reply_error(r, 502, "err.service.unavailable", "the answer is not a JWKS {\"keys\": [...]}");
	else
	{
		sender_key *ks = calloc(n, sizeof(sender_key));
		size_t		i;

		for (i = 0; ks && i < n; i++)
		{
			struct json_object *k = json_object_array_get_idx(list, i);

			/* OpenCRVS-style: the keys are the sender's, whatever their kid says */
			if (sender && json_object_is_type(k, json_type_object) &&
				!json_object_object_get_ex(k, "sender", NULL))
				json_object_object_add(k, "sender", json_object_new_string(sender));
			if (keys_from_jwk(k, &ks[i], err, sizeof(err)) < 0)
				break;
		}
		if (ks == NULL || i < n)
		{
			reply_error(r, 400, "err.request.bad", ks ? err : "out of memory");
			for (size_t j = 0; ks && j < i; j++)
			{
				EVP_PKEY_free(ks[j].pkey);
				free(ks[j].kid);
				free(ks[j].sender);
			}
		}
		else
		{
			dbuf_puts(&out, "{\"registered\":[");
			for (i = 0; i < n; i++)
			{
				if (i)
					dbuf_putc(&out, ',');
				jw_string(&out, ks[i].kid);
				keys_register(&ks[i]);
			}
			dbuf_puts(&out, "]}");
			reply_json(r, 200, out.data);
		}
		free(ks);
	}
	json_object_put(jwks);
	json_object_put(doc);
	dbuf_free(&body);
	dbuf_free(&out);
}

/* POST /admin/revoke-every {"ms": N}: revoke every issued token every N ms; 0 stops. */
static void
admin_revoke_every(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	struct json_object *ms = NULL;

	if (doc == NULL)
		return;
	if (!json_object_object_get_ex(doc, "ms", &ms) || !json_object_is_type(ms, json_type_int) ||
		json_object_get_int64(ms) < 0)
		reply_error(r, 400, "err.request.bad", "{\"ms\": N} expected (0 stops)");
	else if (auth_revoke_every((long) json_object_get_int64(ms)) < 0)
		reply_error(r, 500, "err.service.unavailable", "cannot start the revocation thread");
	else
		reply_ok(r);
	json_object_put(doc);
}

/* A non-negative count, or null/absent (0: no limit); -1 when it is anything else. */
static long
limit_of(struct json_object *doc, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(doc, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return -1;
	return (long) json_object_get_int64(v);
}

/* POST /admin/ratelimit {"sender","per_second","per_minute","per_day","counts"} */
static void
admin_ratelimit(const request *rq, reply *r)
{
	struct json_object *doc = admin_body(rq, r);
	const char *sender,
			   *counts;
	long		ps,
				pm,
				pd;

	if (doc == NULL)
		return;
	sender = member_str(doc, "sender");
	counts = member_str(doc, "counts");
	ps = limit_of(doc, "per_second");
	pm = limit_of(doc, "per_minute");
	pd = limit_of(doc, "per_day");
	if (sender == NULL || *sender == '\0' || ps < 0 || pm < 0 || pd < 0 ||
		(counts && strcmp(counts, "requests") != 0 && strcmp(counts, "items") != 0))
		reply_error(r, 400, "err.request.bad",
					"{\"sender\": \"...\", \"per_second\": N, \"per_minute\": N, \"per_day\": N, "
					"\"counts\": \"requests\"|\"items\"} expected (a limit may be null)");
	else if (senders_set_limit(sender, ps, pm, pd, counts && strcmp(counts, "items") == 0) < 0)
		reply_error(r, 500, "err.service.unavailable", "out of memory");
	else
		reply_ok(r);
	json_object_put(doc);
}

void
handle_admin(const request *rq, reply *r)
{
	const char *p = rq->path + strlen("/admin");
	bool		get = strcmp(rq->method, "GET") == 0;
	bool		post = strcmp(rq->method, "POST") == 0;

	if (strcmp(p, "/senders") == 0 && post)
		admin_senders(rq, r);
	else if (strcmp(p, "/tokens") == 0 && post)
		admin_tokens(rq, r);
	else if (strcmp(p, "/clients") == 0 && post)
		admin_clients(rq, r);
	else if (strcmp(p, "/revoke-tokens") == 0 && post)
	{
		auth_revoke_issued();
		reply_ok(r);
	}
	else if (strcmp(p, "/revoke-every") == 0 && post)
		admin_revoke_every(rq, r);
	else if (strcmp(p, "/stats") == 0 && get)
		admin_stats(r);
	else if (strcmp(p, "/reset-stats") == 0 && post)
		admin_reset_stats(r);
	else if (strcmp(p, "/ratelimit") == 0 && post)
		admin_ratelimit(rq, r);
	else if (strcmp(p, "/callbacks") == 0 && get)
		admin_callbacks(rq, r);
	else if (strcmp(p, "/reset-callbacks") == 0 && post)
	{
		callbacks_forget();
		reply_ok(r);
	}
	else if (strcmp(p, "/subscriptions") == 0 && get)
	{
		dbuf		b;

		dbuf_init(&b);
		subs_json(&b);
		reply_json(r, 200, b.data);
		dbuf_free(&b);
	}
	else if (strcmp(p, "/event") == 0 && post)
		admin_event(rq, r);
	else if (strcmp(p, "/fetch-jwks") == 0 && post)
		admin_fetch_jwks(rq, r);
	else if (strcmp(p, "/sink") == 0 && get)
		sink_json(r);
	else if (strcmp(p, "/reset-sink") == 0 && post)
	{
		sink_forget();
		reply_ok(r);
	}
	else if (strcmp(p, "/reset-counters") == 0 && post)
	{
		counters_reset();
		senders_reset_windows();
		reply_ok(r);
	}
	else if (strcmp(p, "/pubkey") == 0 && get)
	{
		bool		rsa = rq->query_alg && strcasecmp(rq->query_alg, "rs256") == 0;

		r->status = 200;
		r->ctype = "text/plain; charset=utf-8";
		dbuf_reset(&r->body);
		dbuf_puts(&r->body, rsa ? g_reg.rsa_pub_pem : g_reg.ed_pub_pem);
	}
	else
		reply_error(r, 404, "err.request.not_found", "no such admin endpoint (or wrong method)");
}

void
handle_jwks(const request *rq, reply *r)
{
	if (strcmp(rq->method, "GET") != 0)
		reply_error(r, 405, "err.request.bad", "use GET");
	else
		reply_json(r, 200, g_reg.jwks);
}

/* ------------------------------------------------------------ OAuth2 token */

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* application/x-www-form-urlencoded value of name, decoded (malloc'd), or NULL. */
static char *
form_value(const char *body, size_t len, const char *name)
{
	size_t		nl = strlen(name);
	const char *p = body,
			   *end = body + len;

	while (p < end)
	{
		const char *amp = memchr(p, '&', end - p);
		const char *stop = amp ? amp : end;

		if ((size_t) (stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
		{
			const char *v = p + nl + 1;
			char	   *out = malloc(stop - v + 1),
					   *o = out;

			if (out == NULL)
				return NULL;
			while (v < stop)
			{
				if (*v == '+')
					*o++ = ' ', v++;
				else if (*v == '%' && stop - v >= 3 && hexval((unsigned char) v[1]) >= 0 &&
						 hexval((unsigned char) v[2]) >= 0)
				{
					*o++ = (char) (hexval((unsigned char) v[1]) * 16 + hexval((unsigned char) v[2]));
					v += 3;
				}
				else
					*o++ = *v++;
			}
			*o = '\0';
			return out;
		}
		p = stop + 1;
	}
	return NULL;
}

/* Decode application/x-www-form-urlencoded text in place. */
static void
form_decode(char *s)
{
	char	   *o = s;

	while (*s)
	{
		if (*s == '+')
			*o++ = ' ', s++;
		else if (*s == '%' && hexval((unsigned char) s[1]) >= 0 && hexval((unsigned char) s[2]) >= 0)
		{
			*o++ = (char) (hexval((unsigned char) s[1]) * 16 + hexval((unsigned char) s[2]));
			s += 3;
		}
		else
			*o++ = *s++;
	}
	*o = '\0';
}

/*
 * HTTP Basic credentials (RFC 6749 2.3.1: the client id and secret are
 * form-urlencoded, then joined by a colon and base64'd), malloc'd; -1 when
 * there is no Basic header; 0 with *id NULL when it is malformed.
 */
static int
basic_credentials(const char *h, char **id, char **secret)
{
	unsigned char *dec;
	size_t		len;
	char	   *colon;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	dec = b64_decode(h + 6, strlen(h + 6), &len);
	colon = dec ? memchr(dec, ':', len) : NULL;
	if (colon)
	{
		*id = strndup((char *) dec, colon - (char *) dec);
		*secret = strndup(colon + 1, len - (colon + 1 - (char *) dec));
		if (*id && *secret)
		{
			form_decode(*id);
			form_decode(*secret);
		}
	}
	free(dec);
	return 0;
}

void
handle_token(const request *rq, reply *r)
{
	const char *body = rq->body ? rq->body : "";
	char	   *grant,
			   *id = NULL,
			   *secret = NULL;
	char		token[128];
	long		ttl;
	int			used = 0;
	client_auth method = CLIENT_BODY;

	STAT_ADD(token_requests, 1);
	if (strcmp(rq->method, "POST") != 0)
	{
		reply_json(r, 405, "{\"error\":\"invalid_request\",\"error_description\":\"use POST\"}");
		return;
	}
	grant = form_value(body, rq->len, "grant_type");

	/*
	 * Which way did the client send its secret?  RFC 6749 2.3: one way per
	 * request; each client is accepted only the way it is configured.
	 */
	if (basic_credentials(rq->authorization, &id, &secret) == 0)
	{
		used++;
		method = CLIENT_BASIC;
	}
	{
		char	   *fsecret = form_value(body, rq->len, "client_secret");

		if (fsecret)
		{
			used++;
			method = CLIENT_BODY;
			free(id);
			free(secret);
			id = form_value(body, rq->len, "client_id");
			secret = fsecret;
		}
	}
	if (rq->query_client_secret)
	{
		used++;
		method = CLIENT_QUERY;
		free(id);
		free(secret);
		id = rq->query_client_id ? strdup(rq->query_client_id) : NULL;
		secret = strdup(rq->query_client_secret);
	}
	if (grant == NULL || strcmp(grant, "client_credentials") != 0)
		reply_json(r, 400, "{\"error\":\"unsupported_grant_type\"}");
	else if (used != 1 || id == NULL || secret == NULL ||
			 auth_issue(id, secret, method, rq->o->crlftoken ? "\r\nX-Injected: 1" : NULL,
						token, sizeof(token), &ttl) < 0)
	{
		reply_json(r, 401, "{\"error\":\"invalid_client\"}");
		STAT_ADD(rejected, 1);
	}
	else
	{
		dbuf		b;

		dbuf_init(&b);
		dbuf_puts(&b, "{\"access_token\":");
		jw_string(&b, token);
		dbuf_puts(&b, ",\"expires_in\":");
		jw_count(&b, ttl, rq->o->strexpiry);
		dbuf_puts(&b, ",\"token_type\":\"Bearer\"}");
		reply_json(r, 200, b.data);
		dbuf_free(&b);
	}
	free(grant);
	free(id);
	free(secret);
}
