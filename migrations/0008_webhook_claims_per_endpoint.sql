-- Webhook claims walk each endpoint's own due deliveries: with one global walk, the backlog of an
-- endpoint held at its concurrency cap (a slow receiver) piled up at the front of the index and
-- every claim stepped over all of it. The per-endpoint index supersedes
-- webhook_deliveries_by_endpoint; the (status, next_attempt_at) index goes too, so no plan (a
-- PostgreSQL generic plan in particular) can walk every pending row of every endpoint again.
-- Expired leases (a node died mid-delivery) are found by (status, lease_until).
DROP INDEX webhook_deliveries_by_endpoint;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_endpoint_due
  ON webhook_deliveries (endpoint_id, status, next_attempt_at);
CREATE INDEX webhook_deliveries_leases ON webhook_deliveries (status, lease_until);
