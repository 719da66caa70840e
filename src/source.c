/*
 * source.c - per-backend cache of dci.data_source rows.
 *
 * A row is read once, validated, its keys loaded, and kept until any change
 * to dci.data_source or dci.signing_key: the tables' statement trigger
 * (dci_config_changed) sends a relcache invalidation for dci.data_source,
 * which every backend receives, and the callback below drops the cache.
 * Rows are read as the tables' owner so that a role with only EXECUTE on the
 * dci_* functions can search without being able to read any secret.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "access/htup_details.h"
#include "utils/array.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_config_changed);

typedef struct source_entry
{
	char		code[NAMEDATALEN];	/* hash key (codes are short identifiers) */
	dci_source *src;
} source_entry;

static HTAB *source_cache = NULL;
static MemoryContext source_mcxt = NULL;
static Oid	config_relid = InvalidOid;
static bool cache_valid = false;

static void
free_keys(void)
{
	HASH_SEQ_STATUS status;
	source_entry *e;

	if (source_cache == NULL)
		return;
	hash_seq_init(&status, source_cache);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (e->src)
		{
			dci_key_free(e->src->signing_key);
			dci_key_free(e->src->registry_key);
		}
	}
}

/* Drop every cached row (their memory and loaded keys). */
static void
reset_cache(void)
{
	free_keys();
	if (source_mcxt)
		MemoryContextReset(source_mcxt);
	source_cache = NULL;
	cache_valid = true;
	dci_auth_forget_all();
	dci_lookup_cache_reset();
}

static void
relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == config_relid)
		cache_valid = false;
}

void
dci_source_cache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

Oid
dci_config_relid(void)
{
	Oid			nsp = get_namespace_oid("dci", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("data_source", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table dci.data_source does not exist"),
				 errhint("Run CREATE EXTENSION dci in this database.")));
	return relid;
}

Datum
dci_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dci.config_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(dci_config_relid());
	return PointerGetDatum(NULL);
}

static char *
url_join(const char *base, const char *path)
{
	size_t		bl;

	if (path == NULL)
		return NULL;
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
		return pstrdup(path);
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	return psprintf("%.*s%s%s", (int) bl, base, path[0] == '/' ? "" : "/", path);
}

static char *
col_text(HeapTuple tup, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "dci.data_source has no column \"%s\"", name);
	d = SPI_getbinval(tup, desc, attno, &isnull);
	if (isnull)
		return NULL;
	return TextDatumGetCString(d);
}

static Datum
col_datum(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		elog(ERROR, "dci.data_source has no column \"%s\"", name);
	return SPI_getbinval(tup, desc, attno, isnull);
}

static void
missing(const char *code, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("DCI source \"%s\" has no %s", code, what),
			 errhint("%s", hint)));
}

/* Key columns of a signing key, as the table owner. */
static void
load_signing_key(dci_source *s)
{
	Datum		arg = CStringGetTextDatum(s->signing_key_id);
	Oid			argtype = TEXTOID;
	char		err[256];
	char	   *pem;
	char	   *alg;
	bool		active;
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_execute_with_args("SELECT private_key, algorithm, active FROM dci.signing_key WHERE key_id = $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read dci.signing_key");
	/* SPI leaves its own context current: the cached row must not live there */
	MemoryContextSwitchTo(cxt);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" refers to signing key \"%s\", which does not exist",
						s->code, s->signing_key_id),
				 errhint("Create it with dci_generate_signing_key('%s').", s->signing_key_id)));
	pem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	alg = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (!active)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key \"%s\" of DCI source \"%s\" is not active",
						s->signing_key_id, s->code),
				 errhint("Set dci.signing_key.active or point the source at another key.")));
	if ((s->signing_mode == DCI_SIGN_ED25519 && strcmp(alg, "ed25519") != 0) ||
		(s->signing_mode == DCI_SIGN_JWS_RS256 && strcmp(alg, "rs256") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" signs with %s but signing key \"%s\" is %s",
						s->code, s->signing_mode == DCI_SIGN_ED25519 ? "dci-ed25519" : "jws-rs256",
						s->signing_key_id, alg)));
	s->signing_key = dci_key_load_private(pem, err, sizeof(err));
	/* wipe the PEM copy SPI made before it can linger in memory */
	explicit_bzero(pem, strlen(pem));
	pfree(pem);
	if (s->signing_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key \"%s\" of DCI source \"%s\" cannot be loaded",
						s->signing_key_id, s->code),
				 errdetail("%s", err)));
	s->kid = s->signing_mode == DCI_SIGN_ED25519
		? psprintf("%s|%s|ed25519", s->our_sender_id, s->signing_key_id)
		: pstrdup(s->signing_key_id);
}

