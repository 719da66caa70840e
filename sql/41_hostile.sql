-- A hostile registry, or anyone between us and it.  Every answer below is
-- validly signed by the registry's key, so only dci's own checks stand
-- between it and the database: no answer is taken for the answer to another
-- question, none crashes the backend or exhausts its memory, none stores
-- bytes PostgreSQL cannot hold, none is acted on before its signature is
-- checked.  Each case ends with nothing returned that should not be.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- answers not bound to our request: DC005, never data
SELECT test_source('h_' || o, '/opt/' || o || '/crvs')
  FROM unnest(ARRAY['wrongtxn', 'notxn', 'wrongreceiver', 'wrongref']) o;
SELECT test_source('h_other', '/opt/otherperson=BRN:BR-1950-0007/crvs');
SELECT test_source('h_replay', '/opt/replay,key=h_replay/crvs');
SELECT src, err(format($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', %L)$$, src))
  FROM unnest(ARRAY['h_wrongtxn', 'h_notxn', 'h_wrongreceiver', 'h_wrongref', 'h_other']) src;
-- a captured answer about one person replayed as the answer about another
SELECT given_name FROM dci_verify_birth('BRN', 'BR-1950-0007', 'h_replay');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_replay')$$) AS replayed;
-- the same in a batch: every row failed, none found
SELECT status, count(*) FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042', 'BR-1950-0007'], 'h_wrongref')
 GROUP BY 1;
-- a registry that really omits the ids is read in order only when the source says so
UPDATE dci.data_source SET relax_response_binding = true WHERE code = 'h_notxn';
SELECT given_name FROM dci_verify_birth('BRN', 'BR-2024-0042', 'h_notxn');
-- ... and a wrong value stays wrong even then
UPDATE dci.data_source SET relax_response_binding = true WHERE code = 'h_wrongtxn';
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_wrongtxn')$$);

-- hostile bodies: a huge nesting, a huge flat list, numbers with two readings
SELECT test_source('h_nest', '/opt/nest=200000/crvs');
SELECT test_source('h_flat', '/opt/flat=4500000/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_nest')$$);
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_flat')$$);
SELECT test_source('h_numambig', '/opt/numambig/crvs');
-- the value handed to SQL is the one that was signed (1.0), not the text sent (0.9999...)
SELECT (record -> '_amount')::numeric AS signed_value FROM dci_verify_birth('BRN', 'BR-2024-0042', 'h_numambig');
SELECT test_source('h_bigint', '/opt/bigint/crvs');
SELECT (record -> '_bigint')::text AS kept_exactly FROM dci_verify_birth('BRN', 'BR-2024-0042', 'h_bigint');

-- bytes PostgreSQL cannot hold: invalid UTF-8 is refused in every mode ...
SELECT test_source('h_badutf8', '/opt/badutf8/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_badutf8')$$);
UPDATE dci.data_source SET verify_response_signature = 'off' WHERE code = 'h_badutf8';
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_badutf8')$$) AS unsigned_too;
-- ... and \u0000 fails its own row, not the batch
SELECT test_source('h_nul', '/opt/nul/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_nul')$$);
SELECT identifier_value, status, error FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042', 'BR-1999-9999'], 'h_nul')
 ORDER BY 1;

-- protocol deviations named by the rule they break
SELECT test_source('h_rcvd', '/opt/rcvd/crvs');
SELECT test_source('h_noheader', '/opt/noheader/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_rcvd')$$);
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_noheader')$$);
-- an unsigned header rjct is a signature error, not a rejection acted on
SELECT test_source('h_unsigned_rjct', '/opt/rjct=rjct.errors.too_many,unsigned/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_unsigned_rjct')$$);

-- runaway pagination: a registry that ignores page_number and promises a million records
SELECT test_source('h_pages', '/opt/ignorepage/ibr', 'ibr');
SELECT err($$SELECT count(*) FROM dci_search_beneficiary('UIN', '1000000100', 'h_pages')$$);
SELECT requests AS r0 FROM dci_stats() \gset
SELECT err($$SELECT dci_search_by_predicate('h_pages', '[{"seq_num":1,"expression1":{"attribute_name":"enrollment_status","operator":"ge","attribute_value":0}}]',
                                             page_size => 2, all_pages => true, max_records => 100000000)$$);
SELECT requests - :r0 AS requests_sent FROM dci_stats();

-- a token endpoint that would inject an HTTP header
SELECT test_source('h_crlf', '/opt/crlftoken/crvs', 'crvs', 'oauth2');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_crlf')$$);

-- a registry that asks to be left alone for a year is left alone for an hour at most
SELECT test_source('h_year', '/opt/status=503,retryafter=31000000/crvs');
UPDATE dci.data_source SET max_retries = 0 WHERE code = 'h_year';
SET dci.breaker_threshold = 5;
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_year')$$);
SELECT paused_until < now() + interval '1 hour 1 minute' AS capped FROM dci_source_status() WHERE source = 'h_year';
-- the next call fails at once rather than wait beyond its timeout; dci_reset_circuit forgets the pause
SELECT regexp_replace(err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'h_year')$$),
                      '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[-+]\d\d', '<time>') AS paused;
SELECT dci_reset_circuit('h_year');
SELECT paused_until IS NULL AS forgotten FROM dci_source_status() WHERE source = 'h_year';
SET dci.breaker_threshold = 0;

-- the backend is still here, and nothing hostile reached a table
SELECT 'backend alive' AS survived;
