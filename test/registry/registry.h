/*
 * registry.h - the local test DCI registry (libmicrohttpd, json-c, OpenSSL).
 *
 * A stand-alone program the extension's tests and benchmarks run against:
 * CRVS, IBR, DR and an OpenCRVS-flavoured view over fixture files, bearer
 * and OAuth2 auth, dci-ed25519 / jws-rs256 signatures, and fault injection
 * selected per request by a path segment (/opt/<list>/...).  See README.md.
 *
 * Signatures are made and checked here with OpenSSL directly, not with
 * src/sign.c, so that a bug there cannot hide behind a symmetric bug here;
 * only the canonical JSON of requests comes from src/canonjson.c.
 */
#ifndef DCI_REGISTRY_H
#define DCI_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "dbuf.h"

struct json_object;
struct MHD_Connection;

#define REG_MAX_BODY		(16 * 1024 * 1024)
#define REG_SIG_SKEW		60		/* seconds of clock skew accepted */
#define REG_SIG_VALIDITY	300		/* expires = created + 300, as OpenSPP */

/* ---------------------------------------------------------------- strmap.c */

/* A string-keyed hash table (chained); values are opaque pointers. */
typedef struct strmap_entry
{
	struct strmap_entry *next;
	uint64_t	hash;
	void	   *value;
	char		key[];
} strmap_entry;

typedef struct strmap
{
	strmap_entry **buckets;
	size_t		nbuckets;
	size_t		count;
} strmap;

void		strmap_init(strmap *m, size_t nbuckets);
void	   *strmap_get(const strmap *m, const char *key, size_t keylen);
/* Insert or replace; the old value is returned through old (may be NULL). */
int			strmap_put(strmap *m, const char *key, size_t keylen, void *value, void **old);
int			strmap_delete(strmap *m, const char *key, size_t keylen, void **old);
/* Calls fn for every entry; entries for which fn returns true are removed. */
void		strmap_sweep(strmap *m, bool (*fn) (const char *key, void *value, void *arg), void *arg);
void		strmap_free(strmap *m, void (*free_value) (void *));

/* ----------------------------------------------------------------- jsonw.c */

/* JSON text in the canonical form (Python json.dumps sort_keys, ensure_ascii). */
void		jw_string(dbuf *b, const char *s);
void		jw_string_n(dbuf *b, const char *s, size_t len);
void		jw_key(dbuf *b, const char *key);	/* "key": */
void		jw_long(dbuf *b, long v);
void		jw_count(dbuf *b, long v, bool as_string);
/* Canonical text of a json-c value (keys sorted); -1 on a non-finite double. */
int			jw_canonical(dbuf *b, struct json_object *o);
void		uuid_v4(char out[37]);
void		format_ts(time_t t, char out[21]);

/* ------------------------------------------------------------------ sig.c */

int			b64_encode(dbuf *b, const unsigned char *in, size_t len, bool url);
/* Standard or url alphabet, padding optional; malloc'd, NUL-terminated, or NULL. */
unsigned char *b64_decode(const char *in, size_t len, size_t *outlen);

typedef struct sig_field
{
	char		namespace_[32];
	char		kid[256];
	char		algorithm[32];
	char		created[32];
	char		expires[32];
	char		headers[64];
	char		signature[256];
} sig_field;

/* Parse a dci-ed25519 signature field; -1 with err set when malformed. */
int			sig_field_parse(const char *s, sig_field *f, char *err, size_t errlen);
/* The dci-ed25519 field over canonical text canon (a wrong digest when corrupt). */
int			sig_ed25519_field(EVP_PKEY *key, const char *kid, const char *canon, size_t len,
							  long created, long expires, bool corrupt, dbuf *out);
/* The same from sha256(canonical text) computed elsewhere (streamed bodies). */
int			sig_ed25519_field_digest(EVP_PKEY *key, const char *kid, const unsigned char *md,
									 long created, long expires, dbuf *out);
