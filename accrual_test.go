package metalplane

import (
	"testing"
	"time"
)

func TestHoursDue(t *testing.T) {
	created := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return created.Add(d) }
	for _, tc := range []struct {
		name          string
		recycled, now time.Time
		want          int64
	}{
		{name: "just created", now: created, want: 0},
		{name: "clock behind creation", now: at(-time.Hour), want: 0},
		{name: "first hour not over", now: at(59*time.Minute + 59*time.Second), want: 0},
		{name: "first hour over", now: at(time.Hour), want: 1},
		{name: "three hours and a bit", now: at(3*time.Hour + time.Second), want: 3},
		{name: "a day", now: at(24 * time.Hour), want: 24},
		{name: "recycled in the first second", recycled: at(time.Second), now: at(48 * time.Hour), want: 1},
		{name: "recycled at creation", recycled: created, now: at(time.Hour), want: 0},
		{name: "recycled on the hour", recycled: at(3 * time.Hour), now: at(30 * time.Hour), want: 3},
		{name: "recycled mid-hour: that hour in full", recycled: at(2*time.Hour + 30*time.Minute), now: at(2*time.Hour + 31*time.Minute), want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HoursDue(created, tc.recycled, tc.now); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}
