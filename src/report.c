/*
 * report.c - how dci says what went wrong.
 *
 * Registry text (reason codes and messages, OAuth2 error codes) reaches our
 * error messages only through dci_sanitize, so a registry cannot write
 * control characters or pages of text into a DBA's log.  URLs reach them
 * only through dci_redact_url, so credentials a DBA put into a URL (userinfo,
 * a query string) never show.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "dci.h"

#define SANITIZE_MAX 200		/* characters of registry text kept */

/* Registry-supplied text made safe to print (palloc'd). */
char *
dci_sanitize(const char *s)
{
	StringInfoData b;
	int			kept = 0;

	initStringInfo(&b);
	if (s == NULL)
		return b.data;
	while (*s && kept < SANITIZE_MAX)
	{
		unsigned char c = (unsigned char) *s;
		int			len = pg_utf_mblen((const unsigned char *) s);

		if (c < 0x20 || c == 0x7f)
		{
			appendStringInfo(&b, "\\x%02x", c);
			s++;
		}
		else if (c < 0x80)
		{
			appendStringInfoChar(&b, (char) c);
			s++;
		}
		else if (pg_utf8_islegal((const unsigned char *) s, len) &&
				 strnlen(s, len) == (size_t) len)
		{
			appendBinaryStringInfo(&b, s, len);
			s += len;
		}
		else
		{
			appendStringInfoChar(&b, '?');
			s++;
		}
		kept++;
	}
	if (*s)
		appendStringInfoString(&b, "...");
	return b.data;
}

/* scheme://host[:port]/path of a URL: no userinfo, no query, no fragment. */
char *
dci_redact_url(const char *url)
{
	const char *p;
	const char *host;
	const char *end;
	const char *at;
	StringInfoData b;

	if (url == NULL)
		return pstrdup("(none)");
	initStringInfo(&b);
	p = strstr(url, "://");
	host = p ? p + 3 : url;
	appendBinaryStringInfo(&b, url, host - url);
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', end - host);
	if (at)
	{
		appendStringInfoString(&b, "***@");
		host = at + 1;
	}
	appendBinaryStringInfo(&b, host, end - host);
	appendBinaryStringInfo(&b, end, strcspn(end, "?#"));
	if (end[strcspn(end, "?#")] != '\0')
		appendStringInfoString(&b, "?...");
	return dci_sanitize(b.data);
}
