/*
 * source.c - per-backend cache of dci.data_source rows.
 *
 * A row is read once, validated, its keys loaded, and kept until any change
 * to dci.data_source or dci.signing_key: the tables' statement trigger
 * (dci_config_changed) sends a relcache invalidation for dci.data_source,
 * which every backend receives, and the callback below drops the cache.
 *
 * Rows are read with a catalog-style heap scan (table_open and
 * systable_beginscan, as pg_cron's job_metadata.c does), never with SQL:
 * nothing is parsed under the caller's search_path and no privilege is
 * needed, so a role with only EXECUTE on the dci_* functions can search
 * without being able to read any secret, and cannot make the read run code.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/readfuncs.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "dci.h"

PG_FUNCTION_INFO_V1(dci_config_changed);
PG_FUNCTION_INFO_V1(dci_validate_row);

typedef struct source_entry
{
	char		code[NAMEDATALEN];	/* hash key (codes are short identifiers) */
	dci_source *src;
} source_entry;

static HTAB *source_cache = NULL;
static MemoryContext source_mcxt = NULL;
static Oid	config_relid = InvalidOid;
static bool cache_valid = false;
static bool schema_checked = false;

/* Drop every cached row: their contexts go, and with them the loaded keys. */
static void
reset_cache(void)
{
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
	{
		cache_valid = false;
		/* ALTER EXTENSION UPDATE may have run: check the schema version again */
		schema_checked = false;
	}
}

void
dci_source_cache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

/* A table of schema dci, found through the syscache (no SQL). */
Oid
dci_table_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("dci", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table dci.%s does not exist", relname),
				 errhint("Run CREATE EXTENSION dci (or ALTER EXTENSION dci UPDATE) in this database.")));
	return relid;
}

Oid
dci_config_relid(void)
{
	return dci_table_relid("data_source");
}

/* The role that owns the extension's tables (the relcache, no SQL). */
Oid
dci_config_owner(void)
{
	HeapTuple	classtup;
	Oid			relid = dci_config_relid();
	Oid			owner;

	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);
	return owner;
}

/*
 * The library and the installed SQL objects must be of the same version: an
 * old schema lacks columns this code reads.  Read pg_extension by scan.
 */
void
dci_check_schema_version(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *version = NULL;

	if (schema_checked)
		return;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("dci"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = TextDatumGetCString(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (version == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"dci\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION dci.")));
	if (strcmp(version, DCI_SCHEMA_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"dci\" is installed at version %s, but its library is version %s",
						version, DCI_SCHEMA_VERSION),
				 errhint("Run ALTER EXTENSION dci UPDATE.")));
	schema_checked = true;
}

/* A trigger of the extension fires on its own config tables only. */
static bool
is_config_table(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	return relid == dci_table_relid("data_source") || relid == dci_table_relid("signing_key");
}

Datum
dci_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dci.config_changed() must be called as a trigger")));
	if (!is_config_table(((TriggerData *) fcinfo->context)->tg_relation))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dci.config_changed() is a trigger of dci.data_source and dci.signing_key only")));
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

/* ---- reading a row without SQL ---- */

int
dci_attnum(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i + 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table %s has no column \"%s\"", "dci.data_source or dci.signing_key", name),
			 errhint("Run ALTER EXTENSION dci UPDATE.")));
	return 0;					/* not reached */
}

Datum
dci_row_datum(const dci_row *row, const char *name, bool *isnull)
{
	return heap_getattr(row->tup, dci_attnum(row->desc, name), row->desc, isnull);
}

