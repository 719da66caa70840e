/*
 * http.c - libcurl transport (see http.h).
 *
 * The multi handle and a pool of easy handles live for the whole process:
 * the multi handle owns the connection cache (keep-alive across calls), the
 * share handle the TLS session and DNS caches, and reusing easy handles
 * avoids re-initialising curl state per row.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define DCI_USER_AGENT "dci-postgresql/0.1.0"
#define POLL_MS 10				/* how often an abort is checked */

typedef struct slot
{
	CURL	   *easy;
	struct curl_slist *headers;
	dci_http_response *resp;
	size_t		max_bytes;
	int			too_big;
	int			active;
	int			index;			/* position of its request in the call */
	char		errbuf[CURL_ERROR_SIZE];
} slot;

static CURLM *multi = NULL;
static CURLSH *share = NULL;
static slot *slots = NULL;
static int	nslots = 0;
static long connections_opened = 0;
static dci_http_config config = {10000, 16 * 1024 * 1024, 0, NULL};
static char *ca_file_copy = NULL;

const char *
dci_http_result_name(dci_http_result r)
{
	switch (r)
	{
		case DCI_HTTP_OK:
			return "ok";
		case DCI_HTTP_NETWORK:
			return "network error";
		case DCI_HTTP_TIMEOUT:
			return "timeout";
		case DCI_HTTP_TOO_BIG:
			return "response too large";
		case DCI_HTTP_ABORTED:
			return "aborted";
		case DCI_HTTP_BAD_URL:
			return "bad URL";
		case DCI_HTTP_INTERNAL:
			return "internal error";
	}
	return "unknown";
}

void
dci_http_configure(const dci_http_config *cfg)
{
	const char *ca = (cfg->ca_file && cfg->ca_file[0]) ? cfg->ca_file : NULL;

	config = *cfg;
	/* called before every exchange: copy the CA path only when it changed */
	if ((ca == NULL) != (ca_file_copy == NULL) || (ca && strcmp(ca, ca_file_copy) != 0))
	{
		free(ca_file_copy);
		ca_file_copy = ca ? strdup(ca) : NULL;
	}
	config.ca_file = ca_file_copy;
	if (multi)
		curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, config.max_host_connections);
}

long
dci_http_connections_opened(void)
{
	return connections_opened;
}

void
dci_http_response_init(dci_http_response *r)
{
	memset(r, 0, sizeof(*r));
	dbuf_init(&r->body);
}

void
dci_http_response_free(dci_http_response *r)
{
	dbuf_free(&r->body);
}

static int
ensure_multi(void)
{
	if (multi)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	multi = curl_multi_init();
	share = curl_share_init();
	if (multi == NULL || share == NULL)
	{
		dci_http_shutdown();
		return -1;
	}
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, config.max_host_connections);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 64L);
	return 0;
}

static int
ensure_slots(int n)
{
	slot	   *s;

	if (n <= nslots)
		return 0;
	s = realloc(slots, sizeof(slot) * n);
	if (s == NULL)
		return -1;
	slots = s;
	for (int i = nslots; i < n; i++)
	{
		memset(&slots[i], 0, sizeof(slot));
		slots[i].easy = curl_easy_init();
		if (slots[i].easy == NULL)
		{
			nslots = i;
			return -1;
		}
	}
	nslots = n;
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	slot	   *s = userdata;
	size_t		n = size * nmemb;

	if (s->resp->body.len + n > s->max_bytes)
	{
		s->too_big = 1;
		return 0;				/* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (dbuf_append(&s->resp->body, ptr, n) != 0)
		return 0;
	return n;
}

/* Prepare slot s for request r; 0 ok. */
static int
setup_slot(slot *s, const dci_http_request *r, dci_http_response *resp)
{
	CURL	   *h = s->easy;
	char		line[64];
	int			rc = 0;

	curl_easy_reset(h);
	s->resp = resp;
	s->too_big = 0;
	s->max_bytes = config.max_response_bytes ? config.max_response_bytes : (size_t) 16 * 1024 * 1024;
	s->errbuf[0] = '\0';
	s->headers = NULL;

	snprintf(line, sizeof(line), "Content-Type: %s",
			 r->content_type ? r->content_type : "application/json");
	s->headers = curl_slist_append(s->headers, line);
	s->headers = curl_slist_append(s->headers, "Accept: application/json");
	/* no 100-continue round trip before every POST */
	s->headers = curl_slist_append(s->headers, "Expect:");
	if (r->bearer || r->authorization)
	{
		const char *v = r->bearer ? r->bearer : r->authorization;
		size_t		len = strlen(v) + 32;
		char	   *auth = malloc(len);

		if (auth == NULL)
			return -1;
		snprintf(auth, len, "Authorization: %s%s", r->bearer ? "Bearer " : "", v);
		s->headers = curl_slist_append(s->headers, auth);
		/* curl copies the string; wipe ours */
		memset(auth, 0, len);
		free(auth);
	}
	if (s->headers == NULL)
		return -1;

	rc |= curl_easy_setopt(h, CURLOPT_URL, r->url);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, DCI_USER_AGENT);
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->headers);
	if (r->body)
	{
		rc |= curl_easy_setopt(h, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
	}
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 30000L);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
						   config.connect_timeout_ms > 0 ? config.connect_timeout_ms : 10000L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, r->verify_tls ? 1L : 0L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, r->verify_tls ? 2L : 0L);
	if (config.ca_file)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, config.ca_file);
	rc |= curl_easy_setopt(h, CURLOPT_SHARE, share);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) s->max_bytes);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_PRIVATE, s);
	if (r->forbid_reuse)
	{
		rc |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	}
	return rc ? -1 : 0;
}

