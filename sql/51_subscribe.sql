-- Vital events pushed into the database: subscribe, on-subscribe, notify, a
-- trigger that acts on the event, unsubscribe.  Callbacks come from the local
-- registry's sink through dci_receive (helpers of 50_async.sql).
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- the notify callbacks an event sent to one subscription
CREATE FUNCTION vital_event(uin text, code text, opts text DEFAULT '', deliveries integer DEFAULT 1)
RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := registry(opts || '/admin/event',
                        jsonb_build_object('prefix', 'crvs', 'reg_event_type', 'death',
                                           'identifier', jsonb_build_object('type', 'UIN', 'value', uin),
                                           'death_date', '2026-11-30'));
BEGIN
    RETURN QUERY SELECT cb FROM jsonb_array_elements(r -> 'subscriptions') s,
                              callbacks(s ->> 'transaction_id', deliveries) cb
                  WHERE s ->> 'code' = code;
END $$;

SELECT async_source('s_crvs', '/crvs', '/sink/events');
-- requested, with the pending transaction, before the request leaves
SELECT dci_subscribe('s_crvs', 'death') AS ts \gset
SELECT status, subscription_code IS NULL AS no_code_yet, reg_event_type, filter, reg_type, notify_record_type
  FROM dci.subscription WHERE transaction_id = :'ts';
SELECT action, status, acked_at IS NOT NULL AS acked FROM dci.transaction WHERE transaction_id = :'ts';
-- on-subscribe gives it the registry's code
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'ts') cb;
SELECT status, subscription_code LIKE 'SUB-%' AS has_code FROM dci.subscription WHERE transaction_id = :'ts';
SELECT status FROM dci.transaction WHERE transaction_id = :'ts';
SELECT subscription_code AS code FROM dci.subscription WHERE transaction_id = :'ts' \gset

-- a pension programme acts on each death as it lands, with an ordinary trigger
CREATE TABLE pensioner (uin text PRIMARY KEY, status text NOT NULL DEFAULT 'active', reason text, death_date date);
INSERT INTO pensioner (uin) VALUES ('1000002090'), ('1000002091'), ('1000002092'), ('1000002093'), ('1000002094');
CREATE TABLE pension_event (inbox_id bigint, uin text);
CREATE FUNCTION suspend_deceased() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
BEGIN
    INSERT INTO pension_event
    SELECT n.inbox_id, i ->> 'identifier_value'
      FROM dci.notification n, jsonb_array_elements(n.record -> 'identifier') i
     WHERE n.inbox_id = NEW.id AND i ->> 'identifier_type' = 'UIN';
    UPDATE pensioner p SET status = 'suspended', death_date = (n.person).death_date,
           reason = format('death notified by %s', n.source_code)
      FROM dci.notification n, jsonb_array_elements(n.record -> 'identifier') i
     WHERE n.inbox_id = NEW.id AND n.reg_event_type = 'death' AND (n.person).is_deceased
       AND i ->> 'identifier_type' = 'UIN' AND p.uin = i ->> 'identifier_value' AND p.status = 'active';
    RETURN NULL;
END $$;
CREATE TRIGGER suspend_deceased AFTER INSERT ON dci.inbox
    FOR EACH ROW WHEN (NEW.action = 'notify') EXECUTE FUNCTION suspend_deceased();

-- a death is registered: the notify is stored, the trigger suspends the pensioner
SELECT dci_receive(cb) > 0 AS stored FROM vital_event('1000002090', :'code') cb;
SELECT uin, status, reason, death_date FROM pensioner ORDER BY uin;
SELECT source_code, subscription_code = :'code' AS our_subscription, reg_event_type,
       record #>> '{name,given_name}' AS given_name, (person).identifier_value, (person).is_deceased,
       (person).death_date, received_at IS NOT NULL AS received
  FROM dci.notification WHERE (person).identifier_value = '1000002090';
-- the same death_date that dci_verify_birth gives
SELECT n.person = v AS same_record, (n.person).death_date = v.death_date AS same_death_date
  FROM dci.notification n, dci_verify_birth('UIN', '1000002090', 's_crvs') v
 WHERE (n.person).identifier_value = '1000002090';

-- delivered twice: stored once, acted on once
SELECT count(*) AS deliveries, count(DISTINCT dci_receive(cb)) AS inbox_ids
  FROM vital_event('1000002091', :'code', '/opt/cbdup', 2) cb;
SELECT uin, count(*) AS acted FROM pension_event WHERE uin = '1000002091' GROUP BY 1;

-- a notify with a bad signature is refused and not stored
SELECT err(format('SELECT dci_receive(%L::jsonb)', cb)) FROM vital_event('1000002092', :'code', '/opt/cbbadsig') cb;
SELECT count(*) AS stored FROM dci.notification WHERE (person).identifier_value = '1000002092';
SELECT status FROM pensioner WHERE uin = '1000002092';

-- a notify for a subscription we do not have is refused: nothing we did not ask for is kept
SELECT async_source('s_other', '/crvs', '/sink/other');
SELECT dci_subscribe('s_other', 'death') AS tother \gset
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'tother') cb;
SELECT subscription_code AS other_code FROM dci.subscription WHERE transaction_id = :'tother' \gset
DELETE FROM dci.subscription WHERE transaction_id = :'tother';
SELECT regexp_replace(err(format('SELECT dci_receive(%L::jsonb)', cb)), 'SUB-[0-9A-F]+', 'SUB-<code>') AS err
  FROM vital_event('1000002093', :'other_code') cb;
