/*
 * ibr.c - integrated beneficiary registry: duplicate-enrollment checks and
 * beneficiary search.
 *
 * A duplicate check never fails open: if any lookup fails, the call fails;
 * "not enrolled anywhere" is only said when the registry said so.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "dci.h"
#include "records.h"

PG_FUNCTION_INFO_V1(dci_check_duplication);
PG_FUNCTION_INFO_V1(dci_check_duplication_multi);
PG_FUNCTION_INFO_V1(dci_check_duplication_batch);
PG_FUNCTION_INFO_V1(dci_search_beneficiary);

/* More enrollments than anyone has: a registry that pages without end. */
#define MAX_ENROLLMENTS 10000

/* Matched programmes accumulate across identifiers (palloc'd, deduplicated). */
typedef struct dup_acc
{
	const char *exclude;
	char	  **programs;
	int			nprograms;
	int			cap;
	bool		duplicate;
	StringInfoData raw;			/* JSON array text of every record seen */
	int			nraw;
} dup_acc;

static void
acc_init(dup_acc *a, const char *exclude)
{
	memset(a, 0, sizeof(*a));
	a->exclude = exclude;
	initStringInfo(&a->raw);
	appendStringInfoChar(&a->raw, '[');
}

static void
acc_program(dup_acc *a, const char *name)
{
	for (int i = 0; i < a->nprograms; i++)
		if (strcmp(a->programs[i], name) == 0)
			return;
	if (a->nprograms == a->cap)
	{
		a->cap = a->cap ? a->cap * 2 : 8;
		a->programs = a->programs ? repalloc(a->programs, sizeof(char *) * a->cap)
			: palloc(sizeof(char *) * a->cap);
	}
	a->programs[a->nprograms++] = pstrdup(name);
}

static bool
excluded(const dup_acc *a, const dci_enrollment *e)
{
	if (a->exclude == NULL)
		return false;
	return (e->programme_id && pg_strcasecmp(e->programme_id, a->exclude) == 0) ||
		(e->programme_name && pg_strcasecmp(e->programme_name, a->exclude) == 0);
}

/* Add the records of one identifier: active enrollments elsewhere are duplicates. */
static void
acc_records(dup_acc *a, struct json_object *records, const char *idtype)
{
	size_t		n = dci_records_len(records);

	for (size_t i = 0; i < n; i++)
	{
		struct json_object *rec = dci_records_get(records, i);
		dci_enrollment e;

		if (a->nraw++ > 0)
			appendStringInfoChar(&a->raw, ',');
		appendStringInfoString(&a->raw, dci_json_text(rec));
		if (dci_map_enrollment(rec, idtype, &e) != DCI_REC_OK)
			continue;
		if (e.is_active == 1 && !excluded(a, &e))
		{
			a->duplicate = true;
			acc_program(a, e.programme_name ? e.programme_name :
						e.programme_id ? e.programme_id : "(unnamed programme)");
		}
		dci_enrollment_clear(&e);
	}
}

static Datum
acc_result(dup_acc *a, TupleDesc td)
{
	Datum		v[3];
	bool		n[3] = {false, false, false};

	appendStringInfoChar(&a->raw, ']');
	v[0] = BoolGetDatum(a->duplicate);
	v[1] = dci_text_array(a->programs, a->nprograms);
	v[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(a->raw.data));
	return HeapTupleGetDatum(heap_form_tuple(td, v, n));
}

static bool
map_duplication(dci_source *src, const char *value, struct json_object *records, TupleDesc rectype,
				void *extra, Datum *out, bool *isnull, char **error, int *sqlstate)
{
	char	  **args = extra;	/* {idtype, exclude_program} */
	dup_acc		a;

	acc_init(&a, args[1]);
	acc_records(&a, records, args[0]);
	*out = acc_result(&a, rectype);
	*isnull = false;
	return true;
}

/* not found is an answer here: enrolled nowhere */
static const dci_lookup_kind duplication_kind = {NULL, map_duplication, true};

/* /registry/sync/enrolled: yes/no, without the programmes. */
static Datum
check_enrolled_endpoint(dci_source *src, const char *idtype, const char *value, TupleDesc td)
{
	char	   *body;
	int			yes = dci_yes_no(src, src->enrolled_url, "enrolled", idtype, value, &body);
	Datum		v[3];
	bool		n[3] = {false, true, false};

	/* "not known to the IBR" is "enrolled nowhere" */
	v[0] = BoolGetDatum(yes == 1);
	v[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(body));
	/* matched_programs stays NULL: this endpoint does not say which */
	return HeapTupleGetDatum(heap_form_tuple(td, v, n));
}

