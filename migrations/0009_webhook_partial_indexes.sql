-- A delivery changes status twice (pending → delivering → succeeded), and with status inside
-- both claim indexes every change wrote a new entry into each of them, and left a dead one behind
-- for vacuum. Partial indexes hold only the rows a claim looks for: pending ones by endpoint and
-- due time, in-flight ones by endpoint and lease. A finished delivery is in neither, so recording
-- an outcome writes one index entry (the primary key's) instead of three, and claims step over
-- far fewer dead entries between vacuums.
DROP INDEX webhook_deliveries_endpoint_due;
DROP INDEX webhook_deliveries_leases;
CREATE INDEX webhook_deliveries_pending
  ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_in_flight
  ON webhook_deliveries (endpoint_id, lease_until) WHERE status = 'delivering';
