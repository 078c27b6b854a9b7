-- Webhooks: endpoints per organization, the events they may receive, one delivery per (event,
-- endpoint) with its retries, and every attempt. Events and deliveries are written in the same
-- transaction as the change they describe (the durable outbox); times are real Unix ms.
CREATE TABLE webhook_endpoints (
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  url                 TEXT NOT NULL,
  description         TEXT NOT NULL,
  event_types         TEXT NOT NULL,   -- JSON array; ["*"] = every event
  secret              TEXT NOT NULL,   -- sealed with the server key
  previous_secret     TEXT,            -- sealed; still signs until previous_expires_at
  previous_expires_at BIGINT,
  enabled             BIGINT NOT NULL,
  disabled_reason     TEXT,
  failing_since       BIGINT,
  max_concurrency     BIGINT NOT NULL,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_org ON webhook_endpoints (org_id, id);

CREATE TABLE webhook_events (
  id          TEXT PRIMARY KEY,          -- the stable id receivers deduplicate on
  org_id      TEXT NOT NULL,
  type        TEXT NOT NULL,
  request_id  TEXT,
  sequence    BIGINT NOT NULL,           -- per port request, gapless and increasing
  payload     TEXT NOT NULL,             -- the exact JSON body delivered
  occurred_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_by_org ON webhook_events (org_id, id);

CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  endpoint_id     TEXT NOT NULL,
  status          TEXT NOT NULL,         -- pending | delivering | succeeded | failed
  attempts        BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until     BIGINT,
  created_at      BIGINT NOT NULL,
  completed_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status);

CREATE TABLE webhook_attempts (
  id           TEXT PRIMARY KEY,
  delivery_id  TEXT NOT NULL,
  endpoint_id  TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  attempt      BIGINT NOT NULL,
  started_at   BIGINT NOT NULL,
  duration_ms  BIGINT NOT NULL,
  status_code  BIGINT,
  error        TEXT,
  response     TEXT
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
