-- Configuration errors name the source and what to set.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT dci_search_by_id('no_such_source', 'BRN', 'BR-2024-0042');
SELECT dci_search_by_id(NULL, 'BRN', 'BR-2024-0042') IS NULL AS strict_null;
SELECT dci_search(NULL, 'idtype-value', '{}');

INSERT INTO dci.data_source (code, name, our_sender_id, signing_mode, verify_response_signature)
VALUES ('e_nourl', 'no url', 'spmis.test', 'none', 'off');
SELECT dci_search_by_id('e_nourl', 'BRN', 'x');

SELECT test_source('e_inactive', '/crvs');
UPDATE dci.data_source SET active = false WHERE code = 'e_inactive';
SELECT dci_search_by_id('e_inactive', 'BRN', 'x');

SELECT test_source('e_nokey', '/crvs');
UPDATE dci.data_source SET signing_key_id = NULL WHERE code = 'e_nokey';
SELECT dci_search_by_id('e_nokey', 'BRN', 'x');

SELECT test_source('e_noregkey', '/crvs');
UPDATE dci.data_source SET registry_public_key = NULL WHERE code = 'e_noregkey';
SELECT dci_search_by_id('e_noregkey', 'BRN', 'x');
UPDATE dci.data_source SET registry_public_key = 'not a key' WHERE code = 'e_noregkey';
SELECT dci_search_by_id('e_noregkey', 'BRN', 'x');

SELECT test_source('e_nobearer', '/crvs');
UPDATE dci.data_source SET bearer_token = NULL WHERE code = 'e_nobearer';
SELECT dci_search_by_id('e_nobearer', 'BRN', 'x');

SELECT test_source('e_nooauth', '/crvs', 'crvs', 'oauth2');
UPDATE dci.data_source SET oauth2_client_secret = NULL WHERE code = 'e_nooauth';
SELECT dci_search_by_id('e_nooauth', 'BRN', 'x');

-- an inactive signing key, or one of the wrong algorithm for the mode
SELECT length(dci_generate_signing_key('rsa-key-1', 'rs256')) > 0 AS generated;
SELECT test_source('e_wrongalg', '/crvs');
UPDATE dci.data_source SET signing_key_id = 'rsa-key-1' WHERE code = 'e_wrongalg';
SELECT dci_search_by_id('e_wrongalg', 'BRN', 'x');
UPDATE dci.signing_key SET active = false WHERE key_id = 'unregistered-key';
SELECT dci_search_by_id('crvs_nosign', 'BRN', 'x');

-- a query that is not JSON cannot even be passed; a query type is sent as given
SELECT dci_search('crvs_main', 'idtype-value', 'not json');
