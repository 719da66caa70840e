-- dci 0.2.0: DCI (SPDCI) registry client for PostgreSQL.
\echo Use "CREATE EXTENSION dci" to load this file. \quit

CREATE SCHEMA dci;
REVOKE ALL ON SCHEMA dci FROM PUBLIC;
GRANT USAGE ON SCHEMA dci TO PUBLIC;   -- types only; the tables stay closed
COMMENT ON SCHEMA dci IS 'dci extension: registry configuration, keys and result types';

-- Keys that sign our outbound envelopes.  Private keys never leave this table
-- except into a signature; PUBLIC has no access.
CREATE TABLE dci.signing_key (
    key_id      text PRIMARY KEY CHECK (key_id ~ '^[A-Za-z0-9._-]+$'),
    algorithm   text NOT NULL DEFAULT 'ed25519' CHECK (algorithm IN ('ed25519', 'rs256')),
    private_key text NOT NULL,
    public_key  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active      boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE dci.signing_key IS 'Key pairs that sign outbound DCI envelopes (see dci_generate_signing_key, dci_jwks)';

-- One row per external registry.
CREATE TABLE dci.data_source (
    code                    text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_.-]+$'),
    name                    text NOT NULL,
    registry_type           text NOT NULL DEFAULT 'other'
                            CHECK (registry_type IN ('crvs', 'ibr', 'dr', 'sr', 'fr', 'other')),
    base_url                text,
    auth_type               text NOT NULL DEFAULT 'none' CHECK (auth_type IN ('none', 'bearer', 'oauth2')),
    bearer_token            text,
    oauth2_token_url        text DEFAULT '/oauth2/client/token',
    oauth2_client_id        text,
    oauth2_client_secret    text,
    oauth2_scope            text,
    signing_key_id          text REFERENCES dci.signing_key (key_id) ON UPDATE CASCADE,
    signing_mode            text NOT NULL DEFAULT 'dci-ed25519'
                            CHECK (signing_mode IN ('none', 'dci-ed25519', 'jws-rs256')),
    our_sender_id           text NOT NULL,
    our_callback_uri        text,
    registry_sender_id      text,
    registry_public_key     text,
    verify_response_signature text NOT NULL DEFAULT 'required'
                            CHECK (verify_response_signature IN ('required', 'if-present', 'off')),
    reg_type                text,
    record_profile          text NOT NULL DEFAULT 'spdci' CHECK (record_profile IN ('spdci', 'opencrvs')),
    not_found_reason_codes  text[] NOT NULL DEFAULT '{}',
    search_endpoint         text NOT NULL DEFAULT '/registry/sync/search',
    subscribe_endpoint      text NOT NULL DEFAULT '/registry/subscribe',
    txn_status_endpoint     text NOT NULL DEFAULT '/registry/sync/txn/status',
    enrolled_endpoint       text,
    disabled_endpoint       text,
    verify_ssl              boolean NOT NULL DEFAULT true,
    timeout_seconds         integer NOT NULL DEFAULT 30 CHECK (timeout_seconds BETWEEN 1 AND 3600),
    batch_size              integer NOT NULL DEFAULT 100 CHECK (batch_size BETWEEN 1 AND 10000),
    active                  boolean NOT NULL DEFAULT true,
    last_test_at            timestamptz,
    last_test_ok            boolean,
    last_test_http_status   integer,
    last_test_message       text,
    last_test_latency_ms    double precision,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- 0.2.0 (in the order dci--0.1.0--0.2.0.sql adds them)
    oauth2_client_auth      text NOT NULL DEFAULT 'body' CHECK (oauth2_client_auth IN ('body', 'basic', 'query')),
    relax_response_binding  boolean NOT NULL DEFAULT false,
    max_retries             integer NOT NULL DEFAULT 2 CHECK (max_retries BETWEEN 0 AND 10),
    test_identifier_type    text NOT NULL DEFAULT 'UIN',
    test_identifier_value   text NOT NULL DEFAULT 'dci-connection-test',
    requests_per_minute     integer CHECK (requests_per_minute > 0),
    requests_per_day        integer CHECK (requests_per_day > 0),
    quota_counts            text NOT NULL DEFAULT 'requests' CHECK (quota_counts IN ('requests', 'items')),
    death_reg_type          text,
    async_search_endpoint   text NOT NULL DEFAULT '/registry/search',
    unsubscribe_endpoint    text NOT NULL DEFAULT '/registry/unsubscribe',
    vital_events            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(vital_events) = 'object')
);
COMMENT ON TABLE dci.data_source IS 'DCI registries that dci_* functions call, by code';

