/*
 * test_envelope.c - unit tests of the request builders, response binding and
 * verification on the parsed tree, callbacks and ACKs (src/callback.c), the
 * small replies (src/replies.c) and the text sanitizer (src/dbuf.c).
 *
 * It also writes the sample envelopes that test/schema/validate checks
 * against the published schemas: test_protocol --emit-samples DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "callback.h"
#include "canonjson.h"
#include "envelope.h"
#include "replies.h"
#include "sign.h"
#include "unit.h"

/* 2025-01-01T00:00:00Z */
#define T0 1735689600L
#define KID "spmis.example.org|key-1|ed25519"

/* The vector's Ed25519 key, private or public (NULL and a failure if unreadable). */
static dci_key *
vector_key(int private)
{
	char		err[256];
	size_t		len;
	char	   *text = unit_read_file(unit_vector_path("dci-ed25519.json"), &len);
	cj_node    *root = text ? cj_parse(text, len, err, sizeof(err)) : NULL;
	const char *pem = cj_string(cj_get(root, private ? "private_key_pem" : "public_key_pem"));
	dci_key    *k = pem ? (private ? dci_key_load_private(pem, err, sizeof(err)) :
						   dci_key_load_public(pem, err, sizeof(err))) : NULL;

	CHECK(k != NULL, "vector key loads");
	cj_free(root);
	free(text);
	return k;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static dci_header
header_of(const char *action, const char *sender_uri, int total)
{
	dci_header	h = {"11111111-2222-4333-8444-555555555555", T0, action, "spmis.example.org",
	sender_uri, "registry.example.org", total};

	return h;
}

/* ---- samples: every request kind we send, and the bodies we are sent ---- */

static const char *const cb_on_search[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-1\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"on-search\","
	"\"status\":\"succ\",\"total_count\":2,\"completed_count\":2,\"sender_id\":\"registry.example.org\","
	"\"receiver_id\":\"spmis.example.org\",\"is_msg_encrypted\":false,\"meta\":{}}",
	"{\"transaction_id\":\"txn-1\",\"correlation_id\":\"corr-9\",\"search_response\":["
	"{\"reference_id\":\"r-0\",\"timestamp\":\"2025-01-01T00:00:05Z\",\"status\":\"succ\","
	"\"data\":{\"version\":\"1.0.0\",\"reg_type\":\"ns:org:RegistryType:Civil\",\"reg_record_type\":\"person\","
	"\"reg_records\":[{\"identifier\":[{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-1\"}],"
	"\"name\":{\"given_name\":\"Amina\",\"surname\":\"Okafor\"},\"birth_date\":\"2024-03-15\"}]},"
	"\"pagination\":{\"page_size\":10,\"page_number\":1,\"total_count\":1},\"locale\":\"eng\"},"
	"{\"reference_id\":\"r-1\",\"timestamp\":\"2025-01-01T00:00:05Z\",\"status\":\"rjct\","
	"\"status_reason_code\":\"rjct.reference_id.invalid\",\"status_reason_message\":\"unknown\"}]}"
};

static const char *const cb_on_subscribe[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-2\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"on-subscribe\","
	"\"sender_id\":\"registry.example.org\",\"receiver_id\":\"spmis.example.org\",\"total_count\":1,"
	"\"is_msg_encrypted\":false,\"meta\":{}}",
	"{\"transaction_id\":\"txn-2\",\"correlation_id\":\"corr-2\",\"subscribe_response\":["
	"{\"reference_id\":\"s-0\",\"timestamp\":\"2025-01-01T00:00:05Z\",\"status\":\"succ\",\"subscriptions\":["
	"{\"code\":\"SUB-1\",\"status\":\"subscribe\",\"timestamp\":\"2025-01-01T00:00:05Z\"},"
	"{\"code\":\"SUB-2\",\"status\":\"subscribe\",\"timestamp\":\"2025-01-01T00:00:06Z\"}]}]}"
};

static const char *const cb_on_unsubscribe[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-3\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"on-unsubscribe\","
	"\"sender_id\":\"registry.example.org\",\"receiver_id\":\"spmis.example.org\",\"total_count\":1,"
	"\"is_msg_encrypted\":false,\"meta\":{}}",
	"{\"transaction_id\":\"txn-3\",\"correlation_id\":\"corr-3\",\"timestamp\":\"2025-01-01T00:00:05Z\","
	"\"status\":\"succ\",\"subscription_status\":[{\"code\":\"SUB-1\",\"status\":\"unsubscribe\"}]}"
};

static const char *const cb_notify[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-4\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"notify\","
	"\"status\":\"succ\",\"total_count\":1,\"sender_id\":\"registry.example.org\","
	"\"receiver_id\":\"spmis.example.org\",\"is_msg_encrypted\":false,\"meta\":{}}",
	"{\"transaction_id\":\"txn-4\",\"notify_event\":[{\"reference_id\":\"n-0\",\"timestamp\":\"2025-01-01T00:00:05Z\","
	"\"data\":{\"version\":\"1.0.0\",\"reg_type\":\"ns:org:RegistryType:Civil\",\"reg_event_type\":\"birth\","
	"\"reg_record_type\":\"person\",\"reg_records\":{\"identifier\":[{\"identifier_type\":\"BRN\","
	"\"identifier_value\":\"B-9\"}],\"birth_date\":\"2025-01-01\"}},\"locale\":\"eng\"}]}"
};

static const char *const cb_txn_on_status[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-5\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"txn-on-status\","
	"\"status\":\"succ\",\"total_count\":1,\"completed_count\":1,\"sender_id\":\"registry.example.org\","
	"\"receiver_id\":\"spmis.example.org\",\"is_msg_encrypted\":false,\"meta\":{}}",
	"{\"transaction_id\":\"txn-5\",\"correlation_id\":\"corr-5\",\"txnstatus_response\":{\"txn_type\":\"search\","
	"\"txn_status\":{\"transaction_id\":\"txn-1\",\"correlation_id\":\"corr-9\",\"search_response\":["
	"{\"reference_id\":\"r-0\",\"timestamp\":\"2025-01-01T00:00:05Z\",\"status\":\"succ\","
	"\"data\":{\"reg_record_type\":\"person\",\"reg_records\":[{\"identifier\":[{\"identifier_type\":\"BRN\","
	"\"identifier_value\":\"B-1\"}]}]}}]}}}"
};

static const char *const cb_txn_on_status_sub[2] = {
	"{\"version\":\"1.0.0\",\"message_id\":\"m-cb-6\",\"message_ts\":\"2025-01-01T00:00:05Z\",\"action\":\"txn-on-status\","
	"\"status\":\"succ\",\"sender_id\":\"registry.example.org\",\"receiver_id\":\"spmis.example.org\"}",
	"{\"transaction_id\":\"txn-6\",\"correlation_id\":\"corr-6\",\"txnstatus_response\":{\"txn_type\":\"subscribe\","
	"\"txn_status\":{\"transaction_id\":\"txn-2\",\"correlation_id\":\"corr-2\",\"subscribe_response\":["
	"{\"reference_id\":\"s-0\",\"timestamp\":\"2025-01-01T00:00:05Z\",\"status\":\"succ\",\"subscriptions\":"
	"[{\"code\":\"SUB-7\",\"status\":\"subscribe\",\"timestamp\":\"2025-01-01T00:00:05Z\"}]}]}}}"
};

/* s with its first from replaced by to (malloc'd). */
static char *
replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	dbuf		b;

	CHECK(at != NULL, "sample text holds %s", from);
	dbuf_init(&b);
	if (at == NULL)
		dbuf_puts(&b, s);
	else
	{
		dbuf_append(&b, s, at - s);
		dbuf_puts(&b, to);
		dbuf_puts(&b, at + strlen(from));
	}
	return dbuf_steal(&b);
}

