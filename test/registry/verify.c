/*
 * verify.c - check a request envelope's signature the way the real servers
 * do: dci-ed25519 as OpenSPP's spp_dci_server (sender lookup, kid, clock,
 * the header its model re-serializes), or a compact JWS as OpenCRVS.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "registry.h"
#include "verify.h"

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static sig_check fail(sig_check c, char *msg, size_t msglen, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static sig_check
fail(sig_check c, char *msg, size_t msglen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return c;
}

/* YYYY-MM-DDTHH:MM:SSZ exactly: what OpenSPP's model writes back. */
static bool
whole_second_utc(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != pat[i])
			return false;
	return true;
}

/*
 * OpenSPP hashes header.model_dump(), not the header as sent: a header that
 * does not survive that round trip unchanged cannot verify there.  Say why.
 */
static const char *
header_shape_problem(struct json_object *h)
{
	static const struct
	{
		const char *key;
		json_type	type;
	}			want[] = {
		{"version", json_type_string}, {"message_id", json_type_string},
		{"message_ts", json_type_string}, {"action", json_type_string},
		{"sender_id", json_type_string}, {"sender_uri", json_type_string},
		{"receiver_id", json_type_string}, {"total_count", json_type_int},
		{"is_msg_encrypted", json_type_boolean}, {"meta", json_type_object},
	};
	static __thread char why[160];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
	{
		struct json_object *v = member(h, want[i].key);

		if (v == NULL)
		{
			snprintf(why, sizeof(why), "header.%s is missing (OpenSPP's model would add it)", want[i].key);
			return why;
		}
		if (!json_object_is_type(v, want[i].type))
		{
			snprintf(why, sizeof(why), "header.%s has the wrong JSON type", want[i].key);
			return why;
		}
	}
	if (json_object_object_length(h) != sizeof(want) / sizeof(want[0]))
		return "header has members beyond the ten of MsgHeader (OpenSPP's model drops them)";
	if (!whole_second_utc(json_object_get_string(member(h, "message_ts"))))
		return "header.message_ts is not YYYY-MM-DDTHH:MM:SSZ (OpenSPP's model rewrites it)";
	return NULL;
}

static sig_check
verify_jws(struct json_object *env, const char *jws, char *msg, size_t msglen)
{
	struct json_object *hdr = member(env, "header");
	const char *sender = json_object_get_string(member(hdr, "sender_id"));
	char	   *jh = NULL,
			   *jp = NULL;
	size_t		jhl,
				jpl;
	struct json_object *jhdr = NULL,
			   *payload = NULL;
	const char *alg,
			   *kid;
	EVP_PKEY   *pub = NULL;
	sig_check	rc;

	if (sig_jws_split(jws, &jh, &jhl, &jp, &jpl) < 0 ||
		(jhdr = json_tokener_parse(jh)) == NULL || !json_object_is_type(jhdr, json_type_object))
	{
		rc = fail(SIG_INVALID, msg, msglen, "signature is not a compact JWS");
		goto out;
	}
	alg = json_object_get_string(member(jhdr, "alg"));
	kid = json_object_is_type(member(jhdr, "kid"), json_type_string) ?
		json_object_get_string(member(jhdr, "kid")) : NULL;
	if (alg == NULL || strcmp(alg, "RS256") != 0)
	{
		rc = fail(SIG_INVALID, msg, msglen, "JWS alg \"%s\" is not RS256", alg ? alg : "");
		goto out;
	}
	if (kid)
	{
		sender_key	k;
		char		sb[256];

		if (!keys_find(kid, &k, sb, sizeof(sb)))
		{
			rc = fail(SIG_UNKNOWN, msg, msglen, "no key registered with kid \"%s\"", kid);
			goto out;
		}
		pub = k.pkey;
		if (k.alg != KEY_RS256)
		{
			rc = fail(SIG_INVALID, msg, msglen, "key \"%s\" is not an RSA key", kid);
			goto out;
		}
		if (k.sender && (sender == NULL || strcmp(k.sender, sender) != 0))
		{
			rc = fail(SIG_INVALID, msg, msglen, "key \"%s\" belongs to sender \"%s\", not the header's",
					  kid, k.sender);
			goto out;
		}
	}
	else if ((pub = keys_find_rsa_for(sender)) == NULL)
	{
		rc = fail(SIG_UNKNOWN, msg, msglen, "no RSA key registered for sender \"%s\"", sender);
		goto out;
	}
	if (sig_jws_verify(pub, jws) < 0)
	{
		rc = fail(SIG_INVALID, msg, msglen, "JWS signature does not verify");
		goto out;
	}
	/* OpenCRVS deep-compares the signed payload with the envelope */
	payload = json_tokener_parse(jp);
	if (!json_object_equal(member(payload, "header"), hdr) ||
		!json_object_equal(member(payload, "message"), member(env, "message")))
	{
		rc = fail(SIG_INVALID, msg, msglen, "JWS payload differs from the envelope's header/message");
		goto out;
	}
	rc = SIG_OK;
out:
	EVP_PKEY_free(pub);
	json_object_put(jhdr);
	json_object_put(payload);
	free(jh);
	free(jp);
	return rc;
}