/* Verify the Ed25519 signature of field f over canon: 0 ok, -1 bad. */
int			sig_ed25519_verify(EVP_PKEY *pub, const sig_field *f, const char *canon, size_t len);
/* Compact JWS, RS256, of payload. */
int			sig_jws_sign(EVP_PKEY *key, const char *kid, const char *payload, size_t len,
						 bool corrupt, dbuf *out);
/* Split a compact JWS: its protected header and payload decoded (malloc'd). */
int			sig_jws_split(const char *jws, char **header, size_t *hlen,
						  char **payload, size_t *plen);
int			sig_jws_verify(EVP_PKEY *pub, const char *jws);
bool		sig_looks_like_jws(const char *s);

/* ----------------------------------------------------------------- keys.c */

typedef enum key_alg
{
	KEY_ED25519,
	KEY_RS256
} key_alg;

typedef struct sender_key
{
	char	   *kid;
	char	   *sender;			/* NULL: any sender (RSA keys without "sender") */
	key_alg		alg;
	EVP_PKEY   *pkey;
} sender_key;

/* Load a private key PEM file, or generate and write one when absent. */
EVP_PKEY   *keys_load_or_generate(const char *path, key_alg alg, char *err, size_t errlen);
char	   *keys_public_pem(EVP_PKEY *k);
/* JWK import: one key object; fills out (kid and sender malloc'd). */
int			keys_from_jwk(struct json_object *jwk, sender_key *out, char *err, size_t errlen);
/* Register (replace by kid); takes ownership of k's members. */
void		keys_register(sender_key *k);
/* Find by kid, with a reference taken on the EVP_PKEY (EVP_PKEY_free it). */
bool		keys_find(const char *kid, sender_key *out, char *sender_buf, size_t sender_size);
bool		keys_sender_known(const char *sender);
/* First RSA key usable for sender (any-sender keys too), referenced. */
EVP_PKEY   *keys_find_rsa_for(const char *sender);
int			keys_count(void);
/* A key pair nobody has registered, made on first use (cbunknown); *kid names it. */
EVP_PKEY   *foreign_key(key_alg alg, const char **kid);
/* Free every key (at exit). */
void		keys_shutdown(void);

/* ----------------------------------------------------------------- auth.c */

/* How a client authenticates at the token endpoint (RFC 6749 2.3.1; OpenCRVS: query). */
typedef enum client_auth
{
	CLIENT_BODY,				/* client_id, client_secret form fields */
	CLIENT_BASIC,				/* Authorization: Basic, id and secret form-urlencoded */
	CLIENT_QUERY				/* client_id, client_secret in the token URL's query string */
} client_auth;

void		auth_init(long default_ttl);
void		auth_add_static_token(const char *token);
int			auth_add_client(const char *id, const char *secret, long ttl, client_auth method);
const char *client_auth_name(client_auth m);
int			client_auth_parse(const char *s, client_auth *m);
bool		auth_check_bearer(const char *authorization_header);
void		auth_revoke_issued(void);
/* Issue a token (suffix appended, may be NULL) for credentials sent by method: 0 ok, -1 invalid. */
int			auth_issue(const char *id, const char *secret, client_auth method, const char *suffix,
					   char *token_out, size_t toklen, long *ttl);
/* Revoke every issued token every ms milliseconds (0 stops it). */
int			auth_revoke_every(long ms);
long		auth_revoke_interval(void);
void		auth_shutdown(void);

/* ------------------------------------------------------------- fixtures.c */

typedef enum reg_kind
{
	REG_CRVS,
	REG_IBR,
	REG_DR,
	REG_OPENCRVS,
	REG_OPENCRVS_DEATH,			/* /opencrvs with reg_type ocrvs:registry_type:death */
	REG_NKINDS
} reg_kind;

