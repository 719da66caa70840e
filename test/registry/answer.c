/*
 * answer.c - signed DCI envelopes: the header, the signature (dci-ed25519
 * or compact JWS) and the body, for sync answers and for callbacks.
 *
 * Responses are written as canonical JSON text directly (jsonw.c), so the
 * text that is signed is the text that is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

resp_scheme
answer_scheme(const opts *o, const reg_view *v)
{
	if (o->scheme != SCHEME_DEFAULT)
		return o->scheme;
	return v && (v->kind == REG_OPENCRVS || v->kind == REG_OPENCRVS_DEATH) ? SCHEME_JWS : SCHEME_ED25519;
}

/*
 * The header OpenCRVS's DCI server writes (opencrvs/dci-crvs-api,
 * registrySyncSearchBuilder): the request's message_id, sender_id and
 * receiver_id copied as they came (not swapped), action "search",
 * total_count the number of records, a millisecond timestamp, no
 * completed_count, is_msg_encrypted or meta.
 */
static void
ocrvs_header(dbuf *h, const env_out *e)
{
	struct timespec ts;
	char		when[32];
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
	dbuf_puts(h, "{\"action\":\"search\",\"message_id\":");
	jw_string(h, e->echo_message_id ? e->echo_message_id : "");
	dbuf_puts(h, ",\"message_ts\":");
	jw_string(h, when);
	dbuf_puts(h, ",\"receiver_id\":");
	jw_string(h, e->echo_receiver ? e->echo_receiver : "");
	dbuf_puts(h, ",\"sender_id\":");
	jw_string(h, e->echo_sender ? e->echo_sender : "");
	dbuf_puts(h, ",\"status\":");
	jw_string(h, e->status);
	dbuf_puts(h, ",\"total_count\":");
	jw_count(h, e->total, e->o->strcount);
	dbuf_puts(h, ",\"version\":\"1.0.0\"}");
}

void
header_text(dbuf *h, const env_out *e, long pad)
{
	char		id[37],
				ts[21];
	bool		sc = e->o->strcount;

	if (e->o->ocrvsheader && e->echo_sender)
	{
		ocrvs_header(h, e);
		return;
	}
	if (e->message_id)
		snprintf(id, sizeof(id), "%s", e->message_id);
	else
		uuid_v4(id);
	format_ts(time(NULL), ts);
	dbuf_puts(h, "{\"action\":");
	jw_string(h, e->action);
	dbuf_puts(h, ",\"completed_count\":");
	jw_count(h, e->completed, sc);
	dbuf_puts(h, ",\"is_msg_encrypted\":false,\"message_id\":");
	jw_string(h, id);
	dbuf_puts(h, ",\"message_ts\":");
	jw_string(h, ts);
	dbuf_puts(h, ",\"meta\":{");
	if (pad > 0)
	{
		/* oversize: a long string in meta, so the answer stays a valid envelope */
		dbuf_puts(h, "\"padding\":\"");
		if (dbuf_reserve(h, pad + 2) == 0)
		{
			memset(h->data + h->len, 'x', pad);
			h->len += pad;
			h->data[h->len] = '\0';
		}
		dbuf_putc(h, '"');
	}
	dbuf_puts(h, "},\"receiver_id\":");
	jw_string(h, e->receiver);
	dbuf_puts(h, ",\"sender_id\":");
	jw_string(h, e->foreign ? REG_FOREIGN_SENDER : g_reg.sender_id);
	dbuf_puts(h, ",\"status\":");
	jw_string(h, e->status);
	if (e->reason_code)
	{
		dbuf_puts(h, ",\"status_reason_code\":");
		jw_string(h, e->reason_code);
		dbuf_puts(h, ",\"status_reason_message\":");
		jw_string(h, e->reason_msg ? e->reason_msg : e->reason_code);
	}
	dbuf_puts(h, ",\"total_count\":");
	jw_count(h, e->total, sc);
	dbuf_puts(h, ",\"version\":\"1.0.0\"}");
}

/* created/expires of a dci-ed25519 signature made now (expiredsig, futuresig). */
void
answer_sig_times(const opts *o, long *created, long *expires)
{
	long		now = (long) time(NULL);

	*created = o->expiredsig ? now - 3600 - REG_SIG_VALIDITY : o->futuresig ? now + 600 : now;
	*expires = *created + REG_SIG_VALIDITY;
}

/* The key that signs e (ours, or one nobody knows: cbunknown) and its kid. */
EVP_PKEY *
answer_key(const env_out *e, const char **kid)
{
	if (e->foreign)
		return foreign_key(e->scheme == SCHEME_JWS ? KEY_RS256 : KEY_ED25519, kid);
	*kid = e->scheme == SCHEME_JWS ? g_reg.rsa_kid : g_reg.ed_kid;
	return e->scheme == SCHEME_JWS ? g_reg.rsa_key : g_reg.ed_key;
}

