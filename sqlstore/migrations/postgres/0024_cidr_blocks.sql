-- CIDR blocks (cidr.go): ranges of public addresses a team holds whole,
-- carved from a zone's pools (their public_ips rows carry held_by = id)
-- or brought by the customer (BYOIP, no pool rows). Released blocks stay
-- as rows (released = TRUE) so that their charges keep a referent.
CREATE TABLE cidr_blocks (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    zone_id           TEXT NOT NULL,
    family            INTEGER NOT NULL,
    cidr_type         TEXT NOT NULL,
    source            TEXT NOT NULL,
    byoip_id          TEXT NOT NULL,
    asn               BIGINT NOT NULL,
    public_vif_id     TEXT NOT NULL,
    cidr              TEXT NOT NULL,
    -- address_count is the block's size; a live pool block holds exactly
    -- that many public_ips rows (audited).
    address_count     INTEGER NOT NULL,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL,
    charge_type       TEXT NOT NULL,
    period            INTEGER NOT NULL,
    order_number      TEXT NOT NULL,
    period_price      BIGINT NOT NULL,
    hourly_price      BIGINT NOT NULL,
    -- POSTPAID accrual as for instances (0010_periodic.sql); renewals
    -- counts RenewCidrBlock's debits (audited against the ledger).
    billed_hours      INTEGER NOT NULL DEFAULT 0,
    hourly_closed     BOOLEAN NOT NULL DEFAULT FALSE,
    renewals          INTEGER NOT NULL DEFAULT 0,
    resource_group_id TEXT NOT NULL,
    tags              TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expired_at        BIGINT NOT NULL,
    recycled_at       BIGINT NOT NULL,
    released          BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX cidr_blocks_team ON cidr_blocks (team_id, created_at, id) WHERE released = FALSE;
-- Two live blocks never share a prefix (overlaps of different lengths are
-- refused under a lock, sqlstore/cidr.go).
CREATE UNIQUE INDEX cidr_blocks_live_cidr ON cidr_blocks (cidr) WHERE released = FALSE;
CREATE INDEX cidr_blocks_hourly_open ON cidr_blocks (id) WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE;
CREATE INDEX cidr_blocks_prepaid_expiry ON cidr_blocks (expired_at) WHERE charge_type = 'PREPAID' AND released = FALSE AND status <> 'RECYCLE';
CREATE INDEX cidr_blocks_recycle_bin ON cidr_blocks (recycled_at) WHERE released = FALSE AND status = 'RECYCLE';

-- Addresses of blocks bound to instances. An address is bound at most once
-- (the primary key); rows go when unbound or when the block or the
-- instance is released.
CREATE TABLE cidr_block_ips (
    address     TEXT PRIMARY KEY,
    block_id    TEXT NOT NULL REFERENCES cidr_blocks (id),
    team_id     TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX cidr_block_ips_block ON cidr_block_ips (block_id);
CREATE INDEX cidr_block_ips_instance ON cidr_block_ips (instance_id);