typedef struct reg_view
{
	reg_kind	kind;
	const char *prefix;			/* "/crvs" ... */
	const char *default_reg_type;
	const char *record_type;
	size_t		nrec,
				cap;
	struct json_object *root;	/* owns every record; changed only under the write lock */
	struct json_object **rec;
	char	  **text;			/* canonical JSON text of each record */
	size_t	   *textlen;
	strmap		index;			/* "TYPE\x1fvalue" -> idx_list */
} reg_view;

typedef struct idx_list
{
	size_t		n,
				cap;
	uint32_t   *idx;
} idx_list;

int			fixtures_load(const char *dir, char *err, size_t errlen);
void		fixtures_free(void);
/* Requests read records under the read lock; vital events change them under the write lock. */
void		fixtures_read_lock(void);
void		fixtures_write_lock(void);
void		fixtures_unlock(void);
/* (write lock) Replace record idx (-1: append) of v's data by rec (owned); its index or -1. */
long		fixtures_apply(reg_view *v, long idx, struct json_object *rec, char *err, size_t errlen);
/* (write lock) The civil registry records a death (OpenCRVS views and death register follow). */
long		fixtures_mark_dead(reg_view *v, size_t idx, const char *date, const char *place,
							   char *err, size_t errlen);
/* The first record of v sharing an identifier with rec, or -1. */
long		fixtures_find_same(reg_view *v, struct json_object *rec);
reg_view   *fixtures_view(reg_kind k);
reg_view   *fixtures_view_by_prefix(const char *path, const char **rest);
/* Record indices whose identifier of that type (any case) has that value. */
const idx_list *fixtures_lookup(reg_view *v, const char *type, const char *value);
/* Every identifier {type, value} of a record, as the index sees it. */
typedef void (*ident_cb) (const char *type, const char *value, void *arg);
void		fixtures_identifiers(reg_view *v, struct json_object *rec, ident_cb cb, void *arg);

/* ---------------------------------------------------------------- vbody.c */

/* A body made of segments, each a byte string repeated `repeat` times. */
typedef struct vseg
{
	const char *data;
	size_t		len;
	uint64_t	repeat;
} vseg;

typedef struct vbody
{
	vseg	   *seg;
	size_t		nseg,
				cap;
	char	  **owned;			/* buffers freed with the body */
	size_t		nowned;
	uint64_t	total;			/* bytes in all */
	/* sequential reader */
	size_t		rseg;
	uint64_t	rrep;
	size_t		roff;
	uint64_t	rpos;			/* bytes read so far */
} vbody;

void		vbody_init(vbody *b);
void		vbody_free(vbody *b);
/* Append len bytes repeated repeat times; data must outlive b. */
int			vbody_add(vbody *b, const char *data, size_t len, uint64_t repeat);
/* Append a malloc'd buffer b then owns (freed even on failure). */
int			vbody_add_owned(vbody *b, char *data, size_t len);
int			vbody_add_copy(vbody *b, const char *data, size_t len);
/* Up to max next bytes into buf; 0 at the end. */
size_t		vbody_read(vbody *b, char *buf, size_t max);
void		vbody_rewind(vbody *b);
/* The whole body appended to out (the reader is rewound). */
int			vbody_materialize(vbody *b, dbuf *out);

/* ---------------------------------------------------------------- query.c */

typedef enum query_status
{
	Q_OK,
	Q_BAD_CRITERIA,				/* rjct.search_criteria.invalid */
	Q_BAD_FILTER				/* rjct.filter.invalid */
} query_status;

/*
 * Records of v matching query_type/query, in fixture order, into out (an
 * idx_list the caller frees with free(out->idx)).  msg receives a reason.
 */
query_status query_run(reg_view *v, const char *query_type, struct json_object *query,
					   idx_list *out, char *msg, size_t msglen);
/* Sort matches by a dotted path (asc/desc); unknown values last. */
void		query_sort(reg_view *v, idx_list *l, struct json_object *sort);
/* Does one record match a query (a subscription's filter)? */
query_status query_match_one(reg_view *v, struct json_object *rec, const char *query_type,
							 struct json_object *query, bool *match, char *msg, size_t msglen);
