-- A role that was only granted EXECUTE on the search functions can search,
-- but no route shows it a secret: not the tables, not errors, not results.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE dci_caller NOLOGIN;
GRANT EXECUTE ON FUNCTION dci_search_by_id(text, text, text),
                          dci_search(text, text, jsonb, text, text, integer, integer),
                          dci_records(jsonb), dci_jwks(text) TO dci_caller;

-- a bearer token and a client secret that must never show
SELECT test_source('sec_oauth_bad', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_client_secret = 'TOPSECRET-client-secret' WHERE code = 'sec_oauth_bad';
SELECT test_source('sec_bearer_bad', '/crvs');
UPDATE dci.data_source SET bearer_token = 'TOPSECRET-bearer-token' WHERE code = 'sec_bearer_bad';

SET ROLE dci_caller;
-- searching works
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042'));
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
-- the tables are closed
SELECT bearer_token FROM dci.data_source;
SELECT private_key FROM dci.signing_key;
SELECT count(*) FROM dci.data_source;
UPDATE dci.data_source SET base_url = 'http://evil.example' WHERE code = 'crvs_main';
-- administrative functions are not granted
SELECT dci_generate_signing_key('caller-key');
SELECT * FROM dci_test_connection('crvs_main');
SELECT dci_clear_token_cache();
-- failures name the source and the reason, never the secret (every field is checked below)
\set VERBOSITY terse
SELECT dci_search_by_id('sec_oauth_bad', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('sec_bearer_bad', 'BRN', 'BR-2024-0042');
\set VERBOSITY default
-- the JWKS holds public keys only
SELECT bool_or(k ? 'd' OR k ? 'p' OR k ? 'q') AS has_private_members
  FROM jsonb_array_elements(dci_jwks() -> 'keys') k;
SELECT position('PRIVATE' IN dci_jwks()::text) AS private_mentioned;
RESET ROLE;

-- the same failures, captured with every field of the error, hold no secret
CREATE FUNCTION error_text(src text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text; c text; s text;
BEGIN
    PERFORM dci_search_by_id(src, 'BRN', 'BR-2024-0042');
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT,
                            c = PG_EXCEPTION_CONTEXT, s = RETURNED_SQLSTATE;
    RETURN concat_ws(' | ', s, m, d, h, c);
END $$;
SELECT src, e <> 'no error' AS failed, e LIKE '%TOPSECRET%' AS leaks_secret, e LIKE '%spmis-secret%' AS leaks_other,
       e LIKE '%PRIVATE KEY%' AS leaks_key
  FROM unnest(ARRAY['sec_oauth_bad', 'sec_bearer_bad', 'crvs_short', 'f_401']) src,
       LATERAL error_text(src) e;

-- a server log line for each of those failures holds no secret either
-- (test/run-tests greps the server log for the TOPSECRET marker after the suite)
