-- Indexes measured in docs/performance.md.
--
-- CreateInstances picks free hosts in id order (sqlstore/create.go). With id
-- at the end of the index the pick reads `amount` entries in order instead
-- of sorting every free host of the offer on each purchase.
DROP INDEX hosts_stock;
CREATE INDEX hosts_stock ON hosts (zone_id, instance_type_id, state, id);

-- DescribeInstances filtered by instanceStatus (and zoneId): the count is
-- read from the index alone and the page in (create_time, id) order, where
-- (team_id, status) made the count look up every matching row.
DROP INDEX instances_team_status;
CREATE INDEX instances_team_status ON instances (team_id, released, status, zone_id, create_time, id);
