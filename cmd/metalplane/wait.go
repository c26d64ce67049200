package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/metalplane/metalplane/httpapi"
)

// `metalplane call ACTION --wait` follows the instances an action started
// working on until each settles (a status it does not merely pass
// through), through DescribeInstancesProgress: a bar per instance on a
// terminal, a line per change otherwise, and an error when any ends
// failed.

// waitActions are the actions --wait follows, with where their instances
// are named: the response's instanceIdSet (a purchase), or the request's
// instanceIds or instanceId.
var waitActions = map[string]bool{
	"CreateInstances": true, "ReinstallInstance": true, "StartInstances": true, "StopInstances": true, "RebootInstances": true,
}

// waitedInstances returns the instances a successful call of action acts
// on.
func waitedInstances(action string, request, response []byte) ([]string, error) {
	var req struct {
		InstanceIDs []string `json:"instanceIds"`
		InstanceID  string   `json:"instanceId"`
	}
	var resp struct {
		Response struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		} `json:"response"`
	}
	if action == "CreateInstances" {
		if err := json.Unmarshal(response, &resp); err != nil {
			return nil, fmt.Errorf("--wait: read the answer of %s: %w", action, err)
		}
		return resp.Response.InstanceIDSet, nil
	}
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, fmt.Errorf("--wait: read the request: %w", err)
	}
	if req.InstanceID != "" {
		return []string{req.InstanceID}, nil
	}
	return req.InstanceIDs, nil
}

// progressView draws the instances' progress on w.
type progressView struct {
	w     io.Writer
	bars  bool // a terminal: redraw bars in place
	drawn int  // lines drawn by the last redraw
	last  map[string]string
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// barWidth is the width of a progress bar in cells.
const barWidth = 24

// show draws the progress of every instance: all bars again on a
// terminal, a line for each instance whose state changed otherwise.
func (v *progressView) show(items []httpapi.InstanceProgress) {
	if v.last == nil {
		v.last = map[string]string{}
	}
	if v.bars {
		if v.drawn > 0 {
			fmt.Fprintf(v.w, "\x1b[%dA", v.drawn)
		}
		for _, p := range items {
			fmt.Fprintf(v.w, "\r\x1b[2K%s\n", barLine(p))
		}
		v.drawn = len(items)
		return
	}
	for _, p := range items {
		line := plainLine(p)
		if v.last[p.InstanceID] != line {
			fmt.Fprintln(v.w, line)
			v.last[p.InstanceID] = line
		}
	}
}

// barLine is an instance's line on a terminal: id, bar, step, status.
func barLine(p httpapi.InstanceProgress) string {
	fill := barWidth
	if !p.Settled && p.TotalSteps > 0 {
		fill = barWidth * p.StepsDone / p.TotalSteps
	} else if !p.Settled {
		fill = 0
	}
	bar := strings.Repeat("█", fill) + strings.Repeat("░", barWidth-fill)
	return fmt.Sprintf("%s %s %s", p.InstanceID, bar, stateText(p))
}

// plainLine is an instance's line when not on a terminal.
func plainLine(p httpapi.InstanceProgress) string { return p.InstanceID + " " + stateText(p) }

func stateText(p httpapi.InstanceProgress) string {
	switch {
	case p.Failed:
		return p.InstanceStatus + ": " + p.FailureReason
	case !p.Settled && p.TotalSteps > 0:
		return fmt.Sprintf("%s step %d of %d (%s)", p.InstanceStatus, min(p.StepsDone+1, p.TotalSteps), p.TotalSteps, p.CurrentStep)
	default:
		return p.InstanceStatus
	}
}

// waitSettled polls the progress of ids every interval until all have
// settled, drawing it on out, and returns an error naming those that
// failed.
func waitSettled(ctx context.Context, client *httpapi.Client, ids []string, out io.Writer, interval time.Duration) error {
	if len(ids) == 0 {
		return errors.New("--wait: the call named no instance to follow")
	}
	view := &progressView{w: out, bars: isTerminal(out)}
	for {
		var resp struct {
			DataSet []httpapi.InstanceProgress `json:"dataSet"`
		}
		if err := client.Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": ids}, &resp); err != nil {
			return fmt.Errorf("--wait: %w", err)
		}
		view.show(resp.DataSet)
		settled, failed := 0, []string{}
		for _, p := range resp.DataSet {
			if p.Settled {
				settled++
			}
			if p.Failed {
				failed = append(failed, p.InstanceID+" "+p.InstanceStatus+": "+p.FailureReason)
			}
		}
		// An instance that vanished (released meanwhile) has settled too.
		if settled == len(resp.DataSet) {
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d instances failed:\n  %s", len(failed), len(ids), strings.Join(failed, "\n  "))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("--wait: gave up with instances still working: %w", ctx.Err())
		case <-time.After(interval):
		}
	}
}
