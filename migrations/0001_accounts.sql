-- Organizations, their entitlements, API keys (stored as SHA-256 only) and idempotency records.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Timestamps are Unix milliseconds.
CREATE TABLE organizations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);

CREATE TABLE org_entitlements (
  org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  entitlement TEXT NOT NULL,
  granted_at  BIGINT NOT NULL,
  PRIMARY KEY (org_id, entitlement)
);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, id);

-- One row per (organization, Idempotency-Key). status NULL = the first request is still running.
CREATE TABLE idempotency_keys (
  org_id        TEXT NOT NULL,
  idem_key      TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  status        BIGINT,
  response_body TEXT,
  created_at    BIGINT NOT NULL,
  PRIMARY KEY (org_id, idem_key)
);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
