/*
 * sig.c - dci-ed25519 and jws-rs256 with OpenSSL, written apart from
 * src/sign.c on purpose: the registry is the extension's test oracle.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "registry.h"

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
b64_encode(dbuf *b, const unsigned char *in, size_t len, bool url)
{
	const char *alpha = url ? b64url : b64std;
	size_t		i;

	if (dbuf_reserve(b, (len + 2) / 3 * 4 + 1) < 0)
		return -1;
	for (i = 0; i + 2 < len; i += 3)
	{
		unsigned	v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
		char		q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63], alpha[v & 63]};

		dbuf_append(b, q, 4);
	}
	if (i < len)
	{
		unsigned	v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0);

		dbuf_putc(b, alpha[v >> 18]);
		dbuf_putc(b, alpha[(v >> 12) & 63]);
		if (i + 1 < len)
			dbuf_putc(b, alpha[(v >> 6) & 63]);
		else if (!url)
			dbuf_putc(b, '=');
		if (!url)
			dbuf_putc(b, '=');
	}
	return 0;
}

static int
b64_val(int c)
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

unsigned char *
b64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out;
	unsigned	acc = 0;
	int			bits = 0;
	size_t		n = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return NULL;
	out = malloc(len * 3 / 4 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		int			v = b64_val((unsigned char) in[i]);

		if (v < 0)
		{
			free(out);
			return NULL;
		}
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	out[n] = '\0';				/* decoded JSON is then a C string too */
	*outlen = n;
	return out;
}

/* ------------------------------------------------------------ dci-ed25519 */

/* Copy a quoted value into dst; -1 when it does not fit or is unterminated. */
static int
take_value(const char **pp, char *dst, size_t size)
{
	const char *p = *pp;
	size_t		n = 0;

	if (*p != '"')
		return -1;
	p++;
	while (*p && *p != '"')
	{
		if (n + 1 >= size)
			return -1;
		dst[n++] = *p++;
	}
	if (*p != '"')
		return -1;
	dst[n] = '\0';
	*pp = p + 1;
	return 0;
}

int
sig_field_parse(const char *s, sig_field *f, char *err, size_t errlen)
{
	const char *p = s;

	memset(f, 0, sizeof(*f));
	while (*p)
	{
		char		name[32];
		size_t		n = 0;
		char		scratch[256];
		char	   *dst = scratch;
		size_t		size = sizeof(scratch);

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		while (isalpha((unsigned char) *p) && n + 1 < sizeof(name))
			name[n++] = *p++;
		name[n] = '\0';
		if (*p != '=' || n == 0)
		{
			snprintf(err, errlen, "signature field is not a list of name=\"value\" pairs");
			return -1;
		}
		p++;
		if (strcmp(name, "namespace") == 0)
			dst = f->namespace_, size = sizeof(f->namespace_);
		else if (strcmp(name, "kidId") == 0)
			dst = f->kid, size = sizeof(f->kid);
		else if (strcmp(name, "algorithm") == 0)
			dst = f->algorithm, size = sizeof(f->algorithm);
		else if (strcmp(name, "created") == 0)
			dst = f->created, size = sizeof(f->created);
		else if (strcmp(name, "expires") == 0)
			dst = f->expires, size = sizeof(f->expires);
		else if (strcmp(name, "headers") == 0)
			dst = f->headers, size = sizeof(f->headers);
		else if (strcmp(name, "signature") == 0)
			dst = f->signature, size = sizeof(f->signature);
		if (take_value(&p, dst, size) < 0)
		{
			snprintf(err, errlen, "signature field member %s is not a quoted value of sane length", name);
			return -1;
		}
	}
	if (!f->kid[0] || !f->created[0] || !f->expires[0] || !f->signature[0])
	{
		snprintf(err, errlen, "signature field lacks kidId, created, expires or signature");
		return -1;
	}
	if (f->algorithm[0] && strcmp(f->algorithm, "ed25519") != 0)
	{
		snprintf(err, errlen, "signature algorithm \"%s\" is not ed25519", f->algorithm);
		return -1;
	}
	if (f->headers[0] && strcmp(f->headers, "(created) (expires) digest") != 0)
	{
		snprintf(err, errlen, "signature headers \"%s\" are not \"(created) (expires) digest\"", f->headers);
		return -1;
	}
	for (const char *c = f->created; *c; c++)
		if (!isdigit((unsigned char) *c))
			goto badnum;
	for (const char *c = f->expires; *c; c++)
		if (!isdigit((unsigned char) *c))
			goto badnum;
	return 0;
badnum:
	snprintf(err, errlen, "signature created/expires are not Unix seconds");
	return -1;
}

/* sha256(canon), or of other content when corrupt (badsig). */
static void
digest_of(const char *canon, size_t len, bool corrupt, unsigned char md[SHA256_DIGEST_LENGTH])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned	mdlen = 0;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, canon, len);
	if (corrupt)
		EVP_DigestUpdate(ctx, " ", 1);	/* badsig: a digest of other content */
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
}