REVOKE ALL ON dci.data_source, dci.signing_key FROM PUBLIC;

-- Config rows go into pg_dump: without them a restored database cannot reach
-- its registries, and a lost signing key must be re-registered everywhere.
-- Dumps therefore hold secrets; see the README, "Security model".
SELECT pg_catalog.pg_extension_config_dump('dci.data_source', '');
SELECT pg_catalog.pg_extension_config_dump('dci.signing_key', '');

-- Every backend caches config rows; this trigger tells them all to reload.
CREATE FUNCTION dci.config_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dci_config_changed' LANGUAGE C;
CREATE TRIGGER data_source_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON dci.data_source FOR EACH STATEMENT EXECUTE FUNCTION dci.config_changed();
CREATE TRIGGER signing_key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON dci.signing_key FOR EACH STATEMENT EXECUTE FUNCTION dci.config_changed();
REVOKE ALL ON FUNCTION dci.config_changed() FROM PUBLIC;

-- NOT NULL and CHECK constraints checked before PostgreSQL's own, whose
-- errors print the failing row, secrets included.
CREATE FUNCTION dci.validate_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dci_validate_row' LANGUAGE C;
CREATE TRIGGER data_source_validate BEFORE INSERT OR UPDATE ON dci.data_source
    FOR EACH ROW EXECUTE FUNCTION dci.validate_row();
CREATE TRIGGER signing_key_validate BEFORE INSERT OR UPDATE ON dci.signing_key
    FOR EACH ROW EXECUTE FUNCTION dci.validate_row();
REVOKE ALL ON FUNCTION dci.validate_row() FROM PUBLIC;

CREATE FUNCTION dci.touch_updated_at() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS
$$BEGIN NEW.updated_at := now(); RETURN NEW; END$$;
CREATE TRIGGER data_source_touch BEFORE UPDATE ON dci.data_source
    FOR EACH ROW EXECUTE FUNCTION dci.touch_updated_at();

------------------------------------------------------------------------------
-- Search
------------------------------------------------------------------------------

