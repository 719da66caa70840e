/*
 * lookup.c - identifier lookups, one or a hundred thousand, with one
 * outcome per identifier: found, not found, or failed (with the reason).
 *
 * Distinct values are asked once; they travel batch_size to an envelope
 * (the DCI search_request array), dci.batch_concurrency envelopes in
 * flight at once.  An envelope is made when a connection is free and
 * answered through the callback as soon as it lands, then its memory is
 * dropped: a long batch keeps its memory flat, and a resent envelope does
 * not hold up the others.
 */
#include "postgres.h"

#include <time.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "dci.h"
#include "records.h"

int			dci_batch_concurrency = 4;
int			dci_cache_ttl = 0;
int			dci_cache_max_entries = 100000;

/*
 * The optional response cache (dci.cache_ttl > 0): answers (found or not
 * found, never failures) per source, identifier type and value, kept for
 * cache_ttl seconds in this backend.  Dropped whole on any config change
 * and when it reaches dci.cache_max_entries, so it never grows unbounded.
 */
typedef struct cache_entry
{
	char	   *key;			/* hash key: "source\x1ftype\x1fvalue", in cache_cxt */
	time_t		expires;
	dci_outcome outcome;
	char	   *records;		/* JSON text of reg_records, NULL when not found */
} cache_entry;

static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;

typedef struct value_entry
{
	const char *value;			/* hash key: points into the caller's strings */
	int			count;			/* occurrences in the input */
} value_entry;

static uint32
value_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	/* the whole key: string_hash stops at NAMEDATALEN, so shared prefixes collide */
	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
value_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A hash table keyed by a char * (the strings live elsewhere), any length. */
HTAB *
dci_string_ptr_hash(const char *name, long nelem, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = value_hash;
	ctl.match = value_match;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

void
dci_lookup_cache_reset(void)
{
	if (cache_cxt)
		MemoryContextReset(cache_cxt);
	cache = NULL;
}

static char *
cache_key(dci_source *src, const dci_lookup_spec *spec, const char *value)
{
	return psprintf("%s\x1f%s\x1f%s\x1f%s", src->code, spec->identifier_type,
					spec->reg_event_type ? spec->reg_event_type : "", value);
}

static cache_entry *
cache_find(const char *key)
{
	cache_entry *e;

	if (cache == NULL || dci_cache_ttl <= 0)
		return NULL;
	e = hash_search(cache, &key, HASH_FIND, NULL);
	if (e && e->expires <= time(NULL))
	{
		hash_search(cache, &key, HASH_REMOVE, NULL);
		return NULL;
	}
	return e;
}

static void
cache_store(const char *key, dci_outcome outcome, const cj_node *records)
{
	MemoryContext old;
	cache_entry *e;
	bool		found;
	char	   *k;

	if (dci_cache_ttl <= 0 || (outcome != DCI_FOUND && outcome != DCI_NOT_FOUND))
		return;
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "dci response cache", ALLOCSET_DEFAULT_SIZES);
	if (cache != NULL && hash_get_num_entries(cache) >= dci_cache_max_entries)
		dci_lookup_cache_reset();
	old = MemoryContextSwitchTo(cache_cxt);
	if (cache == NULL)
		cache = dci_string_ptr_hash("dci response cache", 1024, sizeof(cache_entry), cache_cxt);
	k = pstrdup(key);
	e = hash_search(cache, &k, HASH_ENTER, &found);
	if (found)
	{
		if (e->records)
			pfree(e->records);
		pfree(k);
	}
	e->expires = time(NULL) + dci_cache_ttl;
	e->outcome = outcome;
	e->records = (outcome == DCI_FOUND && records) ? dci_node_text(records) : NULL;
	MemoryContextSwitchTo(old);
}