/* '(created): C\n(expires): E\ndigest: base64(md)' */
static void
signing_string(dbuf *b, const char *created, const char *expires, const unsigned char *md)
{
	dbuf_printf(b, "(created): %s\n(expires): %s\ndigest: ", created, expires);
	b64_encode(b, md, SHA256_DIGEST_LENGTH, false);
}

int
sig_ed25519_field_digest(EVP_PKEY *key, const char *kid, const unsigned char *md,
						 long created, long expires, dbuf *out)
{
	char		c[24],
				e[24];
	dbuf		ss;
	unsigned char sig[64];
	size_t		siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	int			ok;

	snprintf(c, sizeof(c), "%ld", created);
	snprintf(e, sizeof(e), "%ld", expires);
	dbuf_init(&ss);
	signing_string(&ss, c, e, md);
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) ss.data, ss.len) == 1;
	EVP_MD_CTX_free(ctx);
	dbuf_free(&ss);
	if (!ok)
		return -1;
	dbuf_printf(out, "namespace=\"dci\", kidId=\"%s\", algorithm=\"ed25519\", created=\"%s\", "
				"expires=\"%s\", headers=\"(created) (expires) digest\", signature=\"", kid, c, e);
	b64_encode(out, sig, siglen, false);
	dbuf_putc(out, '"');
	return 0;
}

int
sig_ed25519_field(EVP_PKEY *key, const char *kid, const char *canon, size_t len,
				  long created, long expires, bool corrupt, dbuf *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	digest_of(canon, len, corrupt, md);
	return sig_ed25519_field_digest(key, kid, md, created, expires, out);
}

int
sig_ed25519_verify(EVP_PKEY *pub, const sig_field *f, const char *canon, size_t len)
{
	dbuf		ss;
	unsigned char *sig;
	size_t		siglen;
	EVP_MD_CTX *ctx;
	int			ok;
	unsigned char md[SHA256_DIGEST_LENGTH];

	sig = b64_decode(f->signature, strlen(f->signature), &siglen);
	if (sig == NULL)
		return -1;
	digest_of(canon, len, false, md);
	dbuf_init(&ss);
	signing_string(&ss, f->created, f->expires, md);
	ctx = EVP_MD_CTX_new();
	ok = ctx && siglen == 64 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (unsigned char *) ss.data, ss.len) == 1;
	EVP_MD_CTX_free(ctx);
	dbuf_free(&ss);
	free(sig);
	return ok ? 0 : -1;
}

/* -------------------------------------------------------------- jws-rs256 */

int
sig_jws_sign(EVP_PKEY *key, const char *kid, const char *payload, size_t len,
			 bool corrupt, dbuf *out)
{
	dbuf		hdr;
	size_t		start = out->len;
	unsigned char sig[1024];
	size_t		siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	int			ok;

	dbuf_init(&hdr);
	dbuf_puts(&hdr, "{\"alg\":\"RS256\",\"kid\":");
	jw_string(&hdr, kid);
	dbuf_putc(&hdr, '}');
	b64_encode(out, (unsigned char *) hdr.data, hdr.len, true);
	dbuf_free(&hdr);
	dbuf_putc(out, '.');
	b64_encode(out, (const unsigned char *) payload, len, true);
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) out->data + start,
					   out->len - start) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	if (corrupt)
		sig[siglen / 2] ^= 0x01;	/* badsig: no longer the signature of this payload */
	dbuf_putc(out, '.');
	b64_encode(out, sig, siglen, true);
	return 0;
}

bool
sig_looks_like_jws(const char *s)
{
	int			dots = 0;

	for (; *s; s++)
	{
		if (*s == '.')
			dots++;
		else if (b64_val((unsigned char) *s) < 0 || *s == '+' || *s == '/')
			return false;
	}
	return dots == 2;
}

int
sig_jws_split(const char *jws, char **header, size_t *hlen, char **payload, size_t *plen)
{
	const char *d1 = strchr(jws, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;

	*header = *payload = NULL;
	if (d2 == NULL || strchr(d2 + 1, '.'))
		return -1;
	*header = (char *) b64_decode(jws, d1 - jws, hlen);
	*payload = (char *) b64_decode(d1 + 1, d2 - d1 - 1, plen);
	if (*header == NULL || *payload == NULL)
	{
		free(*header);
		free(*payload);
		*header = *payload = NULL;
		return -1;
	}
	return 0;
}

int
sig_jws_verify(EVP_PKEY *pub, const char *jws)
{
	const char *d2 = strrchr(jws, '.');
	unsigned char *sig;
	size_t		siglen;
	EVP_MD_CTX *ctx;
	int			ok;

	if (d2 == NULL)
		return -1;
	sig = b64_decode(d2 + 1, strlen(d2 + 1), &siglen);
	if (sig == NULL)
		return -1;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) jws, d2 - jws) == 1;
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok ? 0 : -1;
}
