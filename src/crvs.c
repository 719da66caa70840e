/*
 * crvs.c - civil registration: dci_verify_birth, its batch form, and
 * dci_is_deceased.
 *
 * "Never alive by default": a source whose deaths live in a register of
 * their own (death_reg_type, e.g. OpenCRVS's ocrvs:registry_type:death,
 * whose records carry no deathDate) has that register asked first; a
 * person found there is deceased, and a death register that cannot answer
 * fails the lookup rather than let the birth record say "alive".
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "dci.h"
#include "records.h"

PG_FUNCTION_INFO_V1(dci_verify_birth);
PG_FUNCTION_INFO_V1(dci_verify_birth_batch);
PG_FUNCTION_INFO_V1(dci_is_deceased);
PG_FUNCTION_INFO_V1(dci_birth_record);

/* What the death register said of one identifier. */
typedef struct death_entry
{
	const char *value;			/* hash key */
	dci_outcome outcome;
	char	   *death_date;		/* NULL: unknown */
	dci_error	err;
} death_entry;

/* What the mapper needs besides the records. */
typedef struct birth_extra
{
	const char *idtype;
	HTAB	   *deaths;			/* NULL: the source has no death register */
} birth_extra;

#define BIRTH_NATTS 14

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static Datum
date_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? dci_date_datum(s) : (Datum) 0;
}

static void
death_cb(void *arg, const char *value, int count, dci_outcome outcome,
		 const cj_node *records, const dci_error *err)
{
	HTAB	   *deaths = arg;
	death_entry *e = hash_search(deaths, &value, HASH_ENTER, NULL);

	e->value = value;
	e->outcome = outcome;
	e->death_date = NULL;
	memset(&e->err, 0, sizeof(e->err));
	if (outcome == DCI_FAILED)
	{
		e->err.sqlstate = err->sqlstate;
		e->err.message = err->message ? pstrdup(err->message) : NULL;
		e->err.detail = err->detail ? pstrdup(err->detail) : NULL;
	}
	else if (outcome == DCI_FOUND && dci_records_len(records) > 0)
	{
		dci_birth	b;
		dci_profile profile = DCI_PROFILE_SPDCI;

		if (dci_map_birth(dci_records_get(records, 0), profile, NULL, &b) == DCI_REC_OK)
		{
			e->death_date = b.death_date ? pstrdup(b.death_date) : NULL;
			dci_birth_clear(&b);
		}
	}
}

/* Ask the source's death register about values (n of them); NULL without one. */
static HTAB *
ask_death_register(dci_source *src, const char *idtype, const char **values, int n)
{
	dci_lookup_spec spec = {idtype, NULL, "death", 0, NULL};
	HTAB	   *deaths;

	if (src->death_reg_type == NULL || n == 0)
		return NULL;
	spec.reg_type = src->death_reg_type;
	deaths = dci_string_ptr_hash("dci deaths", Max(n, 16), sizeof(death_entry), CurrentMemoryContext);
	dci_lookup(src, &spec, values, n, death_cb, deaths);
	return deaths;
}

static death_entry *
death_of(HTAB *deaths, const char *value)
{
	return deaths ? hash_search(deaths, &value, HASH_FIND, NULL) : NULL;
}

/*
 * One CRVS record as a dci.birth_record, read with the given profile; false
 * when the record is not a JSON object.  want_idtype picks the identifier;
 * a death register's word (registered_death, its date) completes the record.
 */
bool
dci_birth_datum(const cj_node *rec, const char *record_profile, const char *want_idtype,
				bool registered_death, const char *register_death_date, TupleDesc rectype, Datum *out)
{
	dci_birth	b;
	dci_profile profile = DCI_PROFILE_SPDCI;
	Datum		v[BIRTH_NATTS];
	bool		n[BIRTH_NATTS];

	(void) dci_profile_parse(record_profile, &profile);
	if (dci_map_birth(rec, profile, want_idtype, &b) != DCI_REC_OK)
		return false;
	v[0] = text_or_null(b.identifier_type ? b.identifier_type : want_idtype, &n[0]);
	v[1] = text_or_null(b.identifier_value, &n[1]);
	v[2] = text_or_null(b.given_name, &n[2]);
	v[3] = text_or_null(b.family_name, &n[3]);
	v[4] = text_or_null(b.person_name, &n[4]);
	v[5] = text_or_null(b.sex, &n[5]);
	v[6] = date_or_null(b.birth_date, &n[6]);
	v[7] = text_or_null(b.birth_place, &n[7]);
	v[8] = text_or_null(b.parent1_identifier, &n[8]);
	v[9] = text_or_null(b.parent2_identifier, &n[9]);
	/* an unreadable death date still records a death; so does the death register */
	v[10] = BoolGetDatum(b.is_deceased != 0 || registered_death);
	n[10] = false;
	v[11] = date_or_null(b.death_date ? b.death_date : registered_death ? register_death_date : NULL, &n[11]);
	v[12] = date_or_null(b.registration_date, &n[12]);
	dci_birth_clear(&b);
	v[13] = dci_json_datum(rec);
	n[13] = false;
	*out = HeapTupleGetDatum(heap_form_tuple(rectype, v, n));
	return true;
}