/* {"signature":S,"header":H,"message":M}, signed with the vector key at T0 (or unsigned). */
static void
signed_body(const char *header, const char *message, int sign, dbuf *out)
{
	dbuf		env,
				canon,
				sig;
	char		err[256];
	cj_node    *n;
	dci_key    *k = sign ? vector_key(1) : NULL;

	dbuf_init(&env);
	dbuf_init(&canon);
	dbuf_init(&sig);
	dbuf_printf(&env, "{\"header\":%s,\"message\":%s}", header, message);
	n = cj_parse(env.data, env.len, err, sizeof(err));
	CHECK(n != NULL && cj_canonical(n, &canon) == 0, "sample envelope parses: %s", err);
	if (k != NULL && dci_sig_sign(k, "registry.example.org|rk|ed25519", canon.data, canon.len, T0, T0 + 300,
								  &sig, err, sizeof(err)) == 0)
	{
		dbuf_puts(out, "{\"signature\":");
		dci_json_string(out, sig.data);
		dbuf_putc(out, ',');
		dbuf_append(out, canon.data + 1, canon.len - 1);
	}
	else
		dbuf_append(out, canon.data, canon.len);
	cj_free(n);
	dci_key_free(k);
	dbuf_free(&env);
	dbuf_free(&canon);
	dbuf_free(&sig);
}

/* Build one sample by name into out; 0 ok. */
static int
build_sample(const char *kind, dbuf *out)
{
	char		err[256];
	dci_key    *k = vector_key(1);
	dci_signer	signer = {DCI_SIGN_ED25519, k, KID, 300};
	int			rc = -1;

	err[0] = '\0';
	if (strncmp(kind, "search", 6) == 0)
	{
		int			async = strcmp(kind, "search-async") == 0;
		dci_header	h = header_of("search", async ? "https://spmis.example.org/dci/on-search" : NULL, 2);
		dci_search_item it[2];

		memset(it, 0, sizeof(it));
		it[0].reference_id = "r-0";
		it[0].reg_type = "ns:org:RegistryType:Civil";
		it[0].query_type = "idtype-value";
		it[0].query_json = "{\"type\":\"BRN\",\"value\":\"B-1\"}";
		it[0].query_len = strlen(it[0].query_json);
		it[0].locale = "eng";
		it[1] = it[0];
		it[1].reference_id = "r-1";
		it[1].reg_event_type = "birth";
		it[1].query_type = "predicate";
		it[1].query_json = "[{\"seq_num\":1,\"expression1\":{\"attribute_name\":\"birth_date\",\"operator\":\"ge\","
			"\"attribute_value\":\"2024-01-01\"}}]";
		it[1].query_len = strlen(it[1].query_json);
		it[1].page_size = 50;
		it[1].page_number = 2;
		rc = async ? dci_build_search_async(&h, "txn-1", it, 2, &signer, out, err, sizeof(err)) :
			dci_build_search(&h, "txn-1", it, 2, &signer, out, err, sizeof(err));
	}
	else if (strncmp(kind, "subscribe", 9) == 0)
	{
		dci_header	h = header_of("subscribe", "https://spmis.example.org/dci/on-subscribe", 1);
		dci_subscribe_item it;

		memset(&it, 0, sizeof(it));
		it.reference_id = "s-0";
		it.reg_event_type = "birth";
		it.notify_record_type = "spdci-extensions-dci:Person";
		it.filter_json = "{\"type\":\"BRN\",\"value\":\"B-1\"}";
		it.filter_len = strlen(it.filter_json);
		if (strcmp(kind, "subscribe-register") == 0)
			it.reg_event_type = "REGISTER";
		if (strcmp(kind, "subscribe") == 0)
		{
			it.reg_type = "ns:org:RegistryType:Civil";
			it.frequency = "0 0 0 5,15 * ? *";
			it.start_time = T0;
			it.end_time = T0 + 86400 * 365;
			it.filter_type = "predicate";
			it.filter_json = "[{\"seq_num\":1,\"expression1\":{\"attribute_name\":\"birth_date\",\"operator\":\"ge\","
				"\"attribute_value\":\"2025-01-01\"}}]";
			it.filter_len = strlen(it.filter_json);
			it.authorize_json = "{\"@type\":\"Authorize\",\"purpose\":{\"code\":\"benefits\"}}";
			it.locale = "eng";
		}
		rc = dci_build_subscribe(&h, "txn-2", &it, 1, &signer, out, err, sizeof(err));
	}
	else if (strcmp(kind, "unsubscribe") == 0)
	{
		dci_header	h = header_of("unsubscribe", "https://spmis.example.org/dci/on-unsubscribe", 2);
		const char *codes[] = {"SUB-1", "SUB-2"};

		rc = dci_build_unsubscribe(&h, "txn-3", codes, 2, &signer, out, err, sizeof(err));
	}
	else if (strncmp(kind, "txn-status", 10) == 0)
	{
		dci_header	h = header_of("txn-status", NULL, 1);
		dci_txn_status_req req = {"t-0", "search", "transaction_id", "\"txn-1\"", 7, "eng"};

		if (strcmp(kind, "txn-status-list") == 0)
		{
			req.txn_type = "subscribe";
			req.attribute_type = "reference_id_list";
			req.attribute_value_json = "[\"s-0\",\"s-1\"]";
			req.attribute_value_len = strlen(req.attribute_value_json);
			req.locale = NULL;
		}
		rc = dci_build_txn_status(&h, "txn-5", &req, &signer, out, err, sizeof(err));
	}
	else if (strcmp(kind, "ack") == 0)
		rc = dci_build_ack(out, "ACK", T0, "corr-9", NULL, NULL);
	else if (strcmp(kind, "ack-nack") == 0)
		rc = dci_build_ack(out, "NACK", T0, "corr-9", NULL, NULL);
	else if (strcmp(kind, "ack-err") == 0)
		rc = dci_build_ack(out, "ERR", T0, "corr-9", "err.signature.invalid", "signature \"does not\" verify");
	else
	{
		static const struct
		{
			const char *name;
			const char *const *hm;
		}			cbs[] = {
			{"on-search", cb_on_search}, {"on-subscribe", cb_on_subscribe},
			{"on-unsubscribe", cb_on_unsubscribe}, {"notify", cb_notify},
			{"txn-on-status", cb_txn_on_status}, {"txn-on-status-subscribe", cb_txn_on_status_sub},
		};

		for (size_t i = 0; i < sizeof(cbs) / sizeof(cbs[0]); i++)
			if (strcmp(kind, cbs[i].name) == 0)
			{
				signed_body(cbs[i].hm[0], cbs[i].hm[1], 1, out);
				rc = 0;
			}
		/* the registries' other shapes and codes: reg_records as one object, DR's event type */
		if (strcmp(kind, "on-search-object") == 0)
		{
			char	   *a = replace_once(cb_on_search[1], "\"reg_records\":[{", "\"reg_records\":{");
			char	   *m = replace_once(a, "}]},\"pagination\"", "}},\"pagination\"");

			signed_body(cb_on_search[0], m, 1, out);
			free(a);
			free(m);
			rc = 0;
		}
		if (strcmp(kind, "notify-register") == 0)
		{
			char	   *m = replace_once(cb_notify[1], "\"reg_event_type\":\"birth\"", "\"reg_event_type\":\"REGISTER\"");

			signed_body(cb_notify[0], m, 1, out);
			free(m);
			rc = 0;
		}
	}
	CHECK(rc == 0, "sample %s: %s", kind, err);
	dci_key_free(k);
	return rc;
}