/* A value at a dotted path, as text ("" when absent); for the DR verdict. */
struct json_object *query_path(struct json_object *rec, const char *path);

/* --------------------------------------------------------------- faults.c */

typedef enum resp_scheme
{
	SCHEME_DEFAULT,				/* per prefix: jws for /opencrvs, else ed25519 */
	SCHEME_ED25519,
	SCHEME_JWS
} resp_scheme;

typedef struct opts
{
	/* checks and formats */
	bool		nosig,
				noauth,
				lax,
				notfound_rjct,
				single,
				strcount,
				strexpiry;
	resp_scheme scheme;
	char		idtypes[128];	/* "BRN+NID": the only identifier types accepted */
	/* state across requests */
	char		key[64];		/* key=K: names failfirst counters, replay captures */
	long		failfirst;		/* the first N requests with key K get the faults */
	/* transport faults */
	bool		html,
				htmlok,
				truncate,
				always401,
				redirect,		/* 302 to the same registry's plain search URL */
				status202,
				close,
				reset,			/* RST before any byte of the answer */
				resetbody,		/* RST after part of the body */
				has_retry_after;
	int			delay_ms;
	int			drip_ms;		/* the body in 16-byte chunks, drip_ms apart */
	int			status;
	long		retry_after;	/* Retry-After: header (has_retry_after) */
	int			rate_body;		/* RATE_MINUTE, RATE_DAY, RATE_TOP: 429 with that body */
	long		rate_after;		/* its retry_after */
	long		oversize;
	/* signatures */
	bool		unsigned_,
				badsig,
				expiredsig,
				futuresig,
				sigrjct;
	/* DCI-level answers */
	bool		hdrrjct,
				noheader,		/* no header member at all */
				rcvd,			/* items status rcvd */
				ignorepage,		/* page 1 whatever is asked, total_count 1000000 */
				ocrvsheader;	/* the header OpenCRVS writes (request's ids, unswapped) */
	char		rjct[64];
	char		itemrjct[64];
	/* binding attacks */
	bool		wrongtxn,
				notxn,
				wrongreceiver,
				wrongref,
				replay;
	char		otherperson[128];	/* TYPE:VALUE answered instead */
	/* hostile records (validly signed) */
	long		nest,			/* N nested empty arrays */
				flat;			/* N empty arrays in one array */
	bool		badutf8,
				nul,
				numambig,
				bigint;
	/* token endpoint */
	bool		crlftoken;
	/* async */
	bool		ack200,
				acknack,
				cbbadsig,
				cbdup,
				cbpartial,
				cbunknown,
				cbnone;
	int			cbdelay_ms;		/* -1: the default */
	char		ackerr[64];
	char		subrjct[64];
} opts;

#define RATE_MINUTE 1			/* OpenSPP {"detail":{... RATE_LIMIT_PER_MINUTE ...}} */
#define RATE_DAY	2			/* OpenSPP {"detail":{... RATE_LIMIT_PER_DAY ...}} */
#define RATE_TOP	3			/* {"retry_after":S,"error":"rate_limit_exceeded"} */

/* Parse "a,b=1,..."; -1 with err naming the bad option. */
int			opts_parse(const char *list, size_t len, opts *o, char *err, size_t errlen);
/* Keep only the options that are not faults (failfirst: the request is past N). */
void		opts_strip_faults(opts *o);
/* Will a fault answer instead of the handler (status=, html, redirect, ratebody, reset...)? */
bool		opts_replaces_answer(const opts *o);
/* Does the answer carry placeholders that only a streamed body can expand? */
bool		opts_streamed(const opts *o);

