package metalplane

import "strings"

// NIC names (ACTIONS.md §3.1.6).

// Default NIC names. HA types bond two ports per network, so their
// interfaces are bonds.
const (
	nicDefaultWan   = "wan0"
	nicDefaultLan   = "lan0"
	nicDefaultHAWan = "bond0"
	nicDefaultHALan = "bond1"
)

const (
	nicNameMinLen = 4
	nicNameMaxLen = 10
)

// ResolveNic applies the defaults to the nic of CreateInstances or
// ReinstallInstance and checks the result. It returns the effective names,
// both set, as InstanceInfo.nic reports them.
//
// A given name must be 4..10 ASCII letters and digits starting with a
// letter; a wanName must not start with "lan" nor a lanName with "wan"
// ([decision] case-insensitive, on every type): else
// INVALID_PARAMETER_NIC_NAME_MALFORMED, wanName checked first. Equal names
// after defaults ([decision] case-insensitive: interfaces that differ only
// in case confuse people and some tools) answer
// INVALID_PARAMETER_NIC_NAME_CONFLICT; "lan0" as wanName never gets that
// far because of the prefix rule.
//
// [decision] An empty name is treated as omitted and takes the default:
// Terraform sends the current value of every attribute on reinstall and the
// 2026-02-01 SDK sends zero values, and "" cannot name an interface.
func ResolveNic(nic *Nic, t *InstanceType) (Nic, *Error) {
	wan, lan := nicDefaultWan, nicDefaultLan
	if t != nil && t.HA {
		wan, lan = nicDefaultHAWan, nicDefaultHALan
	}
	if nic != nil && nic.WanName != nil && *nic.WanName != "" {
		wan = *nic.WanName
		if !validNicName(wan) || hasPrefixFold(wan, "lan") {
			return Nic{}, Errorf("INVALID_PARAMETER_NIC_NAME_MALFORMED",
				"nic.wanName must be %d to %d letters or digits, start with a letter and not start with \"lan\".",
				nicNameMinLen, nicNameMaxLen)
		}
	}
	if nic != nil && nic.LanName != nil && *nic.LanName != "" {
		lan = *nic.LanName
		if !validNicName(lan) || hasPrefixFold(lan, "wan") {
			return Nic{}, Errorf("INVALID_PARAMETER_NIC_NAME_MALFORMED",
				"nic.lanName must be %d to %d letters or digits, start with a letter and not start with \"wan\".",
				nicNameMinLen, nicNameMaxLen)
		}
	}
	if strings.EqualFold(wan, lan) {
		return Nic{}, E("INVALID_PARAMETER_NIC_NAME_CONFLICT")
	}
	return Nic{WanName: &wan, LanName: &lan}, nil
}

// validNicName reports whether s has the form of a NIC name.
func validNicName(s string) bool {
	if len(s) < nicNameMinLen || len(s) > nicNameMaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
