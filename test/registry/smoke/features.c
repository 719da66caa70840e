/*
 * features.c - checks every documented option, endpoint and admin call of a
 * running dci-registry against test/registry/README.md, with libcurl,
 * json-c and OpenSSL only (no src/: the registry's behaviour is checked,
 * not the extension's).  Callbacks go to the registry's own /sink.
 *
 *   features http://127.0.0.1:PORT BEARER_TOKEN BLACKHOLE_PORT
 *
 * The registry must run with --client feat-body:s1, --client
 * feat-basic:s2:basic and --client feat-query:s3:query (smoke/run does).
 * Exit status 0 when every check passes.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

static const char *base;
static const char *token;
static int	blackhole_port;
static int	failures,
			passes;
static EVP_PKEY *regkey;

/* ------------------------------------------------------------- helpers */

typedef struct buf
{
	char	   *data;
	size_t		len;
} buf;

static void
buf_add(buf *b, const char *p, size_t n)
{
	b->data = realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

typedef struct answer
{
	long		status;
	int			curl_rc;
	buf			body;
	buf			headers;
	double		seconds;
	struct json_object *json;	/* parsed body, or NULL */
} answer;

static void
answer_free(answer *a)
{
	free(a->body.data);
	free(a->headers.data);
	json_object_put(a->json);
	memset(a, 0, sizeof(*a));
}

/* One request; extra: one more header line or NULL; timeout in s. */
static answer
http(const char *method, const char *path, const char *auth, const char *extra, const char *body,
	 long timeout)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char		url[2048],
				line[512];
	answer		a;

	memset(&a, 0, sizeof(a));
	snprintf(url, sizeof(url), "%s%s", strncmp(path, "http", 4) == 0 ? "" : base, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (auth)
	{
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		h = curl_slist_append(h, line);
	}
	if (extra)
		h = curl_slist_append(h, extra);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	a.curl_rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &a.seconds);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (a.body.data)
		a.json = json_tokener_parse(a.body.data);
	return a;
}

static answer
post(const char *path, const char *body)
{
	return http("POST", path, NULL, NULL, body, 20);
}

static answer
get(const char *path)
{
	return http("GET", path, NULL, NULL, NULL, 20);
}

static void
check(bool ok, const char *fmt,...)
{
	va_list		ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passes++;
	else
		failures++;
}

/* A value at a path like "message.search_response.0.status" (numbers index arrays). */
static struct json_object *
at(struct json_object *o, const char *path)
{
	char	   *p = strdup(path),
			   *save = NULL;

	for (char *seg = strtok_r(p, ".", &save); seg && o; seg = strtok_r(NULL, ".", &save))
	{
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, atoi(seg));
		else if (!json_object_object_get_ex(o, seg, &o))
			o = NULL;
	}
	free(p);
	return o;
}

static const char *
str_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static long
int_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	return json_object_is_type(v, json_type_int) ? (long) json_object_get_int64(v) : -999;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* A search envelope for one identifier (not signed: /opt/nosig,noauth). */
static char *
search_body(const char *sender_uri, const char *txn, const char *type, const char *value,
			const char *criteria_extra)
{
	char	   *s;

	if (asprintf(&s, "{\"header\":{\"action\":\"search\",\"message_id\":\"m1\",\"sender_id\":\"feat.test\","
				 "\"sender_uri\":\"%s\",\"receiver_id\":\"registry.local\",\"total_count\":1},"
				 "\"message\":{\"transaction_id\":\"%s\",\"search_request\":[{\"reference_id\":\"r1\","
				 "\"timestamp\":\"2026-01-01T00:00:00Z\",\"search_criteria\":{%s\"query_type\":\"idtype-value\","
				 "\"query\":{\"type\":\"%s\",\"value\":\"%s\"}},\"locale\":\"eng\"}]}}",
				 sender_uri ? sender_uri : "", txn, criteria_extra ? criteria_extra : "", type, value) < 0)
		exit(2);
	return s;
}

static answer
search(const char *opts, const char *prefix, const char *type, const char *value)
{
	char		path[512];
	char	   *b = search_body(NULL, "T-feat", type, value, NULL);
	answer		a;

	snprintf(path, sizeof(path), "/opt/nosig,noauth%s%s/%s/registry/sync/search", opts[0] ? "," : "", opts, prefix);
	a = post(path, b);
	free(b);
	return a;
}

/*
 * Verify a dci-ed25519 answer the simple way: the registry writes canonical
 * text, so what precedes ,"signature": (plus }) is what was signed; numambig
 * swaps its number back to the canonical 1.0 first.
 */