/* Answer a cached value through the callback. */
static void
cache_answer(cache_entry *e, const char *value, int count, dci_lookup_cb cb, void *arg)
{
	cj_node    *records = e->records ? cj_parse(e->records, strlen(e->records), NULL, 0) : NULL;

	PG_TRY();
	{
		cb(arg, value, count, e->outcome, records, NULL);
	}
	PG_FINALLY();
	{
		cj_free(records);
	}
	PG_END_TRY();
}

/*
 * Outcome of item k of a checked exchange (its items all answer reference
 * ids we sent).  records is borrowed from the exchange.  A missing item is
 * "not found" only for registries known to omit them (OpenCRVS); elsewhere
 * it means the registry did not answer that question.
 */
dci_outcome
dci_item_outcome(dci_exchange *ex, int k, const cj_node **records, dci_error *err)
{
	dci_source *src = ex->src;
	const cj_node *item = dci_response_item(&ex->resp, dci_reference_id(ex, k), (size_t) k);

	*records = NULL;
	memset(err, 0, sizeof(*err));
	/* a registry allowed to omit reference ids answers in order */
	if (item == NULL && src->relax_binding)
	{
		const cj_node *at = dci_response_item_at(&ex->resp, (size_t) k);

		if (at && dci_get_string(at, "reference_id") == NULL)
			item = at;
	}
	if (item == NULL)
	{
		if (src->record_profile && strcmp(src->record_profile, "opencrvs") == 0)
			return DCI_NOT_FOUND;
		err->sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		err->message = psprintf("DCI source \"%s\" sent no answer for this identifier", src->code);
		return DCI_FAILED;
	}
	return dci_answer_outcome(src, item, records, err);
}

/*
 * Outcome of one search_response item that is there, sync or callback:
 * succ with records is found, succ without is not found, an rjct is not
 * found only with one of the source's not_found_reason_codes.
 */
dci_outcome
dci_answer_outcome(dci_source *src, const cj_node *item, const cj_node **records,
				   dci_error *err)
{
	const char *status;

	*records = NULL;
	memset(err, 0, sizeof(*err));
	status = dci_item_status(item);
	if (status && pg_strcasecmp(status, "rjct") == 0)
	{
		const char *code = dci_item_reason_code(item);
		const char *msg = dci_item_reason_message(item);

		for (int i = 0; code && i < src->n_not_found_codes; i++)
			if (strcmp(code, src->not_found_codes[i]) == 0)
				return DCI_NOT_FOUND;
		err->sqlstate = ERRCODE_DCI_REJECTED;
		err->message = psprintf("DCI source \"%s\" rejected the search: %s%s%s", src->code,
								code ? dci_sanitize(code) : "no reason code", msg ? ": " : "",
								msg ? dci_sanitize(msg) : "");
		return DCI_FAILED;
	}
	if (status && pg_strcasecmp(status, "succ") != 0)
	{
		err->sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		err->message = psprintf("DCI source \"%s\" answered status \"%s\" to a search", src->code,
								dci_sanitize(status));
		err->hint = pstrdup("SPDCI: a sync search answers each item with succ or rjct; rcvd and pdng belong to the asynchronous endpoints.");
		return DCI_FAILED;
	}
	*records = dci_item_records(item);
	return dci_records_len(*records) > 0 ? DCI_FOUND : DCI_NOT_FOUND;
}

