-- Scheduled PREPAID downgrades of bandwidth and traffic package
-- (ModifyInstanceBandwidth, ModifyInstanceTrafficPackage): at most one per
-- instance and kind, applied at effective_at (the next billing cycle) or
-- removed by the Cancel…Downgrade actions.
CREATE TABLE internet_downgrades (
    instance_id        TEXT NOT NULL,
    -- bandwidth or traffic
    kind               TEXT NOT NULL,
    bandwidth_mbps     INTEGER NOT NULL,
    traffic_package_tb DOUBLE PRECISION NOT NULL,
    -- Added to instances.period_price when the change takes effect.
    period_price_delta BIGINT NOT NULL,
    order_number       TEXT NOT NULL,
    effective_at       BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (instance_id, kind)
);
CREATE INDEX internet_downgrades_due ON internet_downgrades (effective_at);
