package redfish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/provision"
)

// raidTypes maps the API's RAID levels to Redfish's.
var raidTypes = map[int]schemas.RAIDType{
	0:  schemas.RAID0RAIDType,
	1:  schemas.RAID1RAIDType,
	5:  schemas.RAID5RAIDType,
	10: schemas.RAID10RAIDType,
}

// volume is a RAID volume, wanted or found: its level and its drives (the
// drives' URIs, sorted).
type volume struct {
	uri    string // "" for a wanted one
	raid   schemas.RAIDType
	drives []string
}

func (v volume) String() string { return fmt.Sprintf("%s over %v", v.raid, v.drives) }

type odataLink struct {
	ID string `json:"@odata.id"`
}

// raidController is the Storage resource the volumes are built on.
type raidController struct {
	uri        string
	volumesURI string
	drives     []string // in the order the BMC lists them: disk 1 first
}

// ConfigureRaid implements provision.RaidConfigurer through the system's
// Storage/Volumes: disks are numbered from 1 in the order the controller
// lists its drives. It deletes the controller's volumes and creates the
// ones asked for, unless they are there already (a retried step finds its
// work done). A nil or empty cfg asks for no RAID and touches nothing. A
// BMC without Storage, or whose controller lacks a level, answers a
// provision.UnsupportedError.
func (d *Driver) ConfigureRaid(ctx context.Context, h provision.Host, cfg *metalplane.RaidConfig) error {
	if cfg == nil || cfg.RaidType == nil && len(cfg.CustomRaids) == 0 {
		return nil
	}
	levels, err := raidLevels(cfg)
	if err != nil {
		return err
	}
	return d.call(ctx, h, "raid", func(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem) error {
		ctl, err := d.raidController(sys, levels)
		if err != nil {
			return err
		}
		want, err := planVolumes(cfg, ctl.drives)
		if err != nil {
			return err
		}
		have, err := readVolumes(c, ctl)
		if err != nil {
			return err
		}
		if sameVolumes(have, want) {
			return nil
		}
		for _, v := range have {
			if err := d.deleteVolume(ctx, c, v.uri); err != nil {
				return fmt.Errorf("delete volume %s: %w", v.uri, err)
			}
		}
		for i, v := range want {
			if err := d.createVolume(ctx, c, ctl, fmt.Sprintf("metalplane-%d", i+1), v); err != nil {
				return fmt.Errorf("create volume %s: %w", v, err)
			}
		}
		have, err = readVolumes(c, ctl)
		if err != nil {
			return err
		}
		if !sameVolumes(have, want) {
			return fmt.Errorf("the controller reports volumes %v after creating %v", have, want)
		}
		return nil
	})
}

// raidLevels lists the Redfish levels cfg uses.
func raidLevels(cfg *metalplane.RaidConfig) ([]schemas.RAIDType, error) {
	var ints []int
	if cfg.RaidType != nil {
		ints = append(ints, *cfg.RaidType)
	}
	for _, g := range cfg.CustomRaids {
		if g.RaidType == nil {
			return nil, &provision.PermanentError{Reason: "raid: a custom group has no level"}
		}
		ints = append(ints, *g.RaidType)
	}
	var out []schemas.RAIDType
	for _, n := range ints {
		rt, ok := raidTypes[n]
		if !ok {
			return nil, &provision.PermanentError{Reason: fmt.Sprintf("raid: unknown level %d", n)}
		}
		if !slices.Contains(out, rt) {
			out = append(out, rt)
		}
	}
	return out, nil
}

// planVolumes turns cfg into volumes over drives: quick RAID spans every
// drive, custom groups name drives by number from 1.
func planVolumes(cfg *metalplane.RaidConfig, drives []string) ([]volume, error) {
	if cfg.RaidType != nil {
		return []volume{{raid: raidTypes[*cfg.RaidType], drives: sorted(drives)}}, nil
	}
	var out []volume
	for _, g := range cfg.CustomRaids {
		v := volume{raid: raidTypes[*g.RaidType]}
		for _, n := range g.DiskSequence {
			if n < 1 || n > len(drives) {
				return nil, &provision.PermanentError{Reason: fmt.Sprintf("raid: disk %d asked, the controller has %d drives", n, len(drives))}
			}
			v.drives = append(v.drives, drives[n-1])
		}
		v.drives = sorted(v.drives)
		out = append(out, v)
	}
	return out, nil
}

