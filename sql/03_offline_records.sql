-- Offline (see 01_offline_config.sql): dci_records, the records of a
-- response envelope, for every shape registries send.
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE EXTENSION dci;

-- an SPDCI search response: several items, each with its reg_records
SELECT rec FROM dci_records($${
  "signature": "Signature: namespace=\"g2p\", ...",
  "header": {"version": "1.0.0", "message_id": "m-1", "action": "on-search", "status": "succ",
             "total_count": 3},
  "message": {"transaction_id": "t-1", "search_response": [
    {"reference_id": "r-1", "status": "succ",
     "data": {"reg_type": "ns:org:RegistryType:Civil",
              "reg_records": [{"identifier": [{"identifier_type": "BRN", "identifier_value": "BR-1"}],
                               "name": {"given_name": "Amina"}},
                              {"identifier": [{"identifier_type": "BRN", "identifier_value": "BR-2"}],
                               "name": {"given_name": "Tomas"}}]}},
    {"reference_id": "r-2", "status": "succ",
     "data": {"reg_records": [{"identifier": [{"identifier_type": "UIN", "identifier_value": "42"}]}]}}
  ]}}$$) rec;

-- one item as an object, one record as an object
SELECT rec FROM dci_records('{"message": {"search_response": {"data": {"reg_records": {"id": 1}}}}}') rec;
SELECT rec FROM dci_records('{"message": {"search_response": [{"data": {"reg_records": {"id": 1}}},
                                                              {"data": {"reg_records": [{"id": 2}, {"id": 3}]}}]}}') rec;

-- records are passed on as sent, whatever their members
SELECT count(*) AS records, bool_and(rec = '{"a": [1, {"b": null}], "c": "x"}') AS unchanged
  FROM dci_records('{"message": {"search_response": [{"data": {"reg_records": [{"a": [1, {"b": null}], "c": "x"}]}}]}}') rec;

-- not found, rejected, or not an envelope: no rows, never an error
SELECT shape, (SELECT count(*) FROM dci_records(response::jsonb)) AS records
  FROM (VALUES
    ('not found', '{"message": {"search_response": [{"status": "succ", "data": {"reg_records": []}}]}}'),
    ('rejected item', '{"message": {"search_response": [{"status": "rjct", "status_reason_code": "rjct.reference_id.invalid"}]}}'),
    ('null reg_records', '{"message": {"search_response": [{"data": {"reg_records": null}}]}}'),
    ('reg_records a string', '{"message": {"search_response": [{"data": {"reg_records": "x"}}]}}'),
    ('no items', '{"message": {"search_response": []}}'),
    ('items a string', '{"message": {"search_response": "x"}}'),
    ('an acknowledgement', '{"message": {"ack_status": "ACK"}}'),
    ('header only', '{"header": {"status": "rjct"}}'),
    ('empty object', '{}'),
    ('an array', '[]'),
    ('a string', '"text"')) v(shape, response);
SELECT count(*) AS records FROM dci_records(NULL);
-- only the records that are there: a rejected item among found ones
SELECT rec ->> 'id' AS id FROM dci_records('{"message": {"search_response": [
    {"status": "succ", "data": {"reg_records": [{"id": "a"}]}},
    {"status": "rjct", "status_reason_code": "rjct.search_criteria.invalid"},
    {"status": "succ", "data": {"reg_records": [{"id": "b"}]}}]}}') rec;

-- set-returning: usable in a lateral join over stored answers
CREATE TEMP TABLE answer (id int, response jsonb);
INSERT INTO answer VALUES
    (1, '{"message": {"search_response": [{"data": {"reg_records": [{"id": "x"}, {"id": "y"}]}}]}}'),
    (2, '{"message": {"search_response": [{"data": {"reg_records": []}}]}}'),
    (3, '{"message": {"search_response": [{"data": {"reg_records": {"id": "z"}}}]}}');
SELECT a.id, count(r.rec) AS records FROM answer a LEFT JOIN LATERAL dci_records(a.response) r(rec) ON true
 GROUP BY a.id ORDER BY a.id;

DROP EXTENSION dci;