/* The idtype-value query of one identifier, {"type":...,"value":...} (palloc'd). */
char *
dci_idtype_query(const char *type, const char *value)
{
	dbuf		q;
	char	   *res;

	/* checked before any malloc'd buffer exists: nothing can leak */
	if (strlen(type) > DCI_MAX_IDENTIFIER || strlen(value) > DCI_MAX_IDENTIFIER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an identifier type or value is longer than %d bytes", DCI_MAX_IDENTIFIER)));
	dbuf_init(&q);
	dbuf_puts(&q, "{\"type\":");
	dci_json_string(&q, type);
	dbuf_puts(&q, ",\"value\":");
	dci_json_string(&q, value);
	dbuf_putc(&q, '}');
	if (q.data == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	res = pstrdup(q.data);
	dbuf_free(&q);
	return res;
}

/* A lookup in progress: envelopes are made as slots free up, answered as they land. */
typedef struct lookup_run
{
	dci_source *src;
	const dci_lookup_spec *spec;
	const char **uniq;
	int		   *counts;
	int			nuniq;
	int			next;			/* first value of the next envelope */
	int			per_env;
	dci_lookup_cb cb;
	void	   *arg;
	MemoryContext callercxt;
} lookup_run;

static dci_exchange *
lookup_next(void *arg)
{
	lookup_run *r = arg;
	int			m;
	dci_exchange *ex;
	dci_search_item *it;
	MemoryContext old;

	if (r->next >= r->nuniq)
		return NULL;
	CHECK_FOR_INTERRUPTS();
	m = Min(r->per_env, r->nuniq - r->next);
	ex = dci_exchange_search_new(r->src, NULL, NULL, 0);
	/* the items live with the exchange, and go with it */
	old = MemoryContextSwitchTo(ex->cxt);
	it = palloc0(sizeof(dci_search_item) * m);
	for (int k = 0; k < m; k++)
	{
		it[k].query_type = "idtype-value";
		it[k].query_json = dci_idtype_query(r->spec->identifier_type, r->uniq[r->next + k]);
		it[k].query_len = strlen(it[k].query_json);
		it[k].reg_type = r->spec->reg_type;
		it[k].reg_event_type = r->spec->reg_event_type;
		it[k].page_size = r->spec->page_size;
		it[k].page_number = r->spec->page_size > 0 ? 1 : 0;
	}
	MemoryContextSwitchTo(old);
	ex->items = it;
	ex->nitems = m;
	ex->tag = r->next;
	r->next += m;
	return ex;
}

/*
 * An idtype-value answer is about the identifier asked: a record that
 * carries identifiers, none of them the one asked, is another person's
 * (a misrouted or replayed answer), never data.
 */
static bool
records_are_of(lookup_run *r, const cj_node *records, const char *value, dci_error *err)
{
	size_t		n = dci_records_len(records);

	if (r->src->relax_binding)
		return true;
	for (size_t i = 0; i < n; i++)
		if (dci_rec_has_identifier(dci_records_get(records, i), r->spec->identifier_type, value) == DCI_ID_NO)
		{
			memset(err, 0, sizeof(*err));
			err->sqlstate = ERRCODE_DCI_SIGNATURE;
			err->message = psprintf("DCI source \"%s\" answered with a record of another person: it does not carry %s \"%s\"",
									r->src->code, dci_sanitize(r->spec->identifier_type), dci_sanitize(value));
			err->hint = pstrdup("An answer that is not about the identifier asked could be a replayed answer to another question.");
			return false;
		}
	return true;
}

/* An envelope is in: answer each of its identifiers, then drop its memory. */
static void
lookup_done(void *arg, dci_exchange *ex)
{
	lookup_run *r = arg;
	MemoryContext old = CurrentMemoryContext;

	for (int k = 0; k < ex->nitems; k++)
	{
		const cj_node *records = NULL;
		dci_error	item_err;
		const dci_error *err = &ex->err;
		dci_outcome outcome = DCI_FAILED;
		const char *value = r->uniq[ex->tag + k];

		if (ex->err.sqlstate == 0)
		{
			outcome = dci_item_outcome(ex, k, &records, &item_err);
			err = &item_err;
			if (outcome == DCI_FOUND && !records_are_of(r, records, value, &item_err))
				outcome = DCI_FAILED;
		}
		if (dci_cache_ttl > 0)
			cache_store(cache_key(r->src, r->spec, value), outcome, records);
		MemoryContextSwitchTo(r->callercxt);
		r->cb(r->arg, value, r->counts[ex->tag + k], outcome, records,
			  outcome == DCI_FAILED ? err : NULL);
		MemoryContextSwitchTo(old);
		dci_progress_add(r->spec->progress, r->counts[ex->tag + k],
						 outcome == DCI_FAILED ? r->counts[ex->tag + k] : 0, 0);
	}
	dci_exchange_free(ex);
}

void
dci_lookup(dci_source *src, const dci_lookup_spec *spec,
		   const char **values, int n, dci_lookup_cb cb, void *arg)
{
	const char **uniq = palloc(sizeof(char *) * Max(n, 1));
	int		   *counts = palloc(sizeof(int) * Max(n, 1));
	int			nuniq = 0;
	lookup_run	run;

	/* distinct values, in first-seen order, with their counts (one needs no hash) */
	if (n == 1)
	{
		uniq[0] = values[0];
		counts[0] = 1;
		nuniq = 1;
	}
	else
	{
		HTAB	   *seen = dci_string_ptr_hash("dci lookup values", Max(n, 16), sizeof(value_entry),
										   CurrentMemoryContext);

		for (int i = 0; i < n; i++)
		{
			bool		found;
			value_entry *e;

			CHECK_FOR_INTERRUPTS();
			e = hash_search(seen, &values[i], HASH_ENTER, &found);
			if (!found)
			{
				e->count = 0;
				uniq[nuniq++] = values[i];
			}
			e->count++;
		}
		for (int i = 0; i < nuniq; i++)
		{
			CHECK_FOR_INTERRUPTS();
			counts[i] = ((value_entry *) hash_search(seen, &uniq[i], HASH_FIND, NULL))->count;
		}
		hash_destroy(seen);
	}

	/* answers still in the response cache need no request */
	if (dci_cache_ttl > 0)
	{
		int			kept = 0;

		for (int i = 0; i < nuniq; i++)
		{
			char	   *key = cache_key(src, spec, uniq[i]);
			cache_entry *e = cache_find(key);

			pfree(key);
			if (e)
			{
				dci_stats_counters.cache_hits++;
				cache_answer(e, uniq[i], counts[i], cb, arg);
				continue;
			}
			uniq[kept] = uniq[i];
			counts[kept] = counts[i];
			kept++;
		}
		nuniq = kept;
	}

	memset(&run, 0, sizeof(run));
	run.src = src;
	run.spec = spec;
	run.uniq = uniq;
	run.counts = counts;
	run.nuniq = nuniq;
	run.per_env = Max(src->batch_size, 1);
	run.cb = cb;
	run.arg = arg;
	run.callercxt = CurrentMemoryContext;
	if (nuniq > 0)
		dci_exchange_run(src, Max(dci_batch_concurrency, 1), lookup_next, lookup_done, &run,
						 spec->progress);
	pfree(uniq);
	pfree(counts);
}

/*
 * Guard of every paginated search: a registry that ignores page_number, or
 * keeps promising more, must not make us send requests without end or cut
 * a result silently.  n records arrived on this page (hashed to digest),
 * seen so far in all; total is the registry's total_count (-1 unknown).
 */
void
dci_check_page(dci_source *src, int page, size_t n, long total, long seen,
			   uint32 digest, uint32 *last_digest, long max_records)
{
	if (page > 1 && n > 0 && digest == *last_digest)
		ereport(ERROR,
				(errcode(ERRCODE_DCI_BAD_RESPONSE),
				 errmsg("DCI source \"%s\" answered page %d with the same records as page %d",
						src->code, page, page - 1),
				 errhint("The registry seems to ignore page_number; nothing was returned.")));
	if (n == 0 && total >= 0 && seen < total)
		ereport(ERROR,
				(errcode(ERRCODE_DCI_BAD_RESPONSE),
				 errmsg("DCI source \"%s\" answered page %d with no records, but its total_count says %ld and %ld arrived",
						src->code, page, total, seen)));
	if (seen > max_records || total > max_records)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("search of DCI source \"%s\" has more than %ld records", src->code, max_records),
				 total > max_records ? errdetail("Its total_count is %ld.", total) : 0,
				 errhint("Raise max_records, narrow the query, or page with page_number.")));
	*last_digest = digest;
}