static const char *const sample_kinds[] = {
	"search-sync", "search-async", "subscribe", "subscribe-minimal", "subscribe-register", "unsubscribe",
	"txn-status", "txn-status-list", "ack", "ack-nack", "ack-err", "on-search", "on-search-object",
	"on-subscribe", "on-unsubscribe", "notify", "notify-register", "txn-on-status", "txn-on-status-subscribe", NULL
};

int
unit_emit_samples(const char *dir)
{
	int			n = 0;

	mkdir(dir, 0755);
	for (int i = 0; sample_kinds[i]; i++)
	{
		char		path[4096];
		dbuf		b;
		FILE	   *f;

		dbuf_init(&b);
		if (build_sample(sample_kinds[i], &b) != 0)
			return 1;
		snprintf(path, sizeof(path), "%s/%s.json", dir, sample_kinds[i]);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0)
		{
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
		dbuf_free(&b);
		n++;
	}
	printf("%d samples written to %s\n", n, dir);
	return unit_failed > 0;
}

/* ---- builders ---- */

/* A built body: its envelope is canonical as written and its signature verifies. */
static cj_node *
check_built(const char *kind, const dbuf *body)
{
	char		err[256];
	cj_node    *n = cj_parse(body->data, body->len, err, sizeof(err));
	dbuf		canon;
	dci_key    *pub = vector_key(0);

	dbuf_init(&canon);
	CHECK(n != NULL, "%s: body is JSON: %s", kind, err);
	CHECK(cj_canonical_envelope(cj_get(n, "header"), cj_get(n, "message"), 0, &canon) == 0 &&
		  strstr(body->data, canon.data + 1) != NULL, "%s: written canonically", kind);
	CHECK(dci_sig_verify(pub, cj_string(cj_get(n, "signature")), canon.data, canon.len, T0, 60, NULL, 0,
						 err, sizeof(err)) == DCI_SIG_OK, "%s: signature verifies: %s", kind, err);
	CHECK(cj_object_len(cj_get(n, "header")) == 10, "%s: ten header members", kind);
	dbuf_free(&canon);
	dci_key_free(pub);
	return n;
}

void
test_envelope_builders(void)
{
	char		err[256];
	dci_key    *k = vector_key(1);
	dci_signer	signer = {DCI_SIGN_ED25519, k, KID, 300};
	dbuf		b;
	cj_node    *n;
	const cj_node *m;

	dbuf_init(&b);
	for (int i = 0; sample_kinds[i] && strncmp(sample_kinds[i], "ack", 3) != 0; i++)
	{
		dbuf_reset(&b);
		build_sample(sample_kinds[i], &b);
		cj_free(check_built(sample_kinds[i], &b));
	}

	/* async search: sender_uri is where the answer comes; required */
	dbuf_reset(&b);
	build_sample("search-async", &b);
	n = cj_parse(b.data, b.len, err, sizeof(err));
	CHECK(streq(cj_string(cj_get(cj_get(n, "header"), "sender_uri")), "https://spmis.example.org/dci/on-search"),
		  "async sender_uri");
	cj_free(n);
	{
		dci_header	h = header_of("search", NULL, 1);
		dci_search_item it = {"r-0", NULL, NULL, "idtype-value", "{}", 2, 0, 0, NULL};

		dbuf_reset(&b);
		CHECK(dci_build_search_async(&h, "t", &it, 1, &signer, &b, err, sizeof(err)) != 0 && b.len == 0 &&
			  strstr(err, "sender_uri"), "async without sender_uri refused: %s", err);
		it.locale = "en";
		CHECK(dci_build_search(&h, "t", &it, 1, &signer, &b, err, sizeof(err)) != 0 && b.len == 0 &&
			  strstr(err, "ISO 639-3"), "two-letter locale refused: %s", err);
	}

	/* subscribe: every member where the schema puts it */
	dbuf_reset(&b);
	build_sample("subscribe", &b);
	n = cj_parse(b.data, b.len, err, sizeof(err));
	m = cj_get(cj_array_get(cj_get(cj_get(n, "message"), "subscribe_request"), 0), "subscribe_criteria");
	CHECK(streq(cj_string(cj_get(m, "reg_event_type")), "birth") &&
		  streq(cj_string(cj_get(m, "notify_record_type")), "spdci-extensions-dci:Person") &&
		  streq(cj_string(cj_get(m, "filter_type")), "predicate") && cj_array_len(cj_get(m, "filter")) == 1 &&
		  streq(cj_string(cj_get(cj_get(m, "frequency"), "start_time")), "2025-01-01T00:00:00Z") &&
		  streq(cj_string(cj_get(cj_get(m, "frequency"), "frequency")), "0 0 0 5,15 * ? *") &&
		  cj_typeof(cj_get(m, "authorize")) == CJ_OBJECT && streq(cj_string(cj_get(m, "version")), "1.0.0"),
		  "subscribe_criteria members");
	cj_free(n);
	{
		dci_header	h = header_of("subscribe", "https://x", 1);
		dci_subscribe_item it;

		memset(&it, 0, sizeof(it));
		it.reference_id = "s";
		it.reg_event_type = "birth";
		it.filter_json = "{}";
		it.filter_len = 2;
		dbuf_reset(&b);
		CHECK(dci_build_subscribe(&h, "t", &it, 1, &signer, &b, err, sizeof(err)) != 0 && b.len == 0,
			  "no notify_record_type refused: %s", err);
		it.notify_record_type = "p";
		it.filter_type = "sql";
		CHECK(dci_build_subscribe(&h, "t", &it, 1, &signer, &b, err, sizeof(err)) != 0, "bad filter_type refused");
		it.filter_type = NULL;
		it.filter_json = "{bad";
		it.filter_len = 4;
		CHECK(dci_build_subscribe(&h, "t", &it, 1, &signer, &b, err, sizeof(err)) != 0 && strstr(err, "filter"),
			  "bad filter JSON refused: %s", err);
	}

	/* unsubscribe: the correct spellings, never the schema's typos */
	dbuf_reset(&b);
	build_sample("unsubscribe", &b);
	CHECK(strstr(b.data, "\"subscription_codes\":[\"SUB-1\",\"SUB-2\"],\"timestamp\":\"2025-01-01T00:00:00Z\","
				 "\"transaction_id\":\"txn-3\"}") != NULL, "unsubscribe message: %s", strstr(b.data, "message"));
	CHECK(strstr(b.data, "sunscription") == NULL && strstr(b.data, "timesstamp") == NULL, "no typo");
	{
		dci_header	h = header_of("unsubscribe", NULL, 0);

		dbuf_reset(&b);
		CHECK(dci_build_unsubscribe(&h, "t", NULL, 0, &signer, &b, err, sizeof(err)) != 0, "no codes refused");
	}

	/* txn status */
	dbuf_reset(&b);
	build_sample("txn-status-list", &b);
	CHECK(strstr(b.data, "\"txnstatus_request\":{\"attribute_type\":\"reference_id_list\",\"attribute_value\":[\"s-0\",\"s-1\"],"
				 "\"reference_id\":\"t-0\",\"txn_type\":\"subscribe\"}}") != NULL, "txn status message");
	{
		dci_header	h = header_of("txn-status", NULL, 1);
		dci_txn_status_req req = {"t", "subscibe", "transaction_id", "\"x\"", 3, NULL};

		dbuf_reset(&b);
		CHECK(dci_build_txn_status(&h, "t", &req, &signer, &b, err, sizeof(err)) != 0, "the typo subscibe is refused");
		req.txn_type = "search";
		req.attribute_type = "name";
		CHECK(dci_build_txn_status(&h, "t", &req, &signer, &b, err, sizeof(err)) != 0, "bad attribute_type refused");
		req.attribute_type = "transaction_id";
		req.attribute_value_json = "'x'";
		CHECK(dci_build_txn_status(&h, "t", &req, &signer, &b, err, sizeof(err)) != 0 && b.len == 0,
			  "bad attribute_value refused");
	}

	/* the generic builder, unsigned */
	{
		dci_header	h = header_of("enrolled", NULL, 1);
		dci_signer	none = {DCI_SIGN_NONE, NULL, NULL, 0};

		dbuf_reset(&b);
		CHECK(dci_build_request(&h, "{ \"b\" : 1, \"a\" : [1.50] }", 25, &none, &b, err, sizeof(err)) == 0 &&
			  strstr(b.data, ",\"message\":{\"a\":[1.5],\"b\":1}}") != NULL && strncmp(b.data, "{\"header\":", 10) == 0,
			  "generic, canonical, unsigned: %s", b.data);
		dbuf_reset(&b);
		CHECK(dci_build_request(&h, "{", 1, &none, &b, err, sizeof(err)) != 0 && b.len == 0, "bad message refused");
	}
	dbuf_free(&b);
	dci_key_free(k);
}

