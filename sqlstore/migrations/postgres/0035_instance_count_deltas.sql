-- Live-instance counts per team and filterable attribute, for
-- DescribeInstances' totalCount, without a shared row to update.
--
-- SQLite keeps such counts in rows its triggers update (0009). On
-- PostgreSQL those rows would be hot: every purchase and every status
-- change of one team would wait on them, and two transactions changing
-- two counts in opposite orders would deadlock. Here every change only
-- inserts its difference, +1 or -1, so writers never wait on one
-- another, and a reader sums the rows of its key. The server folds the
-- rows of each key into one every second (sqlstore/counts.go): one
-- statement deletes every row and inserts their sums, so that a reader's
-- snapshot sees either all the differences or their sums, never a mix.
-- Before this, the count was a COUNT(*) over the team's instances: 64 ms
-- at 100,000 (docs/performance.md).
CREATE TABLE instance_count_deltas (
    team_id              TEXT NOT NULL,
    zone_id              TEXT NOT NULL,
    instance_type_id     TEXT NOT NULL,
    internet_charge_type TEXT NOT NULL,
    resource_group_id    TEXT NOT NULL,
    status               TEXT NOT NULL,
    n                    INTEGER NOT NULL,
    -- Sums written by a fold, as opposed to differences written by the
    -- triggers: a fold only runs when some rows are not folded yet.
    folded               BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX instance_count_deltas_team ON instance_count_deltas (team_id);

INSERT INTO instance_count_deltas (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n, folded)
SELECT team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, COUNT(*), TRUE
FROM instances WHERE NOT released
GROUP BY team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status;

-- The same name and columns as SQLite's table, so that the queries that
-- read counts (instances.go, audit.go) are the same on both databases.
CREATE VIEW instance_counts AS
SELECT team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, SUM(n)::BIGINT AS n
FROM instance_count_deltas
GROUP BY team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status;

-- New instances: one row per key and statement, so a purchase of 100
-- instances writes one row, not 100.
CREATE FUNCTION instance_count_deltas_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO instance_count_deltas (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
    SELECT team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, COUNT(*)
    FROM added WHERE NOT released
    GROUP BY team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status;
    RETURN NULL;
END $$;

CREATE TRIGGER instance_count_deltas_insert AFTER INSERT ON instances
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION instance_count_deltas_insert();

-- Changes and deletes: a row trigger, because PostgreSQL allows no
-- transition tables on a trigger limited to some columns, and most
-- updates of an instance change none of the counted ones.
CREATE FUNCTION instance_count_deltas_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT OLD.released THEN
        INSERT INTO instance_count_deltas (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
        VALUES (OLD.team_id, OLD.zone_id, OLD.instance_type_id, OLD.internet_charge_type, OLD.resource_group_id, OLD.status, -1);
    END IF;
    IF TG_OP = 'UPDATE' AND NOT NEW.released THEN
        INSERT INTO instance_count_deltas (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
        VALUES (NEW.team_id, NEW.zone_id, NEW.instance_type_id, NEW.internet_charge_type, NEW.resource_group_id, NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER instance_count_deltas_update
    AFTER UPDATE OF team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, released ON instances
    FOR EACH ROW
    WHEN ((OLD.team_id, OLD.zone_id, OLD.instance_type_id, OLD.internet_charge_type, OLD.resource_group_id, OLD.status, OLD.released)
        IS DISTINCT FROM (NEW.team_id, NEW.zone_id, NEW.instance_type_id, NEW.internet_charge_type, NEW.resource_group_id, NEW.status, NEW.released))
    EXECUTE FUNCTION instance_count_deltas_change();

CREATE TRIGGER instance_count_deltas_delete AFTER DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION instance_count_deltas_change();
