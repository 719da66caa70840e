/*
 * hostile.c - validly signed answers that only the client's own checks can
 * refuse: a record with N nested (nest=N) or N flat (flat=N) empty arrays,
 * invalid UTF-8 (badutf8) or U+0000 (nul) in the given name, a number
 * whose text differs from its signed canonical form (numambig), an integer
 * above 2^64 (bigint).
 *
 * The long parts are written into the message as placeholders (byte 1, a
 * letter, byte 1: canonical JSON never holds a raw control byte) and are
 * expanded while the answer is hashed and sent: nest=10000000 never needs
 * 20 MB of memory.
 */
#define _GNU_SOURCE				/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "registry.h"

/* "\x01" "F": a hex escape would swallow the F */
#define PH_NEST		"\x01" "N" "\x01"
#define PH_FLAT		"\x01" "F" "\x01"
#define PH_AMBIG	"\x01" "A" "\x01"
#define AMBIG_SENT	"0.99999999999999999999"	/* Python reads it as 1.0 */
#define AMBIG_SIGNED "1.0"
#define BIGINT		"36893488147419103232"	/* 2^65 */

static bool
any_hostile(const opts *o)
{
	return o->nest || o->flat || o->numambig || o->bigint || o->badutf8 || o->nul;
}

/* Offset just past the first character of the given name's value, or -1. */
static long
name_insert_point(const char *t, size_t len)
{
	static const char *const keys[] = {"\"given_name\":\"", "\"givenName\":\"", NULL};

	for (int k = 0; keys[k]; k++)
	{
		const char *p = memmem(t, len, keys[k], strlen(keys[k]));

		if (p)
		{
			size_t		at = (p - t) + strlen(keys[k]);

			if (at < len && t[at] == '\\')
				at += t[at + 1] == 'u' ? 6 : 2;	/* one escaped character */
			else if (at < len && t[at] != '"')
				at++;
			return at <= len ? (long) at : -1;
		}
	}
	return -1;
}

void
record_write(dbuf *m, const opts *o, const char *text, size_t len, bool *done)
{
	dbuf		rec;
	long		at;
	bool		need_text = false;
	const char *body;

	if (*done || !any_hostile(o) || len < 2 || text[0] != '{')
	{
		dbuf_append(m, text, len);
		return;
	}
	*done = true;
	dbuf_init(&rec);
	dbuf_append(&rec, text, len);
	if (o->badutf8 || o->nul)
	{
		at = name_insert_point(rec.data, rec.len);
		if (at >= 0)
		{
			dbuf		t;

			dbuf_init(&t);
			dbuf_append(&t, rec.data, at);
			if (o->nul)
				dbuf_puts(&t, "\\u0000");
			if (o->badutf8)
				dbuf_puts(&t, "\xff" "\xfe");	/* never valid in UTF-8 */
			dbuf_append(&t, rec.data + at, rec.len - at);
			dbuf_free(&rec);
			rec = t;
		}
		else
			need_text = true;
	}
	/* extra members, in canonical (code point) order: "_" sorts before a-z */
	dbuf_putc(m, '{');
	if (o->numambig)
		dbuf_puts(m, "\"_amount\":" PH_AMBIG ",");
	if (o->bigint)
		dbuf_puts(m, "\"_bigint\":" BIGINT ",");
	if (o->flat)
		dbuf_puts(m, "\"_flat\":" PH_FLAT ",");
	if (o->nest)
		dbuf_puts(m, "\"_nest\":" PH_NEST ",");
	if (need_text)
	{
		dbuf_puts(m, "\"_text\":\"A");
		if (o->nul)
			dbuf_puts(m, "\\u0000");
		if (o->badutf8)
			dbuf_puts(m, "\xff" "\xfe");
		dbuf_puts(m, "B\",");
	}
	body = rec.data + 1;
	if (*body == '}' && m->len > 0 && m->data[m->len - 1] == ',')
		m->len--;				/* the record was {} */
	dbuf_append(m, body, rec.len - 1);
	dbuf_free(&rec);
}