typedef struct reply
{
	int			status;
	const char *ctype;
	dbuf		body;
	vbody	   *stream;			/* when set, the body instead of body (owned) */
	bool		close;
	bool		www_auth;		/* add WWW-Authenticate: Bearer */
	const char *location;		/* Location header (redirect option) */
	bool		has_retry_after;
	long		retry_after;	/* Retry-After: header */
	bool		reset;			/* reset the connection instead of answering */
	bool		reset_body;		/* reset it after part of the body */
	int			drip_ms;		/* send the body in small chunks, drip_ms apart */
	int			again_ms;		/* admin waits: run the handler again after again_ms */
} reply;

/* Forget everything but the body's buffer (emptied). */
void		reply_reset(reply *r);
void		reply_json(reply *r, int status, const char *json);
/* HTTP 429 with an OpenSPP rate-limit body (kind RATE_*), no Retry-After. */
void		reply_rate_limited(reply *r, int kind, long retry_after, const char *message);
/* {"message":{"ack_status":"ERR","timestamp":..,"correlation_id":..,"error":{code,message}}} */
void		reply_error(reply *r, int status, const char *code, const char *message);
/* Apply the transport faults (status, html, truncate, status202, close). */
void		faults_apply(const opts *o, reply *r);

/* --------------------------------------------------------------- answer.c */

#define REG_FOREIGN_SENDER "unknown.registry"
#define REG_OTHER_RECEIVER "other-sender.test"

/* What an answer or callback envelope says in its header, and how it is signed. */
typedef struct env_out
{
	const opts *o;				/* faults that shape the envelope */
	resp_scheme scheme;			/* SCHEME_ED25519 or SCHEME_JWS */
	const char *action;			/* on-search, on-enrolled, ... */
	const char *status;			/* succ, rjct, ... */
	const char *reason_code;	/* NULL unless rjct */
	const char *reason_msg;
	long		total;
	long		completed;
	const char *receiver;		/* the request's sender_id */
	const char *message_id;		/* NULL: a new uuid */
	bool		corrupt;		/* sign something else (as badsig) */
	bool		foreign;		/* sign as REG_FOREIGN_SENDER with a key nobody knows */
	/* ocrvsheader: OpenCRVS's header, copied from the request's */
	const char *echo_message_id;
	const char *echo_sender;
	const char *echo_receiver;
} env_out;

/* The scheme an answer of view v is signed with (jws for /opencrvs, unless sign=). */
resp_scheme answer_scheme(const opts *o, const reg_view *v);
void		header_text(dbuf *h, const env_out *e, long pad);
void		answer_sig_times(const opts *o, long *created, long *expires);
EVP_PKEY   *answer_key(const env_out *e, const char **kid);
/* The signature field over canonical text canon (dci-ed25519 field or compact JWS). */
int			answer_sign(const env_out *e, const char *canon, size_t len, dbuf *sig);
const char *answer_txn(const opts *o, const char *txn, char buf[37]);
const char *answer_receiver(const opts *o, const char *sender);
/* Sign {"header":H,"message":msg} into r's body (HTTP 200), honouring oversize. */
void		envelope_finish(const env_out *e, dbuf *msg, reply *r);

/* -------------------------------------------------------------- hostile.c */

/*
 * A record's canonical text into m; the first record of an answer (*done
 * false) gets the hostile options' changes (nest, flat, numambig, bigint,
 * badutf8, nul), the long or ambiguous parts as placeholders.
 */
void		record_write(dbuf *m, const opts *o, const char *text, size_t len, bool *done);
/* Sign and stream canon, expanding its placeholders (the body goes to r->stream). */
int			hostile_envelope(const env_out *e, dbuf *canon, reply *r);

/* --------------------------------------------------------------- search.c */

typedef struct request
{
	const char *method;
	const char *path;			/* after /opt/<list> */
	const char *endpoint;		/* after the registry prefix */
	const char *authorization;
	const char *content_type;
	const char *query_alg;		/* ?alg= */
	const char *body;
	size_t		len;
	const opts *o;
	reg_view   *view;
	const struct timespec *started;	/* CLOCK_MONOTONIC, when the request came (admin waits) */
	struct MHD_Connection *conn;
	const char *subscription_code;	/* X-DCI-Subscription-Code header (the sink) */
	const char *query_client_id;	/* ?client_id= and ?client_secret= (token endpoint) */
	const char *query_client_secret;
} request;

