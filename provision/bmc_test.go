package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeAddress string

func (a fakeAddress) String() string { return string(a) }

func TestBMCCallerRunsOneCallAtATime(t *testing.T) {
	t.Parallel()
	b := NewBMCCaller("ipmi", fakeAddress("ipmi://admin@10.0.0.5:623?cipher=17"), time.Minute, nil)
	h := Host{ID: "host-1"}
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error)
	go func() {
		first <- b.Do(context.Background(), h, "power on", func(context.Context) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ran := false
	err := b.Do(ctx, h, "power status", func(context.Context) error { ran = true; return nil })
	if ran || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "previous call") {
		t.Fatalf("a call during another: ran=%v err=%v, want it to wait and give up at its deadline", ran, err)
	}
	if want := "ipmi power status of host host-1 at ipmi://admin@10.0.0.5:623?cipher=17: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start %q", err, want)
	}

	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := b.Do(context.Background(), h, "power status", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("a call after the other ended: %v", err)
	}
}

func TestBMCCallerTimeout(t *testing.T) {
	t.Parallel()
	b := NewBMCCaller("redfish", fakeAddress("redfish+https://root@10.0.0.6/redfish/v1/Systems/1"), 50*time.Millisecond, nil)
	err := b.Do(context.Background(), Host{ID: "host-1"}, "power on", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call longer than the timeout: %v, want the deadline", err)
	}
}

func TestAwaitPower(t *testing.T) {
	t.Parallel()
	reads := 0
	err := AwaitPower(context.Background(), time.Millisecond, PowerOn, func(context.Context) (PowerState, error) {
		reads++
		if reads < 3 {
			return PowerOff, nil
		}
		return PowerOn, nil
	})
	if err != nil || reads != 3 {
		t.Fatalf("AwaitPower: err=%v after %d reads, want success on the third", err, reads)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = AwaitPower(ctx, time.Millisecond, PowerOn, func(context.Context) (PowerState, error) { return PowerOff, nil })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still off") {
		t.Fatalf("AwaitPower of a server that stays off: %v", err)
	}
}

func TestIsPermanent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&PermanentError{Reason: "disk broken"}, true},
		{&UnsupportedError{Driver: "redfish", What: "RAID", Reason: "no Storage"}, true},
		{&stepError{step: StepRaid, err: &UnsupportedError{Driver: "redfish", What: "RAID"}}, true},
		{errors.New("timeout"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