static bool
signature_ok(const answer *a, bool numambig)
{
	char	   *sig,
			   *cut,
			   *canon,
			   *p,
				created[32] = "",
				expires[32] = "",
				sigb64[128] = "";
	unsigned char md[SHA256_DIGEST_LENGTH],
				raw[128];
	char		mdb64[64],
				ss[256];
	EVP_MD_CTX *ctx;
	int			n,
				ok;

	/* from the text, not the parsed JSON: json-c refuses nest=1000000 */
	if (a->body.data == NULL || (cut = memmem(a->body.data, a->body.len, ",\"signature\":\"", 14)) == NULL)
		return false;
	sig = strndup(cut + 14, a->body.len - (cut + 14 - a->body.data));
	{
		char	   *w = sig;

		for (char *r = sig; *r; r++)
			if (!(r[0] == '\\' && r[1] == '"'))
				*w++ = *r;
		*w = '\0';
	}
	canon = strndup(a->body.data, cut - a->body.data + 1);
	canon[cut - a->body.data] = '}';
	if (numambig && (p = strstr(canon, "0.99999999999999999999")) != NULL)
	{
		memcpy(p, "1.0", 3);
		memmove(p + 3, p + 22, strlen(p + 22) + 1);
	}
	if ((p = strstr(sig, "created=\"")))
		sscanf(p + 9, "%31[0-9]", created);
	if ((p = strstr(sig, "expires=\"")))
		sscanf(p + 9, "%31[0-9]", expires);
	if ((p = strstr(sig, " signature=\"")))
		sscanf(p + 12, "%127[^\"]", sigb64);
	SHA256((unsigned char *) canon, strlen(canon), md);
	free(canon);
	EVP_EncodeBlock((unsigned char *) mdb64, md, sizeof(md));
	snprintf(ss, sizeof(ss), "(created): %s\n(expires): %s\ndigest: %s", created, expires, mdb64);
	free(sig);
	n = EVP_DecodeBlock(raw, (unsigned char *) sigb64, strlen(sigb64));
	ctx = EVP_MD_CTX_new();
	ok = n >= 64 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, regkey) == 1 &&
		EVP_DigestVerify(ctx, raw, 64, (unsigned char *) ss, strlen(ss)) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool
has_header(const answer *a, const char *h)
{
	return a->headers.data && strcasestr(a->headers.data, h) != NULL;
}

/* Wait for the callbacks matching query to finish; the /admin/callbacks answer. */
static answer
callbacks(const char *query, int count)
{
	char		path[512];

	snprintf(path, sizeof(path), "/admin/callbacks?%s&wait_ms=8000&count=%d", query, count);
	return get(path);
}

/* The n-th (0-based) body the sink received whose path is path, or NULL. */
static struct json_object *
sink_body(struct json_object *sink, const char *path, int n)
{
	struct json_object *l = at(sink, "received");

	for (size_t i = 0; l && i < json_object_array_length(l); i++)
	{
		struct json_object *e = json_object_array_get_idx(l, i);

		if (eq(str_at(e, "path"), path) && n-- == 0)
			return at(e, "body");
	}
	return NULL;
}

/* --------------------------------------------------------------- tests */

static void
test_transport(void)
{
	answer		a;

	a = search("reset", "crvs", "UIN", "1000000042");
	check(a.curl_rc == CURLE_RECV_ERROR && a.body.len == 0, "reset: connection reset before any byte (curl %d)", a.curl_rc);
	answer_free(&a);
	a = search("resetbody", "crvs", "UIN", "1000000042");
	check(a.curl_rc == CURLE_RECV_ERROR && a.status == 200 && a.body.len > 100,
		  "resetbody: status and part of the body, then reset (curl %d, %zu bytes)", a.curl_rc, a.body.len);
	answer_free(&a);
	a = search("drip=10", "crvs", "UIN", "1000000042");
	check(a.curl_rc == 0 && a.seconds > 0.5 && signature_ok(&a, false),
		  "drip=10: whole answer in 16-byte chunks (%.2f s)", a.seconds);
	answer_free(&a);
	a = search("status=503,retryafter=7", "crvs", "UIN", "1000000042");
	check(a.status == 503 && has_header(&a, "Retry-After: 7"), "status=503,retryafter=7");
	answer_free(&a);
	a = search("ratebody=30", "crvs", "UIN", "1000000042");
	check(a.status == 429 && !has_header(&a, "Retry-After") &&
		  eq(str_at(a.json, "detail.error_code"), "RATE_LIMIT_PER_MINUTE") && int_at(a.json, "detail.retry_after") == 30,
		  "ratebody=30: OpenSPP's 429 body, no Retry-After");
	answer_free(&a);
	a = search("ratebodyday=99", "crvs", "UIN", "1000000042");
	check(a.status == 429 && eq(str_at(a.json, "detail.error_code"), "RATE_LIMIT_PER_DAY"), "ratebodyday");
	answer_free(&a);
	a = search("ratetop=5", "crvs", "UIN", "1000000042");
	check(a.status == 429 && int_at(a.json, "retry_after") == 5 && eq(str_at(a.json, "error"), "rate_limit_exceeded"),
		  "ratetop=5");
	answer_free(&a);
}

