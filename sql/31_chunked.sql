-- The README's chunked job for millions of rows: commits per chunk, reports
-- progress, records failures per row, and resumes where it stopped.
\set VERBOSITY terse
\set SHOW_CONTEXT never

CREATE TABLE pension_roll (
    uin             text PRIMARY KEY,
    crvs_status     text,            -- found / not_found / failed
    deceased        boolean,
    crvs_error      text,
    crvs_checked_at timestamptz      -- NULL: still to do
);
INSERT INTO pension_roll (uin)
SELECT (1000000300 + g)::text FROM generate_series(0, 24) g
UNION ALL VALUES ('1000000042'), ('1000009999'), ('RJCT-1'), ('RJCT-2');

CREATE PROCEDURE check_pension_roll(chunk integer DEFAULT 1000, source text DEFAULT 'crvs_main')
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    total bigint := 0;
BEGIN
    LOOP
        WITH pending AS (
            SELECT uin FROM pension_roll WHERE crvs_checked_at IS NULL
             ORDER BY uin LIMIT chunk FOR UPDATE SKIP LOCKED),
        v AS (
            SELECT * FROM dci_verify_birth_batch('UIN', ARRAY(SELECT uin FROM pending), source))
        UPDATE pension_roll p
           SET crvs_status = v.status, deceased = (v.record).is_deceased,
               crvs_error = v.error, crvs_checked_at = now()
          FROM v WHERE v.identifier_value = p.uin;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n = 0;
        total := total + n;
        COMMIT;                         -- a chunk done is never redone
        RAISE NOTICE 'checked % rows, % still to do', total,
            (SELECT count(*) FROM pension_roll WHERE crvs_checked_at IS NULL);
    END LOOP;
END $$;

-- first run against a registry that is down: every row is marked failed, with the reason
CALL check_pension_roll(10, 'f_500');
SELECT crvs_status, count(*) FROM pension_roll GROUP BY 1 ORDER BY 1;
-- resume: only the failed rows are asked again
UPDATE pension_roll SET crvs_checked_at = NULL WHERE crvs_status = 'failed';
CALL check_pension_roll(10);
SELECT crvs_status, deceased, count(*) FROM pension_roll GROUP BY 1, 2 ORDER BY 1, 2;
SELECT uin, crvs_error FROM pension_roll WHERE crvs_status = 'failed' ORDER BY uin;
-- nothing left: a second call does nothing
CALL check_pension_roll(10);
