/*
 * dr.c - disability registry: dci_disability_status and its batch form.
 * dci_functional_scores, dci_is_pwd and dci_sync_disability are SQL on top.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "dci.h"
#include "records.h"

PG_FUNCTION_INFO_V1(dci_disability_status);
PG_FUNCTION_INFO_V1(dci_disability_status_batch);
PG_FUNCTION_INFO_V1(dci_is_pwd);

#define STATUS_NATTS 6

/* dci.functional_scores of the six Washington Group domains; 0 (unknown) is NULL. */
static Datum
scores_datum(TupleDesc rectype, const dci_disability *d)
{
	Oid			typid = TupleDescAttr(rectype, 2)->atttypid;
	TupleDesc	sd = lookup_rowtype_tupdesc(typid, -1);
	Datum		v[DCI_WG_NDOMAINS];
	bool		n[DCI_WG_NDOMAINS];
	HeapTuple	t;

	for (int i = 0; i < DCI_WG_NDOMAINS; i++)
	{
		n[i] = d->scores[i] == 0;
		v[i] = Int32GetDatum(d->scores[i]);
	}
	t = heap_form_tuple(sd, v, n);
	ReleaseTupleDesc(sd);
	return HeapTupleGetDatum(t);
}

static bool
map_disability(dci_source *src, const char *value, struct json_object *records, TupleDesc rectype,
			   void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	struct json_object *rec;
	dci_disability d;
	Datum		v[STATUS_NATTS];
	bool		n[STATUS_NATTS] = {false, false, false, false, false, false};

	if (!dci_one_record(src, records, "disability", &rec, error, sqlstate))
		return false;
	if (dci_map_disability(rec, &d) != DCI_REC_OK)
	{
		*sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("DCI source \"%s\" returned a disability record that is not a JSON object", src->code);
		return false;
	}
	v[0] = BoolGetDatum(d.has_disability == 1);
	n[0] = d.has_disability < 0;
	v[1] = dci_text_array(d.disability_types, (int) d.n_disability_types);
	v[2] = scores_datum(rectype, &d);
	n[3] = d.severity == NULL;
	v[3] = d.severity ? CStringGetTextDatum(d.severity) : (Datum) 0;
	n[4] = d.assessment_date == NULL;
	v[4] = d.assessment_date ? dci_date_datum(d.assessment_date) : (Datum) 0;
	v[5] = dci_json_datum(rec);
	dci_disability_clear(&d);
	*out = HeapTupleGetDatum(heap_form_tuple(rectype, v, n));
	*isnull = false;
	return true;
}

static const dci_lookup_kind disability_kind = {NULL, map_disability, false};

Datum
dci_disability_status(PG_FUNCTION_ARGS)
{
	return dci_lookup_function(fcinfo, &disability_kind, NULL);
}

Datum
dci_disability_status_batch(PG_FUNCTION_ARGS)
{
	dci_lookup_batch(fcinfo, &disability_kind, text_to_cstring(PG_GETARG_TEXT_PP(2)),
					 text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_ARRAYTYPE_P(1),
					 PG_GETARG_BOOL(3), NULL);
	return (Datum) 0;
}

/* dci_is_pwd: the registry's verdict or any domain at or above the threshold. */
static bool
map_pwd(dci_source *src, const char *value, struct json_object *records, TupleDesc rectype,
		void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	int			threshold = *(int *) extra;
	struct json_object *rec;
	dci_disability d;
	int			pwd;

	if (!dci_one_record(src, records, "disability", &rec, error, sqlstate))
		return false;
	if (dci_map_disability(rec, &d) != DCI_REC_OK)
	{
		*sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		*error = psprintf("DCI source \"%s\" returned a disability record that is not a JSON object", src->code);
		return false;
	}
	pwd = dci_disability_is_pwd(&d, threshold);
	dci_disability_clear(&d);
	/* found, but nothing known either way: unknown, not "no" */
	*isnull = pwd < 0;
	*out = BoolGetDatum(pwd == 1);
	return true;
}

static const dci_lookup_kind pwd_kind = {NULL, map_pwd, false};

/*
 * dci_is_pwd.  A source with disabled_endpoint has the registry decide
 * (/registry/sync/disabled, yes/no) at the usual cut-off of 3; another
 * threshold reads the scores instead.
 */
Datum
dci_is_pwd(PG_FUNCTION_ARGS)
{
	int			threshold = PG_GETARG_INT32(3);
	dci_source *src;
	int			yes;

	if (threshold < 1 || threshold > 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be a Washington Group severity from 1 to 4, not %d", threshold)));
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (src->disabled_url == NULL || threshold != 3)
		return dci_lookup_function(fcinfo, &pwd_kind, &threshold);
	yes = dci_yes_no(src, src->disabled_url, "disabled", text_to_cstring(PG_GETARG_TEXT_PP(0)),
					 text_to_cstring(PG_GETARG_TEXT_PP(1)), NULL);
	/* not in the registry: unknown, never "no" */
	if (yes < 0)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(yes == 1);
}
