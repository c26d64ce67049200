-- The instance passwords still stored in the clear (by a version before
-- migration 0013), which every start looks for to seal them
-- (sqlstore/secrets.go, sealLegacyTx). instances_password_held holds every
-- instance being installed, so that search read each of them: 50 ms of a
-- PostgreSQL start with 100,000 PENDING instances. This index holds only
-- the clear ones, normally none. The query repeats its condition word for
-- word, literal included, for the planners to pick it.
CREATE INDEX instances_password_clear ON instances (id) WHERE password <> '' AND password NOT LIKE 'mpsealed1:%';
