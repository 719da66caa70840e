/*
 * fuzz_callback.c - fuzz targets of what registries send back
 * asynchronously: callbacks (callback) and the ACK of an async request
 * (ack).  An accepted callback has its binding fields; our own ACK built
 * from whatever an ACK said is canonical JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callback.h"
#include "canonjson.h"
#include "fuzz.h"
#include "records.h"

int
fuzz_callback(const uint8_t *data, size_t size)
{
	cj_limits	lim = {20000, 64};
	dci_callback cb;
	char		err[256];
	cj_result	r = dci_callback_parse((const char *) data, size, &lim, &cb, err, sizeof(err));
	dci_subscription subs[8];
	size_t		n;

	if (r != CJ_OK)
	{
		if (cb.env.root != NULL || err[0] == '\0')
			fuzz_fail("callback", "a refused callback holds a tree or says nothing", NULL, NULL);
		return 0;
	}
	if (cb.action == DCI_CB_UNKNOWN || cb.message_id == NULL || cb.message_ts == NULL ||
		(cb.env.message != NULL && cb.transaction_id == NULL))
		fuzz_fail("callback", "accepted without its header or transaction_id", NULL, NULL);
	(void) dci_verify_parsed(&cb.env, DCI_SIGN_ED25519, fuzz_ed25519_key(), 1735689600L, 60, err, sizeof(err));
	for (size_t i = 0; i < dci_cb_nitems(&cb) && i < 1000; i++)
	{
		const cj_node *it = dci_cb_item(&cb, i);
		const cj_node *recs = dci_item_records(it);
		dci_birth	b;

		(void) dci_item_reference_id(it);
		(void) dci_item_status(it);
		for (size_t k = 0; k < dci_records_len(recs) && k < 100; k++)
		{
			(void) dci_map_birth(dci_records_get(recs, k), DCI_PROFILE_SPDCI, NULL, &b);
			dci_birth_clear(&b);
		}
	}
	n = dci_cb_subscriptions(&cb, subs, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (subs[i].code == NULL)
			fuzz_fail("callback", "a subscription without its code", NULL, NULL);
	dci_callback_free(&cb);
	return 0;
}

int
fuzz_ack(const uint8_t *data, size_t size)
{
	dci_ack		a;
	char		err[256];
	dbuf		out;

	if (dci_ack_parse((const char *) data, size, NULL, &a, err, sizeof(err)) != CJ_OK)
	{
		if (a.root != NULL)
			fuzz_fail("ack", "a refused ACK holds a tree", NULL, NULL);
		return 0;
	}
	/* echo it back as ours: always canonical JSON */
	dbuf_init(&out);
	if (dci_build_ack(&out, a.status == DCI_ACK_ERR ? "ERR" : a.status == DCI_ACK_NACK ? "NACK" : "ACK",
					  1735689600L, a.correlation_id, a.error_code ? a.error_code : "err.request.bad",
					  a.error_message) != 0)
		fuzz_fail("ack", "dci_build_ack failed", NULL, NULL);
	{
		dbuf		c;
		cj_node    *n = cj_parse(out.data, out.len, err, sizeof(err));

		dbuf_init(&c);
		if (n == NULL || cj_canonical(n, &c) != 0 || c.len != out.len || memcmp(c.data, out.data, c.len) != 0)
			fuzz_fail("ack", "our ACK is not canonical JSON", &out, &c);
		cj_free(n);
		dbuf_free(&c);
	}
	dbuf_free(&out);
	dci_ack_free(&a);
	return 0;
}
