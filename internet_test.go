package metalplane

import (
	"testing"
	"time"
)

func TestProrateUpgrade(t *testing.T) {
	expired := time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC) // period: January, 31 days
	for _, tc := range []struct {
		name   string
		diff   Money
		period int
		now    time.Time
		want   Money
	}{
		{"ten days left", 1000000, 1, time.Date(2030, 1, 22, 0, 0, 0, 0, time.UTC), 322581},
		{"start of the period", 1000000, 1, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 1000000},
		{"before the period", 1000000, 1, time.Date(2029, 12, 1, 0, 0, 0, 0, time.UTC), 1000000},
		{"period over", 1000000, 1, expired, 0},
		// Nov–Jan: 92 days; 900000 × 43200 / 7948800 = 4891.3.
		{"three-month period, half a day left", 900000, 3, expired.Add(-12 * time.Hour), 4891},
		{"no expiry", 500, 1, expired, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := expired
			if tc.name == "no expiry" {
				exp = time.Time{}
			}
			if got := ProrateUpgrade(tc.diff, tc.period, exp, tc.now); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestValidateTrafficTarget(t *testing.T) {
	for _, tc := range []struct {
		tb float64
		ok bool
	}{{0, true}, {0.05, true}, {7.5, true}, {1000, true}, {0.1 + 0.2, true}, {0.03, false}, {5.001, false}, {-0.05, false}} {
		if err := ValidateTrafficTarget(tc.tb); (err == nil) != tc.ok {
			t.Errorf("ValidateTrafficTarget(%g): got %v, want ok=%v", tc.tb, err, tc.ok)
		}
	}
}
