/*
 * sign.c - key pairs, dci-ed25519 signature fields and RS256 compact JWS
 * (see sign.h).
 *
 * OpenSSL 3 EVP API only.  Every OpenSSL object is freed on every path, the
 * OpenSSL error queue is cleared after a failure (the backend shares it with
 * libpq and pgcrypto), and error messages never carry key material.
 */
#include "sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "canonjson.h"

/* RSA keys below this size are refused. */
#define DCI_RSA_MIN_BITS	2048

/* Ed25519 signatures are always this long. */
#define ED25519_SIG_LEN		64

static const cj_limits jws_header_limits = {256, 8};

struct dci_key
{
	EVP_PKEY   *pkey;
	dci_key_alg alg;
	int			is_private;
};

static void
set_err(char *err, size_t errlen, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * what, plus OpenSSL's reason for the last failure.  Reason strings name
 * the failing step, never key bytes.  The queue is emptied either way.
 */
static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		set_err(err, errlen, "%s: %s", what, reason);
	else
		set_err(err, errlen, "%s", what);
	ERR_clear_error();
}

const char *
dci_sig_result_name(dci_sig_result r)
{
	switch (r)
	{
		case DCI_SIG_OK:
			return "valid";
		case DCI_SIG_MALFORMED:
			return "malformed";
		case DCI_SIG_MISSING:
			return "missing";
		case DCI_SIG_BAD:
			return "does not verify";
		case DCI_SIG_EXPIRED:
			return "expired";
		case DCI_SIG_FUTURE:
			return "created in the future";
		case DCI_SIG_ERROR:
			return "error";
	}
	return "unknown";
}

/* ---- base64 ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
dci_b64_encode(const unsigned char *in, size_t len, int url, dbuf *out)
{
	const char *tab = url ? b64_url : b64_std;
	size_t		i;
	char		q[4];

	if (len > ((size_t) -1) / 2 || dbuf_reserve(out, (len + 2) / 3 * 4) != 0)
		return -1;
	/* dbuf_reserve does not terminate a fresh buffer; empty input writes nothing */
	out->data[out->len] = '\0';
	for (i = 0; i + 3 <= len; i += 3)
	{
		unsigned long v = ((unsigned long) in[i] << 16) | ((unsigned long) in[i + 1] << 8) | in[i + 2];

		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		dbuf_append(out, q, 4);
	}
	if (i < len)
	{
		unsigned long v = (unsigned long) in[i] << 16;
		size_t		n = 2;

		if (i + 1 < len)
		{
			v |= (unsigned long) in[i + 1] << 8;
			n = 3;
		}
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = '=';
		if (url)
			dbuf_append(out, q, n);
		else
		{
			if (n == 2)
				q[2] = '=';
			dbuf_append(out, q, 4);
		}
	}
	return 0;
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
dci_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t		pad = 0;
	size_t		n;
	size_t		i;
	size_t		o = 0;
	unsigned long acc = 0;
	int			bits = 0;

	*out = NULL;
	*outlen = 0;
	if (in == NULL)
		return -1;
	/* padding: at most two '=', only at the end of a whole quantum */
	while (pad < len && pad < 3 && in[len - 1 - pad] == '=')
		pad++;
	if (pad > 2 || (pad > 0 && len % 4 != 0))
		return -1;
	n = len - pad;
	if (n % 4 == 1)
		return -1;
	buf = malloc(n / 4 * 3 + 3);
	if (buf == NULL)
		return -1;
	for (i = 0; i < n; i++)
	{
		int			v = b64_val((unsigned char) in[i]);

		if (v < 0)
		{
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (unsigned long) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			buf[o++] = (unsigned char) ((acc >> bits) & 0xFF);
		}
	}
	*out = buf;
	*outlen = o;
	return 0;
}

int
dci_digest_b64(const char *data, size_t len, dbuf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
	{
		ERR_clear_error();
		return -1;
	}
	return dci_b64_encode(md, mdlen, 0, out);
}

/* ---- keys ---- */

