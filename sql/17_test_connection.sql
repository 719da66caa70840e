-- dci_test_connection reports instead of failing, and fills last_test_*.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT ok, http_status, dci_status, latency_ms >= 0 AS timed, message FROM dci_test_connection('crvs_main');
SELECT ok, http_status, message FROM dci_test_connection('crvs_oauth');
SELECT ok, http_status, message FROM dci_test_connection('f_500');
SELECT ok, http_status, message FROM dci_test_connection('f_badsig');
SELECT ok, http_status, message FROM dci_test_connection('sec_oauth_bad');
INSERT INTO dci.data_source (code, name, base_url, signing_mode, our_sender_id, verify_response_signature)
VALUES ('t_down', 'down', 'http://127.0.0.1:1/crvs', 'none', 'spmis.test', 'off');
SELECT ok, http_status, message FROM dci_test_connection('t_down');
SELECT code, last_test_ok, last_test_http_status, last_test_at IS NOT NULL AS tested,
       last_test_message
  FROM dci.data_source WHERE code IN ('crvs_main', 'f_500', 'sec_oauth_bad') ORDER BY code;
-- a configuration error is an error, not a test result
SELECT * FROM dci_test_connection('no_such_source');

-- honest: ok only when a lookup would work, by the same rules as dci_search_by_id
SELECT test_source('t_rcvd', '/opt/rcvd/crvs');
SELECT ok, message FROM dci_test_connection('t_rcvd');
-- a registry with a closed list of identifier types: the probe is configurable
SELECT test_source('t_idtypes', '/opt/idtypes=BRN+NID/crvs');
SELECT ok, message FROM dci_test_connection('t_idtypes');
UPDATE dci.data_source SET test_identifier_type = 'BRN', test_identifier_value = 'BR-2024-0042' WHERE code = 't_idtypes';
SELECT ok, message FROM dci_test_connection('t_idtypes');
