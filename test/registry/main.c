/*
 * main.c - dci-registry: a local DCI registry for the dci extension's tests,
 * demo and benchmarks.  See test/registry/README.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>

#include "http_server.h"
#include "registry.h"
#include "sign.h"

registry_state g_reg;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: dci-registry [--port N] [--port-file PATH] --fixtures DIR\n"
			"         [--key PATH] [--rsa-key PATH] [--sender-id ID] [--token TOKEN]...\n"
			"         [--client ID:SECRET[:body|basic|query]]... [--token-ttl SECONDS] [--threads N]\n"
			"         [--revoke-every MS] [--blackhole-port-file PATH] [--quiet]\n"
			"         [--callback-threads N] [--callback-retries N] [--callback-backoff-ms MS]\n"
			"         [--callback-backoff-cap-ms MS] [--callback-timeout-ms MS]\n"
			"         [--callback-cafile PATH] [--callback-insecure]\n"
			"  --port 0 picks a free port (written to --port-file once listening);\n"
			"  a missing --key / --rsa-key file is generated and written.\n");
}

static int
write_port_file(const char *path, int port)
{
	char		tmp[4096];
	FILE	   *f;

	/* write then rename: a reader polling for the file never sees it half written */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
	{
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* One JWK of our key, made by src/sign.c's dci_key_jwk. */
static int
jwk_of(EVP_PKEY *k, const char *kid, dbuf *out, char *err, size_t errlen)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *pem = NULL;
	long		n;
	dci_key    *dk = NULL;
	int			rc = -1;

	if (bio && PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL))
	{
		char	   *data;

		n = BIO_get_mem_data(bio, &data);
		pem = strndup(data, n);
	}
	BIO_free(bio);
	if (pem && (dk = dci_key_load_private(pem, err, errlen)) != NULL)
		rc = dci_key_jwk(dk, kid, out, err, errlen);
	dci_key_free(dk);
	if (pem)
	{
		memset(pem, 0, strlen(pem));
		free(pem);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"port-file", required_argument, NULL, 'P'},
		{"fixtures", required_argument, NULL, 'f'},
		{"key", required_argument, NULL, 'k'},
		{"rsa-key", required_argument, NULL, 'r'},
		{"sender-id", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 't'},
		{"client", required_argument, NULL, 'c'},
		{"token-ttl", required_argument, NULL, 'T'},
		{"threads", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"revoke-every", required_argument, NULL, 'R'},
		{"blackhole-port-file", required_argument, NULL, 'B'},
		{"callback-threads", required_argument, NULL, 1001},
		{"callback-retries", required_argument, NULL, 1002},
		{"callback-backoff-ms", required_argument, NULL, 1003},
		{"callback-backoff-cap-ms", required_argument, NULL, 1004},
		{"callback-timeout-ms", required_argument, NULL, 1005},
		{"callback-cafile", required_argument, NULL, 1006},
		{"callback-insecure", no_argument, NULL, 1007},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long		revoke_every = 0;
	cb_config	cbc = {4, 8, 100, 2000, 5000, NULL, false};
	int			port = 0,
				threads = 2,
				bound,
				c,
				sig;
	const char *port_file = NULL,
			   *blackhole_file = NULL,
			   *fixtures = NULL,
			   *key_path = NULL,
			   *rsa_path = NULL;
	char		err[512];
	sigset_t	set;
	dbuf		jwks;

	g_reg.sender_id = "registry.local";
	g_reg.token_ttl = 3600;
	/* options are read twice: tokens and clients need the TTL, whatever the order */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'p':
				port = atoi(optarg);
				break;
			case 'P':
				port_file = optarg;
				break;
			case 'f':
				fixtures = optarg;
				break;
			case 'k':
				key_path = optarg;
				break;
			case 'r':
				rsa_path = optarg;
				break;
			case 's':
				g_reg.sender_id = optarg;
				break;
			case 'T':
				g_reg.token_ttl = atol(optarg);
				break;
			case 'j':
				threads = atoi(optarg);
				break;
			case 'q':
				g_reg.quiet = true;
				break;
			case 'R':
				revoke_every = atol(optarg);
				break;
			case 'B':
				blackhole_file = optarg;
				break;
			case 1001:
				cbc.threads = atoi(optarg);
				break;
			case 1002:
				cbc.retries = atoi(optarg);
				break;
			case 1003:
				cbc.backoff_ms = atoi(optarg);
				break;
			case 1004:
				cbc.backoff_cap_ms = atoi(optarg);
				break;
			case 1005:
				cbc.timeout_ms = atoi(optarg);
				break;
			case 1006:
				cbc.cafile = optarg;
				break;
			case 1007:
				cbc.insecure = true;
				break;
			case 't':
			case 'c':
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (fixtures == NULL || port < 0 || port > 65535 || threads < 1 || threads > 256 ||
		g_reg.token_ttl < 0 || revoke_every < 0 || cbc.threads < 1 || cbc.threads > 64 ||
		cbc.retries < 0 || cbc.backoff_ms < 1 || cbc.backoff_cap_ms < cbc.backoff_ms || cbc.timeout_ms < 1)
	{
		usage(stderr);
		return 2;
	}
	auth_init(g_reg.token_ttl);
	counters_init();
	senders_init();
	txn_init();
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		if (c == 't')
			auth_add_static_token(optarg);
		else if (c == 'c')
		{
			const char *colon = strchr(optarg, ':');
			const char *last = strrchr(optarg, ':');
			client_auth method = CLIENT_BODY;
			size_t		slen;
			char	   *id,
					   *secret;

			if (colon == NULL || colon == optarg)
			{
				fprintf(stderr, "dci-registry: --client wants ID:SECRET[:body|basic|query]\n");
				return 2;
			}
			/* a trailing :body, :basic or :query is the method; the secret may hold colons */
			slen = strlen(colon + 1);
			if (last != colon && client_auth_parse(last + 1, &method) == 0)
				slen = last - (colon + 1);
			/* copies: writing into argv would show in ps */
			id = strndup(optarg, colon - optarg);
			secret = strndup(colon + 1, slen);
			auth_add_client(id, secret, -1, method);
			free(id);
			free(secret);
		}
	}

	/* SIGTERM/SIGINT are taken with sigwait below; every thread inherits the mask */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((g_reg.ed_key = keys_load_or_generate(key_path, KEY_ED25519, err, sizeof(err))) == NULL ||
		(g_reg.rsa_key = keys_load_or_generate(rsa_path, KEY_RS256, err, sizeof(err))) == NULL)
	{
		fprintf(stderr, "dci-registry: %s\n", err);
		return 1;
	}
	snprintf(g_reg.ed_kid, sizeof(g_reg.ed_kid), "%s|reg-key-1|ed25519", g_reg.sender_id);
	snprintf(g_reg.rsa_kid, sizeof(g_reg.rsa_kid), "%s|reg-rsa-1|rs256", g_reg.sender_id);
	g_reg.ed_pub_pem = keys_public_pem(g_reg.ed_key);
	g_reg.rsa_pub_pem = keys_public_pem(g_reg.rsa_key);
	dbuf_init(&jwks);
	dbuf_puts(&jwks, "{\"keys\":[");
	if (g_reg.ed_pub_pem == NULL || g_reg.rsa_pub_pem == NULL ||
		jwk_of(g_reg.ed_key, g_reg.ed_kid, &jwks, err, sizeof(err)) < 0 ||
		dbuf_putc(&jwks, ',') < 0 ||
		jwk_of(g_reg.rsa_key, g_reg.rsa_kid, &jwks, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "dci-registry: cannot publish our keys: %s\n", err);
		return 1;
	}
	dbuf_puts(&jwks, "]}");
	g_reg.jwks = dbuf_steal(&jwks);

	if (fixtures_load(fixtures, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "dci-registry: fixtures: %s\n", err);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || callbacks_start(&cbc, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "dci-registry: callbacks: %s\n", err);
		return 1;
	}
	if (http_start(port, threads, &bound, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "dci-registry: %s\n", err);
		return 1;
	}
	if (blackhole_file)
	{
		int			bh;

		if (blackhole_start(&bh, err, sizeof(err)) < 0 || write_port_file(blackhole_file, bh) < 0)
		{
			fprintf(stderr, "dci-registry: %s\n", blackhole_file ? err : "blackhole");
			http_stop();
			return 1;
		}
	}
	if (revoke_every > 0)
		auth_revoke_every(revoke_every);
	if (port_file && write_port_file(port_file, bound) < 0)
	{
		fprintf(stderr, "dci-registry: cannot write %s\n", port_file);
		http_stop();
		return 1;
	}
	if (!g_reg.quiet)
		fprintf(stderr, "dci-registry: listening on http://127.0.0.1:%d (%d threads; crvs %zu, ibr %zu, "
				"dr %zu records)\n", bound, threads, fixtures_view(REG_CRVS)->nrec,
				fixtures_view(REG_IBR)->nrec, fixtures_view(REG_DR)->nrec);
	sigwait(&set, &sig);
	if (!g_reg.quiet)
		fprintf(stderr, "dci-registry: signal %d, stopping\n", sig);
	http_stop();
	callbacks_stop();
	curl_global_cleanup();
	blackhole_stop();
	auth_shutdown();
	subs_shutdown();
	txn_shutdown();
	fixtures_free();
	keys_shutdown();
	counters_shutdown();
	senders_shutdown();
	EVP_PKEY_free(g_reg.ed_key);
	EVP_PKEY_free(g_reg.rsa_key);
	free(g_reg.ed_pub_pem);
	free(g_reg.rsa_pub_pem);
	free(g_reg.jwks);
	return 0;
}
