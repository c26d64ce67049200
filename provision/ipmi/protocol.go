package ipmi

import "github.com/metalplane/metalplane/provision"

// Protocol makes IPMI hosts enrollable: it reads ipmi:// addresses and
// opens a Driver for each BMC.
var Protocol = provision.NewBMCProtocol("ipmi", []string{"ipmi"}, ParseAddress,
	func(a Address, cfg provision.BMCConfig) (provision.BMCDriver, error) {
		d, err := New(Config{Address: a, Password: cfg.Password, Timeout: cfg.Timeout, PollInterval: cfg.PollInterval, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		return d, nil
	})