SELECT count(*) AS stored FROM dci.inbox WHERE source_code = 's_other' AND action = 'notify';

-- unsubscribe: the standard subscription_codes; on-unsubscribe marks the row
SELECT dci_unsubscribe('s_crvs', ARRAY[:'code']) AS tu \gset
SELECT request -> 'subscription_codes' = jsonb_build_array(:'code') AS sent_codes FROM dci.transaction WHERE transaction_id = :'tu';
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'tu') cb;
SELECT status FROM dci.subscription WHERE subscription_code = :'code';
SELECT action, status FROM dci.transaction WHERE transaction_id = :'tu';
-- a further death reaches us no more
SELECT count(*) AS notified_us FROM vital_event('1000002094', :'code') cb;
SELECT uin, status FROM pensioner ORDER BY uin;
-- an unknown code: the registry rejects the unsubscribe
SELECT dci_unsubscribe('s_crvs', '{SUB-000000000000}') AS tu2 \gset
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'tu2') cb;
SELECT status, last_error FROM dci.transaction WHERE transaction_id = :'tu2';

-- the registry down when subscribing: an ERROR, and no subscribed row
SELECT async_source('s_down', '/crvs');
UPDATE dci.data_source SET base_url = 'http://127.0.0.1:1/crvs', max_retries = 0 WHERE code = 's_down';
SELECT err($$SELECT dci_subscribe('s_down', 'death')$$);
SELECT status, count(*) FROM dci.subscription WHERE source_code = 's_down' GROUP BY 1;
-- the registry rejects the subscription: rjct, with its reason
SELECT async_source('s_rjct', '/opt/subrjct=rjct.notify_types.invalid/crvs');
SELECT dci_subscribe('s_rjct', 'death') AS trj \gset
SELECT dci_receive(cb) > 0 AS stored FROM callbacks(:'trj') cb;
SELECT s.status, s.last_error, t.status AS transaction_status
  FROM dci.subscription s JOIN dci.transaction t USING (transaction_id) WHERE transaction_id = :'trj';

-- vital events with each source's codes: OpenCRVS's, and configured ones (OpenSPP)
SELECT err($$SELECT dci_subscribe_vital_events()$$);
SELECT async_source('s_ocrvs', '/crvs');
UPDATE dci.data_source SET record_profile = 'opencrvs' WHERE code = 's_ocrvs';
SELECT count(*) AS subscriptions FROM dci_subscribe_vital_events('{birth,death}', 's_ocrvs');
SELECT async_source('s_spp', '/crvs');
UPDATE dci.data_source SET reg_type = 'ns:org:RegistryType:CRVS',
       vital_events = '{"death": {"reg_event_type": "spdci-common:RegistryEventType:Death",
                                  "notify_record_type": "spdci-extensions-dci:Person"}}'
 WHERE code = 's_spp';
SELECT count(*) AS subscriptions FROM dci_subscribe_vital_events('{birth,death}', 's_spp');
SELECT source_code, c ->> 'reg_type' AS reg_type, c ->> 'reg_event_type' AS reg_event_type,
       c ->> 'notify_record_type' AS notify_record_type, c ->> 'filter_type' AS filter_type, c -> 'filter' AS filter
  FROM dci.transaction, LATERAL (SELECT request #> '{subscribe_request,0,subscribe_criteria}' AS c) x
 WHERE source_code IN ('s_ocrvs', 's_spp') ORDER BY 1, 3;
SELECT source_code, status, count(*) FROM dci.subscription WHERE source_code IN ('s_ocrvs', 's_spp') GROUP BY 1, 2 ORDER BY 1;

-- filters and frequency are checked before anything is sent
SELECT dci_subscribe('s_crvs', 'birth', '{"type":"UIN","value":"1000002095"}') AS tf \gset
SELECT request #>> '{subscribe_request,0,subscribe_criteria,filter_type}' AS filter_type FROM dci.transaction WHERE transaction_id = :'tf';
SELECT dci_subscribe('s_crvs', 'birth', '[{"seq_num":1,"expression1":{"attribute_name":"birth_place","operator":"eq","attribute_value":"Kano"}}]',
                     frequency => '{"start_time":"2026-01-01T00:00:00Z","end_time":"2027-01-01T00:00:00Z","frequency":"0 0 * * *"}') AS tf2 \gset
SELECT request #>> '{subscribe_request,0,subscribe_criteria,filter_type}' AS filter_type,
       request #>> '{subscribe_request,0,subscribe_criteria,frequency,frequency}' AS frequency
  FROM dci.transaction WHERE transaction_id = :'tf2';
SELECT err($$SELECT dci_subscribe('s_crvs', 'birth', '"everything"')$$);
SELECT err($$SELECT dci_subscribe('s_crvs', 'birth', frequency => '{"frequency":"0 0 * * *"}')$$);
SELECT err($$SELECT dci_subscribe('s_crvs', '')$$);
SELECT err($$SELECT dci_unsubscribe('s_crvs', '{}')$$);
SELECT err($$SELECT dci_unsubscribe('s_crvs', ARRAY[NULL::text])$$);
SELECT err($$SELECT dci_subscribe_vital_events('{death,NULL}', 's_crvs')$$);

DROP TRIGGER suspend_deceased ON dci.inbox;
