/*
 * batch.c - the shape shared by every registry lookup function: a single
 * form that returns a mapped value (NULL when not found, an ERROR when the
 * registry cannot answer), and a set-based form over an array that returns
 * one row per input with the value, a status and an error text.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "dci.h"

typedef struct single_ctx
{
	dci_source *src;
	const dci_lookup_kind *kind;
	TupleDesc	rectype;
	void	   *extra;
	dci_outcome outcome;
	Datum		value;
	bool		isnull;
	dci_error	err;
} single_ctx;

/* A copy of err in the current memory context. */
static void
copy_error(dci_error *dst, const dci_error *src)
{
	dst->sqlstate = src->sqlstate;
	dst->message = src->message ? pstrdup(src->message) : NULL;
	dst->detail = src->detail ? pstrdup(src->detail) : NULL;
	dst->hint = src->hint ? pstrdup(src->hint) : NULL;
}

/* The text of the batch error column: the message, and the detail when there is one. */
static char *
error_text(const dci_error *e)
{
	const char *m = e->message ? e->message : "DCI lookup failed";

	return e->detail ? psprintf("%s (%s)", m, e->detail) : pstrdup(m);
}

/* Map found records (or not found, for kinds that map it); false when the mapper refuses. */
static bool
map_outcome(const dci_lookup_kind *kind, dci_source *src, const char *asked, dci_outcome outcome,
			const cj_node *records, TupleDesc rectype, void *extra,
			Datum *value, bool *isnull, dci_error *err)
{
	char	   *error = NULL;
	int			sqlstate = 0;

	*isnull = true;
	if (outcome == DCI_FOUND || (outcome == DCI_NOT_FOUND && kind->map_not_found))
	{
		if (!kind->map(src, asked, outcome == DCI_FOUND ? records : NULL, rectype, extra,
					   value, isnull, &error, &sqlstate))
		{
			memset(err, 0, sizeof(*err));
			err->sqlstate = sqlstate;
			err->message = error;
			return false;
		}
	}
	return true;
}

static void
single_cb(void *arg, const char *value, int count, dci_outcome outcome,
		  const cj_node *records, const dci_error *err)
{
	single_ctx *c = arg;

	c->outcome = outcome;
	c->isnull = true;
	if (outcome == DCI_FAILED)
		copy_error(&c->err, err);
	else if (!map_outcome(c->kind, c->src, value, outcome, records, c->rectype, c->extra,
						  &c->value, &c->isnull, &c->err))
		c->outcome = DCI_FAILED;
}

Datum
dci_lookup_one(const dci_lookup_kind *kind, const char *source, const char *idtype,
			   const char *value, TupleDesc rectype, void *extra, bool *isnull)
{
	dci_source *src = dci_source_get(source);
	dci_lookup_spec spec = {idtype, NULL, kind->reg_event_type, 0, NULL};
	single_ctx	c;

	memset(&c, 0, sizeof(c));
	c.src = src;
	c.kind = kind;
	c.rectype = rectype;
	c.extra = extra;
	dci_lookup(src, &spec, &value, 1, single_cb, &c);
	if (c.outcome == DCI_FAILED)
		dci_report(ERROR, &c.err);
	*isnull = c.isnull || (c.outcome == DCI_NOT_FOUND && !kind->map_not_found);
	return c.value;
}

typedef struct batch_ctx
{
	dci_source *src;
	const dci_lookup_kind *kind;
	TupleDesc	rectype;
	void	   *extra;
	Tuplestorestate *store;
	TupleDesc	outdesc;
	MemoryContext rowcxt;
	bool		strict;
	int64		failed;
} batch_ctx;

static void
emit(batch_ctx *c, const char *value, int count, Datum rec, bool recnull,
	 const char *status, const char *error)
{
	Datum		vals[4];
	bool		nulls[4] = {false, recnull, false, error == NULL};

	vals[0] = CStringGetTextDatum(value);
	vals[1] = rec;
	vals[2] = CStringGetTextDatum(status);
	vals[3] = error ? CStringGetTextDatum(error) : (Datum) 0;
	for (int i = 0; i < count; i++)
		tuplestore_putvalues(c->store, c->outdesc, vals, nulls);
}

