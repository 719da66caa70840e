-- CRVS: dci_verify_birth and dci_is_deceased, found / not found / failed.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- found
SELECT identifier_type, identifier_value, given_name, family_name, person_name, sex, birth_date,
       birth_place, parent1_identifier, parent2_identifier, is_deceased, death_date, registration_date,
       record ? 'identifier' AS raw_record_kept
  FROM dci_verify_birth('BRN', 'BR-2024-0042');
-- the same person by another identifier: the identifier asked for is reported
SELECT identifier_type, identifier_value, given_name FROM dci_verify_birth('UIN', '1000000042');
-- a death recorded with a date-time; a death_date of "" means alive; non-ASCII names and a date-time birth date
SELECT identifier_value, person_name, is_deceased, death_date FROM dci_verify_birth('UIN', '1000000007');
SELECT identifier_value, is_deceased, death_date FROM dci_verify_birth('UIN', '1000000008');
SELECT person_name, birth_date FROM dci_verify_birth('UIN', '1000000009');
-- not found: NULL, not an error
SELECT dci_verify_birth('BRN', 'BR-1999-9999') IS NULL AS not_found;
-- two records behind one identifier: an error, never a guess
SELECT dci_verify_birth('BRN', 'BR-DUP-0001');
-- failed: the error names the source and the reason
SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'f_500');
SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'f_itemrjct');
SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'f_badsig');

-- three-valued death check: true, false, NULL (never "alive" by default)
SELECT dci_is_deceased('UIN', '1000000007') AS deceased,
       dci_is_deceased('BRN', 'BR-2024-0042') AS alive,
       dci_is_deceased('BRN', 'BR-1999-9999') AS unknown;
SELECT dci_is_deceased('UIN', '1000000007', 'f_500');

-- in a WHERE clause, as eligibility logic uses it
SELECT v.id FROM (VALUES ('1000000007'), ('1000000042'), ('1000000008')) v(id)
 WHERE dci_is_deceased('UIN', v.id) IS FALSE ORDER BY 1;
