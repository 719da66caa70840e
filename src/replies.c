/*
 * replies.c - OAuth2 token answers and retry hints (see replies.h).
 */
#include "replies.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canonjson.h"

#define SETERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

/* These bodies are a handful of members: anything much bigger is not one. */
static const cj_limits small_limits = {4096, 16};

int
dci_is_b64token(const char *s, size_t len)
{
	size_t		i = 0;

	/* 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
					   (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i]) != NULL) && s[i] != '\0')
		i++;
	if (i == 0)
		return 0;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

/*
 * Seconds from a number or a numeric string (no NUL, blanks around
 * allowed), rounded down or up, at most max: 1 ok, 0 absent or null, -1 not
 * a number of seconds (negative, "soon", NaN, hex..., or beyond a long).
 */
static int
read_seconds(const cj_node *v, int round_up, long max, long *out)
{
	const char *s;
	char	   *end;
	double		d;

	if (cj_typeof(v) == CJ_NULL)
		return 0;
	if (cj_typeof(v) == CJ_NUMBER)
		s = cj_number(v, NULL);
	else if (cj_typeof(v) == CJ_STRING && !cj_has_nul(v))
		s = cj_string(v);
	else
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	/* decimal only: strtod would also take "inf", "nan" and hex */
	if (!(*s >= '0' && *s <= '9') && !(*s == '+' && s[1] >= '0' && s[1] <= '9'))
		return -1;
	for (end = (char *) s; *end; end++)
		if (!((*end >= '0' && *end <= '9') || *end == '.' || *end == 'e' || *end == 'E' ||
			  *end == '+' || *end == '-' || *end == ' ' || *end == '\t'))
			return -1;
	d = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == s || *end != '\0' || !(d >= 0))
		return -1;
	d = round_up ? ceil(d) : floor(d);
	/* beyond a long is refused, never clamped; within it, our own bound applies */
	if (d >= 9.2e18)
		return -1;
	*out = d > (double) max ? max : (long) d;
	return 1;
}

/* A string member without U+0000, copied; NULL when absent or not one (*bad set when present). */
static char *
copy_string(const cj_node *obj, const char *key, int *bad)
{
	const cj_node *v = cj_get(obj, key);
	char	   *s;

	if (v == NULL || cj_typeof(v) == CJ_NULL)
		return NULL;
	if (cj_typeof(v) != CJ_STRING || cj_has_nul(v))
	{
		*bad = 1;
		return NULL;
	}
	s = strdup(cj_string(v));
	if (s == NULL)
		*bad = 1;
	return s;
}

void
dci_token_reply_clear(dci_token_reply *t)
{
	if (t == NULL)
		return;
	if (t->access_token != NULL)
	{
		/* a secret: do not leave it in freed memory */
		volatile char *p = t->access_token;

		while (*p)
			*p++ = '\0';
	}
	free(t->access_token);
	free(t->token_type);
	free(t->error);
	free(t->error_description);
	memset(t, 0, sizeof(*t));
	t->expires_in = -1;
}