/* ---- responses ---- */

void
test_envelope_binding(void)
{
	const char *body = "{\"header\":{\"action\":\"on-search\",\"status\":\"succ\",\"sender_id\":\"registry.example.org\","
		"\"receiver_id\":\"spmis.example.org\",\"message_id\":\"m-1\"},\"message\":{\"transaction_id\":\"txn-1\","
		"\"correlation_id\":\"c-1\",\"search_response\":[{\"reference_id\":\"r-0\",\"status\":\"succ\"},"
		"{\"reference_id\":\"r\\u0000-1\",\"status\":\"succ\"},{\"reference_id\":7},"
		"{\"reference_id\":\"r-3\",\"status\":\"rjct\",\"status_reason_code\":404,"
		"\"pagination\":{\"total_count\":18446744073709551617}}]}}";
	char		err[256];
	dci_response r;
	long		total = 0;

	CHECK(dci_response_parse(body, strlen(body), NULL, &r, err, sizeof(err)) == CJ_OK, "parse: %s", err);
	CHECK(streq(r.action, "on-search") && streq(r.sender_id, "registry.example.org") &&
		  streq(r.receiver_id, "spmis.example.org") && streq(r.message_id, "m-1") && streq(r.status, "succ"),
		  "header binding fields");
	CHECK(streq(r.transaction_id, "txn-1") && streq(r.correlation_id, "c-1"), "message binding fields");
	CHECK(dci_response_nitems(&r) == 4 && dci_response_item_at(&r, 4) == NULL, "four items");
	CHECK(streq(dci_item_reference_id(dci_response_item_at(&r, 0)), "r-0"), "reference_id 0");
	CHECK(dci_item_reference_id(dci_response_item_at(&r, 1)) == NULL, "a reference_id with U+0000 is none");
	CHECK(dci_response_item(&r, "r", 1) == NULL, "and matches nothing, not even its prefix");
	CHECK(dci_item_reference_id(dci_response_item_at(&r, 2)) == NULL, "a number is no reference_id");
	CHECK(streq(dci_item_reason_code(dci_response_item(&r, "r-3", 3)), "404"), "numeric reason code as text");
	CHECK(dci_item_total_count(dci_response_item(&r, "r-3", 3), &total) == -1, "2^64+1 total_count refused");
	CHECK(dci_item_total_count(dci_response_item(&r, "r-0", 0), &total) == 0, "absent total_count");
	CHECK(dci_response_single_item(&r) == NULL && dci_response_first(&r, "search_response") == dci_response_item_at(&r, 0),
		  "first, not single");
	dci_response_free(&r);
	dci_response_free(&r);		/* twice is harmless */

	/* the budget applies to answers */
	{
		cj_limits	lim = {20, 0};

		CHECK(dci_response_parse(body, strlen(body), &lim, &r, err, sizeof(err)) == CJ_ERR_BUDGET && r.root == NULL,
			  "answer over a budget of 20 nodes: %s", err);
	}
	/* lenient counts: a string, a float that is an integer */
	{
		const char *b = "{\"header\":{},\"message\":{\"search_response\":[{\"reference_id\":\"a\",\"pagination\":"
			"{\"total_count\":\" 12 \"}},{\"reference_id\":\"b\",\"pagination\":{\"total_count\":12.0}},"
			"{\"reference_id\":\"c\",\"pagination\":{\"total_count\":12.5}}]}}";

		CHECK(dci_response_parse(b, strlen(b), NULL, &r, err, sizeof(err)) == CJ_OK, "parse counts");
		CHECK(dci_item_total_count(dci_response_item_at(&r, 0), &total) == 1 && total == 12, "string count");
		CHECK(dci_item_total_count(dci_response_item_at(&r, 1), &total) == 1 && total == 12, "12.0");
		CHECK(dci_item_total_count(dci_response_item_at(&r, 2), &total) == -1, "12.5 refused");
		dci_response_free(&r);
	}
}

