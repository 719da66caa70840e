-- Generic queries: predicate, expression, date range, OpenCRVS, all pages.
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(*) FROM dci_records(dci_search_by_predicate('crvs_main',
  '[{"seq_num":1,"expression1":{"attribute_name":"sex","operator":"eq","attribute_value":"female"},
     "condition":"and","expression2":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2024-03-15"}}]',
  page_size => 1000)) r
 WHERE r ->> 'sex' <> 'female' OR (r ->> 'birth_date') < '2024-03-15';
SELECT count(*) > 0 AS some FROM dci_records(dci_search_by_expression('crvs_main',
  '{"type":"ns:dci:Expression:equals","value":{"name.surname":"Okafor"}}'));
-- a date range, both ends included
SELECT bool_and((r ->> 'birth_date')::date BETWEEN '2024-03-15' AND '2024-03-15') AS in_range, count(*)
  FROM dci_records(dci_search_by_date_range('crvs_main', 'birth_date', '2024-03-15', '2024-03-15')) r;
-- every page merged, up to a limit
SELECT jsonb_array_length(r #> '{message,search_response,0,data,reg_records}') =
       (SELECT count(*) FROM dci_records(dci_search_by_predicate('crvs_main',
          '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2019-01-01"}}]',
          page_size => 1000))) AS all_pages_complete
  FROM dci_search_by_predicate('crvs_main',
       '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2019-01-01"}}]',
       page_size => 7, all_pages => true) r;
SELECT dci_search_by_predicate('crvs_main',
       '[{"seq_num":1,"expression1":{"attribute_name":"birth_date","operator":"ge","attribute_value":"2019-01-01"}}]',
       page_size => 7, all_pages => true, max_records => 10);
