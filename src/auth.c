/*
 * auth.c - credentials for a request: none, a static bearer token, or an
 * OAuth2 client-credentials token cached per backend until shortly before
 * it expires.
 *
 * Tokens and client secrets never appear in a message: errors name the
 * source, the token URL's HTTP status and the OAuth2 error code only.
 */
#include "postgres.h"

#include <time.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "dci.h"
#include "replies.h"

typedef struct token_entry
{
	char	   *code;			/* source code; malloc'd */
	char	   *token;			/* malloc'd; wiped on free */
	time_t		refresh_at;		/* fetch a new one from this moment */
	long long	fetched_at;		/* monotonic ms when the token endpoint issued it */
	struct token_entry *next;
} token_entry;

static token_entry *tokens = NULL;

static void
free_entry(token_entry *t)
{
	if (t->token)
	{
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	free(t->code);
	free(t);
}

void
dci_auth_forget(const char *code, bool shared_too)
{
	token_entry **pp = &tokens;

	while (*pp)
	{
		token_entry *t = *pp;

		if (code == NULL || strcmp(t->code, code) == 0)
		{
			*pp = t->next;
			free_entry(t);
		}
		else
			pp = &t->next;
	}
	if (shared_too)
		dci_token_shared_forget(code);
}

void
dci_auth_forget_all(void)
{
	dci_auth_forget(NULL, false);
}

static token_entry *
find_entry(const char *code)
{
	for (token_entry *t = tokens; t; t = t->next)
		if (strcmp(t->code, code) == 0)
			return t;
	return NULL;
}

/* application/x-www-form-urlencoded value */
static void
form_escape(dbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			dbuf_putc(b, (char) *p);
		else
		{
			char		e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			dbuf_append(b, e, 3);
		}
	}
}

/* Seconds to keep a token: expires_in less a margin, so it never lapses mid-call. */
static long
token_lifetime(long expires_in)
{
	long		margin;

	if (expires_in <= 0)
		return 0;
	margin = expires_in >= 300 ? 60 : expires_in / 5;
	return expires_in - margin;
}

/* The client-credentials grant's form, and where the credentials go. */
static void
build_grant(dci_source *src, dbuf *form, dbuf *url, dbuf *basic)
{
	dbuf_puts(form, "grant_type=client_credentials");
	dbuf_puts(url, src->oauth2_token_url);
	switch (src->oauth2_client_auth)
	{
		case DCI_CLIENT_AUTH_BODY:
			dbuf_puts(form, "&client_id=");
			form_escape(form, src->oauth2_client_id);
			dbuf_puts(form, "&client_secret=");
			form_escape(form, src->oauth2_client_secret);
			break;
		case DCI_CLIENT_AUTH_BASIC:
			{
				/* RFC 6749 2.3.1: form-encode each, join with ':', base64 */
				dbuf		pair;

				dbuf_init(&pair);
				form_escape(&pair, src->oauth2_client_id);
				dbuf_putc(&pair, ':');
				form_escape(&pair, src->oauth2_client_secret);
				dbuf_puts(basic, "Basic ");
				if (pair.data)
					dci_b64_encode((const unsigned char *) pair.data, pair.len, 0, basic);
				if (pair.data)
					explicit_bzero(pair.data, pair.len);
				dbuf_free(&pair);
				break;
			}
		case DCI_CLIENT_AUTH_QUERY:
			dbuf_putc(url, strchr(src->oauth2_token_url, '?') ? '&' : '?');
			dbuf_puts(url, "client_id=");
			form_escape(url, src->oauth2_client_id);
			dbuf_puts(url, "&client_secret=");
			form_escape(url, src->oauth2_client_secret);
			break;
	}
	if (src->oauth2_scope)
	{
		dbuf_puts(form, "&scope=");
		form_escape(form, src->oauth2_scope);
	}
}

static void
wipe(dbuf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	dbuf_free(b);
}

