-- Secrets at rest (docs/secrets.md).
--
-- The id of the key that seals access key secrets and instance passwords
-- (sqlstore/secrets.go): one row, written by the first process that starts
-- with a key, so a process given another key refuses to start.
CREATE TABLE secret_keys (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    key_id     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- An instance's password is needed only until its OS is installed; those
-- of instances past that are deleted here (the rest are sealed at the next
-- start). From now on only instances being installed hold one, so this
-- index stays small and finds them.
UPDATE instances SET password = '' WHERE status NOT IN ('PENDING', 'CREATING', 'INSTALLING');
CREATE INDEX instances_password_held ON instances (id) WHERE password <> '';

-- Bearer tokens get an id to list and revoke them by, the first characters
-- of the token so an operator can tell which one they hold, and an
-- optional expiry (0 = none). Tokens issued before get an id made of
-- their hash; their prefix is unknown.
ALTER TABLE bearer_tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE bearer_tokens ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE bearer_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE bearer_tokens SET id = 'tok-' || substr(token_hash, 1, 16);
CREATE UNIQUE INDEX bearer_tokens_id ON bearer_tokens (id) WHERE id <> '';
CREATE INDEX bearer_tokens_team ON bearer_tokens (team_id, created_at);
