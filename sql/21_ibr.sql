-- IBR: duplicate enrollment checks, never fail-open, and beneficiary search.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- enrolled in another programme
SELECT is_duplicate, matched_programs, jsonb_array_length(raw_response) AS records
  FROM dci_check_duplication('UIN', '1000000042');
-- enrolled in two
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000100');
-- our own programme is left out
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000042', exclude_program => 'CG-001');
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000100', exclude_program => 'Child Grant');
-- only a suspended enrollment, or a deceased one: not a duplicate
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000101');
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000007');
-- enrolled nowhere: an answer, not an error
SELECT is_duplicate, matched_programs, raw_response FROM dci_check_duplication('UIN', '1000009999');
-- the registry cannot answer: the call fails, it never says "not duplicate"
SELECT dci_check_duplication('UIN', '1000000042', 'f_500');
SELECT test_source('ibr_500', '/opt/status=500/ibr', 'ibr');
SELECT test_source('ibr_itemrjct', '/opt/itemrjct=rjct.search.too_many_records_found/ibr', 'ibr');
SELECT dci_check_duplication('UIN', '1000000042', 'ibr_itemrjct');

-- several identifiers: duplicate when any matches
SELECT is_duplicate, matched_programs
  FROM dci_check_duplication('[{"type":"UIN","value":"1000009999"},{"type":"BRN","value":"BR-2023-0100"}]');
SELECT is_duplicate, matched_programs
  FROM dci_check_duplication('[{"type":"UIN","value":"1000009999"},{"type":"UIN","value":"1000000101"}]');
SELECT is_duplicate, matched_programs
  FROM dci_check_duplication('[{"type":"UIN","value":"1000000042"},{"type":"UIN","value":"1000000100"}]');
-- ... and fails when any lookup fails
SELECT dci_check_duplication('[{"type":"UIN","value":"1000000042"}]'::jsonb, 'ibr_500');
-- an untyped list with a source resolves to the text overload: refused, never "not duplicate"
SELECT dci_check_duplication('[{"type":"UIN","value":"1000000042"}]', 'ibr_500');
SELECT dci_check_duplication('[{"type":"UIN"}]');
SELECT dci_check_duplication('{"type":"UIN","value":"1"}');
SELECT dci_check_duplication('[]');

-- the /registry/sync/enrolled endpoint, when configured
SELECT test_source('ibr_enrolled', '/ibr', 'ibr');
UPDATE dci.data_source SET enrolled_endpoint = '/registry/sync/enrolled' WHERE code = 'ibr_enrolled';
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000042', 'ibr_enrolled');
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000009999', 'ibr_enrolled');
-- asked to leave a programme out, it searches instead (the endpoint cannot)
SELECT is_duplicate, matched_programs FROM dci_check_duplication('UIN', '1000000042', 'ibr_enrolled', 'CG-001');

-- beneficiary search follows pagination: 25 enrollments, pages of 10
UPDATE dci.data_source SET batch_size = 10 WHERE code = 'ibr_main';
SELECT count(*) AS enrollments, count(DISTINCT programs[1]) AS programmes
  FROM dci_search_beneficiary('UIN', '1000000500');
SELECT identifier_type, identifier_value, name, programs, enrollment_status, metadata IS NOT NULL AS raw
  FROM dci_search_beneficiary('UIN', '1000000100') ORDER BY programs;
SELECT count(*) FROM dci_search_beneficiary('UIN', '1000009999');
SELECT * FROM dci_search_beneficiary('UIN', '1000000100', 'ibr_500');
UPDATE dci.data_source SET batch_size = 100 WHERE code = 'ibr_main';
