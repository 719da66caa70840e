/*
 * keys.c - the registry's own key pairs and the senders' public keys.
 *
 * Keys are parsed once (at startup or on /admin/senders) and kept as
 * EVP_PKEYs; a lookup takes a reference so that a key replaced by another
 * registration stays valid for the request that is using it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "registry.h"

static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static sender_key *keys;
static int	nkeys;

static void
ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();

	snprintf(err, errlen, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	dbuf		b;
	char		buf[8192];
	size_t		n;

	if (f == NULL)
		return NULL;
	dbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		dbuf_append(&b, buf, n);
	fclose(f);
	if (len)
		*len = b.len;
	if (b.data == NULL)
		return calloc(1, 1);
	return dbuf_steal(&b);
}

EVP_PKEY *
keys_load_or_generate(const char *path, key_alg alg, char *err, size_t errlen)
{
	EVP_PKEY   *k = NULL;
	char	   *pem;
	size_t		len;

	if (path && (pem = read_file(path, &len)) != NULL)
	{
		BIO		   *bio = BIO_new_mem_buf(pem, (int) len);

		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		free(pem);
		if (k == NULL)
		{
			ossl_err(err, errlen, path);
			return NULL;
		}
		if (!EVP_PKEY_is_a(k, alg == KEY_ED25519 ? "ED25519" : "RSA"))
		{
			snprintf(err, errlen, "%s: not an %s private key", path,
					 alg == KEY_ED25519 ? "Ed25519" : "RSA");
			EVP_PKEY_free(k);
			return NULL;
		}
		return k;
	}
	if (path && errno != ENOENT)
	{
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	k = alg == KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
		: EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	if (k == NULL)
	{
		ossl_err(err, errlen, "key generation");
		return NULL;
	}
	if (path)
	{
		/* 0600: it is a private key, even a test one */
		int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		FILE	   *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		if (f == NULL || !PEM_write_PKCS8PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		{
			snprintf(err, errlen, "%s: cannot write the generated key: %s", path, strerror(errno));
			if (f)
				fclose(f);
			else if (fd >= 0)
				close(fd);
			EVP_PKEY_free(k);
			return NULL;
		}
		fclose(f);
	}
	return k;
}

char *
keys_public_pem(EVP_PKEY *k)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data,
			   *out = NULL;
	long		n;

	if (bio && PEM_write_bio_PUBKEY(bio, k))
	{
		n = BIO_get_mem_data(bio, &data);
		out = malloc(n + 1);
		if (out)
		{
			memcpy(out, data, n);
			out[n] = '\0';
		}
	}
	BIO_free(bio);
	return out;
}