void
test_envelope_verify_parsed(void)
{
	char		err[256];
	size_t		len;
	char	   *text = unit_read_file(unit_vector_path("jws-rs256.json"), &len);
	cj_node    *v = text ? cj_parse(text, len, err, sizeof(err)) : NULL;
	dci_key    *rsa = dci_key_load_public(cj_string(cj_get(v, "public_key_pem")), err, sizeof(err));
	const char *jws = cj_string(cj_get(v, "jws"));
	const char *payload = cj_string(cj_get(v, "payload"));
	cj_node    *p = cj_parse(payload, strlen(payload), err, sizeof(err));
	dbuf		body,
				hm;
	dci_response r;
	cj_limits	tiny = {0, 0};

	dbuf_init(&body);
	dbuf_init(&hm);
	CHECK(rsa && jws && p, "JWS vector");
	/* {signature: JWS, header, message} as OpenCRVS sends it */
	cj_canonical_envelope(cj_get(p, "header"), cj_get(p, "message"), 0, &hm);
	dbuf_puts(&body, "{\"signature\":");
	dci_json_string(&body, jws);
	dbuf_putc(&body, ',');
	dbuf_append(&body, hm.data + 1, hm.len - 1);
	CHECK(dci_response_parse(body.data, body.len, NULL, &r, err, sizeof(err)) == CJ_OK &&
		  dci_verify_parsed(&r, DCI_SIGN_JWS_RS256, rsa, T0, 60, err, sizeof(err)) == DCI_SIG_OK,
		  "JWS verifies on the parsed tree: %s", err);
	dci_response_free(&r);
	/* the payload is parsed under the answer's limits */
	tiny.max_nodes = 12;
	tiny.max_depth = 3;
	if (dci_response_parse(body.data, body.len, &tiny, &r, err, sizeof(err)) == CJ_OK)
	{
		CHECK(dci_verify_parsed(&r, DCI_SIGN_JWS_RS256, rsa, T0, 60, err, sizeof(err)) == DCI_SIG_MALFORMED,
			  "payload over the limits: %s", err);
		dci_response_free(&r);
	}
	/* a changed envelope with the same JWS */
	{
		char	   *t = strdup(body.data);
		char	   *x = strstr(t, "\"message\":{\"") + 12;

		*x = *x == 'a' ? 'b' : 'a';
		CHECK(dci_response_parse(t, strlen(t), NULL, &r, err, sizeof(err)) == CJ_OK &&
			  dci_verify_parsed(&r, DCI_SIGN_JWS_RS256, rsa, T0, 60, err, sizeof(err)) == DCI_SIG_BAD,
			  "changed envelope: %s", err);
		dci_response_free(&r);
		free(t);
	}
	/* signatures of the wrong type, with U+0000, absent, null, empty */
	{
		static const struct
		{
			const char *body;
			dci_sig_result want;
		}			cases[] = {
			{"{\"signature\":5,\"header\":{},\"message\":{}}", DCI_SIG_MALFORMED},
			{"{\"signature\":\"a\\u0000b\",\"header\":{},\"message\":{}}", DCI_SIG_MALFORMED},
			{"{\"header\":{},\"message\":{}}", DCI_SIG_MISSING},
			{"{\"signature\":null,\"header\":{},\"message\":{}}", DCI_SIG_MISSING},
			{"{\"signature\":\"\",\"header\":{},\"message\":{}}", DCI_SIG_MISSING},
		};
		dci_key    *ed = vector_key(0);

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			dci_sig_result res;

			dci_response_parse(cases[i].body, strlen(cases[i].body), NULL, &r, err, sizeof(err));
			res = dci_verify_parsed(&r, DCI_SIGN_ED25519, ed, T0, 60, err, sizeof(err));
			CHECK(res == cases[i].want, "signature case %zu: %s", i, dci_sig_result_name(res));
			dci_response_free(&r);
		}
		CHECK(dci_verify_parsed(&r, DCI_SIGN_ED25519, ed, T0, 60, err, sizeof(err)) == DCI_SIG_MALFORMED,
			  "a freed response is MALFORMED");
		dci_key_free(ed);
	}
	/* every callback sample verifies as a response */
	{
		dci_key    *ed = vector_key(0);

		dbuf_reset(&body);
		build_sample("on-search", &body);
		CHECK(dci_response_parse(body.data, body.len, NULL, &r, err, sizeof(err)) == CJ_OK &&
			  dci_verify_parsed(&r, DCI_SIGN_ED25519, ed, T0, 60, err, sizeof(err)) == DCI_SIG_OK,
			  "on-search sample verifies: %s", err);
		dci_response_free(&r);
		dci_key_free(ed);
	}
	dbuf_free(&body);
	dbuf_free(&hm);
	cj_free(p);
	cj_free(v);
	free(text);
	dci_key_free(rsa);
}

/* ---- callbacks ---- */

static cj_result
cb_of(const char *kind, dci_callback *cb)
{
	dbuf		b;
	char		err[256];
	cj_result	r;

	dbuf_init(&b);
	build_sample(kind, &b);
	r = dci_callback_parse(b.data, b.len, NULL, cb, err, sizeof(err));
	CHECK(r == CJ_OK, "%s parses: %s", kind, err);
	dbuf_free(&b);
	return r;
}

