/*
 * test_protocol.c - unit tests of the protocol layer (no PostgreSQL):
 * canonical JSON and signatures against independent vectors, envelopes,
 * response parsing and verification, and record mapping (test_records.c).
 *
 * Usage: test_protocol <vectors-dir> [test-function-name...]
 *
 * To add tests: write a void function making CHECKs (unit.h) and list it
 * with UNIT_TEST() in the table at the end; tests in another file are
 * declared below and that file is added to the Makefile rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "canonjson.h"
#include "envelope.h"
#include "sign.h"

#define UNIT_MAIN
#include "unit.h"

/* tree tests live in test_json.c, records tests in test_records.c, the rest in test_envelope.c */
void		test_envelope_builders(void);
void		test_envelope_binding(void);
void		test_envelope_verify_parsed(void);
void		test_callbacks(void);
void		test_callback_refusals(void);
void		test_acks(void);
void		test_token_reply(void);
void		test_retry_hint(void);
void		test_sanitize(void);
int			unit_emit_samples(const char *dir);
void		test_json_result_codes(void);
void		test_json_budget(void);
void		test_json_numbers(void);
void		test_json_float_shortest(void);
void		test_json_utf8(void);
void		test_json_nul(void);
void		test_json_tree(void);
void		test_json_compact(void);
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
void		test_records_nul_numbers(void);
void		test_records_has_identifier(void);

