/*
 * fuzz_sign.c - fuzz targets of the signature parsers: the dci-ed25519
 * signature field (sigfield) and the compact JWS (jws).  Neither may accept
 * what the test keys did not sign, nor hand out a payload that does not
 * verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sign.h"

/* The canonical text the first dci-ed25519 vector signs (its field is a seed). */
static const char canon[] =
"{\"header\":{\"action\":\"search\",\"is_msg_encrypted\":false,\"message_id\":\"msg-0001\",\"m"
"essage_ts\":\"2025-01-01T00:00:00Z\",\"receiver_id\":\"crvs.example.org\",\"sender_id\":\""
"spmis.example.org\",\"total_count\":1,\"version\":\"1.0.0\"},\"message\":{\"search_request"
"\":[{\"reference_id\":\"ref-0001\",\"search_criteria\":{\"query\":{\"type\":\"BRN\",\"value\":\""
"BR-2024-0042\"},\"query_type\":\"idtype-value\",\"reg_type\":\"ns:org:RegistryType:Civil"
"\",\"version\":\"1.0.0\"},\"timestamp\":\"2025-01-01T00:00:00Z\"}],\"transaction_id\":\"txn-"
"0001\"}}";

/* The input as a NUL-terminated string (it stops at a NUL, as a C string would). */
static char *
as_string(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);

	if (s == NULL)
		fuzz_fail("sign", "out of memory", NULL, NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int
fuzz_sigfield(const uint8_t *data, size_t size)
{
	char	   *field = as_string(data, size);
	char		err[256];
	char		kid[64];
	dci_sig_result r;

	err[0] = '\0';
	r = dci_sig_verify(fuzz_ed25519_key(), field, canon, sizeof(canon) - 1, 1735689600L, 60,
					   kid, sizeof(kid), err, sizeof(err));
	if (r != DCI_SIG_OK && err[0] == '\0')
		fuzz_fail("sigfield", "refused without a message", NULL, NULL);
	if (strlen(kid) >= sizeof(kid))
		fuzz_fail("sigfield", "kid overflows its buffer", NULL, NULL);
	free(field);
	return 0;
}

int
fuzz_jws(const uint8_t *data, size_t size)
{
	char	   *jws = as_string(data, size);
	char		err[256];
	dbuf		payload;
	dci_sig_result r;

	dbuf_init(&payload);
	r = dci_jws_verify(fuzz_rsa_key(), jws, &payload, err, sizeof(err));
	if (r != DCI_SIG_OK && payload.len != 0)
		fuzz_fail("jws", "a payload handed out without a valid signature", &payload, NULL);
	/* an Ed25519 key never verifies RS256 */
	dbuf_reset(&payload);
	if (dci_jws_verify(fuzz_ed25519_key(), jws, &payload, err, sizeof(err)) == DCI_SIG_OK)
		fuzz_fail("jws", "verified with the wrong kind of key", NULL, NULL);
	dbuf_free(&payload);
	free(jws);
	return 0;
}
