package redfish

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/metalplane/metalplane/provision"
)

// systemsPrefix is where every Redfish service lists its computer systems.
const systemsPrefix = "/redfish/v1/Systems/"

// Address says how to reach one server's Redfish ComputerSystem:
//
//	redfish+https://USER[:PASSWORD]@HOST[:PORT]/redfish/v1/Systems/ID[?insecure=true][&boot=uefi|legacy]
//
// redfish+http is accepted for tests and labs. insecure=true skips the
// TLS certificate check, for BMCs with self-signed certificates; boot is
// the firmware mode used when a boot override names none. Address carries
// no password: ParseAddress hands it back separately.
type Address struct {
	Scheme     string // "https" or "http"
	Host       string // host[:port], as in a URL
	SystemPath string // /redfish/v1/Systems/ID
	User       string
	Insecure   bool
	BootMode   provision.BootMode
}

// ParseAddress parses a redfish+https:// (or redfish+http://) BMC address.
// It returns the password written in the URL, if any, apart from the
// address.
func ParseAddress(raw string) (Address, string, error) {
	b, err := provision.ParseBMCURL(raw)
	if err != nil {
		return Address{}, "", fmt.Errorf("redfish address: %w", err)
	}
	u := b.URL
	a := Address{User: b.User}
	switch u.Scheme {
	case "redfish+https":
		a.Scheme = "https"
	case "redfish+http":
		a.Scheme = "http"
	default:
		return Address{}, "", fmt.Errorf("redfish address: scheme %q, want redfish+https or redfish+http", u.Scheme)
	}
	if u.Opaque != "" || u.Fragment != "" || u.Hostname() == "" {
		return Address{}, "", fmt.Errorf("redfish address: want redfish+https://user@host%sID", systemsPrefix)
	}
	a.Host = u.Host
	id, ok := strings.CutPrefix(u.Path, systemsPrefix)
	if !ok || id == "" || strings.Contains(strings.TrimSuffix(id, "/"), "/") {
		return Address{}, "", fmt.Errorf("redfish address: path %q, want %sID (one system)", u.Path, systemsPrefix)
	}
	a.SystemPath = systemsPrefix + strings.TrimSuffix(id, "/")
	for key, v := range b.Params {
		switch key {
		case "insecure":
			switch v {
			case "true":
				a.Insecure = true
			case "false":
			default:
				return Address{}, "", fmt.Errorf("redfish address: insecure=%q, want true or false", v)
			}
		case "boot":
			if a.BootMode, err = provision.ParseBootMode(v); err != nil {
				return Address{}, "", fmt.Errorf("redfish address: %w", err)
			}
		default:
			return Address{}, "", fmt.Errorf("redfish address: unknown parameter %q (want insecure, boot)", key)
		}
	}
	if a.Insecure && a.Scheme != "https" {
		return Address{}, "", fmt.Errorf("redfish address: insecure applies to redfish+https only")
	}
	return a, b.Password, nil
}

// Endpoint is the service's base URL, as gofish wants it.
func (a Address) Endpoint() string { return a.Scheme + "://" + a.Host }

// String gives the address in its canonical form, without a password: safe
// to log and to show operators.
func (a Address) String() string {
	u := url.URL{Scheme: "redfish+" + a.Scheme, Host: a.Host, Path: a.SystemPath}
	if a.User != "" {
		u.User = url.User(a.User)
	}
	var q []string
	if a.Insecure {
		q = append(q, "insecure=true")
	}
	if a.BootMode != provision.BootModeDefault {
		q = append(q, "boot="+a.BootMode.String())
	}
	u.RawQuery = strings.Join(q, "&")
	return u.String()
}
