-- Offline: needs a server with dci installed, nothing else (no registry, no
-- network).  Each offline test creates the extension and drops it at its end,
-- so that it runs alone, in any order, and before the registry suite.
--
-- Configuration: the tables refuse what they can check; the functions check
-- the rest, naming the source, before they send anything.
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE EXTENSION dci;

-- how a statement fails: its SQLSTATE, then message, detail and hint
CREATE FUNCTION pg_temp.failure(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                            h = PG_EXCEPTION_HINT;
    RETURN concat_ws(' ', s, m, d, h);
END $$;

-- the configuration tables, and pg_dump keeps their rows
SELECT to_regclass('dci.data_source') IS NOT NULL AS data_source,
       to_regclass('dci.signing_key') IS NOT NULL AS signing_key;
SELECT 'dci.data_source'::regclass = ANY (extconfig) AS data_source_dumped,
       'dci.signing_key'::regclass = ANY (extconfig) AS signing_key_dumped
  FROM pg_extension WHERE extname = 'dci';

-- a row needs a code, a name and our sender id; the defaults are the safe ones
INSERT INTO dci.data_source (code, name, our_sender_id) VALUES ('minimal', 'minimal', 'mis.example');
SELECT registry_type, auth_type, signing_mode, verify_response_signature, verify_ssl, active
  FROM dci.data_source WHERE code = 'minimal';

-- what the tables refuse
\set VERBOSITY sqlstate
INSERT INTO dci.data_source (code, name, our_sender_id) VALUES ('bad code', 'x', 'mis.example');
INSERT INTO dci.data_source (code, name, our_sender_id) VALUES ('minimal', 'again', 'mis.example');
INSERT INTO dci.data_source (code, name) VALUES ('no_sender', 'x');
INSERT INTO dci.data_source (code, name, our_sender_id, registry_type) VALUES ('x', 'x', 'mis.example', 'census');
INSERT INTO dci.data_source (code, name, our_sender_id, auth_type) VALUES ('x', 'x', 'mis.example', 'magic');
INSERT INTO dci.data_source (code, name, our_sender_id, signing_mode) VALUES ('x', 'x', 'mis.example', 'hs256');
INSERT INTO dci.data_source (code, name, our_sender_id, verify_response_signature) VALUES ('x', 'x', 'mis.example', 'maybe');
INSERT INTO dci.data_source (code, name, our_sender_id, timeout_seconds) VALUES ('x', 'x', 'mis.example', 0);
INSERT INTO dci.data_source (code, name, our_sender_id, batch_size) VALUES ('x', 'x', 'mis.example', 0);
INSERT INTO dci.data_source (code, name, our_sender_id, signing_key_id) VALUES ('x', 'x', 'mis.example', 'no-such-key');
INSERT INTO dci.signing_key (key_id, private_key, public_key) VALUES ('bad|kid', 'x', 'x');
INSERT INTO dci.signing_key (key_id, algorithm, private_key, public_key) VALUES ('k', 'hs256', 'x', 'x');
\set VERBOSITY terse
SELECT count(*) AS rows_stored FROM dci.data_source;

-- What the functions refuse.  Each source below is complete but for one thing
-- (complete = an http URL, no auth, no signing, no answer check), so the
-- error is about that thing whatever order the checks run in; and as each
-- has a fault, nothing is ever sent (127.0.0.1 port 1 would refuse anyway).
CREATE FUNCTION pg_temp.source(code text, base_url text DEFAULT 'http://127.0.0.1:1/never',
                               auth_type text DEFAULT 'none', bearer_token text DEFAULT NULL,
                               client_id text DEFAULT NULL, client_secret text DEFAULT NULL,
                               signing_mode text DEFAULT 'none', signing_key_id text DEFAULT NULL,
                               verify text DEFAULT 'off', registry_key text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
    INSERT INTO dci.data_source (code, name, our_sender_id, base_url, auth_type, bearer_token,
                                 oauth2_client_id, oauth2_client_secret, signing_mode, signing_key_id,
                                 verify_response_signature, registry_public_key)
    VALUES (code, 'test ' || code, 'mis.example', base_url, auth_type, bearer_token,
            client_id, client_secret, signing_mode, signing_key_id, verify, registry_key)
    RETURNING code
$$;
SELECT length(dci_generate_signing_key('ed-key')) > 0 AS ed25519_key,
       length(dci_generate_signing_key('rsa-key', 'rs256')) > 0 AS rs256_key,
       length(dci_generate_signing_key('old-key')) > 0 AS retired_key;
UPDATE dci.signing_key SET active = false WHERE key_id = 'old-key';

SELECT count(*) AS sources FROM (VALUES
    (pg_temp.source('no_url', base_url => NULL)),
    (pg_temp.source('empty_url', base_url => '')),
    (pg_temp.source('ftp_url', base_url => 'ftp://registry.example/')),
    (pg_temp.source('no_token', auth_type => 'bearer')),
    (pg_temp.source('no_secret', auth_type => 'oauth2', client_id => 'mis-client')),
    (pg_temp.source('no_registry_key', verify => 'required')),
    (pg_temp.source('bad_registry_key', verify => 'if-present', registry_key => 'not a key')),
    (pg_temp.source('no_signing_key', signing_mode => 'dci-ed25519')),
    (pg_temp.source('retired_key', signing_mode => 'dci-ed25519', signing_key_id => 'old-key')),
    (pg_temp.source('ed_key_for_jws', signing_mode => 'jws-rs256', signing_key_id => 'ed-key')),
    (pg_temp.source('rsa_key_for_dci', signing_mode => 'dci-ed25519', signing_key_id => 'rsa-key'))) v;

-- each error names the source and the setting (or key) at fault
SELECT code, split_part(e, ' ', 1) AS sqlstate,
       position(format('"%s"', code) IN e) > 0 AS names_source,
       position(fault IN e) > 0 AS names_fault
  FROM (VALUES ('no_url', 'base_url'), ('empty_url', 'base_url'), ('ftp_url', 'base_url'),
               ('no_token', 'bearer_token'), ('no_secret', 'oauth2_client_secret'),
               ('no_registry_key', 'registry_public_key'), ('bad_registry_key', 'registry_public_key'),
               ('no_signing_key', 'signing_key_id'), ('retired_key', '"old-key"'),
               ('ed_key_for_jws', '"ed-key"'), ('rsa_key_for_dci', '"rsa-key"')) f(code, fault),
       LATERAL pg_temp.failure(format('SELECT dci_search_by_id(%L, %L, %L)', code, 'BRN', 'BR-1')) e
 ORDER BY code;

-- a change takes effect at once: the session's cached configuration is dropped
UPDATE dci.data_source SET base_url = 'ftp://registry.example/' WHERE code = 'no_url';
SELECT split_part(e, ' ', 1) AS after_update, position('"no_url"' IN e) > 0 AS names_source
  FROM pg_temp.failure($$SELECT dci_search_by_id('no_url', 'BRN', 'BR-1')$$) e;
UPDATE dci.signing_key SET active = true WHERE key_id = 'old-key';
UPDATE dci.data_source SET active = false WHERE code = 'retired_key';
SELECT split_part(e, ' ', 1) AS after_update, position('"retired_key"' IN e) > 0 AS names_source
  FROM pg_temp.failure($$SELECT dci_search_by_id('retired_key', 'BRN', 'BR-1')$$) e;
DELETE FROM dci.data_source WHERE code = 'ftp_url';
SELECT split_part(e, ' ', 1) AS after_delete, position('"ftp_url"' IN e) > 0 AS names_source
  FROM pg_temp.failure($$SELECT dci_search_by_id('ftp_url', 'BRN', 'BR-1')$$) e;

DROP EXTENSION dci;