static void
batch_cb(void *arg, const char *value, int count, dci_outcome outcome,
		 const cj_node *records, const dci_error *err)
{
	batch_ctx  *c = arg;
	MemoryContext old = MemoryContextSwitchTo(c->rowcxt);
	Datum		rec = (Datum) 0;
	bool		recnull = true;
	dci_error	maperr;

	if (outcome != DCI_FAILED &&
		!map_outcome(c->kind, c->src, value, outcome, records, c->rectype, c->extra, &rec, &recnull, &maperr))
	{
		outcome = DCI_FAILED;
		err = &maperr;
	}
	if (outcome == DCI_FAILED)
	{
		c->failed++;
		if (c->strict)
			ereport(ERROR,
					(errcode(err->sqlstate ? err->sqlstate : ERRCODE_INTERNAL_ERROR),
					 errmsg("%s", err->message ? err->message : "DCI lookup failed"),
					 errdetail("Identifier \"%s\"; strict => true stops the batch at the first failure.%s%s",
							   value, err->detail ? " " : "", err->detail ? err->detail : "")));
	}
	emit(c, value, count, rec, recnull, dci_outcome_name(outcome),
		 outcome == DCI_FAILED ? error_text(err) : NULL);
	MemoryContextSwitchTo(old);
	MemoryContextReset(c->rowcxt);
}

void
dci_lookup_batch(FunctionCallInfo fcinfo, const dci_lookup_kind *kind,
				 const char *source, const char *idtype, ArrayType *values,
				 bool strict, void *extra)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext percall;
	MemoryContext old;
	batch_ctx	c;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **strs;
	int			nstrs = 0;
	dci_source *src;
	dci_lookup_spec spec = {idtype, NULL, kind->reg_event_type, 0, NULL};
	Oid			rectypid;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (strlen(idtype) > DCI_MAX_IDENTIFIER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("identifier_type is longer than %d bytes", DCI_MAX_IDENTIFIER)));
	src = dci_source_get(source);
	memset(&c, 0, sizeof(c));
	c.src = src;
	c.kind = kind;
	c.extra = extra;
	c.strict = strict;
	rectypid = TupleDescAttr(tupdesc, 1)->atttypid;
	c.rectype = type_is_rowtype(rectypid) ? lookup_rowtype_tupdesc_copy(rectypid, -1) : NULL;

	percall = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(percall);
	c.outdesc = CreateTupleDescCopy(tupdesc);
	c.store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
	c.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "dci batch row", ALLOCSET_DEFAULT_SIZES);

	deconstruct_array(values, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	strs = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
		{
			if (strict)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("identifier %d of the batch is null", i + 1)));
			/* a null identifier cannot be asked: its own row says so */
			{
				Datum		vals[4] = {0, 0, CStringGetTextDatum("failed"), CStringGetTextDatum("identifier is null")};
				bool		ns[4] = {true, true, false, false};

				tuplestore_putvalues(c.store, c.outdesc, vals, ns);
			}
			continue;
		}
		/* an identifier too long to be one fails its own row, unsent */
		if (VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])) > DCI_MAX_IDENTIFIER)
		{
			char	   *msg = psprintf("identifier %d of the batch is longer than %d bytes", i + 1,
									   DCI_MAX_IDENTIFIER);
			Datum		vals[4] = {0, 0, CStringGetTextDatum("failed"), CStringGetTextDatum(msg)};
			bool		ns[4] = {true, true, false, false};

			if (strict)
				ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", msg)));
			tuplestore_putvalues(c.store, c.outdesc, vals, ns);
			continue;
		}
		strs[nstrs++] = TextDatumGetCString(elems[i]);
	}
	/* dci.progress shows the batch to other sessions while it runs */
	spec.progress = dci_progress_begin(src->code, get_func_name(fcinfo->flinfo->fn_oid), n);
	dci_progress_add(spec.progress, n - nstrs, n - nstrs, 0);
	dci_lookup(src, &spec, strs, nstrs, batch_cb, &c);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = c.store;
	rsinfo->setDesc = c.outdesc;
	MemoryContextDelete(c.rowcxt);
}

/* ---- helpers for the mappers ---- */

/* One person per identifier: more than one record is an error, never a guess. */
bool
dci_one_record(dci_source *src, const cj_node *records, const char *what,
			   const cj_node **rec, char **error, int *sqlstate)
{
	size_t		n = dci_records_len(records);

	if (n != 1)
	{
		*sqlstate = ERRCODE_CARDINALITY_VIOLATION;
		*error = psprintf("DCI source \"%s\" returned %zu %s records for one identifier",
						  src->code, n, what);
		return false;
	}
	*rec = dci_records_get(records, 0);
	if (cj_has_nul(*rec))
	{
		*sqlstate = ERRCODE_UNTRANSLATABLE_CHARACTER;
		*error = psprintf("DCI source \"%s\" returned a %s record holding \\u0000, which PostgreSQL cannot store",
						  src->code, what);
		return false;
	}
	return true;
}


