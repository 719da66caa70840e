-- Offline (see 01_offline_config.sql): key generation and the JWKS that
-- tells registries our public keys.
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE EXTENSION dci;

-- the public half is returned, the pair is stored: PKCS#8 private, SPKI public
SELECT dci_generate_signing_key('ed-key-1') LIKE '-----BEGIN PUBLIC KEY-----%' AS ed25519_public_pem,
       dci_generate_signing_key('rsa-key-1', 'rs256') LIKE '-----BEGIN PUBLIC KEY-----%' AS rs256_public_pem;
SELECT key_id, algorithm, active,
       private_key LIKE '-----BEGIN PRIVATE KEY-----%' AS private_is_pkcs8,
       public_key LIKE '-----BEGIN PUBLIC KEY-----%' AS public_is_spki
  FROM dci.signing_key ORDER BY key_id;
-- what is returned is what is stored, and every key is new
SELECT dci_generate_signing_key('ed-key-2') AS pem \gset
SELECT public_key = :'pem' AS returned_is_stored FROM dci.signing_key WHERE key_id = 'ed-key-2';
SELECT count(DISTINCT public_key) AS distinct_keys, count(DISTINCT private_key) AS distinct_private FROM dci.signing_key;
-- a key id that could not be part of a kid, an unknown algorithm, a key id in use: nothing stored
\set VERBOSITY sqlstate
SELECT dci_generate_signing_key('bad key|id');
SELECT dci_generate_signing_key('k2', 'rsa-1024');
SELECT dci_generate_signing_key('ed-key-1');
\set VERBOSITY terse
SELECT dci_generate_signing_key(NULL) IS NULL AS strict;
SELECT count(*) AS keys FROM dci.signing_key;

-- the bytes of a PEM key
CREATE FUNCTION pg_temp.der(pem text) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode(regexp_replace(pem, '-----[A-Z ]+-----|\s', '', 'g'), 'base64')
$$;
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql AS $$
    SELECT rtrim(translate(replace(encode(b, 'base64'), E'\n', ''), '+/', '-_'), '=')
$$;

-- JWKS: one JWK per active key; a key no source uses yet has kid = key_id
SELECT jsonb_object_keys(dci_jwks()) AS member;
SELECT k ->> 'kid' AS kid, k ->> 'kty' AS kty, k ->> 'crv' AS crv, k ->> 'alg' AS alg, k ->> 'use' AS use
  FROM jsonb_array_elements(dci_jwks() -> 'keys') k ORDER BY 1;
-- the JWK is the stored public key: Ed25519 x is the 32 key bytes after the
-- 12-byte SPKI header; RSA n is the 2048-bit modulus, e is 65537
SELECT s.key_id,
       CASE s.algorithm
           WHEN 'ed25519' THEN k ->> 'x' = pg_temp.b64url(substr(pg_temp.der(s.public_key), 13))
           ELSE k ->> 'n' = pg_temp.b64url(substr(pg_temp.der(s.public_key), 34, 256))
                AND k ->> 'e' = 'AQAB' END AS matches_stored_key
  FROM dci.signing_key s
  JOIN jsonb_array_elements(dci_jwks() -> 'keys') k ON k ->> 'kid' = s.key_id
 ORDER BY 1;
-- and never a private member
SELECT count(*) AS jwks, bool_or(k ?| ARRAY['d', 'p', 'q', 'dp', 'dq', 'qi']) AS has_private_members,
       position('PRIVATE' IN dci_jwks()::text) AS private_mentioned
  FROM jsonb_array_elements(dci_jwks() -> 'keys') k;

-- once sources sign with them: an Ed25519 kid is <sender>|<key_id>|ed25519,
-- one per sender that uses the key; an RSA kid stays the key_id
INSERT INTO dci.data_source (code, name, our_sender_id, signing_key_id, signing_mode) VALUES
    ('crvs_main', 'CRVS', 'mis.example', 'ed-key-1', 'dci-ed25519'),
    ('ibr_main', 'IBR', 'mis.example', 'ed-key-1', 'dci-ed25519'),
    ('dr_main', 'DR', 'mis.other', 'ed-key-1', 'dci-ed25519'),
    ('opencrvs', 'OpenCRVS', 'mis.example', 'rsa-key-1', 'jws-rs256');
SELECT k ->> 'kid' AS kid, k ->> 'kty' AS kty
  FROM jsonb_array_elements(dci_jwks() -> 'keys') k ORDER BY 1;
-- for one sender: one JWK per key, with that sender in the kid
SELECT k ->> 'kid' AS kid
  FROM jsonb_array_elements(dci_jwks('partner.example') -> 'keys') k ORDER BY 1;
-- an inactive key is not published; it is back when reactivated
UPDATE dci.signing_key SET active = false WHERE key_id = 'ed-key-2';
SELECT k ->> 'kid' AS kid FROM jsonb_array_elements(dci_jwks() -> 'keys') k ORDER BY 1;
UPDATE dci.signing_key SET active = true WHERE key_id = 'ed-key-2';
SELECT jsonb_array_length(dci_jwks() -> 'keys') AS jwks;
-- no active key: an empty set
UPDATE dci.signing_key SET active = false;
SELECT dci_jwks();

DROP EXTENSION dci;
