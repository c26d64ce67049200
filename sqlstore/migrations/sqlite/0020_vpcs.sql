-- VPCs (issue 14): a team's private network over the zones of one VPC
-- region. Subnets join at most one VPC (subnets.vpc_id, '' for none).
CREATE TABLE vpcs (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    region_id         TEXT NOT NULL,
    name              TEXT NOT NULL,
    cidr              TEXT NOT NULL,
    status            TEXT NOT NULL,
    resource_group_id TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX vpcs_team ON vpcs (team_id, created_at, id);

CREATE TABLE vpc_tags (
    vpc_id    TEXT NOT NULL,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (vpc_id, tag_key)
);

ALTER TABLE subnets ADD COLUMN vpc_id TEXT NOT NULL DEFAULT '';
CREATE INDEX subnets_vpc ON subnets (vpc_id) WHERE vpc_id <> '';
