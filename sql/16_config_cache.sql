-- A config change is seen by another session at once.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT dblink_connect('other', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'), current_setting('port'), current_database()));
-- the other session caches crvs_main by using it
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('crvs_main','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
-- we point crvs_main at a failing path and deactivate another source
UPDATE dci.data_source SET base_url = replace(base_url, '/crvs', '/opt/status=500/crvs') WHERE code = 'crvs_main';
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('crvs_main','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
UPDATE dci.data_source SET base_url = replace(base_url, '/opt/status=500/crvs', '/crvs') WHERE code = 'crvs_main';
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('crvs_main','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
-- a signing key change invalidates too
UPDATE dci.signing_key SET active = false WHERE key_id = 'test-key-1';
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('crvs_main','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
UPDATE dci.signing_key SET active = true WHERE key_id = 'test-key-1';
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('crvs_main','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
-- a deleted source is gone for everybody
SELECT test_source('temp_src', '/crvs');
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('temp_src','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
DELETE FROM dci.data_source WHERE code = 'temp_src';
SELECT * FROM dblink('other', $$SELECT dci_search_by_id('temp_src','BRN','BR-2024-0042') #>> '{header,status}'$$) AS t(s text);
-- within one session too, inside a transaction
BEGIN;
UPDATE dci.data_source SET active = false WHERE code = 'crvs_main';
SELECT dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042');
ROLLBACK;
SELECT dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042') #>> '{header,status}';
SELECT dblink_disconnect('other');