/* The signature field of canonical text canon, per e's scheme and faults. */
int
answer_sign(const env_out *e, const char *canon, size_t len, dbuf *sig)
{
	bool		corrupt = e->o->badsig || e->corrupt;
	const char *kid;
	EVP_PKEY   *key = answer_key(e, &kid);
	long		created,
				expires;

	if (key == NULL)
		return -1;
	if (e->scheme == SCHEME_JWS)
		return sig_jws_sign(key, kid, canon, len, corrupt, sig);
	answer_sig_times(e->o, &created, &expires);
	return sig_ed25519_field(key, kid, canon, len, created, expires, corrupt, sig);
}

/* One attempt: header with pad bytes of padding, signature, whole body. */
static int
envelope_build(const env_out *e, const char *msg, size_t msglen, long pad, reply *r)
{
	const opts *o = e->o;
	dbuf		h,
				canon,
				sig;
	int			rc = 0;

	dbuf_init(&h);
	dbuf_init(&canon);
	dbuf_init(&sig);
	if (o->noheader)
		dbuf_puts(&canon, "{\"message\":");
	else
	{
		header_text(&h, e, pad);
		dbuf_puts(&canon, "{\"header\":");
		dbuf_append(&canon, h.data, h.len);
		dbuf_puts(&canon, ",\"message\":");
	}
	dbuf_append(&canon, msg, msglen);
	dbuf_putc(&canon, '}');
	if (!o->unsigned_)
		rc = answer_sign(e, canon.data, canon.len, &sig);
	dbuf_reset(&r->body);
	if (rc == 0)
	{
		/* {"header":H,"message":M,"signature":S}: canon without its closing brace */
		dbuf_append(&r->body, canon.data, canon.len - 1);
		if (!o->unsigned_)
		{
			dbuf_puts(&r->body, ",\"signature\":");
			jw_string_n(&r->body, sig.data, sig.len);
		}
		dbuf_putc(&r->body, '}');
		r->status = 200;
		r->ctype = "application/json";
	}
	dbuf_free(&h);
	dbuf_free(&canon);
	dbuf_free(&sig);
	return rc;
}

void
envelope_finish(const env_out *e, dbuf *msg, reply *r)
{
	long		target = e->o->oversize;
	long		pad = 0;

	if (opts_streamed(e->o))
	{
		/* placeholders in msg: the hostile records are expanded while streaming */
		dbuf		canon,
					h;

		dbuf_init(&canon);
		dbuf_init(&h);
		if (e->o->noheader)
			dbuf_puts(&canon, "{\"message\":");
		else
		{
			header_text(&h, e, 0);
			dbuf_puts(&canon, "{\"header\":");
			dbuf_append(&canon, h.data, h.len);
			dbuf_puts(&canon, ",\"message\":");
		}
		dbuf_append(&canon, msg->data, msg->len);
		dbuf_putc(&canon, '}');
		if (hostile_envelope(e, &canon, r) < 0)
			reply_error(r, 500, "err.service.unavailable", "cannot build the streamed answer");
		dbuf_free(&canon);
		dbuf_free(&h);
		return;
	}
	for (int i = 0; i < 6; i++)
	{
		long		next;

		if (envelope_build(e, msg->data, msg->len, pad, r) < 0)
		{
			reply_error(r, 500, "err.service.unavailable", "cannot sign the response");
			return;
		}
		if (target <= 0 || (long) r->body.len == target)
			return;
		/* a JWS carries the padding twice (payload in base64): converge in steps */
		next = pad + (target - (long) r->body.len) * (e->scheme == SCHEME_JWS ? 3 : 7) / 7;
		if (next < 0)
			next = 0;
		if (next == pad)
			return;
		pad = next;
	}
}

/* Message of a header-only rejection: no search_response. */
static void
message_bare(dbuf *m, const char *transaction_id)
{
	char		corr[37];

	uuid_v4(corr);
	dbuf_puts(m, "{\"correlation_id\":");
	jw_string(m, corr);
	dbuf_puts(m, ",\"transaction_id\":");
	jw_string(m, transaction_id);
	dbuf_putc(m, '}');
}

void
reject_envelope(const request *rq, const char *action, const char *receiver,
				const char *txn, const char *code, const char *why, long total, reply *r)
{
	env_out		e = {0};
	dbuf		m;

	e.o = rq->o;
	e.scheme = answer_scheme(rq->o, rq->view);
	e.action = action;
	e.status = "rjct";
	e.reason_code = code;
	e.reason_msg = why;
	e.total = total;
	e.receiver = receiver;
	dbuf_init(&m);
	message_bare(&m, txn);
	envelope_finish(&e, &m, r);
	dbuf_free(&m);
}

/* The transaction_id an answer echoes: the request's, another (wrongtxn) or none (notxn). */
const char *
answer_txn(const opts *o, const char *txn, char buf[37])
{
	if (o->notxn)
		return NULL;
	if (o->wrongtxn)
	{
		uuid_v4(buf);
		return buf;
	}
	return txn ? txn : "";
}

/* The receiver_id of an answer: the requester, or some other sender (wrongreceiver). */
const char *
answer_receiver(const opts *o, const char *sender)
{
	return o->wrongreceiver ? REG_OTHER_RECEIVER : sender;
}
