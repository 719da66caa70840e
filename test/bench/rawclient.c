/*
 * rawclient.c - the benchmark's baseline: signed DCI searches straight from
 * C with libcurl, one identifier per envelope, one request after another,
 * exactly what a per-row dci_verify_birth sends, minus PostgreSQL.
 *
 * Each request is built fresh with the extension's own dci_build_search
 * (new message_id and transaction_id, dci-ed25519 signature), POSTed with a
 * bearer token, and its answer must be HTTP 200.  By default one easy
 * handle is reused, so the connection is kept alive; --fresh opens a new
 * TCP connection for every request (FORBID_REUSE + FRESH_CONNECT), the way
 * an HTTP extension without a connection cache works.  --verify also does
 * what the extension does with each answer: parse it, check the registry's
 * signature and find the item.
 *
 *   rawclient --url URL --key PRIV.pem --kid 'sender|key|ed25519'
 *             --sender SENDER --token TOKEN [--receiver ID] [--reg-type T]
 *             [--idtype UIN] --first 3000000001 --count M --n N
 *             [--fresh] [--verify REGISTRY_PUB.pem]
 *
 * Identifier i (0-based) is first + i % count.  Prints one line:
 *   requests=N ok=N failed=0 found=N seconds=S rate=R connections=C cpu=S
 * and exits 1 when any request failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "envelope.h"
#include "sign.h"

static void
usage(void)
{
	fprintf(stderr,
			"usage: rawclient --url URL --key PRIV.pem --kid KID --sender ID --token T\n"
			"                 [--receiver ID] [--reg-type T] [--idtype UIN]\n"
			"                 --first NUM --count M --n N [--fresh] [--verify PUB.pem]\n");
	exit(2);
}

static char *
read_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	dbuf		b;
	char		buf[4096];
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "rawclient: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	dbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		dbuf_append(&b, buf, n);
	fclose(f);
	if (b.data == NULL)
	{
		fprintf(stderr, "rawclient: %s is empty\n", path);
		exit(2);
	}
	return dbuf_steal(&b);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return dbuf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	const char *url = NULL,
			   *keyfile = NULL,
			   *kid = NULL,
			   *sender = NULL,
			   *token = NULL,
			   *receiver = "registry.local",
			   *reg_type = "ns:org:RegistryType:Civil",
			   *idtype = "UIN",
			   *verify_file = NULL;
	long long	first = -1;
	long		count = 0,
				n = 0;
	int			fresh = 0;
	char		err[256];
	char	   *pem;
	dci_key    *key,
			   *regpub = NULL;
	dci_signer	signer;
	CURL	   *c;
	struct curl_slist *headers = NULL;
	char		auth[1024];
	dbuf		body,
				out;
	long		ok = 0,
				failed = 0,
				found = 0,
				connections = 0;
	double		t0,
				t1,
				c0,
				c1;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--fresh") == 0)
		{
			fresh = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "--key") == 0)
			keyfile = v;
		else if (strcmp(a, "--kid") == 0)
			kid = v;
		else if (strcmp(a, "--sender") == 0)
			sender = v;
		else if (strcmp(a, "--token") == 0)
			token = v;
		else if (strcmp(a, "--receiver") == 0)
			receiver = v;
		else if (strcmp(a, "--reg-type") == 0)
			reg_type = v;
		else if (strcmp(a, "--idtype") == 0)
			idtype = v;
		else if (strcmp(a, "--first") == 0)
			first = atoll(v);
		else if (strcmp(a, "--count") == 0)
			count = atol(v);
		else if (strcmp(a, "--n") == 0)
			n = atol(v);
		else if (strcmp(a, "--verify") == 0)
			verify_file = v;
		else
			usage();
	}
	if (!url || !keyfile || !kid || !sender || !token || first < 0 || count <= 0 || n <= 0)
		usage();

	pem = read_file(keyfile);
	key = dci_key_load_private(pem, err, sizeof(err));
	memset(pem, 0, strlen(pem));
	free(pem);
	if (key == NULL)
	{
		fprintf(stderr, "rawclient: %s: %s\n", keyfile, err);
		return 2;
	}
	if (verify_file)
	{
		pem = read_file(verify_file);
		regpub = dci_key_load_public(pem, err, sizeof(err));
		free(pem);
		if (regpub == NULL)
		{
			fprintf(stderr, "rawclient: %s: %s\n", verify_file, err);
			return 2;
		}
	}
	signer.mode = DCI_SIGN_ED25519;
	signer.key = key;
	signer.kid = kid;
	signer.validity = 300;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	/* the headers and options src/http.c sets */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	headers = curl_slist_append(headers, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dci-rawclient/0.1.0");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (fresh)
	{
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	}

	dbuf_init(&body);
	dbuf_init(&out);
	t0 = now_s();
	c0 = cpu_s();
	for (long i = 0; i < n; i++)
	{
		char		msgid[37],
					txn[37],
					ref[48],
					value[32],
					query[128];
		dci_header	h;
		dci_search_item it;
		CURLcode	rc;
		long		status = 0,
					nconn = 0;

		/* the envelope dci_verify_birth sends: one idtype-value item */
		dci_uuid(msgid);
		dci_uuid(txn);
		snprintf(ref, sizeof(ref), "%s-0", txn);
		snprintf(value, sizeof(value), "%lld", first + i % count);
		dbuf_reset(&body);
		dbuf_puts(&body, "{\"type\":");
		dci_json_string(&body, idtype);
		dbuf_puts(&body, ",\"value\":");
		dci_json_string(&body, value);
		dbuf_putc(&body, '}');
		snprintf(query, sizeof(query), "%s", body.data);
		dbuf_reset(&body);

		memset(&it, 0, sizeof(it));
		it.reference_id = ref;
		it.reg_type = reg_type;
		it.query_type = "idtype-value";
		it.query_json = query;
		it.query_len = strlen(query);
		h.message_id = msgid;
		h.message_ts = (long) time(NULL);
		h.action = "search";
		h.sender_id = sender;
		h.sender_uri = NULL;
		h.receiver_id = receiver;
		h.total_count = 1;
		if (dci_build_search(&h, txn, &it, 1, &signer, &body, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "rawclient: cannot build the envelope: %s\n", err);
			return 2;
		}

		dbuf_reset(&out);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body.len);
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
			connections += nconn;
		if (rc != CURLE_OK || status != 200)
		{
			if (failed < 3)
				fprintf(stderr, "rawclient: request %ld (%s): %s HTTP %ld %.200s\n", i, value,
						rc != CURLE_OK ? curl_easy_strerror(rc) : "", status,
						out.data ? out.data : "");
			failed++;
			continue;
		}
		ok++;
		if (regpub)
		{
			/* what the extension does with an answer: parse once, verify, find the item */
			dci_response r;
			dci_sig_result sr = DCI_SIG_MALFORMED;

			if (dci_response_parse(out.data, out.len, NULL, &r, err, sizeof(err)) == CJ_OK)
				sr = dci_verify_parsed(&r, DCI_SIGN_ED25519, regpub, (long) time(NULL), 60,
									   err, sizeof(err));
			if (sr != DCI_SIG_OK)
			{
				if (failed < 3)
					fprintf(stderr, "rawclient: request %ld: signature %s: %s\n", i,
							dci_sig_result_name(sr), err);
				dci_response_free(&r);
				failed++;
				ok--;
				continue;
			}
			{
				const cj_node *item = dci_response_item(&r, ref, 0);

				if (item && dci_records_len(dci_item_records(item)) > 0)
					found++;
			}
			dci_response_free(&r);
		}
		else if (out.data && strstr(out.data, "\"reg_records\":[{") != NULL)
			found++;
	}
	t1 = now_s();
	c1 = cpu_s();

	printf("requests=%ld ok=%ld failed=%ld found=%ld seconds=%.3f rate=%.1f connections=%ld cpu=%.3f\n",
		   n, ok, failed, found, t1 - t0, n / (t1 - t0), connections, c1 - c0);

	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	dbuf_free(&body);
	dbuf_free(&out);
	dci_key_free(key);
	if (regpub)
		dci_key_free(regpub);
	return failed ? 1 : 0;
}