static void
test_failfirst(void)
{
	long		st[4];

	for (int i = 0; i < 4; i++)
	{
		answer		a = search("failfirst=2,key=feat-ff,status=503", "crvs", "UIN", "1000000042");

		st[i] = a.status;
		answer_free(&a);
	}
	check(st[0] == 503 && st[1] == 503 && st[2] == 200 && st[3] == 200, "failfirst=2: 503 503 200 200 (%ld %ld %ld %ld)",
		  st[0], st[1], st[2], st[3]);
	{
		answer		s = get("/admin/stats");

		check(int_at(s.json, "keys.feat-ff.requests") == 4 && int_at(s.json, "keys.feat-ff.faulted") == 2 &&
			  int_at(s.json, "keys.feat-ff.retries") == 3, "stats keys: requests, retries, faulted");
		answer_free(&s);
	}
	{
		answer		r = post("/admin/reset-counters", "");
		answer		a = search("failfirst=1,key=feat-ff,reset", "crvs", "UIN", "1000000042");
		answer		b = search("failfirst=1,key=feat-ff,reset", "crvs", "UIN", "1000000042");

		check(a.curl_rc == CURLE_RECV_ERROR && b.status == 200, "reset-counters restarts; failfirst with reset");
		answer_free(&r);
		answer_free(&a);
		answer_free(&b);
	}
}

static void
test_binding(void)
{
	answer		a;

	a = search("wrongtxn", "crvs", "UIN", "1000000042");
	check(str_at(a.json, "message.transaction_id") && !eq(str_at(a.json, "message.transaction_id"), "T-feat") &&
		  signature_ok(&a, false), "wrongtxn: another transaction_id, validly signed");
	answer_free(&a);
	a = search("notxn", "crvs", "UIN", "1000000042");
	check(at(a.json, "message") && !at(a.json, "message.transaction_id") && signature_ok(&a, false), "notxn");
	answer_free(&a);
	a = search("wrongreceiver", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "header.receiver_id"), "other-sender.test") && signature_ok(&a, false), "wrongreceiver");
	answer_free(&a);
	a = search("wrongref", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "message.search_response.0.reference_id"), "wrong-r1"), "wrongref");
	answer_free(&a);
	a = search("otherperson=UIN:1000000901", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "message.search_response.0.data.reg_records.0.name.given_name"), "Ngozi") &&
		  eq(str_at(a.json, "message.search_response.0.reference_id"), "r1"), "otherperson: Ngozi for Amina's query");
	answer_free(&a);
	{
		answer		r1 = search("replay,key=feat-replay", "crvs", "UIN", "1000000042");
		answer		r2 = search("replay,key=feat-replay", "crvs", "UIN", "1000000901");

		check(r1.body.data && r2.body.data && strcmp(r1.body.data, r2.body.data) == 0 &&
			  eq(str_at(r2.json, "message.search_response.0.data.reg_records.0.name.given_name"), "Amina"),
			  "replay: the second request gets the first answer, byte for byte");
		answer_free(&r1);
		answer_free(&r2);
	}
}

static void
test_hostile(void)
{
	answer		a;
	const char *r0 = "message.search_response.0.data.reg_records.0";
	char		p[256];

	a = search("nest=1000000", "crvs", "UIN", "1000000042");
	check(a.status == 200 && a.body.len > 2000000 && signature_ok(&a, false),
		  "nest=1000000: %zu bytes, validly signed", a.body.len);
	answer_free(&a);
	a = search("flat=100000", "crvs", "UIN", "1000000042");
	snprintf(p, sizeof(p), "%s._flat", r0);
	check(json_object_array_length(at(a.json, p)) == 100000 && signature_ok(&a, false), "flat=100000");
	answer_free(&a);
	a = search("numambig", "crvs", "UIN", "1000000042");
	check(a.body.data && strstr(a.body.data, "\"_amount\":0.99999999999999999999,") && !signature_ok(&a, false) &&
		  signature_ok(&a, true), "numambig: signed over 1.0, sent 0.999...");
	answer_free(&a);
	a = search("bigint", "crvs", "UIN", "1000000042");
	check(a.body.data && strstr(a.body.data, "\"_bigint\":36893488147419103232,") && signature_ok(&a, false), "bigint");
	answer_free(&a);
	a = search("nul", "crvs", "UIN", "1000000042");
	check(a.body.data && strstr(a.body.data, "\"given_name\":\"A\\u0000mina\"") && signature_ok(&a, false), "nul");
	answer_free(&a);
	a = search("badutf8", "crvs", "UIN", "1000000042");
	check(a.body.data && memmem(a.body.data, a.body.len, "\"given_name\":\"A\xff\xfemina\"", 20) && signature_ok(&a, false),
		  "badutf8: FF FE in the name, signed over the bytes sent");
	answer_free(&a);
	a = search("nest=3", "opencrvs", "UIN", "1000000042");
	check(a.body.data && strstr(a.body.data, "\"_nest\":[[[]]]") && str_at(a.json, "signature") &&
		  strchr(str_at(a.json, "signature"), '.'), "nest=3 on /opencrvs (JWS)");
	answer_free(&a);
}

