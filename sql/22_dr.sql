-- DR: disability status, Washington Group scores, the PWD cut-off, sync.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT has_disability, disability_types, functional_scores, severity, assessment_date IS NOT NULL AS dated
  FROM dci_disability_status('UIN', '1000000200');
SELECT has_disability, functional_scores FROM dci_disability_status('UIN', '1000000201');
SELECT has_disability, functional_scores FROM dci_disability_status('UIN', '1000000202');
SELECT has_disability, functional_scores FROM dci_disability_status('UIN', '1000000203');
SELECT has_disability, functional_scores FROM dci_disability_status('UIN', '1000000204');
SELECT has_disability, functional_scores FROM dci_disability_status('UIN', '1000000205');
SELECT dci_disability_status('UIN', '1000009999') IS NULL AS not_found;
SELECT dci_disability_status('UIN', '1000000200', 'f_500');

SELECT * FROM dci_functional_scores('UIN', '1000000202');
SELECT dci_functional_scores('UIN', '1000009999') IS NULL AS not_found;

-- the Washington Group cut-off: any domain at 3 or more, or the registry's own verdict
SELECT uin, dci_is_pwd('UIN', uin) AS pwd_at_3, dci_is_pwd('UIN', uin, threshold => 4) AS pwd_at_4,
       dci_is_pwd('UIN', uin, threshold => 2) AS pwd_at_2
  FROM unnest(ARRAY['1000000200', '1000000201', '1000000202', '1000000203', '1000000204',
                    '1000000205', '1000009999']) uin ORDER BY uin;
SELECT dci_is_pwd('UIN', '1000000200', threshold => 5);
SELECT dci_is_pwd('UIN', '1000000200', 'f_500');
-- as eligibility logic uses it
SELECT uin FROM unnest(ARRAY['1000000200', '1000000201', '1000000202']) uin
 WHERE (dci_disability_status('UIN', uin)).has_disability ORDER BY 1;

-- OpenSPP's DR answers "not found" with an item rjct REG-ERR-001: configurable per source
SELECT test_source('dr_openspp', '/opt/notfound-rjct/dr', 'dr');
SELECT err($$SELECT dci_disability_status('UIN', '1000009999', 'dr_openspp')$$);
UPDATE dci.data_source SET not_found_reason_codes = '{REG-ERR-001}' WHERE code = 'dr_openspp';
SELECT dci_disability_status('UIN', '1000009999', 'dr_openspp') IS NULL AS not_found;
SELECT has_disability FROM dci_disability_status('UIN', '1000000200', 'dr_openspp');

-- sync: rows for the identifiers asked; a failure is written on its row, the rest go on
SELECT dci_sync_disability('dr_main', '[{"type":"UIN","value":"1000000200"},{"type":"UIN","value":"1000000201"},
                                        {"type":"UIN","value":"1000009999"}]');
SELECT identifier_value, status, has_disability, functional_scores, fetched_at IS NOT NULL AS fetched, last_error
  FROM dci.disability_record WHERE source = 'dr_main' ORDER BY identifier_value;
-- one identifier the registry rejects, the others fine
SELECT test_source('dr_mixed', '/dr', 'dr');
SELECT dci_sync_disability('dr_mixed', '[{"type":"UIN","value":"1000000202"},{"type":"UIN","value":"RJCT-1"}]');
SELECT identifier_value, status, last_attempt_status, has_disability, last_error IS NOT NULL AS has_error
  FROM dci.disability_record WHERE source = 'dr_mixed' ORDER BY identifier_value;
-- stale rows are refreshed; fresh ones are left alone
UPDATE dci.disability_record SET fetched_at = now() - interval '2 days' WHERE identifier_value = '1000000200';
SELECT dci_sync_disability('dr_main', stale_after => '1 day') AS refreshed;
-- the whole registry down: status stays the last answer (an eligibility query
-- on status = 'found' still sees everyone), the attempt says failed and why
CREATE TEMP TABLE dr_before AS SELECT * FROM dci.disability_record WHERE source = 'dr_main';
UPDATE dci.data_source SET base_url = replace(base_url, '/dr', '/opt/status=500/dr') WHERE code = 'dr_main';
SELECT dci_sync_disability('dr_main', stale_after => '0 seconds') AS attempted;
SELECT identifier_value, status, last_attempt_status, has_disability, last_error
  FROM dci.disability_record WHERE source = 'dr_main' ORDER BY identifier_value;
-- nothing known was lost: every answer column is as it was
SELECT count(*) AS rows_changed
  FROM dci.disability_record r JOIN dr_before b USING (source, identifier_type, identifier_value)
 WHERE (r.status, r.has_disability, r.disability_types, r.functional_scores, r.severity,
        r.assessment_date, r.record, r.fetched_at)
       IS DISTINCT FROM (b.status, b.has_disability, b.disability_types, b.functional_scores, b.severity,
        b.assessment_date, b.record, b.fetched_at);
SELECT count(*) FILTER (WHERE status = 'found') AS still_found FROM dci.disability_record WHERE source = 'dr_main';
UPDATE dci.data_source SET base_url = replace(base_url, '/opt/status=500/dr', '/dr') WHERE code = 'dr_main';

-- disabled_endpoint: the registry's own yes/no verdict (/registry/sync/disabled) decides dci_is_pwd
SELECT test_source('dr_verdict', '/dr', 'dr');
UPDATE dci.data_source SET disabled_endpoint = '/registry/sync/disabled', not_found_reason_codes = '{REG-ERR-001}'
 WHERE code = 'dr_verdict';
SELECT uin, dci_is_pwd('UIN', uin, 'dr_verdict') AS registry_says,
       dci_is_pwd('UIN', uin, 'dr_verdict', threshold => 4) AS scores_at_4
  FROM unnest(ARRAY['1000000200', '1000000201', '1000009999']) uin;
-- the column really is the URL asked: a failing one fails the call
UPDATE dci.data_source SET disabled_endpoint = 'http://127.0.0.1:' || current_setting('dci_test.port')
                                             || '/opt/status=500/dr/registry/sync/disabled'
 WHERE code = 'dr_verdict';
SELECT err($$SELECT dci_is_pwd('UIN', '1000000200', 'dr_verdict')$$);
