-- The instance passwords still stored in the clear (by a version before
-- migration 0013), which every start looks for to seal them
-- (sqlstore/secrets.go, sealLegacyTx). instances_password_held holds every
-- instance being installed, so that search read each of them: 50 ms of a
-- PostgreSQL start with 100,000 PENDING instances. This index holds only
-- the clear ones, normally none. The query repeats its condition word for
-- word, literal included, for the planners to pick it.
CREATE INDEX instances_password_clear ON instances (id) WHERE password <> '' AND password NOT LIKE 'mpsealed1:%';

-- The hosts listed one by one in the catalog, which every start compares
-- with the file (SyncCatalogHosts), replace hosts_source (migration 0030):
-- that one held every host, the offers' simulated ones included, and
-- building it was 550 ms of PostgreSQL's first start with a 200,000-host
-- catalog (a fourth B-tree per host on SQLite). Nothing else looks hosts up
-- by their source. The query names the source as this condition does.
DROP INDEX hosts_source;
CREATE INDEX hosts_listed ON hosts (state, id) WHERE source = 'catalog';
