/*
 * keys.c - signing keys: generation into dci.signing_key, and the JWKS
 * document a registry needs to trust our signatures.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_generate_signing_key);
PG_FUNCTION_INFO_V1(dci_jwks);

static bool
valid_key_id(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			  (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

Datum
dci_generate_signing_key(PG_FUNCTION_ARGS)
{
	char	   *key_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *alg = text_to_cstring(PG_GETARG_TEXT_PP(1));
	dci_key_alg a;
	char	   *priv = NULL;
	char	   *pub = NULL;
	char		err[256];
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[4];
	text	   *result;
	int			rc;

	/* checked here, not by the table's CHECK: its error would print the row, private key included */
	if (!valid_key_id(key_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid key_id \"%s\"", key_id),
				 errdetail("A key_id is 1 to 128 characters from A-Z, a-z, 0-9, '.', '_' and '-'.")));
	if (strcmp(alg, "ed25519") == 0)
		a = DCI_ALG_ED25519;
	else if (strcmp(alg, "rs256") == 0)
		a = DCI_ALG_RS256;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported signing key algorithm \"%s\"", alg),
				 errhint("Use 'ed25519' (dci-ed25519 signing) or 'rs256' (jws-rs256 signing).")));

	if (dci_key_generate(a, &priv, &pub, err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a %s key pair: %s", alg, err)));

	vals[0] = CStringGetTextDatum(key_id);
	vals[1] = CStringGetTextDatum(alg);
	vals[2] = CStringGetTextDatum(priv);
	vals[3] = CStringGetTextDatum(pub);
	result = cstring_to_text(pub);
	explicit_bzero(priv, strlen(priv));
	free(priv);
	free(pub);

	/* as the caller: only roles allowed to write dci.signing_key may make keys */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("INSERT INTO dci.signing_key (key_id, algorithm, private_key, public_key) "
							   "VALUES ($1, $2, $3, $4)",
							   4, types, vals, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store the signing key: %s", SPI_result_code_string(rc));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/* A signing key row, and the senders of the sources that sign with it. */
typedef struct jwk_key
{
	char	   *key_id;
	char	   *alg;
	char	   *pem;
	List	   *senders;
} jwk_key;

static bool
collect_key(const dci_row *row, void *arg)
{
	List	  **keys = arg;
	bool		isnull;
	Datum		active = dci_row_datum(row, "active", &isnull);
	jwk_key    *k;

	if (isnull || !DatumGetBool(active))
		return true;
	k = palloc0(sizeof(jwk_key));
	k->key_id = dci_row_text(row, "key_id");
	k->alg = dci_row_text(row, "algorithm");
	k->pem = dci_row_text(row, "public_key");
	*keys = lappend(*keys, k);
	return true;
}

static bool
collect_sender(const dci_row *row, void *arg)
{
	List	   *keys = arg;
	char	   *key_id = dci_row_text(row, "signing_key_id");
	char	   *sender = dci_row_text(row, "our_sender_id");
	ListCell   *lc;

	if (key_id == NULL || sender == NULL)
		return true;
	foreach(lc, keys)
	{
		jwk_key    *k = lfirst(lc);

		if (strcmp(k->key_id, key_id) == 0 && !list_member(k->senders, makeString(sender)))
			k->senders = lappend(k->senders, makeString(sender));
	}
	return true;
}

static int
cmp_key(const ListCell *a, const ListCell *b)
{
	return strcmp(((jwk_key *) lfirst(a))->key_id, ((jwk_key *) lfirst(b))->key_id);
}

static int
cmp_string(const ListCell *a, const ListCell *b)
{
	return strcmp(strVal(lfirst(a)), strVal(lfirst(b)));
}

/* One JWK into out (kid as given); the key is freed on every path. */
static void
append_jwk(dbuf *out, const jwk_key *k, const char *kid, int *nkeys)
{
	char		err[256];
	dci_key    *key = dci_key_load_public(k->pem, err, sizeof(err));

	if (key == NULL)
	{
		dbuf_free(out);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("public key of signing key \"%s\" cannot be loaded: %s", k->key_id, err)));
	}
	if ((*nkeys)++ > 0)
		dbuf_putc(out, ',');
	if (dci_key_jwk(key, kid, out, err, sizeof(err)) != 0)
	{
		dci_key_free(key);
		dbuf_free(out);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("cannot make a JWK of signing key \"%s\": %s", k->key_id, err)));
	}
	dci_key_free(key);
}

/*
 * The public keys of the active signing keys.  Rows are read by heap scan
 * (no SQL, no privilege): public keys are public, private keys never read.
 */
Datum
dci_jwks(PG_FUNCTION_ARGS)
{
	const char *sender = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *keys = NIL;
	ListCell   *lc;
	dbuf		out;
	int			nkeys = 0;
	char	   *json;

	dci_scan_rows("signing_key", NULL, NULL, collect_key, &keys);
	dci_scan_rows("data_source", NULL, NULL, collect_sender, keys);
	list_sort(keys, cmp_key);

	dbuf_init(&out);
	dbuf_puts(&out, "{\"keys\":[");
	foreach(lc, keys)
	{
		jwk_key    *k = lfirst(lc);
		bool		ed = strcmp(k->alg, "ed25519") == 0;

		/* an Ed25519 kid names its sender: one JWK per sender that uses the key */
		if (ed && sender)
			append_jwk(&out, k, psprintf("%s|%s|ed25519", sender, k->key_id), &nkeys);
		else if (ed && k->senders != NIL)
		{
			ListCell   *sc;

			list_sort(k->senders, cmp_string);
			foreach(sc, k->senders)
				append_jwk(&out, k, psprintf("%s|%s|ed25519", strVal(lfirst(sc)), k->key_id), &nkeys);
		}
		else
			append_jwk(&out, k, k->key_id, &nkeys);
	}
	dbuf_puts(&out, "]}");
	if (out.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	json = pstrdup(out.data);
	dbuf_free(&out);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}
