-- The README's chunked job for millions of rows: commits per chunk, reports
-- progress, never lets a failure overwrite what was known, stops when
-- nothing gets through (the registry down, the day's quota spent), and
-- resumes where it stopped.
\set VERBOSITY terse
\set SHOW_CONTEXT never

CREATE TABLE pension_roll (
    uin             text PRIMARY KEY,
    crvs_status     text,            -- the last answer: found / not_found (NULL: never answered)
    deceased        boolean,         -- as the CRVS last said
    crvs_checked_at timestamptz,     -- when the CRVS last answered
    last_attempt_at timestamptz,     -- the last try, answered or not
    last_error      text             -- why the last try failed (NULL: it did not)
);
INSERT INTO pension_roll (uin)
SELECT (1000000300 + g)::text FROM generate_series(0, 24) g
UNION ALL VALUES ('1000000042'), ('1000009999'), ('RJCT-1'), ('RJCT-2');

-- one round: every row not answered since round_start, a chunk per transaction
CREATE PROCEDURE check_pension_roll(round_start timestamptz, chunk integer DEFAULT 1000,
                                    source text DEFAULT 'crvs_main')
LANGUAGE plpgsql AS $$
DECLARE
    call_start timestamptz := clock_timestamp();
    answered bigint;
    failed bigint;
    why text;
BEGIN
    LOOP
        WITH pending AS (
            SELECT uin FROM pension_roll
             WHERE (crvs_checked_at IS NULL OR crvs_checked_at < round_start)
               AND (last_attempt_at IS NULL OR last_attempt_at < call_start)   -- once per call
             ORDER BY uin LIMIT chunk FOR UPDATE SKIP LOCKED),
        v AS (
            SELECT * FROM dci_verify_birth_batch('UIN', ARRAY(SELECT uin FROM pending), source)),
        ok AS (
            UPDATE pension_roll p
               SET crvs_status = v.status, deceased = (v.record).is_deceased,
                   crvs_checked_at = now(), last_attempt_at = now(), last_error = NULL
              FROM v WHERE v.identifier_value = p.uin AND v.status <> 'failed' RETURNING 1),
        ko AS (   -- a failure changes nothing the registry told us before
            UPDATE pension_roll p SET last_attempt_at = now(), last_error = v.error
              FROM v WHERE v.identifier_value = p.uin AND v.status = 'failed' RETURNING p.last_error)
        SELECT (SELECT count(*) FROM ok), (SELECT count(*) FROM ko), (SELECT min(last_error) FROM ko)
          INTO answered, failed, why;
        EXIT WHEN answered + failed = 0;
        COMMIT;                         -- a chunk done is never redone
        IF answered = 0 THEN            -- nothing got through: stop, do not hammer
            RAISE NOTICE 'stopped: the registry answered nothing in this chunk (%)', why;
            EXIT;
        END IF;
        RAISE NOTICE 'checked % more rows (% failed), % still to do', answered + failed, failed,
            (SELECT count(*) FROM pension_roll
              WHERE crvs_checked_at IS NULL OR crvs_checked_at < round_start);
    END LOOP;
END $$;

-- first run against a registry that is down: it stops at the first chunk, having changed nothing known
CALL check_pension_roll(now(), 10, 'f_500');
SELECT crvs_status, count(*), count(last_error) AS with_error FROM pension_roll GROUP BY 1 ORDER BY 1;
-- the registry is back: the same round resumes and finishes
CALL check_pension_roll(now() - interval '1 minute', 10);
SELECT crvs_status, deceased, count(*) FROM pension_roll GROUP BY 1, 2 ORDER BY 1, 2;
SELECT uin, last_error FROM pension_roll WHERE last_error IS NOT NULL ORDER BY uin;
-- nothing left in this round: a second call does nothing
CALL check_pension_roll(now() - interval '1 minute', 10);

-- next month's round, with the registry down halfway: known values stay
CREATE TABLE roll_before AS SELECT * FROM pension_roll;
CALL check_pension_roll(now(), 10, 'f_500');
SELECT count(*) AS known_values_lost
  FROM pension_roll p JOIN roll_before b USING (uin)
 WHERE (p.crvs_status, p.deceased, p.crvs_checked_at) IS DISTINCT FROM (b.crvs_status, b.deceased, b.crvs_checked_at);

-- a daily quota: the job stops cleanly at it, and resumes another day
SELECT test_source('roll_quota', '/crvs');
UPDATE dci.data_source SET requests_per_day = 2, batch_size = 5 WHERE code = 'roll_quota';
SELECT clock_timestamp() AS t0 \gset
SET client_min_messages = warning;     -- the NOTICE says when the quota resets: a date
CALL check_pension_roll(now(), 5, 'roll_quota');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE crvs_checked_at >= :'t0') AS answered_today,
       count(*) FILTER (WHERE last_error LIKE 'daily quota%') AS waiting_for_quota
  FROM pension_roll;
