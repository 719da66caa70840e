-- Batch forms: one row per input with status and error; many identifiers per
-- envelope, several envelopes at once; failures mark rows, never abort.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- found, not found, rejected alone, null, and a duplicate asked once
SELECT identifier_value, (record).given_name, (record).birth_date, status, error
  FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', '1000009999', 'RJCT-7', NULL, '1000000042', '1000000007'])
 ORDER BY identifier_value NULLS LAST, status;
-- two people behind one identifier fail that row only
SELECT identifier_value, status, error FROM dci_verify_birth_batch('BRN', ARRAY['BR-DUP-0001', 'BR-2024-0042'])
 ORDER BY 1;

-- many envelopes: 3 identifiers per envelope, 2 in flight; every row answered
UPDATE dci.data_source SET batch_size = 3 WHERE code = 'crvs_main';
SET dci.batch_concurrency = 2;
SELECT requests AS r0 FROM dci_stats() \gset
SELECT status, count(*) FROM dci_verify_birth_batch('UIN',
         ARRAY(SELECT (1000000000 + g)::text FROM generate_series(1, 20) g)) GROUP BY status ORDER BY 1;
SELECT requests - :r0 AS envelopes FROM dci_stats();
RESET dci.batch_concurrency;
UPDATE dci.data_source SET batch_size = 100 WHERE code = 'crvs_main';

-- a failing registry marks every row, with the reason
SELECT status, error, count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', '1000000007'], 'f_500')
 GROUP BY 1, 2;
-- ... unless the caller asks for strict
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042'], 'f_500', strict => true);
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', NULL], strict => true);
-- an empty batch is empty
SELECT count(*) FROM dci_verify_birth_batch('UIN', '{}');

-- the set-based UPDATE pattern
CREATE TEMP TABLE child (brn text PRIMARY KEY, birth_verified boolean, birth_date date);
INSERT INTO child VALUES ('BR-2024-0042', NULL, NULL), ('BR-1999-9999', NULL, NULL), ('RJCT-3', NULL, NULL);
UPDATE child c SET birth_verified = CASE v.status WHEN 'found' THEN true WHEN 'not_found' THEN false END,
                   birth_date = (v.record).birth_date
  FROM dci_verify_birth_batch('BRN', ARRAY(SELECT brn FROM child)) v WHERE v.identifier_value = c.brn;
SELECT * FROM child ORDER BY brn;

-- DR and IBR batch forms
SELECT identifier_value, (record).has_disability, (record).functional_scores, status
  FROM dci_disability_status_batch('UIN', ARRAY['1000000200', '1000000201', '1000009999']) ORDER BY 1;
SELECT identifier_value, (result).is_duplicate, (result).matched_programs, status, error
  FROM dci_check_duplication_batch('UIN', ARRAY['1000000042', '1000000100', '1000009999', 'RJCT-1'],
                                   exclude_program => 'CG-001') ORDER BY 1;

-- the generic form: the raw records of each identifier
SELECT identifier_value, jsonb_array_length(records) AS records, status, error
  FROM dci_search_by_id_batch('crvs_main', 'BRN', ARRAY['BR-DUP-0001', 'BR-2024-0042', 'BR-1999-9999']) ORDER BY 1;

-- a token revoked mid-job: every envelope gets a 401, the token is refreshed
-- once and the envelopes are sent again
UPDATE dci.data_source SET batch_size = 2 WHERE code = 'crvs_oauth';
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042'], 'crvs_oauth');
\set revoke `curl -sf -X POST http://127.0.0.1:$DCI_TEST_PORT/admin/revoke-tokens`
SELECT retries_401 AS r0 FROM dci_stats() \gset
SELECT status, count(*) FROM dci_verify_birth_batch('UIN',
         ARRAY['1000000042', '1000000007', '1000000008', '1000000009', '1000009999'], 'crvs_oauth')
 GROUP BY 1 ORDER BY 1;
SELECT retries_401 - :r0 AS envelopes_resent FROM dci_stats();
UPDATE dci.data_source SET batch_size = 100 WHERE code = 'crvs_oauth';

-- strict stops at a failure while other envelopes are still on the wire;
-- the transfers left in flight are dropped and the next call works
UPDATE dci.data_source SET batch_size = 1 WHERE code = 'crvs_main';
SELECT count(*) FROM dci_verify_birth_batch('UIN',
         ARRAY['RJCT-1', '1000000042', '1000000007', '1000000008', '1000000009', '1000000300'], strict => true);
SELECT status, count(*) FROM dci_verify_birth_batch('UIN',
         ARRAY['1000000042', '1000000007', '1000000008', '1000000009']) GROUP BY 1;
UPDATE dci.data_source SET batch_size = 100 WHERE code = 'crvs_main';

-- statement_timeout stops a batch with every envelope in flight
\set VERBOSITY sqlstate
SET statement_timeout = '300ms';
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1', '2', '3'], 'f_delay');
RESET statement_timeout;
\set VERBOSITY terse
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042']);

-- the response cache (off by default): a repeated identifier is answered
-- from memory; failures are never cached; a config change empties it
SET dci.cache_ttl = '60s';
SELECT requests AS r0, cache_hits AS h0 FROM dci_stats() \gset
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', '1000000007', '1000009999']);
SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', '1000000007', '1000009999', '1000000008']);
SELECT (dci_verify_birth('UIN', '1000000042')).given_name, dci_verify_birth('UIN', '1000009999') IS NULL AS not_found;
SELECT requests - :r0 AS requests, cache_hits - :h0 AS cache_hits FROM dci_stats();
SELECT requests AS r0 FROM dci_stats() \gset
SELECT status, count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042'], 'f_500') GROUP BY 1;
SELECT status, count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042'], 'f_500') GROUP BY 1;
SELECT requests - :r0 AS failures_asked_again FROM dci_stats();
UPDATE dci.data_source SET timeout_seconds = timeout_seconds WHERE code = 'crvs_main';
SELECT requests AS r0 FROM dci_stats() \gset
SELECT (dci_verify_birth('UIN', '1000000042')).given_name;
SELECT requests - :r0 AS requests_after_config_change FROM dci_stats();
RESET dci.cache_ttl;
