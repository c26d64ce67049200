-- PostgreSQL only: SQLite keeps instance_counts (0009) by triggers
-- updating shared rows, which its one writer makes free.
SELECT 1;
