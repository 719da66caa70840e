-- With dci in shared_preload_libraries (as the suite runs), one OAuth2 token
-- serves every backend: other sessions neither fetch their own nor can read it.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT current_setting('shared_preload_libraries') ~ 'dci' AS preloaded;
SELECT dci_clear_token_cache();
\set reset `curl -sf -X POST http://127.0.0.1:$DCI_TEST_PORT/admin/reset-stats`
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
SELECT * FROM dblink(format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                            current_setting('port'), current_database()),
    $$SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'))$$) AS t(n bigint);
SELECT * FROM dblink(format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                            current_setting('port'), current_database()),
    $$SELECT count(*) FROM dci_verify_birth_batch('UIN', ARRAY['1000000042', '1000000007'], 'crvs_oauth')$$) AS t(n bigint);
\set stats `curl -sf http://127.0.0.1:$DCI_TEST_PORT/admin/stats`
SELECT (:'stats'::jsonb ->> 'token_requests')::int AS token_requests_for_three_backends;
-- a revoked token is refreshed once for everybody
\set revoke `curl -sf -X POST http://127.0.0.1:$DCI_TEST_PORT/admin/revoke-tokens`
SELECT * FROM dblink(format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                            current_setting('port'), current_database()),
    $$SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'))$$) AS t(n bigint);
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_oauth', 'BRN', 'BR-2024-0042'));
\set stats `curl -sf http://127.0.0.1:$DCI_TEST_PORT/admin/stats`
SELECT (:'stats'::jsonb ->> 'token_requests')::int AS token_requests_after_revocation;
