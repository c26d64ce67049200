-- Elastic IPs and DDoS-protected IPs (kind EIP or DDOS_IP): one address of
-- a zone's pool each, held through public_ips.held_by = id while the row is
-- not released. instance_id is the instance it is associated with (or
-- being associated with / unassociated from), '' when none.
CREATE TABLE eips (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    zone_id           TEXT NOT NULL,
    address           TEXT NOT NULL,
    netmask           INTEGER NOT NULL,
    instance_id       TEXT NOT NULL,
    charge_type       TEXT NOT NULL,
    period            INTEGER NOT NULL,
    status            TEXT NOT NULL,
    resource_group_id TEXT NOT NULL,
    order_number      TEXT NOT NULL,
    -- Money, as for instances: one period (PREPAID) and one hour (POSTPAID).
    period_price      BIGINT NOT NULL,
    hourly_price      BIGINT NOT NULL,
    -- POSTPAID accrual, as instances.billed_hours / hourly_closed.
    billed_hours      INTEGER NOT NULL,
    hourly_closed     BOOLEAN NOT NULL,
    create_time       BIGINT NOT NULL,
    expired_time      BIGINT NOT NULL,
    recycled_at       BIGINT NOT NULL,
    released          BOOLEAN NOT NULL
);
CREATE INDEX eips_team_list ON eips (team_id, kind, released, create_time, id);
CREATE INDEX eips_instance ON eips (instance_id) WHERE instance_id <> '';
-- The safety net under allocation: no address is held by two live EIPs.
CREATE UNIQUE INDEX eips_live_address ON eips (address) WHERE released = FALSE;
-- The clock's work: POSTPAID hours, PREPAID expiries, the recycle bin.
CREATE INDEX eips_hourly_open ON eips (id) WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE;
CREATE INDEX eips_prepaid_expiry ON eips (expired_time) WHERE charge_type = 'PREPAID' AND released = FALSE;
CREATE INDEX eips_recycle_bin ON eips (recycled_at) WHERE released = FALSE AND status = 'RECYCLE';

CREATE TABLE eip_tags (
    eip_id    TEXT NOT NULL,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (eip_id, tag_key)
);
CREATE INDEX eip_tags_kv ON eip_tags (tag_key, tag_value);
