package ipmi

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/metalplane/metalplane/provision"
)

// DefaultPort is the RMCP port of every BMC that does not say otherwise.
const DefaultPort = 623

// Interface is the IPMI LAN protocol version.
type Interface string

// Interfaces: lanplus is IPMI 2.0 (RMCP+, authenticated and encrypted by
// the cipher suite); lan is IPMI 1.5 (MD5 challenge, no encryption), kept
// for old BMCs.
const (
	Lanplus Interface = "lanplus"
	Lan     Interface = "lan"
)

// CipherSuites a lanplus session may use. 17 (HMAC-SHA256, AES-128) is
// what current BMCs offer; 3 (HMAC-SHA1, AES-128) is for older ones and
// for OpenIPMI's simulator, which has no SHA-256. Suites 0-2 lack
// authentication, integrity or encryption, and the others failed against
// the peers we test with (docs/hardware.md), so they are refused.
var CipherSuites = []uint8{17, 3}

// DefaultCipherSuite is the suite used when the address names none.
const DefaultCipherSuite uint8 = 17

// Address says how to reach one BMC over IPMI:
//
//	ipmi://USER[:PASSWORD]@HOST[:PORT][?cipher=17|3|17,3][&interface=lan][&boot=uefi|legacy]
//
// cipher lists the suites to offer, in order (lanplus only); boot is the
// firmware mode of the server, used when a boot override does not name
// one. Address carries no password: ParseAddress hands it back separately
// so that it is stored and passed like the secret it is.
type Address struct {
	Host         string
	Port         int
	User         string
	Interface    Interface
	CipherSuites []uint8 // lanplus only
	BootMode     provision.BootMode
}

// ParseAddress parses an ipmi:// BMC address. It returns the password
// written in the URL, if any, apart from the address.
func ParseAddress(raw string) (Address, string, error) {
	b, err := provision.ParseBMCURL(raw)
	if err != nil {
		return Address{}, "", fmt.Errorf("ipmi address: %w", err)
	}
	u := b.URL
	if u.Scheme != "ipmi" {
		return Address{}, "", fmt.Errorf("ipmi address: scheme %q, want ipmi", u.Scheme)
	}
	if u.Opaque != "" || u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return Address{}, "", fmt.Errorf("ipmi address: want ipmi://user@host[:port], with no path")
	}
	a := Address{Host: u.Hostname(), Port: DefaultPort, User: b.User, Interface: Lanplus}
	if a.Host == "" {
		return Address{}, "", fmt.Errorf("ipmi address: no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Address{}, "", fmt.Errorf("ipmi address: port %q out of range", p)
		}
		a.Port = n
	}
	for key, v := range b.Params {
		switch key {
		case "interface":
			switch Interface(v) {
			case Lanplus, Lan:
				a.Interface = Interface(v)
			default:
				return Address{}, "", fmt.Errorf("ipmi address: interface %q, want lanplus or lan", v)
			}
		case "cipher":
			if a.CipherSuites, err = parseCipherSuites(v); err != nil {
				return Address{}, "", fmt.Errorf("ipmi address: %w", err)
			}
		case "boot":
			if a.BootMode, err = provision.ParseBootMode(v); err != nil {
				return Address{}, "", fmt.Errorf("ipmi address: %w", err)
			}
		default:
			return Address{}, "", fmt.Errorf("ipmi address: unknown parameter %q (want cipher, interface, boot)", key)
		}
	}
	switch {
	case a.Interface == Lan && a.CipherSuites != nil:
		return Address{}, "", fmt.Errorf("ipmi address: cipher applies to lanplus only")
	case a.Interface == Lanplus && a.CipherSuites == nil:
		a.CipherSuites = []uint8{DefaultCipherSuite}
	}
	return a, b.Password, nil
}

func parseCipherSuites(s string) ([]uint8, error) {
	var out []uint8
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 255 || !slices.Contains(CipherSuites, uint8(n)) {
			return nil, fmt.Errorf("cipher suite %q: allowed are %v", f, CipherSuites)
		}
		if slices.Contains(out, uint8(n)) {
			return nil, fmt.Errorf("cipher suite %d listed twice", n)
		}
		out = append(out, uint8(n))
	}
	return out, nil
}

// String gives the address in its canonical form, without a password: safe
// to log and to show operators.
func (a Address) String() string {
	u := url.URL{Scheme: "ipmi", Host: net.JoinHostPort(a.Host, strconv.Itoa(a.Port))}
	if a.User != "" {
		u.User = url.User(a.User)
	}
	// Built by hand: url.Values would escape the commas of a suite list.
	var q []string
	if a.Interface == Lan {
		q = append(q, "interface=lan")
	} else {
		suites := make([]string, len(a.CipherSuites))
		for i, s := range a.CipherSuites {
			suites[i] = strconv.Itoa(int(s))
		}
		q = append(q, "cipher="+strings.Join(suites, ","))
	}
	if a.BootMode != provision.BootModeDefault {
		q = append(q, "boot="+a.BootMode.String())
	}
	u.RawQuery = strings.Join(q, "&")
	return u.String()
}
