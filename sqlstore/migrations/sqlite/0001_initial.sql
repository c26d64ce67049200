-- Accounts: teams, their resource groups, access keys and the money ledger.
CREATE TABLE teams (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    instance_quota       INTEGER NOT NULL,
    key_pair_quota       INTEGER NOT NULL,
    subnet_quota         INTEGER NOT NULL,
    postpaid_allowed     BOOLEAN NOT NULL,
    gateway_mode_allowed BOOLEAN NOT NULL,
    poc_vouchers         INTEGER NOT NULL,
    -- balance caches SUM(ledger.amount); both change in the same transaction.
    balance              BIGINT NOT NULL,
    created_at           BIGINT NOT NULL
);

CREATE TABLE resource_groups (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    name       TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE access_keys (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    secret     TEXT NOT NULL,
    is_admin   BOOLEAN NOT NULL,
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE bearer_tokens (
    token_hash TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    is_admin   BOOLEAN NOT NULL,
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id      TEXT NOT NULL REFERENCES teams (id),
    amount       BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    order_number TEXT,
    instance_id  TEXT,
    -- dedupe_key makes periodic charges exactly-once (e.g. one row per
    -- instance per accrued hour).
    dedupe_key   TEXT UNIQUE,
    note         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX ledger_team ON ledger (team_id, id);
CREATE INDEX ledger_order ON ledger (order_number);

CREATE TABLE key_pairs (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams (id),
    name        TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE subnets (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    zone_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    cidr              TEXT NOT NULL,
    status            TEXT NOT NULL,
    resource_group_id TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX subnets_team ON subnets (team_id, created_at, id);

-- Inventory: physical hosts and public addresses, synced from the catalog.
CREATE TABLE hosts (
    id                 TEXT PRIMARY KEY,
    zone_id            TEXT NOT NULL,
    instance_type_id   TEXT NOT NULL,
    -- available, allocated, maintenance, retired
    state              TEXT NOT NULL,
    instance_id        TEXT,
    note               TEXT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX hosts_stock ON hosts (zone_id, instance_type_id, state);

CREATE TABLE public_ips (
    address     TEXT PRIMARY KEY,
    zone_id     TEXT NOT NULL,
    family      INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    instance_id TEXT,
    retired     BOOLEAN NOT NULL
);
CREATE INDEX public_ips_free ON public_ips (zone_id, family, instance_id, seq);

CREATE TABLE orders (
    order_number TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams (id),
    charge_type  TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    total        BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE instances (
    id                   TEXT PRIMARY KEY,
    team_id              TEXT NOT NULL REFERENCES teams (id),
    order_number         TEXT NOT NULL,
    zone_id              TEXT NOT NULL,
    instance_type_id     TEXT NOT NULL,
    host_id              TEXT NOT NULL,
    name                 TEXT NOT NULL,
    hostname             TEXT NOT NULL,
    image_id             TEXT NOT NULL,
    ipxe_url             TEXT NOT NULL,
    charge_type          TEXT NOT NULL,
    period               INTEGER NOT NULL,
    auto_renew           BOOLEAN NOT NULL,
    internet_charge_type TEXT NOT NULL,
    bandwidth_out_mbps   INTEGER NOT NULL,
    traffic_package_tb   DOUBLE PRECISION NOT NULL,
    cluster_id           TEXT NOT NULL,
    resource_group_id    TEXT NOT NULL,
    key_id               TEXT NOT NULL,
    status               TEXT NOT NULL,
    failure_reason       TEXT NOT NULL,
    public_ipv4          TEXT NOT NULL,
    public_ipv6          TEXT NOT NULL,
    private_ip           TEXT NOT NULL,
    subnet_id            TEXT NOT NULL,
    raid_config          TEXT NOT NULL,
    partitions           TEXT NOT NULL,
    wan_name             TEXT NOT NULL,
    lan_name             TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    enable_gateway_mode  BOOLEAN NOT NULL,
    -- Secrets for the provisioner; never returned by any action.
    password             TEXT NOT NULL,
    ssh_keys             TEXT NOT NULL,
    user_data            TEXT NOT NULL,
    -- Money: what one period of this instance cost (PREPAID, refunded on a
    -- failed provision) and its hourly price (POSTPAID).
    period_price         BIGINT NOT NULL,
    hourly_price         BIGINT NOT NULL,
    -- Last provisioning step done, so a resumed job skips finished steps.
    provision_step       INTEGER NOT NULL,
    create_time          BIGINT NOT NULL,
    expired_time         BIGINT NOT NULL,
    recycled_at          BIGINT NOT NULL,
    released             BOOLEAN NOT NULL
);
CREATE INDEX instances_team_list ON instances (team_id, released, create_time, id);
CREATE INDEX instances_team_status ON instances (team_id, status);
CREATE INDEX instances_team_name ON instances (team_id, name);
CREATE INDEX instances_team_hostname ON instances (team_id, hostname);
CREATE INDEX instances_subnet ON instances (subnet_id);

CREATE TABLE instance_tags (
    instance_id TEXT NOT NULL,
    tag_key     TEXT NOT NULL,
    tag_value   TEXT NOT NULL,
    PRIMARY KEY (instance_id, tag_key)
);
CREATE INDEX instance_tags_kv ON instance_tags (tag_key, tag_value);

-- What happened to an instance, for operators.
CREATE TABLE instance_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    step        TEXT NOT NULL,
    driver      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX instance_events_instance ON instance_events (instance_id, id);

-- Responses of committed mutating requests, keyed by the signature, so an
-- identical signed retry does not buy twice (PROTOCOL.md §7).
CREATE TABLE request_replays (
    access_key_id TEXT NOT NULL,
    signature     TEXT NOT NULL,
    action        TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, signature)
);

-- Failures the sim driver injects: the next `remaining` provisions matching
-- zone/type (empty = any) fail at `step`.
CREATE TABLE fault_injections (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id          TEXT NOT NULL,
    instance_type_id TEXT NOT NULL,
    step             TEXT NOT NULL,
    remaining        INTEGER NOT NULL
);