Datum
dci_text_array(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Compact JSON text of a node (palloc'd); refuse a node holding U+0000 first. */
char *
dci_node_text(const cj_node *n)
{
	dbuf		b;
	char	   *text;

	dbuf_init(&b);
	if (cj_compact(n, &b) != 0 || b.data == NULL)
	{
		dbuf_free(&b);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	text = pstrdup(b.data);
	dbuf_free(&b);
	return text;
}

/* A scalar of the tree as a JsonbValue (numbers in their canonical, signed form). */
static void
scalar_value(const cj_node *n, JsonbValue *v)
{
	size_t		len;
	const char *p;

	switch (cj_typeof(n))
	{
		case CJ_STRING:
			p = cj_str(n, &len);
			v->type = jbvString;
			v->val.string.val = (char *) p;
			v->val.string.len = (int) len;
			break;
		case CJ_NUMBER:
			p = cj_number(n, &len);
			v->type = jbvNumeric;
			v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																 CStringGetDatum(pnstrdup(p, len)),
																 ObjectIdGetDatum(InvalidOid),
																 Int32GetDatum(-1)));
			break;
		case CJ_TRUE:
		case CJ_FALSE:
			v->type = jbvBool;
			v->val.boolean = cj_typeof(n) == CJ_TRUE;
			break;
		default:
			v->type = jbvNull;
			break;
	}
}

/* Push a node (a container, or a scalar as token tok) onto a jsonb under construction. */
static JsonbValue *
push_node(JsonbParseState **st, const cj_node *n, JsonbIteratorToken tok)
{
	JsonbValue	v;
	JsonbValue *res;

	check_stack_depth();
	switch (cj_typeof(n))
	{
		case CJ_ARRAY:
			pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
			for (size_t i = 0; i < cj_array_len(n); i++)
				push_node(st, cj_array_get(n, i), WJB_ELEM);
			return pushJsonbValue(st, WJB_END_ARRAY, NULL);
		case CJ_OBJECT:
			pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
			for (size_t i = 0; i < cj_object_len(n); i++)
			{
				size_t		klen;
				const char *k;

				/* the last of duplicate keys wins, as it did for the signature */
				if (cj_object_shadowed(n, i))
					continue;
				k = cj_object_key(n, i, &klen);
				v.type = jbvString;
				v.val.string.val = (char *) k;
				v.val.string.len = (int) klen;
				pushJsonbValue(st, WJB_KEY, &v);
				push_node(st, cj_object_value(n, i), WJB_VALUE);
			}
			return pushJsonbValue(st, WJB_END_OBJECT, NULL);
		default:
			scalar_value(n, &v);
			if (tok == WJB_DONE)
			{
				/* a scalar at the top: jsonb keeps it as a one-element raw array */
				pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
				(*st)->contVal.val.array.rawScalar = true;
				pushJsonbValue(st, WJB_ELEM, &v);
				return pushJsonbValue(st, WJB_END_ARRAY, NULL);
			}
			res = pushJsonbValue(st, tok, &v);
			return res;
	}
}

/*
 * jsonb of a node, built straight from the parsed tree (no text and no
 * second parse); callers check cj_has_nul first (dci_one_record does).
 */
Datum
dci_json_datum(const cj_node *o)
{
	JsonbParseState *st = NULL;

	if (cj_has_nul(o))
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("a registry value holds \\u0000, which PostgreSQL cannot store")));
	return JsonbPGetDatum(JsonbValueToJsonb(push_node(&st, o, WJB_DONE)));
}

/* "YYYY-MM-DD" to a date Datum */
Datum
dci_date_datum(const char *iso)
{
	return DirectFunctionCall1(date_in, CStringGetDatum(iso));
}

/*
 * The SQL function of a single lookup: (identifier_type, identifier_value,
 * source, ...) -> the kind's value, or NULL when not found.
 */
Datum
dci_lookup_function(FunctionCallInfo fcinfo, const dci_lookup_kind *kind, void *extra)
{
	char	   *idtype = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TupleDesc	td = NULL;
	bool		isnull;
	Datum		d;

	/* a composite result needs its descriptor; a scalar one (dci_is_pwd) does not */
	if (get_call_result_type(fcinfo, NULL, &td) == TYPEFUNC_COMPOSITE)
		td = BlessTupleDesc(td);
	d = dci_lookup_one(kind, text_to_cstring(PG_GETARG_TEXT_PP(2)), idtype,
					   text_to_cstring(PG_GETARG_TEXT_PP(1)), td, extra ? extra : idtype, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}
