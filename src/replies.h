/*
 * replies.h - small JSON bodies that are not DCI envelopes (no PostgreSQL):
 * an OAuth2 token endpoint's answer, and the retry hint of a 429 or 503.
 *
 * Both come from outside and are read as hostile: parsed under tight limits,
 * every value checked before it is used (a token goes into an HTTP header).
 */
#ifndef DCI_REPLIES_H
#define DCI_REPLIES_H

#include <stddef.h>

/* Longest access_token accepted (a JWT with many claims fits). */
#define DCI_TOKEN_MAX_LEN		16384
/*
 * expires_in beyond this (seconds) is read as this: refreshing early is
 * harmless.  A value beyond a long is refused, not clamped.
 */
#define DCI_TOKEN_MAX_LIFETIME	86400

/* Answers of dci_token_parse. */
#define DCI_TOKEN_OK		0	/* access_token usable */
#define DCI_TOKEN_REFUSED	1	/* an OAuth2 error answer: error (and error_description) set */
#define DCI_TOKEN_INVALID	(-1)	/* not a usable answer; err says why (never quoting the token) */

/* An OAuth2 token answer (RFC 6749 5.1, 5.2); strings malloc'd, NULL when absent. */
typedef struct dci_token_reply
{
	char	   *access_token;	/* RFC 6750 b64token characters only */
	char	   *token_type;		/* as sent ("Bearer"), or NULL */
	long		expires_in;		/* seconds, 0..DCI_TOKEN_MAX_LIFETIME; -1 when absent */
	char	   *error;			/* DCI_TOKEN_REFUSED: the error code */
	char	   *error_description;	/* raw: sanitize before showing (dbuf_put_sanitized) */
} dci_token_reply;

/*
 * Read a token endpoint's body.  DCI_TOKEN_OK: access_token is a non-empty
 * string of RFC 6750 b64token characters (letters, digits, "-._~+/", then
 * "=" padding), so no CR, LF, space or other byte can reach the
 * Authorization header; token_type, when sent, is "Bearer" (any case);
 * expires_in is a number or a numeric string, not negative, within a long.
 * DCI_TOKEN_REFUSED: the body carries "error" (a string).  DCI_TOKEN_INVALID
 * otherwise.  *out is always safe to clear.
 */
int			dci_token_parse(const char *body, size_t len, dci_token_reply *out,
							char *err, size_t errlen);
void		dci_token_reply_clear(dci_token_reply *t);

/* 1 when s (len bytes) is an RFC 6750 b64token. */
int			dci_is_b64token(const char *s, size_t len);

/* Longest wait a retry hint may ask for (seconds): a day. */
#define DCI_RETRY_MAX_SECONDS	86400

/* What a 429 / 503 body says about when to come back. */
typedef struct dci_retry_hint
{
	long		seconds;		/* retry_after, rounded up, at most DCI_RETRY_MAX_SECONDS; -1 none
								 * (or negative, unreadable, beyond a long) */
	int			per_day;		/* 1 when the quota that ran out is a daily one */
	char		code[64];		/* error_code or error, as sent (sanitize before showing); "" none */
} dci_retry_hint;

/*
 * Read a retry hint: retry_after (seconds, a number or a numeric string) at
 * the top level or under "detail", as OpenSPP sends
 *   {"detail":{"error":"rate_limit_exceeded","error_code":"RATE_LIMIT_PER_DAY",
 *              "error_message":"...","retry_after":42}}
 * per_day comes from an error_code naming a daily limit (RATE_LIMIT_PER_DAY).
 * Returns 1 when the body says something (seconds or code), 0 when it says
 * nothing usable (not JSON, no hint, a negative or unreadable retry_after).
 */
int			dci_retry_hint_parse(const char *body, size_t len, dci_retry_hint *out);

#endif