/* Fill s->resp from a finished transfer. */
static void
finish_slot(slot *s, CURLcode code)
{
	dci_http_response *resp = s->resp;
	char	   *ct = NULL;
	long		nconn = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &resp->seconds);
	if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
		connections_opened += nconn;
	if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	switch (code)
	{
		case CURLE_OK:
			resp->result = DCI_HTTP_OK;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			resp->result = DCI_HTTP_TIMEOUT;
			break;
		case CURLE_FILESIZE_EXCEEDED:
			resp->result = DCI_HTTP_TOO_BIG;
			break;
		case CURLE_WRITE_ERROR:
			resp->result = s->too_big ? DCI_HTTP_TOO_BIG : DCI_HTTP_INTERNAL;
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			resp->result = DCI_HTTP_BAD_URL;
			break;
		default:
			resp->result = DCI_HTTP_NETWORK;
			break;
	}
	if (code != CURLE_OK)
	{
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(code));
		snprintf(resp->detail, sizeof(resp->detail), "%s", s->errbuf[0] ? s->errbuf : resp->error);
	}
}

static void
release_slot(slot *s)
{
	if (s->active)
		curl_multi_remove_handle(multi, s->easy);
	s->active = 0;
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	s->resp = NULL;
}

dci_http_result
dci_http_perform(const dci_http_request *req, dci_http_response *resp, int n,
				 int max_parallel, dci_abort_check abort_check, void *arg)
{
	return dci_http_perform_cb(req, resp, n, max_parallel, abort_check, arg, NULL, NULL);
}

void
dci_http_reset_transfers(void)
{
	for (int i = 0; i < nslots; i++)
		release_slot(&slots[i]);
}

dci_http_result
dci_http_perform_cb(const dci_http_request *req, dci_http_response *resp, int n,
					int max_parallel, dci_abort_check abort_check, void *arg,
					dci_http_done done_cb, void *done_arg)
{
	int			width;
	int			next = 0;
	int			running = 0;
	int			done = 0;
	dci_http_result result = DCI_HTTP_OK;

	if (n <= 0)
		return DCI_HTTP_OK;
	for (int i = 0; i < n; i++)
		dci_http_response_init(&resp[i]);
	width = (max_parallel <= 0 || max_parallel > n) ? n : max_parallel;
	if (ensure_multi() != 0 || ensure_slots(width) != 0)
	{
		for (int i = 0; i < n; i++)
			resp[i].result = DCI_HTTP_INTERNAL;
		return DCI_HTTP_INTERNAL;
	}

	while (done < n)
	{
		CURLMsg    *msg;
		int			left;

		/* fill free slots */
		for (int i = 0; i < width && next < n; i++)
		{
			if (slots[i].active)
				continue;
			if (setup_slot(&slots[i], &req[next], &resp[next]) != 0 ||
				curl_multi_add_handle(multi, slots[i].easy) != CURLM_OK)
			{
				curl_slist_free_all(slots[i].headers);
				slots[i].headers = NULL;
				resp[next].result = DCI_HTTP_INTERNAL;
				snprintf(resp[next].error, sizeof(resp[next].error), "cannot set up the request");
				next++;
				done++;
				if (done_cb)
					done_cb(done_arg, next - 1);
				continue;
			}
			slots[i].active = 1;
			slots[i].index = next;
			next++;
		}
		if (done >= n)
			break;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
		{
			result = DCI_HTTP_INTERNAL;
			break;
		}
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		{
			slot	   *s = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
			if (s == NULL)
				continue;
			finish_slot(s, msg->data.result);
			release_slot(s);
			done++;
			if (done_cb)
				done_cb(done_arg, s->index);
		}
		if (done >= n)
			break;
		if (abort_check && abort_check(arg))
		{
			result = DCI_HTTP_ABORTED;
			break;
		}
		/* a slot just freed can take the next request before we wait */
		if (next < n && running < width)
			continue;
		if (curl_multi_poll(multi, NULL, 0, POLL_MS, NULL) != CURLM_OK)
		{
			result = DCI_HTTP_INTERNAL;
			break;
		}
		if (abort_check && abort_check(arg))
		{
			result = DCI_HTTP_ABORTED;
			break;
		}
	}

	if (result != DCI_HTTP_OK)
	{
		/* stop everything in flight; unstarted requests are marked too */
		for (int i = 0; i < width; i++)
			if (slots[i].active)
			{
				slots[i].resp->result = result;
				release_slot(&slots[i]);
			}
		for (int i = next; i < n; i++)
			resp[i].result = result;
	}
	return result;
}

void
dci_http_shutdown(void)
{
	for (int i = 0; i < nslots; i++)
	{
		release_slot(&slots[i]);
		curl_easy_cleanup(slots[i].easy);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
	if (multi)
		curl_multi_cleanup(multi);
	if (share)
		curl_share_cleanup(share);
	multi = NULL;
	share = NULL;
}
