package redfish

import "github.com/metalplane/metalplane/provision"

// Protocol makes Redfish hosts enrollable: it reads redfish+https:// (and
// redfish+http://) addresses and opens a Driver for each system. The
// BMC's certificate is checked against the system roots unless the
// address says insecure=true.
var Protocol = provision.NewBMCProtocol("redfish", []string{"redfish+https", "redfish+http"}, ParseAddress,
	func(a Address, cfg provision.BMCConfig) (provision.BMCDriver, error) {
		d, err := New(Config{Address: a, Password: cfg.Password, Timeout: cfg.Timeout, PollInterval: cfg.PollInterval, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		return d, nil
	})
