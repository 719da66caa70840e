-- The callback listener: the background worker that test/lib.sh starts on
-- 127.0.0.1:dci.listener_port for this database.  An async search is
-- answered by the registry's callback through it; GET jwks serves
-- dci_jwks() (and the registry can fetch it); refusals are SPDCI ERR acks
-- with the right HTTP status and store nothing; a duplicate delivery is
-- acked and stored once; HTTPS with the TLS settings; a flood of oversized
-- and malformed requests, a slow sender and the worker's death leave it
-- taking callbacks.  HTTP is spoken by curl, run by the
-- server (COPY FROM PROGRAM), so that only statuses and ack codes show.
\set VERBOSITY terse
\set SHOW_CONTEXT never

CREATE TEMP TABLE http_out (n serial, line text);
-- One request: 'STATUS ACK_STATUS [error.code]' ('000' when the listener
-- closed the connection without an answer).  body NULL: a GET.
CREATE FUNCTION listener_http(path text, body text DEFAULT NULL, opts text DEFAULT '',
                              scheme text DEFAULT 'http') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cmd text;
    reply text;
    status text;
    ack jsonb;
BEGIN
    TRUNCATE http_out;
    cmd := CASE WHEN body IS NULL THEN ''
                ELSE format('echo %s | base64 -d | ',
                            translate(encode(convert_to(body, 'UTF8'), 'base64'), E'\n', '')) END
        || format('curl -s -m 30 %s %s -w ''\n%%{http_code}\n'' %s://127.0.0.1:%s%s || true',
                  CASE WHEN body IS NULL THEN '' ELSE '--data-binary @- -H ''Content-Type: application/json''' END,
                  opts, scheme, current_setting('dci.listener_port'), path);
    EXECUTE format('COPY http_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', cmd);
    SELECT line INTO status FROM http_out ORDER BY n DESC LIMIT 1;
    SELECT string_agg(line, E'\n' ORDER BY n) INTO reply FROM http_out
     WHERE n < (SELECT max(n) FROM http_out);
    BEGIN
        ack := reply::jsonb;
    EXCEPTION WHEN OTHERS THEN
        ack := NULL;
    END;
    RETURN concat_ws(' ', status, ack #>> '{message,ack_status}', ack #>> '{message,error,code}');
END $$;
-- The body of a GET.
CREATE FUNCTION listener_get(path text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE http_out;
    EXECUTE format('COPY http_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')',
                   format('curl -s -m 30 http://127.0.0.1:%s%s || true', current_setting('dci.listener_port'), path));
    RETURN (SELECT string_agg(line, E'\n' ORDER BY n) FROM http_out);
END $$;
-- A GET or POST to the local registry's admin endpoints; the body of its answer.
CREATE FUNCTION registry_admin(path text, body text DEFAULT NULL) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE http_out;
    EXECUTE format('COPY http_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')',
                   format('curl -s -m 30 %s http://127.0.0.1:%s/admin%s || true',
                          CASE WHEN body IS NULL THEN '' ELSE format('--data-binary %L', body) END,
                          current_setting('dci_test.port'), path));
    RETURN (SELECT string_agg(line, E'\n' ORDER BY n) FROM http_out)::jsonb;
END $$;
-- The registry's deliveries of a transaction's callbacks, once n of them are
-- finished (or 10 s): 'state last_status ack_status' each, in order.
CREATE FUNCTION deliveries(txn text, n int DEFAULT 1) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE d jsonb;
BEGIN
    FOR i IN 1..100 LOOP
        d := registry_admin(format('/callbacks?transaction_id=%s', txn));
        EXIT WHEN (SELECT count(*) FROM jsonb_array_elements(d -> 'callbacks') c
                    WHERE c ->> 'state' <> 'pending') >= n;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN QUERY SELECT concat_ws(' ', c ->> 'state', c ->> 'last_status', c ->> 'ack_status')
                   FROM jsonb_array_elements(d -> 'callbacks') WITH ORDINALITY AS t(c, i) ORDER BY i;
