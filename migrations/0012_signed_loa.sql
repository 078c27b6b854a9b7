-- The signed LOA is rendered once, when it is signed, and its bytes kept (base64) and served as
-- signed: never rendered again from data that may have changed since, so the SHA-256 in its
-- certificate always matches what was signed.
ALTER TABLE port_requests ADD COLUMN signed_loa TEXT;
