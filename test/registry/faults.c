/*
 * faults.c - per-request options and faults, from /opt/<list>/... (stateless,
 * so parallel tests never disturb each other), and small reply helpers.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static int
set_code(char *dst, size_t size, const char *val, char *err, size_t errlen, const char *name)
{
	if (val == NULL || *val == '\0' || strlen(val) >= size)
	{
		snprintf(err, errlen, "option %s needs a reason code (e.g. %s=rjct.filter.invalid)", name, name);
		return -1;
	}
	snprintf(dst, size, "%s", val);
	return 0;
}

static int
set_num(long *dst, const char *val, long lo, long hi, char *err, size_t errlen, const char *name)
{
	char	   *end;
	long		v;

	if (val == NULL || *val == '\0')
		goto bad;
	v = strtol(val, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		goto bad;
	*dst = v;
	return 0;
bad:
	snprintf(err, errlen, "option %s needs a number in %ld..%ld", name, lo, hi);
	return -1;
}

static int
set_text(char *dst, size_t size, const char *val, char *err, size_t errlen, const char *name,
		 const char *example)
{
	if (val == NULL || *val == '\0' || strlen(val) >= size)
	{
		snprintf(err, errlen, "option %s needs a value (e.g. %s=%s)", name, name, example);
		return -1;
	}
	snprintf(dst, size, "%s", val);
	return 0;
}

static const struct
{
	const char *name;
	size_t		offset;
}			flags[] = {
#define F(n, f) {n, offsetof(opts, f)}
	F("nosig", nosig), F("noauth", noauth), F("lax", lax), F("notfound-rjct", notfound_rjct),
	F("single", single), F("strcount", strcount), F("strexpiry", strexpiry),
	F("html", html), F("htmlok", htmlok), F("truncate", truncate), F("401", always401),
	F("redirect", redirect), F("status202", status202), F("close", close), F("reset", reset),
	F("resetbody", resetbody), F("unsigned", unsigned_), F("badsig", badsig),
	F("expiredsig", expiredsig), F("futuresig", futuresig), F("sigrjct", sigrjct),
	F("hdrrjct", hdrrjct), F("noheader", noheader), F("rcvd", rcvd), F("ignorepage", ignorepage),
	F("ocrvsheader", ocrvsheader),
	F("wrongtxn", wrongtxn), F("notxn", notxn), F("wrongreceiver", wrongreceiver),
	F("wrongref", wrongref), F("replay", replay), F("badutf8", badutf8), F("nul", nul),
	F("numambig", numambig), F("bigint", bigint), F("crlftoken", crlftoken),
	F("ack200", ack200), F("acknack", acknack), F("cbbadsig", cbbadsig), F("cbdup", cbdup),
	F("cbpartial", cbpartial), F("cbunknown", cbunknown), F("cbnone", cbnone),
#undef F
};

static int
parse_one(opts *o, const char *tok, const char *val, char *err, size_t errlen)
{
	long		n;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(tok, flags[i].name) == 0 && val == NULL)
		{
			*(bool *) ((char *) o + flags[i].offset) = true;
			return 0;
		}
	if (strcmp(tok, "delay") == 0 || strcmp(tok, "cbdelay") == 0)
	{
		if (set_num(&n, val, 0, 600000, err, errlen, tok) < 0)
			return -1;
		*(tok[0] == 'd' ? &o->delay_ms : &o->cbdelay_ms) = (int) n;
	}
	else if (strcmp(tok, "drip") == 0)
	{
		if (set_num(&n, val, 1, 60000, err, errlen, tok) < 0)
			return -1;
		o->drip_ms = (int) n;
	}
	else if (strcmp(tok, "status") == 0)
	{
		if (set_num(&n, val, 100, 599, err, errlen, tok) < 0)
			return -1;
		o->status = (int) n;
	}
	else if (strcmp(tok, "retryafter") == 0)
	{
		if (set_num(&o->retry_after, val, 0, 1L << 31, err, errlen, tok) < 0)
			return -1;
		o->has_retry_after = true;
	}
	else if (strcmp(tok, "ratebody") == 0 || strcmp(tok, "ratebodyday") == 0 ||
			 strcmp(tok, "ratetop") == 0)
	{
		if (set_num(&o->rate_after, val, 0, 1L << 31, err, errlen, tok) < 0)
			return -1;
		o->rate_body = strcmp(tok, "ratebody") == 0 ? RATE_MINUTE :
			strcmp(tok, "ratetop") == 0 ? RATE_TOP : RATE_DAY;
	}
	else if (strcmp(tok, "oversize") == 0)
		return set_num(&o->oversize, val, 1, 1L << 31, err, errlen, tok);
	else if (strcmp(tok, "failfirst") == 0)
		return set_num(&o->failfirst, val, 0, 1L << 31, err, errlen, tok);
	else if (strcmp(tok, "nest") == 0 || strcmp(tok, "flat") == 0)
		return set_num(tok[0] == 'n' ? &o->nest : &o->flat, val, 1, 1L << 31, err, errlen, tok);
	else if (strcmp(tok, "rjct") == 0 || strcmp(tok, "itemrjct") == 0 ||
			 strcmp(tok, "ackerr") == 0 || strcmp(tok, "subrjct") == 0)
	{
		char	   *dst = tok[0] == 'r' ? o->rjct : tok[0] == 'i' ? o->itemrjct :
			tok[0] == 'a' ? o->ackerr : o->subrjct;

		return set_code(dst, sizeof(o->rjct), val, err, errlen, tok);
	}
	else if (strcmp(tok, "key") == 0)
		return set_text(o->key, sizeof(o->key), val, err, errlen, tok, "retry-test-1");
	else if (strcmp(tok, "idtypes") == 0)
		return set_text(o->idtypes, sizeof(o->idtypes), val, err, errlen, tok, "BRN+NID");
	else if (strcmp(tok, "otherperson") == 0)
	{
		if (set_text(o->otherperson, sizeof(o->otherperson), val, err, errlen, tok, "UIN:1000000901") < 0)
			return -1;
		if (strchr(o->otherperson, ':') == NULL)
		{
			snprintf(err, errlen, "option otherperson needs TYPE:VALUE (e.g. otherperson=UIN:1000000901)");
			return -1;
		}
	}
	else if (strcmp(tok, "sign") == 0 && val && strcmp(val, "jws") == 0)
		o->scheme = SCHEME_JWS;
	else if (strcmp(tok, "sign") == 0 && val && strcmp(val, "ed25519") == 0)
		o->scheme = SCHEME_ED25519;
	else
	{
		snprintf(err, errlen, "unknown option \"%s%s%s\" (see test/registry/README.md)",
				 tok, val ? "=" : "", val ? val : "");
		return -1;
	}
	return 0;
}

int
opts_parse(const char *list, size_t len, opts *o, char *err, size_t errlen)
{
	char		buf[1024];
	char	   *save = NULL;

	memset(o, 0, sizeof(*o));
	o->cbdelay_ms = -1;
	if (len >= sizeof(buf))
	{
		snprintf(err, errlen, "option list too long");
		return -1;
	}
	memcpy(buf, list, len);
	buf[len] = '\0';
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *val = strchr(tok, '=');

		if (val)
			*val++ = '\0';
		if (parse_one(o, tok, val, err, errlen) < 0)
			return -1;
	}
	if (o->failfirst && !o->key[0])
	{
		snprintf(err, errlen, "option failfirst needs key=K too (the counter's name)");
		return -1;
	}
	return 0;
}

void
opts_strip_faults(opts *o)
{
	opts		keep;

	memset(&keep, 0, sizeof(keep));
	keep.nosig = o->nosig;
	keep.noauth = o->noauth;
	keep.lax = o->lax;
	keep.notfound_rjct = o->notfound_rjct;
	keep.single = o->single;
	keep.strcount = o->strcount;
	keep.strexpiry = o->strexpiry;
	keep.scheme = o->scheme;
	keep.ack200 = o->ack200;
	keep.cbdelay_ms = o->cbdelay_ms;
	memcpy(keep.idtypes, o->idtypes, sizeof(keep.idtypes));
	memcpy(keep.key, o->key, sizeof(keep.key));
	keep.failfirst = o->failfirst;
	*o = keep;
}

bool
opts_replaces_answer(const opts *o)
{
	return o->status || o->html || o->htmlok || o->redirect || o->rate_body || o->reset;
}

bool
opts_streamed(const opts *o)
{
	return o->nest > 0 || o->flat > 0 || o->numambig;
}

void
reply_reset(reply *r)
{
	dbuf		body = r->body;

	if (r->stream)
	{
		vbody_free(r->stream);
		free(r->stream);
	}
	memset(r, 0, sizeof(*r));
	r->body = body;
	dbuf_reset(&r->body);
}

void
reply_json(reply *r, int status, const char *json)
{
	r->status = status;
	r->ctype = "application/json";
	dbuf_reset(&r->body);
	dbuf_puts(&r->body, json);
}

/* OpenSPP's error body (spp_dci_server/middleware/signature.py, DCIHTTPException). */
void
reply_error(reply *r, int status, const char *code, const char *message)
{
	char		ts[21],
				id[37];

	format_ts(time(NULL), ts);
	uuid_v4(id);
	r->status = status;
	r->ctype = "application/json";
	dbuf_reset(&r->body);
	dbuf_puts(&r->body, "{\"message\":{\"ack_status\":\"ERR\",\"correlation_id\":");
	jw_string(&r->body, id);
	dbuf_puts(&r->body, ",\"error\":{\"code\":");
	jw_string(&r->body, code);
	dbuf_puts(&r->body, ",\"message\":");
	jw_string(&r->body, message);
	dbuf_puts(&r->body, "},\"timestamp\":");
	jw_string(&r->body, ts);
	dbuf_puts(&r->body, "}}");
}

