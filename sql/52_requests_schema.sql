-- Every kind of request dci sends, as sent, is valid against the SPDCI
-- schemas (copied into test/schema: the compliance set, and the standard where its
-- schema is not ambiguous).  A source whose base_url is the registry's sink
-- keeps each request and acks it; test/schema/validate-requests checks them.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT registry('/admin/reset-sink', post => true) IS NOT NULL AS sink_emptied;
SELECT async_source('req_sink', '/sink/requests');
UPDATE dci.data_source SET verify_response_signature = 'off', reg_type = 'ns:org:RegistryType:Civil'
 WHERE code = 'req_sink';

SELECT dci_search_async('req_sink', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') IS NOT NULL AS search;
SELECT dci_search_async('req_sink', 'predicate',
  '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2024-01-01"}}]',
  reg_event_type => 'birth', page_size => 50, page_number => 2) IS NOT NULL AS search_predicate;
SELECT dci_subscribe('req_sink', 'death') IS NOT NULL AS subscribe;
SELECT dci_subscribe('req_sink', 'birth', '{"type":"UIN","value":"1000000042"}', 'ns:org:RegistryType:Civil',
  '{"start_time":"2026-01-01T00:00:00Z","end_time":"2027-01-01T00:00:00Z","frequency":"0 0 * * *"}',
  'spdci-extensions-dci:Person') IS NOT NULL AS subscribe_filtered;
SELECT count(*) AS subscribe_vital FROM dci_subscribe_vital_events('{birth,death}', 'req_sink');
SELECT dci_unsubscribe('req_sink', '{SUB-000000000001,SUB-000000000002}') IS NOT NULL AS unsubscribe;
-- the sink acks a status request instead of answering it: the request is what is checked
SELECT left(err(format('SELECT dci_txn_status(%L, %L)', 'req_sink',
                       (SELECT transaction_id FROM dci.transaction WHERE source_code = 'req_sink' LIMIT 1))), 5) AS txn_status;

SELECT r ->> 'path' AS path, r #>> '{body,header,action}' AS action, count(*)
  FROM jsonb_array_elements(registry('/admin/sink') -> 'received') r
 WHERE r ->> 'path' LIKE '/sink/requests/%' GROUP BY 1, 2 ORDER BY 1, 2;
\copy (SELECT r -> 'body' FROM jsonb_array_elements(registry('/admin/sink') -> 'received') WITH ORDINALITY x(r, i) WHERE r ->> 'path' LIKE '/sink/requests/%' ORDER BY i) TO 'results/52_requests.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
\! /usr/bin/python3 test/schema/validate-requests results/52_requests.jsonl
-- the validator refuses what OpenSPP's client sends to unsubscribe (the wrong field)
\! echo '{"header":{"version":"1.0.0","message_id":"m","message_ts":"2026-01-01T00:00:00Z","action":"unsubscribe","sender_id":"s","sender_uri":"","receiver_id":"r","total_count":1,"is_msg_encrypted":false,"meta":{}},"message":{"transaction_id":"t","timestamp":"2026-01-01T00:00:00Z","subscription_code_list":["SUB-1"]}}' | /usr/bin/python3 test/schema/validate-requests
