-- SIP configuration: reusable trunks, per-number direction configurations, advanced settings.
-- Settings are JSON text; secrets inside them are sealed with the server key (never clear text).
CREATE TABLE sip_trunks (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  settings   TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (org_id, name)
);
CREATE INDEX sip_trunks_by_org ON sip_trunks (org_id, id);

-- One row per (number, direction, configuration). slot = trunk id, or '' for the number's own
-- (inline) configuration. A number holds at most 10 rows.
CREATE TABLE sip_configs (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  phone_number TEXT NOT NULL,
  direction    TEXT NOT NULL,
  slot         TEXT NOT NULL,
  trunk_id     TEXT REFERENCES sip_trunks (id),
  settings     TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  UNIQUE (org_id, phone_number, direction, slot)
);
CREATE INDEX sip_configs_by_trunk ON sip_configs (trunk_id);

CREATE TABLE sip_advanced (
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  phone_number TEXT NOT NULL,
  direction    TEXT NOT NULL,
  failover     TEXT,
  codecs       TEXT,
  alerts       TEXT,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (org_id, phone_number, direction)
);
