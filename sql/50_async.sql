-- Asynchronous search: the registry acks at once and posts its answer later.
-- Callbacks reach us here through dci_receive (the listener's test drives the
-- same ingestion over HTTP) and through polling.  The local registry posts its
-- callbacks to its own /sink; the suite reads them back with its admin API
-- (registry(), callbacks(), async_source() of 00_setup.sql).
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT registry('/admin/reset-sink', post => true) IS NOT NULL AS sink_emptied;

-- an asynchronous request needs a callback URI: the error names the column
SELECT err($$SELECT dci_search_async('crvs_main', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}')$$);

SELECT async_source('a_crvs', '/crvs');
SELECT dci_search_async('a_crvs', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t1 \gset
-- recorded before it was sent, acked by the registry
SELECT source_code, action, status, acked_at IS NOT NULL AS acked, correlation_id IS NOT NULL AS has_correlation,
       request #>> '{search_request,0,search_criteria,query,value}' AS asked,
       request #>> '{search_request,0,reference_id}' = :'t1' || '-0' AS reference_is_ours
  FROM dci.transaction WHERE transaction_id = :'t1';

-- the on-search callback, handed over by SQL
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'t1') cb;
SELECT i.action, i.received_via, i.status, i.correlation_id = t.correlation_id AS same_correlation
  FROM dci.inbox i JOIN dci.transaction t USING (transaction_id) WHERE transaction_id = :'t1';
SELECT status, completed_count, total_count, completed_at IS NOT NULL AS completed, last_error
  FROM dci.transaction WHERE transaction_id = :'t1';
-- dci_records reads inbox envelopes as it reads sync answers
SELECT rec #>> '{name,given_name}' AS given_name
  FROM dci.inbox i, dci_records(i.envelope) rec WHERE i.transaction_id = :'t1';
-- a redelivery stores nothing new and answers the first id
SELECT dci_receive(cb) = (SELECT id FROM dci.inbox WHERE transaction_id = :'t1') AS same_id FROM callbacks(:'t1') cb;
SELECT count(*) AS inbox_rows FROM dci.inbox WHERE transaction_id = :'t1';

-- LISTEN dci_inbox sees each new id, once
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                      current_setting('port'), current_database()));
SELECT dblink_exec('other', 'LISTEN dci_inbox');
SELECT dci_search_async('a_crvs', 'idtype-value', '{"type":"UIN","value":"1000000042"}') AS t2 \gset
SELECT dci_receive(cb) AS id2 FROM callbacks(:'t2') cb \gset
SELECT pg_sleep(0.2);
SELECT notify_name, extra = :'id2' AS payload_is_the_id FROM dblink_get_notify('other');
SELECT dci_receive(cb) = :id2 AS same_id FROM callbacks(:'t2') cb;
SELECT pg_sleep(0.2);
SELECT count(*) AS notified_again FROM dblink_get_notify('other');

