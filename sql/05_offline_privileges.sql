-- Offline (see 01_offline_config.sql): nothing is open to PUBLIC; a role
-- granted EXECUTE on a search function can search without being able to
-- read, change or provoke a secret out of the configuration.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_dci_caller;   -- left over by an interrupted run
RESET client_min_messages;
CREATE EXTENSION dci;

-- no function of the extension is executable by PUBLIC, no table readable
SELECT count(*) > 0 AS has_functions,
       count(*) FILTER (WHERE has_function_privilege('public', p.oid, 'EXECUTE')) AS public_executable
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dci');
SELECT c.oid::regclass AS public_table
  FROM pg_class c
 WHERE c.relnamespace = 'dci'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
   AND has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER');
-- the schema is usable (its types) but nobody else may create in it
SELECT has_schema_privilege('public', 'dci', 'USAGE') AS usage, has_schema_privilege('public', 'dci', 'CREATE') AS "create";

-- a source whose secrets must never show, and a key
SELECT length(dci_generate_signing_key('ed-key')) > 0 AS key;
INSERT INTO dci.data_source (code, name, our_sender_id, base_url, auth_type, bearer_token, signing_key_id,
                             registry_public_key, active)
VALUES ('secret_src', 'secret', 'mis.example', 'http://127.0.0.1:1/never', 'bearer', 'TOPSECRET-bearer',
        'ed-key', 'TOPSECRET-not-a-key', false);

CREATE ROLE regress_dci_caller NOLOGIN;
SET ROLE regress_dci_caller;
\set VERBOSITY sqlstate
-- without grants: nothing
SELECT dci_search_by_id('secret_src', 'BRN', 'BR-1');
SELECT count(*) FROM dci_records('{}');
SELECT dci_jwks();
SELECT count(*) FROM dci.data_source;
RESET ROLE;

GRANT EXECUTE ON FUNCTION dci_search_by_id(text, text, text), dci_records(jsonb), dci_jwks(text)
   TO regress_dci_caller;
SET ROLE regress_dci_caller;
-- the granted functions read the configuration as its owner: the caller gets
-- the real outcome (unknown, inactive), not a permission error
SELECT dci_search_by_id('no_such_source', 'BRN', 'BR-1');
SELECT dci_search_by_id('secret_src', 'BRN', 'BR-1');
SELECT count(*) AS records FROM dci_records('{"message": {"search_response": [{"data": {"reg_records": [{}]}}]}}');
SELECT jsonb_array_length(dci_jwks() -> 'keys') AS jwks;
-- the tables stay closed, to reading and to writing
SELECT bearer_token FROM dci.data_source;
SELECT private_key FROM dci.signing_key;
SELECT count(*) FROM dci.disability_record;
UPDATE dci.data_source SET base_url = 'http://attacker.example';
INSERT INTO dci.signing_key (key_id, private_key, public_key) VALUES ('mine', 'x', 'x');
DELETE FROM dci.data_source;
-- administrative functions are not granted
SELECT dci_generate_signing_key('caller-key');
SELECT * FROM dci_test_connection('secret_src');
SELECT dci_clear_token_cache();
-- only a superuser may point TLS at another CA bundle
SET dci.ca_file = '/tmp/ca.pem';
RESET ROLE;

-- dci_generate_signing_key writes as its caller: EXECUTE alone is not enough
GRANT EXECUTE ON FUNCTION dci_generate_signing_key(text, text) TO regress_dci_caller;
SET ROLE regress_dci_caller;
SELECT dci_generate_signing_key('caller-key');
RESET ROLE;
\set VERBOSITY terse

-- what the caller's failures said holds no secret
CREATE FUNCTION pg_temp.failure(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text; c text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                            h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    RETURN concat_ws(' | ', s, m, d, h, c);
END $$;
SET ROLE regress_dci_caller;
SELECT split_part(e, ' ', 1) AS sqlstate, e LIKE '%TOPSECRET%' AS leaks_secret, e LIKE '%PRIVATE%' AS leaks_key
  FROM pg_temp.failure($$SELECT dci_search_by_id('secret_src', 'BRN', 'BR-1')$$) e;
RESET ROLE;
-- active, it fails on its registry key (not a PEM key): the error says so, without the value
UPDATE dci.data_source SET active = true WHERE code = 'secret_src';
SET ROLE regress_dci_caller;
SELECT split_part(e, ' ', 1) AS sqlstate, e LIKE '%registry_public_key%' AS names_setting,
       e LIKE '%TOPSECRET%' AS leaks_secret, e LIKE '%PRIVATE%' AS leaks_key
  FROM pg_temp.failure($$SELECT dci_search_by_id('secret_src', 'BRN', 'BR-1')$$) e;
RESET ROLE;

DROP EXTENSION dci;
DROP ROLE regress_dci_caller;
