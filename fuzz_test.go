package metalplane

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Fuzz targets of the pure rules (scripts/fuzz.sh runs each for a while;
// plain go test runs their seeds).

// FuzzExpandNames feeds naming patterns (ACTIONS.md §3.1.2) to both
// expanders. They must agree on what is valid, answer only their
// documented codes, and expand a valid pattern into exactly amount plain
// names of 1 to 64 characters, all different when the pattern numbers
// them.
func FuzzExpandNames(f *testing.F) {
	for _, seed := range []struct {
		pattern string
		amount  int
	}{
		{"server_[3,3]", 2}, {"web-[1,2]", 3}, {"node[0,3].dc[5,1]", 2}, {"db[98,2]", 3}, {"host[]", 2}, {"db", 2},
		{"web [1,2]", 1}, {"a[1,7]", 1}, {"a[100000,2]", 1}, {strings.Repeat("x", 60) + "[0,6]", 1}, {"_[0000000000000000000001,1]", 1},
		{"a[,]", 100}, {"[99999,1]", 100}, {"a_b", 1}, {"a]", 1}, {"a[1,2", 1}, {"a[-1,2]", 1}, {"a[1,+2]", 1}, {"é[1,1]", 1}, {"", 1},
	} {
		f.Add(seed.pattern, seed.amount)
	}
	f.Fuzz(func(t *testing.T, pattern string, n int) {
		amount := int(uint(n)%MaxCreateAmount) + 1
		names, nameErr := ExpandInstanceNames(pattern, amount)
		hosts, hostErr := ExpandHostnames(pattern, amount)
		if (nameErr == nil) != (hostErr == nil) {
			t.Fatalf("%q × %d: instanceName error %v, hostname error %v", pattern, amount, nameErr, hostErr)
		}
		if nameErr != nil {
			if nameErr.Code != "INVALID_PARAMETER_INSTANCE_NAME_EXCEED" {
				t.Fatalf("%q: instanceName answered %s", pattern, nameErr.Code)
			}
			if hostErr.Code != "INVALID_PARAMETER_HOSTNAME_EXCEED" && hostErr.Code != "INVALID_PARAMETER_HOSTNAME_MALFORMED" {
				t.Fatalf("%q: hostname answered %s", pattern, hostErr.Code)
			}
			return
		}
		if len(names) != amount || !slicesEqual(names, hosts) {
			t.Fatalf("%q × %d: got names %q and hostnames %q", pattern, amount, names, hosts)
		}
		seen := map[string]bool{}
		for _, name := range names {
			if err := ValidatePlainName(name); err != nil {
				t.Fatalf("%q expanded to %q, which is not a plain name: %v", pattern, name, err)
			}
			seen[name] = true
		}
		if numbered := strings.Contains(pattern, "["); numbered && len(seen) != amount || !numbered && names[0] != pattern {
			t.Fatalf("%q × %d: got %q", pattern, amount, names)
		}
	})
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// moneyText is the one spelling ParseMoney documents.
var moneyText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,4})?$`)

// FuzzParseMoney checks ParseMoney against an independent reading of the
// same text with math/big: it accepts exactly the documented spelling
// whose value fits, reads it exactly, and String gives it back. A catalog
// price (Money.UnmarshalYAML) of such text reads the same amount, and a
// negative one is refused.
func FuzzParseMoney(f *testing.F) {
	for _, seed := range []string{
		"0", "1200", "0.15", "1234.5678", "-50.5", "-0", "00012.5", "922337203685477.5807", "922337203685477.5808",
		"-922337203685477.5807", "-922337203685477.5808", "1.23456", "1.", ".5", "+1", "1e3", "0x10", " 1", "1,000", "", "-",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		want, fits := referenceMoney(s)
		if (err == nil) != fits {
			t.Fatalf("ParseMoney(%q) = %v, %v; want accepted = %v", s, m, err, fits)
		}
		if err != nil {
			return
		}
		if int64(m) != want {
			t.Fatalf("ParseMoney(%q) = %d units, want %d", s, int64(m), want)
		}
		if back, err := ParseMoney(m.String()); err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, but its String %q reads back as %d, %v", s, m, m.String(), back, err)
		}
		var price struct {
			Price Money `yaml:"price"`
		}
		yamlErr := yaml.Unmarshal([]byte("price: "+s), &price)
		switch {
		case strings.HasPrefix(s, "-") && yamlErr == nil:
			t.Fatalf("the catalog price %q was accepted as %s, want a refusal", s, price.Price)
		case !strings.HasPrefix(s, "-") && (yamlErr != nil || price.Price != m):
			t.Fatalf("the catalog price %q read as %s, %v; want %s", s, price.Price, yamlErr, m)
		}
	})
}

// referenceMoney reads s with math/big: its value in units of 10^-4 and
// whether s is the documented spelling with a value that fits an int64 as
// ParseMoney promises (its magnitude at most MaxInt64, so it can be
// negated).
func referenceMoney(s string) (int64, bool) {
	if !moneyText.MatchString(s) {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false
	}
	r.Mul(r, big.NewRat(MoneyScale, 1))
	if !r.IsInt() {
		return 0, false
	}
	n := r.Num()
	if new(big.Int).Abs(n).Cmp(big.NewInt(math.MaxInt64)) > 0 {
		return 0, false
	}
	return n.Int64(), true
}
