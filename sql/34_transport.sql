-- The transport under faults: each ends in a message that says why, retries
-- only what is safe to retry, and counts time from the wire.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv blackhole DCI_TEST_BLACKHOLE_PORT
CREATE OR REPLACE FUNCTION masked(q text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(err(q), '127\.0\.0\.1(:| port )\d+', '127.0.0.1<port>', 'g'),
                          '\d+ ms', '<n> ms', 'g')
$$;

-- a refused connection is retried, then said plainly
INSERT INTO dci.data_source (code, name, base_url, signing_mode, our_sender_id, verify_response_signature, max_retries)
VALUES ('t_refused', 'refused', 'http://127.0.0.1:1/crvs', 'none', 'spmis.test', 'off', 1);
SELECT retries AS r0 FROM dci_stats() \gset
SELECT masked($$SELECT dci_search_by_id('t_refused', 'BRN', 'BR-2024-0042')$$);
SELECT retries - :r0 AS resent FROM dci_stats();

-- a reset before any byte of the answer is retried, and the retry succeeds
SELECT test_source('t_reset', '/opt/failfirst=1,key=t_reset,reset/crvs');
SELECT count(*) FROM dci_records(dci_search_by_id('t_reset', 'BRN', 'BR-2024-0042'));
-- the same reset every time: said plainly after the retries
SELECT test_source('t_reset_always', '/opt/reset/crvs');
SELECT masked($$SELECT dci_search_by_id('t_reset_always', 'BRN', 'BR-2024-0042')$$);
-- a reset in the middle of the body is not retried (the answer may have been processed)
SELECT test_source('t_resetbody', '/opt/resetbody/crvs');
SELECT retries AS r0 FROM dci_stats() \gset
SELECT masked($$SELECT dci_search_by_id('t_resetbody', 'BRN', 'BR-2024-0042')$$);
SELECT retries - :r0 AS resent FROM dci_stats();

-- 503 with Retry-After: resent after the wait the registry asked for, then served
SELECT test_source('t_503', '/opt/failfirst=1,key=t_503,status=503,retryafter=1/crvs');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM dci_records(dci_search_by_id('t_503', 'BRN', 'BR-2024-0042'));
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '900 ms' AS waited_as_asked;
-- 429 with the wait in the body (OpenSPP), no header
SELECT test_source('t_429', '/opt/failfirst=1,key=t_429,ratebody=1/crvs');
SELECT count(*) FROM dci_records(dci_search_by_id('t_429', 'BRN', 'BR-2024-0042'));
-- a wait longer than the call's budget is not waited for
SELECT test_source('t_429long', '/opt/ratebody=60/crvs');
SELECT masked($$SELECT dci_search_by_id('t_429long', 'BRN', 'BR-2024-0042')$$);

-- a drip-feeding registry: slow bytes are still an answer, within the budget
SELECT test_source('t_drip', '/opt/drip=5/crvs');
SELECT count(*) FROM dci_records(dci_search_by_id('t_drip', 'BRN', 'BR-2024-0042'));
-- ... and a timeout when they come too slowly, said as such
SELECT test_source('t_drip_slow', '/opt/drip=400/crvs');
UPDATE dci.data_source SET timeout_seconds = 1 WHERE code = 't_drip_slow';
SELECT masked($$SELECT dci_search_by_id('t_drip_slow', 'BRN', 'BR-2024-0042')$$);

-- a TLS handshake that never completes: a connect-stage timeout, not "did not answer"
INSERT INTO dci.data_source (code, name, base_url, signing_mode, our_sender_id, verify_response_signature, verify_ssl)
VALUES ('t_tlshang', 'tls hang', 'https://127.0.0.1:' || :'blackhole' || '/crvs', 'none', 'spmis.test', 'off', false);
SET dci.connect_timeout_ms = 500;
SELECT masked($$SELECT dci_search_by_id('t_tlshang', 'BRN', 'BR-2024-0042')$$);
RESET dci.connect_timeout_ms;

-- tokens revoked every second while a batch runs: each 401 takes a token issued after it,
-- every row is answered
\set revoke `curl -sf -X POST -d '{"ms":1000}' http://127.0.0.1:$DCI_TEST_PORT/admin/revoke-every`
UPDATE dci.data_source SET batch_size = 1, requests_per_minute = 600 WHERE code = 'crvs_oauth';
SELECT status, count(*) FROM dci_verify_birth_batch('UIN',
  ARRAY(SELECT (1000000300 + g)::text FROM generate_series(0, 19) g), 'crvs_oauth') GROUP BY 1 ORDER BY 1;
SELECT retries_401 > 0 AS refreshed_after_401 FROM dci_stats();
\set revoke `curl -sf -X POST -d '{"ms":0}' http://127.0.0.1:$DCI_TEST_PORT/admin/revoke-every`
UPDATE dci.data_source SET batch_size = 100, requests_per_minute = NULL WHERE code = 'crvs_oauth';
