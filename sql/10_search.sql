-- Signed sync search end to end: envelope, signature, HTTP, verification.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- found: one record, the envelope as the registry sent it (signature checked)
SELECT r #>> '{header,status}' AS status,
       r #>> '{header,sender_id}' AS sender,
       r #>> '{header,receiver_id}' AS receiver,
       jsonb_typeof(r -> 'signature') AS signature,
       jsonb_array_length(r #> '{message,search_response}') AS items,
       r #>> '{message,search_response,0,status}' AS item_status
  FROM dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042') AS r;

SELECT rec #>> '{name,given_name}' AS given_name, rec #>> '{name,surname}' AS surname,
       rec ->> 'birth_date' AS birth_date, rec ->> 'sex' AS sex
  FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-2024-0042')) AS rec;

-- identifier types are matched case-insensitively by the registry; values are not
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'uin', '1000000042'));
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'br-2024-0042'));

-- not found is not an error: success with no records
SELECT r #>> '{message,search_response,0,status}' AS item_status,
       (SELECT count(*) FROM dci_records(r)) AS records
  FROM dci_search_by_id('crvs_main', 'BRN', 'BR-0000-0000') AS r;

-- two records behind one identifier
SELECT count(*) FROM dci_records(dci_search_by_id('crvs_main', 'BRN', 'BR-DUP-0001'));

-- non-ASCII travels intact and is signed canonically
SELECT rec #>> '{name,given_name}' AS given_name, rec #>> '{name,surname}' AS surname
  FROM dci_records(dci_search_by_id('crvs_main', 'UIN', '1000000009')) AS rec;

-- the generic search: idtype-value as a query object
SELECT count(*) FROM dci_records(
    dci_search('crvs_main', 'idtype-value', '{"type": "UIN", "value": "1000000007"}'));

-- predicate query with pagination
SELECT r #>> '{message,search_response,0,pagination,page_size}' AS page_size,
       r #>> '{message,search_response,0,pagination,page_number}' AS page_number,
       (r #>> '{message,search_response,0,pagination,total_count}')::int > 5 AS more_than_five,
       (SELECT count(*) FROM dci_records(r)) AS records_on_page
  FROM dci_search('crvs_main', 'predicate',
        '[{"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2019-01-01"}}]',
        page_size => 5, page_number => 2) AS r;

-- reg_type and reg_event_type are passed through
SELECT r #>> '{message,search_response,0,data,reg_type}' AS reg_type
  FROM dci_search('crvs_main', 'idtype-value', '{"type": "BRN", "value": "BR-2024-0042"}',
                  reg_type => 'ns:org:RegistryType:Civil', reg_event_type => 'birth') AS r;

-- dci_records survives reg_records as one object and missing items
SELECT count(*) FROM dci_records('{"message":{"search_response":[{"data":{"reg_records":{"a":1}}}]}}');
SELECT count(*) FROM dci_records('{"message":{"search_response":{"data":{"reg_records":[{"a":1},{"b":2}]}}}}');
SELECT count(*) FROM dci_records('{"header":{"status":"succ"}}');

-- bad arguments
SELECT dci_search('crvs_main', 'idtype-value', NULL);
SELECT dci_search('crvs_main', 'idtype-value', '{}', page_size => 0);
SELECT dci_search('crvs_main', 'idtype-value', '{}', page_size => 10, page_number => 0);
SELECT dci_search_by_id('crvs_main', 'UIN', NULL) IS NULL AS strict_null;
