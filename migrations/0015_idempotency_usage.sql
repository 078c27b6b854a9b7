-- What each organization's idempotency records weigh (256 bytes a record plus the response kept),
-- kept in the transactions that store and purge them, so the per-organization cap
-- (api.idempotency_max_bytes_per_org) is checked without summing the table.
CREATE TABLE idempotency_usage (
  org_id TEXT PRIMARY KEY,
  bytes  BIGINT NOT NULL
);
INSERT INTO idempotency_usage (org_id, bytes)
  SELECT org_id,
         SUM(256 + CASE WHEN response_body IS NULL THEN 0 ELSE COALESCE(response_size, 0) END)
  FROM idempotency_keys GROUP BY org_id;