/* A query string argument of the request (http_server.c), or NULL. */
const char *request_arg(const request *rq, const char *name);
/* GET url into body (libcurl, 5 s); -1 with err set. */
int			http_get(const char *url, dbuf *body, char *err, size_t errlen);

void		handle_registry(const request *rq, reply *r);
/* A header-only rjct answer (no search_response). */
void		reject_envelope(const request *rq, const char *action, const char *receiver,
							const char *txn, const char *code, const char *why, long total, reply *r);

/* The items of a search answer, each item's text kept apart (async callbacks split them). */
typedef struct search_out
{
	dbuf		items;			/* the emitted items' text, back to back */
	size_t	   *end;			/* end offset of each emitted item in items */
	bool	   *ok;				/* each emitted item answered succ */
	size_t		nemitted,		/* OpenCRVS leaves unmatched items out */
				cap;
	long		n,				/* search_request items */
				succ,
				rjct,
				records;		/* reg_records in all items */
	char		ts[21];
} search_out;

/* dup[i]: item i's reference_id appeared on an earlier item (malloc'd; NULL on OOM). */
bool	   *duplicate_refs(struct json_object *items, size_t n);
/* Answer every search_request item of env (-1: no search_request array). */
int			search_run(const request *rq, struct json_object *env, search_out *so);
void		search_out_free(search_out *so);
/* {"correlation_id":..,"search_response":[items from..to),"transaction_id":..} (txn NULL: none). */
void		search_message(dbuf *m, const search_out *so, size_t from, size_t to,
						   const char *corr, const char *txn);

/* ---------------------------------------------------------------- admin.c */

void		handle_admin(const request *rq, reply *r);
/* The request body as a JSON object, or NULL with a 400 in r. */
struct json_object *admin_body(const request *rq, reply *r);
void		handle_jwks(const request *rq, reply *r);
void		handle_token(const request *rq, reply *r);

/* ------------------------------------------------------------- counters.c */

void		counters_init(void);
void		counters_shutdown(void);
/* Count a request with key=K; returns its rank (1 for the first since the last reset). */
long		counters_hit(const char *key);
/* That request was answered with the fault (failfirst). */
void		counters_faulted(const char *key);
/* /admin/reset-counters: failfirst ranks restart, replay captures are forgotten. */
void		counters_reset(void);
void		counters_reset_stats(void);
/* {"K":{"requests","retries","faulted"}} since the last reset-stats. */
void		counters_json(dbuf *out);
/* Capture body under key; when an earlier one was captured, body becomes it (returns 1). */
int			replay_swap(const char *key, dbuf *body);

/* -------------------------------------------------------------- senders.c */

void		senders_init(void);
void		senders_shutdown(void);
/* An envelope naming this sender arrived (counts, sliding rate measure). */
void		senders_seen(const char *sender);
/* ... and was refused (signature). */
void		senders_rejected(const char *sender);
/* ... and passed the checks: within its quota (0, counted) or not (-1: kind RATE_*, retry_after, msg). */
int			senders_admit(const char *sender, long items, int *kind, long *retry_after,
						  char *msg, size_t msglen);
/* Quota of a sender; 0 = no limit; items: count search items, not requests. */
int			senders_set_limit(const char *sender, long per_second, long per_minute, long per_day,
							  bool items);
void		senders_reset_stats(void);
void		senders_reset_windows(void);
/* {"<sender>":{"requests","accepted","rejected","rate_limited","items","max_per_second",...}} */
void		senders_json(dbuf *out);

/* ------------------------------------------------------------- callback.c */

typedef struct cb_config
{
	int			threads;		/* delivery threads */
	int			retries;		/* attempts after the first */
	int			backoff_ms;		/* before the first retry; doubles */
	int			backoff_cap_ms;
	int			timeout_ms;		/* one attempt */
	const char *cafile;			/* https receivers */
	bool		insecure;
} cb_config;