Datum
dci_check_duplication(PG_FUNCTION_ARGS)
{
	char	   *args[2];
	char	   *source;
	TupleDesc	td;
	bool		isnull;
	Datum		d;
	dci_source *src;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("identifier_type, identifier_value and source of dci_check_duplication must not be null")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	args[0] = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[1] = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	source = text_to_cstring(PG_GETARG_TEXT_PP(2));
	/* an untyped '[...]' literal resolves to this overload: never answer "not duplicate" for it */
	if (args[0][strspn(args[0], " \t\n\r")] == '[' || args[0][strspn(args[0], " \t\n\r")] == '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("identifier_type looks like a JSON list of identifiers"),
				 errhint("Cast the list to jsonb: dci_check_duplication('[...]'::jsonb, 'source').")));
	src = dci_source_get(source);
	/* the enrolled endpoint cannot leave a programme out: search when asked to */
	if (src->enrolled_url && args[1] == NULL)
		PG_RETURN_DATUM(check_enrolled_endpoint(src, args[0], text_to_cstring(PG_GETARG_TEXT_PP(1)), td));
	d = dci_lookup_one(&duplication_kind, source, args[0], text_to_cstring(PG_GETARG_TEXT_PP(1)),
					   td, args, &isnull);
	PG_RETURN_DATUM(d);
}

/* Several identifiers, grouped by type, each group asked in batches. */
typedef struct multi_ctx
{
	dup_acc    *acc;
	const char *idtype;
	int			sqlstate;
	char	   *error;
	char	   *failed_value;
} multi_ctx;

static void
multi_cb(void *arg, const char *value, int count, dci_outcome outcome,
		 struct json_object *records, const dci_error *err)
{
	multi_ctx  *m = arg;

	if (outcome == DCI_FAILED)
	{
		if (m->error == NULL)
		{
			m->sqlstate = err->sqlstate;
			m->error = pstrdup(err->message ? err->message : "DCI lookup failed");
			m->failed_value = pstrdup(value);
		}
		return;
	}
	if (outcome == DCI_FOUND)
		acc_records(m->acc, records, m->idtype);
}

Datum
dci_check_duplication_multi(PG_FUNCTION_ARGS)
{
	Jsonb	   *ids;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	char	  **types;
	char	  **values;
	dci_source *src;
	TupleDesc	td;
	dup_acc		acc;
	bool	   *done;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("identifiers and source of dci_check_duplication must not be null")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	ids = PG_GETARG_JSONB_P(0);
	src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	acc_init(&acc, PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));

	if (!JB_ROOT_IS_ARRAY(ids) || JB_ROOT_IS_SCALAR(ids) || JB_ROOT_COUNT(ids) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("identifiers must be a non-empty JSON array of {\"type\": ..., \"value\": ...}")));
	types = palloc0(sizeof(char *) * JB_ROOT_COUNT(ids));
	values = palloc0(sizeof(char *) * JB_ROOT_COUNT(ids));
	it = JsonbIteratorInit(&ids->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue *t,
				   *val;

		if (tok != WJB_ELEM)
			continue;
		CHECK_FOR_INTERRUPTS();
		/* a key lookup is only defined on an object container */
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data) ||
			(t = getKeyJsonValueFromContainer(v.val.binary.data, "type", 4, NULL)) == NULL ||
			(val = getKeyJsonValueFromContainer(v.val.binary.data, "value", 5, NULL)) == NULL ||
			t->type != jbvString || val->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("identifier %d is not an object with string members \"type\" and \"value\"", n + 1)));
		types[n] = pnstrdup(t->val.string.val, t->val.string.len);
		values[n] = pnstrdup(val->val.string.val, val->val.string.len);
		n++;
	}

	done = palloc0(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		const char **group;
		int			ng = 0;
		dci_lookup_spec spec;
		multi_ctx	m;

		if (done[i])
			continue;
		group = palloc(sizeof(char *) * n);
		for (int j = i; j < n; j++)
			if (!done[j] && strcmp(types[j], types[i]) == 0)
			{
				group[ng++] = values[j];
				done[j] = true;
			}
		memset(&spec, 0, sizeof(spec));
		spec.identifier_type = types[i];
		memset(&m, 0, sizeof(m));
		m.acc = &acc;
		m.idtype = types[i];
		dci_lookup(src, &spec, group, ng, multi_cb, &m);
		if (m.error)
			ereport(ERROR,
					(errcode(m.sqlstate ? m.sqlstate : ERRCODE_INTERNAL_ERROR),
					 errmsg("%s", m.error),
					 errdetail("Identifier %s \"%s\" could not be checked, so duplication is unknown.",
							   types[i], m.failed_value)));
	}
	PG_RETURN_DATUM(acc_result(&acc, td));
}

