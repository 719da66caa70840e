/*
 * envelope.c - build DCI request envelopes, parse and verify responses.
 *
 * See envelope.h.  Key order in every object written here is code-point
 * order, so the text is canonical as written.
 */
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <json-c/json.h>

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

/* One search_request item; the query is canonicalized from any JSON text. */
static int
write_search_item(dbuf *b, const dci_search_item *it, long now,
				  char *err, size_t errlen)
{
	char		ts[21];
	int			rc = 0;

	dci_format_ts(now, ts);
	rc |= dbuf_putc(b, '{');
	if (it->locale)
	{
		rc |= dbuf_puts(b, "\"locale\":");
		rc |= dci_json_string(b, it->locale);
		rc |= dbuf_putc(b, ',');
	}
	rc |= dbuf_puts(b, "\"reference_id\":");
	rc |= dci_json_string(b, it->reference_id);
	rc |= dbuf_puts(b, ",\"search_criteria\":{");
	if (it->page_size > 0)
		rc |= dbuf_printf(b, "\"pagination\":{\"page_number\":%d,\"page_size\":%d},",
						  it->page_number > 0 ? it->page_number : 1, it->page_size);
	rc |= dbuf_puts(b, "\"query\":");
	if (rc)
		return -1;
	if (cj_canonicalize(it->query_json, it->query_len, b, err, errlen) != 0)
		return -1;
	rc |= dbuf_puts(b, ",\"query_type\":");
	rc |= dci_json_string(b, it->query_type);
	if (it->reg_event_type)
	{
		rc |= dbuf_puts(b, ",\"reg_event_type\":");
		rc |= dci_json_string(b, it->reg_event_type);
	}
	if (it->reg_type)
	{
		rc |= dbuf_puts(b, ",\"reg_type\":");
		rc |= dci_json_string(b, it->reg_type);
	}
	rc |= dbuf_puts(b, ",\"version\":\"" DCI_PROTOCOL_VERSION "\"},\"timestamp\":");
	rc |= dci_json_string(b, ts);
	rc |= dbuf_putc(b, '}');
	if (rc)
		SETERR("out of memory");
	return rc ? -1 : 0;
}

/*
 * Wrap canonical {"header":H,"message":M} (in env, without the outer
 * braces' signature) into the body, signing it as the signer says.
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
			return dbuf_append(body, env->data, env->len);
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

int
dci_build_search(const dci_header *h, const char *transaction_id,
				 const dci_search_item *items, int nitems,
				 const dci_signer *signer, dbuf *body,
				 char *err, size_t errlen)
{
	dbuf		env;
	int			rc = 0;

	dbuf_init(&env);
	rc |= dbuf_puts(&env, "{\"header\":");
	rc |= write_header(&env, h);
	rc |= dbuf_puts(&env, ",\"message\":");
	if (rc)
		SETERR("out of memory");
	else if (dci_search_message(transaction_id, items, nitems, h->message_ts, &env, err, errlen) != 0)
		rc = -1;
	else if (dbuf_putc(&env, '}') != 0)
	{
		rc = -1;
		SETERR("out of memory");
	}
	if (rc == 0)
		rc = finish_body(&env, signer, h->message_ts, body, err, errlen);
	dbuf_free(&env);
	return rc ? -1 : 0;
}

int
dci_search_message(const char *transaction_id, const dci_search_item *items, int nitems,
				   long now, dbuf *out, char *err, size_t errlen)
{
	int			rc = 0;

	if (dbuf_puts(out, "{\"search_request\":[") != 0)
	{
		SETERR("out of memory");
		return -1;
	}
	for (int i = 0; i < nitems; i++)
	{
		if (i > 0 && dbuf_putc(out, ',') != 0)
		{
			SETERR("out of memory");
			return -1;
		}
		if (write_search_item(out, &items[i], now, err, errlen) != 0)
			return -1;
	}
	rc |= dbuf_puts(out, "],\"transaction_id\":");
	rc |= dci_json_string(out, transaction_id);
	rc |= dbuf_putc(out, '}');
	if (rc)
		SETERR("out of memory");
	return rc ? -1 : 0;
}

int
dci_build_request(const dci_header *h, const char *message_json,
				  size_t message_len, const dci_signer *signer,
				  dbuf *body, char *err, size_t errlen)
{
	dbuf		env;
	int			rc = 0;

	dbuf_init(&env);
	rc |= dbuf_puts(&env, "{\"header\":");
	rc |= write_header(&env, h);
	rc |= dbuf_puts(&env, ",\"message\":");
	if (rc)
		SETERR("out of memory");
	else if (cj_canonicalize(message_json, message_len, &env, err, errlen) != 0)
		rc = -1;
	else if (dbuf_putc(&env, '}') != 0)
	{
		rc = -1;
		SETERR("out of memory");
	}
	if (rc == 0)
		rc = finish_body(&env, signer, h->message_ts, body, err, errlen);
	dbuf_free(&env);
	return rc ? -1 : 0;
}

/* ---- responses ---- */

