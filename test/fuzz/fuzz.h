/*
 * fuzz.h - the fuzz targets of the protocol layer, one per parser of
 * outside bytes.  Each takes any bytes and must neither crash, leak nor
 * break one of its invariants (then it calls fuzz_fail, which aborts).
 *
 * fuzz_main.c runs them: built with -DFUZZ_STANDALONE it replays corpus
 * files (test/fuzz/corpus/<target>/), built with -DFUZZ_TARGET=<name> and
 * -fsanitize=fuzzer it is the libFuzzer entry of that target.
 */
#ifndef DCI_FUZZ_H
#define DCI_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "dbuf.h"

int			fuzz_canonjson(const uint8_t *data, size_t size);
int			fuzz_envelope(const uint8_t *data, size_t size);
int			fuzz_records(const uint8_t *data, size_t size);
int			fuzz_sigfield(const uint8_t *data, size_t size);
int			fuzz_jws(const uint8_t *data, size_t size);
int			fuzz_oauth2(const uint8_t *data, size_t size);
int			fuzz_retry(const uint8_t *data, size_t size);
int			fuzz_callback(const uint8_t *data, size_t size);
int			fuzz_ack(const uint8_t *data, size_t size);

/* Report a broken invariant (with up to two texts) and abort. */
void		fuzz_fail(const char *target, const char *what, const dbuf *a, const dbuf *b)
			__attribute__((noreturn));

/* The test keys (public halves of test/vectors), loaded once. */
struct dci_key;
const struct dci_key *fuzz_ed25519_key(void);
const struct dci_key *fuzz_rsa_key(void);

#endif
