-- wrk script: a static idtype-value search, for /opt/nosig,noauth/crvs/registry/sync/search
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"signature":"","header":{"version":"1.0.0","message_id":"m1","message_ts":"2025-01-01T00:00:00Z","action":"search","sender_id":"spmis.test","sender_uri":"","receiver_id":"registry.local","total_count":1,"is_msg_encrypted":false,"meta":{}},"message":{"transaction_id":"t1","search_request":[{"reference_id":"r1","timestamp":"2025-01-01T00:00:00Z","search_criteria":{"version":"1.0.0","reg_type":"ns:org:RegistryType:Civil","query_type":"idtype-value","query":{"type":"BRN","value":"BR-2024-0042"}}}]}}'