static bool
map_birth(dci_source *src, const char *value, const cj_node *records, TupleDesc rectype,
		  void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	birth_extra *bx = extra;
	const char *idtype = bx->idtype;
	death_entry *death = death_of(bx->deaths, value);
	const cj_node *rec;

	if (bx->deaths && (death == NULL || death->outcome == DCI_FAILED))
	{
		/* a death register that cannot say makes "alive" unknowable */
		*sqlstate = death && death->err.sqlstate ? death->err.sqlstate : ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("the death register of DCI source \"%s\" could not be asked: %s", src->code,
						  death && death->err.message ? death->err.message : "no answer");
		return false;
	}
	if (!dci_one_record(src, records, "birth", &rec, error, sqlstate))
		return false;
	if (!dci_birth_datum(rec, src->record_profile, idtype, death && death->outcome == DCI_FOUND,
						 death ? death->death_date : NULL, rectype, out))
	{
		*sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("DCI source \"%s\" returned a birth record that is not a JSON object", src->code);
		return false;
	}
	*isnull = false;
	return true;
}

static const dci_lookup_kind birth_kind = {NULL, map_birth, false};

/* dci.birth_record, found by schema and name in the syscache: never through search_path. */
static Oid
birth_record_type(void)
{
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("birth_record"),
										ObjectIdGetDatum(get_namespace_oid("dci", false)));

	if (!OidIsValid(typid))
		elog(ERROR, "type dci.birth_record does not exist");
	return typid;
}

Datum
dci_verify_birth(PG_FUNCTION_ARGS)
{
	birth_extra bx;
	const char *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	dci_source *src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	bx.idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bx.deaths = ask_death_register(src, bx.idtype, &value, 1);
	return dci_lookup_function(fcinfo, &birth_kind, &bx);
}

Datum
dci_verify_birth_batch(PG_FUNCTION_ARGS)
{
	birth_extra bx;
	const char *source = text_to_cstring(PG_GETARG_TEXT_PP(2));
	dci_source *src = dci_source_get(source);

	bx.idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bx.deaths = NULL;
	if (src->death_reg_type)
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			m = 0;
		const char **values;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		values = palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i] && VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])) <= DCI_MAX_IDENTIFIER)
				values[m++] = TextDatumGetCString(elems[i]);
		bx.deaths = ask_death_register(src, bx.idtype, values, m);
	}
	dci_lookup_batch(fcinfo, &birth_kind, source, bx.idtype, PG_GETARG_ARRAYTYPE_P(1),
					 PG_GETARG_BOOL(3), &bx);
	return (Datum) 0;
}

/*
 * true when a death is recorded, false when the person is found alive, NULL
 * when the registry has no record: never "alive" by default.  A source
 * with a death register is asked there first: found there is dead, even
 * with no record in the birth register.
 */
Datum
dci_is_deceased(PG_FUNCTION_ARGS)
{
	const char *idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	dci_source *src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	birth_extra bx = {idtype, ask_death_register(src, idtype, &value, 1)};
	death_entry *death = death_of(bx.deaths, value);
	TupleDesc	td;
	bool		isnull;
	Datum		rec;
	HeapTupleHeader h;
	bool		deceased_null;
	Datum		deceased;

	if (death && death->outcome == DCI_FAILED)
		dci_report(ERROR, &death->err);
	if (death && death->outcome == DCI_FOUND)
		PG_RETURN_BOOL(true);
	td = BlessTupleDesc(lookup_rowtype_tupdesc_copy(birth_record_type(), -1));
	rec = dci_lookup_one(&birth_kind, src->code, idtype, value, td, &bx, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	h = DatumGetHeapTupleHeader(rec);
	deceased = GetAttributeByNum(h, 11, &deceased_null);
	if (deceased_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(deceased);
}

/* record_profile of a source row, without the checks a call needs (a view maps old rows). */
static bool
read_profile(const dci_row *row, void *arg)
{
	*(char **) arg = dci_row_text(row, "record_profile");
	return false;
}

/*
 * dci_birth_record(record, source): one record (a notification's, an inbox
 * envelope's) mapped as dci_verify_birth maps the source's answers.
 */
Datum
dci_birth_record(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb;
	char	   *code;
	char	   *profile = NULL;
	char	   *json;
	const cj_node *rec;
	TupleDesc	td;
	Datum		out = (Datum) 0;
	volatile bool ok = false;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("DCI source code must not be null")));
	jb = PG_GETARG_JSONB_P(0);
	code = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	dci_check_schema_version();
	dci_scan_rows("data_source", "code", code, read_profile, &profile);
	if (profile == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("DCI source \"%s\" does not exist", code),
				 errhint("Add a row to dci.data_source with code = '%s'.", code)));
	if (!JB_ROOT_IS_OBJECT(jb))
		PG_RETURN_NULL();
	json = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	rec = cj_parse(json, strlen(json), NULL, 0);
	if (rec == NULL)
		PG_RETURN_NULL();
	PG_TRY();
	{
		ok = dci_birth_datum(rec, profile, NULL, false, NULL, BlessTupleDesc(td), &out);
	}
	PG_FINALLY();
	{
		cj_free((cj_node *) rec);
	}
	PG_END_TRY();
	if (!ok)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(out);
}

