-- Living within a registry's ration, against the registry's own counting
-- (OpenSPP-style per-sender limits, 429 with the wait in the body), and a
-- token claim of a killed session that must not stall anyone.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- a sender of its own, known to the registry, rationed at 5 requests a second
SELECT test_source('q_paced', '/crvs');
UPDATE dci.data_source SET our_sender_id = 'quota.test', batch_size = 1, requests_per_minute = 240
 WHERE code = 'q_paced';
\copy (SELECT dci_jwks('quota.test')) TO PROGRAM 'curl -sf -o /dev/null --data-binary @- http://127.0.0.1:$DCI_TEST_PORT/admin/senders'
\set limit `curl -sf -X POST -d '{"sender":"quota.test","per_second":5}' http://127.0.0.1:$DCI_TEST_PORT/admin/ratelimit`
-- paced at 4 a second by us: the registry never had to refuse one
SELECT status, count(*) FROM dci_verify_birth_batch('UIN',
  ARRAY(SELECT (1000000300 + g)::text FROM generate_series(0, 11) g), 'q_paced') GROUP BY 1;
-- two sessions at once share the one budget (shared_preload_libraries): still no 429
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                       current_setting('port'), current_database()));
SELECT dblink_send_query('other', $$SELECT count(*) FROM dci_verify_birth_batch('UIN',
  ARRAY(SELECT (1000000320 + g)::text FROM generate_series(0, 7) g), 'q_paced')$$);
SELECT count(*) FROM dci_verify_birth_batch('UIN',
  ARRAY(SELECT (1000000330 + g)::text FROM generate_series(0, 7) g), 'q_paced');
SELECT * FROM dblink_get_result('other') AS t(n bigint);
SELECT dblink_disconnect('other');
\set stats `curl -sf http://127.0.0.1:$DCI_TEST_PORT/admin/stats`
SELECT (:'stats'::jsonb #>> '{by_sender,quota.test,rate_limited}')::int AS refused_by_registry,
       (:'stats'::jsonb #>> '{by_sender,quota.test,max_per_second}')::int <= 5 AS within_rate;

-- a per-day quota spent at the registry (RATE_LIMIT_PER_DAY in a 429 body) stops the source for everyone
SELECT test_source('q_day', '/opt/ratebodyday=600/crvs');
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'q_day')$$);
SELECT regexp_replace(err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'q_day')$$),
                      '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[-+]\d\d', '<time>') AS next_call;
SELECT paused_until > now() AS day_marked FROM dci_source_status() WHERE source = 'q_day';

-- a session killed while it fetches the shared OAuth2 token: its claim is given back at exit,
-- and the next session is not kept waiting for it (statement_timeout would say so)
SELECT test_source('q_slowtoken', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_token_url = 'http://127.0.0.1:' || current_setting('dci_test.port')
                                           || '/opt/delay=4000/crvs/oauth2/client/token', timeout_seconds = 20
 WHERE code = 'q_slowtoken';
SELECT dblink_connect('killed', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                        current_setting('port'), current_database()));
SELECT dblink_send_query('killed', $$SELECT dci_search_by_id('q_slowtoken', 'BRN', 'BR-2024-0042')$$);
SELECT pg_sleep(0.5);
SELECT count(*) AS killed FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE query LIKE '%q_slowtoken%' AND pid <> pg_backend_pid() AND backend_type = 'client backend') t;
SELECT pg_sleep(0.3);
SELECT dblink_disconnect('killed');
UPDATE dci.data_source SET oauth2_token_url = '/oauth2/client/token' WHERE code = 'q_slowtoken';
SET statement_timeout = '3s';
SELECT count(*) FROM dci_records(dci_search_by_id('q_slowtoken', 'BRN', 'BR-2024-0042'));
RESET statement_timeout;
