-- The SDK does not sign X-ZC-Action, so two different actions with the
-- same body in the same second share a signature (StopInstances then
-- StartInstances on one instance). Each needs its own stored answer, so
-- the action joins the key. Stored answers live 15 minutes; the table is
-- recreated rather than altered (SQLite cannot change a primary key), so
-- identical retries of requests answered just before the upgrade run again.
DROP TABLE request_replays;
CREATE TABLE request_replays (
    access_key_id TEXT NOT NULL,
    signature     TEXT NOT NULL,
    action        TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, signature, action)
);
