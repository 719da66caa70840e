/*
 * envelope.c - build DCI request envelopes, parse and verify responses.
 *
 * See envelope.h.  Key order in every object written here is code-point
 * order, so the text is canonical as written; a comment above each writer
 * lists its keys in that order.
 */
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "canonjson.h"

#define SETERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

int
dci_signing_mode_parse(const char *s, dci_signing_mode *out)
{
	if (s == NULL || strcmp(s, "none") == 0)
		*out = DCI_SIGN_NONE;
	else if (strcmp(s, "dci-ed25519") == 0)
		*out = DCI_SIGN_ED25519;
	else if (strcmp(s, "jws-rs256") == 0)
		*out = DCI_SIGN_JWS_RS256;
	else
		return -1;
	return 0;
}

void
dci_uuid(char out[37])
{
	unsigned char b[16];

	/* RAND_bytes only fails without entropy; fall back rather than send a fixed id */
	if (RAND_bytes(b, sizeof(b)) != 1)
	{
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char) (rand() & 0xff);
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
			 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
dci_format_ts(long t, char out[21])
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
dci_json_string(dbuf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	int			rc = dbuf_putc(out, '"');

	while (rc == 0 && *p)
	{
		unsigned int cp;
		int			n;

		if (*p < 0x80)
		{
			unsigned char c = *p++;

			switch (c)
			{
				case '"':
					rc = dbuf_append(out, "\\\"", 2);
					continue;
				case '\\':
					rc = dbuf_append(out, "\\\\", 2);
					continue;
				case '\n':
					rc = dbuf_append(out, "\\n", 2);
					continue;
				case '\r':
					rc = dbuf_append(out, "\\r", 2);
					continue;
				case '\t':
					rc = dbuf_append(out, "\\t", 2);
					continue;
				case '\b':
					rc = dbuf_append(out, "\\b", 2);
					continue;
				case '\f':
					rc = dbuf_append(out, "\\f", 2);
					continue;
			}
			if (c < 0x20 || c == 0x7f)
			{
				char		e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};

				rc = dbuf_append(out, e, 6);
			}
			else
				rc = dbuf_putc(out, (char) c);
			continue;
		}
		/* decode one UTF-8 sequence; invalid bytes become U+FFFD */
		if ((*p & 0xe0) == 0xc0)
			cp = *p & 0x1f, n = 1;
		else if ((*p & 0xf0) == 0xe0)
			cp = *p & 0x0f, n = 2;
		else if ((*p & 0xf8) == 0xf0)
			cp = *p & 0x07, n = 3;
		else
			cp = 0xfffd, n = 0;
		p++;
		for (int i = 0; i < n; i++)
		{
			if ((*p & 0xc0) != 0x80)
			{
				cp = 0xfffd;
				break;
			}
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			cp = 0xfffd;
		if (cp >= 0x10000)
		{
			unsigned int v = cp - 0x10000;

			rc = dbuf_printf(out, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
		}
		else
			rc = dbuf_printf(out, "\\u%04x", cp);
	}
	if (rc == 0)
		rc = dbuf_putc(out, '"');
	return rc;
}

/* Header in code-point key order: already canonical. */
static int
write_header(dbuf *b, const dci_header *h)
{
	char		ts[21];
	int			rc = 0;

	dci_format_ts(h->message_ts, ts);
	rc |= dbuf_puts(b, "{\"action\":");
	rc |= dci_json_string(b, h->action);
	rc |= dbuf_puts(b, ",\"is_msg_encrypted\":false,\"message_id\":");
	rc |= dci_json_string(b, h->message_id);
	rc |= dbuf_puts(b, ",\"message_ts\":");
	rc |= dci_json_string(b, ts);
	rc |= dbuf_puts(b, ",\"meta\":{},\"receiver_id\":");
	rc |= dci_json_string(b, h->receiver_id);
	rc |= dbuf_puts(b, ",\"sender_id\":");
	rc |= dci_json_string(b, h->sender_id);
	rc |= dbuf_puts(b, ",\"sender_uri\":");
	rc |= dci_json_string(b, h->sender_uri);
	rc |= dbuf_printf(b, ",\"total_count\":%d,\"version\":\"" DCI_PROTOCOL_VERSION "\"}",
					  h->total_count);
	return rc ? -1 : 0;
}

/* ,"key":"value" (or without the comma first). */
static int
put_member(dbuf *b, int comma, const char *key, const char *value)
{
	int			rc = 0;

	if (comma)
		rc |= dbuf_putc(b, ',');
	rc |= dbuf_putc(b, '"');
	rc |= dbuf_puts(b, key);
	rc |= dbuf_puts(b, "\":");
	rc |= dci_json_string(b, value);
	return rc ? -1 : 0;
}

/* ,"key": then the canonical form of JSON text (refused when not JSON). */
static int
put_json_member(dbuf *b, int comma, const char *key, const char *json, size_t len,
				char *err, size_t errlen)
{
	char		perr[200];

	if ((comma && dbuf_putc(b, ',') != 0) || dbuf_putc(b, '"') != 0 ||
		dbuf_puts(b, key) != 0 || dbuf_puts(b, "\":") != 0)
	{
		SETERR("out of memory");
		return -1;
	}
	if (json == NULL || cj_canonicalize(json, len, b, perr, sizeof(perr)) != 0)
	{
		SETERR("%s is not JSON: %s", key, json == NULL ? "none given" : perr);
		return -1;
	}
	return 0;
}

/* A locale is ISO 639-3: three lowercase letters (the schemas' pattern). */
static int
locale_ok(const char *l, char *err, size_t errlen)
{
	if (l == NULL || (strlen(l) == 3 && l[0] >= 'a' && l[0] <= 'z' &&
					  l[1] >= 'a' && l[1] <= 'z' && l[2] >= 'a' && l[2] <= 'z'))
		return 1;
	SETERR("locale \"%.20s\" is not three lowercase letters (ISO 639-3)", l);
	return 0;
}

/* s is one of the words of list (NULL-terminated). */
static int
one_of(const char *s, const char *const *list)
{
	for (int i = 0; s != NULL && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static const char *const query_types[] = {"idtype-value", "expression", "predicate", "graphql", NULL};

/*
 * One search_request item; the query is canonicalized from any JSON text.
 * Keys: locale, reference_id, search_criteria {pagination {page_number,
 * page_size}, query, query_type, reg_event_type, reg_type, version}, timestamp.
 */
static int
write_search_item(dbuf *b, const dci_search_item *it, long now,
				  char *err, size_t errlen)
{
	char		ts[21];
	int			rc = 0;

	if (!locale_ok(it->locale, err, errlen))
		return -1;
	dci_format_ts(now, ts);
	rc |= dbuf_putc(b, '{');
	if (it->locale)
		rc |= put_member(b, 0, "locale", it->locale) | dbuf_putc(b, ',');
	rc |= put_member(b, 0, "reference_id", it->reference_id);
	rc |= dbuf_puts(b, ",\"search_criteria\":{");
	if (it->page_size > 0)
		rc |= dbuf_printf(b, "\"pagination\":{\"page_number\":%d,\"page_size\":%d},",
						  it->page_number > 0 ? it->page_number : 1, it->page_size);
	if (rc)
	{
		SETERR("out of memory");
		return -1;
	}
	if (put_json_member(b, 0, "query", it->query_json, it->query_len, err, errlen) != 0)
		return -1;
	rc |= put_member(b, 1, "query_type", it->query_type);
	if (it->reg_event_type)
		rc |= put_member(b, 1, "reg_event_type", it->reg_event_type);
	if (it->reg_type)
		rc |= put_member(b, 1, "reg_type", it->reg_type);
	rc |= dbuf_puts(b, ",\"version\":\"" DCI_PROTOCOL_VERSION "\"}");
	rc |= put_member(b, 1, "timestamp", ts);
	rc |= dbuf_putc(b, '}');
	if (rc)
		SETERR("out of memory");
	return rc ? -1 : 0;
}

/*
 * One subscribe_request item.  Keys: locale, reference_id,
 * subscribe_criteria {authorize, filter, filter_type, frequency {end_time,
 * frequency, start_time}, notify_record_type, reg_event_type, reg_type,
 * version}, timestamp.
 */
static int
write_subscribe_item(dbuf *b, const dci_subscribe_item *it, long now,
					 char *err, size_t errlen)
{
	char		ts[21];
	int			rc = 0;

	if (!locale_ok(it->locale, err, errlen))
		return -1;
	if (it->reg_event_type == NULL || it->notify_record_type == NULL || it->filter_json == NULL)
	{
		SETERR("a subscription needs reg_event_type, filter and notify_record_type");
		return -1;
	}
	if (it->filter_type != NULL && !one_of(it->filter_type, query_types))
	{
		SETERR("filter_type \"%.40s\" is not idtype-value, expression, predicate or graphql", it->filter_type);
		return -1;
	}
	if (it->frequency != NULL && it->end_time < it->start_time)
	{
		SETERR("subscription frequency ends before it starts");
		return -1;
	}
	dci_format_ts(now, ts);
	rc |= dbuf_putc(b, '{');
	if (it->locale)
		rc |= put_member(b, 0, "locale", it->locale) | dbuf_putc(b, ',');
	rc |= put_member(b, 0, "reference_id", it->reference_id);
	rc |= dbuf_puts(b, ",\"subscribe_criteria\":{");
	if (rc)
	{
		SETERR("out of memory");
		return -1;
	}
	if (it->authorize_json != NULL &&
		put_json_member(b, 0, "authorize", it->authorize_json, strlen(it->authorize_json), err, errlen) != 0)
		return -1;
	if (put_json_member(b, it->authorize_json != NULL, "filter", it->filter_json, it->filter_len,
						err, errlen) != 0)
		return -1;
	if (it->filter_type)
		rc |= put_member(b, 1, "filter_type", it->filter_type);
	if (it->frequency)
	{
		char		start[21],
					end[21];

		dci_format_ts(it->start_time, start);
		dci_format_ts(it->end_time, end);
		rc |= dbuf_puts(b, ",\"frequency\":{");
		rc |= put_member(b, 0, "end_time", end);
		rc |= put_member(b, 1, "frequency", it->frequency);
		rc |= put_member(b, 1, "start_time", start);
		rc |= dbuf_putc(b, '}');
	}
	rc |= put_member(b, 1, "notify_record_type", it->notify_record_type);
	rc |= put_member(b, 1, "reg_event_type", it->reg_event_type);
	if (it->reg_type)
		rc |= put_member(b, 1, "reg_type", it->reg_type);
	rc |= dbuf_puts(b, ",\"version\":\"" DCI_PROTOCOL_VERSION "\"}");
	rc |= put_member(b, 1, "timestamp", ts);
	rc |= dbuf_putc(b, '}');
	if (rc)
		SETERR("out of memory");
	return rc ? -1 : 0;
}

/*
 * Wrap canonical {"header":H,"message":M} (in env) into the body, signing
 * it as the signer says.
 */
static int
finish_body(const dbuf *env, const dci_signer *signer, long now, dbuf *body,
			char *err, size_t errlen)
{
	dbuf		sig;
	int			rc = 0;

	dbuf_init(&sig);
	switch (signer->mode)
	{
		case DCI_SIGN_NONE:
			if (dbuf_append(body, env->data, env->len) != 0)
			{
				SETERR("out of memory");
				return -1;
			}
			return 0;
		case DCI_SIGN_ED25519:
			{
				long		validity = signer->validity > 0 ? signer->validity : 300;

				rc = dci_sig_sign(signer->key, signer->kid, env->data, env->len,
								  now, now + validity, &sig, err, errlen);
				break;
			}
		case DCI_SIGN_JWS_RS256:
			rc = dci_jws_sign(signer->key, signer->kid, env->data, env->len,
							  &sig, err, errlen);
			break;
	}
	if (rc == 0)
	{
		/* {"signature":S, + the rest of {"header":...} after its '{' */
		rc |= dbuf_puts(body, "{\"signature\":");
		rc |= dci_json_string(body, sig.data);
		rc |= dbuf_putc(body, ',');
		rc |= dbuf_append(body, env->data + 1, env->len - 1);
		if (rc)
			SETERR("out of memory");
	}
	dbuf_free(&sig);
	return rc ? -1 : 0;
}

/* {"header":H,"message": */
static int
begin_envelope(dbuf *env, const dci_header *h, char *err, size_t errlen)
{
	dbuf_init(env);
	if (dbuf_puts(env, "{\"header\":") != 0 || write_header(env, h) != 0 ||
		dbuf_puts(env, ",\"message\":") != 0)
	{
		SETERR("out of memory");
		return -1;
	}
	return 0;
}

/* Close the envelope after its message (tail closes the message), sign it into body; frees env. */
static int
end_envelope(dbuf *env, const char *tail, const dci_header *h, const dci_signer *signer,
			 dbuf *body, char *err, size_t errlen)
{
	int			rc;

	if (dbuf_puts(env, tail) != 0 || dbuf_putc(env, '}') != 0)
	{
		SETERR("out of memory");
		rc = -1;
	}
	else
		rc = finish_body(env, signer, h->message_ts, body, err, errlen);
	dbuf_free(env);
	return rc;
}

/* Writes item i of an item array (search_request, subscribe_request). */
typedef int (*item_writer) (dbuf *b, const void *items, int i, long now, char *err, size_t errlen);

static int
search_item_at(dbuf *b, const void *items, int i, long now, char *err, size_t errlen)
{
	return write_search_item(b, &((const dci_search_item *) items)[i], now, err, errlen);
}

static int
subscribe_item_at(dbuf *b, const void *items, int i, long now, char *err, size_t errlen)
{
	return write_subscribe_item(b, &((const dci_subscribe_item *) items)[i], now, err, errlen);
}

/* {"<list>":[items...],"transaction_id":T}, signed: the shape of search and subscribe. */
static int
build_item_list(const dci_header *h, const char *list, const char *transaction_id,
				const void *items, int nitems, item_writer write_item,
				const dci_signer *signer, dbuf *body, char *err, size_t errlen)
{
	dbuf		env;

	if (begin_envelope(&env, h, err, errlen) != 0)
		goto fail;
	if (dbuf_printf(&env, "{\"%s\":[", list) != 0)
		goto oom;
	for (int i = 0; i < nitems; i++)
	{
		if (i > 0 && dbuf_putc(&env, ',') != 0)
			goto oom;
		if (write_item(&env, items, i, h->message_ts, err, errlen) != 0)
			goto fail;
	}
	if (dbuf_putc(&env, ']') != 0 || put_member(&env, 1, "transaction_id", transaction_id) != 0)
		goto oom;
	return end_envelope(&env, "}", h, signer, body, err, errlen);
oom:
	SETERR("out of memory");
fail:
	dbuf_free(&env);
	return -1;
}

int
dci_build_search(const dci_header *h, const char *transaction_id,
				 const dci_search_item *items, int nitems,
				 const dci_signer *signer, dbuf *body,
				 char *err, size_t errlen)
{
	return build_item_list(h, "search_request", transaction_id, items, nitems, search_item_at,
						   signer, body, err, errlen);
}

int
dci_search_message(const char *transaction_id, const dci_search_item *items, int nitems,
				   long now, dbuf *out, char *err, size_t errlen)
{
	if (dbuf_puts(out, "{\"search_request\":[") != 0)
		goto oom;
	for (int i = 0; i < nitems; i++)
	{
		if (i > 0 && dbuf_putc(out, ',') != 0)
			goto oom;
		if (search_item_at(out, items, i, now, err, errlen) != 0)
			return -1;
	}
	if (dbuf_putc(out, ']') != 0 || put_member(out, 1, "transaction_id", transaction_id) != 0 ||
		dbuf_putc(out, '}') != 0)
		goto oom;
	return 0;
oom:
	SETERR("out of memory");
	return -1;
}

int
dci_build_search_async(const dci_header *h, const char *transaction_id,
					   const dci_search_item *items, int nitems,
					   const dci_signer *signer, dbuf *body,
					   char *err, size_t errlen)
{
	/* the registry POSTs the answer there: without it nothing would come back */
	if (h->sender_uri == NULL || h->sender_uri[0] == '\0')
	{
		SETERR("an async search needs sender_uri, where the registry sends its answer");
		return -1;
	}
	return dci_build_search(h, transaction_id, items, nitems, signer, body, err, errlen);
}

int
dci_build_subscribe(const dci_header *h, const char *transaction_id,
					const dci_subscribe_item *items, int nitems,
					const dci_signer *signer, dbuf *body,
					char *err, size_t errlen)
{
	return build_item_list(h, "subscribe_request", transaction_id, items, nitems, subscribe_item_at,
						   signer, body, err, errlen);
}

/* {"subscription_codes":[...],"timestamp":TS,"transaction_id":T}: the spellings the schema's typos miss */
int
dci_build_unsubscribe(const dci_header *h, const char *transaction_id,
					  const char *const *codes, int ncodes,
					  const dci_signer *signer, dbuf *body,
					  char *err, size_t errlen)
{
	dbuf		env;
	char		ts[21];
	int			rc = 0;

	if (ncodes <= 0)
	{
		SETERR("no subscription code to unsubscribe");
		return -1;
	}
	if (begin_envelope(&env, h, err, errlen) != 0)
		goto fail;
	rc |= dbuf_puts(&env, "{\"subscription_codes\":[");
	for (int i = 0; i < ncodes; i++)
	{
		if (i > 0)
			rc |= dbuf_putc(&env, ',');
		rc |= dci_json_string(&env, codes[i]);
	}
	dci_format_ts(h->message_ts, ts);
	rc |= dbuf_putc(&env, ']');
	rc |= put_member(&env, 1, "timestamp", ts);
	rc |= put_member(&env, 1, "transaction_id", transaction_id);
	if (rc)
		goto oom;
	return end_envelope(&env, "}", h, signer, body, err, errlen);
oom:
	SETERR("out of memory");
fail:
	dbuf_free(&env);
	return -1;
}

/*
 * {"transaction_id":T,"txnstatus_request":{"attribute_type","attribute_value",
 * "locale","reference_id","txn_type"}}
 */
int
dci_build_txn_status(const dci_header *h, const char *transaction_id,
					 const dci_txn_status_req *req,
					 const dci_signer *signer, dbuf *body,
					 char *err, size_t errlen)
{
	static const char *const txn_types[] = {"search", "subscribe", "unsubscribe", NULL};
	static const char *const attr_types[] = {"transaction_id", "reference_id_list", "correlation_id",
	"subscription_code_list", NULL};
	dbuf		env;
	int			rc = 0;

	if (!one_of(req->txn_type, txn_types))
	{
		SETERR("txn_type must be search, subscribe or unsubscribe");
		return -1;
	}
	if (!one_of(req->attribute_type, attr_types))
	{
		SETERR("attribute_type must be transaction_id, reference_id_list, correlation_id or subscription_code_list");
		return -1;
	}
	if (!locale_ok(req->locale, err, errlen))
		return -1;
	if (begin_envelope(&env, h, err, errlen) != 0)
		goto fail;
	rc |= dbuf_putc(&env, '{');
	rc |= put_member(&env, 0, "transaction_id", transaction_id);
	rc |= dbuf_puts(&env, ",\"txnstatus_request\":{");
	rc |= put_member(&env, 0, "attribute_type", req->attribute_type);
	if (rc)
		goto oom;
	if (put_json_member(&env, 1, "attribute_value", req->attribute_value_json, req->attribute_value_len,
						err, errlen) != 0)
		goto fail;
	if (req->locale)
		rc |= put_member(&env, 1, "locale", req->locale);
	rc |= put_member(&env, 1, "reference_id", req->reference_id);
	rc |= put_member(&env, 1, "txn_type", req->txn_type);
	if (rc)
		goto oom;
	return end_envelope(&env, "}}", h, signer, body, err, errlen);
oom:
	SETERR("out of memory");
fail:
	dbuf_free(&env);
	return -1;
}

int
dci_build_request(const dci_header *h, const char *message_json,
				  size_t message_len, const dci_signer *signer,
				  dbuf *body, char *err, size_t errlen)
{
	dbuf		env;
	char		perr[200];

	if (begin_envelope(&env, h, err, errlen) != 0)
		goto fail;
	if (message_json == NULL || cj_canonicalize(message_json, message_len, &env, perr, sizeof(perr)) != 0)
	{
		SETERR("message is not JSON: %s", message_json == NULL ? "none given" : perr);
		goto fail;
	}
	return end_envelope(&env, "", h, signer, body, err, errlen);
fail:
	dbuf_free(&env);
	return -1;
}

/* ---- responses ---- */

const char *
dci_get_string(const cj_node *o, const char *key)
{
	const cj_node *v = cj_get(o, key);

	return cj_has_nul(v) ? NULL : cj_string(v);
}

const char *
dci_get_text(const cj_node *o, const char *key)
{
	const cj_node *v = cj_get(o, key);

	if (cj_typeof(v) == CJ_NUMBER)
		return cj_number(v, NULL);
	return cj_has_nul(v) ? NULL : cj_string(v);
}

int
dci_get_long(const cj_node *o, const char *key, long *out)
{
	return cj_long(cj_get(o, key), out);
}

static const cj_node *
get_obj(const cj_node *o, const char *key)
{
	const cj_node *v = cj_get(o, key);

	return cj_typeof(v) == CJ_OBJECT ? v : NULL;
}

const cj_node *
dci_get_object(const cj_node *o, const char *key)
{
	return get_obj(o, key);
}

/* The fields of a response read from a header and a message of some tree. */
static void
fill_fields(dci_response *out)
{
	const cj_node *items;

	out->status = dci_get_string(out->header, "status");
	out->reason_code = dci_get_string(out->header, "status_reason_code");
	out->reason_message = dci_get_string(out->header, "status_reason_message");
	out->action = dci_get_string(out->header, "action");
	out->sender_id = dci_get_string(out->header, "sender_id");
	out->receiver_id = dci_get_string(out->header, "receiver_id");
	out->message_id = dci_get_string(out->header, "message_id");
	out->ack_status = dci_get_string(out->message, "ack_status");
	out->transaction_id = dci_get_string(out->message, "transaction_id");
	out->correlation_id = dci_get_string(out->message, "correlation_id");
	items = cj_get(out->message, "search_response");
	/* one item sent as an object rather than a one-element array */
	if (cj_typeof(items) == CJ_ARRAY || cj_typeof(items) == CJ_OBJECT)
		out->items = items;
}

void
dci_response_view(const cj_node *header, const cj_node *message, dci_response *out)
{
	memset(out, 0, sizeof(*out));
	out->header = cj_typeof(header) == CJ_OBJECT ? header : NULL;
	out->message = cj_typeof(message) == CJ_OBJECT ? message : NULL;
	fill_fields(out);
}

/* Reason code of an error body, in any of the shapes registries send. */
static void
read_error_body(dci_response *r)
{
	const cj_node *e = get_obj(r->message, "error");

	if (e == NULL)
		e = get_obj(r->root, "error");
	if (e == NULL)
	{
		const cj_node *first = cj_array_get(cj_get(r->root, "errors"), 0);

		if (cj_typeof(first) == CJ_OBJECT)
			e = first;
	}
	if (e == NULL)
		return;
	if (r->reason_code == NULL)
		r->reason_code = dci_get_text(e, "code");
	if (r->reason_message == NULL)
		r->reason_message = dci_get_string(e, "message");
}

cj_result
dci_response_parse(const char *body, size_t len, const cj_limits *lim,
				   dci_response *out, char *err, size_t errlen)
{
	cj_result	res;

	memset(out, 0, sizeof(*out));
	if (lim != NULL)
		out->limits = *lim;
	if (len == 0)
	{
		SETERR("empty response body");
		return CJ_ERR_TRUNCATED;
	}
	out->root = cj_parse_ex(body, len, &out->limits, &res, err, errlen);
	if (out->root == NULL)
		return res;
	if (cj_typeof(out->root) != CJ_OBJECT)
	{
		SETERR("response is JSON but not an object");
		dci_response_free(out);
		return CJ_ERR_SHAPE;
	}
	out->header = get_obj(out->root, "header");
	out->message = get_obj(out->root, "message");
	/* the header is what binds an answer to a question: no field of it may be cut short */
	if (cj_has_nul(out->header))
	{
		SETERR("response header holds U+0000");
		dci_response_free(out);
		return CJ_ERR_SHAPE;
	}
	fill_fields(out);
	read_error_body(out);
	return CJ_OK;
}

void
dci_response_free(dci_response *r)
{
	cj_free(r->root);
	memset(r, 0, sizeof(*r));
}

size_t
dci_response_nitems(const dci_response *r)
{
	return dci_records_len(r->items);
}

const cj_node *
dci_response_item_at(const dci_response *r, size_t i)
{
	return dci_records_get(r->items, i);
}

const char *
dci_item_reference_id(const cj_node *item)
{
	return dci_get_string(item, "reference_id");
}

/* item is the one with this reference_id. */
static int
ref_is(const cj_node *item, const char *reference_id)
{
	const char *ref = dci_item_reference_id(item);

	return ref != NULL && reference_id != NULL && strcmp(ref, reference_id) == 0;
}

const cj_node *
dci_response_item(const dci_response *r, const char *reference_id, size_t hint)
{
	size_t		n = dci_response_nitems(r);

	if (hint < n && ref_is(dci_response_item_at(r, hint), reference_id))
		return dci_response_item_at(r, hint);
	for (size_t i = 0; i < n; i++)
	{
		const cj_node *it = dci_response_item_at(r, i);

		if (ref_is(it, reference_id))
			return it;
	}
	return NULL;
}

const cj_node *
dci_response_first(const dci_response *r, const char *member)
{
	const cj_node *v = cj_get(r->message, member);

	if (cj_typeof(v) == CJ_OBJECT)
		return v;
	return cj_array_get(v, 0);
}

const cj_node *
dci_response_single_item(const dci_response *r)
{
	return dci_response_nitems(r) == 1 ? dci_response_item_at(r, 0) : NULL;
}

const char *
dci_item_status(const cj_node *item)
{
	return dci_get_string(item, "status");
}

const char *
dci_item_reason_code(const cj_node *item)
{
	return dci_get_text(item, "status_reason_code");
}

const char *
dci_item_reason_message(const cj_node *item)
{
	return dci_get_string(item, "status_reason_message");
}

const cj_node *
dci_item_records(const cj_node *item)
{
	return cj_get(get_obj(item, "data"), "reg_records");
}

size_t
dci_records_len(const cj_node *records)
{
	if (cj_typeof(records) == CJ_ARRAY)
		return cj_array_len(records);
	return cj_typeof(records) == CJ_OBJECT ? 1 : 0;
}

const cj_node *
dci_records_get(const cj_node *records, size_t i)
{
	if (cj_typeof(records) == CJ_ARRAY)
		return cj_array_get(records, i);
	return (i == 0 && cj_typeof(records) == CJ_OBJECT) ? records : NULL;
}

int
dci_item_total_count(const cj_node *item, long *out)
{
	return dci_get_long(get_obj(item, "pagination"), "total_count", out);
}

/* dci-ed25519: digest over the header as sent, then as OpenSPP re-serializes it. */
static dci_sig_result
verify_ed25519(const cj_node *root, const char *field, const dci_key *pub,
			   long now, long skew, char *err, size_t errlen)
{
	const cj_node *header = cj_get(root, "header");
	const cj_node *message = cj_get(root, "message");
	dci_sig_result res = DCI_SIG_ERROR;
	dbuf		canon;

	dbuf_init(&canon);
	/* about the size of the text the tree came from: no regrowth while emitting */
	if (dbuf_reserve(&canon, cj_memory(root)) != 0)
	{
		SETERR("out of memory while canonicalizing the response");
		return DCI_SIG_ERROR;
	}
	for (int normalize = 0; normalize <= 1; normalize++)
	{
		dbuf_reset(&canon);
		if (cj_canonical_envelope(header, message, normalize, &canon) != 0)
		{
			SETERR("out of memory while canonicalizing the response");
			res = DCI_SIG_ERROR;
			break;
		}
		res = dci_sig_verify(pub, field, canon.data, canon.len, now, skew,
							 NULL, 0, err, errlen);
		if (res != DCI_SIG_BAD)
			break;
	}
	dbuf_free(&canon);
	return res;
}

/* jws-rs256: the JWS payload must be the same JSON as {header, message}. */
static dci_sig_result
verify_jws(const cj_node *root, const char *jws, const dci_key *pub,
		   const cj_limits *lim, char *err, size_t errlen)
{
	dbuf		payload,
				a,
				b;
	dci_sig_result res;
	cj_node    *p;
	cj_result	pres;

	dbuf_init(&payload);
	dbuf_init(&a);
	dbuf_init(&b);
	res = dci_jws_verify(pub, jws, &payload, err, errlen);
	if (res == DCI_SIG_OK)
	{
		p = cj_parse_ex(payload.data, payload.len, lim, &pres, err, errlen);
		if (p == NULL)
			res = pres == CJ_ERR_NOMEM ? DCI_SIG_ERROR : DCI_SIG_MALFORMED;
		else
		{
			if (cj_canonical_envelope(cj_get(p, "header"), cj_get(p, "message"), 0, &a) != 0 ||
				cj_canonical_envelope(cj_get(root, "header"), cj_get(root, "message"), 0, &b) != 0)
			{
				SETERR("out of memory while canonicalizing the response");
				res = DCI_SIG_ERROR;
			}
			else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			{
				SETERR("JWS payload differs from the envelope");
				res = DCI_SIG_BAD;
			}
			cj_free(p);
		}
	}
	dbuf_free(&payload);
	dbuf_free(&a);
	dbuf_free(&b);
	return res;
}

dci_sig_result
dci_verify_parsed(const dci_response *r, dci_signing_mode mode,
				  const dci_key *pub, long now, long skew,
				  char *err, size_t errlen)
{
	const cj_node *sig = cj_get(r->root, "signature");
	size_t		len;
	const char *field = cj_str(sig, &len);

	if (r->root == NULL)
	{
		SETERR("no response");
		return DCI_SIG_MALFORMED;
	}
	if (cj_typeof(sig) == CJ_NULL || (field != NULL && len == 0))
	{
		SETERR("response carries no signature");
		return DCI_SIG_MISSING;
	}
	if (field == NULL)
	{
		SETERR("response signature is not a string");
		return DCI_SIG_MALFORMED;
	}
	/* the field's text must be all there is: a NUL would hide the rest */
	if (cj_has_nul(sig))
	{
		SETERR("response signature holds U+0000");
		return DCI_SIG_MALFORMED;
	}
	if (mode == DCI_SIGN_JWS_RS256)
		return verify_jws(r->root, field, pub, &r->limits, err, errlen);
	return verify_ed25519(r->root, field, pub, now, skew, err, errlen);
}