-- the registry delivers one callback twice: one row
SELECT async_source('a_dup', '/opt/cbdup/crvs');
SELECT dci_search_async('a_dup', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t3 \gset
SELECT count(*) AS deliveries, count(DISTINCT dci_receive(cb)) AS inbox_ids FROM callbacks(:'t3', 2) cb;
SELECT status FROM dci.transaction WHERE transaction_id = :'t3';

-- a partial answer leaves the transaction partial until the rest arrives
SELECT async_source('a_partial', '/opt/cbpartial/crvs');
SELECT dci_search_async('a_partial', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t4 \gset
SELECT dci_receive(cb) > 0 AS first_part FROM (SELECT cb FROM callbacks(:'t4', 2) cb LIMIT 1) x;
SELECT status, completed_count, total_count, completed_at IS NULL AS open FROM dci.transaction WHERE transaction_id = :'t4';
SELECT dci_receive(cb) > 0 AS second_part FROM (SELECT cb FROM callbacks(:'t4', 2) cb OFFSET 1) x;
SELECT status, completed_count, total_count, completed_at IS NOT NULL AS completed FROM dci.transaction WHERE transaction_id = :'t4';
SELECT status, count(*) FROM dci.inbox WHERE transaction_id = :'t4' GROUP BY 1 ORDER BY 1;

-- refused, and nothing stored: a bad signature, an unknown sender, what is no callback of ours
SELECT async_source('a_badsig', '/opt/cbbadsig/crvs');
SELECT dci_search_async('a_badsig', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t5 \gset
SELECT err(format('SELECT dci_receive(%L::jsonb)', cb)) FROM callbacks(:'t5') cb;
SELECT count(*) AS stored FROM dci.inbox WHERE transaction_id = :'t5';
SELECT status FROM dci.transaction WHERE transaction_id = :'t5';
SELECT async_source('a_unknown', '/opt/cbunknown/crvs');
SELECT dci_search_async('a_unknown', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t6 \gset
SELECT err(format('SELECT dci_receive(%L::jsonb)', cb)) FROM callbacks(:'t6') cb;
SELECT count(*) AS stored FROM dci.inbox WHERE transaction_id = :'t6';
-- a sync answer is signed by the registry, but answers no transaction of ours
SELECT err(format('SELECT dci_receive(%L::jsonb)', dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042')));
SELECT err($$SELECT dci_receive('{"header":{"action":"search","message_id":"m1","sender_id":"registry.local"},"message":{}}')$$);
SELECT err($$SELECT dci_receive('{"header":{"action":"on-search","sender_id":"registry.local"},"message":{}}')$$);
SELECT err($$SELECT dci_receive('{"message":{}}')$$);
SELECT err($$SELECT dci_receive('[1,2]')$$);
SELECT err($$SELECT dci_receive('{"header":{"action":"notify","message_id":"m2","sender_id":"nobody.example"},"message":{}}')$$);
SET dci.max_response_size = '1kB';
SELECT err(format('SELECT dci_receive(%L::jsonb)', cb)) FROM callbacks(:'t1') cb;
RESET dci.max_response_size;
SELECT count(*) AS inbox_rows FROM dci.inbox WHERE source_code LIKE 'a\_%';

-- an ERR or NACK ack is an ERROR with the registry's code, and the transaction is rjct
SELECT async_source('a_err', '/opt/ackerr=err.sender_uri.invalid/crvs');
SELECT err($$SELECT dci_search_async('a_err', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}')$$);
SELECT async_source('a_nack', '/opt/acknack/crvs');
SELECT err($$SELECT dci_search_async('a_nack', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}')$$);
-- a registry that cannot be reached: failed
SELECT async_source('a_down', '/crvs');
UPDATE dci.data_source SET base_url = 'http://127.0.0.1:1/crvs', max_retries = 0 WHERE code = 'a_down';
SELECT err($$SELECT dci_search_async('a_down', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}')$$);
-- each is recorded, although the ERROR rolled the caller back
SELECT source_code, status, acked_at IS NULL AS not_acked, completed_at IS NOT NULL AS closed,
       CASE WHEN last_error LIKE '%err.sender_uri.invalid%' THEN 'has the code' ELSE regexp_replace(last_error, ':.*', '') END AS last_error
  FROM dci.transaction WHERE source_code IN ('a_err', 'a_nack', 'a_down') ORDER BY 1;

-- polling, for clients the registry cannot reach: the answer goes through the same ingestion
SELECT async_source('a_poll', '/opt/cbnone/crvs');
SELECT dci_search_async('a_poll', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t7 \gset
SELECT dci_txn_status('a_poll', :'t7') #>> '{message,txnstatus_response,txn_type}' AS txn_type;
SELECT status, polled_at IS NOT NULL AS polled FROM dci.transaction WHERE transaction_id = :'t7';
SELECT action, received_via, count(*) FROM dci.inbox WHERE transaction_id = :'t7' GROUP BY 1, 2;
SELECT count(*) AS records FROM dci.inbox i, dci_records(i.envelope) WHERE transaction_id = :'t7';
-- asked again: nothing new is stored
SELECT dci_txn_status('a_poll', :'t7') IS NOT NULL AS answered;
SELECT count(*) AS inbox_rows FROM dci.inbox WHERE transaction_id = :'t7';
-- still pending at the registry: nothing stored, the transaction stays pending
SELECT async_source('a_slow', '/opt/cbnone,cbdelay=1500/crvs');
SELECT dci_search_async('a_slow', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t8 \gset
SELECT dci_txn_status('a_slow', :'t8') #>> '{message,txnstatus_response,txn_status,search_response,0,status}' AS item_status;
SELECT status FROM dci.transaction WHERE transaction_id = :'t8';
SELECT count(*) AS inbox_rows FROM dci.inbox WHERE transaction_id = :'t8';
SELECT err($$SELECT dci_txn_status('a_slow', 'no-such-transaction')$$);
-- dci_poll_transactions: every open transaction not heard of for older_than, callbacks and polls converge
SELECT pg_sleep(1.6);
SELECT dci_poll_transactions('1 hour') AS none_that_old;
SELECT dci_poll_transactions('0 seconds') AS polled;
SELECT source_code, status, polled_at IS NOT NULL AS polled FROM dci.transaction
 WHERE transaction_id IN (:'t5', :'t6', :'t8') ORDER BY 1;
SELECT source_code, received_via, count(*) FROM dci.inbox WHERE transaction_id IN (:'t5', :'t6', :'t8') GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) AS open_transactions FROM dci.transaction WHERE status IN ('pending', 'partial');

-- the callback may come before the caller commits, even if it rolls back: the row is there
BEGIN;
SELECT dci_search_async('a_crvs', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t9 \gset
SELECT stored FROM callbacks(:'t9') cb,
       dblink('other', format('SELECT dci_receive(%L::jsonb) > 0', cb)) AS t(stored boolean);
ROLLBACK;
SELECT status FROM dci.transaction WHERE transaction_id = :'t9';
SELECT count(*) AS inbox_rows FROM dci.inbox WHERE transaction_id = :'t9';
SELECT dblink_disconnect('other');

-- a role with EXECUTE only sends, receives and polls, and reads no table
CREATE ROLE dci_async_app NOLOGIN;
GRANT EXECUTE ON FUNCTION dci_search_async(text, text, jsonb, text, text, integer, integer),
    dci_receive(jsonb), dci_txn_status(text, text), dci_poll_transactions(interval, integer) TO dci_async_app;
SET ROLE dci_async_app;
SELECT dci_search_async('a_crvs', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS t10 \gset
RESET ROLE;
SELECT cb AS cb10 FROM callbacks(:'t10') cb \gset
SET ROLE dci_async_app;
SELECT dci_receive(:'cb10') > 0 AS stored;
SELECT dci_txn_status('a_crvs', :'t10') IS NOT NULL AS answered;
SELECT err('SELECT count(*) FROM dci.transaction');
SELECT err('SELECT count(*) FROM dci.inbox');
RESET ROLE;
SELECT status FROM dci.transaction WHERE transaction_id = :'t10';
DROP OWNED BY dci_async_app;
DROP ROLE dci_async_app;