/*
 * A yes/no endpoint of the SPDCI IBR and DR APIs (kind "enrolled":
 * /registry/sync/enrolled, "disabled": /registry/sync/disabled) for one
 * identifier: 1 yes, 0 no, -1 the registry does not know the person (an
 * item rjct with one of the source's not-found codes).  Raises when it
 * cannot answer.  *body receives the answer envelope (palloc'd) if asked.
 */
int
dci_yes_no(dci_source *src, const char *url, const char *kind, const char *idtype,
		   const char *value, char **body)
{
	char		txn[37];
	char	   *msg;
	char	   *member = psprintf("%s_response", kind);
	char	   *field = psprintf("%s_status", kind);
	dci_exchange *ex;
	const cj_node *item;
	const char *status;
	const char *answer;
	int			result;

	dci_uuid(txn);
	msg = psprintf("{\"%s_criteria\":{\"query\":%s,\"query_type\":\"idtype-value\","
				   "\"response_entity\":\"Member\"},\"transaction_id\":\"%s\"}",
				   kind, dci_idtype_query(idtype, value), txn);
	ex = dci_exchange_message_new(src, url, "search", txn, msg, DCI_EXPECT_ANSWER);
	dci_exchange_send(ex);
	if (ex->err.sqlstate)
		dci_exchange_raise(ex);
	item = dci_response_first(&ex->resp, member);
	status = item ? dci_item_status(item) : NULL;
	answer = item ? dci_get_string(item, field) : NULL;
	if (status && pg_strcasecmp(status, "rjct") == 0)
	{
		const char *code = dci_item_reason_code(item);

		for (int i = 0; code && i < src->n_not_found_codes; i++)
			if (strcmp(code, src->not_found_codes[i]) == 0)
			{
				if (body)
					*body = pstrdup(ex->http.body.data);
				dci_exchange_free(ex);
				return -1;
			}
		ex->err.sqlstate = ERRCODE_DCI_REJECTED;
		ex->err.message = psprintf("DCI source \"%s\" rejected the %s check: %s", src->code, kind,
								   code ? dci_sanitize(code) : "no reason code");
		dci_exchange_raise(ex);
	}
	if (answer == NULL || (pg_strcasecmp(answer, "yes") != 0 && pg_strcasecmp(answer, "no") != 0))
	{
		ex->err.sqlstate = ERRCODE_DCI_BAD_RESPONSE;
		ex->err.message = psprintf("DCI source \"%s\" answered the %s check without %s yes or no",
								   src->code, kind, field);
		dci_exchange_raise(ex);
	}
	result = pg_strcasecmp(answer, "yes") == 0 ? 1 : 0;
	if (body)
		*body = pstrdup(ex->http.body.data);
	dci_exchange_free(ex);
	return result;
}

/* pagination.total_count of an item: -1 when absent; a value that is no count is DC004. */
long
dci_total_count(dci_source *src, const cj_node *item)
{
	long		total = -1;
	int			rc = item ? dci_item_total_count(item, &total) : 0;

	if (rc < 0 || (rc > 0 && total < 0))
		ereport(ERROR,
				(errcode(ERRCODE_DCI_BAD_RESPONSE),
				 errmsg("DCI source \"%s\" answered a pagination.total_count that is no count", src->code)));
	return rc > 0 ? total : -1;
}

const char *
dci_outcome_name(dci_outcome o)
{
	switch (o)
	{
		case DCI_FOUND:
			return "found";
		case DCI_NOT_FOUND:
			return "not_found";
		case DCI_FAILED:
			return "failed";
	}
	return "failed";
}
