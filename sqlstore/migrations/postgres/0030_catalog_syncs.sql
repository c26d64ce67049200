-- What the last catalog sync wrote (sqlstore/inventory.go): a fingerprint
-- of the offers' host counts and the zones' address pools. A start whose
-- catalog has the same fingerprint skips the sync, which reads every host
-- and address (seconds at 200,000 hosts) to change nothing.
CREATE TABLE catalog_syncs (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    synced_at   BIGINT NOT NULL
);

-- The catalog's listed hosts are found among the offers' simulated ones
-- (SyncCatalogHosts) on every start: without this index, by reading them
-- all.
CREATE INDEX hosts_source ON hosts (source, state, id);
