/*
 * fuzz_replies.c - fuzz targets of the OAuth2 token answer (oauth2) and the
 * retry hint of a 429/503 (retry).  A token handed out must be fit for an
 * HTTP header; every number handed out must be within its bounds.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "replies.h"

int
fuzz_oauth2(const uint8_t *data, size_t size)
{
	dci_token_reply t;
	char		err[256];
	int			rc = dci_token_parse((const char *) data, size, &t, err, sizeof(err));

	if (rc == DCI_TOKEN_OK)
	{
		size_t		n = t.access_token ? strlen(t.access_token) : 0;

		if (n == 0 || n > DCI_TOKEN_MAX_LEN || !dci_is_b64token(t.access_token, n) ||
			strpbrk(t.access_token, "\r\n \t\"\\") != NULL)
			fuzz_fail("oauth2", "a token unfit for the Authorization header", NULL, NULL);
		if (t.expires_in < -1 || t.expires_in > DCI_TOKEN_MAX_LIFETIME)
			fuzz_fail("oauth2", "expires_in out of bounds", NULL, NULL);
	}
	else if (rc == DCI_TOKEN_REFUSED)
	{
		if (t.error == NULL || t.access_token != NULL)
			fuzz_fail("oauth2", "a refusal without its error, or with a token", NULL, NULL);
	}
	else if (t.access_token != NULL || t.error != NULL || err[0] == '\0')
		fuzz_fail("oauth2", "an invalid answer left values behind or says nothing", NULL, NULL);
	dci_token_reply_clear(&t);
	return 0;
}

int
fuzz_retry(const uint8_t *data, size_t size)
{
	dci_retry_hint h;
	int			found = dci_retry_hint_parse((const char *) data, size, &h);

	if (h.seconds < -1 || h.seconds > DCI_RETRY_MAX_SECONDS || strlen(h.code) >= sizeof(h.code) ||
		(h.per_day != 0 && h.per_day != 1) || (found != (h.seconds >= 0 || h.code[0] != '\0')))
		fuzz_fail("retry", "a hint out of bounds", NULL, NULL);
	return 0;
}
