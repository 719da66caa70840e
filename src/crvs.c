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
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "dci.h"
#include "records.h"

PG_FUNCTION_INFO_V1(dci_verify_birth);
PG_FUNCTION_INFO_V1(dci_verify_birth_batch);
PG_FUNCTION_INFO_V1(dci_is_deceased);

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

static bool
map_birth(dci_source *src, const char *value, const cj_node *records, TupleDesc rectype,
		  void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	birth_extra *bx = extra;
	const char *idtype = bx->idtype;
	death_entry *death = death_of(bx->deaths, value);
	const cj_node *rec;
	dci_birth	b;
	dci_profile profile = DCI_PROFILE_SPDCI;
	Datum		v[BIRTH_NATTS];
	bool		n[BIRTH_NATTS];

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
	(void) dci_profile_parse(src->record_profile, &profile);
	if (dci_map_birth(rec, profile, idtype, &b) != DCI_REC_OK)
	{
		*sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("DCI source \"%s\" returned a birth record that is not a JSON object", src->code);
		return false;
	}
	v[0] = text_or_null(b.identifier_type ? b.identifier_type : idtype, &n[0]);
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
	v[10] = BoolGetDatum(b.is_deceased != 0 || (death && death->outcome == DCI_FOUND));
	n[10] = false;
	v[11] = date_or_null(b.death_date ? b.death_date :
						 (death && death->outcome == DCI_FOUND) ? death->death_date : NULL, &n[11]);
	v[12] = date_or_null(b.registration_date, &n[12]);
	dci_birth_clear(&b);
	v[13] = dci_json_datum(rec);
	n[13] = false;
	*out = HeapTupleGetDatum(heap_form_tuple(rectype, v, n));
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