static sig_check
verify_ed25519(struct json_object *env, const char *field, const char *body, size_t len,
			   bool lax, char *msg, size_t msglen)
{
	struct json_object *hdr = member(env, "header");
	const char *sender = json_object_get_string(member(hdr, "sender_id"));
	sig_field	f;
	char		err[200];
	sender_key	k = {0};
	char		sb[256];
	long		created,
				expires,
				now = (long) time(NULL);
	const char *shape;
	cj_node    *root = NULL;
	dbuf		canon;
	sig_check	rc;

	dbuf_init(&canon);
	if (sig_field_parse(field, &f, err, sizeof(err)) < 0)
		return fail(SIG_INVALID, msg, msglen, "%s", err);
	if (!keys_find(f.kid, &k, sb, sizeof(sb)))
	{
		if (!keys_sender_known(sender))
			return fail(SIG_UNKNOWN, msg, msglen, "Unknown sender_id: %s", sender);
		return fail(SIG_UNKNOWN, msg, msglen, "no key registered with kidId \"%s\"", f.kid);
	}
	if (k.alg != KEY_ED25519)
	{
		rc = fail(SIG_INVALID, msg, msglen, "kidId \"%s\" is not an Ed25519 key", f.kid);
		goto out;
	}
	if (k.sender == NULL || strcmp(k.sender, sender) != 0)
	{
		rc = fail(SIG_INVALID, msg, msglen, "kidId sender \"%s\" is not header.sender_id \"%s\"",
				  k.sender ? k.sender : "", sender);
		goto out;
	}
	created = atol(f.created);
	expires = atol(f.expires);
	if (expires < now - REG_SIG_SKEW)
	{
		rc = fail(SIG_INVALID, msg, msglen, "signature expired (expires=%s)", f.expires);
		goto out;
	}
	if (created > now + REG_SIG_SKEW)
	{
		rc = fail(SIG_INVALID, msg, msglen, "signature created in the future (created=%s)", f.created);
		goto out;
	}
	if (expires < created)
	{
		rc = fail(SIG_INVALID, msg, msglen, "signature expires before it is created");
		goto out;
	}
	if (!lax && (shape = header_shape_problem(hdr)) != NULL)
	{
		rc = fail(SIG_INVALID, msg, msglen, "%s", shape);
		goto out;
	}
	root = cj_parse(body, len, err, sizeof(err));
	if (root == NULL ||
		cj_canonical_envelope(cj_get(root, "header"), cj_get(root, "message"), 0, &canon) < 0)
	{
		rc = fail(SIG_INVALID, msg, msglen, "cannot canonicalize the envelope: %s", err);
		goto out;
	}
	if (sig_ed25519_verify(k.pkey, &f, canon.data, canon.len) < 0)
	{
		rc = fail(SIG_INVALID, msg, msglen, "Invalid signature");
		goto out;
	}
	rc = SIG_OK;
out:
	EVP_PKEY_free(k.pkey);
	cj_free(root);
	dbuf_free(&canon);
	return rc;
}

sig_check
verify_request(struct json_object *env, const char *body, size_t len, bool lax,
			   char *msg, size_t msglen)
{
	struct json_object *s = member(env, "signature");
	const char *field;

	if (s == NULL || json_object_is_type(s, json_type_null) ||
		(json_object_is_type(s, json_type_string) && json_object_get_string_len(s) == 0))
		return fail(SIG_MISSING, msg, msglen, "Missing signature in envelope");
	if (!json_object_is_type(s, json_type_string))
		return fail(SIG_INVALID, msg, msglen, "signature is not a string");
	field = json_object_get_string(s);
	if (sig_looks_like_jws(field))
		return verify_jws(env, field, msg, msglen);
	return verify_ed25519(env, field, body, len, lax, msg, msglen);
}

const char *
sig_check_code(sig_check c)
{
	switch (c)
	{
		case SIG_OK:
			return "";
		case SIG_MISSING:
			return "err.signature.missing";
		case SIG_UNKNOWN:
			return "err.sender.unknown";
		case SIG_INVALID:
			break;
	}
	return "err.signature.invalid";
}
