-- The enrollment flow of a child-benefit programme, the way its MIS would
-- use dci: a trigger that verifies each birth with the civil registry and
-- refuses duplicate enrollments, an eligibility query against the
-- disability registry, and a batch job over the CRVS death records.
\pset footer off
\set ON_ERROR_STOP on

CREATE SCHEMA mis;

CREATE TABLE mis.child_benefit (
    id                  serial PRIMARY KEY,
    child_brn           text NOT NULL UNIQUE,
    child_name          text,
    verified_birth_date date,        -- filled from the CRVS, not typed in
    enrolled_at         timestamptz NOT NULL DEFAULT now()
);

-- Before a child is enrolled: the birth must be registered, the child alive,
-- and not already enrolled in another child programme.
CREATE FUNCTION mis.verify_child() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b dci.birth_record;
    d dci.duplication_result;
BEGIN
    b := dci_verify_birth('BRN', NEW.child_brn);
    IF b IS NULL THEN
        RAISE EXCEPTION 'birth % is not registered in the civil registry', NEW.child_brn
            USING HINT = 'Ask the family for the birth certificate; register the birth first.';
    END IF;
    IF b.is_deceased THEN
        RAISE EXCEPTION 'the civil registry records the death of child % (%)', NEW.child_brn, b.death_date;
    END IF;
    d := dci_check_duplication('BRN', NEW.child_brn, exclude_program => 'CB-001');
    IF d.is_duplicate THEN
        RAISE EXCEPTION 'child % is already enrolled in: %', NEW.child_brn,
            array_to_string(d.matched_programs, ', ');
    END IF;
    NEW.verified_birth_date := b.birth_date;
    NEW.child_name := b.person_name;
    RETURN NEW;
END $$;
CREATE TRIGGER verify_child BEFORE INSERT ON mis.child_benefit
    FOR EACH ROW EXECUTE FUNCTION mis.verify_child();

-- Applications, as a registration officer types them in.
CREATE TABLE mis.application (brn text, note text);
INSERT INTO mis.application VALUES
    ('BR-2024-0042', 'mother brought the birth certificate'),
    ('BR-2023-0100', 'walk-in'),
    ('BR-1999-9999', 'number copied from a hand-written note');
-- ... and every child born in 2025, as the civil registry lists them
INSERT INTO mis.application
SELECT jsonb_path_query_first(rec, '$.identifier[*] ? (@.identifier_type == "BRN").identifier_value') #>> '{}',
       'outreach list 2025'
  FROM dci_records(dci_search_by_date_range('crvs_main', 'birth_date', '2025-01-01', '2025-12-31',
                                            all_pages => true)) rec
 ORDER BY rec ->> 'birth_date'
 LIMIT 6;

\echo
\echo '== Enrolling applications: each insert is checked by the trigger'
CREATE TABLE mis.outcome (brn text, result text);
DO $$
DECLARE a record;
BEGIN
    FOR a IN SELECT * FROM mis.application LOOP
        BEGIN
            INSERT INTO mis.child_benefit (child_brn) VALUES (a.brn);
            INSERT INTO mis.outcome VALUES (a.brn, 'enrolled');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO mis.outcome VALUES (a.brn, 'REFUSED: ' || SQLERRM);
        END;
    END LOOP;
END $$;
SELECT brn AS "birth reg. no.", result AS "outcome" FROM mis.outcome;

\echo
\echo '== Enrolled children, with the birth date the civil registry verified'
SELECT child_brn AS "birth reg. no.", child_name AS "name", verified_birth_date AS "born"
  FROM mis.child_benefit ORDER BY verified_birth_date;

\echo
\echo '== Disability grant: who is eligible? (Washington Group: "a lot of difficulty" or worse in any domain)'
CREATE TABLE mis.person (uin text PRIMARY KEY, name text);
INSERT INTO mis.person VALUES
    ('1000000200', 'applicant A'), ('1000000201', 'applicant B'), ('1000000202', 'applicant C'),
    ('1000000203', 'applicant D'), ('1000000204', 'applicant E'), ('1000000205', 'applicant F'),
    ('1000000042', 'applicant G');
SELECT p.uin AS "UIN", p.name,
       CASE dci_is_pwd('UIN', p.uin) WHEN true THEN 'eligible' WHEN false THEN 'not eligible'
            ELSE 'no decision: not in the disability registry' END AS "disability grant",
       (d.functional_scores).vision AS vis, (d.functional_scores).hearing AS hear,
       (d.functional_scores).mobility AS mob, (d.functional_scores).cognition AS cog,
       (d.functional_scores).self_care AS care, (d.functional_scores).communication AS comm
  FROM mis.person p LEFT JOIN LATERAL dci_disability_status('UIN', p.uin) d ON true
 ORDER BY p.uin;

\echo
\echo '== Monthly job: suspend beneficiaries the civil registry records as deceased (one batch call)'
CREATE TABLE mis.beneficiary (
    uin             text PRIMARY KEY,
    status          text NOT NULL DEFAULT 'active',
    status_reason   text,
    crvs_checked_at timestamptz,        -- when the civil registry last answered
    crvs_error      text                -- why the last check failed (NULL: it did not)
);
-- the pension roll: everyone the civil registry lists as born before 1970, and two
-- UINs that were typed in wrong
INSERT INTO mis.beneficiary (uin)
SELECT DISTINCT jsonb_path_query_first(rec, '$.identifier[*] ? (@.identifier_type == "UIN").identifier_value') #>> '{}'
  FROM dci_records(dci_search_by_date_range('crvs_main', 'birth_date', '1900-01-01', '1969-12-31',
                                            all_pages => true)) rec;
INSERT INTO mis.beneficiary (uin) VALUES ('1000009998'), ('1000009999');
-- answers change the rows; a failed check changes nothing but crvs_error
WITH v AS (
    SELECT * FROM dci_verify_birth_batch('UIN', ARRAY(SELECT uin FROM mis.beneficiary WHERE status = 'active'))
),
answered AS (
    UPDATE mis.beneficiary b
       SET status = CASE WHEN v.status = 'not_found' THEN 'review'
                         WHEN (v.record).is_deceased THEN 'suspended' ELSE b.status END,
           status_reason = CASE WHEN v.status = 'not_found' THEN 'not in the civil registry'
                                WHEN (v.record).is_deceased
                                THEN 'deceased ' || coalesce((v.record).death_date::text, '(date unknown)') || ' per CRVS'
                                ELSE b.status_reason END,
           crvs_checked_at = now(), crvs_error = NULL
      FROM v WHERE v.identifier_value = b.uin AND v.status <> 'failed'
    RETURNING 1),
failed AS (
    UPDATE mis.beneficiary b SET crvs_error = v.error
      FROM v WHERE v.identifier_value = b.uin AND v.status = 'failed'
    RETURNING 1)
SELECT (SELECT count(*) FROM answered) AS answered, (SELECT count(*) FROM failed) AS failed_checks;
SELECT status, count(*) AS beneficiaries FROM mis.beneficiary GROUP BY status ORDER BY status;
SELECT uin AS "UIN", status_reason AS "reason" FROM mis.beneficiary WHERE status = 'suspended' ORDER BY uin LIMIT 5;