/* A vectors file as a tree (exits when unreadable: nothing can be checked without it). */
static cj_node *
load_json(const char *name)
{
	char		path[1024];
	char		err[256];
	size_t		len;
	char	   *text;
	cj_node    *o;

	snprintf(path, sizeof(path), "%s/%s", unit_vectors_dir, name);
	text = unit_read_file(path, &len);
	o = text ? cj_parse(text, len, err, sizeof(err)) : NULL;
	free(text);
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

/* A string member, or a number member as its text. */
static const char *
str(const cj_node *o, const char *key)
{
	const cj_node *v = cj_get(o, key);

	return cj_typeof(v) == CJ_NUMBER ? cj_number(v, NULL) : cj_string(v);
}

/* Every dci-ed25519 vector: canonical text, digest, signing string, signature, field. */
static void
test_ed25519_vectors(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
	const cj_node *vs;
	char		err[256];
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	long		created = atol(str(root, "created"));
	long		expires = atol(str(root, "expires"));
	const char *kid = "spmis.example.org|key-1|ed25519";
	dbuf		jwk;

	CHECK(priv != NULL && pub != NULL, "vector keys load: %s", err);
	vs = cj_get(root, "vectors");
	CHECK(cj_array_len(vs) >= 8, "at least 8 vectors");
	for (size_t i = 0; i < cj_array_len(vs); i++)
	{
		const cj_node *v = cj_array_get(vs, i);
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
	cj_free(root);
}

/* Malformed signature fields are MALFORMED or MISSING, never a crash. */
static void
test_malformed_fields(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
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
	cj_free(root);
}

/* The RS256 compact JWS vector (OpenCRVS style). */
static void
test_jws_vector(void)
{
	cj_node    *root = load_json("jws-rs256.json");
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
	cj_free(root);
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
	/* duplicate keys: the last wins, once; -0 is 0; 1E400 has no canonical form */
	dbuf_init(&out);
	cj_canonicalize("{\"b\":1,\"a\":2,\"b\":3}", 19, &out, err, sizeof(err));
	CHECK(strcmp(out.data, "{\"a\":2,\"b\":3}") == 0, "duplicate key: %s", out.data);
	dbuf_reset(&out);
	{
		const char *nums = "[-0,5e-324,1e16,1e15,0.0001,0.00001]";

		cj_canonicalize(nums, strlen(nums), &out, err, sizeof(err));
	}
	CHECK(strcmp(out.data, "[0,5e-324,1e+16,1000000000000000.0,0.0001,1e-05]") == 0,
		  "numbers: %s", out.data);
	dbuf_reset(&out);
	CHECK(cj_canonicalize("[1E400]", 7, &out, err, sizeof(err)) != 0 && out.len == 0, "1E400 refused");
	dbuf_free(&out);
	n = cj_parse("{\"s\":\"x\",\"n\":1}", 15, err, sizeof(err));
	CHECK(n && cj_string(cj_get(n, "s")) && strcmp(cj_string(cj_get(n, "s")), "x") == 0, "cj_get string");
	CHECK(cj_string(cj_get(n, "n")) == NULL && cj_get(n, "zz") == NULL, "cj_get absent and non-string");
	cj_free(n);
}

/* ---- canonjson and sign: beyond the vectors ---- */

/* Canonical text of text, or "ERR" when it is refused; caller frees. */
static char *
canon_of(const char *text, size_t len)
{
	dbuf		out;
	char		err[256];

	dbuf_init(&out);
	if (cj_canonicalize(text, len, &out, err, sizeof(err)) != 0)
	{
		CHECK(err[0] != '\0', "a refusal says why: %.40s", text);
		CHECK(out.len == 0, "nothing written on error");
		dbuf_free(&out);
		return strdup("ERR");
	}
	return dbuf_steal(&out);
}

#define CANON_IS(in, want) \
	do { \
		char	   *got_ = canon_of((in), sizeof(in) - 1); \
		CHECK(strcmp(got_, (want)) == 0, "canonical of %s\n got %s\nwant %s", #in, got_, (want)); \
		free(got_); \
	} while (0)

/* Strict RFC 8259: everything here is refused, with a message, never a crash. */
static void
test_canon_strict(void)
{
	static const struct
	{
		const char *text;
		size_t		len;
	}			bad[] = {
#define B(s) {s, sizeof(s) - 1}
		B(""), B("   "), B("\xef\xbb\xbf{}"), B("NaN"), B("Infinity"), B("-Infinity"),
		B("[00]"), B("[-01]"), B("[1.e5]"), B("[.5]"), B("[+1]"), B("[1e]"), B("[1e+]"), B("[0x10]"),
		B("[1]x"), B("{}}"), B("[] []"), B("\"a\"\"b\""), B("1 2"), B("{\"a\":1}/*c*/"),
		B("{'a':1}"), B("{a:1}"), B("[\"\t\"]"), B("[\"\n\"]"), B("\"\\u12\""), B("\"\\uZZZZ\""),
		B("\"\\ud800\""), B("\"\\udbff\\u0041\""), B("\"\\udc00\""), B("\"\\ud800\\ud800\""),
		B("\"\\ud83d\""), B("\"\xc0\x80\""), B("\"\xc1\xbf\""), B("\"\xe0\x80\x80\""),
		B("\"\xed\xa0\x80\""), B("\"\xf4\x90\x80\x80\""), B("\"\xf5\x80\x80\x80\""), B("\"\xff\""),
		B("\"\xc3\""), B("\"\xe2\x82\""), B("\"\x80\""), B("[1,\xc3\xa9]"), B("{\"a\"}"),
		B("{\"a\":}"), B("{,}"), B("[,1]"), B("tRue"), B("nulll"), B("\"\\a\""), B("[1]\0"),
		B("\"abc"), B("[\"a\\"),
#undef B
	};
	char		err[256];
	dbuf		out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		dbuf_init(&out);
		err[0] = '\0';
		CHECK(cj_canonicalize(bad[i].text, bad[i].len, &out, err, sizeof(err)) != 0 && err[0] != '\0',
			  "strict: input %zu (%.20s) refused with a message", i, bad[i].text);
		dbuf_free(&out);
	}
	/* messages name the problem */
	cj_free(cj_parse("\"\\ud800\"", 8, err, sizeof(err)));
	CHECK(strstr(err, "surrogate") != NULL, "lone surrogate message: %s", err);
	cj_free(cj_parse("\"\xff\"", 3, err, sizeof(err)));
	CHECK(strstr(err, "UTF-8") != NULL, "invalid UTF-8 message: %s", err);
	cj_free(cj_parse("[1] x", 5, err, sizeof(err)));
	CHECK(strstr(err, "trailing") != NULL && strstr(err, "offset 4") != NULL, "trailing garbage message: %s", err);
	/* a NULL text or a tiny error buffer is harmless */
	CHECK(cj_parse(NULL, 0, err, sizeof(err)) == NULL, "NULL text");
	CHECK(cj_parse("x", 1, err, 1) == NULL && err[0] == '\0', "one-byte error buffer");
	CHECK(cj_parse("x", 1, NULL, 0) == NULL, "no error buffer");
}

/* Nesting: 256 levels are fine, 257 and 10000 are refused without recursion trouble. */
static void
test_canon_depth(void)
{
	size_t		n = 10000;
	char	   *s = malloc(n * 5 + 2);
	char		err[256];
	cj_node    *node;
	size_t		i,
				len = 0;

	for (i = 0; i < 256; i++)
		s[len++] = '[';
	for (i = 0; i < 256; i++)
		s[len++] = ']';
	node = cj_parse(s, len, err, sizeof(err));
	CHECK(node != NULL, "256 levels accepted: %s", err);
	cj_free(node);
	len = 0;
	for (i = 0; i < 257; i++)
		s[len++] = '[';
	for (i = 0; i < 257; i++)
		s[len++] = ']';
	CHECK(cj_parse(s, len, err, sizeof(err)) == NULL && strstr(err, "nesting") != NULL, "257 levels refused: %s", err);
	/* 10000 nested objects, unterminated too */
	len = 0;
	for (i = 0; i < n; i++)
	{
		memcpy(s + len, "{\"a\":", 5);
		len += 5;
	}
	CHECK(cj_parse(s, len, err, sizeof(err)) == NULL, "10000 nested objects refused");
	free(s);
}

/* Numbers as Python prints them; integers verbatim. */
static void
test_canon_numbers(void)
{
	char	   *big;
	char	   *got;
	size_t		i;

	CANON_IS("[0,-0,-7,12345678901234567890123456789,-98765432109876543210]",
			 "[0,0,-7,12345678901234567890123456789,-98765432109876543210]");
	CANON_IS("[1.0,-0.0,0.0,1e0,1E0,100e-2,0e10,-0e-10]", "[1.0,-0.0,0.0,1.0,1.0,1.0,0.0,-0.0]");
	CANON_IS("[0.1,0.2,0.30000000000000004,1.5,2.675,1e22,1e21,123456789.123456789]",
			 "[0.1,0.2,0.30000000000000004,1.5,2.675,1e+22,1e+21,123456789.12345679]");
	CANON_IS("[1e16,9999999999999998.0,1e15,123456789012345680.0,0.0001,0.00001,0.000123,1.5e-7]",
			 "[1e+16,9999999999999998.0,1000000000000000.0,1.2345678901234568e+17,0.0001,1e-05,0.000123,1.5e-07]");
	CANON_IS("[5e-324,2.2250738585072014e-308,1.7976931348623157e308,4.9e-324,1e-400,-1e-400]",
			 "[5e-324,2.2250738585072014e-308,1.7976931348623157e+308,5e-324,0.0,-0.0]");
	/* what overflows the double has no canonical form (Python would write Infinity, which is no JSON) */
	CANON_IS("[1e999]", "ERR");
	CANON_IS("[-1e999]", "ERR");
	CANON_IS("[1E400]", "ERR");
	CANON_IS("[123e100000000000000000000]", "ERR");
	CANON_IS("[1.8e308]", "ERR");
	CANON_IS("[1e-100000000000000000000,-1e-400]", "[0.0,-0.0]");
	CANON_IS("[9007199254740993.0,9007199254740993,1.25e+2,1e+100,1.7e-100]",
			 "[9007199254740992.0,9007199254740993,125.0,1e+100,1.7e-100]");
	/* 4300 digits are what Python's int() takes; one more is refused */
	big = malloc(4305);
	big[0] = '[';
	for (i = 1; i <= 4300; i++)
		big[i] = '0' + (i % 9) + 1;
	big[4301] = ']';
	got = canon_of(big, 4302);
	CHECK(got && strlen(got) == 4302 && memcmp(got, big, 4302) == 0, "4300-digit integer verbatim");
	free(got);
	big[4301] = '7';
	big[4302] = ']';
	got = canon_of(big, 4303);
	CHECK(strcmp(got, "ERR") == 0, "4301-digit integer refused");
	free(got);
	/* a huge non-integer is a double like any other: this one overflows */
	big[4301] = '.';
	big[4302] = '5';
	big[4303] = ']';
	got = canon_of(big, 4304);
	CHECK(strcmp(got, "ERR") == 0, "huge float literal refused: %.30s", got);
	free(got);
	/* the same digits after "0." are a small number */
	memmove(big + 3, big + 1, 4300);
	big[1] = '0';
	big[2] = '.';
	big[4303] = ']';
	got = canon_of(big, 4304);
	CHECK(strcmp(got, "[0.2345678912345679]") == 0, "long fraction: %.30s", got);
	free(got);
	free(big);
}

/* Strings: ensure_ascii escaping, escapes decoded, keys by code point, duplicates. */
static void
test_canon_strings(void)
{
	cj_node    *n;
	char		err[256];

	CANON_IS("\"\\u00E9\\/\\b\\f\\n\\r\\t\\\"\\\\\\u001f\\u007f\x7f\"",
			 "\"\\u00e9/\\b\\f\\n\\r\\t\\\"\\\\\\u001f\\u007f\\u007f\"");
	CANON_IS("\"a\\u0000b\"", "\"a\\u0000b\"");
	CANON_IS("\"\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\xef\xbf\xbf\"", "\"\\ud83d\\ude00\\u20ac\\u00e9\\uffff\"");
	CANON_IS("\"\\uD83D\\uDE00\"", "\"\\ud83d\\ude00\"");
	CANON_IS("{\"b\":1,\"a\":2,\"b\":3,\"ab\":4,\"\":5,\"B\":6,\"\xc3\xa9\":7,\"\xf0\x9f\x98\x80\":8,\"\xef\xbf\xbf\":9}",
			 "{\"\":5,\"B\":6,\"a\":2,\"ab\":4,\"b\":3,\"\\u00e9\":7,\"\\uffff\":9,\"\\ud83d\\ude00\":8}");
	CANON_IS("{\"a\":{\"z\":[],\"y\":{}},\"a\":null}", "{\"a\":null}");
	CANON_IS(" \t\r\n{ \"k\" :\n[ true , false , null ] }\n", "{\"k\":[true,false,null]}");
	/* cj_get: the last duplicate, decoded strings, other types */
	{
		const char *t = "{\"s\":\"first\",\"s\":\"caf\\u00e9\",\"n\":12,\"o\":{\"x\":\"\\u0041\"},\"z\":null}";

		n = cj_parse(t, strlen(t), err, sizeof(err));
	}
	CHECK(n != NULL, "parse for cj_get: %s", err);
	CHECK(cj_typeof(n) == CJ_OBJECT, "object type");
	CHECK(cj_string(cj_get(n, "s")) && strcmp(cj_string(cj_get(n, "s")), "caf\xc3\xa9") == 0, "last duplicate, decoded");
	CHECK(cj_typeof(cj_get(n, "n")) == CJ_NUMBER && cj_string(cj_get(n, "n")) == NULL, "number is no string");
	CHECK(cj_string(cj_get(cj_get(n, "o"), "x")) && strcmp(cj_string(cj_get(cj_get(n, "o"), "x")), "A") == 0, "nested");
	CHECK(cj_get(n, "z") != NULL && cj_typeof(cj_get(n, "z")) == CJ_NULL, "explicit null is present");
	CHECK(cj_get(n, "absent") == NULL && cj_get(cj_get(n, "n"), "x") == NULL && cj_get(NULL, "x") == NULL,
		  "absent, non-object, NULL");
	CHECK(cj_typeof(NULL) == CJ_NULL && cj_string(NULL) == NULL, "NULL node");
	cj_free(n);
	cj_free(NULL);
}

/* The envelope emitter and OpenSPP's header normalization. */
static void
test_canon_envelope(void)
{
	static const char *hdr_text = "{\"status\":\"succ\",\"sender_id\":\"r\",\"sender_uri\":null,\"meta\":null,"
		"\"message_ts\":\"2025-01-01T00:00:00.123456Z\"}";
	char		err[256];
	cj_node    *h = cj_parse(hdr_text, strlen(hdr_text), err, sizeof(err));
	cj_node    *m = cj_parse("{\"b\":1,\"a\":[1.50]}", 18, err, sizeof(err));
	static const char *h2_text = "{\"version\":\"2.0.0\",\"is_msg_encrypted\":true,\"total_count\":3,\"x\":null,\"x\":1}";
	static const char *h3_text = "{\"action\":\"notify\",\"version\":null}";
	cj_node    *h2 = cj_parse(h2_text, strlen(h2_text), err, sizeof(err));
	cj_node    *h3 = cj_parse(h3_text, strlen(h3_text), err, sizeof(err));
	cj_node    *arr = cj_parse("[null]", 6, err, sizeof(err));
	dbuf		out;

	CHECK(h && m && h2 && h3 && arr, "envelope inputs parse: %s", err);
	dbuf_init(&out);
	CHECK(cj_canonical_envelope(h, m, 0, &out) == 0 &&
		  strcmp(out.data, "{\"header\":{\"message_ts\":\"2025-01-01T00:00:00.123456Z\",\"meta\":null,\"sender_id\":\"r\","
				 "\"sender_uri\":null,\"status\":\"succ\"},\"message\":{\"a\":[1.5],\"b\":1}}") == 0,
		  "plain envelope: %s", out.data);
	dbuf_reset(&out);
	/* a response header: nulls dropped, model defaults added (completed_count with a status) */
	CHECK(cj_canonical_envelope(h, m, 1, &out) == 0 &&
		  strcmp(out.data, "{\"header\":{\"completed_count\":0,\"is_msg_encrypted\":false,"
				 "\"message_ts\":\"2025-01-01T00:00:00.123456Z\",\"sender_id\":\"r\",\"status\":\"succ\","
				 "\"total_count\":0,\"version\":\"1.0.0\"},\"message\":{\"a\":[1.5],\"b\":1}}") == 0,
		  "normalized response header: %s", out.data);
	dbuf_reset(&out);
	/* values present are kept; a duplicate's last value decides whether it is null */
	CHECK(cj_canonical_envelope(h2, NULL, 1, &out) == 0 &&
		  strcmp(out.data, "{\"header\":{\"is_msg_encrypted\":true,\"total_count\":3,\"version\":\"2.0.0\",\"x\":1},"
				 "\"message\":null}") == 0, "present values kept: %s", out.data);
	dbuf_reset(&out);
	/* no status: no completed_count; an explicit null is dropped, not defaulted */
	CHECK(cj_canonical_envelope(h3, m, 1, &out) == 0 &&
		  strcmp(out.data, "{\"header\":{\"action\":\"notify\",\"is_msg_encrypted\":false,\"total_count\":0},"
				 "\"message\":{\"a\":[1.5],\"b\":1}}") == 0, "request header: %s", out.data);
	dbuf_reset(&out);
	CHECK(cj_canonical_envelope(NULL, NULL, 1, &out) == 0 &&
		  strcmp(out.data, "{\"header\":null,\"message\":null}") == 0, "NULL nodes: %s", out.data);
	dbuf_reset(&out);
	CHECK(cj_canonical_envelope(arr, arr, 1, &out) == 0 &&
		  strcmp(out.data, "{\"header\":[null],\"message\":[null]}") == 0, "non-object header as is: %s", out.data);
	/* appends */
	dbuf_reset(&out);
	dbuf_puts(&out, "X");
	CHECK(cj_canonical(m, &out) == 0 && strcmp(out.data, "X{\"a\":[1.5],\"b\":1}") == 0, "cj_canonical appends");
	dbuf_free(&out);
	cj_free(h);
	cj_free(h2);
	cj_free(h3);
	cj_free(m);
	cj_free(arr);
}

static void
test_base64(void)
{
	const unsigned char bytes[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83, 0xe0};
	static const char *const bad[] = {"A", "AB=C", "====", "A===", "!!!!", "AB CD", "AB\nCD", "ABC==", "AB=", "ABCDE"};
	unsigned char *dec;
	size_t		declen;

	for (size_t len = 0; len <= sizeof(bytes); len++)
	{
		for (int url = 0; url <= 1; url++)
		{
			dbuf		b;

			dbuf_init(&b);
			CHECK(dci_b64_encode(bytes, len, url, &b) == 0, "encode");
			CHECK(len == 0 || strchr(b.data, url ? '+' : '-') == NULL, "alphabet");
			CHECK(url ? strchr(b.data ? b.data : "", '=') == NULL : b.len % 4 == 0, "padding rule (%zu, url %d)", len, url);
			CHECK(dci_b64_decode(b.data ? b.data : "", b.len, &dec, &declen) == 0 &&
				  declen == len && memcmp(dec, bytes, len) == 0, "round trip %zu url %d", len, url);
			free(dec);
			dbuf_free(&b);
		}
	}
	/* either alphabet, padding optional */
	CHECK(dci_b64_decode("-_8", 3, &dec, &declen) == 0 && declen == 2 && dec[0] == 0xfb && dec[1] == 0xff, "url, no pad");
	free(dec);
	CHECK(dci_b64_decode("+/8=", 4, &dec, &declen) == 0 && declen == 2 && dec[0] == 0xfb, "std, padded");
	free(dec);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		CHECK(dci_b64_decode(bad[i], strlen(bad[i]), &dec, &declen) != 0 && dec == NULL, "bad base64 %s", bad[i]);
	}
}

/* Signature field syntax: lenient where peers differ, strict where it matters. */
static void
test_sig_fields(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
	const cj_node *vs,
			   *v;
	char		err[256];
	char		kid[64];
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	long		c = atol(str(root, "created"));
	long		e = atol(str(root, "expires"));
	const char *canon;
	const char *sig;
	dbuf		f;
	size_t		clen;

	vs = cj_get(root, "vectors");
	v = cj_array_get(vs, 0);
	canon = str(v, "canonical");
	sig = str(v, "signature");
	clen = strlen(canon);
	CHECK(pub && priv, "keys");
	dbuf_init(&f);

#define VERIFY(field, now) dci_sig_verify(pub, (field), canon, clen, (now), 60, kid, sizeof(kid), err, sizeof(err))
	/* the vector field itself, the kid handed back, the window edges */
	CHECK(VERIFY(str(v, "signature_field"), c) == DCI_SIG_OK && strcmp(kid, "spmis.example.org|key-1|ed25519") == 0,
		  "vector field verifies, kid %s", kid);
	CHECK(VERIFY(str(v, "signature_field"), c - 60) == DCI_SIG_OK, "created within skew");
	CHECK(VERIFY(str(v, "signature_field"), c - 61) == DCI_SIG_FUTURE, "created beyond skew");
	CHECK(VERIFY(str(v, "signature_field"), e + 60) == DCI_SIG_OK, "expired within skew");
	CHECK(VERIFY(str(v, "signature_field"), e + 61) == DCI_SIG_EXPIRED, "expired beyond skew");
	CHECK(dci_sig_verify(pub, str(v, "signature_field"), canon, clen, c, 60, kid, 6, err, sizeof(err)) == DCI_SIG_OK &&
		  strcmp(kid, "spmis") == 0, "kid truncated to its buffer");
	/* other spellings of the same field */
	dbuf_printf(&f, "Signature: signature=\"%s\",expires=\"%ld\" ,created=%ld,algorithm=\"ED25519\",namespace=dci", sig, e, c);
	CHECK(VERIFY(f.data, c) == DCI_SIG_OK && kid[0] == '\0', "prefix, any order, unquoted, no kid: %s", err);
	dbuf_reset(&f);
	dbuf_printf(&f, "created=\"%ld\", expires=\"%ld\", headers=\"(created)  (expires) digest\", signature=\"%s\", extra=\"x\"",
				c, e, sig);
	CHECK(VERIFY(f.data, c) == DCI_SIG_OK, "no algorithm, spaced headers, unknown member: %s", err);
	/* both namespaces in use: OpenSPP's "dci" and the standard's example "spdci"; no other */
	{
		static const char *const ns[] = {"namespace=\"dci\", ", "namespace=\"spdci\", ", "namespace=SPDCI,",
		"namespace=\"other\", ", "namespace=\"\", ", "namespace=\"dci\", namespace=\"dci\", "};

		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		{
			dbuf_reset(&f);
			dbuf_printf(&f, "%skidId=\"k\", created=\"%ld\", expires=\"%ld\", signature=\"%s\"", ns[i], c, e, sig);
			CHECK(VERIFY(f.data, c) == (i < 3 ? DCI_SIG_OK : DCI_SIG_MALFORMED), "namespace %zu: %s", i, f.data);
		}
	}
	/* a signature over other times does not verify */
	dbuf_reset(&f);
	dbuf_printf(&f, "created=\"%ld\", expires=\"%ld\", signature=\"%s\"", c, e + 1, sig);
	CHECK(VERIFY(f.data, c) == DCI_SIG_BAD, "changed expires is BAD");
	/* malformed, each for one reason */
	{
		const char *fmts[] = {
			"created=\"%ld\", expires=\"%ld\", headers=\"(created) digest\", signature=\"%s\"",
			"created=\"%ld\", expires=\"%ld\", headers=\"digest (created) (expires)\", signature=\"%s\"",
			"created=\"%ld\", expires=\"%ld\", algorithm=\"rsa-sha256\", signature=\"%s\"",
			"created=\"%ld\", expires=\"%ld\", signature=\"%s\", signature=\"AAAA\"",
			"created=\"%ld\" expires=\"%ld\" signature=\"%s\"",
			"created=\"-%ld\", expires=\"%ld\", signature=\"%s\"",
			"created=\"%ld\", expires=\"1%ld0000000000000\", signature=\"%s\"",
			"created=\"%ld\", expires=\"%ld\", signature=\"%s==\"",
			"created=\"%ld\", expires=\"%ld\", signature=\"!%s\"",
			"created=\"%ld\", expires=\"%ld\", signature=\"%.40s\"",
			"created=\"%ld\", expires=\"%ld\", sig=\"%s\"",
			"created=\"%ld\", expires=\"%ld\", signature=\"%s",
			"created=\"%ld\", =\"%ld\", signature=\"%s\"",
		};

		for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		{
			dbuf_reset(&f);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			dbuf_printf(&f, fmts[i], c, e, sig);
#pragma GCC diagnostic pop
			CHECK(VERIFY(f.data, c) == DCI_SIG_MALFORMED, "malformed field %zu: %s", i, f.data);
		}
	}
	dbuf_reset(&f);
	dbuf_printf(&f, "created=\"%ld\", expires=\"%ld\", signature=\"%s\"", e, c, sig);
	CHECK(VERIFY(f.data, c) == DCI_SIG_MALFORMED, "expires before created");
	CHECK(VERIFY("", c) == DCI_SIG_MALFORMED, "empty field");
	CHECK(VERIFY("   ,, ", c) == DCI_SIG_MALFORMED, "blank field");
	CHECK(VERIFY("Signature:", c) == DCI_SIG_MALFORMED, "prefix only");
	CHECK(VERIFY(NULL, c) == DCI_SIG_MISSING, "NULL field");
#undef VERIFY
	/* the wrong kind of key */
	{
		char	   *rpem = load_text("rs256-test-key.pem");
		dci_key    *rsa = dci_key_load_private(rpem, err, sizeof(err));

		CHECK(dci_sig_verify(rsa, str(v, "signature_field"), canon, clen, c, 60, NULL, 0, err, sizeof(err)) == DCI_SIG_ERROR,
			  "RSA key cannot verify dci-ed25519");
		dbuf_reset(&f);
		CHECK(dci_sig_sign(rsa, "k", canon, clen, c, e, &f, err, sizeof(err)) != 0 && f.len == 0,
			  "RSA key cannot sign dci-ed25519");
		CHECK(dci_sig_sign(pub, "k", canon, clen, c, e, &f, err, sizeof(err)) != 0 && f.len == 0,
			  "a public key cannot sign");
		dci_key_free(rsa);
		free(rpem);
	}
	/* kid that would break the field, times out of order */
	CHECK(dci_sig_sign(priv, "a\"b", canon, clen, c, e, &f, err, sizeof(err)) != 0, "quote in kid refused");
	CHECK(dci_sig_sign(priv, "", canon, clen, c, e, &f, err, sizeof(err)) != 0, "empty kid refused");
	CHECK(dci_sig_sign(priv, "k", canon, clen, e, c, &f, err, sizeof(err)) != 0 && f.len == 0, "expires < created refused");
	/* field_out is appended to */
	dbuf_puts(&f, "X");
	CHECK(dci_sig_sign(priv, "k", canon, clen, c, e, &f, err, sizeof(err)) == 0 &&
		  strncmp(f.data, "Xnamespace=\"dci\", kidId=\"k\",", 28) == 0, "appends: %.40s", f.data);
	dbuf_free(&f);
	dci_key_free(pub);
	dci_key_free(priv);
	cj_free(root);
}

/* JWKs: exact members, the vector's x, RSA n and e. */
static void
test_jwk(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
	cj_node    *jroot = load_json("jws-rs256.json");
	char		err[256];
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *rsa = dci_key_load_public(str(jroot, "public_key_pem"), err, sizeof(err));
	dbuf		out;
	cj_node    *j;
	char	   *pem = NULL;
	unsigned char *n = NULL;
	size_t		nlen = 0;

	dbuf_init(&out);
	CHECK(dci_key_jwk(pub, "s|k-1|ed25519", &out, err, sizeof(err)) == 0, "Ed25519 JWK: %s", err);
	CHECK(strcmp(out.data, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg\","
				 "\"kid\":\"s|k-1|ed25519\",\"use\":\"sig\",\"alg\":\"EdDSA\"}") == 0, "Ed25519 JWK text: %s", out.data);
	j = cj_parse(out.data, out.len, err, sizeof(err));
	CHECK(j && strcmp(cj_string(cj_get(j, "x")), str(root, "public_key_jwk_x")) == 0, "x is the vector's");
	cj_free(j);
	dbuf_reset(&out);
	CHECK(dci_key_jwk(priv, "q\"\\", &out, err, sizeof(err)) == 0 && strstr(out.data, str(root, "public_key_jwk_x")) &&
		  strstr(out.data, "\"kid\":\"q\\\"\\\\\""), "JWK of the private key, kid escaped: %s", out.data);
	dbuf_reset(&out);
	CHECK(dci_key_jwk(rsa, "spmis-key-1", &out, err, sizeof(err)) == 0, "RSA JWK: %s", err);
	j = cj_parse(out.data, out.len, err, sizeof(err));
	CHECK(j && strcmp(cj_string(cj_get(j, "kty")), "RSA") == 0 && strcmp(cj_string(cj_get(j, "e")), "AQAB") == 0 &&
		  strcmp(cj_string(cj_get(j, "alg")), "RS256") == 0 && strcmp(cj_string(cj_get(j, "use")), "sig") == 0 &&
		  strcmp(cj_string(cj_get(j, "kid")), "spmis-key-1") == 0, "RSA JWK members: %s", out.data);
	CHECK(j && strncmp(out.data, "{\"kty\":\"RSA\",\"n\":\"", 18) == 0 &&
		  dci_b64_decode(cj_string(cj_get(j, "n")), strlen(cj_string(cj_get(j, "n"))), &n, &nlen) == 0 &&
		  nlen == 256 && n[0] != 0 && strchr(cj_string(cj_get(j, "n")), '=') == NULL, "n: 256 bytes, no leading zero, unpadded");
	free(n);
	cj_free(j);
	dbuf_reset(&out);
	CHECK(dci_key_jwk(pub, NULL, &out, err, sizeof(err)) == 0 && strstr(out.data, "kid") == NULL, "no kid");
	/* public PEM of the private key is the vector's */
	CHECK(dci_key_public_pem(priv, &pem, err, sizeof(err)) == 0 && strcmp(pem, str(root, "public_key_pem")) == 0,
		  "public PEM of the vector key");
	free(pem);
	CHECK(dci_key_algorithm(pub) == DCI_ALG_ED25519 && dci_key_algorithm(rsa) == DCI_ALG_RS256, "algorithms");
	dbuf_free(&out);
	dci_key_free(pub);
	dci_key_free(priv);
	dci_key_free(rsa);
	cj_free(root);
	cj_free(jroot);
}

/* A compact JWS with the given header JSON, payload and signature text. */
static char *
jws_of(const char *header, const char *payload, const char *sig)
{
	dbuf		b;

	dbuf_init(&b);
	dci_b64_encode((const unsigned char *) header, strlen(header), 1, &b);
	dbuf_putc(&b, '.');
	dci_b64_encode((const unsigned char *) payload, strlen(payload), 1, &b);
	dbuf_putc(&b, '.');
	dbuf_puts(&b, sig);
	return dbuf_steal(&b);
}

/* JWS: the exact protected header, and what is refused. */
static void
test_jws_more(void)
{
	cj_node    *root = load_json("jws-rs256.json");
	cj_node    *eroot = load_json("dci-ed25519.json");
	char	   *pem = load_text("rs256-test-key.pem");
	char		err[256];
	dci_key    *priv = dci_key_load_private(pem, err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	dci_key    *ed = dci_key_load_public(str(eroot, "public_key_pem"), err, sizeof(err));
	const char *jws = str(root, "jws");
	const char *sig = strrchr(jws, '.') + 1;
	dbuf		out,
				pl;
	char	   *t;
	unsigned char *h;
	size_t		hlen;

	dbuf_init(&out);
	dbuf_init(&pl);
	/* the vector's protected header is exactly our form */
	CHECK(dci_b64_decode(jws, strchr(jws, '.') - jws, &h, &hlen) == 0 &&
		  hlen == 35 && memcmp(h, "{\"alg\":\"RS256\",\"kid\":\"spmis-key-1\"}", 35) == 0, "vector header bytes");
	free(h);
	/* tampered payload: exactly BAD, and nothing handed out */
	t = strdup(jws);
	t[strchr(t, '.') - t + 3] = t[strchr(t, '.') - t + 3] == 'x' ? 'y' : 'x';
	CHECK(dci_jws_verify(pub, t, &pl, err, sizeof(err)) == DCI_SIG_BAD && pl.len == 0, "tampered payload is BAD");
	free(t);
	/* other algorithms, even with the real signature */
	{
		static const char *const hdrs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"HS256\"}", "{\"alg\":\"rs256\"}",
		"{\"alg\":\"RS512\"}", "{\"alg\":\"PS256\"}", "{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}"};

		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		{
			t = jws_of(hdrs[i], str(root, "payload"), i == 0 ? "" : sig);
			CHECK(dci_jws_verify(pub, t, &pl, err, sizeof(err)) == DCI_SIG_BAD && pl.len == 0, "header %s refused", hdrs[i]);
			free(t);
		}
	}
	/* structure */
	{
		static const char *const bad[] = {"", ".", "..", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.AA",
		"WzFd.e30.AA", "eyJ0eXAiOiJKV1QifQ.e30.AA", "eyJhbGciOiJSUzI1NiJ9.e30.A"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			dci_sig_result r = dci_jws_verify(pub, bad[i], &pl, err, sizeof(err));

			CHECK(r == DCI_SIG_MALFORMED || r == DCI_SIG_MISSING || r == DCI_SIG_BAD, "bad JWS %zu -> %s", i,
				  dci_sig_result_name(r));
			CHECK(r != DCI_SIG_OK && pl.len == 0, "bad JWS %zu not accepted", i);
		}
		CHECK(dci_jws_verify(pub, NULL, &pl, err, sizeof(err)) == DCI_SIG_MISSING, "NULL JWS is MISSING");
		CHECK(dci_jws_verify(pub, "a.b", &pl, err, sizeof(err)) == DCI_SIG_MALFORMED, "two parts MALFORMED");
	}
	CHECK(dci_jws_verify(ed, jws, &pl, err, sizeof(err)) == DCI_SIG_ERROR, "Ed25519 key cannot verify RS256");
	/* kid escaping round trip, no kid, appending */
	CHECK(dci_jws_sign(priv, "a\"b\\c\n", "{}", 2, &out, err, sizeof(err)) == 0, "sign with odd kid");
	CHECK(dci_b64_decode(out.data, strchr(out.data, '.') - out.data, &h, &hlen) == 0 &&
		  hlen == 33 && memcmp(h, "{\"alg\":\"RS256\",\"kid\":\"a\\\"b\\\\c\\n\"}", 33) == 0, "kid escaped in the header");
	free(h);
	CHECK(dci_jws_verify(pub, out.data, &pl, err, sizeof(err)) == DCI_SIG_OK && pl.len == 2 && memcmp(pl.data, "{}", 2) == 0,
		  "odd kid verifies: %s", err);
	dbuf_reset(&out);
	CHECK(dci_jws_sign(priv, NULL, "", 0, &out, err, sizeof(err)) == 0 &&
		  strncmp(out.data, "eyJhbGciOiJSUzI1NiJ9..", 22) == 0, "no kid, empty payload: %.30s", out.data);
	dbuf_reset(&pl);
	CHECK(dci_jws_verify(pub, out.data, &pl, err, sizeof(err)) == DCI_SIG_OK && pl.len == 0, "empty payload verifies");
	dbuf_reset(&out);
	CHECK(dci_jws_sign(pub, "k", "{}", 2, &out, err, sizeof(err)) != 0 && out.len == 0, "a public key cannot sign");
	{
		dci_key    *edp = dci_key_load_private(str(eroot, "private_key_pem"), err, sizeof(err));

		CHECK(dci_jws_sign(edp, "k", "{}", 2, &out, err, sizeof(err)) != 0 && out.len == 0, "Ed25519 cannot sign RS256");
		dci_key_free(edp);
	}
	dbuf_free(&out);
	dbuf_free(&pl);
	dci_key_free(priv);
	dci_key_free(pub);
	dci_key_free(ed);
	free(pem);
	cj_free(root);
	cj_free(eroot);
}

/* PEM of a test key: SPKI public, or PKCS#8 private (encrypted with pass when given). */
static char *
pem_from(EVP_PKEY *pkey, int private, const char *pass)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		n;
	char	   *s = NULL;
	int			ok;

	if (bio == NULL || pkey == NULL)
	{
		BIO_free(bio);
		return NULL;
	}
	if (!private)
		ok = PEM_write_bio_PUBKEY(bio, pkey);
	else if (pass)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pass, (int) strlen(pass), NULL, NULL);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	if (ok == 1 && n > 0 && (s = malloc((size_t) n + 1)) != NULL)
	{
		memcpy(s, data, (size_t) n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}

/* Key loading refuses what it cannot use, and says so without key bytes. */
static void
test_key_loading(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
	char		err[256];
	const char *priv_pem = str(root, "private_key_pem");
	const char *pub_pem = str(root, "public_key_pem");
	dci_key    *k;
	char	   *trunc;

	err[0] = '\0';
	CHECK(dci_key_load_private(pub_pem, err, sizeof(err)) == NULL && err[0], "public PEM is no private key: %s", err);
	CHECK(dci_key_load_public(priv_pem, err, sizeof(err)) == NULL && err[0], "private PEM is no public key: %s", err);
	CHECK(dci_key_load_private("", err, sizeof(err)) == NULL && dci_key_load_private(NULL, err, sizeof(err)) == NULL,
		  "empty and NULL");
	CHECK(dci_key_load_public("garbage", err, sizeof(err)) == NULL, "garbage public");
	trunc = strdup(priv_pem);
	trunc[40] = '\0';
	CHECK(dci_key_load_private(trunc, err, sizeof(err)) == NULL && strstr(err, "MC4CAQAw") == NULL,
		  "truncated PEM refused, no key text in the message: %s", err);
	free(trunc);
	/* an encrypted key is refused, not prompted for; small RSA and EC keys are refused */
	{
		EVP_PKEY   *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
		EVP_PKEY   *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY   *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		char	   *pem;

		CHECK(rsa1024 && ec && ed, "test keys generated");
		pem = pem_from(ed, 1, "secret");
		CHECK(pem && strstr(pem, "ENCRYPTED") != NULL, "encrypted PEM made");
		k = dci_key_load_private(pem, err, sizeof(err));
		CHECK(k == NULL && err[0], "encrypted key refused: %s", err);
		dci_key_free(k);
		free(pem);
		pem = pem_from(rsa1024, 0, NULL);
		k = dci_key_load_public(pem, err, sizeof(err));
		CHECK(k == NULL && strstr(err, "too small") != NULL, "1024-bit RSA refused: %s", err);
		dci_key_free(k);
		free(pem);
		pem = pem_from(ec, 1, NULL);
		k = dci_key_load_private(pem, err, sizeof(err));
		CHECK(k == NULL && strstr(err, "unsupported") != NULL, "EC key refused: %s", err);
		dci_key_free(k);
		free(pem);
		EVP_PKEY_free(rsa1024);
		EVP_PKEY_free(ec);
		EVP_PKEY_free(ed);
	}
	dci_key_free(NULL);
	CHECK(strcmp(dci_sig_result_name(DCI_SIG_OK), "valid") == 0 &&
		  strcmp(dci_sig_result_name(DCI_SIG_BAD), "does not verify") == 0, "result names");
	cj_free(root);
}

/* A request envelope: canonical as written, the ten header members, signed correctly. */
static void
test_envelope_build(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
	char		err[256];
	dci_key    *priv = dci_key_load_private(str(root, "private_key_pem"), err, sizeof(err));
	dci_key    *pub = dci_key_load_public(str(root, "public_key_pem"), err, sizeof(err));
	dci_header	h = {"11111111-2222-4333-8444-555555555555", 1735689600, "search", "spmis.example.org",
	NULL, "crvs.example.org", 2};
	dci_search_item items[2];
	dci_signer	signer = {DCI_SIGN_ED25519, priv, "spmis.example.org|key-1|ed25519", 300};
	dbuf		body,
				canon;
	cj_node    *n;
	const cj_node *hdr;
	const cj_node *v;

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
	n = cj_parse(body.data, body.len, err, sizeof(err));
	CHECK(n != NULL, "body is JSON");
	hdr = cj_get(n, "header");
	CHECK(cj_object_len(hdr) == 10, "exactly ten header members");
	v = cj_get(hdr, "total_count");
	CHECK(cj_is_integer(v) && strcmp(cj_number(v, NULL), "2") == 0, "total_count is the integer 2");
	CHECK(cj_typeof(cj_get(hdr, "is_msg_encrypted")) == CJ_FALSE, "is_msg_encrypted is a boolean");
	CHECK(cj_typeof(cj_get(hdr, "meta")) == CJ_OBJECT, "meta is an object");
	CHECK(strcmp(str(hdr, "message_ts"), "2025-01-01T00:00:00Z") == 0, "whole-second UTC timestamp");
	CHECK(strcmp(str(hdr, "sender_uri"), "") == 0, "absent sender_uri is sent as \"\"");
	CHECK(strstr(body.data, "\"pagination\":{\"page_number\":1,\"page_size\":10}") != NULL, "pagination numbers");
	CHECK(strstr(body.data, "\"reg_event_type\":\"birth\"") != NULL, "reg_event_type when given");
	/* the envelope minus the signature is already canonical, and the signature verifies over it */
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
	dbuf_free(&body);
	dbuf_free(&canon);
	dci_key_free(priv);
	dci_key_free(pub);
	cj_free(root);
}

/* Response parsing survives what real registries send. */
static void
test_response_parse(void)
{
	struct
	{
		const char *body;
		cj_result	ok;
		const char *status;
		const char *code;
	}			cases[] = {
		{"{\"header\":{\"status\":\"succ\"},\"message\":{\"search_response\":[]}}", CJ_OK, "succ", NULL},
		{"{\"header\":{\"status\":\"rjct\",\"status_reason_code\":\"rjct.errors.too_many\"}}", CJ_OK, "rjct", "rjct.errors.too_many"},
		{"{\"message\":{\"ack_status\":\"ERR\",\"error\":{\"code\":\"err.sender.unknown\",\"message\":\"x\"}}}", CJ_OK, NULL, "err.sender.unknown"},
		{"{\"errors\":[{\"code\":\"E1\",\"message\":\"m\"}]}", CJ_OK, NULL, "E1"},
		{"{\"error\":{\"code\":400,\"message\":\"m\"}}", CJ_OK, NULL, "400"},
		{"<html><body>502</body></html>", CJ_ERR_SYNTAX, NULL, NULL},
		{"{\"header\":{\"status\":\"succ\"},\"message\":{\"search_resp", CJ_ERR_TRUNCATED, NULL, NULL},
		{"[1,2]", CJ_ERR_SHAPE, NULL, NULL},
		{"", CJ_ERR_TRUNCATED, NULL, NULL},
		{"{\"a\":1}   \n", CJ_OK, NULL, NULL},
		{"{\"a\":1} x", CJ_ERR_SYNTAX, NULL, NULL},
		{"{\"header\":{\"status\":\"succ\",\"sender_id\":\"r\\u0000x\"}}", CJ_ERR_SHAPE, NULL, NULL},
		{"{\"message\":{\"x\":1e400}}", CJ_ERR_NUMBER, NULL, NULL},
		{"{\"message\":{\"x\":\"\xc0\xaf\"}}", CJ_ERR_UTF8, NULL, NULL},
	};
	char		err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_response r;
		cj_result	rc = dci_response_parse(cases[i].body, strlen(cases[i].body), NULL, &r, err, sizeof(err));

		CHECK(rc == cases[i].ok, "case %zu parse: %s (%s)", i, cj_result_name(rc), err);
		CHECK(rc == CJ_OK || (r.root == NULL && err[0] != '\0'), "case %zu: a refusal says why, holds nothing", i);
		if (rc == CJ_OK)
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
		const cj_node *it;
		long		total = -1;

		CHECK(dci_response_parse(b, strlen(b), NULL, &r, err, sizeof(err)) == CJ_OK, "lenient parse");
		it = dci_response_item(&r, "x-0", 0);
		CHECK(it != NULL && dci_records_len(dci_item_records(it)) == 1, "single item, single record");
		CHECK(dci_item_total_count(it, &total) == 1 && total == 7, "string total_count");
		CHECK(dci_response_item(&r, "x-1", 1) == NULL, "unknown reference");
		dci_response_free(&r);
	}
	/* items answered out of order: the hint misses, the scan finds them */
	{
		const char *b = "{\"header\":{},\"message\":{\"search_response\":["
			"{\"reference_id\":\"t-1\",\"status\":\"succ\"},{\"reference_id\":\"t-0\",\"status\":\"rjct\"}]}}";
		dci_response r;

		CHECK(dci_response_parse(b, strlen(b), NULL, &r, err, sizeof(err)) == CJ_OK, "parse out-of-order");
		CHECK(strcmp(dci_item_status(dci_response_item(&r, "t-0", 0)), "rjct") == 0, "t-0 found after a missed hint");
		CHECK(strcmp(dci_item_status(dci_response_item(&r, "t-1", 1)), "succ") == 0, "t-1 found after a missed hint");
		CHECK(strcmp(dci_item_status(dci_response_item(&r, "t-1", 0)), "succ") == 0, "t-1 found at its hint");
		CHECK(dci_response_item(&r, "t-2", 99) == NULL, "hint past the end");
		dci_response_free(&r);
	}
}