/* Never prompt for a passphrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Wrap pkey (consumed) in a dci_key after checking its algorithm. */
static dci_key *
wrap_key(EVP_PKEY *pkey, int is_private, char *err, size_t errlen)
{
	dci_key    *k;
	dci_key_alg alg;

	if (EVP_PKEY_is_a(pkey, "ED25519"))
		alg = DCI_ALG_ED25519;
	else if (EVP_PKEY_is_a(pkey, "RSA"))
	{
		if (EVP_PKEY_get_bits(pkey) < DCI_RSA_MIN_BITS)
		{
			set_err(err, errlen, "RSA key of %d bits is too small (at least %d needed)",
					EVP_PKEY_get_bits(pkey), DCI_RSA_MIN_BITS);
			EVP_PKEY_free(pkey);
			return NULL;
		}
		alg = DCI_ALG_RS256;
	}
	else
	{
		set_err(err, errlen, "unsupported key type %s (Ed25519 or RSA expected)",
				EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k = malloc(sizeof(dci_key));
	if (k == NULL)
	{
		set_err(err, errlen, "out of memory");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->alg = alg;
	k->is_private = is_private;
	return k;
}

dci_key *
dci_key_load_private(const char *pem, char *err, size_t errlen)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;

	if (pem == NULL || pem[0] == '\0')
	{
		set_err(err, errlen, "no private key given");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		ssl_err(err, errlen, "cannot read private key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL)
	{
		ssl_err(err, errlen, "not a PEM private key (unencrypted PKCS#8 expected)");
		return NULL;
	}
	return wrap_key(pkey, 1, err, errlen);
}

dci_key *
dci_key_load_public(const char *pem, char *err, size_t errlen)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;

	if (pem == NULL || pem[0] == '\0')
	{
		set_err(err, errlen, "no public key given");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		ssl_err(err, errlen, "cannot read public key");
		return NULL;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL)
	{
		ssl_err(err, errlen, "not a PEM public key (SubjectPublicKeyInfo expected)");
		return NULL;
	}
	return wrap_key(pkey, 0, err, errlen);
}

void
dci_key_free(dci_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

dci_key_alg
dci_key_algorithm(const dci_key *k)
{
	return k->alg;
}

/* NUL-terminated malloc'd copy of a memory BIO's contents. */
static char *
bio_to_string(BIO *bio)
{
	char	   *data;
	long		n = BIO_get_mem_data(bio, &data);
	char	   *s;

	if (n < 0)
		return NULL;
	s = malloc((size_t) n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, data, (size_t) n);
	s[n] = '\0';
	return s;
}

/* PEM text of pkey: PKCS#8 private key or SPKI public key, malloc'd. */
static char *
pem_of(EVP_PKEY *pkey, int private, char *err, size_t errlen)
{
	/* secmem BIO: the private key text is wiped when the BIO is freed */
	BIO		   *bio = BIO_new(private ? BIO_s_secmem() : BIO_s_mem());
	char	   *s = NULL;
	int			ok;

	if (bio == NULL)
	{
		ssl_err(err, errlen, "cannot allocate a BIO");
		return NULL;
	}
	if (private)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, pkey);
	if (ok != 1)
		ssl_err(err, errlen, private ? "cannot write private key" : "cannot write public key");
	else if ((s = bio_to_string(bio)) == NULL)
		set_err(err, errlen, "out of memory");
	BIO_free(bio);
	return s;
}

int
dci_key_generate(dci_key_alg alg, char **priv_pem, char **pub_pem,
				 char *err, size_t errlen)
{
	EVP_PKEY   *pkey;

	*priv_pem = NULL;
	*pub_pem = NULL;
	if (alg == DCI_ALG_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (alg == DCI_ALG_RS256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) DCI_RSA_MIN_BITS);
	else
	{
		set_err(err, errlen, "unknown key algorithm");
		return -1;
	}
	if (pkey == NULL)
	{
		ssl_err(err, errlen, "key generation failed");
		return -1;
	}
	*priv_pem = pem_of(pkey, 1, err, errlen);
	if (*priv_pem != NULL)
		*pub_pem = pem_of(pkey, 0, err, errlen);
	EVP_PKEY_free(pkey);
	if (*priv_pem == NULL || *pub_pem == NULL)
	{
		if (*priv_pem != NULL)
			OPENSSL_cleanse(*priv_pem, strlen(*priv_pem));
		free(*priv_pem);
		*priv_pem = NULL;
		return -1;
	}
	return 0;
}

int
dci_key_public_pem(const dci_key *k, char **pub_pem, char *err, size_t errlen)
{
	*pub_pem = pem_of(k->pkey, 0, err, errlen);
	return *pub_pem ? 0 : -1;
}

/* JSON string literal of s (NULL as ""), escaped as JSON.stringify does. */
static int
json_str(dbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	int			rc = dbuf_putc(out, '"');

	for (; *p && rc == 0; p++)
	{
		switch (*p)
		{
			case '"':
				rc = dbuf_puts(out, "\\\"");
				break;
			case '\\':
				rc = dbuf_puts(out, "\\\\");
				break;
			case '\n':
				rc = dbuf_puts(out, "\\n");
				break;
			case '\r':
				rc = dbuf_puts(out, "\\r");
				break;
			case '\t':
				rc = dbuf_puts(out, "\\t");
				break;
			case '\b':
				rc = dbuf_puts(out, "\\b");
				break;
			case '\f':
				rc = dbuf_puts(out, "\\f");
				break;
			default:
				if (*p < 0x20)
					rc = dbuf_printf(out, "\\u%04x", *p);
				else
					rc = dbuf_putc(out, (char) *p);
		}
	}
	return rc == 0 ? dbuf_putc(out, '"') : -1;
}

/* base64url of a BIGNUM, big-endian without leading zero bytes. */
static int
b64url_bn(const BIGNUM *bn, dbuf *out)
{
	int			n = BN_num_bytes(bn);
	unsigned char *buf;
	int			rc;

	buf = malloc(n > 0 ? (size_t) n : 1);
	if (buf == NULL)
		return -1;
	BN_bn2bin(bn, buf);
	rc = dci_b64_encode(buf, (size_t) n, 1, out);
	free(buf);
	return rc;
}

int
dci_key_jwk(const dci_key *k, const char *kid, dbuf *out, char *err, size_t errlen)
{
	size_t		start = out->len;
	int			rc = 0;

	if (k->alg == DCI_ALG_ED25519)
	{
		unsigned char raw[32];
		size_t		rawlen = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw))
		{
			ssl_err(err, errlen, "cannot read the Ed25519 public key");
			return -1;
		}
		rc |= dbuf_puts(out, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"");
		rc |= dci_b64_encode(raw, rawlen, 1, out);
		rc |= dbuf_putc(out, '"');
	}
	else
	{
		BIGNUM	   *n = NULL;
		BIGNUM	   *e = NULL;

		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
			EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		{
			BN_free(n);
			BN_free(e);
			ssl_err(err, errlen, "cannot read the RSA public key");
			return -1;
		}
		rc |= dbuf_puts(out, "{\"kty\":\"RSA\",\"n\":\"");
		rc |= b64url_bn(n, out);
		rc |= dbuf_puts(out, "\",\"e\":\"");
		rc |= b64url_bn(e, out);
		rc |= dbuf_putc(out, '"');
		BN_free(n);
		BN_free(e);
	}
	if (kid != NULL)
	{
		rc |= dbuf_puts(out, ",\"kid\":");
		rc |= json_str(out, kid);
	}
	rc |= dbuf_puts(out, k->alg == DCI_ALG_ED25519 ?
					",\"use\":\"sig\",\"alg\":\"EdDSA\"}" :
					",\"use\":\"sig\",\"alg\":\"RS256\"}");
	if (rc != 0)
	{
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- raw signatures ---- */

/* Sign data with k: Ed25519 (pure) or RSASSA-PKCS1-v1_5 with SHA-256. */
static int
raw_sign(const dci_key *k, const unsigned char *data, size_t len,
		 unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int			ok;

	*sig = NULL;
	*siglen = 0;
	if (!k->is_private)
	{
		set_err(err, errlen, "signing needs a private key");
		return -1;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
	{
		ssl_err(err, errlen, "out of memory");
		return -1;
	}
	if (k->alg == DCI_ALG_ED25519)
		ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1;
	else
		ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, k->pkey) == 1 &&
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	/* one-shot: Ed25519 has no streaming interface */
	if (ok)
		ok = EVP_DigestSign(ctx, NULL, siglen, data, len) == 1;
	if (ok)
	{
		*sig = malloc(*siglen);
		ok = *sig != NULL && EVP_DigestSign(ctx, *sig, siglen, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok)
	{
		free(*sig);
		*sig = NULL;
		ssl_err(err, errlen, "signing failed");
		return -1;
	}
	return 0;
}

/* 1 valid, 0 does not verify, -1 library failure. */
static int
raw_verify(const dci_key *k, const unsigned char *data, size_t len,
		   const unsigned char *sig, size_t siglen, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int			rc;

	if (ctx == NULL)
	{
		ssl_err(err, errlen, "out of memory");
		return -1;
	}
	if (k->alg == DCI_ALG_ED25519)
		rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey);
	else
	{
		rc = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, k->pkey);
		if (rc == 1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			rc = 0;
	}
	if (rc != 1)
	{
		EVP_MD_CTX_free(ctx);
		ssl_err(err, errlen, "cannot set up verification");
		return -1;
	}
	rc = EVP_DigestVerify(ctx, sig, siglen, data, len);
	EVP_MD_CTX_free(ctx);
	/* a wrong signature leaves reasons in the queue; they mean "bad" */
	ERR_clear_error();
	return rc == 1 ? 1 : 0;
}

/* ---- dci-ed25519 ---- */

/* "(created): C\n(expires): E\ndigest: D" for canonical text canon. */
static int
signing_string(dbuf *s, const char *canon, size_t canon_len, long created, long expires)
{
	dbuf		d;
	int			rc;

	dbuf_init(&d);
	rc = dci_digest_b64(canon, canon_len, &d);
	if (rc == 0)
		rc = dbuf_printf(s, "(created): %ld\n(expires): %ld\ndigest: %s", created, expires, d.data);
	dbuf_free(&d);
	return rc;
}

int
dci_sig_sign(const dci_key *priv, const char *kid,
			 const char *canon, size_t canon_len,
			 long created, long expires,
			 dbuf *field_out, char *err, size_t errlen)
{
	dbuf		ss;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	size_t		start = field_out->len;
	const char *p;
	int			rc = 0;

	if (priv == NULL || priv->alg != DCI_ALG_ED25519)
	{
		set_err(err, errlen, "dci-ed25519 signing needs an Ed25519 key");
		return -1;
	}
	if (kid == NULL || kid[0] == '\0')
	{
		set_err(err, errlen, "no key id (kidId) given");
		return -1;
	}
	/* the field's values are quoted without any escaping */
	for (p = kid; *p; p++)
	{
		if (*p == '"' || *p == '\\' || (unsigned char) *p < 0x20)
		{
			set_err(err, errlen, "key id must not contain quotes, backslashes or control characters");
			return -1;
		}
	}
	if (expires < created)
	{
		set_err(err, errlen, "signature expires before it is created");
		return -1;
	}
	dbuf_init(&ss);
	if (signing_string(&ss, canon, canon_len, created, expires) != 0)
	{
		dbuf_free(&ss);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (raw_sign(priv, (const unsigned char *) ss.data, ss.len, &sig, &siglen, err, errlen) != 0)
	{
		dbuf_free(&ss);
		return -1;
	}
	dbuf_free(&ss);
	rc |= dbuf_printf(field_out,
					  "namespace=\"dci\", kidId=\"%s\", algorithm=\"ed25519\", "
					  "created=\"%ld\", expires=\"%ld\", "
					  "headers=\"(created) (expires) digest\", signature=\"",
					  kid, created, expires);
	rc |= dci_b64_encode(sig, siglen, 0, field_out);
	rc |= dbuf_putc(field_out, '"');
	free(sig);
	if (rc != 0)
	{
		field_out->len = start;
		if (field_out->data)
			field_out->data[start] = '\0';
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* One parameter of a signature field, pointing into the field text. */
typedef struct sig_param
{
	const char *name;
	const char *val;
	size_t		len;
	int			seen;
} sig_param;

enum
{
	P_KID, P_KEYID, P_ALG, P_CREATED, P_EXPIRES, P_HEADERS, P_SIGNATURE, P_NAMESPACE, P_COUNT
};

/*
 * Parse key="value" pairs separated by commas (spaces allowed around them),
 * after an optional "Signature:" prefix.  Unquoted values run to the next
 * comma or space, as OpenSPP's parser reads them.  Unknown keys are ignored;
 * a known key given twice is malformed (which one would count?).
 */
static int
parse_field(const char *field, sig_param *ps, char *err, size_t errlen)
{
	const char *p = field;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Signature:", 10) == 0)
		p += 10;
	for (;;)
	{
		const char *key;
		size_t		klen;
		const char *val;
		size_t		vlen;
		int			i;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		key = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			p++;
		klen = p - key;
		while (*p == ' ')
			p++;
		if (klen == 0 || *p != '=')
		{
			set_err(err, errlen, "signature field: key=\"value\" expected at position %zu",
					(size_t) (key - field));
			return -1;
		}
		p++;
		while (*p == ' ')
			p++;
		if (*p == '"')
		{
			val = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"')
			{
				set_err(err, errlen, "signature field: unterminated quoted value");
				return -1;
			}
			vlen = p - val;
			p++;
		}
		else
		{
			val = p;
			while (*p && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			vlen = p - val;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != ',')
		{
			set_err(err, errlen, "signature field: ',' expected at position %zu",
					(size_t) (p - field));
			return -1;
		}
		for (i = 0; i < P_COUNT; i++)
		{
			if (strlen(ps[i].name) == klen && strncmp(ps[i].name, key, klen) == 0)
			{
				if (ps[i].seen)
				{
					set_err(err, errlen, "signature field: \"%s\" given twice", ps[i].name);
					return -1;
				}
				ps[i].seen = 1;
				ps[i].val = val;
				ps[i].len = vlen;
			}
		}
	}
	return 0;
}

/* Decimal seconds, digits only; -1 when malformed. */
static int
parse_time(const sig_param *sp, long *out)
{
	long		v = 0;
	size_t		i;

	if (sp->len == 0 || sp->len > 18)
		return -1;
	for (i = 0; i < sp->len; i++)
	{
		if (sp->val[i] < '0' || sp->val[i] > '9')
			return -1;
		v = v * 10 + (sp->val[i] - '0');
	}
	*out = v;
	return 0;
}

/* headers must list exactly (created) (expires) digest, in that order. */
static int
headers_ok(const sig_param *sp)
{
	static const char *const want[] = {"(created)", "(expires)", "digest"};
	const char *p = sp->val;
	const char *end = sp->val + sp->len;
	int			i;

	for (i = 0; i < 3; i++)
	{
		size_t		l = strlen(want[i]);
		const char *t;

		while (p < end && *p == ' ')
			p++;
		t = p;
		while (p < end && *p != ' ')
			p++;
		if ((size_t) (p - t) != l || strncasecmp(t, want[i], l) != 0)
			return 0;
	}
	while (p < end && *p == ' ')
		p++;
	return p == end;
}

dci_sig_result
dci_sig_verify(const dci_key *pub, const char *field,
			   const char *canon, size_t canon_len,
			   long now, long skew,
			   char *kid_out, size_t kid_size,
			   char *err, size_t errlen)
{
	sig_param	ps[P_COUNT] = {
		[P_KID] = {"kidId"},
		[P_KEYID] = {"keyId"},
		[P_ALG] = {"algorithm"},
		[P_CREATED] = {"created"},
		[P_EXPIRES] = {"expires"},
		[P_HEADERS] = {"headers"},
		[P_SIGNATURE] = {"signature"},
		[P_NAMESPACE] = {"namespace"},
	};
	const sig_param *kid;
	long		created;
	long		expires;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	dbuf		ss;
	int			v;

	if (kid_out != NULL && kid_size > 0)
		kid_out[0] = '\0';
	if (field == NULL)
	{
		set_err(err, errlen, "no signature");
		return DCI_SIG_MISSING;
	}
	if (parse_field(field, ps, err, errlen) != 0)
		return DCI_SIG_MALFORMED;
	kid = ps[P_KID].seen ? &ps[P_KID] : &ps[P_KEYID];
	if (kid->seen && kid_out != NULL && kid_size > 0)
	{
		size_t		l = kid->len < kid_size - 1 ? kid->len : kid_size - 1;

		memcpy(kid_out, kid->val, l);
		kid_out[l] = '\0';
	}
	if (!ps[P_CREATED].seen || !ps[P_EXPIRES].seen || !ps[P_SIGNATURE].seen)
	{
		set_err(err, errlen, "signature field lacks %s",
				!ps[P_CREATED].seen ? "created" : !ps[P_EXPIRES].seen ? "expires" : "signature");
		return DCI_SIG_MALFORMED;
	}
	if (parse_time(&ps[P_CREATED], &created) != 0 || parse_time(&ps[P_EXPIRES], &expires) != 0)
	{
		set_err(err, errlen, "signature field: created and expires must be whole seconds");
		return DCI_SIG_MALFORMED;
	}
	if (expires < created)
	{
		set_err(err, errlen, "signature field: expires is before created");
		return DCI_SIG_MALFORMED;
	}
	if (ps[P_HEADERS].seen && !headers_ok(&ps[P_HEADERS]))
	{
		set_err(err, errlen, "signature field: headers must be \"(created) (expires) digest\"");
		return DCI_SIG_MALFORMED;
	}
	/* OpenSPP writes "dci", the standard's example "spdci" */
	if (ps[P_NAMESPACE].seen &&
		!(ps[P_NAMESPACE].len == 3 && strncasecmp(ps[P_NAMESPACE].val, "dci", 3) == 0) &&
		!(ps[P_NAMESPACE].len == 5 && strncasecmp(ps[P_NAMESPACE].val, "spdci", 5) == 0))
	{
		set_err(err, errlen, "signature field: namespace is neither \"dci\" nor \"spdci\"");
		return DCI_SIG_MALFORMED;
	}
	if (ps[P_ALG].seen &&
		(ps[P_ALG].len != 7 || strncasecmp(ps[P_ALG].val, "ed25519", 7) != 0))
	{
		set_err(err, errlen, "signature algorithm is not ed25519");
		return DCI_SIG_MALFORMED;
	}
	if (dci_b64_decode(ps[P_SIGNATURE].val, ps[P_SIGNATURE].len, &sig, &siglen) != 0 ||
		siglen != ED25519_SIG_LEN)
	{
		free(sig);
		set_err(err, errlen, "signature field: signature is not a base64 Ed25519 signature");
		return DCI_SIG_MALFORMED;
	}
	if (pub == NULL || pub->alg != DCI_ALG_ED25519)
	{
		free(sig);
		set_err(err, errlen, "dci-ed25519 verification needs an Ed25519 key");
		return DCI_SIG_ERROR;
	}
	dbuf_init(&ss);
	if (signing_string(&ss, canon, canon_len, created, expires) != 0)
	{
		free(sig);
		dbuf_free(&ss);
		set_err(err, errlen, "out of memory");
		return DCI_SIG_ERROR;
	}
	v = raw_verify(pub, (const unsigned char *) ss.data, ss.len, sig, siglen, err, errlen);
	free(sig);
	dbuf_free(&ss);
	if (v < 0)
		return DCI_SIG_ERROR;
	if (v == 0)
	{
		set_err(err, errlen, "signature does not verify");
		return DCI_SIG_BAD;
	}
	/* authentic; now is it current? */
	if (expires < now - skew)
	{
		set_err(err, errlen, "signature expired at %ld (now %ld)", expires, now);
		return DCI_SIG_EXPIRED;
	}
	if (created > now + skew)
	{
		set_err(err, errlen, "signature created at %ld, in the future (now %ld)", created, now);
		return DCI_SIG_FUTURE;
	}
	return DCI_SIG_OK;
}

/* ---- jws-rs256 ---- */

int
dci_jws_sign(const dci_key *priv, const char *kid,
			 const char *payload, size_t len,
			 dbuf *jws_out, char *err, size_t errlen)
{
	dbuf		hdr;
	dbuf		input;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	int			rc = 0;

	if (priv == NULL || priv->alg != DCI_ALG_RS256)
	{
		set_err(err, errlen, "RS256 signing needs an RSA key");
		return -1;
	}
	dbuf_init(&hdr);
	dbuf_init(&input);
	rc |= dbuf_puts(&hdr, "{\"alg\":\"RS256\"");
	if (kid != NULL)
	{
		rc |= dbuf_puts(&hdr, ",\"kid\":");
		rc |= json_str(&hdr, kid);
	}
	rc |= dbuf_putc(&hdr, '}');
	if (rc == 0)
	{
		rc |= dci_b64_encode((const unsigned char *) hdr.data, hdr.len, 1, &input);
		rc |= dbuf_putc(&input, '.');
		rc |= dci_b64_encode((const unsigned char *) payload, len, 1, &input);
	}
	dbuf_free(&hdr);
	if (rc != 0)
	{
		dbuf_free(&input);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (raw_sign(priv, (const unsigned char *) input.data, input.len, &sig, &siglen, err, errlen) != 0)
	{
		dbuf_free(&input);
		return -1;
	}
	{
		size_t		start = jws_out->len;

		rc |= dbuf_append(jws_out, input.data, input.len);
		rc |= dbuf_putc(jws_out, '.');
		rc |= dci_b64_encode(sig, siglen, 1, jws_out);
		if (rc != 0)
		{
			jws_out->len = start;
			if (jws_out->data)
				jws_out->data[start] = '\0';
			set_err(err, errlen, "out of memory");
		}
	}
	free(sig);
	dbuf_free(&input);
	return rc ? -1 : 0;
}

dci_sig_result
dci_jws_verify(const dci_key *pub, const char *jws,
			   dbuf *payload_out, char *err, size_t errlen)
{
	const char *dot1;
	const char *dot2;
	unsigned char *hdr = NULL;
	unsigned char *sig = NULL;
	unsigned char *payload = NULL;
	size_t		hdrlen,
				siglen,
				paylen;
	cj_node    *h = NULL;
	const char *alg;
	dci_sig_result res;
	char		perr[128];
	int			v;

	if (jws == NULL || jws[0] == '\0')
	{
		set_err(err, errlen, "no JWS");
		return DCI_SIG_MISSING;
	}
	dot1 = strchr(jws, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
	{
		set_err(err, errlen, "not a compact JWS (three dot-separated parts expected)");
		return DCI_SIG_MALFORMED;
	}
	if (dci_b64_decode(jws, dot1 - jws, &hdr, &hdrlen) != 0 ||
		dci_b64_decode(dot1 + 1, dot2 - dot1 - 1, &payload, &paylen) != 0 ||
		dci_b64_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen) != 0)
	{
		set_err(err, errlen, "JWS part is not base64url");
		res = DCI_SIG_MALFORMED;
		goto done;
	}
	/* a protected header is a handful of members: a tight budget */
	h = cj_parse_ex((const char *) hdr, hdrlen, &jws_header_limits, NULL, perr, sizeof(perr));
	if (h == NULL || cj_typeof(h) != CJ_OBJECT)
	{
		set_err(err, errlen, "JWS header is not a JSON object");
		res = DCI_SIG_MALFORMED;
		goto done;
	}
	alg = cj_string(cj_get(h, "alg"));
	if (alg == NULL)
	{
		set_err(err, errlen, "JWS header has no alg");
		res = DCI_SIG_MALFORMED;
		goto done;
	}
	/* only RS256: "none", HMAC and the rest are never accepted */
	if (strcmp(alg, "RS256") != 0)
	{
		set_err(err, errlen, "JWS algorithm is not RS256");
		res = DCI_SIG_BAD;
		goto done;
	}
	/* RFC 7515 4.1.11: extensions we do not understand must be refused */
	if (cj_get(h, "crit") != NULL || cj_get(h, "b64") != NULL)
	{
		set_err(err, errlen, "JWS header has critical extensions");
		res = DCI_SIG_BAD;
		goto done;
	}
	if (pub == NULL || pub->alg != DCI_ALG_RS256)
	{
		set_err(err, errlen, "RS256 verification needs an RSA key");
		res = DCI_SIG_ERROR;
		goto done;
	}
	v = raw_verify(pub, (const unsigned char *) jws, dot2 - jws, sig, siglen, err, errlen);
	if (v < 0)
		res = DCI_SIG_ERROR;
	else if (v == 0)
	{
		set_err(err, errlen, "JWS signature does not verify");
		res = DCI_SIG_BAD;
	}
	else if (dbuf_append(payload_out, (const char *) payload, paylen) != 0)
	{
		set_err(err, errlen, "out of memory");
		res = DCI_SIG_ERROR;
	}
	else
		res = DCI_SIG_OK;
done:
	cj_free(h);
	free(hdr);
	free(sig);
	free(payload);
	return res;
}
