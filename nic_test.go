package metalplane

import "testing"

// nicNames returns a Nic with a name set for each non-nil argument.
func nicNames(wan, lan *string) *Nic { return &Nic{WanName: wan, LanName: lan} }

func nicName(s string) *string { return &s }

func TestResolveNic(t *testing.T) {
	t.Parallel()
	const (
		malformed Code = "INVALID_PARAMETER_NIC_NAME_MALFORMED"
		conflict  Code = "INVALID_PARAMETER_NIC_NAME_CONFLICT"
	)
	plain := &InstanceType{ID: "m6c", HA: false}
	ha := &InstanceType{ID: "m6c-ha", HA: true}
	tests := []struct {
		name     string
		nic      *Nic
		typ      *InstanceType
		wantWan  string
		wantLan  string
		wantCode Code
	}{
		{"nil defaults", nil, plain, "wan0", "lan0", ""},
		{"empty defaults", &Nic{}, plain, "wan0", "lan0", ""},
		{"HA defaults", nil, ha, "bond0", "bond1", ""},
		{"empty strings take defaults", nicNames(nicName(""), nicName("")), plain, "wan0", "lan0", ""},
		{"wan only", nicNames(nicName("eth0"), nil), plain, "eth0", "lan0", ""},
		{"lan only on HA", nicNames(nil, nicName("priv1")), ha, "bond0", "priv1", ""},
		{"both given", nicNames(nicName("public1"), nicName("private1")), plain, "public1", "private1", ""},
		{"4 characters", nicNames(nicName("ab12"), nil), plain, "ab12", "lan0", ""},
		{"10 characters", nicNames(nicName("abcdefghij"), nil), plain, "abcdefghij", "lan0", ""},
		// Terraform sends back the names it read, on any type.
		{"HA names on plain type", nicNames(nicName("bond0"), nicName("bond1")), plain, "bond0", "bond1", ""},
		{"plain names on HA type", nicNames(nicName("wan0"), nicName("lan0")), ha, "wan0", "lan0", ""},
		{"swapped prefixes elsewhere", nicNames(nicName("wlan0"), nicName("lwan0")), plain, "wlan0", "lwan0", ""},

		{"3 characters", nicNames(nicName("eth"), nil), plain, "", "", malformed},
		{"11 characters", nicNames(nicName("abcdefghijk"), nil), plain, "", "", malformed},
		{"starts with digit", nicNames(nicName("0eth"), nil), plain, "", "", malformed},
		{"dash", nicNames(nicName("eth-0"), nil), plain, "", "", malformed},
		{"underscore", nicNames(nil, nicName("lan_0")), plain, "", "", malformed},
		{"non-ASCII", nicNames(nicName("éth0"), nil), plain, "", "", malformed},
		{"wan named lan", nicNames(nicName("lan0"), nicName("priv0")), plain, "", "", malformed},
		{"wan named LAN", nicNames(nicName("LANout"), nil), plain, "", "", malformed},
		{"lan named wan", nicNames(nicName("pub0"), nicName("wan1")), plain, "", "", malformed},
		{"lan named Wan", nicNames(nil, nicName("Wan1")), ha, "", "", malformed},

		{"same names", nicNames(nicName("eth0"), nicName("eth0")), plain, "", "", conflict},
		{"same names other case", nicNames(nicName("eth0"), nicName("ETH0")), plain, "", "", conflict},
		{"lan equals default wan on HA", nicNames(nil, nicName("bond0")), ha, "", "", conflict},
		{"wan equals default lan on HA", nicNames(nicName("Bond1"), nil), ha, "", "", conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ResolveNic(tt.nic, tt.typ)
			if code := validationCode(err); code != tt.wantCode {
				t.Fatalf("ResolveNic: got %q, want %q", code, tt.wantCode)
			}
			if err != nil {
				return
			}
			if got.WanName == nil || got.LanName == nil {
				t.Fatalf("ResolveNic: got %+v, want both names set", got)
			}
			if *got.WanName != tt.wantWan || *got.LanName != tt.wantLan {
				t.Errorf("ResolveNic: got %s/%s, want %s/%s", *got.WanName, *got.LanName, tt.wantWan, tt.wantLan)
			}
		})
	}
}

// TestResolveNicDoesNotAlias checks that the result does not share memory
// with the request: the instance keeps its names if the request is reused.
func TestResolveNicDoesNotAlias(t *testing.T) {
	t.Parallel()
	in := nicNames(nicName("eth0"), nicName("eth1"))
	got, err := ResolveNic(in, &InstanceType{})
	if err != nil {
		t.Fatalf("ResolveNic: got %v, want no error", err)
	}
	*in.WanName = "changed"
	if *got.WanName != "eth0" {
		t.Errorf("WanName after changing the request: got %q, want %q", *got.WanName, "eth0")
	}
}
