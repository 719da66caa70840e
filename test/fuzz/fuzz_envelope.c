/*
 * fuzz_envelope.c - fuzz targets of response parsing (envelope) and record
 * mapping over arbitrary records (records).
 *
 * envelope: a body is parsed once under a modest budget; then everything the
 * glue does with an answer runs on it: signature checks in both modes with
 * the test keys (which must never accept: nothing here is signed by them
 * except the committed seeds, whose signatures may verify), binding fields,
 * every item, its records mapped three ways, the identifier check, the
 * compact text of each record (which parses back).  records: the input is
 * one record, or a list of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "envelope.h"
#include "fuzz.h"
#include "records.h"
#include "sign.h"

/* What the glue does with one record. */
static void
map_record(const cj_node *rec)
{
	dci_birth	b;
	dci_enrollment e;
	dci_disability d;
	long		n;
	int			rc;
	dbuf		t;

	rc = dci_map_birth(rec, DCI_PROFILE_SPDCI, "BRN", &b);
	if (rc == DCI_REC_NUL && !cj_has_nul(rec))
		fuzz_fail("records", "DCI_REC_NUL for a record without U+0000", NULL, NULL);
	if (rc != DCI_REC_OK && (b.person_name != NULL || b.identifier_value != NULL))
		fuzz_fail("records", "a refused record left values behind", NULL, NULL);
	dci_birth_clear(&b);
	(void) dci_map_birth(rec, DCI_PROFILE_OPENCRVS, NULL, &b);
	dci_birth_clear(&b);
	(void) dci_map_enrollment(rec, "UIN", &e);
	dci_enrollment_clear(&e);
	(void) dci_map_disability(rec, &d);
	(void) dci_disability_is_pwd(&d, 3);
	dci_disability_clear(&d);
	rc = dci_rec_has_identifier(rec, "BRN", "B-1");
	if (rc == DCI_ID_NONE && cj_has_nul(rec) && cj_typeof(rec) == CJ_OBJECT)
		fuzz_fail("records", "a record with U+0000 answered DCI_ID_NONE", NULL, NULL);
	(void) dci_rec_text(rec, "name");
	(void) dci_rec_long(rec, "total_count", &n);
	(void) dci_rec_bool(rec, "deceased");
	/* the text the glue hands to jsonb_in parses back */
	dbuf_init(&t);
	if (cj_compact(rec, &t) != 0)
		fuzz_fail("records", "cj_compact failed", NULL, NULL);
	{
		cj_node    *again = cj_parse(t.data, t.len, NULL, 0);

		if (again == NULL)
			fuzz_fail("records", "compact text of a record does not parse", &t, NULL);
		cj_free(again);
	}
	dbuf_free(&t);
}

int
fuzz_records(const uint8_t *data, size_t size)
{
	cj_limits	lim = {20000, 64};
	cj_node    *n = cj_parse_ex((const char *) data, size, &lim, NULL, NULL, 0);

	if (n == NULL)
		return 0;
	map_record(n);
	for (size_t i = 0; i < dci_records_len(n) && i < 1000; i++)
		map_record(dci_records_get(n, i));
	cj_free(n);
	return 0;
}

int
fuzz_envelope(const uint8_t *data, size_t size)
{
	cj_limits	lim = {20000, 64};
	dci_response r;
	char		err[256];
	cj_result	res = dci_response_parse((const char *) data, size, &lim, &r, err, sizeof(err));
	long		total;

	if (res != CJ_OK)
	{
		if (r.root != NULL || err[0] == '\0')
			fuzz_fail("envelope", "a refused answer holds a tree or says nothing", NULL, NULL);
		return 0;
	}
	(void) dci_verify_parsed(&r, DCI_SIGN_ED25519, fuzz_ed25519_key(), 1735689600L, 60, err, sizeof(err));
	(void) dci_verify_parsed(&r, DCI_SIGN_JWS_RS256, fuzz_rsa_key(), 1735689600L, 60, err, sizeof(err));
	if (cj_has_nul(r.header))
		fuzz_fail("envelope", "a header with U+0000 was accepted", NULL, NULL);
	for (size_t i = 0; i < dci_response_nitems(&r) && i < 1000; i++)
	{
		const cj_node *it = dci_response_item_at(&r, i);
		const char *ref = dci_item_reference_id(it);
		const cj_node *recs = dci_item_records(it);

		if (ref != NULL && dci_response_item(&r, ref, i) == NULL)
			fuzz_fail("envelope", "an item is not found by its own reference_id", NULL, NULL);
		(void) dci_item_status(it);
		(void) dci_item_reason_code(it);
		(void) dci_item_reason_message(it);
		(void) dci_item_total_count(it, &total);
		for (size_t k = 0; k < dci_records_len(recs) && k < 1000; k++)
			map_record(dci_records_get(recs, k));
	}
	(void) dci_response_first(&r, "enrolled_response");
	(void) dci_response_single_item(&r);
	dci_response_free(&r);
	return 0;
}
