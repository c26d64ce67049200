-- Live-instance counts per team and filterable attribute, kept by triggers
-- in the same transaction as every change to an instance. DescribeInstances
-- answers an exact totalCount from a few of these rows when its filters
-- only name these columns, instead of counting up to 100,000 index entries
-- (docs/performance.md). Triggers, not Go code, so that no write path can
-- forget them. SQLite only: it has one writer, so the shared counter rows
-- cost nothing; on PostgreSQL they would serialise (and could deadlock)
-- concurrent status changes, and the exact COUNT is used there.
CREATE TABLE instance_counts (
    team_id              TEXT NOT NULL,
    zone_id              TEXT NOT NULL,
    instance_type_id     TEXT NOT NULL,
    internet_charge_type TEXT NOT NULL,
    resource_group_id    TEXT NOT NULL,
    status               TEXT NOT NULL,
    n                    INTEGER NOT NULL,
    PRIMARY KEY (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status)
);

INSERT INTO instance_counts (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
SELECT team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, COUNT(*)
FROM instances WHERE NOT released
GROUP BY team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status;

CREATE TRIGGER instance_counts_insert AFTER INSERT ON instances WHEN NOT NEW.released
BEGIN
    INSERT INTO instance_counts (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
    VALUES (NEW.team_id, NEW.zone_id, NEW.instance_type_id, NEW.internet_charge_type, NEW.resource_group_id, NEW.status, 1)
    ON CONFLICT (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER instance_counts_delete AFTER DELETE ON instances WHEN NOT OLD.released
BEGIN
    UPDATE instance_counts SET n = n - 1
    WHERE team_id = OLD.team_id AND zone_id = OLD.zone_id AND instance_type_id = OLD.instance_type_id
      AND internet_charge_type = OLD.internet_charge_type AND resource_group_id = OLD.resource_group_id AND status = OLD.status;
END;

CREATE TRIGGER instance_counts_update
AFTER UPDATE OF team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, released ON instances
BEGIN
    UPDATE instance_counts SET n = n - 1
    WHERE NOT OLD.released AND team_id = OLD.team_id AND zone_id = OLD.zone_id AND instance_type_id = OLD.instance_type_id
      AND internet_charge_type = OLD.internet_charge_type AND resource_group_id = OLD.resource_group_id AND status = OLD.status;
    INSERT INTO instance_counts (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status, n)
    SELECT NEW.team_id, NEW.zone_id, NEW.instance_type_id, NEW.internet_charge_type, NEW.resource_group_id, NEW.status, 1
    WHERE NOT NEW.released
    ON CONFLICT (team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status) DO UPDATE SET n = n + 1;
END;
