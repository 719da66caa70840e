-- A registry killed in the middle of a batch job: the README's pattern
-- changes nothing it knew for the rows that failed, records why they
-- failed, and a rerun finishes the job.  The registry is a second instance
-- (test/lib.sh dci_start_victim) that this test kills while another session
-- runs the batch.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv victim_port DCI_TEST_VICTIM_PORT
\getenv victim_pid DCI_TEST_VICTIM_PID

CREATE TABLE child (
    brn             text PRIMARY KEY,
    birth_verified  boolean,         -- the last answer: found in the CRVS or not
    birth_date      date,
    crvs_checked_at timestamptz,     -- when the CRVS last answered
    last_attempt_at timestamptz,     -- the last try, answered or not
    last_error      text             -- why the last try failed (NULL: it did not)
);
INSERT INTO child (brn) SELECT unnest(ARRAY['BR-1988-2000', 'BR-1967-2001', 'BR-1981-2002', 'BR-1988-2003', 'BR-1969-2004', 'BR-1982-2005', 'BR-1972-2006', 'BR-1998-2007', 'BR-1986-2008', 'BR-1968-2009', 'BR-1984-2010', 'BR-1972-2011', 'BR-1998-2012', 'BR-1969-2013', 'BR-1974-2014', 'BR-1966-2015', 'BR-1972-2016', 'BR-2000-2017', 'BR-1973-2018', 'BR-1965-2019', 'BR-1968-2020', 'BR-1990-2021', 'BR-1985-2022', 'BR-1984-2023', 'BR-1979-2024', 'BR-1968-2025', 'BR-1978-2026', 'BR-1978-2027', 'BR-1982-2028', 'BR-1973-2029', 'BR-1986-2030', 'BR-1975-2031', 'BR-1977-2032', 'BR-1991-2033', 'BR-1983-2034', 'BR-1977-2035', 'BR-1967-2036', 'BR-1973-2037', 'BR-1985-2038', 'BR-1993-2039']);

-- the victim knows our key, as the first registry does
SELECT test_source('victim', '');
UPDATE dci.data_source SET base_url = 'http://127.0.0.1:' || :'victim_port' || '/crvs',
                           batch_size = 1, requests_per_minute = 1200, max_retries = 0
 WHERE code = 'victim';
\copy (SELECT dci_jwks()) TO PROGRAM 'curl -sf -o /dev/null --data-binary @- http://127.0.0.1:$DCI_TEST_VICTIM_PORT/admin/senders'

-- the README's job, as one statement: answers update the rows, failures only say why
CREATE FUNCTION verify_children(source text) RETURNS bigint LANGUAGE sql AS $$
    WITH v AS (SELECT * FROM dci_verify_birth_batch('BRN', ARRAY(SELECT brn FROM child ORDER BY brn), source)),
    answered AS (
        UPDATE child c SET birth_verified = (v.status = 'found'), birth_date = (v.record).birth_date,
                           crvs_checked_at = now(), last_attempt_at = now(), last_error = NULL
          FROM v WHERE v.identifier_value = c.brn AND v.status <> 'failed' RETURNING 1),
    failed AS (
        UPDATE child c SET last_attempt_at = now(), last_error = v.error
          FROM v WHERE v.identifier_value = c.brn AND v.status = 'failed' RETURNING 1)
    SELECT (SELECT count(*) FROM answered) + (SELECT count(*) FROM failed)
$$;

-- first run: the registry answers everyone
SELECT verify_children('victim') AS checked;
SELECT birth_verified, count(*), count(birth_date) AS with_date FROM child GROUP BY 1;
CREATE TABLE known AS SELECT brn, birth_verified, birth_date, crvs_checked_at FROM child;

-- second run: another session runs it, the registry is killed halfway through
SELECT dblink_connect('job', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                     current_setting('port'), current_database()));
SELECT dblink_send_query('job', $$SELECT verify_children('victim')$$);
SELECT pg_sleep(0.8);
\! kill $DCI_TEST_VICTIM_PID
SELECT * FROM dblink_get_result('job') AS t(checked bigint);
SELECT dblink_disconnect('job');

-- the job committed: some rows failed, and none lost what was known
SELECT count(*) FILTER (WHERE last_error IS NOT NULL) > 0 AS some_failed,
       count(*) FILTER (WHERE last_error IS NULL) > 0 AS some_answered FROM child;
SELECT count(*) AS known_values_lost
  FROM child c JOIN known k USING (brn)
 WHERE (c.birth_verified, c.birth_date) IS DISTINCT FROM (k.birth_verified, k.birth_date);
SELECT count(*) AS failed_rows_touched
  FROM child c JOIN known k USING (brn)
 WHERE c.last_error IS NOT NULL AND c.crvs_checked_at IS DISTINCT FROM k.crvs_checked_at;
SELECT DISTINCT regexp_replace(last_error, '127\.0\.0\.1(:| port )\d+', '127.0.0.1<port>', 'g') AS why
  FROM child WHERE last_error IS NOT NULL;

-- the same job against the main registry finishes it
UPDATE dci.data_source SET base_url = 'http://127.0.0.1:' || current_setting('dci_test.port') || '/crvs'
 WHERE code = 'victim';
SELECT verify_children('victim') AS checked;
SELECT count(*) FILTER (WHERE last_error IS NOT NULL) AS still_failed,
       count(*) FILTER (WHERE birth_verified) AS verified FROM child;