/* Parse a body and verify it on the tree. */
static dci_sig_result
verify_body(const char *body, size_t len, dci_signing_mode mode, const dci_key *pub,
			long now, long skew, char *err, size_t errlen)
{
	dci_response r;
	dci_sig_result res = DCI_SIG_MALFORMED;

	if (dci_response_parse(body, len, NULL, &r, err, errlen) == CJ_OK)
		res = dci_verify_parsed(&r, mode, pub, now, skew, err, errlen);
	dci_response_free(&r);
	return res;
}

/* A response signed over the header OpenSPP re-serializes still verifies. */
static void
test_response_verify(void)
{
	cj_node    *root = load_json("dci-ed25519.json");
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
	CHECK(verify_body(body.data, body.len, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) == DCI_SIG_OK,
		  "OpenSPP-normalized header verifies: %s", err);
	dbuf_reset(&body);
	dbuf_puts(&body, "{\"signature\":");
	dci_json_string(&body, field.data);
	dbuf_puts(&body, ",\"header\":{\"status\":\"succ\",\"sender_id\":\"r\"},\"message\":{\"a\":2}}");
	CHECK(verify_body(body.data, body.len, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) == DCI_SIG_BAD,
		  "changed message does not verify");
	CHECK(verify_body("{\"header\":{},\"message\":{}}", 26, DCI_SIGN_ED25519, pub, now, 60, err, sizeof(err)) ==
		  DCI_SIG_MISSING, "unsigned is MISSING");
	dbuf_free(&field);
	dbuf_free(&body);
	dci_key_free(priv);
	dci_key_free(pub);
	cj_free(root);
}

