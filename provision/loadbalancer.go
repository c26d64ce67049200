package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// Load balancers need no work on the bare-metal hosts: the API records
// them (sqlstore/loadbalancers.go), and a load balancer driver makes the
// operator's balancer match, one whole configuration at a time
// (docs/loadbalancers.md).

// LoadBalancerDriver configures the balancer that answers on the VIPs: an
// HAProxy or IPVS/keepalived pair the operator runs in each zone, or an
// appliance. Both calls are idempotent and take the whole desired state,
// so a call repeated after a crash, or overtaken by a later version, does
// no harm; the driver keeps no state of its own that the configuration
// does not carry.
type LoadBalancerDriver interface {
	// Name is recorded in logs.
	Name() string
	// ApplyLoadBalancer makes the balancer match cfg: answer on every VIP
	// (or on none when !cfg.Running), at cfg.BandwidthMbps, with one
	// frontend per listener port and protocol forwarding to the listener's
	// backends with its scheduler, weights and health check; anything the
	// balancer holds for cfg.ID beyond this is removed.
	ApplyLoadBalancer(ctx context.Context, cfg metalplane.LoadBalancerConfig) error
	// RemoveLoadBalancer removes everything the balancer holds for the
	// load balancer; removing one it does not know is no error.
	RemoveLoadBalancer(ctx context.Context, id string) error
}

// loadBalancerBatch bounds the configurations one sync applies; the next
// sync carries on.
const loadBalancerBatch = 100

// loadBalancerCallTimeout bounds one call to the driver.
const loadBalancerCallTimeout = 30 * time.Second

// SyncLoadBalancers applies every load balancer configuration that changed
// since it was last applied and records each version applied, so a crash
// between the two only repeats an idempotent call. It returns how many it
// applied; one that fails stays pending for the next sync, and the errors
// are returned together. With no driver configured it does nothing.
func (p *Provisioner) SyncLoadBalancers(ctx context.Context) (int, error) {
	d := p.cfg.LoadBalancers
	if d == nil {
		return 0, nil
	}
	pending, err := p.db.PendingLoadBalancerConfigs(ctx, loadBalancerBatch)
	if err != nil {
		return 0, err
	}
	applied := 0
	var errs []error
	for _, cfg := range pending {
		callCtx, cancel := context.WithTimeout(ctx, loadBalancerCallTimeout)
		if cfg.Removed {
			err = d.RemoveLoadBalancer(callCtx, cfg.ID)
		} else {
			err = d.ApplyLoadBalancer(callCtx, *cfg)
		}
		cancel()
		if err == nil {
			err = p.db.MarkLoadBalancerApplied(ctx, cfg.ID, cfg.Version)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: load balancer %s version %d: %w", d.Name(), cfg.ID, cfg.Version, err))
			continue
		}
		applied++
	}
	return applied, errors.Join(errs...)
}

// LoadBalancerDriver returns the configured load balancer driver, or nil.
func (p *Provisioner) LoadBalancerDriver() LoadBalancerDriver { return p.cfg.LoadBalancers }
