\pset footer off
\echo '-- is the registry reachable, does it accept our token and signature?'
SELECT ok, http_status, round(latency_ms::numeric, 1) AS ms, message FROM dci_test_connection('crvs_main');

\echo '-- a birth registration number, searched with a signed envelope; the answer''s signature is checked'
SELECT r #>> '{header,status}' AS status, r #>> '{header,sender_id}' AS registry,
       left(r ->> 'signature', 60) || '...' AS registry_signature
  FROM dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042') r;

\echo '-- the record'
SELECT rec #>> '{name,given_name}' AS given_name, rec #>> '{name,surname}' AS surname,
       rec ->> 'sex' AS sex, rec ->> 'birth_date' AS birth_date, rec ->> 'birth_place' AS birth_place
  FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042')) rec;

\echo '-- not found is an answer, not an error'
SELECT count(*) AS records FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-1999-9999'));

\echo '-- a predicate search: births since 2024, first page of 5'
SELECT rec #>> '{identifier,0,identifier_value}' AS id, rec #>> '{name,given_name}' AS given_name,
       rec ->> 'birth_date' AS birth_date
  FROM dci_records(dci_search('crvs_main', 'predicate',
       '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2024-01-01"}}]',
       page_size => 5)) rec;
