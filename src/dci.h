/*
 * dci.h - declarations shared by the PostgreSQL glue of the dci extension.
 *
 * The glue reads config rows (source.c), gets credentials (auth.c), builds
 * and sends envelopes (search.c) and maps answers to SQL values.  Protocol
 * code lives in canonjson/sign/envelope/records, transport in http.
 */
#ifndef DCI_H
#define DCI_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/array.h"
#include "access/htup.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"

#include "canonjson.h"
#include "envelope.h"
#include "http.h"
#include "sign.h"

/* PostgreSQL 13: string keys were the default of hash_create */
#ifndef HASH_STRINGS
#define HASH_STRINGS 0
#endif

/* SQLSTATEs of registry outcomes: class DC, documented in the README. */
#define ERRCODE_DCI_NETWORK			MAKE_SQLSTATE('D','C','0','0','1')
#define ERRCODE_DCI_TIMEOUT			MAKE_SQLSTATE('D','C','0','0','2')
#define ERRCODE_DCI_HTTP_STATUS		MAKE_SQLSTATE('D','C','0','0','3')
#define ERRCODE_DCI_BAD_RESPONSE	MAKE_SQLSTATE('D','C','0','0','4')
#define ERRCODE_DCI_SIGNATURE		MAKE_SQLSTATE('D','C','0','0','5')
#define ERRCODE_DCI_REJECTED		MAKE_SQLSTATE('D','C','0','0','6')
#define ERRCODE_DCI_AUTH			MAKE_SQLSTATE('D','C','0','0','7')

typedef enum dci_verify_mode
{
	DCI_VERIFY_REQUIRED,
	DCI_VERIFY_IF_PRESENT,
	DCI_VERIFY_OFF
} dci_verify_mode;

typedef enum dci_auth_type
{
	DCI_AUTH_NONE,
	DCI_AUTH_BEARER,
	DCI_AUTH_OAUTH2
} dci_auth_type;

/* How OAuth2 client credentials reach the token endpoint (RFC 6749 2.3.1). */
typedef enum dci_client_auth
{
	DCI_CLIENT_AUTH_BODY,		/* client_id / client_secret form fields */
	DCI_CLIENT_AUTH_BASIC,		/* Authorization: Basic */
	DCI_CLIENT_AUTH_QUERY		/* in the token URL's query string (OpenCRVS) */
} dci_client_auth;

/* The version of the SQL objects this library reads and writes. */
#define DCI_SCHEMA_VERSION "0.2.0"

/* One dci.data_source row, validated, with its keys loaded. */
typedef struct dci_source
{
	char	   *code;
	char	   *name;
	char	   *registry_type;
	char	   *base_url;
	dci_auth_type auth_type;
	char	   *bearer_token;
	char	   *oauth2_token_url;	/* absolute URL, resolved against base_url */
	char	   *oauth2_client_id;
	char	   *oauth2_client_secret;
	char	   *oauth2_scope;
	dci_client_auth oauth2_client_auth;
	char	   *signing_key_id;
	dci_signing_mode signing_mode;
	char	   *our_sender_id;
	char	   *our_callback_uri;
	char	   *registry_sender_id;
	dci_verify_mode verify_mode;
	char	   *reg_type;
	char	   *record_profile;
	char	   *death_reg_type;	/* deaths in a register of their own (OpenCRVS), or NULL */
	bool		relax_binding;	/* registry omits transaction_id / reference_id */
	char	  **not_found_codes;	/* item rjct codes read as "not found" */
	int			n_not_found_codes;
	char	   *search_url;		/* base_url + search_endpoint */
	char	   *subscribe_url;
	char	   *txn_status_url;
	char	   *enrolled_url;	/* NULL when not configured */
	char	   *disabled_url;
	bool		verify_ssl;
	int			timeout_seconds;
	int			batch_size;
	int			max_retries;	/* resends of a retriable failure (429, 503, reset) */
	int			requests_per_minute;	/* 0: no pacing */
	int			requests_per_day;	/* 0: no daily quota */
	bool		quota_items;	/* quotas count identifiers, not envelopes */
	char	   *test_identifier_type;	/* what dci_test_connection looks up */
	char	   *test_identifier_value;
	char	   *async_search_url;	/* base_url + async_search_endpoint */
	char	   *unsubscribe_url;
	char	   *vital_events;	/* JSON object: per event, the codes to subscribe with */
	char	   *kid;			/* kidId / JWS kid for our signatures */
	dci_key    *signing_key;	/* private key, NULL with signing_mode none */
	dci_key    *registry_key;	/* registry's public key, NULL when not set */
} dci_source;

