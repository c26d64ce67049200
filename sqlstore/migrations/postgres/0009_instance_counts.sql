-- SQLite keeps live-instance counts for DescribeInstances in triggers
-- (see the SQLite migration of the same number for why); PostgreSQL counts
-- exactly at query time. Nothing to do here; the number stays in step.
SELECT 1;
