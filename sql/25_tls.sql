-- TLS: certificate checks, keep-alive over TLS, and TLS session reuse when
-- a connection must be opened again (stunnel terminates TLS in front of the
-- registry and logs whether each handshake resumed a session).
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv tlsport DCI_TEST_TLS_PORT
\getenv tlsca DCI_TEST_TLS_CA

SELECT test_source('crvs_tls', '/crvs');
UPDATE dci.data_source SET base_url = 'https://127.0.0.1:' || :'tlsport' || '/crvs' WHERE code = 'crvs_tls';
-- a certificate nobody vouches for is refused
SELECT dci_search_by_id('crvs_tls', 'BRN', 'BR-2024-0042');
-- dci.ca_file is for superusers only
CREATE ROLE dci_tls_user;
GRANT EXECUTE ON FUNCTION dci_search_by_id(text, text, text) TO dci_tls_user;
SET ROLE dci_tls_user;
SET dci.ca_file = '/tmp/any.pem';
RESET ROLE;
-- with the CA, the same source works
SET dci.ca_file = :'tlsca';
SELECT r #>> '{header,status}' AS status FROM dci_search_by_id('crvs_tls', 'BRN', 'BR-2024-0042') r;
-- ... and verify_ssl = false is the explicit opt-out
RESET dci.ca_file;
UPDATE dci.data_source SET verify_ssl = false WHERE code = 'crvs_tls';
SELECT r #>> '{header,status}' AS status FROM dci_search_by_id('crvs_tls', 'BRN', 'BR-2024-0042') r;
UPDATE dci.data_source SET verify_ssl = true WHERE code = 'crvs_tls';
SET dci.ca_file = :'tlsca';

-- 1000 more per-row calls over TLS: the open connection serves them all, no new handshake
\set before `grep -c 'SSL accepted' $DCI_TEST_TLS_LOG`
SELECT connections_opened AS c0 FROM dci_stats() \gset
SELECT count(*) FILTER (WHERE r #>> '{header,status}' = 'succ') AS succ
  FROM generate_series(1, 1000) g, LATERAL dci_search_by_id('crvs_tls', 'UIN', (1000000000 + g)::text) r;
SELECT connections_opened - :c0 AS new_connections FROM dci_stats();
\set after `grep -c 'SSL accepted' $DCI_TEST_TLS_LOG`
SELECT :after - :before AS tls_handshakes;

-- a registry that closes every connection: each call reconnects, and the
-- TLS session is resumed instead of a full handshake
SELECT test_source('crvs_tls_close', '/opt/close/crvs');
UPDATE dci.data_source SET base_url = 'https://127.0.0.1:' || :'tlsport' || '/opt/close/crvs' WHERE code = 'crvs_tls_close';
\set before `grep -c 'previous session reused' $DCI_TEST_TLS_LOG`
SELECT connections_opened AS c0 FROM dci_stats() \gset
SELECT count(*) FILTER (WHERE r #>> '{header,status}' = 'succ') AS succ
  FROM generate_series(1, 20) g, LATERAL dci_search_by_id('crvs_tls_close', 'UIN', (1000000000 + g)::text) r;
SELECT connections_opened - :c0 AS new_connections FROM dci_stats();
\set after `grep -c 'previous session reused' $DCI_TEST_TLS_LOG`
SELECT :after - :before >= 19 AS sessions_resumed;
RESET dci.ca_file;
