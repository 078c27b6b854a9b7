-- Numbers on the platform, one owner each: ported-in numbers land here when a port completes
-- and become the organization's inbound numbers. The portability check reads it for
-- already_on_platform.
CREATE TABLE phone_numbers (
  phone_number TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  status       TEXT NOT NULL,
  source       TEXT NOT NULL,
  created_at   BIGINT NOT NULL
);
CREATE INDEX phone_numbers_by_org ON phone_numbers (org_id, phone_number);
