-- Webhook claims walk each endpoint's own due deliveries: with one global walk, the backlog of an
-- endpoint held at its concurrency cap (a slow receiver) piled up at the front of the index and
-- every claim stepped over all of it. This index supersedes webhook_deliveries_by_endpoint.
DROP INDEX webhook_deliveries_by_endpoint;
CREATE INDEX webhook_deliveries_endpoint_due
  ON webhook_deliveries (endpoint_id, status, next_attempt_at);
