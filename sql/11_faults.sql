-- Every fault the local registry injects ends in an ERROR that names the
-- source and the reason: never data, never "not found".
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT test_source('f_500', '/opt/status=500/crvs');
SELECT test_source('f_503', '/opt/status=503/crvs');
SELECT test_source('f_401', '/opt/401/crvs');
SELECT test_source('f_html', '/opt/html/crvs');
SELECT test_source('f_htmlok', '/opt/htmlok/crvs');
SELECT test_source('f_trunc', '/opt/truncate/crvs');
SELECT test_source('f_big', '/opt/oversize=200000/crvs');
SELECT test_source('f_badsig', '/opt/badsig/crvs');
SELECT test_source('f_expired', '/opt/expiredsig/crvs');
SELECT test_source('f_future', '/opt/futuresig/crvs');
SELECT test_source('f_unsigned', '/opt/unsigned/crvs');
SELECT test_source('f_rjct', '/opt/rjct=rjct.errors.too_many/crvs');
SELECT test_source('f_itemrjct', '/opt/itemrjct=rjct.filter.invalid/crvs');
SELECT test_source('f_delay', '/opt/delay=3000/crvs');
SELECT test_source('f_202', '/opt/status202/crvs');
SELECT test_source('f_single', '/opt/single/crvs');
SELECT test_source('f_strcount', '/opt/strcount/crvs');

SELECT dci_search_by_id('f_500', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_503', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_401', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_html', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_htmlok', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_trunc', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_badsig', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_expired', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_future', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_rjct', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id('f_itemrjct', 'BRN', 'BR-2024-0042');

-- a body over dci.max_response_size fails cleanly; under it, it is read
SET dci.max_response_size = '64kB';
SELECT dci_search_by_id('f_big', 'BRN', 'BR-2024-0042');
RESET dci.max_response_size;
SELECT count(*) FROM dci_records(dci_search_by_id('f_big', 'BRN', 'BR-2024-0042'));

-- an unsigned response: an error when signatures are required ...
SELECT dci_search_by_id('f_unsigned', 'BRN', 'BR-2024-0042');
-- ... accepted with 'if-present' and 'off'
UPDATE dci.data_source SET verify_response_signature = 'if-present' WHERE code = 'f_unsigned';
SELECT count(*) FROM dci_records(dci_search_by_id('f_unsigned', 'BRN', 'BR-2024-0042'));
-- 'if-present' still rejects a bad signature
UPDATE dci.data_source SET verify_response_signature = 'if-present' WHERE code = 'f_badsig';
SELECT dci_search_by_id('f_badsig', 'BRN', 'BR-2024-0042');
-- a signature by another key fails too
UPDATE dci.data_source SET registry_public_key =
  (SELECT public_key FROM dci.signing_key WHERE key_id = 'test-key-1') WHERE code = 'crvs_main';
SELECT dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042');
UPDATE dci.data_source SET registry_public_key = current_setting('dci_test.regkey') WHERE code = 'crvs_main';

-- the source's timeout stops a slow registry
UPDATE dci.data_source SET timeout_seconds = 1 WHERE code = 'f_delay';
SELECT dci_search_by_id('f_delay', 'BRN', 'BR-2024-0042');

-- a redirect to a working URL is never followed: it is an answer we did not ask for
SELECT test_source('f_302', '/opt/redirect/crvs');
SELECT dci_search_by_id('f_302', 'BRN', 'BR-2024-0042');

-- nobody listening
INSERT INTO dci.data_source (code, name, base_url, signing_mode, our_sender_id, verify_response_signature)
VALUES ('f_down', 'down', 'http://127.0.0.1:1/crvs', 'none', 'spmis.test', 'off');
SELECT dci_search_by_id('f_down', 'BRN', 'BR-2024-0042');
-- only http and https
UPDATE dci.data_source SET base_url = 'file:///etc/passwd' WHERE code = 'f_down';
SELECT dci_search_by_id('f_down', 'BRN', 'BR-2024-0042');

-- what real registries send and a strict parser would refuse: 202, reg_records
-- as one object, counts as strings
SELECT count(*) FROM dci_records(dci_search_by_id('f_202', 'BRN', 'BR-2024-0042'));
SELECT count(*) FROM dci_records(dci_search_by_id('f_single', 'BRN', 'BR-2024-0042'));
SELECT r #>> '{message,search_response,0,pagination,total_count}' AS total_count
  FROM dci_search('f_strcount', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}', page_size => 10) r;