// raidController picks the first Storage resource with a Volumes
// collection, drives, and every level asked for (when it lists levels).
func (d *Driver) raidController(sys *schemas.ComputerSystem, levels []schemas.RAIDType) (*raidController, error) {
	storages, err := sys.Storage()
	if err != nil {
		return nil, fmt.Errorf("read storage: %w", err)
	}
	unsupported := func(reason string) error {
		return &provision.UnsupportedError{Driver: d.Name(), What: "RAID", Reason: reason}
	}
	if len(storages) == 0 {
		return nil, unsupported("the system has no Storage service")
	}
	var reasons []string
	for _, s := range storages {
		var raw struct {
			Drives  []odataLink
			Volumes odataLink
		}
		if err := json.Unmarshal(s.RawData, &raw); err != nil {
			return nil, fmt.Errorf("read storage %s: %w", s.ODataID, err)
		}
		if raw.Volumes.ID == "" || len(raw.Drives) == 0 {
			reasons = append(reasons, s.ODataID+" has no volumes or no drives")
			continue
		}
		var offered []schemas.RAIDType
		for _, ctl := range s.StorageControllers {
			offered = append(offered, ctl.SupportedRAIDTypes...)
		}
		if len(offered) > 0 {
			if i := slices.IndexFunc(levels, func(l schemas.RAIDType) bool { return !slices.Contains(offered, l) }); i >= 0 {
				reasons = append(reasons, fmt.Sprintf("%s offers %v, not %s", s.ODataID, offered, levels[i]))
				continue
			}
		}
		ctl := &raidController{uri: s.ODataID, volumesURI: raw.Volumes.ID}
		for _, l := range raw.Drives {
			ctl.drives = append(ctl.drives, l.ID)
		}
		return ctl, nil
	}
	return nil, unsupported(strings.Join(reasons, "; "))
}

// readVolumes lists the controller's volumes with their levels and drives.
func readVolumes(c *gofish.APIClient, ctl *raidController) ([]volume, error) {
	vols, err := schemas.GetCollectionObjects[schemas.Volume](c, ctl.volumesURI)
	if err != nil {
		return nil, fmt.Errorf("read volumes: %w", err)
	}
	out := make([]volume, 0, len(vols))
	for _, v := range vols {
		var raw struct{ Links struct{ Drives []odataLink } }
		if err := json.Unmarshal(v.RawData, &raw); err != nil {
			return nil, fmt.Errorf("read volume %s: %w", v.ODataID, err)
		}
		vol := volume{uri: v.ODataID, raid: v.RAIDType}
		for _, l := range raw.Links.Drives {
			vol.drives = append(vol.drives, l.ID)
		}
		vol.drives = sorted(vol.drives)
		out = append(out, vol)
	}
	return out, nil
}

// sameVolumes compares levels and drives, in any order.
func sameVolumes(have, want []volume) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h volume) bool { return h.raid == w.raid && slices.Equal(h.drives, w.drives) }) {
			return false
		}
	}
	return true
}

func (d *Driver) deleteVolume(ctx context.Context, c *gofish.APIClient, uri string) error {
	var resp *http.Response
	err := d.retryBusy(ctx, func() error {
		var err error
		resp, err = c.Delete(uri)
		return err
	})
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusAccepted {
		return d.awaitTask(ctx, c, &schemas.TaskMonitorInfo{TaskMonitor: resp.Header.Get("Location")})
	}
	return nil
}

func (d *Driver) createVolume(ctx context.Context, c *gofish.APIClient, ctl *raidController, name string, v volume) error {
	body := struct {
		Name     string
		RAIDType schemas.RAIDType
		Links    struct{ Drives []odataLink }
	}{Name: name, RAIDType: v.raid}
	for _, uri := range v.drives {
		body.Links.Drives = append(body.Links.Drives, odataLink{ID: uri})
	}
	var task *schemas.TaskMonitorInfo
	err := d.retryBusy(ctx, func() error {
		resp, tm, err := schemas.PostWithTask(c, ctl.volumesURI, body, nil, false)
		schemas.DeferredCleanupHTTPResponse(resp)
		task = tm
		return err
	})
	if err != nil || task == nil {
		return err
	}
	return d.awaitTask(ctx, c, task)
}

// awaitTask waits for an asynchronous operation (202 Accepted) to end and
// fails if it did: an error status, or a Task that says so.
func (d *Driver) awaitTask(ctx context.Context, c *gofish.APIClient, task *schemas.TaskMonitorInfo) error {
	if task.TaskMonitor == "" {
		return fmt.Errorf("the BMC accepted the request without a task monitor to follow")
	}
	resp, err := schemas.WaitForTaskMonitor(ctx, c, d.cfg.PollInterval, task, nil)
	if err != nil {
		return fmt.Errorf("task %s: %w", task.TaskMonitor, err)
	}
	defer schemas.DeferredCleanupHTTPResponse(resp)
	var t struct {
		TaskState string
		Messages  []struct{ Message string }
	}
	if json.NewDecoder(resp.Body).Decode(&t) == nil {
		switch schemas.TaskState(t.TaskState) {
		case schemas.ExceptionTaskState, schemas.KilledTaskState, schemas.CancelledTaskState, schemas.InterruptedTaskState:
			msgs := make([]string, len(t.Messages))
			for i, m := range t.Messages {
				msgs[i] = m.Message
			}
			return fmt.Errorf("task %s ended %s: %s", task.TaskMonitor, t.TaskState, strings.Join(msgs, "; "))
		}
	}
	return nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
