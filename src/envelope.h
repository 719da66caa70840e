/*
 * envelope.h - DCI request envelopes, response parsing and verification
 * (no PostgreSQL).
 *
 * Requests are written as text directly, keys in code-point order and with
 * canonical escaping, so that {"header":H,"message":M} is already the
 * canonical form the dci-ed25519 digest is computed over: no second
 * serialization, and the bytes signed are the bytes sent.  Every request
 * kind is checked against the published schemas (test/schema).
 *
 * A response is parsed once (canonjson.h), under the caller's limits, into
 * one tree: its signature is checked on that tree (dci_verify_parsed) and the
 * mappers read the same tree.  Nodes handed out are owned by the response
 * and live until dci_response_free.
 */
#ifndef DCI_ENVELOPE_H
#define DCI_ENVELOPE_H

#include <stddef.h>

#include "canonjson.h"
#include "dbuf.h"
#include "sign.h"

#define DCI_PROTOCOL_VERSION "1.0.0"

typedef enum dci_signing_mode
{
	DCI_SIGN_NONE,
	DCI_SIGN_ED25519,			/* dci-ed25519 (OpenSPP) */
	DCI_SIGN_JWS_RS256			/* compact JWS (OpenCRVS) */
} dci_signing_mode;

int			dci_signing_mode_parse(const char *s, dci_signing_mode *out);

/* The ten header members every request carries (see dci-interop-notes). */
typedef struct dci_header
{
	const char *message_id;		/* UUID */
	long		message_ts;		/* Unix seconds, sent as YYYY-MM-DDTHH:MM:SSZ */
	const char *action;			/* "search", "subscribe", ... */
	const char *sender_id;
	const char *sender_uri;		/* NULL is sent as "" */
	const char *receiver_id;	/* NULL is sent as "" */
	int			total_count;
} dci_header;

/* One search_request item. */
typedef struct dci_search_item
{
	const char *reference_id;
	const char *reg_type;		/* NULL: omitted */
	const char *reg_event_type; /* NULL: omitted */
	const char *query_type;		/* idtype-value, expression, predicate */
	const char *query_json;		/* JSON text of the query, any formatting */
	size_t		query_len;
	int			page_size;		/* <= 0: no pagination */
	int			page_number;	/* <= 0 with a page size: 1 */
	const char *locale;			/* NULL: omitted; else three lowercase letters (ISO 639-3) */
} dci_search_item;

/* How to sign: mode, key and the key id that goes into kidId / JWS kid. */
typedef struct dci_signer
{
	dci_signing_mode mode;
	const dci_key *key;			/* private key; NULL only with DCI_SIGN_NONE */
	const char *kid;
	long		validity;		/* seconds from created to expires (300) */
} dci_signer;

/* Fresh random UUID v4 text (37 bytes with the NUL). */
void		dci_uuid(char out[37]);
/* Unix seconds as YYYY-MM-DDTHH:MM:SSZ (21 bytes with the NUL). */
void		dci_format_ts(long t, char out[21]);

/* Append s as a JSON string literal with canonical (ensure_ascii) escaping. */
int			dci_json_string(dbuf *out, const char *s);

/* ---- requests: every builder returns 0, or -1 with err set ---- */

/*
 * A whole signed search request body:
 *   {"signature":S,"header":H,"message":{"search_request":[...],"transaction_id":T}}
 * (bad query JSON, a bad locale, signing failure, out of memory).
 */
int			dci_build_search(const dci_header *h, const char *transaction_id,
							 const dci_search_item *items, int nitems,
							 const dci_signer *signer, dbuf *body,
							 char *err, size_t errlen);

/* The message of a search, {"search_request":[...],"transaction_id":T}, appended to out. */
int			dci_search_message(const char *transaction_id, const dci_search_item *items, int nitems,
							   long now, dbuf *out, char *err, size_t errlen);

/* The async search (/registry/search): the same, and h->sender_uri is required. */
int			dci_build_search_async(const dci_header *h, const char *transaction_id,
								   const dci_search_item *items, int nitems,
								   const dci_signer *signer, dbuf *body,
								   char *err, size_t errlen);

/* One subscribe_request item. */
typedef struct dci_subscribe_item
{
	const char *reference_id;
	const char *reg_type;		/* NULL: omitted */
	const char *reg_event_type; /* required */
	const char *frequency;		/* cron string; NULL: no frequency object */
	long		start_time;		/* with frequency: Unix seconds */
	long		end_time;
	const char *filter_type;	/* NULL: omitted; else idtype-value, expression, predicate */
	const char *filter_json;	/* required: JSON text of the filter */
	size_t		filter_len;
	const char *notify_record_type; /* required */
	const char *authorize_json; /* NULL: omitted; else JSON text of an object */
	const char *locale;			/* NULL: omitted */
} dci_subscribe_item;

/* SubscribeRequest: {"subscribe_request":[...],"transaction_id":T}. */
int			dci_build_subscribe(const dci_header *h, const char *transaction_id,
								const dci_subscribe_item *items, int nitems,
								const dci_signer *signer, dbuf *body,
								char *err, size_t errlen);

/* UnSubscribeRequest: {"subscription_codes":[...],"timestamp":TS,"transaction_id":T}. */
int			dci_build_unsubscribe(const dci_header *h, const char *transaction_id,
								  const char *const *codes, int ncodes,
								  const dci_signer *signer, dbuf *body,
								  char *err, size_t errlen);

/* The txnstatus_request of a TxnStatusRequest. */
typedef struct dci_txn_status_req
{
	const char *reference_id;
	const char *txn_type;		/* search, subscribe, unsubscribe */
	const char *attribute_type; /* transaction_id, reference_id_list, correlation_id, subscription_code_list */
	const char *attribute_value_json;	/* JSON text: a string, or an array of strings for the lists */
	size_t		attribute_value_len;
	const char *locale;			/* NULL: omitted */
} dci_txn_status_req;

