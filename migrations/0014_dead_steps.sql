-- A workflow step that keeps failing stops retrying: after its last attempt it moves here, out of
-- the due scans, with its error, and the request gets a port.step_failed event. An operator can
-- put one back (INSERT INTO port_jobs SELECT … FROM port_dead_steps) once the cause is fixed.
CREATE TABLE port_dead_steps (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  order_id   TEXT,
  kind       TEXT NOT NULL,
  due_at     BIGINT NOT NULL,
  payload    TEXT NOT NULL,
  attempts   BIGINT NOT NULL,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  dead_at    BIGINT NOT NULL
);
CREATE INDEX port_dead_steps_by_request ON port_dead_steps (request_id);
