-- The e-mail outbox. A message is inserted in the same transaction as the event that causes it,
-- so none is lost or invented; a worker delivers it (SMTP, or .eml files by default) with
-- retries. Times are real Unix milliseconds (not a sandbox clock).
CREATE TABLE email_outbox (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  request_id      TEXT,
  event_type      TEXT NOT NULL,
  recipients      TEXT NOT NULL,   -- JSON array of addresses
  subject         TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL,   -- pending | sent | failed
  attempts        BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until     BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  sent_at         BIGINT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_by_org ON email_outbox (org_id, id);