/* source.c: config rows, read by heap scan (no SQL, no privilege needed) */
typedef struct dci_row
{
	HeapTuple	tup;
	TupleDesc	desc;
} dci_row;

/* Called for each row of a scan; false stops it. */
typedef bool (*dci_row_fn) (const dci_row *row, void *arg);

/* The source of that code, validated and with its keys loaded (cached). */
extern dci_source *dci_source_get(const char *code);
/* Codes of the active sources whose registry_sender_id is sender. */
extern List *dci_source_codes_by_sender(const char *registry_sender_id);
extern void dci_source_cache_init(void);
extern Oid	dci_config_relid(void);
extern Oid	dci_table_relid(const char *relname);
/* The role that owns the extension's tables. */
extern Oid	dci_config_owner(void);
/* ERROR unless the installed extension is DCI_SCHEMA_VERSION. */
extern void dci_check_schema_version(void);
extern void dci_scan_rows(const char *relname, const char *keycol, const char *key,
						  dci_row_fn fn, void *arg);
extern int	dci_attnum(TupleDesc desc, const char *name);
extern Datum dci_row_datum(const dci_row *row, const char *name, bool *isnull);
extern char *dci_row_text(const dci_row *row, const char *name);

/* owner.c: SQL run as the tables' owner, safely */
typedef struct dci_owner_scope
{
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
} dci_owner_scope;

/*
 * Become the tables' owner in a security-restricted operation with
 * search_path = pg_catalog, pg_temp, and connect SPI.  Statements run in
 * the scope must still qualify every object and operator.
 */
extern void dci_owner_enter(dci_owner_scope *scope);
extern void dci_owner_leave(dci_owner_scope *scope);

/* auth.c: the bearer token of a request (none, static, or OAuth2) */
extern const char *dci_auth_bearer(dci_source *src, long long not_before, long long deadline);
extern void dci_auth_forget(const char *code, bool shared_too);

/* shmem.c: one segment for tokens, budget and progress (preloaded only) */
extern void dci_shmem_init(void);

/* token_cache.c: OAuth2 tokens in shared memory (with shared_preload_libraries) */
extern Size dci_token_shmem_size(void);
extern void dci_token_shmem_attach(void *mem, bool found, LWLock *lock);
extern bool dci_token_shared_available(void);
extern uint32 dci_token_config_hash(dci_source *src);
extern int	dci_token_shared_get(dci_source *src, uint32 cfg, long long not_before,
								 char *buf, size_t bufsize, long long *fetched_at);
extern void dci_token_shared_put(dci_source *src, uint32 cfg, const char *token,
								 time_t refresh_at, long long fetched_at);
extern void dci_token_shared_abandon(dci_source *src);
extern void dci_token_shared_forget(const char *code);
extern void dci_token_shared_release_mine(void);
extern void dci_auth_forget_all(void);

/* report.c + exchange.c: one error value, reported in one place */
typedef struct dci_error dci_error;
struct dci_error
{
	int			sqlstate;		/* 0: no error */
	char	   *message;		/* names the source and the cause */
	char	   *detail;			/* specifics (never a secret) or NULL */
	char	   *hint;			/* what to do, or NULL */
};

/* budget.c: pacing, daily quota, the registry's pauses, circuit breaker */
extern int	dci_breaker_threshold;
extern int	dci_breaker_cooldown;
extern Size dci_budget_shmem_size(void);
extern void dci_budget_shmem_attach(void *mem, bool found, LWLock *lock);
extern bool dci_budget_shared_available(void);
extern void dci_budget_load(void);
extern void dci_budget_save_at_exit(int code, Datum arg);
/* true with *wait_ms before the send; false (err set) when the call must fail now */
extern bool dci_budget_take(dci_source *src, int cost, long *wait_ms, dci_error *err);
extern void dci_budget_result(dci_source *src, bool failure, long pause_ms, bool day_spent,
							  const char *why);
extern void dci_budget_reset_breaker(const char *code);

