package ipmi

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
		{name: "defaults: lanplus, suite 17, port 623", raw: "ipmi://admin@10.0.0.5",
			want: Address{Host: "10.0.0.5", Port: 623, User: "admin", Interface: Lanplus, CipherSuites: []uint8{17}}},
		{name: "password, port and suite 3 for ipmi_sim", raw: "ipmi://user:p%40ss:w0rd@127.0.0.1:16230?cipher=3",
			want:     Address{Host: "127.0.0.1", Port: 16230, User: "user", Interface: Lanplus, CipherSuites: []uint8{3}},
			password: "p@ss:w0rd"},
		{name: "suite list in order", raw: "ipmi://admin@bmc.example?cipher=17,3",
			want: Address{Host: "bmc.example", Port: 623, User: "admin", Interface: Lanplus, CipherSuites: []uint8{17, 3}}},
		{name: "plain lan", raw: "ipmi://admin@10.0.0.5:624?interface=lan",
			want: Address{Host: "10.0.0.5", Port: 624, User: "admin", Interface: Lan}},
		{name: "IPv6 and boot mode", raw: "ipmi://admin@[fd00::5]:623/?boot=uefi",
			want: Address{Host: "fd00::5", Port: 623, User: "admin", Interface: Lanplus, CipherSuites: []uint8{17}, BootMode: provision.BootModeUEFI}},
		{name: "no user is left to the config", raw: "ipmi://10.0.0.5",
			want: Address{Host: "10.0.0.5", Port: 623, Interface: Lanplus, CipherSuites: []uint8{17}}},

		{name: "other scheme", raw: "redfish+https://10.0.0.5/redfish/v1/Systems/1", err: `scheme "redfish+https"`},
		{name: "no host", raw: "ipmi://admin@:623", err: "no host"},
		{name: "port out of range", raw: "ipmi://admin@10.0.0.5:70000", err: "out of range"},
		{name: "a path", raw: "ipmi://admin@10.0.0.5/redfish", err: "no path"},
		{name: "insecure suite 0", raw: "ipmi://admin@10.0.0.5?cipher=0", err: `cipher suite "0"`},
		{name: "suite 2 (crashes ipmi_sim)", raw: "ipmi://admin@10.0.0.5?cipher=17,2", err: `cipher suite "2"`},
		{name: "suite not a number", raw: "ipmi://admin@10.0.0.5?cipher=aes", err: `cipher suite "aes"`},
		{name: "suite twice", raw: "ipmi://admin@10.0.0.5?cipher=3,3", err: "listed twice"},
		{name: "cipher with lan", raw: "ipmi://admin@10.0.0.5?interface=lan&cipher=3", err: "lanplus only"},
		{name: "unknown interface", raw: "ipmi://admin@10.0.0.5?interface=open", err: `interface "open"`},
		{name: "unknown parameter (typo)", raw: "ipmi://admin@10.0.0.5?ciper=3", err: `unknown parameter "ciper"`},
		{name: "parameter twice", raw: "ipmi://admin@10.0.0.5?cipher=3&cipher=17", err: "given 2 times"},
		{name: "bad boot mode", raw: "ipmi://admin@10.0.0.5?boot=efi", err: `boot mode "efi"`},
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

func TestParseAddressErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"ipmi://admin:S3cretPass@10.0.0.5:bad",
		"ipmi://admin:S3cretPass@10.0.0.5?cipher=1",
		"ipmi://admin:S3cretPass@10.0.0.5 x",
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

func TestAddressStringIsCanonicalAndHasNoPassword(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"ipmi://admin:secret@10.0.0.5", "ipmi://admin@10.0.0.5:623?cipher=17"},
		{"ipmi://admin:secret@[fd00::5]:16230?boot=legacy&cipher=17,3", "ipmi://admin@[fd00::5]:16230?cipher=17,3&boot=legacy"},
		{"ipmi://admin@10.0.0.5?interface=lan", "ipmi://admin@10.0.0.5:623?interface=lan"},
	}
	for _, tt := range tests {
		a, _, err := ParseAddress(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != tt.want {
			t.Errorf("String() of %q = %q, want %q", tt.raw, got, tt.want)
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
