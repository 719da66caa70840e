/*
 * verify.h - request signature checks (verify.c).
 */
#ifndef DCI_REGISTRY_VERIFY_H
#define DCI_REGISTRY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

typedef enum sig_check
{
	SIG_OK,
	SIG_MISSING,				/* err.signature.missing */
	SIG_UNKNOWN,				/* err.sender.unknown */
	SIG_INVALID					/* err.signature.invalid */
} sig_check;

/*
 * Check env's signature (dci-ed25519, or a compact JWS when it looks like
 * one) over body, the request text.  header.sender_id must already be known
 * to be a non-empty string.  lax skips the OpenSPP header-shape check.
 */
sig_check	verify_request(struct json_object *env, const char *body, size_t len, bool lax,
						   char *msg, size_t msglen);
const char *sig_check_code(sig_check c);

#endif