/* TxnStatusRequest: {"transaction_id":T,"txnstatus_request":{...}}. */
int			dci_build_txn_status(const dci_header *h, const char *transaction_id,
								 const dci_txn_status_req *req,
								 const dci_signer *signer, dbuf *body,
								 char *err, size_t errlen);

/*
 * Any other request (enrolled, disabled, ...): message_json is the JSON text
 * of the message object; it is canonicalized before signing.
 */
int			dci_build_request(const dci_header *h, const char *message_json,
							  size_t message_len, const dci_signer *signer,
							  dbuf *body, char *err, size_t errlen);

/* ---- responses ---- */

/*
 * A parsed response envelope.  String members are NULL when absent, not a
 * string, or holding U+0000 (which an identifier never does).
 */
typedef struct dci_response
{
	cj_node    *root;			/* owns the tree */
	cj_limits	limits;			/* of the parse; a JWS payload is parsed under the same */
	const cj_node *header;		/* NULL when absent or no object */
	const cj_node *message;		/* NULL when absent or no object */
	const char *status;			/* header.status: succ, rjct, pdng, rcvd */
	const char *reason_code;	/* header (or error body) reason code */
	const char *reason_message;
	const cj_node *items;		/* message.search_response (array or one object) or NULL */
	const char *ack_status;		/* message.ack_status (async ACK/ERR) */
	/* what binds an answer to its request */
	const char *action;			/* header.action */
	const char *sender_id;		/* header.sender_id */
	const char *receiver_id;	/* header.receiver_id */
	const char *message_id;		/* header.message_id */
	const char *transaction_id; /* message.transaction_id */
	const char *correlation_id; /* message.correlation_id */
} dci_response;

/*
 * Parse a response body, once, under lim (NULL: the defaults).  CJ_OK, or
 * the parser's result (CJ_ERR_SYNTAX for an HTML page, CJ_ERR_TRUNCATED for
 * a cut body or an empty one, CJ_ERR_UTF8, CJ_ERR_BUDGET, CJ_ERR_NOMEM,
 * CJ_ERR_NUMBER), or CJ_ERR_SHAPE for JSON that is no object or whose
 * header holds U+0000; err says which.  Accepts the error-body forms seen in
 * the wild ({"message":{"ack_status":"ERR","error":{...}}}, {"errors":[...]},
 * {"error":{"code","message"}}) and reports their code.  *out is always
 * safe to free.
 */
cj_result	dci_response_parse(const char *body, size_t len, const cj_limits *lim,
							   dci_response *out, char *err, size_t errlen);
void		dci_response_free(dci_response *r);
/* A response over a header and a message of another tree (a txn status answer): owns nothing. */
void		dci_response_view(const cj_node *header, const cj_node *message, dci_response *out);
/* Member key of object o when it is an object, else NULL. */
const cj_node *dci_get_object(const cj_node *o, const char *key);

/*
 * Verify the signature of a parsed response against the registry's public
 * key, on the tree (no second parse).  DCI_SIG_MISSING when it carries no
 * signature.  With dci-ed25519 the digest is tried over the header as
 * received and then over the header the way OpenSPP re-serializes it (nulls
 * dropped, defaults added).  With jws-rs256 the JWS payload (parsed under the
 * response's limits) must be the same JSON as {header, message}.
 */
dci_sig_result dci_verify_parsed(const dci_response *r, dci_signing_mode mode,
								 const dci_key *pub, long now, long skew,
								 char *err, size_t errlen);

/* Number of items (search_response: an array's length, 1 for one object) and item i. */
size_t		dci_response_nitems(const dci_response *r);
const cj_node *dci_response_item_at(const dci_response *r, size_t i);
/*
 * The search_response item with this reference_id, or NULL (OpenCRVS omits
 * unmatched ones).  hint is where it should be (registries answer in
 * order): looked at first, so a batch of n items costs O(n), not O(n^2).
 */
const cj_node *dci_response_item(const dci_response *r, const char *reference_id, size_t hint);
/* First element of message.<member> (an array or a single object), or NULL. */
const cj_node *dci_response_first(const dci_response *r, const char *member);
/* The only item of a response that has exactly one (whatever its reference_id). */
const cj_node *dci_response_single_item(const dci_response *r);

/* Members of an item (NULL when absent). */
const char *dci_item_reference_id(const cj_node *item);
const char *dci_item_status(const cj_node *item);
const char *dci_item_reason_code(const cj_node *item);
const char *dci_item_reason_message(const cj_node *item);
/* item.data.reg_records (array, single object or NULL). */
const cj_node *dci_item_records(const cj_node *item);
/* Number of records: an array's length, 1 for a single object, else 0. */
size_t		dci_records_len(const cj_node *records);
const cj_node *dci_records_get(const cj_node *records, size_t i);
/*
 * pagination.total_count of an item (a number or a numeric string): 1 and
 * *out set, 0 absent, -1 present but no integer or beyond a long.
 */
int			dci_item_total_count(const cj_node *item, long *out);

/*
 * Lenient readers of a member.  dci_get_string: a string without U+0000, or
 * NULL.  dci_get_text: the same, or a number's canonical text (codes sent as
 * numbers).  dci_get_long: 1 and *out for an integer sent as a number (3,
 * 3.0) or a numeric string (" 3 "); 0 absent, null or ""; -1 anything else,
 * including any value beyond a long (refused, not clamped).
 */
const char *dci_get_string(const cj_node *o, const char *key);
const char *dci_get_text(const cj_node *o, const char *key);
int			dci_get_long(const cj_node *o, const char *key, long *out);

#endif
