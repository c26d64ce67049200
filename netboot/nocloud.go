package netboot

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/metalplane/metalplane/sqlstore"
)

// The NoCloud seed (cloud-init's NoCloud and NoCloud-net datasources):
// the metadata service serves these files below /nocloud/{token}/, and
// the agent writes the same files to the installed disk's cidata
// partition. The password is in vendor-data as a SHA-512 crypt hash only.

type metaData struct {
	InstanceID    string   `yaml:"instance-id"`
	LocalHostname string   `yaml:"local-hostname"`
	PublicKeys    []string `yaml:"public-keys,omitempty"`
}

// seedFile renders one file of the seed of d.
func seedFile(name string, d *sqlstore.Deployment) ([]byte, bool) {
	t := d.Task
	switch name {
	case "meta-data":
		// instance-id changes with every installation, so that cloud-init
		// runs its first-boot modules again after a reinstall.
		b, _ := yaml.Marshal(metaData{InstanceID: t.InstanceID + "-" + d.ID, LocalHostname: t.Hostname, PublicKeys: t.PublicKeys})
		return b, true
	case "user-data":
		return []byte(t.UserData), true
	case "vendor-data":
		return vendorData(t), true
	case "network-config":
		return networkConfig(d), true
	}
	return nil, false
}

// vendorData sets the root password from its hash and allows password
// logins when a password was given.
func vendorData(t sqlstore.DeployTask) []byte {
	if t.PasswordHash == "" {
		return []byte("#cloud-config\n{}\n")
	}
	type user struct {
		Name     string `yaml:"name"`
		Password string `yaml:"password"`
		Type     string `yaml:"type"`
	}
	v := struct {
		SSHPwauth bool `yaml:"ssh_pwauth"`
		Chpasswd  struct {
			Expire bool   `yaml:"expire"`
			Users  []user `yaml:"users"`
		} `yaml:"chpasswd"`
	}{SSHPwauth: true}
	v.Chpasswd.Users = []user{{Name: "root", Password: t.PasswordHash, Type: "hash"}}
	b, _ := yaml.Marshal(v)
	return append([]byte("#cloud-config\n"), b...)
}

// networkConfig is a version 2 network config: DHCP on the provisioning
// NIC (matched by MAC), with the instance's addresses added to it.
func networkConfig(d *sqlstore.Deployment) []byte {
	var addrs []string
	for _, a := range []string{d.Task.PublicIPv4, d.Task.PrivateIP} {
		if a != "" {
			addrs = append(addrs, a+"/32")
		}
	}
	if d.Task.PublicIPv6 != "" {
		addrs = append(addrs, d.Task.PublicIPv6+"/128")
	}
	type eth struct {
		Match struct {
			MAC string `yaml:"macaddress"`
		} `yaml:"match"`
		DHCP4     bool     `yaml:"dhcp4"`
		Addresses []string `yaml:"addresses,omitempty"`
	}
	e := eth{DHCP4: true, Addresses: addrs}
	e.Match.MAC = strings.ToLower(d.MAC)
	b, _ := yaml.Marshal(map[string]any{"version": 2, "ethernets": map[string]eth{"nic0": e}})
	return b
}