static const unit_test tests[] = {
	UNIT_TEST(test_ed25519_vectors),
	UNIT_TEST(test_malformed_fields),
	UNIT_TEST(test_jws_vector),
	UNIT_TEST(test_keygen),
	UNIT_TEST(test_canon_negative),
	UNIT_TEST(test_canon_strict),
	UNIT_TEST(test_canon_depth),
	UNIT_TEST(test_canon_numbers),
	UNIT_TEST(test_canon_strings),
	UNIT_TEST(test_canon_envelope),
	UNIT_TEST(test_json_result_codes),
	UNIT_TEST(test_json_budget),
	UNIT_TEST(test_json_numbers),
	UNIT_TEST(test_json_float_shortest),
	UNIT_TEST(test_json_utf8),
	UNIT_TEST(test_json_nul),
	UNIT_TEST(test_json_tree),
	UNIT_TEST(test_json_compact),
	UNIT_TEST(test_base64),
	UNIT_TEST(test_sig_fields),
	UNIT_TEST(test_jwk),
	UNIT_TEST(test_jws_more),
	UNIT_TEST(test_key_loading),
	UNIT_TEST(test_envelope_build),
	UNIT_TEST(test_response_parse),
	UNIT_TEST(test_response_verify),
	UNIT_TEST(test_envelope_builders),
	UNIT_TEST(test_envelope_binding),
	UNIT_TEST(test_envelope_verify_parsed),
	UNIT_TEST(test_callbacks),
	UNIT_TEST(test_callback_refusals),
	UNIT_TEST(test_acks),
	UNIT_TEST(test_token_reply),
	UNIT_TEST(test_retry_hint),
	UNIT_TEST(test_sanitize),
	UNIT_TEST(test_records_dates),
	UNIT_TEST(test_records_helpers),
	UNIT_TEST(test_records_birth_spdci),
	UNIT_TEST(test_records_names),
	UNIT_TEST(test_records_sex),
	UNIT_TEST(test_records_deceased),
	UNIT_TEST(test_records_opencrvs),
	UNIT_TEST(test_records_enrollment),
	UNIT_TEST(test_records_disability_status),
	UNIT_TEST(test_records_wg_scores),
	UNIT_TEST(test_records_pwd),
	UNIT_TEST(test_records_reg_records),
	UNIT_TEST(test_records_garbage),
	UNIT_TEST(test_records_random),
	UNIT_TEST(test_records_huge),
	UNIT_TEST(test_records_nul_numbers),
	UNIT_TEST(test_records_has_identifier),
};

/* --canonicalize: the canonical form of stdin on stdout (for test/unit/canon-vs-python). */
static int
canonicalize_stdin(void)
{
	dbuf		in,
				out;
	char		buf[65536];
	char		err[256];
	size_t		n;
	cj_limits	lim = {100000000, 0};
	cj_node    *t;

	dbuf_init(&in);
	dbuf_init(&out);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		dbuf_append(&in, buf, n);
	t = cj_parse_ex(in.data ? in.data : "", in.len, &lim, NULL, err, sizeof(err));
	if (t == NULL || cj_canonical(t, &out) != 0)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	cj_free(t);
	dbuf_free(&in);
	dbuf_free(&out);
	return 0;
}

/*
 * test_protocol [vectors-dir [test...]]     run the unit tests
 * test_protocol --emit-samples DIR [vectors-dir]   write the envelopes test/schema/validate checks
 * test_protocol --canonicalize               canonical JSON of stdin
 */
int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--emit-samples") == 0)
	{
		if (argc >= 4)
			unit_vectors_dir = argv[3];
		return unit_emit_samples(argv[2]);
	}
	if (argc >= 2 && strcmp(argv[1], "--canonicalize") == 0)
		return canonicalize_stdin();
	return unit_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
