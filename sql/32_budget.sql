-- A source's budget: the circuit breaker, pacing, the daily quota, the
-- registry's own word (Retry-After), and progress seen from another session.
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE FUNCTION masked(q text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(err(q), '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[-+]\d\d', '<time>', 'g')
$$;

-- circuit breaker: after 3 consecutive failures calls fail at once, without a request
SET dci.breaker_threshold = 3;
SET dci.breaker_cooldown = 1;
SELECT test_source('b_brk', '/opt/status=500/crvs');
UPDATE dci.data_source SET max_retries = 0 WHERE code = 'b_brk';
SELECT masked($$SELECT dci_search_by_id('b_brk', 'BRN', 'BR-2024-0042')$$) FROM generate_series(1, 3);
SELECT requests AS r0 FROM dci_stats() \gset
SELECT masked($$SELECT dci_search_by_id('b_brk', 'BRN', 'BR-2024-0042')$$) AS open;
SELECT requests - :r0 AS sent_while_open FROM dci_stats();
SELECT source, breaker_state, breaker_failures, last_failure IS NOT NULL AS has_cause
  FROM dci_source_status() WHERE source = 'b_brk';
-- a batch against an open circuit fails every row at once
SELECT status, count(*) FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042', 'BR-1999-9999'], 'b_brk')
 GROUP BY 1;
-- after the cooldown one probe goes; it succeeds, the circuit closes
SELECT pg_sleep(1.1);
UPDATE dci.data_source SET base_url = replace(base_url, '/opt/status=500', '') WHERE code = 'b_brk';
SELECT count(*) FROM dci_records(dci_search_by_id('b_brk', 'BRN', 'BR-2024-0042'));
SELECT breaker_state, breaker_failures FROM dci_source_status() WHERE source = 'b_brk';
-- a failed probe opens it again; dci_reset_circuit closes it by hand
UPDATE dci.data_source SET base_url = replace(base_url, '/crvs', '/opt/status=500/crvs') WHERE code = 'b_brk';
SELECT masked($$SELECT dci_search_by_id('b_brk', 'BRN', 'BR-2024-0042')$$) FROM generate_series(1, 3);
SELECT breaker_state FROM dci_source_status() WHERE source = 'b_brk';
SELECT dci_reset_circuit('b_brk');
SELECT breaker_state FROM dci_source_status() WHERE source = 'b_brk';
RESET dci.breaker_threshold;
RESET dci.breaker_cooldown;
SET dci.breaker_threshold = 0;

-- pacing: 600 a minute is one each 100 ms, spread, never a burst
SELECT test_source('b_paced', '/crvs');
UPDATE dci.data_source SET requests_per_minute = 600, batch_size = 1 WHERE code = 'b_paced';
SELECT clock_timestamp() AS t0 \gset
SELECT status, count(*) FROM dci_verify_birth_batch('BRN',
  ARRAY['BR-2024-0042', 'BR-2024-0043', 'BR-2024-0044', 'BR-2024-0045', 'BR-2024-0046', 'BR-2024-0047'], 'b_paced')
 GROUP BY 1 ORDER BY 1;
-- six envelopes at 100 ms intervals: the last one left 500 ms after the first
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '500 ms' AS paced;
SELECT used_this_minute, requests_per_minute FROM dci_source_status() WHERE source = 'b_paced';

-- quota counted in identifiers: an envelope of 3 costs 3
UPDATE dci.data_source SET quota_counts = 'items', batch_size = 3, requests_per_minute = 6000 WHERE code = 'b_paced';
SELECT count(*) FROM dci_verify_birth_batch('BRN', ARRAY['BR-2024-0042', 'BR-2024-0043', 'BR-2024-0044'], 'b_paced');
SELECT used_today FROM dci_source_status() WHERE source = 'b_paced';

-- a daily quota ends a job cleanly: rows beyond it fail at once, without a request
SELECT test_source('b_daily', '/crvs');
UPDATE dci.data_source SET requests_per_day = 3, batch_size = 1 WHERE code = 'b_daily';
SELECT requests AS r0 FROM dci_stats() \gset
SELECT identifier_value, status, regexp_replace(error, '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[-+]\d\d', '<time>') AS error
  FROM dci_verify_birth_batch('BRN',
  ARRAY['BR-2024-0042', 'BR-2024-0043', 'BR-2024-0044', 'BR-2024-0045', 'BR-2024-0046'], 'b_daily')
 ORDER BY 1;
SELECT requests - :r0 AS sent FROM dci_stats();
SELECT masked($$SELECT dci_verify_birth('BRN', 'BR-2024-0042', 'b_daily')$$) AS per_row;
SELECT used_today, requests_per_day, quota_resets_at > now() AS resets_later
  FROM dci_source_status() WHERE source = 'b_daily';

-- the registry's Retry-After pauses the source: the resend waits for it
SELECT test_source('b_503', '/opt/status=503/crvs');
UPDATE dci.data_source SET max_retries = 0 WHERE code = 'b_503';
SELECT masked($$SELECT dci_search_by_id('b_503', 'BRN', 'BR-2024-0042')$$);

-- progress: another session runs a paced batch, this one watches it
UPDATE dci.data_source SET requests_per_minute = 1200, batch_size = 1, quota_counts = 'requests' WHERE code = 'b_paced';
SELECT dblink_connect('job', format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                     current_setting('port'), current_database()));
SELECT dblink_send_query('job', $$SELECT count(*) FROM dci_verify_birth_batch('BRN',
  ARRAY(SELECT 'BR-2024-' || lpad(g::text, 4, '0') FROM generate_series(42, 61) g), 'b_paced')$$);
SELECT pg_sleep(0.3);
SELECT source, function, total, done BETWEEN 1 AND 19 AS underway, started <= now() AS started
  FROM dci.progress WHERE pid <> pg_backend_pid();
SELECT * FROM dblink_get_result('job') AS t(n bigint);
SELECT dblink_disconnect('job');
SELECT count(*) AS still_running FROM dci.progress;
