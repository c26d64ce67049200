package redfish

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/redfishmock"
	"github.com/metalplane/metalplane/provision"
)

func level(n int) *int { return &n }

func TestRaidAgainstMock(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{RAIDDrives: 4})
	d := newDriver(t, bmc, "", Config{})
	ctx := context.Background()
	disks := bmc.Drives()

	for _, tt := range []struct {
		name string
		cfg  *metalplane.RaidConfig
		want []redfishmock.Volume
	}{
		{"quick RAID 10 over every disk", &metalplane.RaidConfig{RaidType: level(10)},
			[]redfishmock.Volume{{RAIDType: "RAID10", Drives: disks}}},
		{"custom: RAID 1 over disks 1-2, RAID 0 over disk 3", &metalplane.RaidConfig{CustomRaids: []metalplane.CustomRaid{
			{RaidType: level(1), DiskSequence: []int{1, 2}}, {RaidType: level(0), DiskSequence: []int{3}}}},
			[]redfishmock.Volume{{RAIDType: "RAID1", Drives: disks[0:2]}, {RAIDType: "RAID0", Drives: disks[2:3]}}},
		{"custom: RAID 5 over disks 2-4", &metalplane.RaidConfig{CustomRaids: []metalplane.CustomRaid{
			{RaidType: level(5), DiskSequence: []int{2, 3, 4}}}},
			[]redfishmock.Volume{{RAIDType: "RAID5", Drives: disks[1:4]}}},
	} {
		if err := d.ConfigureRaid(ctx, host, tt.cfg); err != nil {
			t.Fatalf("%s: ConfigureRaid: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, bmc.Volumes(t)); diff != "" {
			t.Errorf("%s: the controller's volumes (-want +got):\n%s", tt.name, diff)
		}

		// A retried step finds its work done and changes nothing.
		n := len(bmc.Requests())
		if err := d.ConfigureRaid(ctx, host, tt.cfg); err != nil {
			t.Fatalf("%s: ConfigureRaid again: %v", tt.name, err)
		}
		for _, r := range bmc.Requests()[n:] {
			if !strings.HasPrefix(r, "GET ") {
				t.Errorf("%s: ConfigureRaid again sent %q, want only reads", tt.name, r)
			}
		}
	}

	// No RAID asked: the BMC is not even contacted, and the volumes stay.
	n := len(bmc.Requests())
	for _, cfg := range []*metalplane.RaidConfig{nil, {}} {
		if err := d.ConfigureRaid(ctx, host, cfg); err != nil {
			t.Fatalf("ConfigureRaid(%+v): %v", cfg, err)
		}
	}
	if got := bmc.Requests()[n:]; len(got) != 0 {
		t.Errorf("ConfigureRaid without RAID sent %q", got)
	}
	if got := len(bmc.Volumes(t)); got != 1 {
		t.Errorf("%d volumes after ConfigureRaid without RAID, want the 1 there before", got)
	}
}

func TestRaidPermanentFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	raid5 := &metalplane.RaidConfig{RaidType: level(5)}

	t.Run("no Storage (the DMTF mockup as published)", func(t *testing.T) {
		t.Parallel()
		bmc := redfishmock.Start(t, redfishmock.Options{})
		err := newDriver(t, bmc, "", Config{}).ConfigureRaid(ctx, host, raid5)
		var unsup *provision.UnsupportedError
		if !errors.As(err, &unsup) || unsup.What != "RAID" || !strings.Contains(err.Error(), "no Storage") {
			t.Fatalf("ConfigureRaid without Storage: %v, want RAID unsupported", err)
		}
		if !provision.IsPermanent(err) {
			t.Error("unsupported RAID is not permanent: the workflow would retry it")
		}
	})
	t.Run("a level the controller lacks", func(t *testing.T) {
		t.Parallel()
		bmc := redfishmock.Start(t, redfishmock.Options{RAIDDrives: 4, RAIDTypes: []string{"RAID0", "RAID1"}})
		err := newDriver(t, bmc, "", Config{}).ConfigureRaid(ctx, host, raid5)
		var unsup *provision.UnsupportedError
		if !errors.As(err, &unsup) || !strings.Contains(err.Error(), "not RAID5") {
			t.Fatalf("ConfigureRaid RAID 5 on a RAID 0/1 controller: %v, want unsupported", err)
		}
		if slices.ContainsFunc(bmc.Requests(), func(r string) bool { return !strings.HasPrefix(r, "GET ") }) {
			t.Errorf("an unsupported RAID changed something: %q", bmc.Requests())
		}
	})
	t.Run("more disks than the controller has", func(t *testing.T) {
		t.Parallel()
		bmc := redfishmock.Start(t, redfishmock.Options{RAIDDrives: 2})
		err := newDriver(t, bmc, "", Config{}).ConfigureRaid(ctx, host, &metalplane.RaidConfig{CustomRaids: []metalplane.CustomRaid{
			{RaidType: level(1), DiskSequence: []int{2, 3}}}})
		if !provision.IsPermanent(err) || !strings.Contains(err.Error(), "disk 3 asked, the controller has 2 drives") {
			t.Fatalf("ConfigureRaid over a missing disk: %v, want a permanent error naming it", err)
		}
	})
}
