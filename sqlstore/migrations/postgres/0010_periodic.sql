-- Clock-driven work (sqlstore/periodic.go).
--
-- POSTPAID accrual: hour k of an instance runs from create_time + k h;
-- billed_hours counts the hours charged so far, and hourly_closed is set
-- once no hour is left to charge (recycled and fully billed, or a failed
-- provision, which is never billed). The sweep reads only open rows.
ALTER TABLE instances ADD COLUMN billed_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN hourly_closed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX instances_hourly_open ON instances (id) WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE;

-- PREPAID instances due for renewal or the recycle bin, and recycle-bin
-- instances due for release: the sweep reads a range of each index
-- instead of the fleet.
CREATE INDEX instances_prepaid_expiry ON instances (expired_time) WHERE charge_type = 'PREPAID' AND released = FALSE AND status <> 'RECYCLE';
CREATE INDEX instances_recycle_bin ON instances (recycled_at) WHERE released = FALSE AND status = 'RECYCLE';