enum
{
	CB_PENDING,
	CB_ACKED,					/* the receiver answered 2xx */
	CB_FAILED					/* no 2xx after every retry */
};

typedef struct cb_job
{
	uint64_t	id;
	char	   *url;
	char	   *body;			/* freed once acked or failed */
	size_t		len;
	char		action[32];
	char		message_id[40];
	char	   *transaction_id;
	char	   *correlation_id;
	char	   *receiver;
	char	   *subscription_code;
	int			state;
	int			attempts;
	int			last_status;	/* HTTP status of the last attempt; 0: none */
	char		last_error[160];
	char		ack_status[16];	/* message.ack_status of the receiver's answer */
	time_t		created_at,
				done_at;
	int64_t		due_ms;			/* CLOCK_MONOTONIC */
	struct cb_job *next_due;
} cb_job;

/* What to deliver: a signed envelope (body) to url. */
typedef struct cb_spec
{
	const char *url;
	const char *body;
	size_t		len;
	const char *action;
	const char *message_id;
	const char *transaction_id;
	const char *correlation_id;
	const char *receiver;		/* the receiver's sender_id */
	const char *subscription_code;	/* notify: also sent as X-DCI-Subscription-Code */
} cb_spec;

typedef struct cb_filter
{
	const char *transaction_id;
	const char *correlation_id;
	const char *action;
	const char *subscription_code;
	const char *receiver;
} cb_filter;

int			callbacks_start(const cb_config *c, char *err, size_t errlen);
void		callbacks_stop(void);
/* Queue a delivery, first attempt after delay_ms; its id (0: out of memory). */
uint64_t	callback_enqueue(const cb_spec *s, int delay_ms);
/* The deliveries matching f as JSON; true when at least want match and all are finished. */
bool		callbacks_json(const cb_filter *f, long want, dbuf *out);
/* Forget finished deliveries (/admin/reset-callbacks). */
void		callbacks_forget(void);

/* ---------------------------------------------------------------- async.c */

/* Where a callback goes and what /admin/callbacks files it under. */
typedef struct cb_target
{
	const char *url;
	const char *transaction_id;
	const char *correlation_id;
	const char *receiver;		/* the receiver's sender_id */
	const char *subscription_code;
} cb_target;

void		handle_async_search(const request *rq, struct json_object *env, reply *r);
void		handle_subscribe(const request *rq, struct json_object *env, reply *r);
void		handle_unsubscribe(const request *rq, struct json_object *env, reply *r);
void		handle_txn_status(const request *rq, struct json_object *env, reply *r);
/* Sign e + msg (a new message_id) and queue it to t after delay_ms (dup: twice); how many queued. */
int			async_send(env_out *e, dbuf *msg, const cb_target *t, int delay_ms, bool dup);

/* ----------------------------------------------------------------- subs.c */

typedef struct sub_new
{
	const char *sender;
	const char *sender_uri;
	reg_kind	view;
	const char *reg_type;
	const char *reg_event_type;
	const char *filter_type;
	struct json_object *filter;
	const char *notify_record_type;
	const char *transaction_id;
} sub_new;

/* A subscription a vital event concerns (copies, freed by sub_matches_free). */
typedef struct sub_match
{
	char		code[20];
	char	   *sender;
	char	   *sender_uri;
	char	   *reg_type;
} sub_match;

enum
{
	SUB_REMOVED,
	SUB_UNKNOWN,				/* no such code for this sender */
	SUB_ALREADY					/* unsubscribed before */
};

