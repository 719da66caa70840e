/*
 * search.c - the registry endpoints: /registry/sync/search (every prefix),
 * /ibr/registry/sync/enrolled, /dr/registry/sync/disabled.
 *
 * Checks run in the order of OpenSPP's server: bearer token, then the body,
 * then the signature (spp_dci_server/routers/search.py dependencies).
 * Responses are written as canonical JSON text directly (jsonw.c), so the
 * text that is signed is the text that is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "registry.h"
#include "verify.h"

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* --------------------------------------------------------------- items */

static bool
page_number_of(struct json_object *v, long *out)
{
	if (json_object_is_type(v, json_type_int))
	{
		*out = (long) json_object_get_int64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_double))
	{
		double		d = json_object_get_double(v);

		*out = (long) d;
		return d == (double) *out;
	}
	if (json_object_is_type(v, json_type_string))
	{
		char	   *end;

		*out = strtol(json_object_get_string(v), &end, 10);
		return *end == '\0' && end != json_object_get_string(v);
	}
	return false;
}

typedef struct ref_pos
{
	const char *ref;
	size_t		pos;
} ref_pos;

static int
ref_cmp(const void *a, const void *b)
{
	const ref_pos *x = a;
	const ref_pos *y = b;
	int			c = strcmp(x->ref, y->ref);

	return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/*
 * dup[i] = the reference_id of item i appeared on an earlier item.  Sorted
 * once, so a batch of n items costs O(n log n), not O(n^2).  NULL on OOM.
 */
bool *
duplicate_refs(struct json_object *items, size_t n)
{
	ref_pos    *v = malloc(sizeof(ref_pos) * (n ? n : 1));
	bool	   *dup = calloc(n ? n : 1, sizeof(bool));
	size_t		m = 0;

	if (v == NULL || dup == NULL)
	{
		free(v);
		free(dup);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
	{
		const char *r = member_str(json_object_array_get_idx(items, i), "reference_id");

		if (r)
		{
			v[m].ref = r;
			v[m].pos = i;
			m++;
		}
	}
	qsort(v, m, sizeof(ref_pos), ref_cmp);
	for (size_t k = 1; k < m; k++)
		if (strcmp(v[k].ref, v[k - 1].ref) == 0)
			dup[v[k].pos] = true;
	free(v);
	return dup;
}

/* The reference_id an answer item carries: the request's, or another (wrongref). */
static void
ref_value(dbuf *m, const opts *o, const char *ref)
{
	if (o->wrongref)
	{
		dbuf		b;

		dbuf_init(&b);
		dbuf_printf(&b, "wrong-%s", ref);
		jw_string(m, b.data);
		dbuf_free(&b);
	}
	else
		jw_string(m, ref);
}

/* An item that starts with its reference_id (rjct, rcvd: no data, no pagination). */
static void
item_ref(dbuf *m, const opts *o, const char *ref)
{
	dbuf_puts(m, "{\"reference_id\":");
	ref_value(m, o, ref);
}

static void
item_rjct(dbuf *m, const opts *o, const char *ref, const char *ts, const char *code, const char *why)
{
	item_ref(m, o, ref);
	dbuf_puts(m, ",\"status\":\"rjct\",\"status_reason_code\":");
	jw_string(m, code);
	dbuf_puts(m, ",\"status_reason_message\":");
	jw_string(m, why);
	dbuf_puts(m, ",\"timestamp\":");
	jw_string(m, ts);
	dbuf_putc(m, '}');
}

/* idtypes=BRN+NID: is this identifier type one of those? */
static bool
idtype_accepted(const char *list, const char *type)
{
	size_t		tl = strlen(type);

	for (const char *p = list; *p;)
	{
		const char *e = strchr(p, '+');
		size_t		n = e ? (size_t) (e - p) : strlen(p);

		if (n == tl && strncasecmp(p, type, n) == 0)
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

/* Matches of the item's query, or of another person's identifier (otherperson). */
static query_status
item_matches(const request *rq, reg_view *v, struct json_object *sc, idx_list *hits,
			 char *why, size_t whylen)
{
	const char *op = rq->o->otherperson;

	if (op[0])
	{
		const char *colon = strchr(op, ':');
		char		type[64];
		const idx_list *l;

		snprintf(type, sizeof(type), "%.*s", (int) (colon - op), op);
		memset(hits, 0, sizeof(*hits));
		l = fixtures_lookup(v, type, colon + 1);
		if (l && l->n)
		{
			hits->idx = malloc(l->n * sizeof(uint32_t));
			if (hits->idx)
			{
				memcpy(hits->idx, l->idx, l->n * sizeof(uint32_t));
				hits->n = hits->cap = l->n;
			}
		}
		return Q_OK;
	}
	return query_run(v, member_str(sc, "query_type"), member(sc, "query"), hits, why, whylen);
}

/* The kind of a reg_event_type, string or {"namespace","value"} (OpenCRVS's older form). */
static const char *
event_type_of(struct json_object *sc)
{
	struct json_object *e = member(sc, "reg_event_type");

	if (json_object_is_type(e, json_type_object))
		e = member(e, "value");
	return json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

/* /opencrvs answers from its death register when asked for deaths. */
static reg_view *
item_view(const request *rq, struct json_object *sc)
{
	const char *rt = member_str(sc, "reg_type");
	const char *ev = event_type_of(sc);

	if (rq->view->kind != REG_OPENCRVS)
		return rq->view;
	if ((rt && strcasecmp(rt, "ocrvs:registry_type:death") == 0) || (ev && event_type_is(ev, "death")))
		return fixtures_view(REG_OPENCRVS_DEATH);
	return rq->view;
}

/*
 * One search_request item; returns 1 succ, 0 rjct, 2 neither (rcvd),
 * -1 left out (OpenCRVS no match).  *hostile: the first record of the
 * answer was written, so hostile options have been applied.
 */
static int
search_item(const request *rq, struct json_object *items, size_t i, const bool *dup,
			const char *ts, dbuf *m, bool *hostile, long *records)
{
	const opts *o = rq->o;
	struct json_object *it = json_object_array_get_idx(items, i);
	const char *ref = member_str(it, "reference_id");
	struct json_object *sc = member(it, "search_criteria");
	reg_view   *v = item_view(rq, sc);
	struct json_object *pg = member(sc, "pagination");
	const char *reg_type = member_str(sc, "reg_type");
	const char *locale = member_str(it, "locale");
	long		page_size = 0,
				page_number = 1,
				asked_page;
	idx_list	hits;
	char		why[256];
	query_status qs;
	size_t		from,
				to;

	if (ref == NULL || *ref == '\0')
	{
		item_rjct(m, o, "", ts, "rjct.reference_id.invalid", "reference_id is missing or not a string");
		return 0;
	}
	if (dup && dup[i])
	{
		item_rjct(m, o, ref, ts, "rjct.reference_id.duplicate", "reference_id repeats an earlier item's");
		return 0;
	}
	if (o->itemrjct[0])
	{
		item_rjct(m, o, ref, ts, o->itemrjct, "rejected by the itemrjct option");
		return 0;
	}
	if (!json_object_is_type(sc, json_type_object))
	{
		item_rjct(m, o, ref, ts, "rjct.search_criteria.invalid", "search_criteria is missing");
		return 0;
	}
	if (pg && !json_object_is_type(pg, json_type_null))
	{
		struct json_object *pn = member(pg, "page_number");

		if (!page_number_of(member(pg, "page_size"), &page_size) || page_size < 1 ||
			(pn && !page_number_of(pn, &page_number)) || page_number < 1)
		{
			item_rjct(m, o, ref, ts, "rjct.pagination.invalid",
					  "pagination needs page_size >= 1 and page_number >= 1");
			return 0;
		}
	}
	{
		const char *qt = member_str(sc, "query_type");
		const char *qtype = member_str(member(sc, "query"), "type");
		const char *qv = member_str(member(sc, "query"), "value");

		/* an identifier value "RJCT-..." is rejected alone: one bad row in a good batch */
		if (qv && strncmp(qv, "RJCT-", 5) == 0)
		{
			item_rjct(m, o, ref, ts, "rjct.search_criteria.invalid",
					  "identifier rejected by the test registry (RJCT- value)");
			return 0;
		}
		/* idtypes=: a registry with a closed list of identifier types (OpenCRVS) */
		if (o->idtypes[0] && qt && strcasecmp(qt, "idtype-value") == 0 &&
			(qtype == NULL || !idtype_accepted(o->idtypes, qtype)))
		{
			snprintf(why, sizeof(why), "identifier type \"%s\" is not one of %s",
					 qtype ? qtype : "", o->idtypes);
			item_rjct(m, o, ref, ts, "rjct.identifier_type.invalid", why);
			return 0;
		}
	}
	qs = item_matches(rq, v, sc, &hits, why, sizeof(why));
	if (qs != Q_OK)
	{
		item_rjct(m, o, ref, ts, qs == Q_BAD_FILTER ? "rjct.filter.invalid" : "rjct.search_criteria.invalid", why);
		free(hits.idx);
		return 0;
	}
	if (o->rcvd)
	{
		/* a sync answer that says "received, answer pending" */
		item_ref(m, o, ref);
		dbuf_puts(m, ",\"status\":\"rcvd\",\"timestamp\":");
		jw_string(m, ts);
		dbuf_putc(m, '}');
		free(hits.idx);
		return 2;
	}
	if (hits.n == 0 && (v->kind == REG_OPENCRVS || v->kind == REG_OPENCRVS_DEATH))
	{
		free(hits.idx);
		return -1;				/* OpenCRVS leaves an unmatched item out */
	}
	if (hits.n == 0 && o->notfound_rjct)
	{
		/* OpenSPP's DR answers "not found" this way */
		snprintf(why, sizeof(why), "REGISTER_NOT_FOUND: No registrant found");
		item_rjct(m, o, ref, ts, "REG-ERR-001", why);
		free(hits.idx);
		return 0;
	}
	query_sort(v, &hits, member(sc, "sort"));
	asked_page = page_number;
	if (o->ignorepage)
		page_number = 1;		/* a registry that ignores page_number */
	if (page_size == 0)
	{
		from = 0;
		to = hits.n;
	}
	else
	{
		from = (size_t) (page_number - 1) * page_size;
		if (from > hits.n)
			from = hits.n;
		to = from + page_size > hits.n ? hits.n : from + page_size;
	}
	dbuf_puts(m, "{\"data\":{\"reg_record_type\":");
	jw_string(m, v->record_type);
	dbuf_puts(m, ",\"reg_records\":");
	if (o->single && to - from == 1)
		record_write(m, o, v->text[hits.idx[from]], v->textlen[hits.idx[from]], hostile);
	else
	{
		dbuf_putc(m, '[');
		for (size_t k = from; k < to; k++)
		{
			if (k > from)
				dbuf_putc(m, ',');
			record_write(m, o, v->text[hits.idx[k]], v->textlen[hits.idx[k]], hostile);
		}
		dbuf_putc(m, ']');
	}
	dbuf_puts(m, ",\"reg_type\":");
	jw_string(m, reg_type ? reg_type : v->default_reg_type);
	dbuf_puts(m, ",\"version\":\"1.0.0\"},\"locale\":");
	jw_string(m, locale ? locale : "eng");
	dbuf_puts(m, ",\"pagination\":{\"page_number\":");
	jw_count(m, page_size ? asked_page : 1, o->strcount);
	dbuf_puts(m, ",\"page_size\":");
	jw_count(m, page_size ? page_size : (long) hits.n, o->strcount);
	dbuf_puts(m, ",\"total_count\":");
	jw_count(m, o->ignorepage ? 1000000 : (long) hits.n, o->strcount);
	dbuf_puts(m, "},\"reference_id\":");
	ref_value(m, o, ref);
	dbuf_puts(m, ",\"status\":\"succ\",\"timestamp\":");
	jw_string(m, ts);
	dbuf_putc(m, '}');
	*records += (long) (to - from);
	free(hits.idx);
	return 1;
}

static int
out_grow(search_out *so)
{
	size_t		cap = so->cap ? so->cap * 2 : 16;
	size_t	   *e = realloc(so->end, cap * sizeof(size_t));
	bool	   *ok;

	if (e == NULL)
		return -1;
	so->end = e;
	ok = realloc(so->ok, cap * sizeof(bool));
	if (ok == NULL)
		return -1;
	so->ok = ok;
	so->cap = cap;
	return 0;
}

int
search_run(const request *rq, struct json_object *env, search_out *so)
{
	struct json_object *items = member(member(env, "message"), "search_request");
	bool	   *dup,
				hostile = false;

	memset(so, 0, sizeof(*so));
	dbuf_init(&so->items);
	if (!json_object_is_type(items, json_type_array))
		return -1;
	so->n = (long) json_object_array_length(items);
	format_ts(time(NULL), so->ts);
	dup = duplicate_refs(items, (size_t) so->n);
	for (size_t i = 0; i < (size_t) so->n; i++)
	{
		int			s;

		if (so->nemitted == so->cap && out_grow(so) < 0)
			break;
		s = search_item(rq, items, i, dup, so->ts, &so->items, &hostile, &so->records);
		if (s < 0)
			continue;			/* left out */
		so->end[so->nemitted] = so->items.len;
		so->ok[so->nemitted] = s == 1;
		so->nemitted++;
		if (s == 1)
			so->succ++;
		else if (s == 0)
			so->rjct++;
	}
	free(dup);
	return 0;
}

void
search_out_free(search_out *so)
{
	dbuf_free(&so->items);
	free(so->end);
	free(so->ok);
	memset(so, 0, sizeof(*so));
}

void
search_message(dbuf *m, const search_out *so, size_t from, size_t to,
			   const char *corr, const char *txn)
{
	dbuf_puts(m, "{\"correlation_id\":");
	jw_string(m, corr);
	dbuf_puts(m, ",\"search_response\":[");
	for (size_t k = from; k < to; k++)
	{
		size_t		b = k ? so->end[k - 1] : 0;

		if (k > from)
			dbuf_putc(m, ',');
		dbuf_append(m, so->items.data + b, so->end[k] - b);
	}
	dbuf_putc(m, ']');
	if (txn)
	{
		dbuf_puts(m, ",\"transaction_id\":");
		jw_string(m, txn);
	}
	dbuf_putc(m, '}');
}

static void
handle_search(const request *rq, struct json_object *env, reply *r)
{
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *act = member_str(hdr, "action");
	char		action[64],
				corr[37],
				tbuf[37];
	search_out	so;
	dbuf		m;

	if (!json_object_is_type(member(msg, "search_request"), json_type_array))
	{
		reply_error(r, 400, "err.request.bad", "message.search_request must be an array");
		STAT_ADD(rejected, 1);
		return;
	}
	snprintf(action, sizeof(action), "on-%s", act ? act : "search");
	if (rq->o->rjct[0])
	{
		long		n = (long) json_object_array_length(member(msg, "search_request"));

		STAT_ADD(search_requests, 1);
		STAT_ADD(search_items, n);
		reject_envelope(rq, action, sender, txn ? txn : "", rq->o->rjct,
						"rejected by the rjct option", n, r);
		return;
	}
	search_run(rq, env, &so);
	STAT_ADD(search_requests, 1);
	STAT_ADD(search_items, so.n);
	uuid_v4(corr);
	dbuf_init(&m);
	search_message(&m, &so, 0, so.nemitted, corr, answer_txn(rq->o, txn, tbuf));
	{
		/* hdrrjct: all items rejected rejects the message, as OpenSPP's social server */
		bool		all_rjct = rq->o->hdrrjct && so.n > 0 && so.rjct == so.n;
		env_out		e = {0};

		e.o = rq->o;
		e.scheme = answer_scheme(rq->o, rq->view);
		e.action = action;
		e.status = all_rjct ? "rjct" : "succ";
		e.reason_code = all_rjct ? "rjct.errors.too_many" : NULL;
		e.reason_msg = all_rjct ? "All search requests failed" : NULL;
		e.total = so.n;
		e.completed = so.succ;
		e.receiver = answer_receiver(rq->o, sender);
		if (rq->o->ocrvsheader)
		{
			/* OpenCRVS copies the request's header: message_id, sender_id, receiver_id */
			e.echo_message_id = member_str(hdr, "message_id");
			e.echo_sender = sender;
			e.echo_receiver = member_str(hdr, "receiver_id");
			e.total = so.records;
		}
		envelope_finish(&e, &m, r);
	}
	dbuf_free(&m);
	search_out_free(&so);
}

/* ------------------------------------------------------ enrolled, disabled */

/* SPDCI enrollment_status 1 Active (also "Active", "enrolled"). */
static bool
enrollment_active(struct json_object *rec)
{
	static const char *const keys[] = {"enrollment_status", "enrolment_status", NULL};

	for (int k = 0; keys[k]; k++)
	{
		struct json_object *s = member(rec, keys[k]);

		if (json_object_is_type(s, json_type_int))
			return json_object_get_int64(s) == 1;
		if (json_object_is_type(s, json_type_string))
		{
			const char *t = json_object_get_string(s);

			return strcmp(t, "1") == 0 || strcasecmp(t, "active") == 0 ||
				strcasecmp(t, "enrolled") == 0;
		}
	}
	return false;
}

/* The registry's verdict first (disability_status, has_disability), else WG severity >= 3. */
static bool
disabled_verdict(struct json_object *rec)
{
	struct json_object *st = member(rec, "disability_status");
	struct json_object *hd = member(rec, "has_disability");
	struct json_object *info = member(rec, "disability_info");

	if (json_object_is_type(st, json_type_string) && json_object_get_string_len(st) > 0)
		return strcasecmp(json_object_get_string(st), "approved") == 0;
	if (json_object_is_type(hd, json_type_boolean))
		return json_object_get_boolean(hd);
	for (size_t i = 0; json_object_is_type(info, json_type_array) &&
		 i < json_object_array_length(info); i++)
	{
		struct json_object *sev = member(json_object_array_get_idx(info, i), "functional_severity");

		if (json_object_is_type(sev, json_type_int) && json_object_get_int64(sev) >= 3)
			return true;
	}
	return false;
}

/*
 * EnrolledRequest / DisabledRequest: message.<kind>_criteria, one object
 * (per the spec) or an array; or message.<kind>_request[] items carrying
 * reference_id, timestamp and <kind>_criteria, like search_request.
 */
static void
handle_yesno(const request *rq, struct json_object *env, bool enrolled, reply *r)
{
	struct json_object *hdr = member(env, "header");
	struct json_object *msg = member(env, "message");
	const char *crit_key = enrolled ? "enrolled_criteria" : "disabled_criteria";
	const char *req_key = enrolled ? "enrolled_request" : "disabled_request";
	const char *sender = member_str(hdr, "sender_id");
	const char *txn = member_str(msg, "transaction_id");
	const char *act = member_str(hdr, "action");
	struct json_object *list = member(msg, req_key);
	struct json_object *crit = member(msg, crit_key);
	size_t		n;
	long		succ = 0;
	char		action[64],
				ts[21],
				corr[37];
	dbuf		m;

	if (!json_object_is_type(list, json_type_array))
		list = NULL;
	if (list == NULL && !json_object_is_type(crit, json_type_object) &&
		!json_object_is_type(crit, json_type_array))
	{
		char		e[96];

		snprintf(e, sizeof(e), "message.%s (or message.%s[]) is missing", crit_key, req_key);
		reply_error(r, 400, "err.request.bad", e);
		STAT_ADD(rejected, 1);
		return;
	}
	n = list ? json_object_array_length(list) :
		json_object_is_type(crit, json_type_array) ? json_object_array_length(crit) : 1;
	STAT_ADD(search_requests, 1);
	STAT_ADD(search_items, n);
	snprintf(action, sizeof(action), "on-%s", act ? act : "search");
	if (rq->o->rjct[0])
	{
		reject_envelope(rq, action, sender, txn ? txn : "", rq->o->rjct,
						"rejected by the rjct option", (long) n, r);
		return;
	}
	format_ts(time(NULL), ts);
	uuid_v4(corr);
	dbuf_init(&m);
	dbuf_puts(&m, "{\"correlation_id\":");
	jw_string(&m, corr);
	dbuf_printf(&m, ",\"%s_response\":[", enrolled ? "enrolled" : "disabled");
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *item = list ? json_object_array_get_idx(list, i) : NULL;
		struct json_object *c = list ? member(item, crit_key) :
			json_object_is_type(crit, json_type_array) ? json_object_array_get_idx(crit, i) : crit;
		const char *ref = member_str(item, "reference_id");
		idx_list	hits = {0};
		char		why[256] = "";
		const char *code = NULL;
		bool		yes = false;

		if (ref == NULL)
			ref = member_str(c, "reference_id");
		if (ref == NULL)
			ref = txn ? txn : "";	/* the spec's EnrolledRequest carries no reference_id */
		if (i)
			dbuf_putc(&m, ',');
		if (rq->o->itemrjct[0])
		{
			code = rq->o->itemrjct;
			snprintf(why, sizeof(why), "rejected by the itemrjct option");
		}
		else
		{
			query_status qs = query_run(rq->view, member_str(c, "query_type"), member(c, "query"),
										&hits, why, sizeof(why));

			if (qs != Q_OK)
				code = qs == Q_BAD_FILTER ? "rjct.filter.invalid" : "rjct.search_criteria.invalid";
			else if (!enrolled && hits.n == 0)
			{
				/* not in the DR is not "not disabled": say so */
				code = "REG-ERR-001";
				snprintf(why, sizeof(why), "REGISTER_NOT_FOUND: No registrant found");
			}
			for (size_t k = 0; code == NULL && k < hits.n && !yes; k++)
				yes = enrolled ? enrollment_active(rq->view->rec[hits.idx[k]]) :
					disabled_verdict(rq->view->rec[hits.idx[k]]);
		}
		free(hits.idx);
		dbuf_printf(&m, "{\"%s_status\":", enrolled ? "enrolled" : "disabled");
		jw_string(&m, code == NULL && yes ? "yes" : "no");
		dbuf_puts(&m, ",\"reference_id\":");
		ref_value(&m, rq->o, ref);
		dbuf_puts(&m, ",\"status\":");
		jw_string(&m, code ? "rjct" : "succ");
		if (code)
		{
			dbuf_puts(&m, ",\"status_reason_code\":");
			jw_string(&m, code);
			dbuf_puts(&m, ",\"status_reason_message\":");
			jw_string(&m, why);
		}
		dbuf_puts(&m, ",\"timestamp\":");
		jw_string(&m, ts);
		dbuf_putc(&m, '}');
		if (code == NULL)
			succ++;
	}
	dbuf_putc(&m, ']');
	{
		char		tbuf[37];
		const char *t = answer_txn(rq->o, txn, tbuf);

		if (t)
		{
			dbuf_puts(&m, ",\"transaction_id\":");
			jw_string(&m, t);
		}
	}
	dbuf_putc(&m, '}');
	{
		env_out		e = {0};

		e.o = rq->o;
		e.scheme = answer_scheme(rq->o, rq->view);
		e.action = action;
		e.status = "succ";
		e.total = (long) n;
		e.completed = succ;
		e.receiver = answer_receiver(rq->o, sender);
		envelope_finish(&e, &m, r);
	}
	dbuf_free(&m);
}

/* ------------------------------------------------------------------ entry */

/* What a quota counting items charges: the request's items (search, subscribe, ...). */
static long
request_items(struct json_object *env)
{
	static const char *const lists[] = {"search_request", "enrolled_request", "disabled_request",
	"subscribe_request", "subscription_codes", NULL};
	struct json_object *msg = member(env, "message");

	for (int i = 0; lists[i]; i++)
	{
		struct json_object *l = member(msg, lists[i]);

		if (json_object_is_type(l, json_type_array))
			return (long) json_object_array_length(l);
	}
	return 1;
}

void
handle_registry(const request *rq, reply *r)
{
	const opts *o = rq->o;
	enum
	{
		EP_SEARCH, EP_ENROLLED, EP_DISABLED, EP_ASYNC_SEARCH, EP_SUBSCRIBE, EP_UNSUBSCRIBE,
		EP_TXN_STATUS
	}			ep;
	struct json_object *env;
	struct json_tokener *tok;
	struct json_object *hdr;
	const char *sender;
	char		msg[300];

	if (strcmp(rq->endpoint, "/registry/sync/search") == 0)
		ep = EP_SEARCH;
	else if (strcmp(rq->endpoint, "/registry/sync/enrolled") == 0 && rq->view->kind == REG_IBR)
		ep = EP_ENROLLED;
	else if (strcmp(rq->endpoint, "/registry/sync/disabled") == 0 && rq->view->kind == REG_DR)
		ep = EP_DISABLED;
	else if (strcmp(rq->endpoint, "/registry/search") == 0)
		ep = EP_ASYNC_SEARCH;
	else if (strcmp(rq->endpoint, "/registry/subscribe") == 0)
		ep = EP_SUBSCRIBE;
	else if (strcmp(rq->endpoint, "/registry/unsubscribe") == 0)
		ep = EP_UNSUBSCRIBE;
	else if (strcmp(rq->endpoint, "/registry/sync/txn/status") == 0)
		ep = EP_TXN_STATUS;
	else
	{
		reply_error(r, 404, "err.request.not_found", "no such registry endpoint");
		return;
	}
	if (strcmp(rq->method, "POST") != 0)
	{
		reply_error(r, 405, "err.request.bad", "use POST");
		return;
	}
	if (!o->noauth && !auth_check_bearer(rq->authorization))
	{
		reply_error(r, 401, "err.auth.invalid",
					rq->authorization ? "Invalid or expired Bearer token" : "Missing Authorization header");
		r->www_auth = true;
		STAT_ADD(rejected, 1);
		return;
	}
	tok = json_tokener_new();
	env = tok ? json_tokener_parse_ex(tok, rq->body ? rq->body : "", (int) rq->len) : NULL;
	/* the whole body must be one JSON value: trailing bytes are an error too */
	if (env && json_tokener_get_parse_end(tok) != rq->len)
	{
		json_object_put(env);
		env = NULL;
	}
	json_tokener_free(tok);
	hdr = member(env, "header");
	if (env == NULL || !json_object_is_type(env, json_type_object) ||
		!json_object_is_type(hdr, json_type_object) ||
		!json_object_is_type(member(env, "message"), json_type_object))
	{
		reply_error(r, 400, "err.request.bad",
					env ? "the body must be a DCI envelope {signature, header, message}" :
					"the body is not valid JSON");
		json_object_put(env);
		STAT_ADD(rejected, 1);
		return;
	}
	sender = member_str(hdr, "sender_id");
	if (sender == NULL || *sender == '\0')
	{
		reply_error(r, 400, "err.request.bad", "Missing sender_id in message header");
		json_object_put(env);
		STAT_ADD(rejected, 1);
		return;
	}
	senders_seen(sender);
	if (!o->nosig)
	{
		sig_check	c = verify_request(env, rq->body, rq->len, o->lax, msg, sizeof(msg));

		if (c != SIG_OK)
		{
			STAT_ADD(rejected, 1);
			senders_rejected(sender);
			if (o->sigrjct)
			{
				const char *act = member_str(hdr, "action");
				char		action[64];

				snprintf(action, sizeof(action), "on-%s", act ? act : "search");
				reject_envelope(rq, action, sender,
								member_str(member(env, "message"), "transaction_id") ?: "",
								sig_check_code(c), msg, 0, r);
			}
			else
				reply_error(r, 401, sig_check_code(c), msg);	/* OpenSPP: HTTP 401 */
			json_object_put(env);
			return;
		}
	}
	{
		/* the sender's quota (OpenSPP checks it after the signature) */
		int			kind;
		long		retry_after;

		if (senders_admit(sender, request_items(env), &kind, &retry_after, msg, sizeof(msg)) < 0)
		{
			reply_rate_limited(r, kind, retry_after, msg);
			json_object_put(env);
			return;
		}
	}
	if (opts_replaces_answer(o) &&
		(ep == EP_ASYNC_SEARCH || ep == EP_SUBSCRIBE || ep == EP_UNSUBSCRIBE))
	{
		/* the client gets no ACK (503, reset, ...): nothing is stored, no callback follows */
		reply_error(r, 500, "err.service.unavailable", "replaced by a fault");
		json_object_put(env);
		return;
	}
	fixtures_read_lock();		/* vital events may change records meanwhile */
	switch (ep)
	{
		case EP_SEARCH:
			handle_search(rq, env, r);
			break;
		case EP_ENROLLED:
		case EP_DISABLED:
			handle_yesno(rq, env, ep == EP_ENROLLED, r);
			break;
		case EP_ASYNC_SEARCH:
			handle_async_search(rq, env, r);
			break;
		case EP_SUBSCRIBE:
			handle_subscribe(rq, env, r);
			break;
		case EP_UNSUBSCRIBE:
			handle_unsubscribe(rq, env, r);
			break;
		case EP_TXN_STATUS:
			handle_txn_status(rq, env, r);
			break;
	}
	fixtures_unlock();
	/* replay: this answer is kept, the one kept for the previous request goes out */
	if (o->replay && r->status == 200 && r->stream == NULL)
		replay_swap(o->key[0] ? o->key : rq->path, &r->body);
	json_object_put(env);
}
