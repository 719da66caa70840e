/*
 * crvs.c - civil registration: dci_verify_birth and its batch form.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "dci.h"
#include "records.h"

PG_FUNCTION_INFO_V1(dci_verify_birth);
PG_FUNCTION_INFO_V1(dci_verify_birth_batch);
PG_FUNCTION_INFO_V1(dci_birth_record);

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

/*
 * One CRVS record as a dci.birth_record, read with the given profile; false
 * when the record is not a JSON object.  want_idtype picks the identifier.
 */
bool
dci_birth_datum(struct json_object *rec, const char *record_profile, const char *want_idtype,
				TupleDesc rectype, Datum *out)
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
	/* an unreadable death date still records a death */
	v[10] = BoolGetDatum(b.is_deceased != 0);
	n[10] = false;
	v[11] = date_or_null(b.death_date, &n[11]);
	v[12] = date_or_null(b.registration_date, &n[12]);
	dci_birth_clear(&b);
	v[13] = dci_json_datum(rec);
	n[13] = false;
	*out = HeapTupleGetDatum(heap_form_tuple(rectype, v, n));
	return true;
}

static bool
map_birth(dci_source *src, struct json_object *records, TupleDesc rectype,
		  void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	const char *idtype = extra;
	struct json_object *rec;

	if (!dci_one_record(src, records, "birth", &rec, error, sqlstate))
		return false;
	if (!dci_birth_datum(rec, src->record_profile, idtype, rectype, out))
	{
		*sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("DCI source \"%s\" returned a birth record that is not a JSON object", src->code);
		return false;
	}
	*isnull = false;
	return true;
}

static const dci_lookup_kind birth_kind = {NULL, map_birth, false};

Datum
dci_verify_birth(PG_FUNCTION_ARGS)
{
	/* extra NULL: the mapper gets the identifier type asked for */
	return dci_lookup_function(fcinfo, &birth_kind, NULL);
}

Datum
dci_verify_birth_batch(PG_FUNCTION_ARGS)
{
	char	   *idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));

	dci_lookup_batch(fcinfo, &birth_kind, text_to_cstring(PG_GETARG_TEXT_PP(2)), idtype,
					 PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_BOOL(3), idtype);
	return (Datum) 0;
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
	struct json_object *rec;
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
	rec = dci_json_parse(json);
	if (rec == NULL)
		PG_RETURN_NULL();
	PG_TRY();
	{
		ok = dci_birth_datum(rec, profile, NULL, BlessTupleDesc(td), &out);
	}
	PG_FINALLY();
	{
		dci_json_put(rec);
	}
	PG_END_TRY();
	if (!ok)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(out);
}