void
test_callbacks(void)
{
	dci_callback cb;
	dci_subscription subs[4];
	char		err[256];
	dci_key    *ed = vector_key(0);

	/* on-search */
	cb_of("on-search", &cb);
	CHECK(cb.action == DCI_CB_ON_SEARCH && streq(dci_cb_action_name(cb.action), "on-search"), "action");
	CHECK(streq(cb.message_id, "m-cb-1") && streq(cb.message_ts, "2025-01-01T00:00:05Z") && streq(cb.status, "succ") &&
		  streq(cb.sender_id, "registry.example.org") && streq(cb.receiver_id, "spmis.example.org") &&
		  cb.total_count == 2 && cb.completed_count == 2, "MsgCallbackHeader");
	CHECK(streq(cb.transaction_id, "txn-1") && streq(cb.correlation_id, "corr-9"), "binding");
	CHECK(dci_cb_nitems(&cb) == 2 && streq(dci_item_reference_id(dci_cb_item(&cb, 0)), "r-0") &&
		  dci_records_len(dci_item_records(dci_cb_item(&cb, 0))) == 1 &&
		  streq(dci_item_reason_code(dci_cb_item(&cb, 1)), "rjct.reference_id.invalid"), "search_response items");
	CHECK(dci_verify_parsed(&cb.env, DCI_SIGN_ED25519, ed, T0, 60, err, sizeof(err)) == DCI_SIG_OK,
		  "callback signature: %s", err);
	CHECK(dci_cb_subscriptions(&cb, subs, 4) == 0, "no subscriptions in an on-search");
	dci_callback_free(&cb);

	/* on-subscribe: MsgHeader, no status */
	cb_of("on-subscribe", &cb);
	CHECK(cb.action == DCI_CB_ON_SUBSCRIBE && cb.status == NULL && cb.total_count == 1 && cb.completed_count == -1,
		  "on-subscribe header");
	CHECK(dci_cb_nitems(&cb) == 1 && streq(dci_item_status(dci_cb_item(&cb, 0)), "succ"), "subscribe_response");
	CHECK(dci_cb_subscriptions(&cb, NULL, 0) == 2 && dci_cb_subscriptions(&cb, subs, 1) == 2 &&
		  streq(subs[0].code, "SUB-1") && streq(subs[0].status, "subscribe") && streq(subs[0].reference_id, "s-0") &&
		  streq(subs[0].timestamp, "2025-01-01T00:00:05Z"), "subscriptions, counted and copied");
	dci_cb_subscriptions(&cb, subs, 4);
	CHECK(streq(subs[1].code, "SUB-2") && streq(subs[1].timestamp, "2025-01-01T00:00:06Z"), "second subscription");
	dci_callback_free(&cb);

	/* on-unsubscribe */
	cb_of("on-unsubscribe", &cb);
	CHECK(cb.action == DCI_CB_ON_UNSUBSCRIBE && streq(cb.payload_status, "succ") &&
		  streq(cb.payload_timestamp, "2025-01-01T00:00:05Z"), "on-unsubscribe message");
	CHECK(dci_cb_subscriptions(&cb, subs, 4) == 1 && streq(subs[0].code, "SUB-1") && streq(subs[0].status, "unsubscribe") &&
		  subs[0].reference_id == NULL && streq(subs[0].timestamp, "2025-01-01T00:00:05Z"), "subscription_status");
	dci_callback_free(&cb);

	/* notify: one record as an object */
	cb_of("notify", &cb);
	CHECK(cb.action == DCI_CB_NOTIFY && streq(cb.transaction_id, "txn-4") && cb.correlation_id == NULL, "notify");
	CHECK(dci_cb_nitems(&cb) == 1 && streq(dci_item_reference_id(dci_cb_item(&cb, 0)), "n-0") &&
		  dci_records_len(dci_item_records(dci_cb_item(&cb, 0))) == 1, "notify_event record");
	dci_callback_free(&cb);

	/* txn-on-status: the inner message is read like the callback it stands for */
	cb_of("txn-on-status", &cb);
	CHECK(cb.action == DCI_CB_TXN_ON_STATUS && cb.inner == DCI_CB_ON_SEARCH && streq(cb.txn_type, "search") &&
		  streq(cb.transaction_id, "txn-5") && streq(cj_string(cj_get(cb.payload, "transaction_id")), "txn-1"),
		  "txn-on-status of a search");
	CHECK(dci_cb_nitems(&cb) == 1 && dci_records_len(dci_item_records(dci_cb_item(&cb, 0))) == 1, "inner items");
	dci_callback_free(&cb);
	cb_of("txn-on-status-subscribe", &cb);
	CHECK(cb.inner == DCI_CB_ON_SUBSCRIBE && dci_cb_subscriptions(&cb, subs, 4) == 1 && streq(subs[0].code, "SUB-7"),
		  "txn-on-status of a subscribe");
	dci_callback_free(&cb);
	dci_callback_free(&cb);
	dci_key_free(ed);
}

void
test_callback_refusals(void)
{
	static const struct
	{
		const char *body;
		cj_result	want;
		const char *why;
	}			cases[] = {
		{"[]", CJ_ERR_SHAPE, "not an object"},
		{"{\"message\":{}}", CJ_ERR_SHAPE, "no header"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"search\",\"status\":\"succ\"},\"message\":{\"transaction_id\":\"x\"}}",
		CJ_ERR_SHAPE, "callback action"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"status\":\"succ\"},\"message\":{\"transaction_id\":\"x\"}}",
		CJ_ERR_SHAPE, "no action"},
		{"{\"header\":{\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\"},\"message\":{\"transaction_id\":\"x\"}}",
		CJ_ERR_SHAPE, "message_id"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\"},\"message\":{\"transaction_id\":\"x\"}}",
		CJ_ERR_SHAPE, "status"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\"}}",
		CJ_ERR_SHAPE, "no message"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\"},\"message\":[]}",
		CJ_ERR_SHAPE, "no message"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\"},\"message\":{}}",
		CJ_ERR_SHAPE, "transaction_id"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\",\"total_count\":\"x\"},"
		"\"message\":{\"transaction_id\":\"x\"}}", CJ_ERR_SHAPE, "counts"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\",\"total_count\":-1},"
		"\"message\":{\"transaction_id\":\"x\"}}", CJ_ERR_SHAPE, "counts"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"on-search\",\"status\":\"succ\",\"is_msg_encrypted\":true},"
		"\"message\":{\"header\":{},\"ciphertext\":\"x\"}}", CJ_ERR_SHAPE, "encrypted"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"txn-on-status\",\"status\":\"succ\"},"
		"\"message\":{\"transaction_id\":\"x\",\"txnstatus_response\":{\"txn_type\":\"disburse\",\"txn_status\":{}}}}",
		CJ_ERR_SHAPE, "txn_type"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"txn-on-status\",\"status\":\"succ\"},"
		"\"message\":{\"transaction_id\":\"x\",\"txnstatus_response\":{\"txn_type\":\"search\"}}}", CJ_ERR_SHAPE, "txn_status"},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"txn-on-status\",\"status\":\"succ\"},"
		"\"message\":{\"transaction_id\":\"x\"}}", CJ_ERR_SHAPE, "txnstatus_response"},
		{"{\"header\":{\"message_id\":\"m\\u0000\",\"message_ts\":\"t\",\"action\":\"notify\",\"status\":\"succ\"},"
		"\"message\":{\"transaction_id\":\"x\"}}", CJ_ERR_SHAPE, "U+0000"},
		{"{\"header\":{\"message_id\":\"m\"", CJ_ERR_TRUNCATED, "invalid JSON"},
		/* accepted: a rejection as a header alone; the official typos; txn_type as the callback's name */
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"on-search\",\"status\":\"rjct\","
		"\"status_reason_code\":\"rjct.action.invalid\"}}", CJ_OK, NULL},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"on-unsubscribe\"},"
		"\"message\":{\"transaction_id\":\"x\",\"timesatmp\":\"2025-01-01T00:00:00Z\",\"subscription_status\":{\"code\":\"S\"}}}",
		CJ_OK, NULL},
		{"{\"header\":{\"message_id\":\"m\",\"message_ts\":\"t\",\"action\":\"txn-on-status\",\"status\":\"succ\"},"
		"\"message\":{\"transaction_id\":\"x\",\"txnstatus_response\":{\"txn_type\":\"on-unsubscribe\",\"txn_status\":"
		"{\"subscription_status\":[{\"code\":\"S\",\"status\":\"unsubscribe\"}]}}}}", CJ_OK, NULL},
	};
	char		err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_callback cb;
		cj_result	r = dci_callback_parse(cases[i].body, strlen(cases[i].body), NULL, &cb, err, sizeof(err));

		CHECK(r == cases[i].want && (r == CJ_OK || (strstr(err, cases[i].why) != NULL && cb.env.root == NULL)),
			  "callback case %zu: %s (%s)", i, cj_result_name(r), err);
		if (r == CJ_OK && i + 2 == sizeof(cases) / sizeof(cases[0]))
		{
			dci_subscription s;

			CHECK(dci_cb_subscriptions(&cb, &s, 1) == 1 && streq(s.code, "S") &&
				  streq(s.timestamp, "2025-01-01T00:00:00Z"), "typo timesatmp read, one object as a list");
		}
		if (r == CJ_OK && i + 1 == sizeof(cases) / sizeof(cases[0]))
			CHECK(cb.inner == DCI_CB_ON_UNSUBSCRIBE && dci_cb_subscriptions(&cb, NULL, 0) == 1, "txn_type on-unsubscribe");
		dci_callback_free(&cb);
	}
}