static void
test_deviations(void)
{
	answer		a;

	a = search("rcvd", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "message.search_response.0.status"), "rcvd") &&
		  !at(a.json, "message.search_response.0.data") && int_at(a.json, "header.completed_count") == 0, "rcvd");
	answer_free(&a);
	a = search("noheader", "crvs", "UIN", "1000000042");
	check(a.json && !at(a.json, "header") && at(a.json, "message") && signature_ok(&a, false), "noheader");
	answer_free(&a);
	{
		char	   *b = search_body(NULL, "T", "UIN", "1000000500",
									"\"pagination\":{\"page_size\":10,\"page_number\":3},");

		a = post("/opt/nosig,noauth,ignorepage/ibr/registry/sync/search", b);
		free(b);
		check(int_at(a.json, "message.search_response.0.pagination.total_count") == 1000000 &&
			  int_at(a.json, "message.search_response.0.pagination.page_number") == 3 &&
			  eq(str_at(a.json, "message.search_response.0.data.reg_records.0.programme_identifier.programme_identifier"),
				 "PG-501"), "ignorepage: page 1's records, page 3 echoed, total 1000000");
		answer_free(&a);
	}
	a = search("idtypes=BRN+NID", "opencrvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "message.search_response.0.status_reason_code"), "rjct.identifier_type.invalid"),
		  "idtypes=BRN+NID refuses UIN");
	answer_free(&a);
	a = search("idtypes=BRN+NID", "opencrvs", "brn", "BR-2024-0042");
	check(eq(str_at(a.json, "message.search_response.0.status"), "succ"), "idtypes accepts brn (any case)");
	answer_free(&a);
	a = search("rjct=rjct.errors.too_many,unsigned", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "header.status"), "rjct") && !at(a.json, "signature"), "an unsigned header rjct");
	answer_free(&a);
	a = search("itemrjct=rjct.filter.invalid,hdrrjct,unsigned", "crvs", "UIN", "1000000042");
	check(eq(str_at(a.json, "header.status"), "rjct") && !at(a.json, "signature") &&
		  eq(str_at(a.json, "message.search_response.0.status"), "rjct"), "hdrrjct,unsigned");
	answer_free(&a);
}

static void
test_auth(void)
{
	answer		a,
				s;
	char		form[256],
				basic[300],
				b64[64];

	a = http("POST", "/opt/crlftoken/oauth2/client/token", NULL, NULL,
			 "grant_type=client_credentials&client_id=feat-body&client_secret=s1", 10);
	check(str_at(a.json, "access_token") && strstr(str_at(a.json, "access_token"), "\r\nX-Injected: 1"),
		  "crlftoken: the token carries CRLF X-Injected");
	answer_free(&a);
	s = get("/admin/stats");
	check(int_at(s.json, "injected_headers") == 0, "no request arrived with X-Injected");
	answer_free(&s);

	/* client authentication methods: each client only with its own */
	a = http("POST", "/oauth2/client/token", NULL, NULL, "grant_type=client_credentials&client_id=feat-body&client_secret=s1", 10);
	check(a.status == 200, "body client with form fields: 200");
	answer_free(&a);
	EVP_EncodeBlock((unsigned char *) b64, (unsigned char *) "feat-body:s1", 12);
	snprintf(basic, sizeof(basic), "Basic %s", b64);
	a = http("POST", "/oauth2/client/token", basic, NULL, "grant_type=client_credentials", 10);
	check(a.status == 401 && eq(str_at(a.json, "error"), "invalid_client"), "body client with Basic: 401 invalid_client");
	answer_free(&a);
	EVP_EncodeBlock((unsigned char *) b64, (unsigned char *) "feat-basic:s2", 13);
	snprintf(basic, sizeof(basic), "Basic %s", b64);
	a = http("POST", "/oauth2/client/token", basic, NULL, "grant_type=client_credentials", 10);
	check(a.status == 200, "basic client with Basic: 200");
	answer_free(&a);
	a = http("POST", "/oauth2/client/token", NULL, NULL, "grant_type=client_credentials&client_id=feat-basic&client_secret=s2", 10);
	check(a.status == 401, "basic client with form fields: 401");
	answer_free(&a);
	a = http("POST", "/oauth2/client/token?client_id=feat-query&client_secret=s3", NULL, NULL, "grant_type=client_credentials", 10);
	check(a.status == 200, "query client in the query string: 200");
	answer_free(&a);
	snprintf(form, sizeof(form), "grant_type=client_credentials&client_id=feat-query&client_secret=s3");
	a = http("POST", "/oauth2/client/token", NULL, NULL, form, 10);
	check(a.status == 401, "query client with form fields: 401");
	answer_free(&a);

	/* periodic revocation */
	a = post("/admin/revoke-every", "{\"ms\":300}");
	answer_free(&a);
	a = http("POST", "/oauth2/client/token", NULL, NULL, "grant_type=client_credentials&client_id=feat-body&client_secret=s1", 10);
	{
		char		bearer[256];
		answer		b;
		char	   *body = search_body(NULL, "T", "UIN", "1000000042", NULL);

		snprintf(bearer, sizeof(bearer), "Bearer %s", str_at(a.json, "access_token") ? str_at(a.json, "access_token") : "");
		usleep(700000);
		b = http("POST", "/opt/nosig/crvs/registry/sync/search", bearer, NULL, body, 10);
		check(b.status == 401, "revoke-every 300 ms: a token is gone 700 ms later");
		answer_free(&b);
		free(body);
	}
	answer_free(&a);
	a = post("/admin/revoke-every", "{\"ms\":0}");
	answer_free(&a);
	s = get("/admin/stats");
	check(int_at(s.json, "revocations") >= 1, "stats revocations");
	answer_free(&s);

	/* the blackhole: a TLS handshake that never ends */
	{
		char		url[128];

		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", blackhole_port);
		a = http("GET", url, NULL, NULL, NULL, 1);
		check(a.curl_rc == CURLE_OPERATION_TIMEDOUT, "blackhole: https hangs until the timeout");
		answer_free(&a);
	}
}

