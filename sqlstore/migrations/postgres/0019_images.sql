-- Images added on a live database (metalplane admin images add), beside
-- the catalog file's; the servers read them every few seconds
-- (docs/hardware.md, "Images"). An image of the catalog file with the same
-- id wins. instance_types is a JSON array of instance type ids.
CREATE TABLE images (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    catalog           TEXT NOT NULL,
    os_type           TEXT NOT NULL,
    type              TEXT NOT NULL,
    instance_types    TEXT NOT NULL,
    custom_partitions BOOLEAN NOT NULL,
    source            TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    format            TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
