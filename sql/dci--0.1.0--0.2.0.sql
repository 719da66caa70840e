-- dci 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION dci UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Configuration
------------------------------------------------------------------------------

ALTER TABLE dci.data_source
    ADD COLUMN oauth2_client_auth text NOT NULL DEFAULT 'body'
        CHECK (oauth2_client_auth IN ('body', 'basic', 'query')),
    ADD COLUMN relax_response_binding boolean NOT NULL DEFAULT false,
    ADD COLUMN max_retries integer NOT NULL DEFAULT 2 CHECK (max_retries BETWEEN 0 AND 10),
    ADD COLUMN test_identifier_type text NOT NULL DEFAULT 'UIN',
    ADD COLUMN test_identifier_value text NOT NULL DEFAULT 'dci-connection-test',
    ADD COLUMN requests_per_minute integer CHECK (requests_per_minute > 0),
    ADD COLUMN requests_per_day integer CHECK (requests_per_day > 0),
    ADD COLUMN quota_counts text NOT NULL DEFAULT 'requests' CHECK (quota_counts IN ('requests', 'items')),
    ADD COLUMN death_reg_type text,
    ADD COLUMN async_search_endpoint text NOT NULL DEFAULT '/registry/search',
    ADD COLUMN unsubscribe_endpoint text NOT NULL DEFAULT '/registry/unsubscribe',
    ADD COLUMN vital_events jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(vital_events) = 'object');

-- NOT NULL and CHECK constraints checked before PostgreSQL's own, whose
-- errors print the failing row, secrets included.
CREATE FUNCTION dci.validate_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dci_validate_row' LANGUAGE C;
CREATE TRIGGER data_source_validate BEFORE INSERT OR UPDATE ON dci.data_source
    FOR EACH ROW EXECUTE FUNCTION dci.validate_row();
CREATE TRIGGER signing_key_validate BEFORE INSERT OR UPDATE ON dci.signing_key
    FOR EACH ROW EXECUTE FUNCTION dci.validate_row();
REVOKE ALL ON FUNCTION dci.validate_row() FROM PUBLIC;

-- no function of the extension resolves names through the caller's search_path
ALTER FUNCTION dci.touch_updated_at() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION dci_records(jsonb) SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------------
-- Counters, budget, circuit breaker, progress
------------------------------------------------------------------------------

DROP FUNCTION dci_stats();
CREATE FUNCTION dci_stats(OUT requests bigint, OUT connections_opened bigint,
                          OUT token_fetches bigint, OUT retries_401 bigint, OUT cache_hits bigint,
                          OUT retries bigint)
RETURNS record AS 'MODULE_PATHNAME', 'dci_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_stats() IS
'This backend''s counters: HTTP requests sent, TCP connections opened, token fetches, 401 retries, response cache hits, resends after 429/503/lost connections';

CREATE FUNCTION dci_source_status(OUT source text, OUT breaker_state text, OUT breaker_failures integer,
                                  OUT breaker_open_until timestamptz, OUT last_failure text,
                                  OUT used_this_minute bigint, OUT used_today bigint,
                                  OUT requests_per_minute integer, OUT requests_per_day integer,
                                  OUT quota_resets_at timestamptz, OUT paused_until timestamptz,
                                  OUT cluster_wide boolean)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'dci_source_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_source_status() IS
'Each source''s budget (used this minute and today, limits, when the quota resets, a pause the registry asked for) and circuit breaker';