static void
test_quota(void)
{
	answer		a;
	long		st[4];

	a = post("/admin/ratelimit", "{\"sender\":\"feat.test\",\"per_minute\":3}");
	answer_free(&a);
	for (int i = 0; i < 4; i++)
	{
		a = search("", "crvs", "UIN", "1000000042");
		st[i] = a.status;
		if (i == 3)
			check(st[0] == 200 && st[1] == 200 && st[2] == 200 && st[3] == 429 &&
				  eq(str_at(a.json, "detail.error_code"), "RATE_LIMIT_PER_MINUTE") &&
				  int_at(a.json, "detail.retry_after") > 0 && !has_header(&a, "Retry-After"),
				  "per_minute=3: the 4th is 429 RATE_LIMIT_PER_MINUTE");
		answer_free(&a);
	}
	a = get("/admin/stats");
	{
		struct json_object *me = NULL;

		json_object_object_get_ex(at(a.json, "by_sender"), "feat.test", &me);
		check(int_at(me, "rate_limited") == 1 && int_at(me, "limits.per_minute") == 3 &&
			  int_at(me, "max_per_second") >= 1, "stats by_sender: rate_limited, limits, max rate");
	}
	answer_free(&a);
	a = post("/admin/ratelimit", "{\"sender\":\"feat.test\"}");
	answer_free(&a);
	a = search("", "crvs", "UIN", "1000000042");
	check(a.status == 200, "quota removed");
	answer_free(&a);
}