Datum
dci_check_duplication_batch(PG_FUNCTION_ARGS)
{
	char	   *args[2];

	/* not STRICT (exclude_program may be NULL): check before reading anything */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("identifier_type, identifier_values and source of dci_check_duplication_batch must not be null")));
	args[0] = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[1] = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	dci_lookup_batch(fcinfo, &duplication_kind, text_to_cstring(PG_GETARG_TEXT_PP(2)), args[0],
					 PG_GETARG_ARRAYTYPE_P(1), !PG_ARGISNULL(4) && PG_GETARG_BOOL(4), args);
	return (Datum) 0;
}

/* Every enrollment of a person, page by page. */
Datum
dci_search_beneficiary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	dci_source *src = dci_source_get(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	TupleDesc	td;
	Tuplestorestate *store;
	MemoryContext old;
	int			page_size = Min(Max(src->batch_size, 10), 1000);
	long		seen = 0;
	uint32		last_digest = 0;
	dci_search_item item;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	td = CreateTupleDescCopy(td);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);

	memset(&item, 0, sizeof(item));
	item.query_type = "idtype-value";
	item.query_json = dci_idtype_query(idtype, value);
	item.query_len = strlen(item.query_json);
	item.page_size = page_size;

	for (int page = 1;; page++)
	{
		dci_exchange *ex = dci_exchange_search_new(src, NULL, &item, 1);
		struct json_object *records;
		dci_error	err;
		size_t		n;
		long		total;
		uint32		digest = 0;
		dci_outcome o;
		struct json_object *resp_item;

		item.page_number = page;
		dci_exchange_send(ex);
		if (ex->err.sqlstate)
			dci_exchange_raise(ex);
		o = dci_item_outcome(ex, 0, &records, &err);
		if (o == DCI_FAILED)
		{
			ex->err = err;
			dci_exchange_raise(ex);
		}
		n = dci_records_len(records);
		for (size_t i = 0; i < n; i++)
		{
			struct json_object *rec = dci_records_get(records, i);
			const char *text = dci_json_text(rec);
			dci_enrollment e;
			Datum		v[6];
			bool		nl[6] = {false, false, false, false, false, false};
			char	   *prog;

			digest = hash_combine(digest, hash_bytes((const unsigned char *) text, strlen(text)));
			if (dci_map_enrollment(rec, idtype, &e) != DCI_REC_OK)
				continue;
			v[0] = CStringGetTextDatum(e.identifier_type ? e.identifier_type : idtype);
			v[1] = CStringGetTextDatum(e.identifier_value ? e.identifier_value : value);
			nl[2] = e.name == NULL;
			v[2] = e.name ? CStringGetTextDatum(e.name) : (Datum) 0;
			prog = e.programme_name ? e.programme_name : e.programme_id;
			v[3] = dci_text_array(prog ? &prog : NULL, prog ? 1 : 0);
			nl[4] = e.enrollment_status == NULL;
			v[4] = e.enrollment_status ? CStringGetTextDatum(e.enrollment_status) : (Datum) 0;
			v[5] = dci_json_datum(rec);
			dci_enrollment_clear(&e);
			tuplestore_putvalues(store, td, v, nl);
		}
		seen += (long) n;
		resp_item = dci_response_item(&ex->resp, dci_reference_id(ex, 0), 0);
		total = resp_item ? dci_item_total_count(resp_item) : -1;
		dci_exchange_free(ex);
		dci_check_page(src, page, n, total, seen, digest, &last_digest, MAX_ENROLLMENTS);
		/* stop at the registry's total, or at a short page when it gives none */
		if (n == 0 || (total >= 0 && seen >= total) || (total < 0 && (int) n < page_size))
			break;
		CHECK_FOR_INTERRUPTS();
	}
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = td;
	return (Datum) 0;
}
