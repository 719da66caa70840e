/*
 * canonjson.h - the one JSON parser of dci: bounded, arena-allocated, and
 * canonical JSON for DCI envelope signatures.
 *
 * Every answer a registry sends is parsed once, into one compact tree that
 * serves both the signature check and the record mappers.  The tree lives in
 * a single allocation (freed at once by cj_free), its size known before it
 * is allocated: a first pass validates the text and counts, a second builds.
 *
 * The DCI Ed25519 signature covers the digest of
 *   json.dumps({"header": h, "message": m}, sort_keys=True, separators=(",", ":"))
 * as Python computes it (OpenSPP's server and client).  The canonical emitter
 * follows Python exactly:
 *   - object keys sorted by code point, a duplicate key keeps its last value;
 *   - no whitespace;
 *   - strings escaped as ensure_ascii does: \" \\ \n \r \t \b \f, other
 *     characters below 0x20, 0x7f and everything non-ASCII as lowercase
 *     \uXXXX (UTF-16 surrogate pairs above the BMP); '/' is not escaped;
 *   - integers (no '.', 'e', 'E') verbatim, Python ints being unbounded
 *     ("-0" is 0); other numbers as Python's repr() of the double (shortest
 *     round-trip: "1e-05", "2.5e+16", "100.0").
 *
 * Numbers are handed out only in that canonical form, by the accessor and by
 * both emitters: what a reader sees is what was signed.  So 1.0 and
 * 0.99999999999999999999 both read "1.0", and 1e-400 reads "0.0".  A number
 * with no canonical form (1e400 overflows the double; an integer of more than
 * 4300 digits is refused by Python's int()) makes the whole text invalid.
 *
 * The parser is strict RFC 8259 and refuses text that is not UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF, and \u escapes
 * that leave a surrogate alone).  "\u0000" is valid JSON: the string keeps it
 * (use the length, not strlen) and its node and every enclosing container
 * carry a flag, cj_has_nul, that answers in O(1).
 *
 * No PostgreSQL headers: unit-tested and fuzzed on its own.
 */
#ifndef DCI_CANONJSON_H
#define DCI_CANONJSON_H

#include <stddef.h>

#include "dbuf.h"

/* A node of a parsed tree; owned by the tree, valid until cj_free(root). */
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

/* Why a text was refused; the glue maps these to its errors. */
typedef enum cj_result
{
	CJ_OK = 0,
	CJ_ERR_SYNTAX,				/* not JSON */
	CJ_ERR_TRUNCATED,			/* the text ends inside a value (or is empty) */
	CJ_ERR_UTF8,				/* not UTF-8, or a \u escape leaves a surrogate alone */
	CJ_ERR_BUDGET,				/* more nodes or deeper nesting than the limits allow */
	CJ_ERR_NOMEM,				/* out of memory */
	CJ_ERR_NUMBER,				/* a number with no canonical form (1e400, > 4300 digits) */
	CJ_ERR_SHAPE				/* JSON, but not the shape the caller needs (envelope layer) */
} cj_result;

/* Short English name of a result ("syntax error", "truncated", ...). */
const char *cj_result_name(cj_result r);

/*
 * Limits of one parse.  Nodes are values and object keys, all counted: a
 * node costs 8 bytes of tree, plus its text for strings and numbers.  Zero
 * means the default; max_depth is at most CJ_MAX_DEPTH.
 */
typedef struct cj_limits
{
	size_t		max_nodes;
	int			max_depth;
} cj_limits;

#define CJ_DEFAULT_MAX_NODES	4000000
#define CJ_DEFAULT_MAX_DEPTH	256
#define CJ_MAX_DEPTH			1000
/* Longest string (bytes) and largest array or object (members) a tree holds. */
#define CJ_MAX_LEN				((1u << 26) - 1)

/*
 * Parse JSON text.  The root, or NULL with *res (when not NULL) saying why
 * and a message in err.  lim NULL: the defaults.
 */
cj_node    *cj_parse_ex(const char *text, size_t len, const cj_limits *lim,
						cj_result *res, char *err, size_t errlen);
/* cj_parse_ex with the default limits. */
cj_node    *cj_parse(const char *text, size_t len, char *err, size_t errlen);
/* Free a tree: only a root returned by cj_parse / cj_parse_ex (NULL is fine). */
void		cj_free(cj_node *root);
/* Bytes the tree of this root holds (one allocation). */
size_t		cj_memory(const cj_node *root);

/* ---- reading (every accessor takes NULL and the wrong type quietly) ---- */

/* Type of n; CJ_NULL for a NULL pointer (an absent member). */
cj_type		cj_typeof(const cj_node *n);
/*
 * 1 when n or anything under it (values and keys) holds U+0000; a member
 * shadowed by a later duplicate key does not count (it is no data: Python,
 * the emitters and cj_get all drop it).
 */
int			cj_has_nul(const cj_node *n);

/* String value: NUL-terminated UTF-8; NULL when n is no string.  May hold NULs: see cj_str. */
const char *cj_string(const cj_node *n);
/* String value and its length in bytes; NULL when n is no string. */
const char *cj_str(const cj_node *n, size_t *len);
/* Canonical text of a number (what was signed); NULL when n is no number. */
const char *cj_number(const cj_node *n, size_t *len);
/* 1 when n is a number written as an integer (its text is then the exact integer). */
int			cj_is_integer(const cj_node *n);

/*
 * Lenient integer of a number (3, 3.0) or of a numeric string (" 3 ", "-2"):
 * 1 and *out set; 0 for NULL, null and a blank string; -1 for anything else,
 * including 3.5, "3x", and any value beyond a long (refused, never clamped).
 */
int			cj_long(const cj_node *n, long *out);

/* Arrays: length (0 for anything else) and item i (NULL when out of range). */
size_t		cj_array_len(const cj_node *n);
const cj_node *cj_array_get(const cj_node *n, size_t i);

/*
 * Objects: members as sent, duplicates included.  cj_object_shadowed says
 * whether a later member has the same key (then cj_get, the emitters and
 * Python all use the later one).
 */
size_t		cj_object_len(const cj_node *n);
const char *cj_object_key(const cj_node *n, size_t i, size_t *len);
const cj_node *cj_object_value(const cj_node *n, size_t i);
int			cj_object_shadowed(const cj_node *n, size_t i);
/* Member of an object (the last of duplicates); NULL when absent or n is no object. */
const cj_node *cj_get(const cj_node *obj, const char *key);

/* ---- writing ---- */

/* Canonical text of n (see above), appended to out.  0 ok, -1 out of memory. */
int			cj_canonical(const cj_node *n, dbuf *out);

/*
 * Compact JSON text of n, appended to out: canonical, except that non-ASCII
 * characters and 0x7f are written as UTF-8 (Python's ensure_ascii=False), the
 * cheaper form for jsonb_in.  A string holding U+0000 is written "\u0000",
 * which PostgreSQL refuses: check cj_has_nul first.  0 ok, -1 out of memory.
 */
int			cj_compact(const cj_node *n, dbuf *out);

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

/* Parse text (default limits) and append its canonical form to out.  0 ok, -1 error (err set). */
int			cj_canonicalize(const char *text, size_t len, dbuf *out,
							char *err, size_t errlen);

#endif