CREATE FUNCTION dci_reset_circuit(source text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'dci_reset_circuit' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_reset_circuit(text) IS
'Closes the circuit breaker of a source (or of all) and forgets a pause the registry asked for';

CREATE FUNCTION dci_progress(OUT pid integer, OUT source text, OUT function text,
                             OUT done bigint, OUT total bigint, OUT failed bigint, OUT requests bigint,
                             OUT started timestamptz, OUT rows_per_second double precision,
                             OUT estimated_end timestamptz, OUT waiting boolean, OUT percent double precision)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'dci_progress_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_progress() IS
'Running batch calls in this database (cluster-wide with shared_preload_libraries): identifiers done of total, failed, requests, rate, estimated end, waiting on the budget';
CREATE VIEW dci.progress AS SELECT * FROM @extschema@.dci_progress();
COMMENT ON VIEW dci.progress IS 'Running batch calls: done of total, failed, requests sent, rate, estimated end, waiting on the budget';
REVOKE ALL ON dci.progress FROM PUBLIC;
REVOKE ALL ON FUNCTION dci_stats(), dci_source_status(), dci_reset_circuit(text), dci_progress() FROM PUBLIC;

------------------------------------------------------------------------------
-- Disability sync: status is the last answer; a failure is an attempt
------------------------------------------------------------------------------

ALTER TABLE dci.disability_record ADD COLUMN last_attempt_status text;
UPDATE dci.disability_record
   SET last_attempt_status = CASE WHEN status = 'pending' THEN NULL ELSE status END,
       status = CASE WHEN status <> 'failed' THEN status
                     WHEN fetched_at IS NULL THEN 'pending'
                     WHEN record IS NOT NULL THEN 'found'
                     ELSE 'not_found' END;
ALTER TABLE dci.disability_record
    DROP CONSTRAINT disability_record_status_check,
    ADD CONSTRAINT disability_record_status_check CHECK (status IN ('pending', 'found', 'not_found')),
    ADD CONSTRAINT disability_record_last_attempt_status_check
        CHECK (last_attempt_status IN ('found', 'not_found', 'failed'));
COMMENT ON TABLE dci.disability_record IS 'Disability statuses refreshed by dci_sync_disability: status is the last answer the registry gave (found, not_found), last_attempt_status the outcome of the last try (failed keeps the row as it was)';

------------------------------------------------------------------------------
-- SQL functions: search_path pinned, calls qualified; dci_is_deceased asks a death register
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION dci_is_deceased(identifier_type text, identifier_value text,
                                source text DEFAULT 'crvs_main')
RETURNS boolean AS 'MODULE_PATHNAME', 'dci_is_deceased' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE OR REPLACE FUNCTION dci_functional_scores(identifier_type text, identifier_value text,
                                      source text DEFAULT 'dr_main')
RETURNS dci.functional_scores LANGUAGE sql VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
    SELECT (@extschema@.dci_disability_status(identifier_type, identifier_value, source)).functional_scores
$$;

CREATE OR REPLACE FUNCTION dci_sync_disability(source text DEFAULT 'dr_main', identifiers jsonb DEFAULT NULL,
                                    stale_after interval DEFAULT '1 day')
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    n bigint := 0;
    k bigint;
BEGIN
    IF identifiers IS NOT NULL AND jsonb_typeof(identifiers) <> 'array' THEN
        RAISE EXCEPTION 'identifiers must be a JSON array of {"type": ..., "value": ...}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the identifiers asked for become rows; without them, stale rows are refreshed
    IF identifiers IS NOT NULL THEN
        INSERT INTO dci.disability_record AS r (source, identifier_type, identifier_value)
        SELECT DISTINCT dci_sync_disability.source, i ->> 'type', i ->> 'value'
          FROM jsonb_array_elements(identifiers) i
         WHERE i ->> 'type' IS NOT NULL AND i ->> 'value' IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
    FOR t IN
        SELECT DISTINCT identifier_type FROM dci.disability_record r
         WHERE r.source = dci_sync_disability.source
    LOOP
        WITH pending AS (
            SELECT r.identifier_value FROM dci.disability_record r
             WHERE r.source = dci_sync_disability.source AND r.identifier_type = t
               AND CASE WHEN identifiers IS NOT NULL
                        THEN EXISTS (SELECT 1 FROM jsonb_array_elements(identifiers) i
                                      WHERE i ->> 'type' = t AND i ->> 'value' = r.identifier_value)
                        ELSE r.fetched_at IS NULL OR r.fetched_at < now() - stale_after END),
        answers AS (
            -- every argument given: an overload with fewer cannot capture the call
            SELECT b.* FROM @extschema@.dci_disability_status_batch(t, ARRAY(SELECT identifier_value FROM pending),
                                                        dci_sync_disability.source, false) b)
        -- a failure changes only the last_attempt_* columns: what was known stays
        UPDATE dci.disability_record r SET
            status            = CASE WHEN a.status = 'failed' THEN r.status ELSE a.status END,
            has_disability    = CASE WHEN a.status = 'failed' THEN r.has_disability ELSE (a.record).has_disability END,
            disability_types  = CASE WHEN a.status = 'failed' THEN r.disability_types ELSE (a.record).disability_types END,
            functional_scores = CASE WHEN a.status = 'failed' THEN r.functional_scores ELSE (a.record).functional_scores END,
            severity          = CASE WHEN a.status = 'failed' THEN r.severity ELSE (a.record).severity END,
            assessment_date   = CASE WHEN a.status = 'failed' THEN r.assessment_date ELSE (a.record).assessment_date END,
            record            = CASE WHEN a.status = 'failed' THEN r.record ELSE (a.record).record END,
            fetched_at        = CASE WHEN a.status = 'failed' THEN r.fetched_at ELSE now() END,
            last_attempt_at   = now(),
            last_attempt_status = a.status,
            last_error        = a.error
          FROM answers a
         WHERE r.source = dci_sync_disability.source AND r.identifier_type = t
           AND r.identifier_value = a.identifier_value;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END LOOP;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION dci_search_pages(source text, query_type text, query jsonb,
                                 reg_type text DEFAULT NULL, reg_event_type text DEFAULT NULL,
                                 page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                 all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    resp jsonb;
    page jsonb;
    recs jsonb := '[]';
    total bigint;
    size integer := coalesce(page_size, 100);
    p integer := 1;
    got integer;
    this_page jsonb;
    last_page jsonb;
    total_text text;
BEGIN
    IF NOT all_pages THEN
        RETURN @extschema@.dci_search(source, query_type, query, reg_type, reg_event_type, page_size, page_number);
    END IF;
    LOOP
        page := @extschema@.dci_search(source, query_type, query, reg_type, reg_event_type, size, p);
        IF resp IS NULL THEN resp := page; END IF;
        got := (SELECT count(*) FROM @extschema@.dci_records(page));
        this_page := coalesce((SELECT jsonb_agg(r) FROM @extschema@.dci_records(page) r), '[]');
        -- a registry that ignores page_number must not be paged without end
        IF p > 1 AND got > 0 AND this_page = last_page THEN
            RAISE EXCEPTION 'DCI source "%" answered page % with the same records as page %', source, p, p - 1
                USING ERRCODE = 'DC004', HINT = 'The registry seems to ignore page_number; nothing was returned.';
        END IF;
        last_page := this_page;
        recs := recs || this_page;
        total_text := page #>> '{message,search_response,0,pagination,total_count}';
        IF total_text IS NOT NULL AND total_text !~ '^\s*[0-9]{1,18}\s*$' THEN
            RAISE EXCEPTION 'DCI source "%" answered a pagination.total_count that is no count', source
                USING ERRCODE = 'DC004';
        END IF;
        total := total_text::bigint;
        IF got = 0 AND total IS NOT NULL AND jsonb_array_length(recs) < total THEN
            RAISE EXCEPTION 'DCI source "%" answered page % with no records, but its total_count says %', source, p, total
                USING ERRCODE = 'DC004';
        END IF;
        IF jsonb_array_length(recs) > max_records
           OR (total IS NOT NULL AND total > max_records) THEN
            RAISE EXCEPTION 'search of DCI source "%" has more than % records', source, max_records
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Raise max_records, narrow the query, or page with page_number.';
        END IF;
        EXIT WHEN got = 0 OR got < size OR (total IS NOT NULL AND jsonb_array_length(recs) >= total);
        p := p + 1;
    END LOOP;
    RETURN jsonb_set(jsonb_set(resp, '{message,search_response,0,data,reg_records}', recs),
                     '{message,search_response,0,pagination}',
                     jsonb_build_object('page_size', jsonb_array_length(recs), 'page_number', 1,
                                        'total_count', jsonb_array_length(recs)));
END
$$;

CREATE OR REPLACE FUNCTION dci_search_by_predicate(source text, predicate jsonb,
                                        page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                        all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search_pages(source, 'predicate', predicate, NULL, NULL, page_size, page_number, all_pages, max_records)
$$;

CREATE OR REPLACE FUNCTION dci_search_by_expression(source text, expression jsonb,
                                         page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                         all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search_pages(source, 'expression', expression, NULL, NULL, page_size, page_number, all_pages, max_records)
$$;

CREATE OR REPLACE FUNCTION dci_search_by_date_range(source text, attribute text, from_date date, to_date date,
                                         reg_event_type text DEFAULT NULL,
                                         page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                         all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search_pages(source, 'predicate',
        jsonb_build_array(jsonb_build_object(
            'seq_num', 1,
            'expression1', jsonb_build_object('attribute_name', attribute, 'operator', 'ge',
                                              'attribute_value', to_char(from_date, 'YYYY-MM-DD')),
            'condition', 'and',
            'expression2', jsonb_build_object('attribute_name', attribute, 'operator', 'le',
                                              'attribute_value', to_char(to_date, 'YYYY-MM-DD')))),
        NULL, reg_event_type, page_size, page_number, all_pages, max_records)
$$;

CREATE OR REPLACE FUNCTION dci_search_by_identifier_opencrvs(source text, identifier_type text, identifier_value text,
                                                  event_type text DEFAULT 'birth')
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search(source, 'idtype-value',
                      jsonb_build_object('type', identifier_type, 'value', identifier_value),
                      'ocrvs:registry_type:' || event_type, event_type, NULL::integer, NULL::integer)
$$;

COMMENT ON FUNCTION dci_sync_disability(text, jsonb, interval) IS
'Refreshes dci.disability_record for the given identifiers, or every row older than stale_after; a failed lookup keeps the row and records last_attempt_status, last_error, last_attempt_at';
COMMENT ON FUNCTION dci_is_deceased(text, text, text) IS
'true when the CRVS records a death (or its death register has the person), false when the person is found alive, NULL when there is no record';

------------------------------------------------------------------------------
-- Async, inbox, subscriptions
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION dci_records(response jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT rec
    FROM (SELECT coalesce(response #> '{message,search_response}',
                          response #> '{message,notify_event}',
                          response #> '{message,txnstatus_response,txn_status,search_response}') AS items) AS m,
         LATERAL jsonb_array_elements(
             CASE jsonb_typeof(m.items)
                 WHEN 'array' THEN m.items
                 WHEN 'object' THEN jsonb_build_array(m.items)
                 ELSE '[]'::jsonb END) AS item,
         LATERAL jsonb_array_elements(
             CASE jsonb_typeof(item #> '{data,reg_records}')
                 WHEN 'array' THEN item #> '{data,reg_records}'
                 WHEN 'object' THEN jsonb_build_array(item #> '{data,reg_records}')
                 ELSE '[]'::jsonb END) AS rec
$$;
COMMENT ON FUNCTION dci_records(jsonb) IS
'The reg_records of every item of an envelope: a search answer, an on-search or notify callback, a txn status answer (array or single object)';

-- One row per asynchronous request.  The pending row is committed before the
-- request leaves (a background worker writes it), so a callback that comes
-- at once finds it; callbacks and polls move it to succ, partial, rjct or failed.
CREATE TABLE dci.transaction (
    transaction_id  text PRIMARY KEY,
    source_code     text NOT NULL REFERENCES dci.data_source (code) ON UPDATE CASCADE,
    action          text NOT NULL CHECK (action IN ('search', 'subscribe', 'unsubscribe', 'txn-status')),
    request         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succ', 'partial', 'rjct', 'failed')),
    sent_at         timestamptz NOT NULL DEFAULT now(),
    acked_at        timestamptz,
    completed_at    timestamptz,
    correlation_id  text,
    last_error      text,
    total_count     integer NOT NULL DEFAULT 1,
    completed_count integer NOT NULL DEFAULT 0,
    failed_count    integer NOT NULL DEFAULT 0,
    polled_at       timestamptz
);
CREATE INDEX transaction_open_idx ON dci.transaction (sent_at) WHERE status IN ('pending', 'partial');
COMMENT ON TABLE dci.transaction IS 'Asynchronous DCI requests (search, subscribe, unsubscribe): the message sent (no secret), status pending -> succ / partial / rjct / failed';

-- Every callback a registry sent, verified, once per (source, message_id).
CREATE TABLE dci.inbox (
    id                bigserial PRIMARY KEY,
    received_at       timestamptz NOT NULL DEFAULT now(),
    source_code       text NOT NULL,
    action            text NOT NULL
                      CHECK (action IN ('on-search', 'on-subscribe', 'on-unsubscribe', 'notify', 'txn-on-status')),
    message_id        text NOT NULL,
    transaction_id    text,
    correlation_id    text,
    status            text,
    envelope          jsonb NOT NULL,
    received_via      text NOT NULL CHECK (received_via IN ('listener', 'sql', 'poll')),
    subscription_code text,
    UNIQUE (source_code, message_id)
);
CREATE INDEX inbox_transaction_idx ON dci.inbox (transaction_id);
COMMENT ON TABLE dci.inbox IS 'Callbacks received from registries (on-search, on-subscribe, on-unsubscribe, notify, txn-on-status), signature checked, stored once; NOTIFY dci_inbox carries each new id';

CREATE TABLE dci.subscription (
    id                 bigserial PRIMARY KEY,
    subscription_code  text,
    source_code        text NOT NULL REFERENCES dci.data_source (code) ON UPDATE CASCADE,
    reg_event_type     text NOT NULL,
    filter             jsonb,
    status             text NOT NULL DEFAULT 'requested'
                       CHECK (status IN ('requested', 'subscribed', 'unsubscribed', 'rjct')),
    transaction_id     text NOT NULL REFERENCES dci.transaction (transaction_id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    reference_id       text NOT NULL,
    reg_type           text,
    notify_record_type text,
    frequency          jsonb,
    last_error         text,
    UNIQUE (source_code, subscription_code)
);
CREATE INDEX subscription_transaction_idx ON dci.subscription (transaction_id);
COMMENT ON TABLE dci.subscription IS 'Subscriptions to registry events: requested -> subscribed (with the registry''s code) -> unsubscribed, or rjct';

-- Received data and the registry's subscription codes exist nowhere else:
-- dumped like the configuration (sequences too, so restored ids do not repeat).
SELECT pg_catalog.pg_extension_config_dump('dci.transaction', '');
SELECT pg_catalog.pg_extension_config_dump('dci.inbox', '');
SELECT pg_catalog.pg_extension_config_dump('dci.inbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dci.subscription', '');
SELECT pg_catalog.pg_extension_config_dump('dci.subscription_id_seq', '');

CREATE FUNCTION dci_search_async(source text, query_type text, query jsonb,
                                 reg_type text DEFAULT NULL, reg_event_type text DEFAULT NULL,
                                 page_size integer DEFAULT NULL, page_number integer DEFAULT NULL)
RETURNS text AS 'MODULE_PATHNAME', 'dci_search_async' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_search_async(text, text, jsonb, text, text, integer, integer) IS
'Signed asynchronous search: the registry acks now and posts the results to our_callback_uri; returns the transaction_id';

CREATE FUNCTION dci_receive(envelope jsonb) RETURNS bigint
AS 'MODULE_PATHNAME', 'dci_receive' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dci_receive(jsonb) IS
'Ingests one callback envelope (signature checked, stored once in dci.inbox, transaction and subscription updated, NOTIFY dci_inbox); returns its inbox id';

CREATE FUNCTION dci_txn_status(source text, transaction_id text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'dci_txn_status' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dci_txn_status(text, text) IS
'Asks the registry (sync txn status) where an asynchronous transaction stands; the answer goes through the inbox like a callback';

CREATE FUNCTION dci_poll_transactions(older_than interval DEFAULT '1 minute',
                                      max_transactions integer DEFAULT 100) RETURNS integer
AS 'MODULE_PATHNAME', 'dci_poll_transactions' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_poll_transactions(interval, integer) IS
'Polls the pending transactions not heard of for older_than (for pg_cron); returns how many it asked about';

CREATE FUNCTION dci_subscribe(source text, reg_event_type text, filter jsonb DEFAULT NULL,
                              reg_type text DEFAULT NULL, frequency jsonb DEFAULT NULL,
                              notify_record_type text DEFAULT NULL) RETURNS text
AS 'MODULE_PATHNAME', 'dci_subscribe' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_subscribe(text, text, jsonb, text, jsonb, text) IS
'Subscribes to a registry''s events (signed SubscribeRequest, acked; on-subscribe fills dci.subscription); returns the transaction_id';

CREATE FUNCTION dci_subscribe_vital_events(event_types text[] DEFAULT '{birth,death}',
                                           source text DEFAULT 'crvs_main') RETURNS SETOF text
AS 'MODULE_PATHNAME', 'dci_subscribe_vital_events' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_subscribe_vital_events(text[], text) IS
'One subscription per vital event type, with the source''s codes for it (vital_events, record_profile); returns the transaction_ids';

CREATE FUNCTION dci_unsubscribe(source text, subscription_codes text[]) RETURNS text
AS 'MODULE_PATHNAME', 'dci_unsubscribe' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_unsubscribe(text, text[]) IS
'Sends the standard UnSubscribeRequest (subscription_codes); on-unsubscribe marks the rows unsubscribed; returns the transaction_id';

CREATE FUNCTION dci_birth_record(record jsonb, source text DEFAULT 'crvs_main') RETURNS dci.birth_record
AS 'MODULE_PATHNAME', 'dci_birth_record' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dci_birth_record(jsonb, text) IS
'One CRVS record mapped as dci_verify_birth maps the source''s answers (its record_profile)';

-- One row per record a notify callback carried.
CREATE VIEW dci.notification AS
SELECT i.id AS inbox_id, i.source_code, i.subscription_code,
       COALESCE(s.reg_event_type, ev #>> '{data,reg_event_type}') AS reg_event_type,
       rec AS record,
       @extschema@.dci_birth_record(rec, i.source_code) AS person,
       i.received_at
  FROM dci.inbox i
  LEFT JOIN dci.subscription s
         ON s.source_code OPERATOR(pg_catalog.=) i.source_code
        AND s.subscription_code OPERATOR(pg_catalog.=) i.subscription_code
 CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
         CASE pg_catalog.jsonb_typeof(i.envelope #> '{message,notify_event}')
             WHEN 'array' THEN i.envelope #> '{message,notify_event}'
             WHEN 'object' THEN pg_catalog.jsonb_build_array(i.envelope #> '{message,notify_event}')
             ELSE '[]'::jsonb END) AS ev
 CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
         CASE pg_catalog.jsonb_typeof(ev #> '{data,reg_records}')
             WHEN 'array' THEN ev #> '{data,reg_records}'
             WHEN 'object' THEN pg_catalog.jsonb_build_array(ev #> '{data,reg_records}')
             ELSE '[]'::jsonb END) AS rec
 WHERE i.action OPERATOR(pg_catalog.=) 'notify';
COMMENT ON VIEW dci.notification IS 'One row per record of each notify callback, with its subscription and the record mapped as dci_verify_birth maps it (person)';

-- Closed to PUBLIC like the configuration: grant what each role needs.
REVOKE ALL ON dci.transaction, dci.inbox, dci.subscription, dci.notification FROM PUBLIC;
REVOKE ALL ON SEQUENCE dci.inbox_id_seq, dci.subscription_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION
    dci_search_async(text, text, jsonb, text, text, integer, integer),
    dci_receive(jsonb),
    dci_txn_status(text, text),
    dci_poll_transactions(interval, integer),
    dci_subscribe(text, text, jsonb, text, jsonb, text),
    dci_subscribe_vital_events(text[], text),
    dci_unsubscribe(text, text[]),
    dci_birth_record(jsonb, text)
FROM PUBLIC;