static unsigned char *
jwk_bytes(struct json_object *jwk, const char *member, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(jwk, member, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return b64_decode(json_object_get_string(v), json_object_get_string_len(v), len);
}

static const char *
jwk_text(struct json_object *jwk, const char *member)
{
	struct json_object *v;

	if (!json_object_object_get_ex(jwk, member, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Ed25519 public key from the raw 32 bytes: SPKI DER is a fixed prefix + x. */
static EVP_PKEY *
ed25519_from_x(const unsigned char *x)
{
	static const unsigned char prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
	0x70, 0x03, 0x21, 0x00};
	unsigned char der[44];
	const unsigned char *p = der;

	memcpy(der, prefix, 12);
	memcpy(der + 12, x, 32);
	return d2i_PUBKEY(NULL, &p, sizeof(der));
}

static EVP_PKEY *
rsa_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	BIGNUM	   *bn = BN_bin2bn(n, (int) nlen, NULL);
	BIGNUM	   *be = BN_bin2bn(e, (int) elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY   *k = NULL;

	if (bn && be && bld && ctx &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
		(params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	BN_free(be);
	return k;
}

int
keys_from_jwk(struct json_object *jwk, sender_key *out, char *err, size_t errlen)
{
	const char *kty = jwk_text(jwk, "kty");
	const char *kid = jwk_text(jwk, "kid");
	const char *sender = jwk_text(jwk, "sender");
	const char *pem = jwk_text(jwk, "pem");

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(jwk, json_type_object) || kid == NULL || kid[0] == '\0')
	{
		snprintf(err, errlen, "each key needs a \"kid\"");
		return -1;
	}
	if (pem)
	{
		/* a PEM public key instead of JWK members: handy for shell tests */
		BIO		   *bio = BIO_new_mem_buf(pem, -1);

		out->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (out->pkey == NULL)
		{
			ossl_err(err, errlen, "kid \"pem\"");
			return -1;
		}
		out->alg = EVP_PKEY_is_a(out->pkey, "ED25519") ? KEY_ED25519 : KEY_RS256;
	}
	else if (kty && strcmp(kty, "OKP") == 0)
	{
		const char *crv = jwk_text(jwk, "crv");
		size_t		xlen = 0;
		unsigned char *x = jwk_bytes(jwk, "x", &xlen);

		if (crv == NULL || strcmp(crv, "Ed25519") != 0 || x == NULL || xlen != 32)
		{
			free(x);
			snprintf(err, errlen, "kid %s: an OKP key must be crv Ed25519 with a 32-byte x", kid);
			return -1;
		}
		out->pkey = ed25519_from_x(x);
		out->alg = KEY_ED25519;
		free(x);
	}
	else if (kty && strcmp(kty, "RSA") == 0)
	{
		size_t		nlen = 0,
					elen = 0;
		unsigned char *n = jwk_bytes(jwk, "n", &nlen);
		unsigned char *e = jwk_bytes(jwk, "e", &elen);

		if (n && e && nlen >= 128)
			out->pkey = rsa_from_ne(n, nlen, e, elen);
		free(n);
		free(e);
		out->alg = KEY_RS256;
	}
	else
	{
		snprintf(err, errlen, "kid %s: kty must be OKP (Ed25519) or RSA", kid);
		return -1;
	}
	if (out->pkey == NULL)
	{
		snprintf(err, errlen, "kid %s: the key material is not a valid public key", kid);
		return -1;
	}
	out->kid = strdup(kid);
	if (sender)
		out->sender = strdup(sender);
	else if (out->alg == KEY_ED25519 && strchr(kid, '|'))
		out->sender = strndup(kid, strchr(kid, '|') - kid);		/* kid = sender|key_id|ed25519 */
	if (out->alg == KEY_ED25519 && out->sender == NULL)
	{
		snprintf(err, errlen, "kid %s: an Ed25519 kid must be <sender>|<key_id>|ed25519 (or give \"sender\")", kid);
		EVP_PKEY_free(out->pkey);
		free(out->kid);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

void
keys_register(sender_key *k)
{
	pthread_rwlock_wrlock(&keys_lock);
	for (int i = 0; i < nkeys; i++)
	{
		if (strcmp(keys[i].kid, k->kid) == 0)
		{
			/* replace: readers hold their own reference to the old EVP_PKEY */
			EVP_PKEY_free(keys[i].pkey);
			free(keys[i].kid);
			free(keys[i].sender);
			keys[i] = *k;
			pthread_rwlock_unlock(&keys_lock);
			return;
		}
	}
	{
		sender_key *n = realloc(keys, (nkeys + 1) * sizeof(sender_key));

		if (n)
		{
			keys = n;
			keys[nkeys++] = *k;
		}
		else
		{
			EVP_PKEY_free(k->pkey);
			free(k->kid);
			free(k->sender);
		}
	}
	pthread_rwlock_unlock(&keys_lock);
}

bool
keys_find(const char *kid, sender_key *out, char *sender_buf, size_t sender_size)
{
	bool		found = false;

	pthread_rwlock_rdlock(&keys_lock);
	for (int i = 0; i < nkeys; i++)
	{
		if (strcmp(keys[i].kid, kid) == 0)
		{
			EVP_PKEY_up_ref(keys[i].pkey);
			out->pkey = keys[i].pkey;
			out->alg = keys[i].alg;
			out->kid = NULL;
			out->sender = NULL;
			if (keys[i].sender)
			{
				snprintf(sender_buf, sender_size, "%s", keys[i].sender);
				out->sender = sender_buf;
			}
			found = true;
			break;
		}
	}
	pthread_rwlock_unlock(&keys_lock);
	return found;
}

bool
keys_sender_known(const char *sender)
{
	bool		found = false;

	pthread_rwlock_rdlock(&keys_lock);
	for (int i = 0; i < nkeys && !found; i++)
		found = keys[i].sender && strcmp(keys[i].sender, sender) == 0;
	pthread_rwlock_unlock(&keys_lock);
	return found;
}

EVP_PKEY *
keys_find_rsa_for(const char *sender)
{
	EVP_PKEY   *k = NULL;

	pthread_rwlock_rdlock(&keys_lock);
	for (int i = 0; i < nkeys && k == NULL; i++)
		if (keys[i].alg == KEY_RS256 &&
			(keys[i].sender == NULL || (sender && strcmp(keys[i].sender, sender) == 0)))
		{
			EVP_PKEY_up_ref(keys[i].pkey);
			k = keys[i].pkey;
		}
	pthread_rwlock_unlock(&keys_lock);
	return k;
}

int
keys_count(void)
{
	int			n;

	pthread_rwlock_rdlock(&keys_lock);
	n = nkeys;
	pthread_rwlock_unlock(&keys_lock);
	return n;
}

static pthread_mutex_t foreign_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *foreign_ed,
		   *foreign_rsa;

EVP_PKEY *
foreign_key(key_alg alg, const char **kid)
{
	EVP_PKEY   *k;

	pthread_mutex_lock(&foreign_lock);
	if (alg == KEY_ED25519 && foreign_ed == NULL)
		foreign_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (alg == KEY_RS256 && foreign_rsa == NULL)
		foreign_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	k = alg == KEY_ED25519 ? foreign_ed : foreign_rsa;
	pthread_mutex_unlock(&foreign_lock);
	*kid = alg == KEY_ED25519 ? REG_FOREIGN_SENDER "|foreign-key-1|ed25519" :
		REG_FOREIGN_SENDER "|foreign-rsa-1|rs256";
	return k;					/* kept until keys_shutdown() */
}

void
keys_shutdown(void)
{
	pthread_rwlock_wrlock(&keys_lock);
	for (int i = 0; i < nkeys; i++)
	{
		EVP_PKEY_free(keys[i].pkey);
		free(keys[i].kid);
		free(keys[i].sender);
	}
	free(keys);
	keys = NULL;
	nkeys = 0;
	pthread_rwlock_unlock(&keys_lock);
	EVP_PKEY_free(foreign_ed);
	EVP_PKEY_free(foreign_rsa);
	foreign_ed = foreign_rsa = NULL;
}
