/*
 * keys.c - signing keys: generation into dci.signing_key, and the JWKS
 * document a registry needs to trust our signatures.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
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

/* Reads public keys and the senders that use them, as the tables' owner. */
Datum
dci_jwks(PG_FUNCTION_ARGS)
{
	const char *sender = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			save_userid;
	int			save_sec;
	Oid			owner;
	bool		isnull;
	dbuf		out;
	int			nkeys = 0;
	char	   *json;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT relowner FROM pg_class WHERE oid = 'dci.signing_key'::regclass",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cannot find dci.signing_key");
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	if (SPI_execute("SELECT k.key_id, k.algorithm, k.public_key, s.sender "
					"FROM dci.signing_key k LEFT JOIN LATERAL ("
					"  SELECT DISTINCT d.our_sender_id AS sender FROM dci.data_source d "
					"  WHERE d.signing_key_id = k.key_id) s ON true "
					"WHERE k.active ORDER BY k.key_id, s.sender",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "cannot read dci.signing_key");
	SetUserIdAndSecContext(save_userid, save_sec);

	dbuf_init(&out);
	dbuf_puts(&out, "{\"keys\":[");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *key_id = SPI_getvalue(tup, desc, 1);
		char	   *alg = SPI_getvalue(tup, desc, 2);
		char	   *pem = SPI_getvalue(tup, desc, 3);
		char	   *row_sender = SPI_getvalue(tup, desc, 4);
		const char *who = sender ? sender : row_sender;
		char		err[256];
		char	   *kid;
		dci_key    *k;

		/* with an explicit sender, one JWK per key */
		if (sender && i > 0 && strcmp(key_id, SPI_getvalue(SPI_tuptable->vals[i - 1], desc, 1)) == 0)
			continue;
		if (strcmp(alg, "ed25519") == 0 && who)
			kid = psprintf("%s|%s|ed25519", who, key_id);
		else
			kid = key_id;
		k = dci_key_load_public(pem, err, sizeof(err));
		if (k == NULL)
		{
			dbuf_free(&out);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("public key of signing key \"%s\" cannot be loaded: %s", key_id, err)));
		}
		if (nkeys++ > 0)
			dbuf_putc(&out, ',');
		if (dci_key_jwk(k, kid, &out, err, sizeof(err)) != 0)
		{
			dci_key_free(k);
			dbuf_free(&out);
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("cannot make a JWK of signing key \"%s\": %s", key_id, err)));
		}
		dci_key_free(k);
	}
	dbuf_puts(&out, "]}");
	if (out.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	SPI_finish();
	json = pstrdup(out.data);
	dbuf_free(&out);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	PG_RETURN_DATUM(result);
}