static void
test_async(void)
{
	char		uri[512];
	char	   *b;
	answer		a,
				c,
				s;
	struct json_object *cb;

	a = post("/admin/reset-sink", "");
	answer_free(&a);
	snprintf(uri, sizeof(uri), "%s/sink/async", base);
	b = search_body(uri, "TA1", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth/crvs/registry/search", b);
	free(b);
	check(a.status == 202 && eq(str_at(a.json, "message.ack_status"), "ACK") && str_at(a.json, "message.correlation_id"),
		  "async search: 202 ACK");
	c = callbacks("transaction_id=TA1", 1);
	check(at(c.json, "complete") && json_object_get_boolean(at(c.json, "complete")) &&
		  eq(str_at(c.json, "callbacks.0.state"), "acked"), "on-search callback delivered and acked");
	s = get("/admin/sink");
	cb = sink_body(s.json, "/sink/async", 0);
	check(eq(str_at(cb, "header.action"), "on-search") && eq(str_at(cb, "header.receiver_id"), "feat.test") &&
		  eq(str_at(cb, "message.transaction_id"), "TA1") &&
		  eq(str_at(cb, "message.correlation_id"), str_at(a.json, "message.correlation_id")) &&
		  int_at(cb, "header.completed_count") == 1 && !at(cb, "header.sender_uri"),
		  "on-search: action, receiver, transaction and correlation ids, counts");
	answer_free(&a);
	answer_free(&c);
	answer_free(&s);

	/* retries against a receiver that fails twice */
	snprintf(uri, sizeof(uri), "%s/opt/failfirst=2,key=feat-sink,status=503/sink/retry", base);
	b = search_body(uri, "TA2", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,ack200/crvs/registry/search", b);
	free(b);
	check(a.status == 200, "ack200");
	c = callbacks("transaction_id=TA2", 1);
	check(int_at(c.json, "callbacks.0.attempts") == 3 && eq(str_at(c.json, "callbacks.0.state"), "acked"),
		  "a callback refused twice is acked on the third attempt");
	answer_free(&a);
	answer_free(&c);

	/* cbpartial + cbdup */
	snprintf(uri, sizeof(uri), "%s/sink/partial", base);
	b = search_body(uri, "TA3", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,cbpartial,cbdup/crvs/registry/search", b);
	free(b);
	c = callbacks("transaction_id=TA3", 3);
	s = get("/admin/sink");
	{
		struct json_object *p1 = sink_body(s.json, "/sink/partial", 0);
		struct json_object *p2 = sink_body(s.json, "/sink/partial", 1);
		struct json_object *p3 = sink_body(s.json, "/sink/partial", 2);

		check(eq(str_at(p1, "header.status"), "pdng") && int_at(p1, "header.completed_count") == 0 &&
			  eq(str_at(p2, "header.status"), "succ") && int_at(p2, "header.completed_count") == 1 &&
			  eq(str_at(p2, "header.message_id"), str_at(p3, "header.message_id")),
			  "cbpartial: pdng then succ; cbdup: the last one twice, same message_id");
	}
	answer_free(&a);
	answer_free(&c);
	answer_free(&s);

	/* cbnone + txn status: pdng, then the result */
	b = search_body("", "TA4", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,cbnone,cbdelay=600/crvs/registry/search", b);
	free(b);
	answer_free(&a);
	b = strdup("{\"header\":{\"sender_id\":\"feat.test\",\"action\":\"txn-status\"},\"message\":{\"transaction_id\":\"S1\","
			   "\"txnstatus_request\":{\"reference_id\":\"q\",\"txn_type\":\"search\",\"attribute_type\":\"transaction_id\","
			   "\"attribute_value\":\"TA4\"}}}");
	a = post("/opt/nosig,noauth/crvs/registry/sync/txn/status", b);
	check(eq(str_at(a.json, "header.action"), "txn-on-status") && eq(str_at(a.json, "message.transaction_id"), "S1") &&
		  eq(str_at(a.json, "message.txnstatus_response.txn_type"), "on-search") &&
		  eq(str_at(a.json, "message.txnstatus_response.txn_status.search_response.0.status"), "pdng") &&
		  signature_ok(&a, false), "txn status before the callback is due: pdng");
	answer_free(&a);
	usleep(700000);
	a = post("/opt/nosig,noauth/crvs/registry/sync/txn/status", b);
	check(eq(str_at(a.json, "message.txnstatus_response.txn_status.search_response.0.status"), "succ") &&
		  eq(str_at(a.json, "message.txnstatus_response.txn_status.transaction_id"), "TA4"),
		  "txn status later: the result (cbnone sent nothing)");
	answer_free(&a);
	free(b);
	a = post("/opt/nosig,noauth/crvs/registry/sync/txn/status",
			 "{\"header\":{\"sender_id\":\"feat.test\"},\"message\":{\"transaction_id\":\"S2\",\"txnstatus_request\":"
			 "{\"txn_type\":\"search\",\"attribute_type\":\"transaction_id\",\"attribute_value\":\"nope\"}}}");
	check(eq(str_at(a.json, "header.status"), "rjct") && eq(str_at(a.json, "header.status_reason_code"), "rjct.reference_id.invalid"),
		  "txn status of an unknown transaction: header rjct");
	answer_free(&a);

	/* ack faults */
	b = search_body(uri, "TA5", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,ackerr=err.request.bad/crvs/registry/search", b);
	check(a.status == 400 && eq(str_at(a.json, "message.ack_status"), "ERR") &&
		  eq(str_at(a.json, "message.error.code"), "err.request.bad"), "ackerr");
	answer_free(&a);
	a = post("/opt/nosig,noauth,acknack/crvs/registry/search", b);
	check(eq(str_at(a.json, "message.ack_status"), "NACK"), "acknack");
	answer_free(&a);
	free(b);
	b = search_body("", "TA6", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth/crvs/registry/search", b);
	check(a.status == 400 && eq(str_at(a.json, "message.error.code"), "err.sender_uri.invalid"), "no sender_uri: ERR");
	answer_free(&a);
	free(b);
	a = post("/crvs/registry/search", "{\"header\":{\"sender_id\":\"x\"},\"message\":{}}");
	check(a.status == 401, "async search checks the token");
	answer_free(&a);

	/* a 503 (failfirst) on an async search: not taken, no callback; the retry is */
	snprintf(uri, sizeof(uri), "%s/sink/ff", base);
	b = search_body(uri, "TA8", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,failfirst=1,key=feat-async-ff,status=503/crvs/registry/search", b);
	c = post("/opt/nosig,noauth,failfirst=1,key=feat-async-ff,status=503/crvs/registry/search", b);
	free(b);
	check(a.status == 503 && c.status == 202, "async search: 503 then ACK");
	answer_free(&a);
	answer_free(&c);
	usleep(300000);
	c = callbacks("transaction_id=TA8", 1);
	check(int_at(c.json, "matched") == 1, "a 503'd async search sends no callback (one in all)");
	answer_free(&c);

	/* cbunknown, cbbadsig */
	snprintf(uri, sizeof(uri), "%s/sink/foreign", base);
	b = search_body(uri, "TA7", "UIN", "1000000042", NULL);
	a = post("/opt/nosig,noauth,cbunknown/crvs/registry/search", b);
	answer_free(&a);
	c = callbacks("transaction_id=TA7", 1);
	s = get("/admin/sink");
	cb = sink_body(s.json, "/sink/foreign", 0);
	check(eq(str_at(cb, "header.sender_id"), "unknown.registry") && str_at(cb, "signature") &&
		  strstr(str_at(cb, "signature"), "unknown.registry|foreign-key-1|ed25519"), "cbunknown");
	answer_free(&c);
	answer_free(&s);
	free(b);
}

static void
test_subscriptions(void)
{
	char		uri[512];
	char	   *b;
	answer		a,
				c,
				s;
	const char *code;
	char		codebuf[32] = "";

	snprintf(uri, sizeof(uri), "%s/sink/sub", base);
	if (asprintf(&b, "{\"header\":{\"sender_id\":\"feat.test\",\"action\":\"subscribe\",\"sender_uri\":\"%s\"},"
				 "\"message\":{\"transaction_id\":\"TS1\",\"subscribe_request\":[{\"reference_id\":\"s1\","
				 "\"subscribe_criteria\":{\"reg_event_type\":\"death\",\"filter_type\":\"idtype-value\","
				 "\"filter\":{\"type\":\"UIN\",\"value\":\"1000002001\"},\"notify_record_type\":\"person\"}}]}}", uri) < 0)
		exit(2);
	a = post("/opt/nosig,noauth/crvs/registry/subscribe", b);
	free(b);
	check(a.status == 202, "subscribe: ACK");
	answer_free(&a);
	c = callbacks("transaction_id=TS1", 1);
	s = get("/admin/sink");
	code = str_at(sink_body(s.json, "/sink/sub", 0), "message.subscribe_response.0.subscriptions.0.code");
	if (code)
		snprintf(codebuf, sizeof(codebuf), "%s", code);
	check(strncmp(codebuf, "SUB-", 4) == 0 &&
		  eq(str_at(sink_body(s.json, "/sink/sub", 0), "message.subscribe_response.0.subscriptions.0.status"), "subscribe"),
		  "on-subscribe carries the code %s", codebuf);
	answer_free(&c);
	answer_free(&s);

	a = post("/admin/event", "{\"prefix\":\"crvs\",\"reg_event_type\":\"DEATH\",\"identifier\":{\"type\":\"UIN\",\"value\":\"1000002002\"}}");
	check(int_at(a.json, "notified") == 0, "an event the filter keeps out notifies nobody");
	answer_free(&a);
	a = post("/admin/event", "{\"prefix\":\"crvs\",\"reg_event_type\":\"spdci-common:RegistryEventType:Death\","
			 "\"identifier\":{\"type\":\"UIN\",\"value\":\"1000002001\"},\"death_date\":\"2026-11-30\"}");
	check(int_at(a.json, "notified") == 1 && eq(str_at(a.json, "record.death_date"), "2026-11-30"), "death event: notified 1");
	answer_free(&a);
	{
		char		q[128];

		snprintf(q, sizeof(q), "subscription_code=%s", codebuf);
		c = callbacks(q, 1);
	}
	s = get("/admin/sink");
	{
		struct json_object *n = sink_body(s.json, "/sink/sub", 1);
		struct json_object *l = at(s.json, "received");
		const char *hdr = NULL;

		for (size_t i = 0; l && i < json_object_array_length(l); i++)
			if (eq(str_at(at(json_object_array_get_idx(l, i), "body"), "header.action"), "notify"))
				hdr = str_at(json_object_array_get_idx(l, i), "subscription_code_header");
		check(eq(str_at(n, "header.action"), "notify") && eq(str_at(n, "message.subscription_code"), codebuf) &&
			  eq(str_at(n, "message.notify_event.0.data.reg_records.0.death_date"), "2026-11-30") && eq(hdr, codebuf),
			  "notify: the record, the code in the message and in X-DCI-Subscription-Code");
	}
	answer_free(&c);
	answer_free(&s);
	a = search("", "crvs", "UIN", "1000002001");
	check(eq(str_at(a.json, "message.search_response.0.data.reg_records.0.death_date"), "2026-11-30"),
		  "later sync searches see the death");
	answer_free(&a);
	a = search("", "opencrvs", "UIN", "1000002001");
	check(eq(str_at(a.json, "message.search_response.0.data.reg_records.0.deathDate"), "2026-11-30"), "so does /opencrvs");
	answer_free(&a);

	/* unsubscribe */
	if (asprintf(&b, "{\"header\":{\"sender_id\":\"feat.test\",\"action\":\"unsubscribe\",\"sender_uri\":\"%s\"},"
				 "\"message\":{\"transaction_id\":\"TU1\",\"timestamp\":\"2026-01-01T00:00:00Z\","
				 "\"subscription_codes\":[\"%s\",\"SUB-NOPE\"]}}", uri, codebuf) < 0)
		exit(2);
	a = post("/opt/nosig,noauth/crvs/registry/unsubscribe", b);
	free(b);
	answer_free(&a);
	c = callbacks("transaction_id=TU1", 1);
	s = get("/admin/sink");
	{
		struct json_object *u = NULL,
				   *l = at(s.json, "received");

		for (size_t i = 0; l && i < json_object_array_length(l); i++)
			if (eq(str_at(at(json_object_array_get_idx(l, i), "body"), "header.action"), "on-unsubscribe"))
				u = at(json_object_array_get_idx(l, i), "body");
		check(eq(str_at(u, "message.subscription_status.0.status"), "unsubscribe") &&
			  eq(str_at(u, "message.subscription_status.1.status"), "rjct") &&
			  eq(str_at(u, "message.status"), "rjct"), "on-unsubscribe: unsubscribe, and rjct for an unknown code");
	}
	answer_free(&c);
	answer_free(&s);
	a = post("/opt/nosig,noauth/crvs/registry/unsubscribe",
			 "{\"header\":{\"sender_id\":\"feat.test\",\"sender_uri\":\"http://x/\"},\"message\":{\"transaction_id\":\"TU2\","
			 "\"sunscription_codes\":[\"SUB-X\"]}}");
	check(a.status == 400 && eq(str_at(a.json, "message.error.code"), "err.request.bad"),
		  "unsubscribe without subscription_codes: 400");
	answer_free(&a);
}

static void
test_opencrvs_death(void)
{
	answer		a = search("", "opencrvs", "UIN", "1000000300");
	char	   *b;

	check(json_object_array_length(at(a.json, "message.search_response")) == 1,
		  "/opencrvs birth register: 1000000300 is there (with deathDate)");
	answer_free(&a);
	b = search_body(NULL, "TD", "UIN", "1000000300", "\"reg_type\":\"ocrvs:registry_type:death\",");
	a = post("/opt/nosig,noauth/opencrvs/registry/sync/search", b);
	free(b);
	check(eq(str_at(a.json, "message.search_response.0.data.reg_records.0.givenName"), "Chioma") &&
		  !at(a.json, "message.search_response.0.data.reg_records.0.birthDate") &&
		  !at(a.json, "message.search_response.0.data.reg_records.0.deathDate") &&
		  eq(str_at(a.json, "message.transaction_id"), "TD"),
		  "OpenCRVS death register: found, no deathDate, transaction_id echoed");
	answer_free(&a);
	a = search("ocrvsheader", "opencrvs", "BRN", "BR-DUP-0001");
	check(eq(str_at(a.json, "header.message_id"), "m1") && eq(str_at(a.json, "header.sender_id"), "feat.test") &&
		  eq(str_at(a.json, "header.receiver_id"), "registry.local") && eq(str_at(a.json, "header.action"), "search") &&
		  int_at(a.json, "header.total_count") == 2, "ocrvsheader: OpenCRVS's header");
	answer_free(&a);
}

int
main(int argc, char **argv)
{
	answer		pk;
	BIO		   *bio;

	if (argc != 4)
	{
		fprintf(stderr, "usage: features BASE_URL TOKEN BLACKHOLE_PORT\n");
		return 2;
	}
	base = argv[1];
	token = argv[2];
	blackhole_port = atoi(argv[3]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pk = get("/admin/pubkey");
	bio = BIO_new_mem_buf(pk.body.data ? pk.body.data : "", -1);
	regkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	answer_free(&pk);
	if (regkey == NULL)
	{
		fprintf(stderr, "features: cannot read the registry's public key\n");
		return 2;
	}
	test_transport();
	test_failfirst();
	test_binding();
	test_hostile();
	test_deviations();
	test_auth();
	test_quota();
	test_async();
	test_subscriptions();
	test_opencrvs_death();
	EVP_PKEY_free(regkey);
	curl_global_cleanup();
	printf("features: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