/* POST the client-credentials grant; returns a malloc'd token or raises. */
static char *
fetch_token(dci_source *src, long *expires_in, long long deadline)
{
	dbuf		form,
				url,
				basic;
	dci_http_request req;
	dci_http_response resp;
	dci_token_reply reply;
	char		err[256];
	char	   *token = NULL;
	int			rc;
	long		status;
	dci_http_result hr;
	char	   *content_type;
	const char *where = dci_redact_url(src->oauth2_token_url);

	dbuf_init(&form);
	dbuf_init(&url);
	dbuf_init(&basic);
	build_grant(src, &form, &url, &basic);
	if (form.data == NULL || url.data == NULL ||
		(src->oauth2_client_auth == DCI_CLIENT_AUTH_BASIC && basic.data == NULL))
	{
		wipe(&form);
		wipe(&url);
		wipe(&basic);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}

	memset(&req, 0, sizeof(req));
	req.url = url.data;
	req.body = form.data;
	req.body_len = form.len;
	req.content_type = "application/x-www-form-urlencoded";
	req.authorization = basic.data;
	/* the token fetch spends the call's time budget too */
	req.timeout_ms = (long) src->timeout_seconds * 1000;
	if (deadline > 0)
		req.timeout_ms = Max(1, Min(req.timeout_ms, (long) (deadline - dci_http_now_ms())));
	req.verify_tls = src->verify_ssl;

	dci_stats_counters.token_fetches++;
	dci_http_apply_config();
	hr = dci_http_perform(&req, &resp, 1, 1);
	wipe(&form);
	wipe(&url);
	wipe(&basic);
	if (hr == DCI_HTTP_ABORTED)
	{
		dci_http_response_free(&resp);
		dci_check_cancel();
	}
	if (resp.result != DCI_HTTP_OK)
	{
		char		msg[256];
		dci_http_result r = resp.result;

		strlcpy(msg, resp.error, sizeof(msg));
		dci_http_response_free(&resp);
		ereport(ERROR,
				(errcode(r == DCI_HTTP_TIMEOUT ? ERRCODE_DCI_TIMEOUT : ERRCODE_DCI_NETWORK),
				 errmsg("OAuth2 token endpoint of DCI source \"%s\" could not be reached: %s",
						src->code, msg),
				 errdetail("token URL %s", where)));
	}
	status = resp.status;
	content_type = dci_sanitize(resp.content_type);
	rc = dci_token_parse(resp.body.data ? resp.body.data : "", resp.body.len, &reply, err, sizeof(err));
	dci_http_response_free(&resp);
	if (rc == DCI_TOKEN_REFUSED || (status != 200 && rc == DCI_TOKEN_OK))
	{
		char	   *code = dci_sanitize(reply.error ? reply.error : "no error code");

		dci_token_reply_clear(&reply);
		ereport(ERROR,
				(errcode(ERRCODE_DCI_AUTH),
				 errmsg("OAuth2 token endpoint of DCI source \"%s\" refused the credentials: HTTP %ld (%s)",
						src->code, status, code),
				 errdetail("token URL %s, client authentication \"%s\"", where,
						   src->oauth2_client_auth == DCI_CLIENT_AUTH_BASIC ? "basic" :
						   src->oauth2_client_auth == DCI_CLIENT_AUTH_QUERY ? "query" : "body"),
				 errhint("Check oauth2_client_id, oauth2_client_secret, oauth2_client_auth and oauth2_token_url of the source.")));
	}
	if (rc != DCI_TOKEN_OK)
	{
		/* a token that could ride an HTTP header is an auth failure, not mere garbage */
		bool		bad_token = strstr(err, "access_token") != NULL;

		dci_token_reply_clear(&reply);
		ereport(ERROR,
				(errcode(status >= 400 || bad_token ? ERRCODE_DCI_AUTH : ERRCODE_DCI_BAD_RESPONSE),
				 errmsg("OAuth2 token endpoint of DCI source \"%s\" answered garbage: HTTP %ld, %s",
						src->code, status, dci_sanitize(err)),
				 errdetail("Content-Type: %s; token URL %s", content_type, where)));
	}
	token = strdup(reply.access_token);
	*expires_in = reply.expires_in >= 0 ? reply.expires_in : 300;	/* unknown: 5 min (401s refresh too) */
	dci_token_reply_clear(&reply);
	if (token == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return token;
}

/* Keep token in this backend's entry for src (the pointer callers use). */
static const char *
remember(dci_source *src, token_entry *t, char *token, time_t refresh_at, long long fetched_at)
{
	if (t == NULL)
	{
		t = calloc(1, sizeof(token_entry));
		if (t == NULL || (t->code = strdup(src->code)) == NULL)
		{
			free(t);
			explicit_bzero(token, strlen(token));
			free(token);
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		}
		t->next = tokens;
		tokens = t;
	}
	else if (t->token)
	{
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	t->token = token;
	t->refresh_at = refresh_at;
	t->fetched_at = fetched_at;
	return t->token;
}

/*
 * The cluster-wide token of src (dci in shared_preload_libraries): use it,
 * wait for the backend fetching it, or fetch it ourselves.  NULL when the
 * shared cache cannot serve this source.
 */
static const char *
shared_bearer(dci_source *src, token_entry *t, long long not_before, long long deadline)
{
	static char buf[8192];
	uint32		cfg = dci_token_config_hash(src);
	long long	fetched_at = 0;
	long		expires_in = 0;
	char	   *volatile token = NULL;
	char	   *copy;
	time_t		refresh_at;
	int			r;

	r = dci_token_shared_get(src, cfg, not_before, buf, sizeof(buf), &fetched_at);
	if (r < 0)
		return NULL;
	if (r == 1)
	{
		copy = strdup(buf);
		explicit_bzero(buf, sizeof(buf));
		if (copy == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		/* the shared entry decides when to refresh; recheck it every call */
		return remember(src, t, copy, 0, fetched_at);
	}
	/* we hold the refresh claim: give it back if the fetch fails */
	PG_TRY();
	{
		fetched_at = dci_http_now_ms();
		token = fetch_token(src, &expires_in, deadline);
	}
	PG_CATCH();
	{
		dci_token_shared_abandon(src);
		PG_RE_THROW();
	}
	PG_END_TRY();
	refresh_at = time(NULL) + token_lifetime(expires_in);
	dci_token_shared_put(src, cfg, token, refresh_at, fetched_at);
	return remember(src, t, token, 0, fetched_at);
}

/*
 * The bearer token for a request to src: none, the static one, or an OAuth2
 * token fetched at or after not_before (monotonic ms; after a 401, only a
 * token issued after it will do).  A fetch spends the time up to deadline.
 */
const char *
dci_auth_bearer(dci_source *src, long long not_before, long long deadline)
{
	token_entry *t;
	time_t		now = time(NULL);
	long		expires_in = 0;
	const char *shared_token;
	char	   *token;
	long long	fetched_at;

	switch (src->auth_type)
	{
		case DCI_AUTH_NONE:
			return NULL;
		case DCI_AUTH_BEARER:
			return src->bearer_token;
		case DCI_AUTH_OAUTH2:
			break;
	}
	t = find_entry(src->code);
	if (dci_token_shared_available())
	{
		shared_token = shared_bearer(src, t, not_before, deadline);
		if (shared_token)
			return shared_token;
	}
	if (t && t->fetched_at >= not_before && now < t->refresh_at)
		return t->token;

	fetched_at = dci_http_now_ms();
	token = fetch_token(src, &expires_in, deadline);
	return remember(src, t, token, now + token_lifetime(expires_in), fetched_at);
}