/* Build a dci_source from the SPI result row (memory: CurrentMemoryContext). */
static dci_source *
build_source(HeapTuple tup, TupleDesc desc)
{
	dci_source *s = palloc0(sizeof(dci_source));
	char	   *v;
	bool		isnull;
	Datum		d;
	char		err[256];
	char	   *endpoint;

	s->code = col_text(tup, desc, "code");
	s->name = col_text(tup, desc, "name");
	s->registry_type = col_text(tup, desc, "registry_type");

	d = col_datum(tup, desc, "active", &isnull);
	if (!DatumGetBool(d))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" is not active", s->code),
				 errhint("UPDATE dci.data_source SET active = true WHERE code = '%s'.", s->code)));

	s->base_url = col_text(tup, desc, "base_url");
	if (s->base_url == NULL || s->base_url[0] == '\0')
		missing(s->code, "base_url", "Set dci.data_source.base_url to the registry's URL, e.g. https://crvs.example.org/api.");
	if (strncmp(s->base_url, "http://", 7) != 0 && strncmp(s->base_url, "https://", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("base_url of DCI source \"%s\" must start with http:// or https://", s->code)));
	s->our_sender_id = col_text(tup, desc, "our_sender_id");
	if (s->our_sender_id == NULL || s->our_sender_id[0] == '\0')
		missing(s->code, "our_sender_id", "Set dci.data_source.our_sender_id to the sender id the registry knows us by.");

	v = col_text(tup, desc, "auth_type");
	s->auth_type = strcmp(v, "bearer") == 0 ? DCI_AUTH_BEARER :
		strcmp(v, "oauth2") == 0 ? DCI_AUTH_OAUTH2 : DCI_AUTH_NONE;
	s->bearer_token = col_text(tup, desc, "bearer_token");
	s->oauth2_client_id = col_text(tup, desc, "oauth2_client_id");
	s->oauth2_client_secret = col_text(tup, desc, "oauth2_client_secret");
	s->oauth2_scope = col_text(tup, desc, "oauth2_scope");
	v = col_text(tup, desc, "oauth2_token_url");
	s->oauth2_token_url = url_join(s->base_url, v ? v : "/oauth2/client/token");
	if (s->auth_type == DCI_AUTH_BEARER && (s->bearer_token == NULL || s->bearer_token[0] == '\0'))
		missing(s->code, "bearer_token", "Set dci.data_source.bearer_token, or change auth_type.");
	if (s->auth_type == DCI_AUTH_OAUTH2 &&
		(s->oauth2_client_id == NULL || s->oauth2_client_secret == NULL))
		missing(s->code, "OAuth2 client credentials",
				"Set dci.data_source.oauth2_client_id and oauth2_client_secret, or change auth_type.");

	v = col_text(tup, desc, "signing_mode");
	if (dci_signing_mode_parse(v, &s->signing_mode) != 0)
		elog(ERROR, "unknown signing_mode \"%s\"", v);
	s->signing_key_id = col_text(tup, desc, "signing_key_id");
	s->our_callback_uri = col_text(tup, desc, "our_callback_uri");
	s->registry_sender_id = col_text(tup, desc, "registry_sender_id");
	s->reg_type = col_text(tup, desc, "reg_type");
	s->record_profile = col_text(tup, desc, "record_profile");

	v = col_text(tup, desc, "verify_response_signature");
	s->verify_mode = strcmp(v, "off") == 0 ? DCI_VERIFY_OFF :
		strcmp(v, "if-present") == 0 ? DCI_VERIFY_IF_PRESENT : DCI_VERIFY_REQUIRED;
	d = col_datum(tup, desc, "not_found_reason_codes", &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		s->not_found_codes = palloc0(sizeof(char *) * (n + 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				s->not_found_codes[s->n_not_found_codes++] = TextDatumGetCString(elems[i]);
	}

	endpoint = col_text(tup, desc, "search_endpoint");
	s->search_url = url_join(s->base_url, endpoint);
	s->subscribe_url = url_join(s->base_url, col_text(tup, desc, "subscribe_endpoint"));
	s->txn_status_url = url_join(s->base_url, col_text(tup, desc, "txn_status_endpoint"));
	s->enrolled_url = url_join(s->base_url, col_text(tup, desc, "enrolled_endpoint"));
	s->disabled_url = url_join(s->base_url, col_text(tup, desc, "disabled_endpoint"));
	s->verify_ssl = DatumGetBool(col_datum(tup, desc, "verify_ssl", &isnull));
	s->timeout_seconds = DatumGetInt32(col_datum(tup, desc, "timeout_seconds", &isnull));
	s->batch_size = DatumGetInt32(col_datum(tup, desc, "batch_size", &isnull));

	/* keys last: nothing after them can fail and leak an OpenSSL object */
	v = col_text(tup, desc, "registry_public_key");
	if ((v == NULL || v[0] == '\0') && s->verify_mode == DCI_VERIFY_REQUIRED)
		missing(s->code, "registry_public_key",
				"Set dci.data_source.registry_public_key to the registry's signing key (PEM), "
				"or set verify_response_signature to 'if-present' or 'off'.");
	if (s->signing_mode != DCI_SIGN_NONE)
	{
		if (s->signing_key_id == NULL)
			missing(s->code, "signing_key_id",
					"Generate a key with dci_generate_signing_key('key-1') and set dci.data_source.signing_key_id, "
					"or set signing_mode = 'none'.");
		load_signing_key(s);
	}
	if (v != NULL && v[0] != '\0')
	{
		s->registry_key = dci_key_load_public(v, err, sizeof(err));
		if (s->registry_key == NULL)
		{
			dci_key_free(s->signing_key);
			s->signing_key = NULL;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("registry_public_key of DCI source \"%s\" is not a PEM public key", s->code),
					 errdetail("%s", err),
					 errhint("Set it to the registry's public key in PEM form.")));
		}
	}
	return s;
}

