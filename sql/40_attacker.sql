-- The attacker suite: a role with EXECUTE on every dci function, its own
-- schema and TEMP, tries to run code as the extension's owner, to read a
-- secret, or to crash the backend.  It must end not superuser, having read
-- nothing, with every hijacking function uncalled by anyone but itself.
\set VERBOSITY terse
\set SHOW_CONTEXT never

CREATE ROLE dci_attacker NOLOGIN;
CREATE SCHEMA evil AUTHORIZATION dci_attacker;
GRANT CREATE ON SCHEMA public TO dci_attacker;
GRANT TEMPORARY ON DATABASE contrib_regression TO dci_attacker;
-- everything the extension has, as if an administrator granted it all
SELECT format('GRANT EXECUTE ON FUNCTION %s TO dci_attacker', p.oid::regprocedure) AS g
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dci' \gexec

-- a source whose callbacks go to the registry's sink, for the asynchronous functions
SELECT async_source('atk_async', '/crvs', '/sink/attacker');

SET ROLE dci_attacker;
-- a log of every call of the attacker's code made as someone else
CREATE TABLE evil.calls (who text, what text);
CREATE FUNCTION evil.caught(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'dci_attacker' THEN
        INSERT INTO evil.calls VALUES (current_user, what);
        BEGIN
            EXECUTE 'ALTER ROLE dci_attacker SUPERUSER';
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END IF;
END $$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT INSERT ON evil.calls TO PUBLIC;
-- operators and functions that shadow pg_catalog's when evil comes first
CREATE FUNCTION evil.texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('operator ='); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.to_char(d date, f text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('to_char'); RETURN pg_catalog.to_char(d, f); END $$;
CREATE FUNCTION evil.jsonb_array_elements(j jsonb) RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('jsonb_array_elements'); RETURN QUERY SELECT pg_catalog.jsonb_array_elements(j); END $$;
CREATE FUNCTION evil.jsonb_typeof(j jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof(j); END $$;
-- the same trojans in public, for whoever calls the SQL wrappers
CREATE FUNCTION public.to_char(d date, f text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.caught('public.to_char'); RETURN pg_catalog.to_char(d, f); END $$;
-- a temp table that would spoof an owner lookup done in SQL
CREATE TEMP TABLE pg_class (oid oid, relowner oid, relname name);
INSERT INTO pg_temp.pg_class VALUES ('dci.data_source'::regclass, 'dci_attacker'::regrole, 'data_source');

-- every function it may execute, called with the hijacks in place
SET search_path = pg_temp, evil, pg_catalog, public;
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042'));
SELECT dci_search('crvs_main', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') IS NOT NULL AS searched;
SELECT given_name FROM dci_verify_birth('BRN', 'BR-2024-0042');
SELECT dci_is_deceased('BRN', 'BR-2024-0042') AS deceased;
SELECT is_duplicate FROM dci_check_duplication('UIN', '1000000100');
SELECT is_duplicate FROM dci_check_duplication('[{"type":"UIN","value":"1000000100"}]'::jsonb, 'ibr_main');
SELECT count(*) FROM dci_search_beneficiary('UIN', '1000000100');
SELECT has_disability FROM dci_disability_status('UIN', '1000000200');
SELECT dci_functional_scores('UIN', '1000000200') IS NOT NULL AS scores;
SELECT dci_is_pwd('UIN', '1000000200') AS pwd;
SELECT count(*) FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042']);
SELECT count(*) FROM dci_search_by_id_batch('crvs_main', 'BRN', ARRAY['BR-2024-0042']);
SELECT count(*) FROM dci_disability_status_batch('UIN', ARRAY['1000000200']);
SELECT count(*) FROM dci_check_duplication_batch('UIN', ARRAY['1000000100']);
SELECT dci_search_pages('crvs_main', 'predicate',
  '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2024-01-01"}}]',
  page_size => 5, all_pages => true) IS NOT NULL AS paged;
SELECT dci_search_by_date_range('crvs_main', 'birth_date', '2024-01-01', '2024-01-31') IS NOT NULL AS by_dates;
SELECT dci_search_by_predicate('crvs_main', '[]') IS NOT NULL AS by_predicate;
SELECT dci_search_by_expression('crvs_main', '{}') IS NOT NULL AS by_expression;
SELECT jsonb_array_length(dci_jwks() -> 'keys') > 0 AS jwks;
SELECT ok FROM dci_test_connection('crvs_main');
SELECT requests > 0 AS counted FROM dci_stats();
SELECT dci_clear_token_cache('crvs_oauth');
-- the sync writes dci.disability_record (health data the attacker may not read) only through the function
SELECT dci_sync_disability('dr_main', '[{"type":"UIN","value":"1000000201"}]') AS synced;
-- asynchronous requests, polls and callbacks: the inbox writes run as the owner, hijacks in place
SELECT dci_search_async('atk_async', 'idtype-value', '{"type":"BRN","value":"BR-2024-0042"}') AS atk_txn \gset
SELECT dci_subscribe('atk_async', 'death') IS NOT NULL AS subscribed;
SELECT count(*) FROM dci_subscribe_vital_events('{birth}', 'atk_async');
SELECT dci_unsubscribe('atk_async', '{SUB-000000000009}') IS NOT NULL AS unsubscribed;
SELECT dci_txn_status('atk_async', :'atk_txn') #>> '{header,action}' AS polled;
SELECT dci_poll_transactions('0 seconds') >= 0 AS polled_all;
SELECT dci_receive('{"header":{"action":"on-search","message_id":"x","sender_id":"registry.local"},"message":{"transaction_id":"nope"}}');
SELECT (dci_birth_record('{"identifier":[{"identifier_type":"UIN","identifier_value":"1"}],"death_date":"2020-01-01"}', 'crvs_main')).death_date;
-- internal trigger functions cannot be called directly
SELECT dci.config_changed();
SELECT dci.validate_row();
-- settings that weaken checks are the superuser's
SET dci.signature_skew = 3600;
SET dci.max_response_size = '1GB';
SET dci.cache_ttl = 86400;
-- the tables stay closed
SELECT count(*) FROM dci.data_source;
SELECT count(*) FROM dci.signing_key;
SELECT count(*) FROM dci.disability_record;
SELECT count(*) FROM dci.transaction;
SELECT count(*) FROM dci.inbox;
SELECT count(*) FROM dci.subscription;
SELECT count(*) FROM dci.notification;
RESET search_path;
RESET ROLE;

-- the administrator runs the SQL wrappers with public first, where the trojan waits
SET search_path = public, pg_catalog;
SELECT dci_search_by_date_range('crvs_main', 'birth_date', '2024-01-01', '2024-01-31') IS NOT NULL AS by_dates;
SELECT dci_is_deceased('BRN', 'BR-2024-0042') AS deceased;
RESET search_path;

-- verdict: no hijack ran as anyone else, the attacker is no superuser
SELECT count(*) AS hijacked_calls FROM evil.calls;
SELECT who, what FROM evil.calls;
SELECT rolsuper FROM pg_roles WHERE rolname = 'dci_attacker';

-- configuration errors never print the row (its secrets) to the client or the log
SELECT err($$INSERT INTO dci.data_source (code, name, our_sender_id, auth_type, bearer_token)
             VALUES ('bad code!', 'x', 's', 'bearer', 'TOPSECRET-check-row')$$);
SELECT err($$INSERT INTO dci.data_source (code, name, our_sender_id, auth_type, bearer_token)
             VALUES ('nullname', NULL, 's', 'bearer', 'TOPSECRET-null-row')$$);
SELECT err($$INSERT INTO dci.data_source (code, name, our_sender_id, auth_type, oauth2_client_secret)
             VALUES ('badauth', 'x', 's', 'magic', 'TOPSECRET-auth-row')$$);
SELECT err($$INSERT INTO dci.signing_key (key_id, private_key, public_key, algorithm)
             VALUES ('k9', 'TOPSECRET-private-pem', 'pub', 'dsa')$$);
SELECT err($$UPDATE dci.data_source SET timeout_seconds = 0, bearer_token = 'TOPSECRET-upd'
             WHERE code = 'crvs_main'$$);

-- a bearer token that would add HTTP headers is refused at use, without showing it
SELECT test_source('sec_crlf', '/crvs');
UPDATE dci.data_source SET bearer_token = E'TOPSECRET-tok\r\nX-Injected: 1' WHERE code = 'sec_crlf';
SELECT err($$SELECT dci_search_by_id('sec_crlf', 'BRN', 'BR-2024-0042')$$);

-- answers are checked with a key whenever they are checked at all
SELECT test_source('sec_nokey', '/crvs');
UPDATE dci.data_source SET registry_public_key = NULL, verify_response_signature = 'if-present' WHERE code = 'sec_nokey';
SELECT err($$SELECT dci_search_by_id('sec_nokey', 'BRN', 'BR-2024-0042')$$);

-- Crashes: every dci function with each argument NULL in turn, and every jsonb
-- argument in every JSON shape.  Each call must end in a clear ERROR (never an
-- internal one) or a result, and the backend must survive (a crash ends this
-- session, and the test with it).
CREATE TEMP TABLE sweep (fn text, args text, state text);
DO $$
DECLARE
    f record;
    i int;
    args text[];
    shapes text[] := ARRAY['null', '1', '"s"', 'true', '[]', '{}', '[1,2]', '[["a","b"]]',
                           '[{"type":1,"value":[]}]', '[{"type":"UIN"}]', '{"a":{"b":[1,{"c":null}]}}',
                           '[{"type":"UIN","value":"1000000100"},7,null,"x"]',
                           '{"type":"UIN","value":"1000000042"}', '[[[[[[[[[[[]]]]]]]]]]]'];
    sh text;
    st text;
    call text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS sig, p.proname, n.nspname, p.proargtypes::regtype[] AS types,
               p.pronargs, p.proretset, p.prorettype = 'trigger'::regtype AS is_trigger
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dci'
         ORDER BY 1::text
    LOOP
        CONTINUE WHEN f.is_trigger OR f.pronargs = 0;
        -- sane arguments by type; then each one NULL, then each jsonb one in every shape
        args := ARRAY(SELECT CASE t::text
                               WHEN 'text' THEN quote_literal(CASE WHEN f.proname LIKE '%duplication%' OR f.proname LIKE '%beneficiary%' THEN 'ibr_main'
                                                                   WHEN f.proname LIKE '%disab%' OR f.proname LIKE '%pwd%' OR f.proname LIKE '%functional%' THEN 'dr_main'
                                                                   ELSE 'crvs_main' END)
                               WHEN 'text[]' THEN quote_literal('{1000000100}') || '::text[]'
                               WHEN 'jsonb' THEN quote_literal('{"type":"UIN","value":"1000000042"}') || '::jsonb'
                               WHEN 'integer' THEN '1'
                               WHEN 'boolean' THEN 'false'
                               WHEN 'date' THEN quote_literal('2024-01-01') || '::date'
                               WHEN 'interval' THEN quote_literal('1 day') || '::interval'
                               ELSE 'NULL' END
                        FROM unnest(f.types) t);
        FOR i IN 1 .. f.pronargs LOOP
            FOREACH sh IN ARRAY CASE WHEN f.types[i - 1] = 'jsonb'::regtype THEN array_prepend(NULL, shapes)
                                     ELSE ARRAY[NULL::text] END
            LOOP
                call := format('SELECT %s(%s)', f.nspname || '.' || quote_ident(f.proname),
                               array_to_string(array_cat(array_cat(args[1:i-1],
                                   ARRAY[CASE WHEN sh IS NULL THEN 'NULL::' || f.types[i - 1]::text
                                              ELSE quote_literal(sh) || '::jsonb' END]),
                                   args[i+1:]), ', '));
                BEGIN
                    EXECUTE call;
                    st := 'ok';
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
                END;
                INSERT INTO sweep VALUES (f.sig::text, call, st);
            END LOOP;
        END LOOP;
    END LOOP;
END $$;
SELECT count(*) > 100 AS many_calls, count(DISTINCT fn) > 20 AS many_functions FROM sweep;
-- no internal error (XX000) and no crash: the session is still here
SELECT fn, args, state FROM sweep WHERE state LIKE 'XX%' ORDER BY 1, 2;
SELECT 'backend alive' AS survived;
