-- An idempotent request's key, its writes and its response now commit in one transaction, so a
-- stored key always has its response (a crash rolls the key back with the work). A response too
-- big to keep (over 256 KiB by default) keeps only its size and SHA-256.
ALTER TABLE idempotency_keys ADD COLUMN response_size BIGINT;
ALTER TABLE idempotency_keys ADD COLUMN response_sha256 TEXT;
