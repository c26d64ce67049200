-- PostgreSQL only (teams.live_instances); SQLite keeps instance_counts (0009).
SELECT 1;
