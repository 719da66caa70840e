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
#include "utils/hsearch.h"

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
	char	   *signing_key_id;
	dci_signing_mode signing_mode;
	char	   *our_sender_id;
	char	   *our_callback_uri;
	char	   *registry_sender_id;
	dci_verify_mode verify_mode;
	char	   *reg_type;
	char	   *record_profile;
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
	char	   *kid;			/* kidId / JWS kid for our signatures */
	dci_key    *signing_key;	/* private key, NULL with signing_mode none */
	dci_key    *registry_key;	/* registry's public key, NULL when not set */
} dci_source;

/* source.c */
extern dci_source *dci_source_get(const char *code);
extern void dci_source_cache_init(void);
extern Oid	dci_config_relid(void);

/* auth.c */
extern const char *dci_auth_bearer(dci_source *src, bool force_refresh);
extern void dci_auth_forget(const char *code, bool shared_too);

/* token_cache.c: OAuth2 tokens in shared memory (with shared_preload_libraries) */
extern void dci_token_shmem_init(void);
extern bool dci_token_shared_available(void);
extern uint32 dci_token_config_hash(dci_source *src);
extern int	dci_token_shared_get(dci_source *src, uint32 cfg, bool force, uint64 seen_generation,
								 char *buf, size_t bufsize, uint64 *generation);
extern void dci_token_shared_put(dci_source *src, uint32 cfg, const char *token,
								 time_t refresh_at, uint64 *generation);
extern void dci_token_shared_abandon(dci_source *src);
extern void dci_token_shared_forget(const char *code);
extern void dci_auth_forget_all(void);

/* search.c */
typedef struct dci_exchange
{
	dci_source *src;
	dci_http_response http;		/* body is malloc'd: dci_exchange_free */
	dci_response resp;			/* json-c tree: dci_exchange_free */
	int			sqlstate;		/* 0 when the exchange succeeded */
	char	   *error;			/* palloc'd, names the source */
	char	   *detail;			/* palloc'd or NULL: specifics for errdetail */
	char	   *reference_prefix;	/* reference_id of item i is prefix-i */
} dci_exchange;

extern void dci_exchange_search(dci_source *src, const dci_search_item *items,
								int nitems, dci_exchange *ex);
/* ex[i] is final (checked, or failed with its reason); others may be in flight */
typedef void (*dci_envelope_done) (void *arg, int i);
extern void dci_exchange_search_many(dci_source *src, const dci_search_item **items,
									 const int *nitems, dci_exchange **ex, int n,
									 int parallel, dci_envelope_done on_done, void *done_arg);
extern dci_exchange *dci_exchange_new(dci_source *src);
extern void dci_exchange_request(dci_source *src, const char *url,
								 const char *action, const char *message_json,
								 dci_exchange *ex);
extern void dci_exchange_raise(dci_exchange *ex) pg_attribute_noreturn();
extern void dci_exchange_free(dci_exchange *ex);
extern const char *dci_reference_id(dci_exchange *ex, int i);

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
} dci_lookup_spec;

/*
 * Called once per distinct value (count = occurrences in the input), in the
 * caller's memory context; records is valid only during the call.
 */
typedef void (*dci_lookup_cb) (void *arg, const char *value, int count,
							   dci_outcome outcome, struct json_object *records,
							   int sqlstate, const char *error);

extern int	dci_batch_concurrency;
extern int	dci_cache_ttl;
extern int	dci_cache_max_entries;
extern void dci_lookup_cache_reset(void);
extern void dci_lookup(dci_source *src, const dci_lookup_spec *spec,
					   const char **values, int n, dci_lookup_cb cb, void *arg);
extern const char *dci_outcome_name(dci_outcome o);
extern char *dci_idtype_query(const char *type, const char *value);
extern dci_outcome dci_item_outcome(dci_exchange *ex, int k, int nitems,
									struct json_object **records,
									const char **error, int *sqlstate);

/* batch.c: the single and set-based forms of every registry lookup */
typedef struct dci_lookup_kind dci_lookup_kind;

/*
 * Map the records of one identifier to a value of the function's type.
 * false (with error and sqlstate set) when the records cannot be used,
 * e.g. two people behind one identifier.
 */
typedef bool (*dci_map_fn) (dci_source *src, struct json_object *records,
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
extern bool dci_one_record(dci_source *src, struct json_object *records, const char *what,
						   struct json_object **rec, char **error, int *sqlstate);
extern Datum dci_text_array(char **items, int n);
extern Datum dci_json_datum(struct json_object *o);
extern Datum dci_date_datum(const char *iso);

/* dci.c: GUCs and the abort check */
extern int	dci_connect_timeout_ms;
extern int	dci_max_response_kb;
extern int	dci_signature_skew;
extern int	dci_max_host_connections;
extern char *dci_ca_file;
extern int	dci_abort_requested(void *arg);
extern void dci_check_cancel(void);
extern void dci_http_apply_config(void);

/* counters for dci_stats() */
typedef struct dci_counters
{
	int64		requests;
	int64		token_fetches;
	int64		retries_401;
	int64		cache_hits;
} dci_counters;
extern dci_counters dci_stats_counters;

#endif