/* progress.c: running batches, for the dci.progress view */
typedef struct dci_progress dci_progress;
extern Size dci_progress_shmem_size(void);
extern void dci_progress_shmem_attach(void *mem, bool found, LWLock *lock);
extern dci_progress *dci_progress_begin(const char *source, const char *function, int64 total);
extern void dci_progress_add(dci_progress *p, int64 done, int64 failed, int64 requests);
extern void dci_progress_waiting(dci_progress *p, bool waiting);

/* ereport the error at elevel (ERROR: does not return). */
extern void dci_report(int elevel, const dci_error *e);

/* exchange.c: one request to a registry and its checked, bound answer */
typedef enum dci_expect
{
	DCI_EXPECT_ANSWER,			/* a signed envelope answering this request */
	DCI_EXPECT_ACK				/* an asynchronous request's Ack */
} dci_expect;

typedef struct dci_exchange
{
	dci_source *src;
	MemoryContext cxt;			/* holds the exchange; dci_exchange_free deletes it */
	const char *url;
	const char *action;			/* header.action: search, subscribe, ... */
	dci_expect	expect;
	const dci_search_item *items;	/* a search; reference_id k is <transaction_id>-<k> */
	int			nitems;
	const char *message_json;	/* any other request: its message, as JSON text */
	char		transaction_id[40];
	/* the answer: err.sqlstate 0 when it is checked and bound to this request */
	dci_http_response http;		/* body is malloc'd, freed with the exchange */
	dci_response resp;
	dci_error	err;
	int			attempts;
	int			tag;			/* the caller's */
	/* private to exchange.c */
	dbuf		body;
	char	   *bearer;			/* this attempt's token (wiped when freed) */
	dci_http_xfer xfer;
	long long	deadline;
	long long	token_not_before;
	bool		refreshed_401;
} dci_exchange;

/* A search envelope with these items (url NULL: the source's search_url). */
extern dci_exchange *dci_exchange_search_new(dci_source *src, const char *url,
											 const dci_search_item *items, int nitems);
/* Any other request: message_json is the message, carrying transaction_id. */
extern dci_exchange *dci_exchange_message_new(dci_source *src, const char *url, const char *action,
											  const char *transaction_id, const char *message_json,
											  dci_expect expect);
/* Send one exchange; final (ex->err says how) when this returns. */
extern void dci_exchange_send(dci_exchange *ex);

/* The next exchange to send, or NULL; and one that is final. */
typedef dci_exchange *(*dci_exchange_next) (void *arg);
typedef void (*dci_exchange_done) (void *arg, dci_exchange *ex);

/*
 * Send exchanges of src as next() gives them, up to parallel in flight;
 * done() sees each as soon as it is final while the others go on (it may
 * free it).  Cancel and statement_timeout raise the standard error.
 */
extern void dci_exchange_run(dci_source *src, int parallel, dci_exchange_next next,
							 dci_exchange_done done, void *arg, dci_progress *progress);
extern void dci_exchange_raise(dci_exchange *ex) pg_attribute_noreturn();
extern void dci_exchange_free(dci_exchange *ex);
/* reference_id of search item k (palloc'd) */
extern const char *dci_reference_id(const dci_exchange *ex, int k);

/* lookup.c: identifier lookups with one outcome per identifier */
typedef enum dci_outcome
{
	DCI_FOUND,
	DCI_NOT_FOUND,
	DCI_FAILED
} dci_outcome;

typedef struct dci_lookup_spec
{
	const char *identifier_type;
	const char *reg_type;		/* NULL: the source's */
	const char *reg_event_type;
	int			page_size;		/* 0: no pagination */
	dci_progress *progress;		/* a batch's row in dci.progress, or NULL */
} dci_lookup_spec;

/*
 * Called once per distinct value (count = occurrences in the input), in the
 * caller's memory context; records and err are valid only during the call
 * (err is set when outcome is DCI_FAILED).
 */
typedef void (*dci_lookup_cb) (void *arg, const char *value, int count,
							   dci_outcome outcome, const cj_node *records,
							   const dci_error *err);

