-- Setup shared by the suite: the extension, our signing key registered with
-- the local registry, and sources for each registry and each injected fault.
-- The harness exports DCI_TEST_PORT and the registry's public keys.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv regport DCI_TEST_PORT
\getenv regkey DCI_TEST_REGISTRY_PUBKEY
CREATE EXTENSION dci;

-- the extension's objects
SELECT count(*) > 0 AS has_functions FROM pg_proc WHERE proname LIKE 'dci\_%';
SELECT relname, relacl IS NOT NULL AS has_acl FROM pg_class
 WHERE relnamespace = 'dci'::regnamespace AND relkind = 'r' ORDER BY 1;

-- a key pair, generated in C; only the public half is returned
SELECT left(dci_generate_signing_key('test-key-1'), 26) AS public_key_pem;
SELECT key_id, algorithm, private_key LIKE '-----BEGIN PRIVATE KEY-----%' AS private_is_pkcs8,
       public_key LIKE '-----BEGIN PUBLIC KEY-----%' AS public_is_spki
  FROM dci.signing_key;
-- a key id that could not be a kid component is refused before anything is stored
SELECT dci_generate_signing_key('bad key|id');
SELECT dci_generate_signing_key('k2', 'rsa-1024');
SELECT dci_generate_signing_key('test-key-1');

-- helpers for the suite: the SQLSTATE and message of a failing query, with
-- the ids a registry makes up per message (UUIDs) masked
CREATE FUNCTION err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
    RETURN s || ': ' || regexp_replace(m, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;
-- a source row for the local registry
CREATE FUNCTION test_source(code text, path text, registry_type text DEFAULT 'crvs',
                            auth text DEFAULT 'bearer') RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dci.data_source (code, name, registry_type, base_url, auth_type, bearer_token,
        oauth2_client_id, oauth2_client_secret, signing_key_id, signing_mode, our_sender_id,
        registry_sender_id, registry_public_key, timeout_seconds)
    VALUES (code, 'test ' || code, registry_type,
        'http://127.0.0.1:' || current_setting('dci_test.port') || path, auth,
        CASE WHEN auth = 'bearer' THEN 'spmis-static-token' END,
        CASE WHEN auth = 'oauth2' THEN 'spmis-client' END,
        CASE WHEN auth = 'oauth2' THEN 'spmis-secret' END,
        'test-key-1', 'dci-ed25519', 'spmis.test', 'registry.local',
        current_setting('dci_test.regkey'), 5)
$$;
SELECT set_config('dci_test.port', :'regport', false) IS NOT NULL AS port_set;
SELECT set_config('dci_test.regkey', :'regkey', false) IS NOT NULL AS key_set;
ALTER DATABASE contrib_regression SET dci_test.port FROM CURRENT;
ALTER DATABASE contrib_regression SET dci_test.regkey FROM CURRENT;
-- the fault tests fail the same sources many times on purpose: the circuit
-- breaker (on by default) is tested on its own in 32_budget
ALTER DATABASE contrib_regression SET dci.breaker_threshold = 0;

SELECT test_source('crvs_main', '/crvs');
SELECT test_source('ibr_main', '/ibr', 'ibr');
SELECT test_source('dr_main', '/dr', 'dr');
SELECT test_source('crvs_oauth', '/crvs', 'crvs', 'oauth2');

-- the registry learns our public key from our JWKS, as a real one would
SELECT jsonb_array_length(dci_jwks() -> 'keys') AS keys,
       dci_jwks() #>> '{keys,0,kid}' AS kid,
       dci_jwks() #>> '{keys,0,kty}' AS kty,
       dci_jwks() #>> '{keys,0,crv}' AS crv,
       dci_jwks() #> '{keys,0}' ? 'd' AS leaks_private_part;
\copy (SELECT dci_jwks()) TO PROGRAM 'curl -sf -o /dev/null --data-binary @- http://127.0.0.1:$DCI_TEST_PORT/admin/senders'

-- Asynchronous requests (40, 5x): the local registry's admin API from SQL
-- (the suite runs as a superuser)
CREATE FUNCTION registry(path text, body jsonb DEFAULT NULL, post boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    q text := $q$'$q$;
    cmd text := 'curl -s';
    out text;
BEGIN
    IF to_regclass('pg_temp.registry_out') IS NULL THEN
        CREATE TEMP TABLE registry_out (line text);
    END IF;
    TRUNCATE registry_out;
    IF body IS NOT NULL THEN
        cmd := cmd || ' --data-binary ' || q || replace(body::text, q, q || '\' || q || q) || q;
    ELSIF post THEN
        cmd := cmd || ' -X POST';
    END IF;
    cmd := cmd || ' ' || q || 'http://127.0.0.1:' || current_setting('dci_test.port') || path || q;
    EXECUTE format('COPY registry_out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', cmd);
    SELECT string_agg(line, E'\n') INTO out FROM registry_out;
    RETURN out::jsonb;
END $$;
-- the callbacks of a transaction, as the registry posted them, once n are delivered
CREATE FUNCTION callbacks(txn text, n integer DEFAULT 1) RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry(format('/admin/callbacks?transaction_id=%s&count=%s&wait_ms=10000', txn, n));
    RETURN QUERY SELECT r -> 'body'
                   FROM jsonb_array_elements(registry('/admin/sink') -> 'received') WITH ORDINALITY AS x(r, i)
                  WHERE r #>> '{body,message,transaction_id}' = txn
                     OR r #>> '{body,message,txnstatus_response,txn_status,transaction_id}' = txn
                  ORDER BY i;
END $$;
-- a source of the local registry whose callbacks go to the sink
CREATE FUNCTION async_source(code text, path text, callback text DEFAULT '/sink/async') RETURNS void
LANGUAGE sql AS $$
    SELECT test_source(code, path);
    UPDATE dci.data_source SET our_callback_uri = 'http://127.0.0.1:' || current_setting('dci_test.port') || callback
     WHERE data_source.code = async_source.code;
$$;