void
test_acks(void)
{
	dbuf		b;
	char		err[256];
	dci_ack		a;
	cj_node    *n;

	/* ours */
	dbuf_init(&b);
	CHECK(dci_build_ack(&b, "ACK", T0, "corr-9", NULL, NULL) == 0 &&
		  strcmp(b.data, "{\"message\":{\"ack_status\":\"ACK\",\"correlation_id\":\"corr-9\","
				 "\"timestamp\":\"2025-01-01T00:00:00Z\"}}") == 0, "ACK: %s", b.data);
	dbuf_reset(&b);
	CHECK(dci_build_ack(&b, "ERR", T0, NULL, "err.request.bad", "bad \"x\"\n") == 0 &&
		  strcmp(b.data, "{\"message\":{\"ack_status\":\"ERR\",\"correlation_id\":\"\",\"error\":{\"code\":"
				 "\"err.request.bad\",\"message\":\"bad \\\"x\\\"\\n\"},\"timestamp\":\"2025-01-01T00:00:00Z\"}}") == 0,
		  "ERR: %s", b.data);
	n = cj_parse(b.data, b.len, err, sizeof(err));
	{
		dbuf		c;

		dbuf_init(&c);
		CHECK(n && cj_canonical(n, &c) == 0 && strcmp(c.data, b.data) == 0, "our ACK is canonical");
		dbuf_free(&c);
	}
	cj_free(n);
	dbuf_reset(&b);
	CHECK(dci_build_ack(&b, "OK", T0, "c", NULL, NULL) != 0 && b.len == 0, "unknown status refused");
	CHECK(dci_build_ack(&b, "ERR", T0, "c", NULL, NULL) != 0 && b.len == 0, "ERR needs a code");
	CHECK(dci_build_ack(&b, NULL, T0, "c", NULL, NULL) != 0, "NULL status");
	dbuf_free(&b);

	/* theirs */
	{
		static const struct
		{
			const char *body;
			cj_result	rc;
			dci_ack_status st;
			const char *corr;
			const char *code;
		}			cases[] = {
			{"{\"message\":{\"ack_status\":\"ACK\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"correlation_id\":\"c-1\"}}",
			CJ_OK, DCI_ACK_ACK, "c-1", NULL},
			{"{\"message\":{\"ack_status\":\"nack\",\"correlation_id\":\"c-2\"}}", CJ_OK, DCI_ACK_NACK, "c-2", NULL},
			{"{\"message\":{\"ack_status\":\"ERR\",\"error\":{\"code\":\"err.signature.invalid\",\"message\":\"m\"}}}",
			CJ_OK, DCI_ACK_ERR, NULL, "err.signature.invalid"},
			{"{\"message\":{\"ack_status\":\"ERR\",\"error\":{\"code\":401}}}", CJ_OK, DCI_ACK_ERR, NULL, "401"},
			{"{\"message\":{\"ack_status\":\"MAYBE\"}}", CJ_OK, DCI_ACK_UNKNOWN, NULL, NULL},
			{"{\"message\":{\"ack_status\":\"ACK\\u0000\",\"correlation_id\":\"c\\u0000\"}}", CJ_OK, DCI_ACK_UNKNOWN, NULL, NULL},
			{"{\"message\":{}}", CJ_OK, DCI_ACK_UNKNOWN, NULL, NULL},
			{"{\"header\":{}}", CJ_ERR_SHAPE, DCI_ACK_UNKNOWN, NULL, NULL},
			{"\"ACK\"", CJ_ERR_SHAPE, DCI_ACK_UNKNOWN, NULL, NULL},
			{"<html>", CJ_ERR_SYNTAX, DCI_ACK_UNKNOWN, NULL, NULL},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			cj_result	r = dci_ack_parse(cases[i].body, strlen(cases[i].body), NULL, &a, err, sizeof(err));

			CHECK(r == cases[i].rc && a.status == cases[i].st &&
				  (cases[i].corr == NULL ? a.correlation_id == NULL : streq(a.correlation_id, cases[i].corr)) &&
				  (cases[i].code == NULL ? a.error_code == NULL : streq(a.error_code, cases[i].code)),
				  "ack case %zu: %s %d", i, cj_result_name(r), a.status);
			dci_ack_free(&a);
		}
	}
}

/* ---- small replies ---- */

