-- A message that carries a secret (the signature link's token) keeps its text as sent only
-- sealed with the server key (body_sealed); body holds the text with the secret left out, which
-- is what GET /v1/emails shows.
ALTER TABLE email_outbox ADD COLUMN body_sealed TEXT;
