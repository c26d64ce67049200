-- Safety nets under the allocation code: no host, public address or
-- private address can belong to two live instances, whatever a bug does.
CREATE UNIQUE INDEX instances_live_host ON instances (host_id) WHERE released = FALSE AND host_id <> '';
CREATE UNIQUE INDEX instances_live_ipv4 ON instances (public_ipv4) WHERE released = FALSE AND public_ipv4 <> '';
CREATE UNIQUE INDEX instances_live_ipv6 ON instances (public_ipv6) WHERE released = FALSE AND public_ipv6 <> '';
CREATE UNIQUE INDEX instances_live_private_ip ON instances (subnet_id, private_ip) WHERE released = FALSE AND private_ip <> '';
CREATE INDEX instances_order ON instances (order_number);
