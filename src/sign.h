/*
 * sign.h - keys and signatures for DCI envelopes (OpenSSL, no PostgreSQL).
 *
 * dci-ed25519: the scheme OpenSPP's DCI server checks.  The envelope's
 * "signature" member is
 *   namespace="dci", kidId="<sender>|<key_id>|ed25519", algorithm="ed25519",
 *   created="C", expires="E", headers="(created) (expires) digest",
 *   signature="<base64 Ed25519 over '(created): C\n(expires): E\ndigest: D'>"
 * where D is base64(SHA-256(canonical JSON of {header, message})).
 *
 * jws-rs256: a compact JWS (RS256) whose payload is the JSON text of
 * {header, message}, as OpenCRVS's DCI API signs.
 *
 * Every function returns 0 (or DCI_SIG_OK) on success; on failure it writes
 * a message to err (never key material) and frees what it allocated.
 */
#ifndef DCI_SIGN_H
#define DCI_SIGN_H

#include <stddef.h>

#include "dbuf.h"

typedef struct dci_key dci_key;		/* a loaded EVP_PKEY and its algorithm */

typedef enum dci_key_alg
{
	DCI_ALG_ED25519,
	DCI_ALG_RS256
} dci_key_alg;

typedef enum dci_sig_result
{
	DCI_SIG_OK = 0,
	DCI_SIG_MALFORMED,			/* field or JWS cannot be parsed */
	DCI_SIG_MISSING,			/* no signature where one is required */
	DCI_SIG_BAD,				/* does not verify */
	DCI_SIG_EXPIRED,			/* expires < now - skew */
	DCI_SIG_FUTURE,				/* created > now + skew */
	DCI_SIG_ERROR				/* key or library failure */
} dci_sig_result;

const char *dci_sig_result_name(dci_sig_result r);

/* Generate a key pair; both PEM strings are malloc'd (PKCS#8 / SPKI). */
int			dci_key_generate(dci_key_alg alg, char **priv_pem, char **pub_pem,
							 char *err, size_t errlen);
/* Load a PEM private or public key (the algorithm is read from the key). */
dci_key    *dci_key_load_private(const char *pem, char *err, size_t errlen);
dci_key    *dci_key_load_public(const char *pem, char *err, size_t errlen);
void		dci_key_free(dci_key *k);
dci_key_alg dci_key_algorithm(const dci_key *k);
/* Public key PEM of a private key, malloc'd. */
int			dci_key_public_pem(const dci_key *k, char **pub_pem, char *err, size_t errlen);
/* One JWK object as JSON text: OKP/Ed25519 {kty,crv,x,kid,use,alg} or RSA {kty,n,e,kid,use,alg}. */
int			dci_key_jwk(const dci_key *k, const char *kid, dbuf *out, char *err, size_t errlen);

/* base64 (standard, padded) and base64url (no padding). */
int			dci_b64_encode(const unsigned char *in, size_t len, int url, dbuf *out);
/* Decodes either alphabet, padding optional.  malloc'd result, -1 on bad input. */
int			dci_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* base64(SHA-256(data)) */
int			dci_digest_b64(const char *data, size_t len, dbuf *out);

/* dci-ed25519: the whole signature field for canonical text canon. */
int			dci_sig_sign(const dci_key *priv, const char *kid,
						 const char *canon, size_t canon_len,
						 long created, long expires,
						 dbuf *field_out, char *err, size_t errlen);

/*
 * Verify a dci-ed25519 signature field over canon.  now and skew in seconds:
 * rejects expires < now - skew (EXPIRED) and created > now + skew (FUTURE).
 * When kid_out is not NULL it receives the field's kidId (truncated to kid_size).
 */
dci_sig_result dci_sig_verify(const dci_key *pub, const char *field,
							  const char *canon, size_t canon_len,
							  long now, long skew,
							  char *kid_out, size_t kid_size,
							  char *err, size_t errlen);

/* jws-rs256: compact JWS of payload, header {"alg":"RS256","kid":kid}. */
int			dci_jws_sign(const dci_key *priv, const char *kid,
						 const char *payload, size_t len,
						 dbuf *jws_out, char *err, size_t errlen);
/* Verify a compact JWS (RS256 only); the decoded payload goes to payload_out. */
dci_sig_result dci_jws_verify(const dci_key *pub, const char *jws,
							  dbuf *payload_out, char *err, size_t errlen);

#endif