int
dci_token_parse(const char *body, size_t len, dci_token_reply *out,
				char *err, size_t errlen)
{
	char		perr[160];
	cj_result	res;
	cj_node    *root;
	const cj_node *tok;
	size_t		toklen;
	const char *tokstr;
	int			bad = 0;
	int			rc = DCI_TOKEN_INVALID;

	memset(out, 0, sizeof(*out));
	out->expires_in = -1;
	root = cj_parse_ex(body, len, &small_limits, &res, perr, sizeof(perr));
	if (root == NULL)
	{
		SETERR("token answer is not JSON (%s)", cj_result_name(res));
		return DCI_TOKEN_INVALID;
	}
	if (cj_typeof(root) != CJ_OBJECT)
	{
		SETERR("token answer is not a JSON object");
		goto done;
	}
	/* a refusal: RFC 6749 5.2 */
	if (cj_get(root, "error") != NULL)
	{
		out->error = copy_string(root, "error", &bad);
		out->error_description = copy_string(root, "error_description", &bad);
		if (out->error == NULL)
		{
			SETERR("token answer has an error that is not a string");
			goto done;
		}
		rc = DCI_TOKEN_REFUSED;
		goto done;
	}
	tok = cj_get(root, "access_token");
	tokstr = cj_str(tok, &toklen);
	if (tokstr == NULL || toklen == 0)
	{
		SETERR(tok == NULL ? "token answer has no access_token" : "access_token is empty or not a string");
		goto done;
	}
	if (toklen > DCI_TOKEN_MAX_LEN)
	{
		SETERR("access_token is longer than %d bytes", DCI_TOKEN_MAX_LEN);
		goto done;
	}
	/* it goes into "Authorization: Bearer <token>": nothing else may ride along */
	if (!dci_is_b64token(tokstr, toklen))
	{
		SETERR("access_token holds characters a bearer token cannot (RFC 6750: letters, digits, -._~+/ and = padding)");
		goto done;
	}
	out->token_type = copy_string(root, "token_type", &bad);
	if (bad)
	{
		SETERR("token_type is not a string");
		goto done;
	}
	if (out->token_type != NULL && strcasecmp(out->token_type, "bearer") != 0)
	{
		SETERR("token_type is not Bearer");
		goto done;
	}
	if (read_seconds(cj_get(root, "expires_in"), 0, DCI_TOKEN_MAX_LIFETIME, &out->expires_in) < 0)
	{
		out->expires_in = -1;
		SETERR("expires_in is not a number of seconds");
		goto done;
	}
	out->access_token = strdup(tokstr);
	if (out->access_token == NULL)
	{
		SETERR("out of memory");
		goto done;
	}
	rc = DCI_TOKEN_OK;
done:
	if (rc == DCI_TOKEN_INVALID)
		dci_token_reply_clear(out);
	cj_free(root);
	return rc;
}

/* A daily quota, by its code: RATE_LIMIT_PER_DAY, daily_limit, ... */
static int
is_daily(const char *code)
{
	for (const char *p = code; p && *p; p++)
		if (strncasecmp(p, "PER_DAY", 7) == 0 || strncasecmp(p, "DAILY", 5) == 0 ||
			strncasecmp(p, "PER DAY", 7) == 0)
			return 1;
	return 0;
}

int
dci_retry_hint_parse(const char *body, size_t len, dci_retry_hint *out)
{
	static const char *const code_keys[] = {"error_code", "code", "error", NULL};
	cj_node    *root;
	const cj_node *places[2];
	int			found = 0;

	memset(out, 0, sizeof(*out));
	out->seconds = -1;
	root = cj_parse_ex(body, len, &small_limits, NULL, NULL, 0);
	if (cj_typeof(root) != CJ_OBJECT)
	{
		cj_free(root);
		return 0;
	}
	/* OpenSPP nests it under detail (FastAPI's HTTPException) */
	places[0] = cj_get(root, "detail");
	places[1] = root;
	for (int i = 0; i < 2; i++)
	{
		const cj_node *o = places[i];

		if (cj_typeof(o) != CJ_OBJECT)
			continue;
		if (out->seconds < 0 &&
			read_seconds(cj_get(o, "retry_after"), 1, DCI_RETRY_MAX_SECONDS, &out->seconds) != 1)
			out->seconds = -1;
		for (int k = 0; code_keys[k] && out->code[0] == '\0'; k++)
		{
			const cj_node *c = cj_get(o, code_keys[k]);

			if (cj_typeof(c) == CJ_STRING && !cj_has_nul(c))
				snprintf(out->code, sizeof(out->code), "%s", cj_string(c));
		}
	}
	out->per_day = is_daily(out->code);
	found = out->seconds >= 0 || out->code[0] != '\0';
	cj_free(root);
	return found;
}
