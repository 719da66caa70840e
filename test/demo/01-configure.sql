\pset footer off
CREATE EXTENSION dci;
-- our Ed25519 key pair, made in C; the private half stays in dci.signing_key
SELECT dci_generate_signing_key('mis-key-1') AS our_public_key;
-- three registries: the civil registry with OAuth2 client credentials, the
-- beneficiary and disability registries with a static bearer token; every
-- envelope is signed, every answer's signature is checked
INSERT INTO dci.data_source (code, name, registry_type, base_url, auth_type,
    oauth2_client_id, oauth2_client_secret, bearer_token, signing_key_id, our_sender_id,
    registry_sender_id, registry_public_key, reg_type)
VALUES
  ('crvs_main', 'National civil registry', 'crvs', :'regurl' || '/crvs', 'oauth2',
   'spmis-client', 'spmis-secret', NULL, 'mis-key-1', 'spmis.demo.gov',
   'registry.local', :'regkey', 'ns:org:RegistryType:Civil'),
  ('ibr_main', 'Integrated beneficiary registry', 'ibr', :'regurl' || '/ibr', 'bearer',
   NULL, NULL, 'spmis-static-token', 'mis-key-1', 'spmis.demo.gov',
   'registry.local', :'regkey', 'ns:org:RegistryType:IBR'),
  ('dr_main', 'Disability registry', 'dr', :'regurl' || '/dr', 'bearer',
   NULL, NULL, 'spmis-static-token', 'mis-key-1', 'spmis.demo.gov',
   'registry.local', :'regkey', 'ns:org:RegistryType:DR');
SELECT code, name, base_url, auth_type, signing_mode, verify_response_signature
  FROM dci.data_source ORDER BY code;
