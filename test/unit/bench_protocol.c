/*
 * bench_protocol.c - what one answer costs the protocol layer.
 *
 *   bench_protocol [iterations]   a signed answer of 100 search_response items,
 *                                 one CRVS record each: parse, verify, find
 *                                 each item and map its record (µs per answer)
 *   bench_protocol --memory MB    a signed answer whose message holds MB of
 *                                 [[],[],...]: peak memory of parse + verify
 *
 * Build (no PostgreSQL):
 *   gcc -O2 -std=gnu11 -Isrc -o test/unit/bench_protocol test/unit/bench_protocol.c \
 *       src/canonjson.c src/dbuf.c src/envelope.c src/records.c src/sign.c -lcrypto -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "canonjson.h"
#include "envelope.h"
#include "records.h"
#include "sign.h"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A fresh Ed25519 key pair (the registry's, for the benchmark). */
static void
key_pair(dci_key **priv, dci_key **pub)
{
	char	   *priv_pem,
			   *pub_pem;
	char		err[256];

	if (dci_key_generate(DCI_ALG_ED25519, &priv_pem, &pub_pem, err, sizeof(err)) != 0 ||
		(*priv = dci_key_load_private(priv_pem, err, sizeof(err))) == NULL ||
		(*pub = dci_key_load_public(pub_pem, err, sizeof(err))) == NULL)
	{
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	free(priv_pem);
	free(pub_pem);
}

/* {"signature":S,"header":H,"message":M} signed by key over the canonical envelope text env. */
static void
sign_answer(dci_key *key, const dbuf *env, long now, dbuf *body)
{
	dbuf		canon,
				field;
	char		err[256];
	cj_limits	lim = {100000000, 0};
	cj_node    *n = cj_parse_ex(env->data, env->len, &lim, NULL, err, sizeof(err));

	dbuf_init(&canon);
	dbuf_init(&field);
	if (n == NULL || cj_canonical(n, &canon) != 0 ||
		dci_sig_sign(key, "registry.local|k|ed25519", canon.data, canon.len, now, now + 300, &field, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "bench: cannot sign: %s\n", err);
		exit(1);
	}
	dbuf_puts(body, "{\"signature\":");
	dci_json_string(body, field.data);
	dbuf_putc(body, ',');
	dbuf_append(body, canon.data + 1, canon.len - 1);
	cj_free(n);
	dbuf_free(&canon);
	dbuf_free(&field);
}

/* The envelope of a 100-item answer: each item one CRVS record, as the local registry sends them. */
static void
hundred_items(dbuf *t)
{
	dbuf_puts(t, "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"m-1\",\"message_ts\":\"2025-01-01T00:00:00Z\","
			  "\"action\":\"on-search\",\"status\":\"succ\",\"total_count\":100,\"completed_count\":100,"
			  "\"sender_id\":\"registry.local\",\"receiver_id\":\"spmis\",\"is_msg_encrypted\":false,\"meta\":{}},"
			  "\"message\":{\"transaction_id\":\"txn-1\",\"correlation_id\":\"c-1\",\"search_response\":[");
	for (int i = 0; i < 100; i++)
		dbuf_printf(t, "%s{\"reference_id\":\"ref-%d\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"succ\","
					"\"data\":{\"version\":\"1.0.0\",\"reg_type\":\"ns:org:RegistryType:Civil\",\"reg_record_type\":\"person\","
					"\"reg_records\":[{\"identifier\": [{\"identifier_type\": \"UIN\", \"identifier_value\": \"%d\"}, "
					"{\"identifier_type\": \"BRN\", \"identifier_value\": \"BR-2024-%04d\"}], \"name\": {\"given_name\": "
					"\"Amina\", \"second_name\": \"\", \"surname\": \"Okafor\"}, \"sex\": \"female\", \"birth_date\": "
					"\"2024-03-15\", \"birth_place\": \"Lagos General Hospital\", \"marital_status\": \"single\", "
					"\"parent1_identifier\": \"1000000901\", \"parent2_identifier\": \"1000000902\", "
					"\"registration_date\": \"2024-03-20\", \"last_updated\": \"2024-03-20T09:00:00Z\"}]},"
					"\"pagination\":{\"page_size\":1,\"page_number\":1,\"total_count\":1},\"locale\":\"eng\"}",
					i ? "," : "", i, 1000000000 + i, i);
	dbuf_puts(t, "]}}");
}

static int
bench_time(int iters)
{
	char		err[256];
	dci_key    *priv,
			   *pub;
	dbuf		env,
				body;
	long		now = (long) time(NULL);
	double		tp = 0,
				tv = 0,
				tm = 0;
	long		found = 0;

	key_pair(&priv, &pub);
	dbuf_init(&env);
	dbuf_init(&body);
	hundred_items(&env);
	sign_answer(priv, &env, now, &body);
	for (int it = 0; it < iters; it++)
	{
		dci_response r;
		double		a = now_s(),
					b,
					c;

		if (dci_response_parse(body.data, body.len, NULL, &r, err, sizeof(err)) != CJ_OK)
		{
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
		b = now_s();
		if (dci_verify_parsed(&r, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) != DCI_SIG_OK)
		{
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
		c = now_s();
		for (int i = 0; i < 100; i++)
		{
			char		ref[32];
			const cj_node *recs;

			snprintf(ref, sizeof(ref), "ref-%d", i);
			recs = dci_item_records(dci_response_item(&r, ref, i));
			for (size_t k = 0; k < dci_records_len(recs); k++)
			{
				dci_birth	bb;

				if (dci_map_birth(dci_records_get(recs, k), DCI_PROFILE_SPDCI, "BRN", &bb) == DCI_REC_OK &&
					bb.identifier_value)
					found++;
				dci_birth_clear(&bb);
			}
		}
		dci_response_free(&r);
		tp += b - a;
		tv += c - b;
		tm += now_s() - c;
	}
	printf("answer of %zu bytes, 100 items; %d iterations; per answer: %.1f us "
		   "(parse %.1f, verify %.1f, map %.1f); %ld records mapped\n",
		   body.len, iters, (tp + tv + tm) / iters * 1e6, tp / iters * 1e6, tv / iters * 1e6,
		   tm / iters * 1e6, found);
	dbuf_free(&env);
	dbuf_free(&body);
	dci_key_free(priv);
	dci_key_free(pub);
	return 0;
}

static long
status_kb(const char *field)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			kb = atol(line + strlen(field));
	fclose(f);
	return kb;
}

static int
bench_memory(int mb)
{
	char		err[256];
	dci_key    *priv,
			   *pub;
	dbuf		env,
				body;
	long		now = (long) time(NULL);
	size_t		n = (size_t) mb * 1024 * 1024 / 3;
	pid_t		pid;
	int			st;

	key_pair(&priv, &pub);
	dbuf_init(&env);
	dbuf_init(&body);
	dbuf_puts(&env, "{\"header\":{\"status\":\"succ\"},\"message\":{\"x\":[");
	for (size_t i = 0; i < n; i++)
		dbuf_puts(&env, i ? ",[]" : "[]");
	dbuf_puts(&env, "]}}");
	sign_answer(priv, &env, now, &body);
	dbuf_free(&env);
	fflush(stdout);
	/* in a child, so its peak is this parse's alone */
	pid = fork();
	if (pid == 0)
	{
		dci_response r;
		cj_limits	lim = {100000000, 0};
		long		before = status_kb("VmRSS:");
		double		t0 = now_s();
		cj_result	res = dci_response_parse(body.data, body.len, &lim, &r, err, sizeof(err));
		dci_sig_result sr = res == CJ_OK ? dci_verify_parsed(&r, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) :
			DCI_SIG_MALFORMED;
		double		t1 = now_s();
		long		peak = status_kb("VmHWM:");

		printf("signed answer of %zu bytes (%zu empty arrays): %s, signature %s, %.0f ms, "
			   "tree %zu bytes, peak memory +%ld kB (%.1fx the answer)\n",
			   body.len, n, cj_result_name(res), dci_sig_result_name(sr), (t1 - t0) * 1e3,
			   cj_memory(r.root), peak - before, (peak - before) * 1024.0 / body.len);
		dci_response_free(&r);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	dbuf_free(&body);
	dci_key_free(priv);
	dci_key_free(pub);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--memory") == 0)
		return bench_memory(atoi(argv[2]));
	return bench_time(argc > 1 ? atoi(argv[1]) : 2000);
}
