-- OpenCRVS: compact RS256 JWS signatures both ways, camelCase records, and
-- an unmatched item left out of the answer (read as not found).
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv rsakey DCI_TEST_REGISTRY_RSA_PUBKEY

SELECT left(dci_generate_signing_key('mis-rsa-1', 'rs256'), 26) AS public_key_pem;
INSERT INTO dci.data_source (code, name, registry_type, base_url, auth_type, bearer_token,
    signing_key_id, signing_mode, our_sender_id, registry_sender_id, registry_public_key,
    record_profile, reg_type)
VALUES ('opencrvs', 'OpenCRVS', 'crvs',
    'http://127.0.0.1:' || current_setting('dci_test.port') || '/opencrvs', 'bearer', 'spmis-static-token',
    'mis-rsa-1', 'jws-rs256', 'spmis.test', 'registry.local', :'rsakey', 'opencrvs', 'ocrvs:registry_type:birth');
-- the RSA key appears in our JWKS with kid = key id, and the registry learns it
SELECT k ->> 'kty' AS kty, k ->> 'alg' AS alg, k ->> 'kid' AS kid, k ? 'n' AND k ? 'e' AS has_modulus
  FROM jsonb_array_elements(dci_jwks() -> 'keys') k WHERE k ->> 'kty' = 'RSA';
\copy (SELECT dci_jwks()) TO PROGRAM 'curl -sf -o /dev/null --data-binary @- http://127.0.0.1:$DCI_TEST_PORT/admin/senders'

-- signed with a JWS, answered with a JWS that we verify, mapped from camelCase
SELECT length(r ->> 'signature') - length(replace(r ->> 'signature', '.', '')) AS jws_dots,
       jsonb_array_length(r #> '{message,search_response}') AS items
  FROM dci_search_by_identifier_opencrvs('opencrvs', 'BRN', 'BR-2024-0042') r;
SELECT given_name, family_name, sex, birth_date, is_deceased, record ? 'birthDate' AS camel_case
  FROM dci_verify_birth('BRN', 'BR-2024-0042', 'opencrvs');
SELECT person_name, is_deceased, death_date FROM dci_verify_birth('UIN', '1000000007', 'opencrvs');
-- OpenCRVS leaves an unmatched item out: not found
SELECT dci_verify_birth('BRN', 'BR-1999-9999', 'opencrvs') IS NULL AS not_found;
SELECT identifier_value, status FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042', 'BR-1999-9999'], 'opencrvs')
 ORDER BY 1;
-- a tampered JWS answer is an error
SELECT test_source('opencrvs_bad', '/opt/badsig/opencrvs');
UPDATE dci.data_source SET signing_key_id = 'mis-rsa-1', signing_mode = 'jws-rs256', record_profile = 'opencrvs',
       registry_public_key = :'rsakey' WHERE code = 'opencrvs_bad';
SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'opencrvs_bad');
-- an Ed25519 registry key cannot check a JWS answer
UPDATE dci.data_source SET registry_public_key = current_setting('dci_test.regkey') WHERE code = 'opencrvs_bad';
SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'opencrvs_bad');

-- OpenCRVS's own answer header (the request's, copied: receiver_id is the registry's) is
-- refused as addressed to another receiver, unless the source relaxes the binding
SELECT test_source('opencrvs_hdr', '/opt/ocrvsheader/opencrvs');
UPDATE dci.data_source SET signing_key_id = 'mis-rsa-1', signing_mode = 'jws-rs256', record_profile = 'opencrvs',
       registry_public_key = :'rsakey' WHERE code = 'opencrvs_hdr';
SELECT err($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'opencrvs_hdr')$$);
UPDATE dci.data_source SET relax_response_binding = true WHERE code = 'opencrvs_hdr';
SELECT given_name FROM dci_verify_birth('BRN', 'BR-2024-0042', 'opencrvs_hdr');

-- a death register is a death: OpenCRVS keeps deaths in a register of their own, whose
-- records carry no deathDate: found there is deceased (death_date NULL when unknown)
SELECT count(*) AS in_death_register, bool_or(rec ? 'deathDate') AS has_death_date
  FROM dci_records(dci_search_by_identifier_opencrvs('opencrvs', 'UIN', '1000000300', 'death')) rec;
UPDATE dci.data_source SET death_reg_type = 'ocrvs:registry_type:death' WHERE code = 'opencrvs';
SELECT uin, dci_is_deceased('UIN', uin, 'opencrvs') AS deceased
  FROM unnest(ARRAY['1000001005', '1000000300', '1000000100', '1000009999']) uin;
SELECT identifier_value, status, (record).is_deceased, (record).death_date
  FROM dci_verify_birth_batch('UIN', ARRAY['1000001005', '1000000100', '1000009999'], 'opencrvs') ORDER BY 1;
-- the death register down: the lookup fails, never "alive"
UPDATE dci.data_source SET base_url = 'http://127.0.0.1:' || current_setting('dci_test.port') || '/opt/status=500/opencrvs',
       registry_public_key = :'rsakey', death_reg_type = 'ocrvs:registry_type:death' WHERE code = 'opencrvs_bad';
SELECT err($$SELECT dci_is_deceased('UIN', '1000000100', 'opencrvs_bad')$$);
