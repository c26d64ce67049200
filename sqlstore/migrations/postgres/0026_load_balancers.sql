-- Load balancers (loadbalancer.go, sqlstore/loadbalancers.go). A load
-- balancer holds public addresses of its zone's pools through its VIPs
-- (public_ips.held_by = the load balancer's ID), listeners that forward
-- ports to backends, and backends that are instances of the same team.
--
-- Rows are never deleted when a load balancer is released (released =
-- TRUE): its clientToken must keep naming it, so that a retried create
-- never buys a second one.
CREATE TABLE load_balancers (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    zone_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    spec_name         TEXT NOT NULL,
    charge_type       TEXT NOT NULL,
    period            INTEGER NOT NULL,
    ip_type           TEXT NOT NULL,
    bandwidth_mbps    INTEGER NOT NULL,
    status            TEXT NOT NULL,
    resource_group_id TEXT NOT NULL,
    subnet_id         TEXT NOT NULL,
    master_ip         TEXT NOT NULL,
    backup_ip         TEXT NOT NULL,
    tags              TEXT NOT NULL,
    client_token      TEXT,
    order_number      TEXT NOT NULL,
    -- Current prices of the whole load balancer (spec, bandwidth, extra
    -- VIPs): an hour of a POSTPAID one, a month of a PREPAID one.
    hourly_price      BIGINT NOT NULL,
    monthly_price     BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    -- PREPAID: end of the paid period; 0 for POSTPAID.
    expired_time      BIGINT NOT NULL,
    -- Entry into the recycle bin; 0 outside it.
    recycled_at       BIGINT NOT NULL,
    -- POSTPAID: every hour before billed_until is charged (one ledger row
    -- per hour, dedupe key lb-hour:<id>:<start>).
    billed_until      BIGINT NOT NULL,
    released          BOOLEAN NOT NULL,
    -- Every change of what the balancer must do (VIPs, bandwidth, status,
    -- listeners, backends) bumps config_version; the load balancer driver
    -- (provision/loadbalancer.go) applies the whole configuration and
    -- records the version it applied, so a change is applied at least
    -- once, after a crash too.
    config_version    BIGINT NOT NULL DEFAULT 1,
    applied_version   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX load_balancers_client_token ON load_balancers (team_id, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX load_balancers_team ON load_balancers (team_id, created_at, id) WHERE released = FALSE;
CREATE INDEX load_balancers_unapplied ON load_balancers (id) WHERE applied_version < config_version;
CREATE INDEX load_balancers_hourly ON load_balancers (billed_until) WHERE charge_type = 'POSTPAID' AND released = FALSE AND status = 'RUNNING';

CREATE TABLE load_balancer_vips (
    id               TEXT PRIMARY KEY,
    load_balancer_id TEXT NOT NULL REFERENCES load_balancers (id),
    address          TEXT NOT NULL UNIQUE REFERENCES public_ips (address),
    -- DEFAULT (bought with the load balancer) or EXTRA.
    kind             TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX load_balancer_vips_lb ON load_balancer_vips (load_balancer_id, created_at, id);

CREATE TABLE load_balancer_listeners (
    id               TEXT PRIMARY KEY,
    load_balancer_id TEXT NOT NULL REFERENCES load_balancers (id),
    team_id          TEXT NOT NULL REFERENCES teams (id),
    name             TEXT NOT NULL,
    -- Ports as "80,443", ascending.
    ports            TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    backend_protocol TEXT NOT NULL,
    scheduler        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    health_check     TEXT NOT NULL,
    notify           TEXT NOT NULL,
    client_token     TEXT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX load_balancer_listeners_client_token ON load_balancer_listeners (team_id, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX load_balancer_listeners_lb ON load_balancer_listeners (load_balancer_id, created_at, id);

CREATE TABLE load_balancer_backends (
    id               TEXT PRIMARY KEY,
    listener_id      TEXT NOT NULL REFERENCES load_balancer_listeners (id),
    load_balancer_id TEXT NOT NULL REFERENCES load_balancers (id),
    team_id          TEXT NOT NULL REFERENCES teams (id),
    instance_id      TEXT NOT NULL REFERENCES instances (id),
    name             TEXT NOT NULL,
    ports            TEXT NOT NULL,
    weight           INTEGER NOT NULL,
    client_token     TEXT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX load_balancer_backends_client_token ON load_balancer_backends (team_id, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX load_balancer_backends_listener ON load_balancer_backends (listener_id, created_at, id);
CREATE INDEX load_balancer_backends_instance ON load_balancer_backends (instance_id);
