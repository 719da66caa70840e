/*
 * faults.c - per-request options and faults, from /opt/<list>/... (stateless,
 * so parallel tests never disturb each other), and small reply helpers.
 */
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

int
opts_parse(const char *list, size_t len, opts *o, char *err, size_t errlen)
{
	char		buf[1024];
	char	   *save = NULL;

	memset(o, 0, sizeof(*o));
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
		long		n;

		if (val)
			*val++ = '\0';
#define FLAG(name, field) if (strcmp(tok, name) == 0 && !val) { o->field = true; continue; }
		FLAG("nosig", nosig);
		FLAG("noauth", noauth);
		FLAG("unsigned", unsigned_);
		FLAG("html", html);
		FLAG("htmlok", htmlok);
		FLAG("truncate", truncate);
		FLAG("badsig", badsig);
		FLAG("expiredsig", expiredsig);
		FLAG("futuresig", futuresig);
		FLAG("401", always401);
		FLAG("notfound-rjct", notfound_rjct);
		FLAG("single", single);
		FLAG("strcount", strcount);
		FLAG("status202", status202);
		FLAG("close", close);
		FLAG("redirect", redirect);
		FLAG("strexpiry", strexpiry);
		FLAG("sigrjct", sigrjct);
		FLAG("hdrrjct", hdrrjct);
		FLAG("lax", lax);
#undef FLAG
		if (strcmp(tok, "delay") == 0)
		{
			if (set_num(&n, val, 0, 600000, err, errlen, tok) < 0)
				return -1;
			o->delay_ms = (int) n;
		}
		else if (strcmp(tok, "status") == 0)
		{
			if (set_num(&n, val, 100, 599, err, errlen, tok) < 0)
				return -1;
			o->status = (int) n;
		}
		else if (strcmp(tok, "oversize") == 0)
		{
			if (set_num(&o->oversize, val, 1, 1L << 31, err, errlen, tok) < 0)
				return -1;
		}
		else if (strcmp(tok, "rjct") == 0)
		{
			if (set_code(o->rjct, sizeof(o->rjct), val, err, errlen, tok) < 0)
				return -1;
		}
		else if (strcmp(tok, "itemrjct") == 0)
		{
			if (set_code(o->itemrjct, sizeof(o->itemrjct), val, err, errlen, tok) < 0)
				return -1;
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
	}
	return 0;
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

void
faults_apply(const opts *o, reply *r)
{
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
}
