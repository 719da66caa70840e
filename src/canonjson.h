/*
 * canonjson.h - canonical JSON for DCI envelope signatures.
 *
 * The DCI Ed25519 signature covers the digest of
 *   json.dumps({"header": h, "message": m}, sort_keys=True, separators=(",", ":"))
 * as Python computes it (OpenSPP's server and client).  That text is not
 * jsonb's text form, nor json-c's, so this module has its own parser that
 * keeps integers verbatim (Python ints are unbounded), and an emitter that
 * follows Python exactly:
 *   - object keys sorted by code point, a duplicate key keeps its last value;
 *   - no whitespace;
 *   - strings escaped as ensure_ascii does: \" \\ \n \r \t \b \f, other
 *     characters below 0x20, 0x7f and everything non-ASCII as lowercase
 *     \uXXXX (UTF-16 surrogate pairs above the BMP); '/' is not escaped;
 *   - integers (no '.', 'e', 'E') verbatim, other numbers as Python's
 *     repr() of the double (shortest round-trip, "1e-05", "2.5e+16", "100.0").
 *
 * No PostgreSQL headers: unit-tested and fuzzed on its own.
 */
#ifndef DCI_CANONJSON_H
#define DCI_CANONJSON_H

#include <stddef.h>

#include "dbuf.h"

typedef struct cj_node cj_node;

typedef enum cj_type
{
	CJ_NULL,
	CJ_FALSE,
	CJ_TRUE,
	CJ_NUMBER,
	CJ_STRING,
	CJ_ARRAY,
	CJ_OBJECT
} cj_type;

/* Parse JSON text (UTF-8).  NULL on error, with a message in err. */
cj_node    *cj_parse(const char *text, size_t len, char *err, size_t errlen);
void		cj_free(cj_node *n);

cj_type		cj_typeof(const cj_node *n);
/* Member of an object (last one wins); NULL when absent or n is no object. */
const cj_node *cj_get(const cj_node *obj, const char *key);
/* String value (decoded UTF-8, NUL-terminated); NULL when n is no string. */
const char *cj_string(const cj_node *n);

/* Canonical text of n, appended to out.  0 ok, -1 out of memory or bad number. */
int			cj_canonical(const cj_node *n, dbuf *out);

/*
 * Canonical text of {"header": header, "message": message} (a NULL node is
 * emitted as JSON null).  With normalize_header, the header is first made the
 * way OpenSPP's model re-serializes a response header before signing it:
 * members whose value is null are dropped and absent defaults are added
 * ("version": "1.0.0", "total_count": 0, "is_msg_encrypted": false, and
 * "completed_count": 0 in a header with a status), as spp_dci's
 * DCIMessageHeader / DCICallbackHeader models fill them.
 */
int			cj_canonical_envelope(const cj_node *header, const cj_node *message,
								  int normalize_header, dbuf *out);

/* Parse text and append its canonical form to out.  0 ok, -1 error (err set). */
int			cj_canonicalize(const char *text, size_t len, dbuf *out,
							char *err, size_t errlen);

#endif
