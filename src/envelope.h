/*
 * envelope.h - DCI request envelopes and response parsing (no PostgreSQL).
 *
 * Requests are written as text directly, keys in code-point order and with
 * canonical escaping, so that {"header":H,"message":M} is already the
 * canonical form the dci-ed25519 digest is computed over: no second
 * serialization, and the bytes signed are the bytes sent.
 *
 * Responses are navigated with json-c; their signature is checked on the
 * raw text with canonjson (json-c would round numbers and reorder nothing
 * the way Python does).
 */
#ifndef DCI_ENVELOPE_H
#define DCI_ENVELOPE_H

#include <stddef.h>

#include "dbuf.h"
#include "sign.h"

/*
 * json-c objects appear only as struct pointers: PostgreSQL's fmgrprotos.h
 * declares a function named json_object, so glue code cannot include json-c.
 */
struct json_object;

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
	const char *locale;			/* NULL: omitted */
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

/*
 * A whole signed search request body:
 *   {"signature":S,"header":H,"message":{"search_request":[...],"transaction_id":T}}
 * 0 ok; -1 with err set (bad query JSON, signing failure, out of memory).
 */
int			dci_build_search(const dci_header *h, const char *transaction_id,
							 const dci_search_item *items, int nitems,
							 const dci_signer *signer, dbuf *body,
							 char *err, size_t errlen);

/*
 * The message of a search request alone, {"search_request":[...],
 * "transaction_id":T}, canonical: what dci_build_search signs (an async
 * search sends it through dci_build_request and records it as sent).
 */
int			dci_search_message(const char *transaction_id, const dci_search_item *items,
							   int nitems, long now, dbuf *out, char *err, size_t errlen);

/*
 * Any other request (subscribe, txn status, enrolled, ...): message_json is
 * the JSON text of the message object; it is canonicalized before signing.
 */
int			dci_build_request(const dci_header *h, const char *message_json,
							  size_t message_len, const dci_signer *signer,
							  dbuf *body, char *err, size_t errlen);

/* A parsed response envelope. */
typedef struct dci_response
{
	struct json_object *root;			/* owns everything below */
	struct json_object *header;		/* NULL when absent */
	struct json_object *message;
	const char *status;			/* header.status: succ, rjct, pdng, rcvd; NULL if none */
	const char *reason_code;	/* header (or error body) reason code */
	const char *reason_message;
	struct json_object *items;			/* message.search_response (array) or NULL */
	const char *ack_status;		/* message.ack_status (async ACK/ERR) */
} dci_response;

/*
 * Parse a response body.  Fails (-1, err set) on anything that is not a JSON
 * object (an HTML error page, a truncated body); accepts the error-body forms
 * seen in the wild ({"message":{"ack_status":"ERR","error":{...}}},
 * {"errors":[...]}, {"error":{"code","message"}}) and reports their code.
 */
int			dci_response_parse(const char *body, size_t len, dci_response *out,
							   char *err, size_t errlen);
void		dci_response_free(dci_response *r);

/*
 * The search_response item with this reference_id, or NULL (OpenCRVS omits
 * unmatched ones).  hint is where it should be (registries answer in
 * order): looked at first, so a batch of n items costs O(n), not O(n^2).
 */
struct json_object *dci_response_item(const dci_response *r, const char *reference_id, size_t hint);
/* Number of search_response items, and item i (either in an array or alone). */
size_t		dci_response_items_len(const dci_response *r);
struct json_object *dci_response_item_at(const dci_response *r, size_t i);
/* First element of message.<member> (an array or a single object), or NULL. */
struct json_object *dci_response_first(const dci_response *r, const char *member);
/* The only item of a response that has exactly one (whatever its reference_id). */
struct json_object *dci_response_single_item(const dci_response *r);
/* Parse JSON text into a json-c value (NULL on error); release with dci_json_put. */
struct json_object *dci_json_parse(const char *text);
void		dci_json_put(struct json_object *o);
/* JSON text of a json-c value; owned by the value. */
const char *dci_json_text(struct json_object *o);
/* Status, reason code of an item (NULL when absent). */
const char *dci_item_status(struct json_object *item);
const char *dci_item_reason_code(struct json_object *item);
const char *dci_item_reason_message(struct json_object *item);
/* item.data.reg_records as json-c (array, single object or NULL). */
struct json_object *dci_item_records(struct json_object *item);
/* Number of records: an array's length, 1 for a single object, else 0. */
size_t		dci_records_len(struct json_object *records);
struct json_object *dci_records_get(struct json_object *records, size_t i);
/* pagination.total_count of an item (number or numeric string); -1 when absent. */
long		dci_item_total_count(struct json_object *item);

/* Lenient readers for counts and flags that arrive as numbers or strings. */
int			dci_json_get_long(struct json_object *o, const char *key, long *out);
const char *dci_json_get_string(struct json_object *o, const char *key);
struct json_object *dci_json_get_object(struct json_object *o, const char *key);
/* Any member of an object (NULL when absent or o is not an object). */
struct json_object *dci_json_get(struct json_object *o, const char *key);

/*
 * A response that borrows header and message from another tree (a txn
 * status answer carries a callback's message): nothing to free.
 */
void		dci_response_view(struct json_object *header, struct json_object *message,
							  dci_response *out);

/*
 * Verify the signature of a response body against the registry's public key.
 * DCI_SIG_MISSING when the body has no signature.  With dci-ed25519 the digest
 * is tried over the header as received and then over the header the way
 * OpenSPP re-serializes it (nulls dropped, defaults added).
 */
dci_sig_result dci_verify_response(const char *body, size_t len,
								   dci_signing_mode mode, const dci_key *pub,
								   long now, long skew,
								   char *err, size_t errlen);

#endif
