/*
 * test_protocol.c - unit tests of the protocol layer (no PostgreSQL):
 * canonical JSON and signatures against independent vectors, envelopes,
 * response parsing and verification, and record mapping (test_records.c).
 *
 * Usage: test_protocol <vectors-dir>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "envelope.h"
#include "sign.h"
#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;
const char *unit_vectors_dir = "test/vectors";

/* records tests live in test_records.c */
void		test_records_dates(void);
void		test_records_helpers(void);
void		test_records_birth_spdci(void);
void		test_records_names(void);
void		test_records_sex(void);
void		test_records_deceased(void);
void		test_records_opencrvs(void);
void		test_records_enrollment(void);
void		test_records_disability_status(void);
void		test_records_wg_scores(void);
void		test_records_pwd(void);
void		test_records_reg_records(void);
void		test_records_garbage(void);
void		test_records_random(void);
void		test_records_huge(void);

static json_object *
load_json(const char *name)
{
	char		path[1024];
	json_object *o;

	snprintf(path, sizeof(path), "%s/%s", unit_vectors_dir, name);
	o = json_object_from_file(path);
	if (o == NULL)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	return o;
}

static char *
load_text(const char *name)
{
	char		path[1024];
	FILE	   *f;
	long		n;
	char	   *buf;

	snprintf(path, sizeof(path), "%s/%s", unit_vectors_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
		exit(2);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *
str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Every dci-ed25519 vector: canonical text, digest, signing string, signature, field. */
static void
test_ed25519_vectors(void)
{
	json_object *root = load_json("dci-ed25519.json");
	json_object *vs;
	char		err[256];
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	long		created = atol(str(root, "created"));
	long		expires = atol(str(root, "expires"));
	const char *kid = "spmis.example.org|key-1|ed25519";
	dbuf		jwk;

	CHECK(priv != NULL && pub != NULL, "vector keys load: %s", err);
	json_object_object_get_ex(root, "vectors", &vs);
	CHECK(json_object_array_length(vs) >= 8, "at least 8 vectors");
	for (size_t i = 0; i < json_object_array_length(vs); i++)
	{
		json_object *v = json_object_array_get_idx(vs, i);
		const char *name = str(v, "name");
		const char *body = str(v, "body");
		const char *want = str(v, "canonical");
		dbuf		canon,
					digest,
					field,
					sstr;
		char	   *nul;

		dbuf_init(&canon);
		dbuf_init(&digest);
		dbuf_init(&field);
		dbuf_init(&sstr);
		CHECK(cj_canonicalize(body, strlen(body), &canon, err, sizeof(err)) == 0, "%s: canonicalize: %s", name, err);
		CHECK(canon.data && strcmp(canon.data, want) == 0, "%s: canonical\n got %s\nwant %s", name, canon.data, want);
		/* canonical text is a fixed point */
		{
			dbuf		again;

			dbuf_init(&again);
			cj_canonicalize(want, strlen(want), &again, err, sizeof(err));
			CHECK(again.data && strcmp(again.data, want) == 0, "%s: canonical form is stable", name);
			dbuf_free(&again);
		}
		CHECK(dci_digest_b64(want, strlen(want), &digest) == 0 &&
			  strcmp(digest.data, str(v, "digest")) == 0, "%s: digest %s", name, digest.data);
		dbuf_printf(&sstr, "(created): %ld\n(expires): %ld\ndigest: %s", created, expires, digest.data);
		CHECK(strcmp(sstr.data, str(v, "signing_string")) == 0, "%s: signing string", name);
		CHECK(dci_sig_sign(priv, kid, want, strlen(want), created, expires, &field, err, sizeof(err)) == 0,
			  "%s: sign: %s", name, err);
		CHECK(field.data && strcmp(field.data, str(v, "signature_field")) == 0,
			  "%s: signature field\n got %s\nwant %s", name, field.data, str(v, "signature_field"));
		CHECK(field.data && strstr(field.data, str(v, "signature")) != NULL, "%s: signature value", name);
		/* verification: in the window, tampered, expired, future */
		CHECK(dci_sig_verify(pub, field.data, want, strlen(want), created + 10, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_OK,
			  "%s: verify: %s", name, err);
		nul = strdup(want);
		nul[strlen(nul) / 2] ^= 1;
		CHECK(dci_sig_verify(pub, field.data, nul, strlen(nul), created + 10, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_BAD,
			  "%s: tampered canonical text is BAD", name);
		free(nul);
		CHECK(dci_sig_verify(pub, field.data, want, strlen(want), expires + 61, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_EXPIRED,
			  "%s: expired", name);
		CHECK(dci_sig_verify(pub, field.data, want, strlen(want), expires + 59, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_OK,
			  "%s: within skew after expiry", name);
		CHECK(dci_sig_verify(pub, field.data, want, strlen(want), created - 61, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_FUTURE,
			  "%s: future", name);
		dbuf_free(&canon);
		dbuf_free(&digest);
		dbuf_free(&field);
		dbuf_free(&sstr);
	}
	dbuf_init(&jwk);
	CHECK(dci_key_jwk(pub, "k", &jwk, err, sizeof(err)) == 0 &&
		  strstr(jwk.data, str(root, "public_key_jwk_x")) != NULL, "JWK x of the vector key: %s", jwk.data);
	dbuf_free(&jwk);
	dci_key_free(priv);
	dci_key_free(pub);
	json_object_put(root);
}

/* Malformed signature fields are MALFORMED or MISSING, never a crash. */
static void
test_malformed_fields(void)
{
	json_object *root = load_json("dci-ed25519.json");
	char		err[256];
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	const char *canon = "{}";
	const char *bad[] = {
		"garbage",
		"created=\"1\", expires=\"2\"",
		"created=\"x\", expires=\"2\", signature=\"AAAA\"",
		"created=\"1\", expires=\"2\", signature=\"!!!!\"",
		"created=\"1\", expires=\"2\", signature=\"AAAA\"",
		"created=\"1\", expires=\"2\", headers=\"digest\", signature=\"AAAA\"",
		"created=\"1\", expires=\"2\", algorithm=\"rsa\", signature=\"AAAA\"",
		"created=\"1", "signature=\"", "=\"\"=\"\"",
	};

	/* an empty field never verifies (dci_verify_response reports it as MISSING) */
	CHECK(dci_sig_verify(pub, "", canon, 2, 0, 60, NULL, 0, err, sizeof(err)) != DCI_SIG_OK, "empty field rejected");
	CHECK(dci_sig_verify(pub, NULL, canon, 2, 0, 60, NULL, 0, err, sizeof(err)) != DCI_SIG_OK, "NULL field rejected");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(dci_sig_verify(pub, bad[i], canon, 2, 0, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_MALFORMED,
			  "field %zu is MALFORMED", i);
	dci_key_free(pub);
	json_object_put(root);
}

/* The RS256 compact JWS vector (OpenCRVS style). */
static void
test_jws_vector(void)
{
	json_object *root = load_json("jws-rs256.json");
	char	   *pem = load_text("rs256-test-key.pem");
	char		err[256];
	dci_key    *priv = dci_key_load_private(pem, err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	const char *payload = str(root, "payload");
	const char *jws = str(root, "jws");
	dbuf		out,
				back;
	char	   *t;

	dbuf_init(&out);
	dbuf_init(&back);
	CHECK(priv && pub, "RS256 keys load");
	CHECK(dci_key_algorithm(priv) == DCI_ALG_RS256, "RSA key is RS256");
	CHECK(dci_jws_sign(priv, "spmis-key-1", payload, strlen(payload), &out, err, sizeof(err)) == 0 &&
		  strcmp(out.data, jws) == 0, "JWS byte for byte\n got %s", out.data);
	CHECK(dci_jws_verify(pub, jws, &back, err, sizeof(err)) == DCI_SIG_OK &&
		  back.len == strlen(payload) && memcmp(back.data, payload, back.len) == 0, "JWS verifies: %s", err);
	/* a changed payload segment, a changed signature, alg none */
	t = strdup(jws);
	t[strchr(t, '.') - t + 5] ^= 1;
	dbuf_reset(&back);
	CHECK(dci_jws_verify(pub, t, &back, err, sizeof(err)) != DCI_SIG_OK, "tampered payload rejected");
	free(t);
	t = strdup(jws);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	CHECK(dci_jws_verify(pub, t, &back, err, sizeof(err)) == DCI_SIG_BAD, "tampered signature rejected");
	free(t);
	/* {"alg":"none"} . payload . empty */
	CHECK(dci_jws_verify(pub, "eyJhbGciOiJub25lIn0.e30.", &back, err, sizeof(err)) != DCI_SIG_OK, "alg none rejected");
	CHECK(dci_jws_verify(pub, "a.b", &back, err, sizeof(err)) == DCI_SIG_MALFORMED, "two segments malformed");
	dbuf_free(&out);
	dbuf_free(&back);
	dci_key_free(priv);
	dci_key_free(pub);
	free(pem);
	json_object_put(root);
}

static void
test_keygen(void)
{
	for (int a = 0; a < 2; a++)
	{
		char	   *priv_pem,
				   *pub_pem;
		char		err[256];
		dci_key    *priv,
				   *pub;
		dbuf		sig,
					jws,
					payload;
		const char *msg = "{\"header\":{},\"message\":{}}";

		CHECK(dci_key_generate(a ? DCI_ALG_RS256 : DCI_ALG_ED25519, &priv_pem, &pub_pem, err, sizeof(err)) == 0,
			  "keygen %d: %s", a, err);
		priv = dci_key_load_private(priv_pem, err, sizeof(err));
		pub = dci_key_load_public(pub_pem, err, sizeof(err));
		CHECK(priv && pub, "generated keys load");
		dbuf_init(&sig);
		dbuf_init(&jws);
		dbuf_init(&payload);
		if (a == 0)
		{
			CHECK(dci_sig_sign(priv, "s|k|ed25519", msg, strlen(msg), 100, 400, &sig, err, sizeof(err)) == 0, "sign");
			CHECK(dci_sig_verify(pub, sig.data, msg, strlen(msg), 200, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_OK,
				  "fresh Ed25519 key round trip");
		}
		else
		{
			CHECK(dci_jws_sign(priv, "k", msg, strlen(msg), &jws, err, sizeof(err)) == 0, "jws sign");
			CHECK(dci_jws_verify(pub, jws.data, &payload, err, sizeof(err)) == DCI_SIG_OK, "fresh RSA key round trip");
		}
		dbuf_free(&sig);
		dbuf_free(&jws);
		dbuf_free(&payload);
		dci_key_free(priv);
		dci_key_free(pub);
		free(priv_pem);
		free(pub_pem);
	}
}

static void
test_canon_negative(void)
{
	const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"a\xff\"", "\"\xc0\xaf\"", "{} x", "nul", "tru", "\"\x01\"", "[1 2]", "{\"a\" 1}"};
	char		err[256];
	dbuf		out;
	char	   *deep;
	cj_node    *n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		dbuf_init(&out);
		CHECK(cj_canonicalize(bad[i], strlen(bad[i]), &out, err, sizeof(err)) != 0, "rejects input %zu", i);
		dbuf_free(&out);
	}
	/* 10000 levels: an error, not a stack overflow */
	deep = malloc(20001);
	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	deep[20000] = '\0';
	dbuf_init(&out);
	CHECK(cj_canonicalize(deep, 20000, &out, err, sizeof(err)) != 0, "deep nesting rejected");
	dbuf_free(&out);
	free(deep);
	/* duplicate keys: the last wins, once; -0 is 0; 1E400 is Infinity as in Python */
	dbuf_init(&out);
	cj_canonicalize("{\"b\":1,\"a\":2,\"b\":3}", 19, &out, err, sizeof(err));
	CHECK(strcmp(out.data, "{\"a\":2,\"b\":3}") == 0, "duplicate key: %s", out.data);
	dbuf_reset(&out);
	{
		const char *nums = "[-0,1E400,-1e400,5e-324,1e16,1e15,0.0001,0.00001]";

		cj_canonicalize(nums, strlen(nums), &out, err, sizeof(err));
	}
	CHECK(strcmp(out.data, "[0,Infinity,-Infinity,5e-324,1e+16,1000000000000000.0,0.0001,1e-05]") == 0,
		  "numbers: %s", out.data);
	dbuf_free(&out);
	n = cj_parse("{\"s\":\"x\",\"n\":1}", 15, err, sizeof(err));
	CHECK(n && cj_string(cj_get(n, "s")) && strcmp(cj_string(cj_get(n, "s")), "x") == 0, "cj_get string");
	CHECK(cj_string(cj_get(n, "n")) == NULL && cj_get(n, "zz") == NULL, "cj_get absent and non-string");
	cj_free(n);
}

/* A request envelope: canonical as written, the ten header members, signed correctly. */
static void
test_envelope_build(void)
{
	json_object *root = load_json("dci-ed25519.json");
	char		err[256];
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	dci_header	h = {"11111111-2222-4333-8444-555555555555", 1735689600, "search", "spmis.example.org",
	NULL, "crvs.example.org", 2};
	dci_search_item items[2];
	dci_signer	signer = {DCI_SIGN_ED25519, priv, "spmis.example.org|key-1|ed25519", 300};
	dbuf		body,
				canon;
	json_object *b,
			   *hdr,
			   *v;
	cj_node    *n;

	memset(items, 0, sizeof(items));
	items[0].reference_id = "r-0";
	items[0].query_type = "idtype-value";
	items[0].query_json = "{ \"value\": \"Mart\\u00ednez\", \"type\": \"BRN\" }";
	items[0].query_len = strlen(items[0].query_json);
	items[0].reg_type = "ns:org:RegistryType:Civil";
	items[1] = items[0];
	items[1].reference_id = "r-1";
	items[1].page_size = 10;
	items[1].reg_event_type = "birth";
	dbuf_init(&body);
	dbuf_init(&canon);
	CHECK(dci_build_search(&h, "txn-1", items, 2, &signer, &body, err, sizeof(err)) == 0, "build: %s", err);
	b = json_tokener_parse(body.data);
	CHECK(b != NULL, "body is JSON");
	json_object_object_get_ex(b, "header", &hdr);
	CHECK(json_object_object_length(hdr) == 10, "exactly ten header members");
	CHECK(json_object_object_get_ex(hdr, "total_count", &v) && json_object_is_type(v, json_type_int) &&
		  json_object_get_int(v) == 2, "total_count is the integer 2");
	CHECK(json_object_object_get_ex(hdr, "is_msg_encrypted", &v) && json_object_is_type(v, json_type_boolean),
		  "is_msg_encrypted is a boolean");
	CHECK(json_object_object_get_ex(hdr, "meta", &v) && json_object_is_type(v, json_type_object), "meta is an object");
	CHECK(strcmp(str(hdr, "message_ts"), "2025-01-01T00:00:00Z") == 0, "whole-second UTC timestamp");
	CHECK(strcmp(str(hdr, "sender_uri"), "") == 0, "absent sender_uri is sent as \"\"");
	CHECK(strstr(body.data, "\"pagination\":{\"page_number\":1,\"page_size\":10}") != NULL, "pagination numbers");
	CHECK(strstr(body.data, "\"reg_event_type\":\"birth\"") != NULL, "reg_event_type when given");
	/* the envelope minus the signature is already canonical, and the signature verifies over it */
	n = cj_parse(body.data, body.len, err, sizeof(err));
	CHECK(cj_canonical_envelope(cj_get(n, "header"), cj_get(n, "message"), 0, &canon) == 0, "canonical envelope");
	CHECK(strstr(body.data, canon.data + 1) != NULL, "written canonically");
	CHECK(dci_sig_verify(pub, cj_string(cj_get(n, "signature")), canon.data, canon.len,
						 1735689600, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_OK, "our signature verifies: %s", err);
	/* and a bad query is refused before anything is sent */
	items[0].query_json = "{bad";
	items[0].query_len = 4;
	dbuf_reset(&body);
	CHECK(dci_build_search(&h, "txn-1", items, 1, &signer, &body, err, sizeof(err)) != 0, "bad query JSON refused");
	cj_free(n);
	json_object_put(b);
	dbuf_free(&body);
	dbuf_free(&canon);
	dci_key_free(priv);
	dci_key_free(pub);
	json_object_put(root);
}

/* Response parsing survives what real registries send. */
static void
test_response_parse(void)
{
	struct
	{
		const char *body;
		int			ok;
		const char *status;
		const char *code;
	}			cases[] = {
		{"{\"header\":{\"status\":\"succ\"},\"message\":{\"search_response\":[]}}", 0, "succ", NULL},
		{"{\"header\":{\"status\":\"rjct\",\"status_reason_code\":\"rjct.errors.too_many\"}}", 0, "rjct", "rjct.errors.too_many"},
		{"{\"message\":{\"ack_status\":\"ERR\",\"error\":{\"code\":\"err.sender.unknown\",\"message\":\"x\"}}}", 0, NULL, "err.sender.unknown"},
		{"{\"errors\":[{\"code\":\"E1\",\"message\":\"m\"}]}", 0, NULL, "E1"},
		{"{\"error\":{\"code\":400,\"message\":\"m\"}}", 0, NULL, "400"},
		{"<html><body>502</body></html>", -1, NULL, NULL},
		{"{\"header\":{\"status\":\"succ\"},\"message\":{\"search_resp", -1, NULL, NULL},
		{"[1,2]", -1, NULL, NULL},
		{"", -1, NULL, NULL},
		{"{\"a\":1}   \n", 0, NULL, NULL},
		{"{\"a\":1} x", -1, NULL, NULL},
	};
	char		err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_response r;
		int			rc = dci_response_parse(cases[i].body, strlen(cases[i].body), &r, err, sizeof(err));

		CHECK(rc == cases[i].ok, "case %zu parse rc %d", i, rc);
		if (rc == 0)
		{
			CHECK((r.status == NULL && cases[i].status == NULL) ||
				  (r.status && cases[i].status && strcmp(r.status, cases[i].status) == 0), "case %zu status", i);
			CHECK((r.reason_code == NULL && cases[i].code == NULL) ||
				  (r.reason_code && cases[i].code && strcmp(r.reason_code, cases[i].code) == 0),
				  "case %zu reason code %s", i, r.reason_code ? r.reason_code : "(null)");
			dci_response_free(&r);
		}
	}
	/* one item as an object, reg_records as one object, counts as strings */
	{
		const char *b = "{\"header\":{},\"message\":{\"search_response\":{\"reference_id\":\"x-0\",\"status\":\"succ\","
			"\"data\":{\"reg_records\":{\"a\":1}},\"pagination\":{\"total_count\":\"7\"}}}}";
		dci_response r;
		struct json_object *it;

		CHECK(dci_response_parse(b, strlen(b), &r, err, sizeof(err)) == 0, "lenient parse");
		it = dci_response_item(&r, "x-0");
		CHECK(it != NULL && dci_records_len(dci_item_records(it)) == 1, "single item, single record");
		CHECK(dci_item_total_count(it) == 7, "string total_count");
		CHECK(dci_response_item(&r, "x-1") == NULL, "unknown reference");
		dci_response_free(&r);
	}
}

/* A response signed over the header OpenSPP re-serializes still verifies. */
static void
test_response_verify(void)
{
	json_object *root = load_json("dci-ed25519.json");
	char		err[256];
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	long		now = (long) time(NULL);
	/* signed over the header with the model's defaults; sent without them and with a null */
	const char *signed_over = "{\"header\":{\"completed_count\":0,\"is_msg_encrypted\":false,\"sender_id\":\"r\",\"status\":\"succ\",\"total_count\":0,\"version\":\"1.0.0\"},\"message\":{\"a\":1}}";
	dbuf		field,
				body;

	dbuf_init(&field);
	dbuf_init(&body);
	dci_sig_sign(priv, "r|k|ed25519", signed_over, strlen(signed_over), now, now + 300, &field, err, sizeof(err));
	dbuf_puts(&body, "{\"signature\":");
	dci_json_string(&body, field.data);
	dbuf_puts(&body, ",\"header\":{\"status\":\"succ\",\"sender_id\":\"r\",\"sender_uri\":null},\"message\":{\"a\":1}}");
	CHECK(dci_verify_response(body.data, body.len, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) == DCI_SIG_OK,
		  "OpenSPP-normalized header verifies: %s", err);
	dbuf_reset(&body);
	dbuf_puts(&body, "{\"signature\":");
	dci_json_string(&body, field.data);
	dbuf_puts(&body, ",\"header\":{\"status\":\"succ\",\"sender_id\":\"r\"},\"message\":{\"a\":2}}");
	CHECK(dci_verify_response(body.data, body.len, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) == DCI_SIG_BAD,
		  "changed message does not verify");
	CHECK(dci_verify_response("{\"header\":{},\"message\":{}}", 26, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) ==
		  DCI_SIG_MISSING, "unsigned is MISSING");
	dbuf_free(&field);
	dbuf_free(&body);
	dci_key_free(priv);
	dci_key_free(pub);
	json_object_put(root);
}

static const struct
{
	const char *name;
	void		(*fn) (void);
}			tests[] = {
	{"ed25519 vectors", test_ed25519_vectors},
	{"malformed signature fields", test_malformed_fields},
	{"jws rs256 vector", test_jws_vector},
	{"key generation", test_keygen},
	{"canonical JSON edge cases", test_canon_negative},
	{"envelope build", test_envelope_build},
	{"response parse", test_response_parse},
	{"response verify", test_response_verify},
	{"records: dates", test_records_dates},
	{"records: helpers", test_records_helpers},
	{"records: birth spdci", test_records_birth_spdci},
	{"records: names", test_records_names},
	{"records: sex", test_records_sex},
	{"records: deceased", test_records_deceased},
	{"records: opencrvs", test_records_opencrvs},
	{"records: enrollment", test_records_enrollment},
	{"records: disability status", test_records_disability_status},
	{"records: WG scores", test_records_wg_scores},
	{"records: pwd", test_records_pwd},
	{"records: reg_records", test_records_reg_records},
	{"records: garbage", test_records_garbage},
	{"records: random", test_records_random},
	{"records: huge", test_records_huge},
};

int
main(int argc, char **argv)
{
	if (argc > 1)
		unit_vectors_dir = argv[1];
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
	{
		int			before = unit_failed;

		tests[i].fn();
		printf("%-32s %s\n", tests[i].name, unit_failed == before ? "ok" : "FAILED");
	}
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