/* Same event type, namespaces aside, any case ("death" is "spdci-common:RegistryEventType:Death"). */
bool		event_type_is(const char *a, const char *b);
/* A new active subscription; its code (SUB- and 12 hex digits) into code. */
int			subs_add(const sub_new *n, char code[20]);
/* SUB_REMOVED, SUB_UNKNOWN or SUB_ALREADY. */
int			subs_remove(const char *sender, const char *code);
/* Active subscriptions of view for that event whose filter lets rec through. */
size_t		subs_matching(reg_kind view, const char *event_type, reg_view *v,
						  struct json_object *rec, sub_match **out);
void		sub_matches_free(sub_match *m, size_t n);
void		subs_json(dbuf *out);
void		subs_shutdown(void);

/* --------------------------------------------------------------- events.c */

/* POST /admin/event: record a vital event and notify the subscriptions it concerns. */
void		admin_event(const request *rq, reply *r);

/* ----------------------------------------------------------------- sink.c */

/* POST /sink/...: a callback receiver for the registry's own tests; answers ACK. */
void		handle_sink(const request *rq, reply *r);
void		sink_json(reply *r);
void		sink_forget(void);

/* ------------------------------------------------------------------ txn.c */

/* An async transaction: stored when ACKed, found by txn status. */
typedef struct txn_info
{
	const char *sender;			/* the requester's sender_id */
	const char *transaction_id;
	const char *correlation_id;
	char		txn_type[16];	/* on-search, on-subscribe, on-unsubscribe */
	char		status[8];		/* the callback header's status; found: "pdng" before ready */
	const char *message;		/* the message the callback carries */
	const char *pending;		/* stored: the message until ready_ms (NULL: none) */
	long		total,
				completed;
	int64_t		ready_ms;		/* txn_now_ms() when the callback is due */
} txn_info;

void		txn_init(void);
void		txn_shutdown(void);
int64_t		txn_now_ms(void);
int			txn_store(const txn_info *t);
/* A copy of sender's transaction with that transaction_id (or correlation_id); -1: none. */
int			txn_find(const char *sender, bool by_correlation, const char *id, txn_info *out);
void		txn_info_free(txn_info *t);
void		txn_forget(void);

/* ------------------------------------------------------------ blackhole.c */

/* Listen on 127.0.0.1 (a free port) and never answer; the port goes to *port. */
int			blackhole_start(int *port, char *err, size_t errlen);
void		blackhole_stop(void);

/* ---------------------------------------------------------------- state */

typedef struct reg_stats
{
	uint64_t	requests;
	uint64_t	connections;
	uint64_t	token_requests;
	uint64_t	search_requests;
	uint64_t	search_items;
	uint64_t	rejected;
	uint64_t	resets;			/* connections reset by reset/resetbody */
	uint64_t	injected_headers;	/* requests that carried an X-Injected header */
	uint64_t	revocations;	/* periodic revocations of every issued token */
	uint64_t	blackhole_connections;	/* accepted by the blackhole listener */
	uint64_t	callbacks_queued;	/* deliveries (cbdup: two) */
	uint64_t	callbacks_sent;	/* attempts */
	uint64_t	callbacks_retried;	/* attempts after the first */
	uint64_t	callbacks_acked;
	uint64_t	callbacks_failed;
	uint64_t	async_requests;	/* async search, subscribe, unsubscribe accepted */
	uint64_t	notifications;	/* notify deliveries queued by /admin/event */
	uint64_t	status_counts[600];	/* non-admin answers by HTTP status */
} reg_stats;

#define STAT_ADD(field, n) __atomic_add_fetch(&g_reg.stats.field, (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&g_reg.stats.field, __ATOMIC_RELAXED)

typedef struct registry_state
{
	const char *sender_id;
	long		token_ttl;
	bool		quiet;
	EVP_PKEY   *ed_key;			/* registry signing keys, loaded once */
	EVP_PKEY   *rsa_key;
	char		ed_kid[256];
	char		rsa_kid[256];
	char	   *ed_pub_pem;
	char	   *rsa_pub_pem;
	char	   *jwks;			/* JSON text of /.well-known/jwks.json */
	reg_stats	stats;
} registry_state;

extern registry_state g_reg;

#endif
