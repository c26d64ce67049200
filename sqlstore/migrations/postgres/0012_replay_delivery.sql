-- A signature is now bound to one action and carries the fate of its answer
-- (sqlstore/replay.go): an identical signed request is answered from here
-- only when the first one's answer did not reach its client. The key is the
-- signature alone again: the same bytes sent as another action are refused,
-- not run. Rows live 15 minutes; the table is recreated (SQLite cannot change
-- a primary key), so answers stored just before the upgrade are forgotten.
DROP TABLE request_replays;
CREATE TABLE request_replays (
    access_key_id  TEXT NOT NULL,
    signature      TEXT NOT NULL,
    action         TEXT NOT NULL,
    source_ip      TEXT NOT NULL,
    state          TEXT NOT NULL,
    claim          TEXT NOT NULL,
    response       TEXT NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, signature)
);
CREATE INDEX request_replays_created ON request_replays (created_at);
