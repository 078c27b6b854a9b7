-- Port-in requests and the durable workflow that carries them. Every state change is written in
-- one transaction together with its event (port_events) and the next steps (port_jobs).
-- Timestamps are Unix milliseconds on the organization's clock (sandbox organizations run their
-- own clock: wall clock + clock_offset_ms).
ALTER TABLE organizations ADD COLUMN sandbox BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN clock_offset_ms BIGINT NOT NULL DEFAULT 0;

CREATE TABLE port_requests (
  id                   TEXT PRIMARY KEY,
  org_id               TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  status               TEXT NOT NULL,
  customer_reference   TEXT,
  details              TEXT NOT NULL,   -- validated request (JSON); secrets sealed
  target_date          TEXT NOT NULL,   -- YYYY-MM-DD
  foc_date             TEXT,            -- earliest FOC among the child orders
  signature_token_hash TEXT,
  signature_expires_at BIGINT,
  signed_at            BIGINT,
  signature            TEXT,            -- JSON: signer, ip, user agent
  suggested_action     TEXT,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL
);
CREATE INDEX port_requests_by_org ON port_requests (org_id, id);
CREATE INDEX port_requests_by_org_status ON port_requests (org_id, status, id);
CREATE INDEX port_requests_by_org_ref ON port_requests (org_id, customer_reference, id);
CREATE UNIQUE INDEX port_requests_by_token ON port_requests (signature_token_hash);

-- Child orders: one per losing carrier (SPID) under one request.
CREATE TABLE port_orders (
  id           TEXT PRIMARY KEY,
  request_id   TEXT NOT NULL REFERENCES port_requests (id) ON DELETE CASCADE,
  org_id       TEXT NOT NULL,
  spid         TEXT NOT NULL,
  carrier_name TEXT NOT NULL,
  status       TEXT NOT NULL,
  version      BIGINT NOT NULL DEFAULT 0,   -- LSR version: +1 per supplement
  foc_date     TEXT,
  foc_at       BIGINT,                      -- activation instant (FOC date at the port time)
  submitted_at BIGINT,
  completed_at BIGINT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX port_orders_by_request ON port_orders (request_id, id);

CREATE TABLE port_numbers (
  request_id       TEXT NOT NULL REFERENCES port_requests (id) ON DELETE CASCADE,
  phone_number     TEXT NOT NULL,
  org_id           TEXT NOT NULL,
  order_id         TEXT,
  position         BIGINT NOT NULL,
  status           TEXT NOT NULL,
  active           BIGINT NOT NULL,   -- 1 while the number blocks other requests
  carrier          TEXT,              -- JSON {name, spid, ocn, kind}
  reason           TEXT,              -- JSON: exclusion reason or rejection
  foc_date         TEXT,
  pin              TEXT,              -- sealed
  account_number   TEXT,              -- sealed
  ported_at        BIGINT,
  updated_at       BIGINT NOT NULL,
  PRIMARY KEY (request_id, phone_number)
);
-- Led by the number: lookups of given numbers must never scan an organization's numbers.
CREATE INDEX port_numbers_by_number ON port_numbers (phone_number, org_id, active);
CREATE INDEX port_numbers_by_order ON port_numbers (order_id, status);

CREATE TABLE port_events (
  id          TEXT PRIMARY KEY,
  request_id  TEXT NOT NULL REFERENCES port_requests (id) ON DELETE CASCADE,
  org_id      TEXT NOT NULL,
  sequence    BIGINT NOT NULL,
  type        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  data        TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  UNIQUE (request_id, sequence)
);

CREATE TABLE port_notes (
  id         TEXT PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES port_requests (id) ON DELETE CASCADE,
  org_id     TEXT NOT NULL,
  author     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX port_notes_by_request ON port_notes (request_id, id);

-- Pending workflow steps. A node claims a due step by setting a lease; the step's transition
-- deletes it in the same transaction, so a step is applied once even when nodes race or crash.
CREATE TABLE port_jobs (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  order_id    TEXT,
  kind        TEXT NOT NULL,
  due_at      BIGINT NOT NULL,
  payload     TEXT NOT NULL,
  attempts    BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT,
  last_error  TEXT,
  created_at  BIGINT NOT NULL
);
CREATE INDEX port_jobs_by_due ON port_jobs (due_at);
CREATE INDEX port_jobs_by_org_due ON port_jobs (org_id, due_at);
CREATE INDEX port_jobs_by_request ON port_jobs (request_id);

CREATE TABLE port_configuration (
  org_id     TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  settings   TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Subscriber accounts of the simulated carrier network. org_id '' = seeded for everyone.
CREATE TABLE sim_accounts (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE sim_account_numbers (
  org_id       TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  account_id   TEXT NOT NULL REFERENCES sim_accounts (id) ON DELETE CASCADE,
  PRIMARY KEY (org_id, phone_number)
);
