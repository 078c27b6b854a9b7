-- Uploaded documents (utility bills, invoices, LOAs, CSRs). The bytes live in a blob store
-- (DATA_DIR/documents by default) under the organization; this table holds the metadata and
-- the SHA-256 every download is checked against.
CREATE TABLE documents (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  doc_type        TEXT NOT NULL,   -- utility_bill | invoice | loa | csr | other
  content_type    TEXT NOT NULL,   -- detected from the bytes
  filename        TEXT NOT NULL,
  size_bytes      BIGINT NOT NULL,
  sha256          TEXT NOT NULL,
  port_request_id TEXT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX documents_by_org ON documents (org_id, id);
CREATE INDEX documents_by_request ON documents (org_id, port_request_id, id);
