-- Offline (see 01_offline_config.sql): every function that takes a source
-- refuses an unknown or an inactive one with an ERROR that names it, before
-- it sends anything; batch forms too (a configuration error is not a row's
-- 'failed'), and dci_test_connection too (it reports failures, not these).
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE EXTENSION dci;

CREATE FUNCTION pg_temp.failure(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
    RETURN s || ' ' || m;
END $$;

-- the documented message, for the simplest call and for a default source
SELECT dci_search_by_id('no_such_source', 'BRN', 'BR-1');
SELECT dci_verify_birth('BRN', 'BR-1');
SELECT dci_check_duplication('UIN', '42');
SELECT dci_disability_status('UIN', '42');
SELECT * FROM dci_test_connection('no_such_source');

-- a complete source, but inactive (its URL would refuse a connection anyway)
INSERT INTO dci.data_source (code, name, our_sender_id, base_url, signing_mode, verify_response_signature, active)
VALUES ('paused', 'paused', 'mis.example', 'http://127.0.0.1:1/never', 'none', 'off', false);
SELECT dci_search_by_id('paused', 'BRN', 'BR-1');

-- every function, with an unknown and with an inactive source (%1$L)
CREATE TEMP TABLE call (fn text, q text);
INSERT INTO call VALUES
    ('dci_search', $$SELECT dci_search(%1$L, 'idtype-value', '{"type": "BRN", "value": "BR-1"}')$$),
    ('dci_search_by_id', $$SELECT dci_search_by_id(%1$L, 'BRN', 'BR-1')$$),
    ('dci_search_pages', $$SELECT dci_search_pages(%1$L, 'predicate', '[]', all_pages => true)$$),
    ('dci_search_by_predicate', $$SELECT dci_search_by_predicate(%1$L, '[]')$$),
    ('dci_search_by_expression', $$SELECT dci_search_by_expression(%1$L, '{}')$$),
    ('dci_search_by_date_range', $$SELECT dci_search_by_date_range(%1$L, 'birth_date', '2024-01-01', '2024-12-31')$$),
    ('dci_search_by_identifier_opencrvs', $$SELECT dci_search_by_identifier_opencrvs(%1$L, 'BRN', 'BR-1')$$),
    ('dci_search_by_id_batch', $$SELECT * FROM dci_search_by_id_batch(%1$L, 'BRN', ARRAY['BR-1', 'BR-2'])$$),
    ('dci_verify_birth', $$SELECT * FROM dci_verify_birth('BRN', 'BR-1', %1$L)$$),
    ('dci_verify_birth_batch', $$SELECT * FROM dci_verify_birth_batch('BRN', ARRAY['BR-1', 'BR-2'], %1$L)$$),
    ('dci_is_deceased', $$SELECT dci_is_deceased('UIN', '42', %1$L)$$),
    ('dci_check_duplication', $$SELECT * FROM dci_check_duplication('UIN', '42', %1$L)$$),
    ('dci_check_duplication(jsonb)', $$SELECT * FROM dci_check_duplication('[{"type": "UIN", "value": "42"}]'::jsonb, %1$L)$$),
    ('dci_check_duplication_batch', $$SELECT * FROM dci_check_duplication_batch('UIN', ARRAY['42', '43'], %1$L)$$),
    ('dci_search_beneficiary', $$SELECT * FROM dci_search_beneficiary('UIN', '42', %1$L)$$),
    ('dci_disability_status', $$SELECT * FROM dci_disability_status('UIN', '42', %1$L)$$),
    ('dci_disability_status_batch', $$SELECT * FROM dci_disability_status_batch('UIN', ARRAY['42', '43'], %1$L)$$),
    ('dci_functional_scores', $$SELECT * FROM dci_functional_scores('UIN', '42', %1$L)$$),
    ('dci_is_pwd', $$SELECT dci_is_pwd('UIN', '42', %1$L)$$),
    ('dci_test_connection', $$SELECT * FROM dci_test_connection(%1$L)$$);
SELECT fn,
       split_part(u, ' ', 1) AS unknown, position('"no_such_source"' IN u) > 0 AS named,
       split_part(i, ' ', 1) AS inactive, position('"paused"' IN i) > 0 AS named
  FROM call,
       LATERAL pg_temp.failure(format(q, 'no_such_source')) u,
       LATERAL pg_temp.failure(format(q, 'paused')) i
 ORDER BY fn;
-- strict batch forms the same
SELECT split_part(pg_temp.failure($$SELECT * FROM dci_verify_birth_batch('BRN', ARRAY['BR-1'], 'paused', strict => true)$$), ' ', 1) AS strict_batch;
-- dci_test_connection recorded nothing on the source: it never ran
SELECT last_test_at IS NULL AS untested FROM dci.data_source WHERE code = 'paused';

-- codes are matched exactly
SELECT split_part(pg_temp.failure($$SELECT dci_search_by_id('PAUSED', 'BRN', 'BR-1')$$), ' ', 1) AS upper_case,
       split_part(pg_temp.failure($$SELECT dci_search_by_id(' paused', 'BRN', 'BR-1')$$), ' ', 1) AS leading_space,
       split_part(pg_temp.failure(format('SELECT dci_search_by_id(%L, %L, %L)', repeat('x', 200), 'BRN', 'BR-1')), ' ', 1) AS too_long;

-- activated (with a URL that is not http), it fails for that reason instead
UPDATE dci.data_source SET active = true, base_url = 'ftp://registry.example/' WHERE code = 'paused';
SELECT split_part(pg_temp.failure($$SELECT dci_search_by_id('paused', 'BRN', 'BR-1')$$), ' ', 1) AS after_activation;

DROP EXTENSION dci;
