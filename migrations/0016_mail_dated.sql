-- The time an e-mail is dated (its Date header) on the organization's clock, which a sandbox may
-- have moved ahead; created_at stays the wall-clock time it was queued (delivery runs on that).
ALTER TABLE email_outbox ADD COLUMN dated_at BIGINT;
