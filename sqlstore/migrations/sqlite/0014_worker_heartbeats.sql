-- Provisioning that survives restarts (provision/rescue.go, sqlstore/orphans.go).
--
-- Every process that works jobs writes its River client id and the time
-- (Unix milliseconds, its own wall clock) here every second, and sets
-- stopped when it stops. A job still running under a client that stopped,
-- or whose heartbeat is older than a few seconds, belongs to a dead
-- process (kill -9, power loss) and is handed to a live one at once,
-- instead of after River's stuck-job horizon. A client with no row here
-- (a release from before this table) is never judged dead by it.
CREATE TABLE worker_heartbeats (
    client_id    TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL,
    stopped      BOOLEAN NOT NULL DEFAULT FALSE
);

-- Instances that a job must still move out of a transient status: the
-- orphan check and the audit read this range instead of the fleet.
CREATE INDEX instances_transient ON instances (id)
    WHERE released = FALSE AND status IN ('PENDING', 'CREATING', 'BOOTING', 'STOPPING', 'INSTALLING');
