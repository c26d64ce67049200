-- The quota of a team is enforced where its count moves: the deferred
-- trigger of migration 0029, which adds each new instance to the team's
-- live_instances when its purchase commits, refuses the commit when the
-- count would pass the quota. A purchase thus need not lock the team's
-- row to decide a race for the last instances of the quota
-- (sqlstore/create_pg.go): the row is locked by this update only, through
-- the commit. The purchase reads the count first, without a lock, to refuse
-- in the documented order when no race is involved; this check decides the
-- race. The error names the constraint instance_quota, which the store
-- turns into OPERATION_DENIED_INSTANCE_QUOTA_EXCEED.
--
-- Only new instances are checked: an operator may lower a quota below what
-- a team has, and releases and moves never fail.
CREATE OR REPLACE FUNCTION team_live_instances_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    live  INTEGER;
    quota INTEGER;
BEGIN
    IF NOT NEW.released THEN
        UPDATE teams SET live_instances = live_instances + 1 WHERE id = NEW.team_id
            RETURNING live_instances, instance_quota INTO live, quota;
        IF live > quota THEN
            RAISE EXCEPTION 'team % would have % instances, beyond its quota of %', NEW.team_id, live, quota
                USING ERRCODE = 'check_violation', CONSTRAINT = 'instance_quota';
        END IF;
    END IF;
    RETURN NULL;
END $$;
