-- Vital events pushed into the database: the pension programme subscribes to
-- deaths; the civil registry records two; within a second a trigger suspends
-- both pensioners, with the reason, and no batch job runs.  Then the
-- programme unsubscribes, and a third death changes nothing.
-- Callbacks reach the database through the dci listener when it runs
-- (dci.listener_port); without it, a relay stands in for it here: it hands
-- what the registry posted to its /sink to dci_receive, the same ingestion.
\pset footer off
\set QUIET on
CREATE SCHEMA demo;
-- the local registry's admin API (the demo runs as a superuser)
CREATE FUNCTION demo.registry(url text, body text DEFAULT NULL) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE out text;
BEGIN
    IF to_regclass('pg_temp.registry_out') IS NULL THEN
        CREATE TEMP TABLE registry_out (line text);
    END IF;
    TRUNCATE registry_out;
    EXECUTE format('COPY registry_out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   'curl -s ' || CASE WHEN body IS NULL THEN '' ELSE '--data-binary ' || quote_literal(body) || ' ' END
                   || quote_literal(url));
    SELECT string_agg(line, E'\n') INTO out FROM registry_out;
    RETURN out::jsonb;
END $$;
CREATE FUNCTION demo.listener_port() RETURNS integer LANGUAGE sql AS $$
    SELECT coalesce(nullif(current_setting('dci.listener_port', true), ''), '0')::integer
$$;
-- without the listener: what the registry posted to its sink, through dci_receive
CREATE FUNCTION demo.relay(regurl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE cb jsonb;
BEGIN
    IF demo.listener_port() > 0 THEN RETURN; END IF;
    FOR cb IN SELECT r -> 'body' FROM jsonb_array_elements(demo.registry(regurl || '/admin/sink') -> 'received') r
               WHERE r ->> 'path' = '/sink/demo-events'
    LOOP
        BEGIN
            PERFORM dci_receive(cb);
        EXCEPTION WHEN OTHERS THEN NULL;    -- refused callbacks are the registry's to retry
        END;
    END LOOP;
END $$;
CREATE PROCEDURE demo.wait_until(regurl text, condition text, seconds numeric DEFAULT 5) LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := clock_timestamp() + seconds * interval '1 second'; ok boolean;
BEGIN
    LOOP
        PERFORM demo.relay(regurl);
        COMMIT;
        EXECUTE 'SELECT ' || condition INTO ok;
        EXIT WHEN ok OR clock_timestamp() > deadline;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
\set QUIET off

\echo
\echo '== Where the registry posts its callbacks'
UPDATE dci.data_source SET our_callback_uri =
       CASE WHEN demo.listener_port() > 0 THEN 'http://127.0.0.1:' || demo.listener_port() || '/dci/callback'
            ELSE :'regurl' || '/sink/demo-events' END
 WHERE code = 'crvs_main';
SELECT CASE WHEN demo.listener_port() > 0 THEN 'the dci listener' ELSE 'the registry''s sink, relayed to dci_receive' END AS callbacks_reach_us_through;

\echo
\echo '== A trigger acts on each death as it lands in dci.inbox'
CREATE FUNCTION mis.suspend_on_death() RETURNS trigger LANGUAGE plpgsql
SET search_path = mis, pg_catalog AS $$
BEGIN
    UPDATE mis.beneficiary b
       SET status = 'suspended',
           status_reason = 'deceased ' || coalesce((n.person).death_date::text, '(date unknown)')
                           || ' per CRVS death notification'
      FROM dci.notification n, jsonb_array_elements(n.record -> 'identifier') i
     WHERE n.inbox_id = NEW.id AND n.reg_event_type = 'death' AND (n.person).is_deceased
       AND i ->> 'identifier_type' = 'UIN' AND b.uin = i ->> 'identifier_value' AND b.status = 'active';
    RETURN NULL;
END $$;
CREATE TRIGGER suspend_on_death AFTER INSERT ON dci.inbox
    FOR EACH ROW WHEN (NEW.action = 'notify') EXECUTE FUNCTION mis.suspend_on_death();

\echo
\echo '== Subscribe to deaths'
SELECT dci_subscribe_vital_events('{death}', 'crvs_main') AS transaction_id \gset
CALL demo.wait_until(:'regurl', $$(SELECT status = 'subscribed' FROM dci.subscription WHERE transaction_id = '$$ || :'transaction_id' || $$')$$);
SELECT subscription_code, reg_event_type, status FROM dci.subscription WHERE transaction_id = :'transaction_id';

\echo
\echo '== The civil registry records two deaths'
SELECT uin AS first_uin FROM mis.beneficiary WHERE status = 'active' ORDER BY uin LIMIT 1 \gset
SELECT uin AS second_uin FROM mis.beneficiary WHERE status = 'active' ORDER BY uin OFFSET 1 LIMIT 1 \gset
SELECT uin AS third_uin FROM mis.beneficiary WHERE status = 'active' ORDER BY uin OFFSET 2 LIMIT 1 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT demo.registry(:'regurl' || '/admin/event',
         format('{"prefix":"crvs","reg_event_type":"death","identifier":{"type":"UIN","value":"%s"},"death_date":"%s"}',
                u, current_date - 1)) -> 'notified' AS notified
  FROM unnest(ARRAY[:'first_uin', :'second_uin']) u;
CALL demo.wait_until(:'regurl', $$(SELECT count(*) = 2 FROM mis.beneficiary WHERE uin IN ('$$ || :'first_uin' || $$', '$$ || :'second_uin' || $$') AND status = 'suspended')$$);
SELECT uin AS "UIN", status, status_reason AS reason FROM mis.beneficiary
 WHERE uin IN (:'first_uin', :'second_uin') ORDER BY uin;
SELECT round(extract(epoch FROM max(received_at) - :'t0'::timestamptz)::numeric, 3) AS seconds_from_death_to_suspension
  FROM dci.inbox WHERE action = 'notify';
SELECT inbox_id, subscription_code, reg_event_type, (person).person_name, (person).death_date, received_at::time(0)
  FROM dci.notification ORDER BY inbox_id;

\echo
\echo '== Unsubscribe; a third death changes nothing'
SELECT dci_unsubscribe('crvs_main', ARRAY(SELECT subscription_code FROM dci.subscription
                                            WHERE status = 'subscribed' AND source_code = 'crvs_main')) AS unsubscribe_txn \gset
CALL demo.wait_until(:'regurl', $$(SELECT status <> 'pending' FROM dci.transaction WHERE transaction_id = '$$ || :'unsubscribe_txn' || $$')$$);
SELECT subscription_code, status FROM dci.subscription WHERE source_code = 'crvs_main';
SELECT demo.registry(:'regurl' || '/admin/event',
         format('{"prefix":"crvs","reg_event_type":"death","identifier":{"type":"UIN","value":"%s"}}', :'third_uin')) -> 'notified' AS notified;
CALL demo.wait_until(:'regurl', 'false', 1);
SELECT uin AS "UIN", status FROM mis.beneficiary WHERE uin = :'third_uin';
SELECT count(*) AS notifications FROM dci.notification;
