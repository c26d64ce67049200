package sim

import (
	"context"
	"sync"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/provision"
)

// LoadBalancers is the simulated load balancer driver: it records the
// last configuration applied to each load balancer, which is all a test
// or a demo can look at.
type LoadBalancers struct {
	mu      sync.Mutex
	applied map[string]metalplane.LoadBalancerConfig
	removed map[string]bool
}

var _ provision.LoadBalancerDriver = (*LoadBalancers)(nil)

// Name implements provision.LoadBalancerDriver.
func (l *LoadBalancers) Name() string { return "sim" }

// ApplyLoadBalancer implements provision.LoadBalancerDriver by recording
// cfg, unless a later version was recorded already.
func (l *LoadBalancers) ApplyLoadBalancer(ctx context.Context, cfg metalplane.LoadBalancerConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.applied == nil {
		l.applied, l.removed = map[string]metalplane.LoadBalancerConfig{}, map[string]bool{}
	}
	if old, ok := l.applied[cfg.ID]; !ok || old.Version <= cfg.Version {
		l.applied[cfg.ID] = cfg
	}
	delete(l.removed, cfg.ID)
	return nil
}

// RemoveLoadBalancer implements provision.LoadBalancerDriver.
func (l *LoadBalancers) RemoveLoadBalancer(ctx context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.applied == nil {
		l.applied, l.removed = map[string]metalplane.LoadBalancerConfig{}, map[string]bool{}
	}
	delete(l.applied, id)
	l.removed[id] = true
	return nil
}

// Applied returns the configuration last applied to the load balancer and
// whether there is one; a removed one has none.
func (l *LoadBalancers) Applied(id string) (metalplane.LoadBalancerConfig, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg, ok := l.applied[id]
	return cfg, ok
}

// Removed reports whether the load balancer was removed.
func (l *LoadBalancers) Removed(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.removed[id]
}
