-- Network deployments (docs/hardware.md, "Network boot"): one row per
-- installation of an OS on a server by the deploy agent, or per boot of
-- a tenant's iPXE script. The server's iPXE script is chosen by its MAC
-- among the rows still waiting or booted; the agent and the metadata
-- service are reached with a token whose SHA-256 is kept here, issued
-- afresh at each fetch of the script, so that a token read by someone
-- else on the provisioning network is dead once the server boots.
CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    host_id     TEXT NOT NULL,
    -- The provisioning NIC's MAC, lower case.
    mac         TEXT NOT NULL,
    -- image (the agent installs an image) or ipxe (chain to ipxeUrl).
    mode        TEXT NOT NULL,
    -- Hex SHA-256 of the current token; '' until the script is fetched.
    token_hash  TEXT NOT NULL DEFAULT '',
    -- Sealed JSON of what the agent installs (sqlstore/deployments.go):
    -- the image, hostname, password as a crypt hash, keys, user data.
    task        TEXT NOT NULL,
    -- waiting, booted, done, failed or cancelled.
    state       TEXT NOT NULL,
    -- The agent's last report: its step, the bytes written, and for a
    -- failure the agent's code and message.
    step        TEXT NOT NULL DEFAULT '',
    bytes       BIGINT NOT NULL DEFAULT 0,
    fail_code   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX deployments_active_mac ON deployments (mac) WHERE state IN ('waiting', 'booted');
CREATE UNIQUE INDEX deployments_token ON deployments (token_hash) WHERE token_hash <> '';
CREATE INDEX deployments_instance ON deployments (instance_id);