END $$;
-- Wait (up to 30 s) until the listener answers GET jwks; true when it does.
CREATE FUNCTION listener_up(scheme text DEFAULT 'http', opts text DEFAULT '') RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..150 LOOP
        IF listener_http('/.well-known/jwks.json', NULL, opts, scheme) LIKE '200%' THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
    RETURN false;
END $$;
-- Wait (up to 10 s) until nothing answers on the listener's port.
CREATE FUNCTION listener_gone() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..50 LOOP
        IF listener_http('/.well-known/jwks.json') = '000' THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
    RETURN false;
END $$;
-- Wait (up to 30 s) for the callbacks of a transaction; its inbox rows.
CREATE FUNCTION inbox_wait(txn text, n int DEFAULT 1) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE c bigint;
BEGIN
    FOR i IN 1..300 LOOP
        SELECT count(*) INTO c FROM dci.inbox WHERE transaction_id = txn;
        EXIT WHEN c >= n;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN c;
END $$;

SELECT listener_up() AS listening;
SELECT backend_type, usename IS NOT NULL AS connected, datname
  FROM pg_stat_activity WHERE backend_type = 'dci listener';

-- our keys where a registry looks for them: GET /.well-known/jwks.json is dci_jwks()
SELECT listener_get('/.well-known/jwks.json')::jsonb = dci_jwks() AS jwks_is_dci_jwks,
       listener_get('/.well-known/jwks.json') LIKE '%"d":%' AS leaks_private_part;
-- ... and a registry that trusts whatever <sender>/.well-known/jwks.json says (as
-- OpenCRVS does) learns our key from the listener
SELECT registry_admin('/fetch-jwks', json_build_object(
         'url', 'http://127.0.0.1:' || current_setting('dci.listener_port') || '/.well-known/jwks.json',
         'sender', 'spmis.test')::text) -> 'registered' = (SELECT jsonb_agg(k -> 'kid') FROM jsonb_array_elements(dci_jwks() -> 'keys') k)
       AS registry_fetched_our_keys;
SELECT listener_http('/.well-known/other') AS other_get,
       listener_http('/registry/on-search', NULL, '-X PUT') AS put;

-- an async search answered by the registry's callback, POSTed through the listener
UPDATE dci.data_source
   SET our_callback_uri = 'http://127.0.0.1:' || current_setting('dci.listener_port') || '/dci/callback'
 WHERE code = 'crvs_main';
