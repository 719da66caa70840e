-- Query cancel and statement_timeout stop a request at once with the
-- standard error, 57014.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

-- the registry delays 10 s; statement_timeout fires after 300 ms
UPDATE dci.data_source SET timeout_seconds = 60, base_url = replace(base_url, 'delay=3000', 'delay=10000')
 WHERE code = 'f_delay';
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '300ms';
SELECT dci_search_by_id('f_delay', 'BRN', 'BR-2024-0042');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '2 seconds' AS stopped_promptly;

-- the same through a cancel from another session (dblink runs the slow search)
\set VERBOSITY terse
SELECT dblink_connect('slow', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT dblink_send_query('slow', 'SELECT dci_search_by_id(''f_delay'', ''BRN'', ''BR-2024-0042'')');
SELECT pg_sleep(0.3);
SELECT clock_timestamp() AS t0 \gset
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
 WHERE query LIKE 'SELECT dci_search_by_id(''f_delay''%' AND pid <> pg_backend_pid();
-- dblink passes the remote error on with its SQLSTATE
\set VERBOSITY sqlstate
SELECT * FROM dblink_get_result('slow') AS t(r jsonb);
\set VERBOSITY terse
SELECT clock_timestamp() - :'t0'::timestamptz < interval '2 seconds' AS stopped_promptly;
SELECT dblink_disconnect('slow');

-- after a cancel the backend is fine: the next search works
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042'));
