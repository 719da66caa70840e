/*
 * smoke.c - end-to-end check of a running dci-registry with the extension's
 * own protocol layer (src/envelope.c, sign.c, canonjson.c): register a key,
 * send signed searches (dci-ed25519 to /crvs, jws-rs256 to /opencrvs) and
 * verify the signed answers.  Exit status 0 when every check passes.
 *
 *   smoke http://127.0.0.1:PORT BEARER_TOKEN
 *
 * Lives in its own directory: every .c file in test/registry is the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "envelope.h"
#include "sign.h"

static int	failures;

static void
check(int ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, detail ? " - " : "", detail ? detail : "");
	if (!ok)
		failures++;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	dbuf_append(arg, p, size * n);
	return size * n;
}

/* One HTTP request; the body of the answer goes to out.  Returns the HTTP status. */
static long
http(const char *method, const char *url, const char *bearer, const char *body, dbuf *out)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char		auth[512];
	long		status = 0;

	dbuf_reset(out);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (bearer)
	{
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static dci_key *
key_pair(dci_key_alg alg, char **pub_pem)
{
	char	   *priv,
				err[256];
	dci_key    *k;

	if (dci_key_generate(alg, &priv, pub_pem, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "smoke: %s\n", err);
		exit(2);
	}
	k = dci_key_load_private(priv, err, sizeof(err));
	free(priv);
	if (k == NULL)
	{
		fprintf(stderr, "smoke: %s\n", err);
		exit(2);
	}
	return k;
}

/* Build a signed search for one identifier, POST it, verify and count records. */
static void
search(const char *base, const char *path, const char *bearer, const dci_signer *signer,
	   const dci_key *regpub, const char *idtype, const char *value, long want_records,
	   const char *what)
{
	char		url[512],
				msgid[37],
				err[256],
				detail[512];
	dci_header	h = {msgid, time(NULL), "search", "smoke.test", "", "registry.local", 1};
	dci_search_item it = {"ref-1", "ns:org:RegistryType:Civil", NULL, "idtype-value", NULL, 0,
	0, 0, "eng"};
	char		query[256];
	dbuf		body,
				out;
	long		status;
	dci_response r;

	dci_uuid(msgid);
	snprintf(query, sizeof(query), "{\"type\":\"%s\",\"value\":\"%s\"}", idtype, value);
	it.query_json = query;
	it.query_len = strlen(query);
	dbuf_init(&body);
	dbuf_init(&out);
	if (dci_build_search(&h, "txn-smoke", &it, 1, signer, &body, err, sizeof(err)) < 0)
	{
		check(0, what, err);
		return;
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	status = http("POST", url, bearer, body.data, &out);
	snprintf(detail, sizeof(detail), "HTTP %ld: %.300s", status, out.data ? out.data : "");
	if (status != 200)
	{
		check(0, what, detail);
		goto done;
	}
	{
		dci_sig_result v = dci_verify_response(out.data, out.len, signer->mode, regpub,
											   time(NULL), 60, err, sizeof(err));

		check(v == DCI_SIG_OK, "response signature verifies", v == DCI_SIG_OK ? NULL : err);
	}
	if (dci_response_parse(out.data, out.len, &r, err, sizeof(err)) < 0)
	{
		check(0, what, err);
		goto done;
	}
	{
		struct json_object *item = dci_response_item(&r, "ref-1", 0);
		long		n = item ? (long) dci_records_len(dci_item_records(item)) : 0;

		snprintf(detail, sizeof(detail), "%ld record(s), want %ld", n, want_records);
		check(n == want_records, what, detail);
	}
	dci_response_free(&r);
done:
	dbuf_free(&body);
	dbuf_free(&out);
}

int
main(int argc, char **argv)
{
	const char *base,
			   *bearer;
	char	   *ed_pub,
			   *rsa_pub,
				err[256],
				url[512];
	dci_key    *ed,
			   *rsa,
			   *regpub,
			   *regrsa;
	dbuf		jwks,
				out;
	long		status;

	if (argc != 3)
	{
		fprintf(stderr, "usage: smoke http://127.0.0.1:PORT BEARER_TOKEN\n");
		return 2;
	}
	base = argv[1];
	bearer = argv[2];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	dbuf_init(&jwks);
	dbuf_init(&out);

	/* our keys, registered the way the demo does: a JWKS to /admin/senders */
	ed = key_pair(DCI_ALG_ED25519, &ed_pub);
	rsa = key_pair(DCI_ALG_RS256, &rsa_pub);
	dbuf_puts(&jwks, "{\"keys\":[");
	if (dci_key_jwk(ed, "smoke.test|smoke-key|ed25519", &jwks, err, sizeof(err)) < 0 ||
		dbuf_putc(&jwks, ',') < 0 || dci_key_jwk(rsa, "smoke-rsa", &jwks, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "smoke: %s\n", err);
		return 2;
	}
	dbuf_puts(&jwks, "]}");
	snprintf(url, sizeof(url), "%s/admin/senders", base);
	status = http("POST", url, NULL, jwks.data, &out);
	check(status == 200, "register our JWKS", out.data);

	snprintf(url, sizeof(url), "%s/admin/pubkey", base);
	http("GET", url, NULL, NULL, &out);
	regpub = dci_key_load_public(out.data ? out.data : "", err, sizeof(err));
	snprintf(url, sizeof(url), "%s/admin/pubkey?alg=rs256", base);
	http("GET", url, NULL, NULL, &out);
	regrsa = dci_key_load_public(out.data ? out.data : "", err, sizeof(err));
	check(regpub != NULL && regrsa != NULL, "registry public keys load", regpub ? NULL : err);
	if (regpub == NULL || regrsa == NULL)
		return 1;

	{
		dci_signer	s = {DCI_SIGN_ED25519, ed, "smoke.test|smoke-key|ed25519", 300};
		dci_signer	j = {DCI_SIGN_JWS_RS256, rsa, "smoke-rsa", 300};
		dci_signer	wrong = {DCI_SIGN_ED25519, ed, "smoke.test|other-key|ed25519", 300};

		search(base, "/crvs/registry/sync/search", bearer, &s, regpub, "BRN", "BR-2024-0042", 1,
			   "crvs: signed search finds BR-2024-0042");
		search(base, "/crvs/registry/sync/search", bearer, &s, regpub, "BRN", "BR-DUP-0001", 2,
			   "crvs: BR-DUP-0001 has two records");
		search(base, "/crvs/registry/sync/search", bearer, &s, regpub, "UIN", "1000000009", 1,
			   "crvs: non-ASCII record, signature over \\u escapes");
		search(base, "/ibr/registry/sync/search", bearer, &s, regpub, "UIN", "1000000100", 2,
			   "ibr: two enrollments");
		search(base, "/dr/registry/sync/search", bearer, &s, regpub, "UIN", "1000000200", 1,
			   "dr: 1000000200");
		search(base, "/opencrvs/registry/sync/search", bearer, &j, regrsa, "BRN", "BR-2024-0042", 1,
			   "opencrvs: jws-rs256 search");

		/* negative: an unregistered kid must be refused, not answered */
		{
			char		msgid[37];
			dci_header	h = {msgid, time(NULL), "search", "smoke.test", "", "registry.local", 1};
			dci_search_item it = {"ref-1", NULL, NULL, "idtype-value",
			"{\"type\":\"BRN\",\"value\":\"BR-2024-0042\"}", 37, 0, 0, NULL};
			dbuf		body;

			dci_uuid(msgid);
			dbuf_init(&body);
			dci_build_search(&h, "txn", &it, 1, &wrong, &body, err, sizeof(err));
			snprintf(url, sizeof(url), "%s/crvs/registry/sync/search", base);
			status = http("POST", url, bearer, body.data, &out);
			check(status == 401 && out.data && strstr(out.data, "err.sender.unknown"),
				  "unregistered kid is refused with err.sender.unknown", out.data);
			status = http("POST", url, "wrong-token", body.data, &out);
			check(status == 401, "wrong bearer token is refused", NULL);
			dbuf_free(&body);
		}
	}

	dci_key_free(ed);
	dci_key_free(rsa);
	dci_key_free(regpub);
	dci_key_free(regrsa);
	free(ed_pub);
	free(rsa_pub);
	dbuf_free(&jwks);
	dbuf_free(&out);
	curl_global_cleanup();
	printf("smoke: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