CREATE FUNCTION dci_search(source text, query_type text, query jsonb,
                           reg_type text DEFAULT NULL, reg_event_type text DEFAULT NULL,
                           page_size integer DEFAULT NULL, page_number integer DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'dci_search' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_search(text, text, jsonb, text, text, integer, integer) IS
'Signed DCI sync search; returns the response envelope after its signature is checked';

CREATE FUNCTION dci_search_by_id(source text, identifier_type text, identifier_value text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'dci_search_by_id' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_search_by_id(text, text, text) IS
'Signed DCI idtype-value search; returns the response envelope after its signature is checked';

CREATE FUNCTION dci_records(response jsonb) RETURNS SETOF jsonb
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

CREATE FUNCTION dci_test_connection(source text,
    OUT ok boolean, OUT http_status integer, OUT dci_status text,
    OUT latency_ms double precision, OUT message text)
RETURNS record AS 'MODULE_PATHNAME', 'dci_test_connection' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dci_test_connection(text) IS
'Exercises auth and a signed search against a source and records the outcome in its last_test_* columns';

CREATE FUNCTION dci_clear_token_cache(source text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'dci_clear_token_cache' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dci_clear_token_cache(text) IS
'Forgets cached OAuth2 tokens (of one source, or all): the next call fetches a new one';

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

------------------------------------------------------------------------------
-- Keys
------------------------------------------------------------------------------

CREATE FUNCTION dci_generate_signing_key(key_id text, algorithm text DEFAULT 'ed25519')
RETURNS text AS 'MODULE_PATHNAME', 'dci_generate_signing_key' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dci_generate_signing_key(text, text) IS
'Generates a key pair (ed25519 or rs256) into dci.signing_key and returns the public key PEM';

CREATE FUNCTION dci_jwks(sender_id text DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'dci_jwks' LANGUAGE C STABLE;
COMMENT ON FUNCTION dci_jwks(text) IS
'JWKS document of the active signing keys, kid = <sender>|<key_id>|<alg>, for registries to trust us';

------------------------------------------------------------------------------
-- Result types
------------------------------------------------------------------------------

CREATE TYPE dci.birth_record AS (
    identifier_type     text,
    identifier_value    text,
    given_name          text,
    family_name         text,
    person_name         text,
    sex                 text,
    birth_date          date,
    birth_place         text,
    parent1_identifier  text,
    parent2_identifier  text,
    is_deceased         boolean,
    death_date          date,
    registration_date   date,
    record              jsonb
);
COMMENT ON TYPE dci.birth_record IS 'A CRVS person record as dci_verify_birth maps it; record keeps the raw record';

CREATE TYPE dci.duplication_result AS (
    is_duplicate        boolean,
    matched_programs    text[],
    raw_response        jsonb
);

CREATE TYPE dci.beneficiary_info AS (
    identifier_type     text,
    identifier_value    text,
    name                text,
    programs            text[],
    enrollment_status   text,
    metadata            jsonb
);

CREATE TYPE dci.functional_scores AS (
    vision              integer,
    hearing             integer,
    mobility            integer,
    cognition           integer,
    self_care           integer,
    communication       integer
);
COMMENT ON TYPE dci.functional_scores IS 'Washington Group severity per domain: 1 no difficulty, 2 some, 3 a lot, 4 cannot do at all; NULL unknown';

CREATE TYPE dci.disability_status AS (
    has_disability      boolean,
    disability_types    text[],
    functional_scores   dci.functional_scores,
    severity            text,
    assessment_date     date,
    record              jsonb
);

-- What dci_sync_disability keeps: one row per source and identifier.
CREATE TABLE dci.disability_record (
    source              text NOT NULL,
    identifier_type     text NOT NULL,
    identifier_value    text NOT NULL,
    status              text NOT NULL DEFAULT 'pending',
    has_disability      boolean,
    disability_types    text[],
    functional_scores   dci.functional_scores,
    severity            text,
    assessment_date     date,
    record              jsonb,
    fetched_at          timestamptz,
    last_attempt_at     timestamptz,
    last_error          text,
    last_attempt_status text,
    PRIMARY KEY (source, identifier_type, identifier_value),
    CONSTRAINT disability_record_status_check CHECK (status IN ('pending', 'found', 'not_found')),
    CONSTRAINT disability_record_last_attempt_status_check
        CHECK (last_attempt_status IN ('found', 'not_found', 'failed'))
);
COMMENT ON TABLE dci.disability_record IS 'Disability statuses refreshed by dci_sync_disability: status is the last answer the registry gave (found, not_found), last_attempt_status the outcome of the last try (failed keeps the row as it was)';
REVOKE ALL ON dci.disability_record FROM PUBLIC;  -- health data: grant to who needs it

------------------------------------------------------------------------------
-- CRVS
------------------------------------------------------------------------------

CREATE FUNCTION dci_verify_birth(identifier_type text, identifier_value text,
                                 source text DEFAULT 'crvs_main')
RETURNS dci.birth_record AS 'MODULE_PATHNAME', 'dci_verify_birth' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_verify_birth(text, text, text) IS
'The CRVS record of a person (NULL when the registry has none); an ERROR when the registry cannot answer';

CREATE FUNCTION dci_is_deceased(identifier_type text, identifier_value text,
                                source text DEFAULT 'crvs_main')
RETURNS boolean AS 'MODULE_PATHNAME', 'dci_is_deceased' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_is_deceased(text, text, text) IS
'true when the CRVS records a death (or its death register has the person), false when the person is found alive, NULL when there is no record';

------------------------------------------------------------------------------
-- IBR
------------------------------------------------------------------------------

CREATE FUNCTION dci_check_duplication(identifier_type text, identifier_value text,
                                      source text DEFAULT 'ibr_main', exclude_program text DEFAULT NULL)
RETURNS dci.duplication_result AS 'MODULE_PATHNAME', 'dci_check_duplication' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_check_duplication(text, text, text, text) IS
'Whether the person has an active enrollment in another programme (fails rather than answer "no" when the IBR cannot answer)';

CREATE FUNCTION dci_check_duplication(identifiers jsonb, source text DEFAULT 'ibr_main',
                                      exclude_program text DEFAULT NULL)
RETURNS dci.duplication_result AS 'MODULE_PATHNAME', 'dci_check_duplication_multi' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_check_duplication(jsonb, text, text) IS
'Duplicate check over several identifiers [{"type":..,"value":..}]: duplicate if any matches an active enrollment elsewhere';

CREATE FUNCTION dci_search_beneficiary(identifier_type text, identifier_value text,
                                       source text DEFAULT 'ibr_main')
RETURNS SETOF dci.beneficiary_info AS 'MODULE_PATHNAME', 'dci_search_beneficiary' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_search_beneficiary(text, text, text) IS
'Every enrollment the IBR holds for a person, following pagination';

------------------------------------------------------------------------------
-- DR
------------------------------------------------------------------------------

CREATE FUNCTION dci_disability_status(identifier_type text, identifier_value text,
                                      source text DEFAULT 'dr_main')
RETURNS dci.disability_status AS 'MODULE_PATHNAME', 'dci_disability_status' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_disability_status(text, text, text) IS
'Disability status and Washington Group scores from the DR (NULL when the registry has no record)';

CREATE FUNCTION dci_functional_scores(identifier_type text, identifier_value text,
                                      source text DEFAULT 'dr_main')
RETURNS dci.functional_scores LANGUAGE sql VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
    SELECT (@extschema@.dci_disability_status(identifier_type, identifier_value, source)).functional_scores
$$;
COMMENT ON FUNCTION dci_functional_scores(text, text, text) IS
'Washington Group functional scores (1-4 per domain) from the DR; NULL when not found';

CREATE FUNCTION dci_is_pwd(identifier_type text, identifier_value text,
                           source text DEFAULT 'dr_main', threshold integer DEFAULT 3)
RETURNS boolean AS 'MODULE_PATHNAME', 'dci_is_pwd' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_is_pwd(text, text, text, integer) IS
'true when the DR says the person has a disability or any Washington Group domain is at or above threshold; false when neither; NULL when not found or nothing is known';

------------------------------------------------------------------------------
-- Batch (set-based) forms: one row per input, with a status and an error
------------------------------------------------------------------------------

CREATE FUNCTION dci_verify_birth_batch(identifier_type text, identifier_values text[],
                                       source text DEFAULT 'crvs_main', strict boolean DEFAULT false)
RETURNS TABLE (identifier_value text, record dci.birth_record, status text, error text)
AS 'MODULE_PATHNAME', 'dci_verify_birth_batch' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_verify_birth_batch(text, text[], text, boolean) IS
'dci_verify_birth over an array: status found, not_found or failed (with error) per identifier';

CREATE FUNCTION dci_search_by_id_batch(source text, identifier_type text, identifier_values text[],
                                       strict boolean DEFAULT false)
RETURNS TABLE (identifier_value text, records jsonb, status text, error text)
AS 'MODULE_PATHNAME', 'dci_search_by_id_batch' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_search_by_id_batch(text, text, text[], boolean) IS
'dci_search_by_id over an array: the records of each identifier as a jsonb array, with a status and an error';

CREATE FUNCTION dci_disability_status_batch(identifier_type text, identifier_values text[],
                                            source text DEFAULT 'dr_main', strict boolean DEFAULT false)
RETURNS TABLE (identifier_value text, record dci.disability_status, status text, error text)
AS 'MODULE_PATHNAME', 'dci_disability_status_batch' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_disability_status_batch(text, text[], text, boolean) IS
'dci_disability_status over an array: status found, not_found or failed (with error) per identifier';

CREATE FUNCTION dci_check_duplication_batch(identifier_type text, identifier_values text[],
                                            source text DEFAULT 'ibr_main', exclude_program text DEFAULT NULL,
                                            strict boolean DEFAULT false)
RETURNS TABLE (identifier_value text, result dci.duplication_result, status text, error text)
AS 'MODULE_PATHNAME', 'dci_check_duplication_batch' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dci_check_duplication_batch(text, text[], text, text, boolean) IS
'dci_check_duplication over an array: status found (enrolled somewhere), not_found (nowhere) or failed';

------------------------------------------------------------------------------
-- Disability sync
------------------------------------------------------------------------------

CREATE FUNCTION dci_sync_disability(source text DEFAULT 'dr_main', identifiers jsonb DEFAULT NULL,
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
COMMENT ON FUNCTION dci_sync_disability(text, jsonb, interval) IS
'Refreshes dci.disability_record for the given identifiers, or every row older than stale_after; a failed lookup keeps the row and records last_attempt_status, last_error, last_attempt_at';

------------------------------------------------------------------------------
-- Generic queries
------------------------------------------------------------------------------

-- One search, or every page of it merged into one envelope (up to max_records).
CREATE FUNCTION dci_search_pages(source text, query_type text, query jsonb,
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
COMMENT ON FUNCTION dci_search_pages(text, text, jsonb, text, text, integer, integer, boolean, integer) IS
'dci_search, or with all_pages every page merged into one envelope (an ERROR past max_records, never a silent cut)';

CREATE FUNCTION dci_search_by_predicate(source text, predicate jsonb,
                                        page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                        all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search_pages(source, 'predicate', predicate, NULL, NULL, page_size, page_number, all_pages, max_records)
$$;
COMMENT ON FUNCTION dci_search_by_predicate(text, jsonb, integer, integer, boolean, integer) IS
'Predicate search: a list of {seq_num, expression1{attribute_name, operator, attribute_value}, condition, expression2}';

CREATE FUNCTION dci_search_by_expression(source text, expression jsonb,
                                         page_size integer DEFAULT NULL, page_number integer DEFAULT NULL,
                                         all_pages boolean DEFAULT false, max_records integer DEFAULT 10000)
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search_pages(source, 'expression', expression, NULL, NULL, page_size, page_number, all_pages, max_records)
$$;
COMMENT ON FUNCTION dci_search_by_expression(text, jsonb, integer, integer, boolean, integer) IS
'Expression search, in the registry''s own expression dialect';

CREATE FUNCTION dci_search_by_date_range(source text, attribute text, from_date date, to_date date,
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
COMMENT ON FUNCTION dci_search_by_date_range(text, text, date, date, text, integer, integer, boolean, integer) IS
'Records whose attribute (a date) lies between from_date and to_date, both included';

CREATE FUNCTION dci_search_by_identifier_opencrvs(source text, identifier_type text, identifier_value text,
                                                  event_type text DEFAULT 'birth')
RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.dci_search(source, 'idtype-value',
                      jsonb_build_object('type', identifier_type, 'value', identifier_value),
                      'ocrvs:registry_type:' || event_type, event_type, NULL::integer, NULL::integer)
$$;
COMMENT ON FUNCTION dci_search_by_identifier_opencrvs(text, text, text, text) IS
'An OpenCRVS identifier search: reg_type ocrvs:registry_type:<event>, reg_event_type <event>';

-- Nothing is callable by PUBLIC: grant EXECUTE to the roles that need it.
REVOKE ALL ON FUNCTION
    dci_search(text, text, jsonb, text, text, integer, integer),
    dci_search_by_id(text, text, text),
    dci_records(jsonb),
    dci_test_connection(text),
    dci_clear_token_cache(text),
    dci_stats(),
    dci_source_status(),
    dci_reset_circuit(text),
    dci_progress(),
    dci_generate_signing_key(text, text),
    dci_jwks(text),
    dci_verify_birth(text, text, text),
    dci_is_deceased(text, text, text),
    dci_check_duplication(text, text, text, text),
    dci_check_duplication(jsonb, text, text),
    dci_search_beneficiary(text, text, text),
    dci_disability_status(text, text, text),
    dci_functional_scores(text, text, text),
    dci_is_pwd(text, text, text, integer),
    dci_verify_birth_batch(text, text[], text, boolean),
    dci_search_by_id_batch(text, text, text[], boolean),
    dci_disability_status_batch(text, text[], text, boolean),
    dci_check_duplication_batch(text, text[], text, text, boolean),
    dci_sync_disability(text, jsonb, interval),
    dci_search_pages(text, text, jsonb, text, text, integer, integer, boolean, integer),
    dci_search_by_predicate(text, jsonb, integer, integer, boolean, integer),
    dci_search_by_expression(text, jsonb, integer, integer, boolean, integer),
    dci_search_by_date_range(text, text, date, date, text, integer, integer, boolean, integer),
    dci_search_by_identifier_opencrvs(text, text, text, text),
    dci.config_changed(),
    dci.validate_row(),
    dci.touch_updated_at()
FROM PUBLIC;

------------------------------------------------------------------------------
-- Async, inbox, subscriptions
------------------------------------------------------------------------------

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