const char *
dci_json_get_string(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, key, &v) || v == NULL ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
dci_json_get_long(json_object *o, const char *key, long *out)
{
	json_object *v;
	const char *s;
	char	   *end;
	long		n;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, key, &v) || v == NULL)
		return -1;
	switch (json_object_get_type(v))
	{
		case json_type_int:
			*out = (long) json_object_get_int64(v);
			return 0;
		case json_type_double:
			*out = (long) json_object_get_double(v);
			return 0;
		case json_type_string:
			s = json_object_get_string(v);
			n = strtol(s, &end, 10);
			if (end == s || *end != '\0')
				return -1;
			*out = n;
			return 0;
		default:
			return -1;
	}
}

json_object *
dci_json_get(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

void
dci_response_view(json_object *header, json_object *message, dci_response *out)
{
	json_object *items = dci_json_get(message, "search_response");

	memset(out, 0, sizeof(*out));
	out->header = json_object_is_type(header, json_type_object) ? header : NULL;
	out->message = json_object_is_type(message, json_type_object) ? message : NULL;
	out->status = dci_json_get_string(out->header, "status");
	out->reason_code = dci_json_get_string(out->header, "status_reason_code");
	out->reason_message = dci_json_get_string(out->header, "status_reason_message");
	if (items && (json_object_is_type(items, json_type_array) ||
				  json_object_is_type(items, json_type_object)))
		out->items = items;
}

json_object *
dci_json_get_object(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, key, &v) || v == NULL ||
		!json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* Reason code of an error body, in any of the shapes registries send. */
static void
read_error_body(dci_response *r)
{
	json_object *e = dci_json_get_object(dci_json_get_object(r->root, "message"), "error");
	json_object *errs;

	if (e == NULL)
		e = dci_json_get_object(r->root, "error");
	if (e == NULL && json_object_object_get_ex(r->root, "errors", &errs) &&
		json_object_is_type(errs, json_type_array) &&
		json_object_array_length(errs) > 0 &&
		json_object_is_type(json_object_array_get_idx(errs, 0), json_type_object))
		e = json_object_array_get_idx(errs, 0);
	if (e == NULL)
		return;
	if (r->reason_code == NULL)
	{
		json_object *c;

		if (json_object_object_get_ex(e, "code", &c) && c != NULL &&
			(json_object_is_type(c, json_type_string) || json_object_is_type(c, json_type_int)))
			r->reason_code = json_object_get_string(c);
	}
	if (r->reason_message == NULL)
		r->reason_message = dci_json_get_string(e, "message");
}

int
dci_response_parse(const char *body, size_t len, dci_response *out,
				   char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *root;
	enum json_tokener_error jerr;
	json_object *items;

	memset(out, 0, sizeof(*out));
	if (len == 0)
	{
		SETERR("empty response body");
		return -1;
	}
	tok = json_tokener_new_ex(64);
	if (tok == NULL)
	{
		SETERR("out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, body, (int) len);
	jerr = json_tokener_get_error(tok);
	if (root != NULL && jerr == json_tokener_success &&
		json_tokener_get_parse_end(tok) < len)
	{
		/* trailing bytes after the value: allow whitespace only */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t')
			{
				jerr = json_tokener_error_parse_unexpected;
				break;
			}
	}
	json_tokener_free(tok);
	if (root == NULL || jerr != json_tokener_success)
	{
		json_object_put(root);
		SETERR("response is not JSON (%s)",
			   jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr));
		return -1;
	}
	if (!json_object_is_type(root, json_type_object))
	{
		json_object_put(root);
		SETERR("response is JSON but not an object");
		return -1;
	}
	out->root = root;
	out->header = dci_json_get_object(root, "header");
	out->message = dci_json_get_object(root, "message");
	out->status = dci_json_get_string(out->header, "status");
	out->reason_code = dci_json_get_string(out->header, "status_reason_code");
	out->reason_message = dci_json_get_string(out->header, "status_reason_message");
	out->ack_status = dci_json_get_string(out->message, "ack_status");
	if (out->message && json_object_object_get_ex(out->message, "search_response", &items) &&
		items != NULL)
	{
		/* one item sent as an object rather than a one-element array */
		if (json_object_is_type(items, json_type_array) ||
			json_object_is_type(items, json_type_object))
			out->items = items;
	}
	read_error_body(out);
	return 0;
}

void
dci_response_free(dci_response *r)
{
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}

json_object *
dci_response_item(const dci_response *r, const char *reference_id, size_t hint)
{
	size_t		n;

	if (r->items == NULL)
		return NULL;
	if (json_object_is_type(r->items, json_type_object))
	{
		const char *ref = dci_json_get_string(r->items, "reference_id");

		return (ref && strcmp(ref, reference_id) == 0) ? r->items : NULL;
	}
	n = json_object_array_length(r->items);
	if (hint < n)
	{
		json_object *it = json_object_array_get_idx(r->items, hint);
		const char *ref = dci_json_get_string(it, "reference_id");

		if (ref && strcmp(ref, reference_id) == 0)
			return it;
	}
	for (size_t i = 0; i < n; i++)
	{
		json_object *it = json_object_array_get_idx(r->items, i);
		const char *ref = dci_json_get_string(it, "reference_id");

		if (ref && strcmp(ref, reference_id) == 0)
			return it;
	}
	return NULL;
}

size_t
dci_response_items_len(const dci_response *r)
{
	if (r->items == NULL)
		return 0;
	if (json_object_is_type(r->items, json_type_object))
		return 1;
	return json_object_array_length(r->items);
}

json_object *
dci_response_item_at(const dci_response *r, size_t i)
{
	if (r->items == NULL)
		return NULL;
	if (json_object_is_type(r->items, json_type_object))
		return i == 0 ? r->items : NULL;
	return i < json_object_array_length(r->items) ? json_object_array_get_idx(r->items, i) : NULL;
}

json_object *
dci_response_first(const dci_response *r, const char *member)
{
	json_object *v;

	if (r->message == NULL || !json_object_object_get_ex(r->message, member, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object))
		return v;
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return json_object_array_get_idx(v, 0);
	return NULL;
}

json_object *
dci_response_single_item(const dci_response *r)
{
	if (r->items == NULL)
		return NULL;
	if (json_object_is_type(r->items, json_type_object))
		return r->items;
	return json_object_array_length(r->items) == 1 ? json_object_array_get_idx(r->items, 0) : NULL;
}

json_object *
dci_json_parse(const char *text)
{
	return json_tokener_parse(text);
}

void
dci_json_put(json_object *o)
{
	json_object_put(o);
}

const char *
dci_json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

const char *
dci_item_status(json_object *item)
{
	return dci_json_get_string(item, "status");
}

const char *
dci_item_reason_code(json_object *item)
{
	return dci_json_get_string(item, "status_reason_code");
}

const char *
dci_item_reason_message(json_object *item)
{
	return dci_json_get_string(item, "status_reason_message");
}

json_object *
dci_item_records(json_object *item)
{
	json_object *data = dci_json_get_object(item, "data");
	json_object *recs;

	if (data == NULL || !json_object_object_get_ex(data, "reg_records", &recs))
		return NULL;
	return recs;
}

size_t
dci_records_len(json_object *records)
{
	if (records == NULL)
		return 0;
	if (json_object_is_type(records, json_type_array))
		return json_object_array_length(records);
	return json_object_is_type(records, json_type_object) ? 1 : 0;
}

json_object *
dci_records_get(json_object *records, size_t i)
{
	if (records == NULL)
		return NULL;
	if (json_object_is_type(records, json_type_array))
		return i < json_object_array_length(records) ? json_object_array_get_idx(records, i) : NULL;
	return (i == 0 && json_object_is_type(records, json_type_object)) ? records : NULL;
}

long
dci_item_total_count(json_object *item)
{
	long		n;

	if (dci_json_get_long(dci_json_get_object(item, "pagination"), "total_count", &n) == 0)
		return n;
	return -1;
}

/* dci-ed25519: digest over the header as sent, then as OpenSPP re-serializes it. */
static dci_sig_result
verify_ed25519(const cj_node *root, const char *field, const dci_key *pub,
			   long now, long skew, char *err, size_t errlen)
{
	const cj_node *header = cj_get(root, "header");
	const cj_node *message = cj_get(root, "message");
	dci_sig_result res = DCI_SIG_ERROR;

	for (int normalize = 0; normalize <= 1; normalize++)
	{
		dbuf		canon;

		dbuf_init(&canon);
		if (cj_canonical_envelope(header, message, normalize, &canon) != 0)
		{
			dbuf_free(&canon);
			SETERR("cannot canonicalize response");
			return DCI_SIG_ERROR;
		}
		res = dci_sig_verify(pub, field, canon.data, canon.len, now, skew,
							 NULL, 0, err, errlen);
		dbuf_free(&canon);
		if (res != DCI_SIG_BAD)
			break;
	}
	return res;
}

/* jws-rs256: the JWS payload must be the same JSON as {header, message}. */
static dci_sig_result
verify_jws(const cj_node *root, const char *jws, const dci_key *pub,
		   char *err, size_t errlen)
{
	dbuf		payload,
				a,
				b;
	dci_sig_result res;
	cj_node    *p;

	dbuf_init(&payload);
	dbuf_init(&a);
	dbuf_init(&b);
	res = dci_jws_verify(pub, jws, &payload, err, errlen);
	if (res == DCI_SIG_OK)
	{
		p = cj_parse(payload.data, payload.len, err, errlen);
		if (p == NULL)
			res = DCI_SIG_MALFORMED;
		else
		{
			if (cj_canonical_envelope(cj_get(p, "header"), cj_get(p, "message"), 0, &a) != 0 ||
				cj_canonical_envelope(cj_get(root, "header"), cj_get(root, "message"), 0, &b) != 0)
				res = DCI_SIG_ERROR;
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
dci_verify_response(const char *body, size_t len, dci_signing_mode mode,
					const dci_key *pub, long now, long skew,
					char *err, size_t errlen)
{
	cj_node    *root;
	const char *field;
	dci_sig_result res;

	root = cj_parse(body, len, err, errlen);
	if (root == NULL)
		return DCI_SIG_MALFORMED;
	field = cj_string(cj_get(root, "signature"));
	if (field == NULL || field[0] == '\0')
	{
		SETERR("response carries no signature");
		res = DCI_SIG_MISSING;
	}
	else if (mode == DCI_SIGN_JWS_RS256)
		res = verify_jws(root, field, pub, err, errlen);
	else
		res = verify_ed25519(root, field, pub, now, skew, err, errlen);
	cj_free(root);
	return res;
}
