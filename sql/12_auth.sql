-- Bearer and OAuth2 client-credentials auth: token caching, expiry and
-- refresh, the 401 retry, and failures that never show a secret.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- OAuth2: the first call fetches a token, later calls reuse it
SELECT dci_clear_token_cache();
SELECT token_fetches AS before FROM dci_stats() \gset
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'UIN', '1000000007'));
SELECT token_fetches - :before AS fetched FROM dci_stats();

-- the registry revokes every token: the next call gets a 401, refreshes once
-- and succeeds
\! curl -sf -o /dev/null -X POST http://127.0.0.1:$DCI_TEST_PORT/admin/revoke-tokens
SELECT retries_401 AS r0, token_fetches AS t0 FROM dci_stats() \gset
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
SELECT retries_401 - :r0 AS retried, token_fetches - :t0 AS fetched FROM dci_stats();

-- a short-lived token (2 s) is refreshed by itself before it lapses
\! curl -sf -o /dev/null --data '{"client_id":"short-client","client_secret":"short-secret","ttl":2}' http://127.0.0.1:$DCI_TEST_PORT/admin/clients
SELECT test_source('crvs_short', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_client_id = 'short-client', oauth2_client_secret = 'short-secret'
 WHERE code = 'crvs_short';
SELECT token_fetches AS t0, retries_401 AS r0 FROM dci_stats() \gset
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_short', 'BRN', 'BR-2024-0042'));
SELECT pg_sleep(2.5);
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_short', 'BRN', 'BR-2024-0042'));
SELECT token_fetches - :t0 AS fetched, retries_401 - :r0 AS retried FROM dci_stats();

-- expires_in sent as a string is understood
SELECT test_source('crvs_strexp', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_token_url = 'http://127.0.0.1:' || current_setting('dci_test.port') || '/opt/strexpiry/oauth2/client/token'
 WHERE code = 'crvs_strexp';
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_strexp', 'BRN', 'BR-2024-0042'));

-- dci_clear_token_cache makes the next call fetch a new token
SELECT token_fetches AS t0 FROM dci_stats() \gset
SELECT dci_clear_token_cache('crvs_oauth');
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
SELECT token_fetches - :t0 AS fetched FROM dci_stats();

-- a wrong client secret: the error names the source and the OAuth2 error, not the secret
UPDATE dci.data_source SET oauth2_client_secret = 'S3cr3t-Wrong-Value' WHERE code = 'crvs_short';
SELECT dci_search_by_id('crvs_short', 'BRN', 'BR-2024-0042');

-- a wrong static bearer token: HTTP 401, no retry for a static token
SELECT test_source('crvs_badbearer', '/crvs');
UPDATE dci.data_source SET bearer_token = 'B3arer-Wrong-Value' WHERE code = 'crvs_badbearer';
SELECT dci_search_by_id('crvs_badbearer', 'BRN', 'BR-2024-0042');

-- the registry checks our signature: without one it rejects with its reason code
SELECT test_source('crvs_nosign', '/crvs');
UPDATE dci.data_source SET signing_mode = 'none' WHERE code = 'crvs_nosign';
SELECT dci_search_by_id('crvs_nosign', 'BRN', 'BR-2024-0042');
-- signed by a key the registry does not know
SELECT length(dci_generate_signing_key('unregistered-key')) > 0 AS generated;
UPDATE dci.data_source SET signing_mode = 'dci-ed25519', signing_key_id = 'unregistered-key'
 WHERE code = 'crvs_nosign';
SELECT dci_search_by_id('crvs_nosign', 'BRN', 'BR-2024-0042');

-- OAuth2 client authentication: each client of the registry takes exactly one method
SELECT test_source('auth_basic', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_client_id = 'spmis-basic', oauth2_client_auth = 'basic' WHERE code = 'auth_basic';
SELECT test_source('auth_query', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_client_id = 'spmis-query', oauth2_client_auth = 'query' WHERE code = 'auth_query';
SELECT src, count(*) AS records FROM unnest(ARRAY['auth_basic', 'auth_query', 'crvs_oauth']) src,
       LATERAL dci_records(dci_search_by_id(src, 'BRN', 'BR-2024-0042')) r GROUP BY 1 ORDER BY 1;
-- the wrong method is refused, and the message names the method used
UPDATE dci.data_source SET oauth2_client_auth = 'body' WHERE code = 'auth_query';
SELECT err($$SELECT dci_search_by_id('auth_query', 'BRN', 'BR-2024-0042')$$);
-- a query-string secret never shows: not in the message, not in the detail
UPDATE dci.data_source SET oauth2_client_auth = 'query', oauth2_client_secret = 'TOPSECRET-query' WHERE code = 'auth_query';
CREATE FUNCTION full_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RETURN m || ' | ' || d;
END $$;
SELECT e LIKE '%refused the credentials%' AS refused, e LIKE '%TOPSECRET%' AS leaks_secret,
       e LIKE '%client_secret%' AS shows_query, e LIKE '%client authentication "query"%' AS names_method
  FROM full_error($$SELECT dci_search_by_id('auth_query', 'BRN', 'BR-2024-0042')$$) e;