void
test_token_reply(void)
{
	static const struct
	{
		const char *body;
		int			rc;
		const char *token;
		long		expires;
	}			cases[] = {
		{"{\"access_token\":\"abc.DEF-123_~+/==\",\"token_type\":\"Bearer\",\"expires_in\":3600}", DCI_TOKEN_OK,
		"abc.DEF-123_~+/==", 3600},
		{"{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":\"120\"}", DCI_TOKEN_OK, "t", 120},
		{"{\"access_token\":\"t\",\"expires_in\":3599.9}", DCI_TOKEN_OK, "t", 3599},
		{"{\"access_token\":\"t\"}", DCI_TOKEN_OK, "t", -1},
		{"{\"access_token\":\"t\",\"expires_in\":null}", DCI_TOKEN_OK, "t", -1},
		{"{\"access_token\":\"t\",\"expires_in\":1e15}", DCI_TOKEN_OK, "t", DCI_TOKEN_MAX_LIFETIME},
		{"{\"access_token\":\"t\",\"expires_in\":18446744073709551617}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":\"9223372036854775808\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":0}", DCI_TOKEN_OK, "t", 0},
		/* header injection and friends */
		{"{\"access_token\":\"t\\r\\nX-Evil: 1\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\\n\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t t\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\\u0000x\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\\u0007\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\\u00e9\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\\\"\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"=abc\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"ab=c\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":42}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"token_type\":\"Bearer\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"token_type\":\"mac\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"token_type\":7}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":-5}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":\"soon\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":\"inf\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":\"0x10\"}", DCI_TOKEN_INVALID, NULL, -1},
		{"{\"access_token\":\"t\",\"expires_in\":true}", DCI_TOKEN_INVALID, NULL, -1},
		{"[\"t\"]", DCI_TOKEN_INVALID, NULL, -1},
		{"<html>", DCI_TOKEN_INVALID, NULL, -1},
		{"", DCI_TOKEN_INVALID, NULL, -1},
		/* refusals */
		{"{\"error\":\"invalid_client\",\"error_description\":\"bad\\nsecret\"}", DCI_TOKEN_REFUSED, NULL, -1},
		{"{\"error\":\"invalid_grant\",\"access_token\":\"t\"}", DCI_TOKEN_REFUSED, NULL, -1},
		{"{\"error\":{\"code\":1}}", DCI_TOKEN_INVALID, NULL, -1},
	};
	char		err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_token_reply t;
		int			rc = dci_token_parse(cases[i].body, strlen(cases[i].body), &t, err, sizeof(err));

		CHECK(rc == cases[i].rc, "token case %zu: %d (%s)", i, rc, err);
		CHECK(cases[i].token == NULL ? t.access_token == NULL : streq(t.access_token, cases[i].token),
			  "token case %zu: token", i);
		CHECK(t.expires_in == cases[i].expires, "token case %zu: expires_in %ld", i, t.expires_in);
		CHECK(rc != DCI_TOKEN_INVALID || strstr(err, "X-Evil") == NULL, "token case %zu: the token is never quoted", i);
		if (rc == DCI_TOKEN_REFUSED && i + 3 == sizeof(cases) / sizeof(cases[0]))
			CHECK(streq(t.error, "invalid_client") && streq(t.error_description, "bad\nsecret"), "error members");
		dci_token_reply_clear(&t);
		CHECK(t.access_token == NULL && t.error == NULL && t.expires_in == -1, "cleared");
	}
	/* the limit on its length */
	{
		dbuf		b;
		dci_token_reply t;

		dbuf_init(&b);
		dbuf_puts(&b, "{\"access_token\":\"");
		for (int i = 0; i <= DCI_TOKEN_MAX_LEN; i++)
			dbuf_putc(&b, 'a');
		dbuf_puts(&b, "\"}");
		CHECK(dci_token_parse(b.data, b.len, &t, err, sizeof(err)) == DCI_TOKEN_INVALID, "over-long token");
		dci_token_reply_clear(&t);
		dbuf_free(&b);
	}
	CHECK(dci_is_b64token("a", 1) && !dci_is_b64token("", 0) && !dci_is_b64token("a\0b", 3) &&
		  dci_is_b64token("aB9-._~+/==", 11) && !dci_is_b64token("a==b", 4), "b64token");
}

void
test_retry_hint(void)
{
	static const struct
	{
		const char *body;
		int			found;
		long		seconds;
		int			per_day;
		const char *code;
	}			cases[] = {
		{"{\"detail\":{\"error\":\"rate_limit_exceeded\",\"error_code\":\"RATE_LIMIT_PER_MINUTE\","
		"\"error_message\":\"Too many\",\"retry_after\":42}}", 1, 42, 0, "RATE_LIMIT_PER_MINUTE"},
		{"{\"detail\":{\"error\":\"rate_limit_exceeded\",\"error_code\":\"RATE_LIMIT_PER_DAY\","
		"\"error_message\":\"Daily quota\",\"retry_after\":3600}}", 1, 3600, 1, "RATE_LIMIT_PER_DAY"},
		{"{\"retry_after\":\"7\"}", 1, 7, 0, ""},
		{"{\"retry_after\":1.2}", 1, 2, 0, ""},
		{"{\"retry_after\":1e12}", 1, DCI_RETRY_MAX_SECONDS, 0, ""},
		{"{\"retry_after\":18446744073709551617}", 0, -1, 0, ""},
		{"{\"retry_after\":-3,\"error\":\"busy\"}", 1, -1, 0, "busy"},
		{"{\"retry_after\":\"later\"}", 0, -1, 0, ""},
		{"{\"detail\":\"Too Many Requests\"}", 0, -1, 0, ""},
		{"{\"detail\":{\"retry_after\":5},\"retry_after\":9}", 1, 5, 0, ""},
		{"Too Many Requests", 0, -1, 0, ""},
		{"", 0, -1, 0, ""},
		{"[42]", 0, -1, 0, ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_retry_hint h;
		int			f = dci_retry_hint_parse(cases[i].body, strlen(cases[i].body), &h);

		CHECK(f == cases[i].found && h.seconds == cases[i].seconds && h.per_day == cases[i].per_day &&
			  strcmp(h.code, cases[i].code) == 0, "retry case %zu: %d %ld %d %s", i, f, h.seconds, h.per_day, h.code);
	}
}

/* Sanitized text of s. */
static char *
san(const char *s, size_t len, size_t max)
{
	dbuf		b;

	dbuf_init(&b);
	dbuf_put_sanitized(&b, s, len, max);
	return dbuf_steal(&b);
}

#define SAN_IS(lit, max, want) \
	do { \
		char	   *got_ = san((lit), sizeof(lit) - 1, (max)); \
		CHECK(strcmp(got_, (want)) == 0, "sanitized %s: [%s], want [%s]", #lit, got_, (want)); \
		free(got_); \
	} while (0)

void
test_sanitize(void)
{
	SAN_IS("plain text", 100, "plain text");
	SAN_IS("a\nb\rc\td\\e", 100, "a\\nb\\rc\\td\\\\e");
	SAN_IS("\x1b[31mred\x1b[0m", 100, "\\x1b[31mred\\x1b[0m");
	SAN_IS("nul\0here", 100, "nul\\x00here");
	SAN_IS("del\x7f", 100, "del\\x7f");
	SAN_IS("caf\xc3\xa9 \xf0\x9f\x98\x80", 100, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	SAN_IS("c1 \xc2\x85 \xc2\x9b", 100, "c1 \\x85 \\x9b");
	SAN_IS("bad \xff \xc0\xaf \xed\xa0\x80", 100, "bad \\xff \\xc0\\xaf \\xed\\xa0\\x80");
	SAN_IS("trunc \xe2\x82", 100, "trunc \\xe2\\x82");
	SAN_IS("rtl \xe2\x80\xae" "evil", 100, "rtl \\u{202e}evil");
	SAN_IS("line\xe2\x80\xa8sep", 100, "line\\u{2028}sep");
	SAN_IS("0123456789", 5, "01234...");
	SAN_IS("ab\ncd", 3, "ab...");
	SAN_IS("\xc3\xa9\xc3\xa9", 3, "\xc3\xa9...");
	SAN_IS("exact", 5, "exact");
	SAN_IS("", 5, "");
	{
		dbuf		b;

		dbuf_init(&b);
		CHECK(dbuf_put_sanitized(&b, NULL, 5, 10) == 0 && b.len == 0, "NULL text");
		dbuf_puts(&b, "X");
		CHECK(dbuf_put_sanitized(&b, "y\n", 2, 10) == 0 && strcmp(b.data, "Xy\\n") == 0, "appends");
		dbuf_free(&b);
	}
}