/*
 * OpenSPP's rate limiter raises FastAPI's HTTPException(429, detail={...}):
 * the body is {"detail": {...}} and there is no Retry-After header.
 */
void
reply_rate_limited(reply *r, int kind, long retry_after, const char *message)
{
	r->status = 429;
	r->ctype = "application/json";
	dbuf_reset(&r->body);
	if (kind == RATE_TOP)
		dbuf_printf(&r->body, "{\"retry_after\":%ld,\"error\":\"rate_limit_exceeded\"}", retry_after);
	else
	{
		dbuf_printf(&r->body, "{\"detail\":{\"error\":\"rate_limit_exceeded\",\"error_code\":\"%s\","
					"\"error_message\":", kind == RATE_DAY ? "RATE_LIMIT_PER_DAY" : "RATE_LIMIT_PER_MINUTE");
		jw_string(&r->body, message ? message : "Rate limit exceeded");
		dbuf_printf(&r->body, ",\"retry_after\":%ld}}", retry_after);
	}
}

static const char *
status_code_name(int status)
{
	switch (status)
	{
		case 400:
			return "err.request.bad";
		case 401:
			return "err.request.unauthorized";
		case 403:
			return "err.request.forbidden";
		case 404:
			return "err.request.not_found";
		case 408:
			return "err.request.timeout";
		case 429:
			return "err.request.too_many_requests";
		default:
			return status >= 500 ? "err.service.unavailable" : "err.request.bad";
	}
}