char *
dci_row_text(const dci_row *row, const char *name)
{
	bool		isnull;
	Datum		d = dci_row_datum(row, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A text column with an empty string read as unset. */
static char *
row_text_set(const dci_row *row, const char *name)
{
	char	   *v = dci_row_text(row, name);

	return (v && v[0]) ? v : NULL;
}

static bool
row_bool(const dci_row *row, const char *name, bool dflt)
{
	bool		isnull;
	Datum		d = dci_row_datum(row, name, &isnull);

	return isnull ? dflt : DatumGetBool(d);
}

static int
row_int(const dci_row *row, const char *name, int dflt)
{
	bool		isnull;
	Datum		d = dci_row_datum(row, name, &isnull);

	return isnull ? dflt : DatumGetInt32(d);
}

/*
 * Scan table relname of schema dci for rows whose text column keycol equals
 * key (every row when keycol is NULL); fn sees each, in the caller's memory
 * context, and returns false to stop.  Read with a fresh snapshot, like the
 * catalogs, so a change committed by another session is seen at once.
 */
void
dci_scan_rows(const char *relname, const char *keycol, const char *key,
			  dci_row_fn fn, void *arg)
{
	Relation	rel = table_open(dci_table_relid(relname), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;

	/*
	 * A heap scan, not an index scan: the tables hold a few rows, and a text
	 * key compared under another collation than the index's could miss one.
	 */
	if (keycol)
		ScanKeyInit(&skey, dci_attnum(desc, keycol), BTEqualStrategyNumber, F_TEXTEQ,
					CStringGetTextDatum(key));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, keycol ? 1 : 0,
							  keycol ? &skey : NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		dci_row		row = {tup, desc};

		CHECK_FOR_INTERRUPTS();
		if (!fn(&row, arg))
			break;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static void
missing(const char *code, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("DCI source \"%s\" has no %s", code, what),
			 errhint("%s", hint)));
}

/* The first matching row, copied into the current memory context. */
static bool
copy_first_row(const dci_row *row, void *arg)
{
	HeapTuple  *out = arg;

	*out = heap_copytuple(row->tup);
	return false;
}

/* A loaded key lives as long as the row's memory context. */
static void
free_key_cb(void *arg)
{
	dci_key_free((dci_key *) arg);
}

static dci_key *
keep_key(dci_key *k)
{
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	cb->func = free_key_cb;
	cb->arg = k;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return k;
}

/* The private key of a source, read from dci.signing_key. */
static void
load_signing_key(dci_source *s)
{
	HeapTuple	tup = NULL;
	Relation	rel;
	char		err[256];
	char	   *pem;
	char	   *alg;
	dci_row		row;

	dci_scan_rows("signing_key", "key_id", s->signing_key_id, copy_first_row, &tup);
	if (tup == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" refers to signing key \"%s\", which does not exist",
						s->code, s->signing_key_id),
				 errhint("Create it with dci_generate_signing_key('%s').", s->signing_key_id)));
	rel = table_open(dci_table_relid("signing_key"), AccessShareLock);
	row.tup = tup;
	row.desc = RelationGetDescr(rel);
	if (!row_bool(&row, "active", false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key \"%s\" of DCI source \"%s\" is not active",
						s->signing_key_id, s->code),
				 errhint("Set dci.signing_key.active or point the source at another key.")));
	alg = dci_row_text(&row, "algorithm");
	if ((s->signing_mode == DCI_SIGN_ED25519 && strcmp(alg, "ed25519") != 0) ||
		(s->signing_mode == DCI_SIGN_JWS_RS256 && strcmp(alg, "rs256") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" signs with %s but signing key \"%s\" is %s",
						s->code, s->signing_mode == DCI_SIGN_ED25519 ? "dci-ed25519" : "jws-rs256",
						s->signing_key_id, alg)));
	pem = dci_row_text(&row, "private_key");
	table_close(rel, AccessShareLock);
	s->signing_key = dci_key_load_private(pem ? pem : "", err, sizeof(err));
	/* wipe our copy of the PEM before it can linger in memory */
	if (pem)
		explicit_bzero(pem, strlen(pem));
	heap_freetuple(tup);
	if (s->signing_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key \"%s\" of DCI source \"%s\" cannot be loaded",
						s->signing_key_id, s->code),
				 errdetail("%s", err)));
	keep_key(s->signing_key);
	s->kid = s->signing_mode == DCI_SIGN_ED25519
		? psprintf("%s|%s|ed25519", s->our_sender_id, s->signing_key_id)
		: pstrdup(s->signing_key_id);
}

