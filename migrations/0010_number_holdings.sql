-- A number belongs to at most one organization, and the primary key says so. phone_numbers held
-- only ported-in numbers, keyed by number alone, and completion moved a number to whichever
-- organization ported it last; numbers in port requests and attached numbers held nothing.
-- number_holdings holds every claim on a number: one being ported in (status 'porting', with its
-- request), and one in service (status 'active': ported in, or attached with POST /v1/sip/attach).
-- Live organizations share one realm (''); each sandbox organization is a realm of its own, so
-- sandbox tests never touch live numbers nor another sandbox's.
CREATE TABLE number_holdings (
  realm        TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  status       TEXT NOT NULL CHECK (status IN ('porting', 'active')),
  source       TEXT NOT NULL CHECK (source IN ('port_in', 'attach')),
  request_id   TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (realm, phone_number)
);
CREATE UNIQUE INDEX number_holdings_by_org ON number_holdings (org_id, phone_number);
CREATE INDEX number_holdings_by_request ON number_holdings (request_id)
  WHERE request_id IS NOT NULL;

-- Existing claims, strongest first: ported numbers, then numbers in active port requests (the
-- oldest request first), then attached numbers. A number two organizations held before this
-- migration stays with the first of these; operations.md tells how to list the others.
INSERT INTO number_holdings
  SELECT CASE WHEN o.sandbox = 1 THEN o.id ELSE '' END, p.phone_number, p.org_id, 'active',
         'port_in', NULL, p.created_at, p.created_at
  FROM phone_numbers p JOIN organizations o ON o.id = p.org_id WHERE true
  ON CONFLICT DO NOTHING;
INSERT INTO number_holdings
  SELECT CASE WHEN o.sandbox = 1 THEN o.id ELSE '' END, n.phone_number, n.org_id, 'porting',
         'port_in', n.request_id, r.created_at, r.created_at
  FROM port_numbers n JOIN port_requests r ON r.id = n.request_id
  JOIN organizations o ON o.id = n.org_id WHERE n.active = 1
  ORDER BY r.created_at, r.id
  ON CONFLICT DO NOTHING;
INSERT INTO number_holdings
  SELECT CASE WHEN o.sandbox = 1 THEN o.id ELSE '' END, s.phone_number, s.org_id, 'active',
         'attach', NULL, MIN(s.created_at), MIN(s.created_at)
  FROM sip_configs s JOIN organizations o ON o.id = s.org_id WHERE true
  GROUP BY o.sandbox, o.id, s.phone_number, s.org_id
  ON CONFLICT DO NOTHING;
DROP TABLE phone_numbers;