/* Read one row as the tables' owner; NULL when there is no such code. */
static dci_source *
load_source(const char *code)
{
	Oid			relid = dci_config_relid();
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	HeapTuple	classtup;
	Datum		arg = CStringGetTextDatum(code);
	Oid			argtype = TEXTOID;
	dci_source *s = NULL;
	MemoryContext oldcxt;

	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT * FROM dci.data_source WHERE code = $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read dci.data_source");
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_copytuple(SPI_tuptable->vals[0]);
		TupleDesc	desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);

		oldcxt = MemoryContextSwitchTo(source_mcxt);
		PG_TRY();
		{
			s = build_source(tup, desc);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(oldcxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	config_relid = relid;
	return s;
}

dci_source *
dci_source_get(const char *code)
{
	source_entry *e;
	bool		found;
	char		key[NAMEDATALEN];
	dci_source *s;

	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("DCI source code must not be null")));
	if (strlen(code) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("DCI source \"%.*s...\" does not exist", 32, code)));

	AcceptInvalidationMessages();
	if (!cache_valid || source_cache == NULL)
	{
		HASHCTL		ctl;

		if (source_mcxt == NULL)
			source_mcxt = AllocSetContextCreate(TopMemoryContext, "dci source cache",
												ALLOCSET_DEFAULT_SIZES);
		reset_cache();
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(source_entry);
		ctl.hcxt = source_mcxt;
		source_cache = hash_create("dci sources", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}

	memset(key, 0, sizeof(key));
	strlcpy(key, code, sizeof(key));
	e = hash_search(source_cache, key, HASH_FIND, &found);
	if (found && e->src)
		return e->src;

	s = load_source(code);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("DCI source \"%s\" does not exist", code),
				 errhint("Add a row to dci.data_source with code = '%s'.", code)));
	/* cached even if an invalidation arrived meanwhile: the next call resets it */
	e = hash_search(source_cache, key, HASH_ENTER, &found);
	e->src = s;
	return s;
}
