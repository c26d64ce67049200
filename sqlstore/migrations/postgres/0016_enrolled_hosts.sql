-- Enrolled hosts (docs/hardware.md): a host carries the driver that
-- powers it and its BMC's address, and the power sync records what the
-- BMC last said.
--
-- source says who manages the row: 'offer' (generated from an offer's host
-- count), 'catalog' (listed one by one in the catalog file) or 'admin'
-- (metalplane admin hosts enroll). A catalog sync adds, changes and
-- retires only the rows it manages.
ALTER TABLE hosts ADD COLUMN source TEXT NOT NULL DEFAULT 'offer';
-- sim, ipmi or redfish.
ALTER TABLE hosts ADD COLUMN driver TEXT NOT NULL DEFAULT 'sim';
-- The BMC's address in its canonical form, never with a password.
ALTER TABLE hosts ADD COLUMN bmc_address TEXT NOT NULL DEFAULT '';
-- Sealed with the secret key (sqlstore/secrets.go), '' for none.
ALTER TABLE hosts ADD COLUMN bmc_password TEXT NOT NULL DEFAULT '';
-- The MAC address of the provisioning NIC, lower case, '' if not given.
ALTER TABLE hosts ADD COLUMN mac TEXT NOT NULL DEFAULT '';
-- What the power sync read last: on, off, unknown ('' never read); the
-- drift it found ('' none); the error of its last attempt ('' it
-- answered); when the BMC last answered (Unix seconds, 0 never).
ALTER TABLE hosts ADD COLUMN power_state TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN power_drift TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN power_error TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN last_contact_at BIGINT NOT NULL DEFAULT 0;

-- Two rows naming the same BMC or NIC are the same server: powering off
-- one would power off the other's instance.
CREATE UNIQUE INDEX hosts_bmc_address ON hosts (bmc_address) WHERE bmc_address <> '';
CREATE UNIQUE INDEX hosts_mac ON hosts (mac) WHERE mac <> '';
-- The power sync reads only the hosts that have a BMC.
CREATE INDEX hosts_with_bmc ON hosts (id) WHERE driver <> 'sim';

-- What happened to a host: enrolment, changes, power drift, a BMC that
-- stopped answering, quarantine. Operators only.
CREATE TABLE host_events (
    id      BIGSERIAL PRIMARY KEY,
    host_id TEXT NOT NULL,
    at_ms   BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    driver  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX host_events_host ON host_events (host_id, id);

-- A CREATE_FAILED instance keeps the id of the host it failed on, as
-- history, but no longer holds that host (it went to maintenance): once
-- an operator returns the host to stock, another instance may take it.
DROP INDEX instances_live_host;
CREATE UNIQUE INDEX instances_live_host ON instances (host_id) WHERE released = FALSE AND host_id <> '' AND status <> 'CREATE_FAILED';