/* A header value (token, id) must not carry characters that end a header line. */
static bool
header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Build a dci_source from a row (memory: CurrentMemoryContext). */
static dci_source *
build_source(const dci_row *row)
{
	dci_source *s = palloc0(sizeof(dci_source));
	char	   *v;
	char		err[256];
	bool		isnull;
	Datum		d;

	s->code = dci_row_text(row, "code");
	s->name = dci_row_text(row, "name");
	s->registry_type = dci_row_text(row, "registry_type");

	if (!row_bool(row, "active", true))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DCI source \"%s\" is not active", s->code),
				 errhint("UPDATE dci.data_source SET active = true WHERE code = '%s'.", s->code)));

	s->base_url = row_text_set(row, "base_url");
	if (s->base_url == NULL)
		missing(s->code, "base_url", "Set dci.data_source.base_url to the registry's URL, e.g. https://crvs.example.org/api.");
	if (strncmp(s->base_url, "http://", 7) != 0 && strncmp(s->base_url, "https://", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("base_url of DCI source \"%s\" must start with http:// or https://", s->code)));
	s->our_sender_id = row_text_set(row, "our_sender_id");
	if (s->our_sender_id == NULL)
		missing(s->code, "our_sender_id", "Set dci.data_source.our_sender_id to the sender id the registry knows us by.");

	v = dci_row_text(row, "auth_type");
	s->auth_type = strcmp(v, "bearer") == 0 ? DCI_AUTH_BEARER :
		strcmp(v, "oauth2") == 0 ? DCI_AUTH_OAUTH2 : DCI_AUTH_NONE;
	s->bearer_token = row_text_set(row, "bearer_token");
	s->oauth2_client_id = row_text_set(row, "oauth2_client_id");
	s->oauth2_client_secret = row_text_set(row, "oauth2_client_secret");
	s->oauth2_scope = row_text_set(row, "oauth2_scope");
	v = row_text_set(row, "oauth2_token_url");
	s->oauth2_token_url = url_join(s->base_url, v ? v : "/oauth2/client/token");
	v = row_text_set(row, "oauth2_client_auth");
	s->oauth2_client_auth = v == NULL || strcmp(v, "body") == 0 ? DCI_CLIENT_AUTH_BODY :
		strcmp(v, "basic") == 0 ? DCI_CLIENT_AUTH_BASIC : DCI_CLIENT_AUTH_QUERY;
	if (s->auth_type == DCI_AUTH_BEARER && s->bearer_token == NULL)
		missing(s->code, "bearer_token", "Set dci.data_source.bearer_token, or change auth_type.");
	if (s->auth_type == DCI_AUTH_BEARER && !header_safe(s->bearer_token))
		ereport(ERROR,
				(errcode(ERRCODE_DCI_AUTH),
				 errmsg("bearer_token of DCI source \"%s\" contains control characters", s->code),
				 errhint("A token is sent in an HTTP header; set dci.data_source.bearer_token to the token alone.")));
	if (s->auth_type == DCI_AUTH_OAUTH2 &&
		(s->oauth2_client_id == NULL || s->oauth2_client_secret == NULL))
		missing(s->code, "OAuth2 client credentials",
				"Set dci.data_source.oauth2_client_id and oauth2_client_secret, or change auth_type.");

	v = dci_row_text(row, "signing_mode");
	if (dci_signing_mode_parse(v, &s->signing_mode) != 0)
		elog(ERROR, "unknown signing_mode \"%s\"", v);
	s->signing_key_id = row_text_set(row, "signing_key_id");
	s->our_callback_uri = row_text_set(row, "our_callback_uri");
	s->registry_sender_id = row_text_set(row, "registry_sender_id");
	s->reg_type = row_text_set(row, "reg_type");
	s->record_profile = dci_row_text(row, "record_profile");
	s->relax_binding = row_bool(row, "relax_response_binding", false);
	s->death_reg_type = row_text_set(row, "death_reg_type");

	v = dci_row_text(row, "verify_response_signature");
	s->verify_mode = strcmp(v, "off") == 0 ? DCI_VERIFY_OFF :
		strcmp(v, "if-present") == 0 ? DCI_VERIFY_IF_PRESENT : DCI_VERIFY_REQUIRED;
	d = dci_row_datum(row, "not_found_reason_codes", &isnull);
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

	s->search_url = url_join(s->base_url, dci_row_text(row, "search_endpoint"));
	s->subscribe_url = url_join(s->base_url, dci_row_text(row, "subscribe_endpoint"));
	s->txn_status_url = url_join(s->base_url, dci_row_text(row, "txn_status_endpoint"));
	s->async_search_url = url_join(s->base_url, dci_row_text(row, "async_search_endpoint"));
	s->unsubscribe_url = url_join(s->base_url, dci_row_text(row, "unsubscribe_endpoint"));
	d = dci_row_datum(row, "vital_events", &isnull);
	if (!isnull)
	{
		Jsonb	   *jb = DatumGetJsonbP(d);

		s->vital_events = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	s->enrolled_url = url_join(s->base_url, row_text_set(row, "enrolled_endpoint"));
	s->disabled_url = url_join(s->base_url, row_text_set(row, "disabled_endpoint"));
	s->verify_ssl = row_bool(row, "verify_ssl", true);
	s->timeout_seconds = row_int(row, "timeout_seconds", 30);
	s->batch_size = row_int(row, "batch_size", 100);
	s->max_retries = row_int(row, "max_retries", 2);
	s->requests_per_minute = row_int(row, "requests_per_minute", 0);
	s->requests_per_day = row_int(row, "requests_per_day", 0);
	v = dci_row_text(row, "quota_counts");
	s->quota_items = v && strcmp(v, "items") == 0;
	s->test_identifier_type = dci_row_text(row, "test_identifier_type");
	s->test_identifier_value = dci_row_text(row, "test_identifier_value");

	/* a key is needed whenever answers are to be checked at all */
	v = row_text_set(row, "registry_public_key");
	if (v == NULL && s->verify_mode != DCI_VERIFY_OFF)
		missing(s->code, "registry_public_key",
				s->verify_mode == DCI_VERIFY_REQUIRED
				? "Set dci.data_source.registry_public_key to the registry's signing key (PEM), or set verify_response_signature to 'off'."
				: "verify_response_signature 'if-present' checks every signed answer, so it needs dci.data_source.registry_public_key (PEM); or set it to 'off'.");
	if (s->signing_mode != DCI_SIGN_NONE)
	{
		if (s->signing_key_id == NULL)
			missing(s->code, "signing_key_id",
					"Generate a key with dci_generate_signing_key('key-1') and set dci.data_source.signing_key_id, "
					"or set signing_mode = 'none'.");
		load_signing_key(s);
	}
	if (v != NULL)
	{
		s->registry_key = dci_key_load_public(v, err, sizeof(err));
		if (s->registry_key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("registry_public_key of DCI source \"%s\" is not a PEM public key", s->code),
					 errdetail("%s", err),
					 errhint("Set it to the registry's public key in PEM form.")));
		keep_key(s->registry_key);
	}
	return s;
}

