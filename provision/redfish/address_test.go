package redfish

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalplane/metalplane/provision"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		want     Address
		password string
		err      string // substring of the error; "" = no error
	}{
		{name: "https", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1",
			want: Address{Scheme: "https", Host: "10.0.0.6", SystemPath: "/redfish/v1/Systems/1", User: "root"}},
		{name: "password, port, trailing slash", raw: "redfish+https://root:c%40lvin@bmc.example:8443/redfish/v1/Systems/System.Embedded.1/",
			want:     Address{Scheme: "https", Host: "bmc.example:8443", SystemPath: "/redfish/v1/Systems/System.Embedded.1", User: "root"},
			password: "c@lvin"},
		{name: "http for tests, IPv6", raw: "redfish+http://admin@[::1]:8000/redfish/v1/Systems/437XR1138R2",
			want: Address{Scheme: "http", Host: "[::1]:8000", SystemPath: "/redfish/v1/Systems/437XR1138R2", User: "admin"}},
		{name: "self-signed, UEFI", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1?insecure=true&boot=uefi",
			want: Address{Scheme: "https", Host: "10.0.0.6", SystemPath: "/redfish/v1/Systems/1", User: "root", Insecure: true, BootMode: provision.BootModeUEFI}},

		{name: "plain https", raw: "https://root@10.0.0.6/redfish/v1/Systems/1", err: `scheme "https"`},
		{name: "ipmi", raw: "ipmi://root@10.0.0.6", err: `scheme "ipmi"`},
		{name: "no host", raw: "redfish+https:///redfish/v1/Systems/1", err: "want redfish+https://"},
		{name: "the service root", raw: "redfish+https://root@10.0.0.6/redfish/v1", err: "want /redfish/v1/Systems/ID"},
		{name: "the systems collection", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/", err: "one system"},
		{name: "below a system", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1/Bios", err: "one system"},
		{name: "a manager", raw: "redfish+https://root@10.0.0.6/redfish/v1/Managers/1", err: "want /redfish/v1/Systems/ID"},
		{name: "insecure over http", raw: "redfish+http://root@10.0.0.6/redfish/v1/Systems/1?insecure=true", err: "redfish+https only"},
		{name: "insecure not a bool", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1?insecure=yes", err: `insecure="yes"`},
		{name: "unknown parameter", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1?cipher=3", err: `unknown parameter "cipher"`},
		{name: "bad boot mode", raw: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1?boot=bios", err: `boot mode "bios"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, password, err := ParseAddress(tt.raw)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAddress(%q) error = %v, want one saying %q", tt.raw, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseAddress(%q) address (-want +got):\n%s", tt.raw, diff)
			}
			if password != tt.password {
				t.Errorf("ParseAddress(%q) password = %q, want %q", tt.raw, password, tt.password)
			}
		})
	}
}

func TestAddressStringIsCanonicalAndHasNoPassword(t *testing.T) {
	tests := []struct{ raw, want, endpoint string }{
		{"redfish+https://root:secret@10.0.0.6/redfish/v1/Systems/1/", "redfish+https://root@10.0.0.6/redfish/v1/Systems/1", "https://10.0.0.6"},
		{"redfish+https://root:secret@[fd00::6]:8443/redfish/v1/Systems/1?boot=legacy&insecure=true",
			"redfish+https://root@[fd00::6]:8443/redfish/v1/Systems/1?insecure=true&boot=legacy", "https://[fd00::6]:8443"},
		{"redfish+http://admin@127.0.0.1:8000/redfish/v1/Systems/437XR1138R2", "redfish+http://admin@127.0.0.1:8000/redfish/v1/Systems/437XR1138R2", "http://127.0.0.1:8000"},
	}
	for _, tt := range tests {
		a, _, err := ParseAddress(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != tt.want {
			t.Errorf("String() of %q = %q, want %q", tt.raw, got, tt.want)
		}
		if got := a.Endpoint(); got != tt.endpoint {
			t.Errorf("Endpoint() of %q = %q, want %q", tt.raw, got, tt.endpoint)
		}
		again, _, err := ParseAddress(a.String())
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", a, err)
		}
		if diff := cmp.Diff(a, again); diff != "" {
			t.Errorf("ParseAddress(String()) differs (-first +again):\n%s", diff)
		}
	}
}

func TestParseAddressErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"redfish+https://root:S3cretPass@10.0.0.6:bad/redfish/v1/Systems/1",
		"redfish+https://root:S3cretPass@10.0.0.6/redfish/v1",
		"redfish+https://root:S3cretPass@10.0.0.6/redfish/v1/Systems/1?insecure=maybe",
	} {
		_, _, err := ParseAddress(raw)
		if err == nil {
			t.Fatalf("ParseAddress(%q) succeeded, want an error", raw)
		}
		if strings.Contains(err.Error(), "S3cretPass") {
			t.Errorf("ParseAddress error %q shows the password", err)
		}
	}
}