SELECT dci_search_async('crvs_main', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn \gset
SELECT inbox_wait(:'txn') AS callbacks;
-- the registry was answered ACK (HTTP 200) once the row was committed
SELECT deliveries(:'txn') AS delivery;
SELECT action, source_code, received_via, status FROM dci.inbox WHERE transaction_id = :'txn';
SELECT status FROM dci.transaction WHERE transaction_id = :'txn';
SELECT count(*) AS records FROM dci.inbox i, dci_records(i.envelope) WHERE i.transaction_id = :'txn';

-- refusals: an ERR ack with an SPDCI error code, and nothing stored.  (Earlier
-- tests leave sources of the registry's sender id that cannot be loaded, e.g.
-- with an inactive signing key: the inbox tries each source of the sender for
-- a callback that none verifies, and would fail on such a one with a 503.)
UPDATE dci.data_source SET active = false
 WHERE registry_sender_id = 'registry.local'
   AND code NOT IN ('crvs_main', 'crvs_cbdup', 'crvs_cbbadsig', 'crvs_cbunknown');
SELECT count(*) AS inbox_before FROM dci.inbox \gset
SELECT listener_http('/dci/callback', 'not json') AS not_json,
       listener_http('/dci/callback', '') AS empty,
       listener_http('/dci/callback', '{"header":{"action":"on-search"}}') AS not_a_callback,
       listener_http('/dci/callback', '{"a":' || repeat('[', 10000) || repeat(']', 10000) || '}') AS too_deep;
-- the registry's own callback, altered: its signature no longer holds
SELECT listener_http('/dci/callback',
         jsonb_set(envelope, '{header,message_id}', '"0f0e0d0c-0b0a-4908-8706-050403020100"')::text) AS altered
  FROM dci.inbox WHERE transaction_id = :'txn';
-- ... and from a sender no source knows
SELECT listener_http('/dci/callback',
         jsonb_set(envelope, '{header,sender_id}', '"registry.unknown"')::text) AS unknown_sender
  FROM dci.inbox WHERE transaction_id = :'txn';
-- larger than dci.max_response_size: 413 on its Content-Length, before the body is read
SELECT listener_http('/dci/callback', NULL,
         '-H ''Content-Type: application/json'' --data-binary @/dev/null -H ''Content-Length: 17000000''') AS too_large;
-- the database cannot take it (the tables locked past the worker's lock timeout): 503, retry
BEGIN;
LOCK TABLE dci.data_source IN ACCESS EXCLUSIVE MODE;
SELECT listener_http('/dci/callback',
         jsonb_set(envelope, '{header,message_id}', '"1f0e0d0c-0b0a-4908-8706-050403020100"')::text) AS locked
  FROM dci.inbox WHERE transaction_id = :'txn';
ROLLBACK;
SELECT count(*) - :inbox_before AS stored_by_refusals FROM dci.inbox;

-- the registry's faults, through the listener: a callback delivered twice is
-- acknowledged twice and stored once; a bad signature and an unknown sender
-- are refused (401) and stored never, while the registry retries
SELECT test_source('crvs_cbdup', '/opt/cbdup/crvs');
SELECT test_source('crvs_cbbadsig', '/opt/cbbadsig/crvs');
SELECT test_source('crvs_cbunknown', '/opt/cbunknown/crvs');
UPDATE dci.data_source
   SET our_callback_uri = 'http://127.0.0.1:' || current_setting('dci.listener_port') || '/dci/callback'
 WHERE code IN ('crvs_cbdup', 'crvs_cbbadsig', 'crvs_cbunknown');
SELECT dci_search_async('crvs_cbdup', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn_dup \gset
SELECT deliveries(:'txn_dup', 2) AS dup_deliveries;
SELECT count(*) AS dup_stored FROM dci.inbox WHERE transaction_id = :'txn_dup';
SELECT dci_search_async('crvs_cbbadsig', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn_bad \gset
SELECT dci_search_async('crvs_cbunknown', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn_unknown \gset
SELECT pg_sleep(1);
SELECT (registry_admin(format('/callbacks?transaction_id=%s', :'txn_bad')) #>> '{callbacks,0,last_status}') AS badsig_status,
       (registry_admin(format('/callbacks?transaction_id=%s', :'txn_unknown')) #>> '{callbacks,0,last_status}') AS unknown_status;
SELECT count(*) AS refused_stored FROM dci.inbox WHERE transaction_id IN (:'txn_bad', :'txn_unknown');

-- a flood: 40 bodies over the limit by Content-Length, 20 sent chunked (cut off
-- at the limit), 40 malformed bodies, 20 requests that are not HTTP, all at
-- once; then good callbacks are still taken
DO $$
DECLARE
    url text := 'http://127.0.0.1:' || current_setting('dci.listener_port') || '/dci/callback';
BEGIN
    TRUNCATE http_out;
    EXECUTE format($f$COPY http_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')$f$,
        format($c$bash -s <<'EOS'
            big=$(mktemp); head -c 17000000 /dev/zero > "$big"
            for i in $(seq 1 20); do
                curl -s -o /dev/null -w 'oversized %%{http_code}\n' --data-binary @"$big" %1$s &
                curl -s -o /dev/null -w 'oversized %%{http_code}\n' --data-binary @"$big" %1$s &
                curl -s -o /dev/null -w 'chunked %%{http_code}\n' -H 'Transfer-Encoding: chunked' -H 'Expect:' --data-binary @"$big" %1$s &
                curl -s -o /dev/null -w 'malformed %%{http_code}\n' --data-binary '{"header":' %1$s &
                printf 'GARBAGE\r\n\r\n' | curl -s -o /dev/null -w 'malformed %%{http_code}\n' --data-binary @- %1$s &
                (exec 3<>/dev/tcp/127.0.0.1/%2$s && printf '\001\377 NOT HTTP\r\n\r\n' >&3 && timeout 5 cat <&3 >/dev/null) 2>/dev/null &
            done
            wait; rm -f "$big"
EOS
$c$, url, current_setting('dci.listener_port')));
END $$;
-- (a small body that finds the listener holding 4 x dci.max_response_size of
-- chunked uploads is answered 503 before it is read: busy, retry)
SELECT regexp_replace(line, '^malformed (400|503)$', 'malformed 400 or 503') AS outcome, count(*)
  FROM http_out GROUP BY 1 ORDER BY 1;
SELECT dci_search_async('crvs_main', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn2 \gset
SELECT inbox_wait(:'txn2') AS callbacks_after_flood;

-- a slow sender is cut off after dci.listener_timeout (here 2 s), its slot freed
ALTER SYSTEM SET dci.listener_timeout = '2s';
SELECT pg_reload_conf();
SELECT pg_sleep(1);
TRUNCATE http_out;
DO $$
BEGIN
    EXECUTE format($f$COPY http_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')$f$,
        format($c$bash -s <<'EOS'
            trap '' PIPE
            exec 3<>/dev/tcp/127.0.0.1/%s || exit 0
            printf 'POST /dci/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&3
            for i in $(seq 1 40); do
                printf 'X-Slow: %%s\r\n' "$i" >&3 2>/dev/null || { echo "cut off within 10 s"; exit 0; }
                sleep 0.25
            done
            echo "still open after 10 s"
EOS
$c$, current_setting('dci.listener_port')));
END $$;
SELECT line AS slow_sender FROM http_out;
ALTER SYSTEM RESET dci.listener_timeout;
SELECT pg_reload_conf();

-- HTTPS with dci.listener_tls_cert_file and dci.listener_tls_key_file
COPY http_out (line) FROM PROGRAM
  'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout listener-key.pem -out listener-cert.pem >/dev/null 2>&1; chmod 600 listener-key.pem; echo made'
  WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02');
SELECT current_setting('data_directory') AS datadir \gset
ALTER SYSTEM SET dci.listener_tls_cert_file = 'listener-cert.pem';
SELECT pg_reload_conf();
-- one of the two is not enough: it stops serving, never plain HTTP instead
SELECT listener_gone() AS half_configured_serves_nothing;
ALTER SYSTEM SET dci.listener_tls_key_file = 'listener-key.pem';
SELECT pg_reload_conf();
SELECT listener_up('https', format('--cacert %s/listener-cert.pem', :'datadir')) AS https;
SELECT listener_http('/.well-known/jwks.json', NULL, '', 'http') AS plain_http_to_tls;
-- the paths are for superusers only
CREATE ROLE dci_listener_peek;
SET ROLE dci_listener_peek;
SHOW dci.listener_tls_key_file;
RESET ROLE;
DROP ROLE dci_listener_peek;
ALTER SYSTEM RESET dci.listener_tls_cert_file;
ALTER SYSTEM RESET dci.listener_tls_key_file;
SELECT pg_reload_conf();
SELECT listener_up() AS plain_again;

-- the worker dies: the postmaster starts another, which takes callbacks
SELECT pid AS old_pid FROM pg_stat_activity WHERE backend_type = 'dci listener' \gset
SELECT pg_terminate_backend(:old_pid);
SELECT listener_up() AS restarted;
SELECT pid <> :old_pid AS new_worker FROM pg_stat_activity WHERE backend_type = 'dci listener';
SELECT dci_search_async('crvs_main', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS txn3 \gset
SELECT inbox_wait(:'txn3') AS callbacks_after_restart;