/* canon split at its placeholders into b: the text signed (sign) or sent. */
static int
expand(vbody *b, const opts *o, const char *canon, size_t len, bool sign)
{
	const char *p = canon,
			   *end = canon + len;
	int			rc = 0;

	while (p < end && rc == 0)
	{
		const char *ph = memchr(p, '\x01', end - p);

		if (ph == NULL || ph + 3 > end)
			return vbody_add(b, p, end - p, 1);
		rc = vbody_add(b, p, ph - p, 1);
		switch (ph[1])
		{
			case 'N':
				rc |= vbody_add(b, "[", 1, (uint64_t) o->nest);
				rc |= vbody_add(b, "]", 1, (uint64_t) o->nest);
				break;
			case 'F':
				rc |= vbody_add(b, "[", 1, 1);
				if (o->flat > 1)
					rc |= vbody_add(b, "[],", 3, (uint64_t) o->flat - 1);
				rc |= vbody_add(b, "[]]", 3, 1);
				break;
			case 'A':
				rc |= sign ? vbody_add(b, AMBIG_SIGNED, strlen(AMBIG_SIGNED), 1) :
					vbody_add(b, AMBIG_SENT, strlen(AMBIG_SENT), 1);
				break;
		}
		p = ph + 3;
	}
	return rc;
}

/* The signature field over the expanded text, computed without holding it (ed25519). */
static int
stream_sign(const env_out *e, vbody *signed_text, dbuf *sig)
{
	const char *kid;
	EVP_PKEY   *key = answer_key(e, &kid);
	int			rc;

	if (key == NULL)
		return -1;
	if (e->scheme == SCHEME_JWS)
	{
		/* the payload goes into the signature: here it has to be held */
		dbuf		payload;

		dbuf_init(&payload);
		rc = vbody_materialize(signed_text, &payload);
		if (rc == 0)
			rc = sig_jws_sign(key, kid, payload.data, payload.len, e->o->badsig || e->corrupt, sig);
		dbuf_free(&payload);
	}
	else
	{
		unsigned char md[SHA256_DIGEST_LENGTH];
		unsigned	mdlen = 0;
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		char	   *buf = malloc(65536);
		size_t		n;
		long		created,
					expires;

		if (ctx == NULL || buf == NULL)
		{
			EVP_MD_CTX_free(ctx);
			free(buf);
			return -1;
		}
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		vbody_rewind(signed_text);
		while ((n = vbody_read(signed_text, buf, 65536)) > 0)
			EVP_DigestUpdate(ctx, buf, n);
		if (e->o->badsig || e->corrupt)
			EVP_DigestUpdate(ctx, " ", 1);
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		EVP_MD_CTX_free(ctx);
		free(buf);
		answer_sig_times(e->o, &created, &expires);
		rc = sig_ed25519_field_digest(key, kid, md, created, expires, sig);
	}
	return rc;
}

int
hostile_envelope(const env_out *e, dbuf *canon, reply *r)
{
	vbody		signed_text;
	vbody	   *sent = malloc(sizeof(vbody));
	dbuf		sig,
				tail;
	char	   *owned;
	int			rc = 0;

	if (sent == NULL)
		return -1;
	vbody_init(&signed_text);
	vbody_init(sent);
	dbuf_init(&sig);
	dbuf_init(&tail);
	rc = expand(&signed_text, e->o, canon->data, canon->len, true);
	if (rc == 0 && !e->o->unsigned_)
		rc = stream_sign(e, &signed_text, &sig);
	/* sent: canon without its closing brace, then the signature */
	if (rc == 0)
		rc = expand(sent, e->o, canon->data, canon->len - 1, false);
	if (!e->o->unsigned_)
	{
		dbuf_puts(&tail, ",\"signature\":");
		jw_string_n(&tail, sig.data, sig.len);
	}
	dbuf_putc(&tail, '}');
	if (rc == 0)
	{
		size_t		tl = tail.len;

		rc = vbody_add_owned(sent, dbuf_steal(&tail), tl);
	}
	/* the segments point into canon: the body keeps its buffer */
	owned = dbuf_steal(canon);
	if (rc == 0 && owned)
	{
		rc = vbody_add_owned(sent, owned, 0);
		owned = NULL;
	}
	free(owned);
	vbody_free(&signed_text);
	dbuf_free(&sig);
	dbuf_free(&tail);
	if (rc != 0)
	{
		vbody_free(sent);
		free(sent);
		return -1;
	}
	if (r->stream)
	{
		vbody_free(r->stream);
		free(r->stream);
	}
	r->stream = sent;
	dbuf_reset(&r->body);
	r->status = 200;
	r->ctype = "application/json";
	return 0;
}
