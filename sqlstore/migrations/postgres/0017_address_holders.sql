-- Public addresses held by something other than an instance's primary
-- address: an elastic IP, a DDoS-protected IP, a CIDR block carved from a
-- zone pool, a load balancer's VIP. held_by is that resource's ID; an
-- address is free only when both instance_id and held_by are NULL, so no
-- kind of resource can take an address another kind holds. An address never
-- has both: the primary address of an instance is not also an EIP.
ALTER TABLE public_ips ADD COLUMN held_by TEXT;

DROP INDEX public_ips_free;
CREATE INDEX public_ips_free ON public_ips (zone_id, family, seq) WHERE instance_id IS NULL AND held_by IS NULL;
CREATE INDEX public_ips_held_by ON public_ips (held_by) WHERE held_by IS NOT NULL;
