package metalplane

// LoadBalancerConfig is everything a load balancer driver needs to make
// the operator's balancer (an HAProxy, an L4 balancer) do what the API
// says of one load balancer: its whole configuration at one version, so
// that applying it is idempotent and the latest one wins
// (provision.LoadBalancerDriver, docs/loadbalancers.md).
type LoadBalancerConfig struct {
	ID      string
	TeamID  string
	ZoneID  string
	Version int64
	// Removed: the load balancer was released; take it down entirely.
	Removed bool
	// Running is false in the recycle bin: keep the configuration, stop
	// answering on the VIPs.
	Running       bool
	IPType        string
	BandwidthMbps int
	VIPs          []string
	Listeners     []ListenerConfig
}

// ListenerConfig is one listener of a LoadBalancerConfig.
type ListenerConfig struct {
	ID              string
	Ports           []int
	Protocol        string
	BackendProtocol string
	Scheduler       string
	Kind            string
	HealthCheck     HealthCheck
	Backends        []BackendConfig
}

// BackendConfig is one backend of a listener: where to forward.
type BackendConfig struct {
	ID         string
	InstanceID string
	// Address is the instance's private address when it has one, else
	// its public IPv4 [decision]: a balancer inside the zone reaches its
	// backends on the private network when there is one.
	Address string
	Ports   []int
	Weight  int
}