extern int	dci_batch_concurrency;
extern int	dci_cache_ttl;
extern int	dci_cache_max_entries;
extern void dci_lookup_cache_reset(void);
/* A hash table keyed by a char * (first member of the entry), strings of any length. */
extern HTAB *dci_string_ptr_hash(const char *name, long nelem, Size entrysize, MemoryContext cxt);
extern void dci_lookup(dci_source *src, const dci_lookup_spec *spec,
					   const char **values, int n, dci_lookup_cb cb, void *arg);
extern const char *dci_outcome_name(dci_outcome o);
/* Longest identifier type or value asked (identifiers are short; this bounds the work). */
#define DCI_MAX_IDENTIFIER 1024
extern char *dci_idtype_query(const char *type, const char *value);
/* A yes/no endpoint (enrolled, disabled): 1 yes, 0 no, -1 not known; raises on failure. */
extern int	dci_yes_no(dci_source *src, const char *url, const char *kind, const char *idtype,
					   const char *value, char **body);
/* pagination.total_count of an item, -1 when absent (DC004 when no count). */
extern long dci_total_count(dci_source *src, const cj_node *item);
/* Raise when a page shows a registry paging without end (see lookup.c). */
extern void dci_check_page(dci_source *src, int page, size_t n, long total, long seen,
						   uint32 digest, uint32 *last_digest, long max_records);
/* Outcome of search item k of a checked exchange; records borrowed from it. */
extern dci_outcome dci_item_outcome(dci_exchange *ex, int k, const cj_node **records,
									dci_error *err);
/* Outcome of one search_response item (the same rules, for callbacks too). */
extern dci_outcome dci_answer_outcome(dci_source *src, const cj_node *item,
									  const cj_node **records, dci_error *err);

/* batch.c: the single and set-based forms of every registry lookup */
typedef struct dci_lookup_kind dci_lookup_kind;

/*
 * Map the records of identifier value to a value of the function's type.
 * false (with error and sqlstate set) when the records cannot be used,
 * e.g. two people behind one identifier.
 */
typedef bool (*dci_map_fn) (dci_source *src, const char *value, const cj_node *records,
							TupleDesc rectype, void *extra, Datum *out, bool *isnull,
							char **error, int *sqlstate);

struct dci_lookup_kind
{
	const char *reg_event_type; /* sent with each search, or NULL */
	dci_map_fn	map;
	bool		map_not_found;	/* also map "not found" (records NULL) to a value */
};

extern Datum dci_lookup_function(FunctionCallInfo fcinfo, const dci_lookup_kind *kind,
								 void *extra);
extern Datum dci_lookup_one(const dci_lookup_kind *kind, const char *source,
							const char *idtype, const char *value,
							TupleDesc rectype, void *extra, bool *isnull);
extern void dci_lookup_batch(FunctionCallInfo fcinfo, const dci_lookup_kind *kind,
							 const char *source, const char *idtype,
							 ArrayType *values, bool strict, void *extra);
extern bool dci_one_record(dci_source *src, const cj_node *records, const char *what,
						   const cj_node **rec, char **error, int *sqlstate);
/* crvs.c: one CRVS record as a dci.birth_record (false: not a JSON object) */
extern bool dci_birth_datum(const cj_node *rec, const char *record_profile,
							const char *want_idtype, bool registered_death,
							const char *register_death_date, TupleDesc rectype, Datum *out);
extern Datum dci_text_array(char **items, int n);
extern Datum dci_json_datum(const cj_node *o);
extern char *dci_node_text(const cj_node *n);
extern Datum dci_date_datum(const char *iso);

/* report.c: registry text and URLs made safe to print */
extern char *dci_sanitize(const char *s);
extern char *dci_redact_url(const char *url);

/* dci.c: GUCs and the abort check */
extern int	dci_connect_timeout_ms;
extern int	dci_max_response_kb;
extern int	dci_signature_skew;
extern int	dci_max_host_connections;
extern char *dci_ca_file;
extern void dci_check_cancel(void);
extern void dci_http_apply_config(void);
extern void dci_ensure_exit_hook(void);
extern uint32 dci_wait_event(void);
extern void dci_listener_init(void);	/* listener.c: GUCs, and the worker when preloaded */

/* counters for dci_stats() */
typedef struct dci_counters
{
	int64		requests;
	int64		token_fetches;
	int64		retries_401;
	int64		cache_hits;
	int64		retries;		/* resends after 429, 503 or a lost connection */
} dci_counters;
extern dci_counters dci_stats_counters;

#endif
