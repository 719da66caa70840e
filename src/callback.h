/*
 * callback.h - what registries send back asynchronously (no PostgreSQL):
 * the ACK that answers our async request, the callbacks they POST to our
 * sender_uri (on-search, on-subscribe, on-unsubscribe, notify,
 * txn-on-status), and the ACK body we answer a callback with.
 *
 * A callback is an answer, not a trusted input: it is parsed once under the
 * caller's limits like a response (envelope.h), its signature checked with
 * dci_verify_parsed(&cb->env, ...), and bound to our request by the
 * transaction_id, correlation_id and reference_ids read here.
 */
#ifndef DCI_CALLBACK_H
#define DCI_CALLBACK_H

#include <stddef.h>

#include "canonjson.h"
#include "dbuf.h"
#include "envelope.h"

/* ---- the ACK of an async request ---- */

typedef enum dci_ack_status
{
	DCI_ACK_UNKNOWN = 0,		/* absent or not one of the three */
	DCI_ACK_ACK,				/* valid; a callback will follow */
	DCI_ACK_NACK,				/* valid; nothing will follow */
	DCI_ACK_ERR					/* invalid: see error_code */
} dci_ack_status;

typedef struct dci_ack
{
	cj_node    *root;			/* owns the strings below */
	dci_ack_status status;
	const char *ack_status;		/* as sent */
	const char *correlation_id;
	const char *timestamp;
	const char *error_code;		/* a string or a number's text */
	const char *error_message;
} dci_ack;

/*
 * Read {"message":{"ack_status","correlation_id","timestamp","error":{"code","message"}}}.
 * CJ_OK, a parser result, or CJ_ERR_SHAPE when it is no object or has no
 * message object.  A DCI envelope with a status in its header (a registry
 * that answers synchronously) is not an ACK: CJ_ERR_SHAPE too.
 */
cj_result	dci_ack_parse(const char *body, size_t len, const cj_limits *lim,
						  dci_ack *out, char *err, size_t errlen);
void		dci_ack_free(dci_ack *a);

/*
 * Our ACK of a callback:
 *   {"message":{"ack_status":S,"correlation_id":C,"error":{"code":E,"message":M},"timestamp":T}}
 * status is "ACK", "NACK" or "ERR"; error only with ERR (error_code required
 * then, error_message optional).  correlation_id NULL is sent as "".
 * 0 ok, -1 for a bad status or out of memory.
 */
int			dci_build_ack(dbuf *out, const char *status, long timestamp,
						  const char *correlation_id,
						  const char *error_code, const char *error_message);

/* ---- callbacks ---- */

typedef enum dci_cb_action
{
	DCI_CB_UNKNOWN = 0,
	DCI_CB_ON_SEARCH,			/* message: SearchResponse, items search_response[] */
	DCI_CB_ON_SUBSCRIBE,		/* SubscribeResponse, items subscribe_response[] */
	DCI_CB_ON_UNSUBSCRIBE,		/* UnSubscribeResponse, items subscription_status[] */
	DCI_CB_NOTIFY,				/* NotifyEventRequest, items notify_event[] */
	DCI_CB_TXN_ON_STATUS		/* TxnStatusResponse: txn_status holds one of the above */
} dci_cb_action;

/* "on-search" ... "txn-on-status" for an action; NULL for DCI_CB_UNKNOWN. */
const char *dci_cb_action_name(dci_cb_action a);

typedef struct dci_callback
{
	dci_response env;			/* the parsed envelope: verify with dci_verify_parsed(&cb->env, ...) */
	dci_cb_action action;
	/* MsgCallbackHeader (strings: NULL when absent; the header never holds U+0000) */
	const char *message_id;
	const char *message_ts;
	const char *status;			/* rcvd, pdng, succ, rjct (may be NULL for on-(un)subscribe) */
	const char *reason_code;
	const char *reason_message;
	const char *sender_id;
	const char *receiver_id;
	long		total_count;	/* -1 when absent */
	long		completed_count;	/* -1 when absent */
	/* message */
	const char *transaction_id;
	const char *correlation_id;
	/* txn-on-status: the type asked about, and what txn_status holds */
	const char *txn_type;		/* as sent: search / on-search, subscribe, unsubscribe */
	dci_cb_action inner;		/* DCI_CB_ON_SEARCH, _ON_SUBSCRIBE or _ON_UNSUBSCRIBE */
	const cj_node *payload;		/* the message the items are read from (txn_status for txn-on-status) */
	/* on-unsubscribe: the message-level status and timestamp */
	const char *payload_status;
	const char *payload_timestamp;
	/* the items of the action (an array, or one object); see dci_cb_nitems */
	const cj_node *items;
} dci_callback;

/*
 * Parse a callback body.  CJ_OK, a parser result, or CJ_ERR_SHAPE with err
 * saying what is wrong: no header object; no message_id, message_ts or
 * action, or no status where the header is a MsgCallbackHeader (every action
 * but on-subscribe and on-unsubscribe, whose schema uses MsgHeader);
 * an action that is no callback; an encrypted message (not supported); a
 * message that is absent (allowed only with status rjct), no object, or
 * without transaction_id; counts that are no integers.  *out is always safe
 * to free.
 */
cj_result	dci_callback_parse(const char *body, size_t len, const cj_limits *lim,
							   dci_callback *out, char *err, size_t errlen);
void		dci_callback_free(dci_callback *cb);

/*
 * Items of the callback: search_response[i] (on-search, and txn-on-status
 * for a search), subscribe_response[i], subscription_status[i] or
 * notify_event[i].  Read them with the item accessors of envelope.h
 * (dci_item_reference_id, dci_item_status, dci_item_records: notify_event
 * items carry data.reg_records too).
 */
size_t		dci_cb_nitems(const dci_callback *cb);
const cj_node *dci_cb_item(const dci_callback *cb, size_t i);

/* One subscription an on-subscribe / on-unsubscribe reports. */
typedef struct dci_subscription
{
	const char *reference_id;	/* of the subscribe_request item (on-subscribe) */
	const char *code;			/* the subscription code */
	const char *status;			/* subscribe, unsubscribe */
	const char *timestamp;
} dci_subscription;

/*
 * The subscriptions reported: subscribe_response[].subscriptions[] of an
 * on-subscribe, subscription_status[] of an on-unsubscribe (the same through
 * txn-on-status).  Writes at most max into out and returns how many there
 * are (call with max 0 to count).  Entries without a code are left out.
 */
size_t		dci_cb_subscriptions(const dci_callback *cb, dci_subscription *out, size_t max);

#endif
