-- 1000 per-row calls in one statement reuse one keep-alive connection: checked
-- on both ends, with this backend's counter and the registry's.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042') IS NOT NULL AS warm;
\set reset `curl -sf -X POST http://127.0.0.1:$DCI_TEST_PORT/admin/reset-stats`
SELECT connections_opened AS c0, requests AS r0 FROM dci_stats() \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE r #>> '{header,status}' = 'succ') AS succ
  FROM generate_series(1, 1000) g,
       LATERAL dci_search_by_id('crvs_main', 'UIN', (1000000000 + g)::text) r;
SELECT connections_opened - :c0 AS new_connections, requests - :r0 AS requests FROM dci_stats();
\set stats `curl -sf http://127.0.0.1:$DCI_TEST_PORT/admin/stats`
SELECT (:'stats'::jsonb ->> 'connections')::int <= 1 AS registry_saw_at_most_one_connection,
       (:'stats'::jsonb ->> 'search_requests')::int AS registry_search_requests;
