-- ALTER EXTENSION dci UPDATE from 0.1.0 gives the same objects as a fresh
-- install, and keeps (and migrates) the rows it had.  Offline: one database,
-- the two installs one after the other, their catalogs kept in temp tables.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- everything the extension created, as text
CREATE FUNCTION dci_catalog_dump() RETURNS TABLE (kind text, name text, def text) LANGUAGE sql AS $q$
  WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'dci'),
  members AS (SELECT classid, objid FROM pg_depend, ext WHERE refobjid = ext.oid AND deptype = 'e')
  SELECT 'function', p.oid::regprocedure::text,
         concat_ws(' | ', pg_get_functiondef(p.oid), p.proacl::text, obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  UNION ALL
  SELECT 'relation', c.oid::regclass::text,
         concat_ws(' | ', c.relkind, c.relacl::text, obj_description(c.oid, 'pg_class'))
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'dci')
  UNION ALL
  SELECT 'column', c.oid::regclass::text || '.' || a.attname,
         concat_ws(' | ', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'dci')
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'dci')
  UNION ALL
  SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
    FROM pg_trigger WHERE NOT tgisinternal
     AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'dci'))
  UNION ALL
  SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
    FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'dci'))
  UNION ALL
  SELECT 'schema', nspname, concat_ws(' | ', nspacl::text, obj_description(oid, 'pg_namespace'))
    FROM pg_namespace WHERE nspname = 'dci'
  UNION ALL
  SELECT 'config_dump', extconfig::regclass[]::text, array_to_string(extcondition, ',')
    FROM pg_extension WHERE extname = 'dci'
$q$;

-- 0.1.0 with rows in it, including disability rows that had failed
CREATE EXTENSION dci VERSION '0.1.0';
INSERT INTO dci.data_source (code, name, base_url, our_sender_id, signing_mode, verify_response_signature)
VALUES ('old_src', 'kept', 'http://127.0.0.1:1', 'me', 'none', 'off');
INSERT INTO dci.disability_record (source, identifier_type, identifier_value, status, has_disability,
                                   record, fetched_at, last_error)
VALUES ('old_src', 'UIN', '1', 'failed', true, '{"x":1}', now(), 'down'),
       ('old_src', 'UIN', '2', 'failed', NULL, NULL, now(), 'down'),
       ('old_src', 'UIN', '3', 'failed', NULL, NULL, NULL, 'down'),
       ('old_src', 'UIN', '4', 'found', false, '{"y":2}', now(), NULL);
ALTER EXTENSION dci UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'dci';
CREATE TEMP TABLE upgraded AS SELECT * FROM dci_catalog_dump();

-- rows survive; a failed disability row now keeps its last answer as status
SELECT code, name, oauth2_client_auth, max_retries FROM dci.data_source;
SELECT identifier_value, status, last_attempt_status, has_disability, last_error
  FROM dci.disability_record ORDER BY 1;
DROP EXTENSION dci;

CREATE EXTENSION dci;
CREATE TEMP TABLE fresh AS SELECT * FROM dci_catalog_dump();
DROP EXTENSION dci;

-- the two catalogs agree: nothing only in one of them
SELECT 'only fresh' AS side, * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM upgraded) x
UNION ALL
SELECT 'only upgraded', * FROM (SELECT * FROM upgraded EXCEPT SELECT * FROM fresh) y
ORDER BY 1, 2, 3;
SELECT count(*) > 50 AS compared_objects FROM fresh;

-- a library newer than the installed schema refuses to run, and says what to do
CREATE EXTENSION dci VERSION '0.1.0';
INSERT INTO dci.data_source (code, name, base_url, our_sender_id, signing_mode, verify_response_signature)
VALUES ('old_src', 'kept', 'http://127.0.0.1:1', 'me', 'none', 'off');
\set VERBOSITY default
SELECT dci_search_by_id('old_src', 'UIN', '1');
\set VERBOSITY terse
DROP EXTENSION dci;
DROP FUNCTION dci_catalog_dump();
