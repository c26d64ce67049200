-- PostgreSQL only (the quota checked by the count's trigger at commit);
-- SQLite's one writer checks the quota of each purchase in order.
SELECT 1;
