package metalplane

import (
	"math"
	"strings"
	"testing"
)

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	const malformed Code = "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED"
	tests := []struct {
		name     string
		password string
		code     Code
	}{
		{"terraform example", "Example~123", ""},
		{"8 characters", "Aa1~Aa1~", ""},
		{"16 characters", "Aa1~Aa1~Aa1~Aa1~", ""},
		{"every special", "Aa1~!@$^*-_=+", ""},
		{"7 characters", "Aa1~Aa1", malformed},
		{"17 characters", "Aa1~Aa1~Aa1~Aa1~A", malformed},
		{"empty", "", malformed},
		{"no upper case", "example~123", malformed},
		{"no lower case", "EXAMPLE~123", malformed},
		{"no digit", "Example~abc", malformed},
		{"no special", "Example1234", malformed},
		// The docs print "1~!@$^*-_=+"; '#', '%', '&' and space are not in it.
		{"hash", "Example#123", malformed},
		{"percent", "Example%123", malformed},
		{"ampersand", "Example&123", malformed},
		{"space", "Example 123~", malformed},
		{"non-ASCII", "Exämple~123", malformed},
		// 8 bytes but 4 characters: refused for the characters either way.
		{"multi-byte short", "ÄäÖö", malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidatePassword(tt.password)
			if got := validationCode(err); got != tt.code {
				t.Fatalf("ValidatePassword(%q): got %q, want %q", tt.password, got, tt.code)
			}
			if err != nil && tt.password != "" && strings.Contains(err.Message, tt.password) {
				t.Errorf("ValidatePassword(%q): message %q repeats the password", tt.password, err.Message)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		p := GeneratePassword()
		if len(p) != 16 {
			t.Fatalf("GeneratePassword() = %q: got length %d, want 16", p, len(p))
		}
		if err := ValidatePassword(p); err != nil {
			t.Fatalf("GeneratePassword() = %q: got %v, want a valid password", p, err)
		}
		if seen[p] {
			t.Fatalf("GeneratePassword() = %q twice in 1000 calls", p)
		}
		seen[p] = true
	}
}

// Every index below n comes up as often as any other: a chi-square test
// of 300 draws per value for the sizes GeneratePassword uses. Taking the
// random byte modulo n without skipping the top bytes makes the first
// 256 % n values a third more likely (n = 72) and fails it.
func TestRandomIndexesAreUniform(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 16, 26, len(passwordUpper + passwordLower + passwordDigits + passwordSpecial), 255, 256} {
		var r randomIndexes
		counts := make([]int, n)
		draws := 300 * n
		for range draws {
			counts[r.below(n)]++
		}
		expected := float64(draws) / float64(n)
		chi2 := 0.0
		for _, c := range counts {
			d := float64(c) - expected
			chi2 += d * d / expected
		}
		// n-1 degrees of freedom: mean n-1, standard deviation
		// sqrt(2(n-1)); 8 deviations above is beyond one in a million.
		if limit := float64(n-1) + 8*math.Sqrt(2*float64(n-1)); chi2 > limit {
			t.Errorf("below(%d): chi-square %.1f over %d draws, more than %.1f: counts %v", n, chi2, draws, limit, counts)
		}
	}
}

func BenchmarkGeneratePassword(b *testing.B) {
	for b.Loop() {
		GeneratePassword()
	}
}