/*
 * Read one row; NULL when there is no such code.  The row is built in a
 * context of its own under the cache: an ERROR (a bad key, a missing
 * column) drops that context, and with it any key already loaded.
 */
static dci_source *
load_source(const char *code)
{
	HeapTuple	tup = NULL;
	Relation	rel;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	dci_source *s = NULL;

	dci_check_schema_version();
	config_relid = dci_config_relid();
	dci_scan_rows("data_source", "code", code, copy_first_row, &tup);
	if (tup == NULL)
		return NULL;

	rel = table_open(config_relid, AccessShareLock);
	rowcxt = AllocSetContextCreate(source_mcxt, "dci source", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(rowcxt);
	PG_TRY();
	{
		dci_row		row = {tup, RelationGetDescr(rel)};

		s = build_source(&row);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(rowcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	table_close(rel, AccessShareLock);
	heap_freetuple(tup);
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

	/* the key first: code may point into a cached row that the reset below frees */
	memset(key, 0, sizeof(key));
	strlcpy(key, code, sizeof(key));
	dci_ensure_exit_hook();
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

	e = hash_search(source_cache, key, HASH_FIND, &found);
	if (found && e->src)
		return e->src;

	s = load_source(key);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("DCI source \"%s\" does not exist", key),
				 errhint("Add a row to dci.data_source with code = '%s'.", key)));
	/* cached even if an invalidation arrived meanwhile: the next call resets it */
	e = hash_search(source_cache, key, HASH_ENTER, &found);
	e->src = s;
	return s;
}

typedef struct by_sender
{
	const char *sender;
	List	   *codes;
} by_sender;

static bool
collect_by_sender(const dci_row *row, void *arg)
{
	by_sender  *b = arg;
	char	   *sender = dci_row_text(row, "registry_sender_id");

	if (sender && strcmp(sender, b->sender) == 0 && row_bool(row, "active", true))
		b->codes = lappend(b->codes, dci_row_text(row, "code"));
	return true;
}

List *
dci_source_codes_by_sender(const char *registry_sender_id)
{
	by_sender	b = {registry_sender_id, NIL};

	dci_check_schema_version();
	dci_scan_rows("data_source", NULL, NULL, collect_by_sender, &b);
	return b.codes;
}

/*
 * BEFORE INSERT OR UPDATE row trigger of dci.data_source and dci.signing_key:
 * the NOT NULL and CHECK constraints, checked before PostgreSQL's own.  A
 * violation reported by PostgreSQL prints the whole row ("Failing row
 * contains ..."), secrets included, to the client and the server log; this
 * one names the column or constraint only.
 */
Datum
dci_validate_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	newtup;
	Relation	rel;
	TupleDesc	desc;
	TupleConstr *constr;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dci.validate_row() must be called as a BEFORE ROW trigger")));
	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	rel = td->tg_relation;
	if (!is_config_table(rel))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dci.validate_row() is a trigger of dci.data_source and dci.signing_key only")));
	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attnotnull && !a->attisdropped && heap_attisnull(newtup, i + 1, desc))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" of dci.%s must not be null",
							NameStr(a->attname), RelationGetRelationName(rel)),
					 errtablecol(rel, i + 1)));
	}

	constr = desc->constr;
	if (constr && constr->num_check > 0)
	{
		EState	   *estate = CreateExecutorState();
		ExprContext *econtext = GetPerTupleExprContext(estate);
		TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
		MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);

		ExecStoreHeapTuple(newtup, slot, false);
		econtext->ecxt_scantuple = slot;
		for (int i = 0; i < constr->num_check; i++)
		{
			ConstrCheck *check = &constr->check[i];
			ExprState  *es = ExecPrepareExpr((Expr *) stringToNode(check->ccbin), estate);

			if (!ExecCheck(es, econtext))
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("new row for dci.%s violates check constraint \"%s\"",
								RelationGetRelationName(rel), check->ccname),
						 errhint("The README's Configuration section lists the values each column accepts."),
						 errtableconstraint(rel, check->ccname)));
		}
		MemoryContextSwitchTo(old);
		ExecDropSingleTupleTableSlot(slot);
		FreeExecutorState(estate);
	}
	return PointerGetDatum(newtup);
}