/* A fault replaces the body: any streamed one goes. */
static void
drop_stream(reply *r)
{
	if (r->stream)
	{
		vbody_free(r->stream);
		free(r->stream);
		r->stream = NULL;
	}
}

void
faults_apply(const opts *o, reply *r)
{
	if (o->truncate && r->stream)
	{
		dbuf_reset(&r->body);
		vbody_materialize(r->stream, &r->body);
	}
	if (o->redirect || o->status || o->html || o->htmlok || o->rate_body || o->truncate)
		drop_stream(r);
	if (o->redirect)
	{
		/* a working URL: a client that followed it would get an answer */
		reply_error(r, 302, "err.request.moved", "moved");
		r->location = "/crvs/registry/sync/search";
	}
	else if (o->status)
	{
		char		msg[64];

		snprintf(msg, sizeof(msg), "injected HTTP status %d", o->status);
		reply_error(r, o->status, status_code_name(o->status), msg);
	}
	else if (o->html)
	{
		r->status = 502;
		r->ctype = "text/html";
		dbuf_reset(&r->body);
		dbuf_puts(&r->body, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
				  "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
				  "</body>\r\n</html>\r\n");
	}
	else if (o->htmlok)
	{
		r->status = 200;
		r->ctype = "text/html; charset=utf-8";
		dbuf_reset(&r->body);
		dbuf_puts(&r->body, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
				  "<body><form method=\"post\" action=\"/login\"><input name=\"user\">"
				  "<input name=\"password\" type=\"password\"><button>Sign in</button></form>"
				  "</body></html>\n");
	}
	if (o->rate_body)
		reply_rate_limited(r, o->rate_body, o->rate_after, NULL);
	if (o->truncate && r->body.len > 1)
	{
		/* a cut body with a correct Content-Length: the client must not accept it as JSON */
		r->body.len /= 2;
		r->body.data[r->body.len] = '\0';
	}
	if (o->status202 && r->status == 200)
		r->status = 202;
	if (o->close)
		r->close = true;
	if (o->has_retry_after)
	{
		r->has_retry_after = true;
		r->retry_after = o->retry_after;
	}
	r->reset = r->reset || o->reset;
	r->reset_body = r->reset_body || o->resetbody;
	if (o->drip_ms)
		r->drip_ms = o->drip_ms;
}
