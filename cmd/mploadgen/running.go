package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
)

// settledCounts is how the instances of a run ended.
type settledCounts struct {
	running, failed, other int
}

// untilRunning polls DescribeInstancesProgress (at most MaxListItems
// instances a request, only those not yet settled) until every instance
// in ids has settled, and returns the time from start, the first
// request of the run, to the poll that saw the last one settle. The time
// is therefore late by up to one poll: --poll-interval plus a request.
func untilRunning(ctx context.Context, c *config, clients []*httpapi.Client, ids []string, start time.Time) (time.Duration, settledCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, c.RunningTimeout)
	defer cancel()
	var counts settledCounts
	pending := slices.Clone(ids)
	for poll := 0; ; poll++ {
		var still []string
		for chunk := range slices.Chunk(pending, metalplane.MaxListItems) {
			var out struct {
				DataSet []httpapi.InstanceProgress `json:"dataSet"`
			}
			err := clients[poll%len(clients)].Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": chunk}, &out)
			if err != nil {
				return 0, counts, fmt.Errorf("--until-running: %w", err)
			}
			seen := make(map[string]bool, len(out.DataSet))
			for _, p := range out.DataSet {
				seen[p.InstanceID] = true
				switch {
				case !p.Settled:
					still = append(still, p.InstanceID)
				case p.InstanceStatus == string(metalplane.StatusRunning):
					counts.running++
				case p.Failed:
					counts.failed++
				default:
					counts.other++
				}
			}
			// An instance the answer leaves out is not visible yet (a
			// replica's read may lag) and is asked for again.
			for _, id := range chunk {
				if !seen[id] {
					still = append(still, id)
				}
			}
		}
		if len(still) == 0 {
			return time.Since(start), counts, nil
		}
		pending = still
		select {
		case <-ctx.Done():
			return 0, counts, fmt.Errorf("--until-running: %d of %d instances not settled after %v", len(pending), len(ids), c.RunningTimeout)
		case <-time.After(c.PollInterval):
		}
	}
}

// reportRunning prints what untilRunning found.
func reportRunning(w io.Writer, d time.Duration, counts settledCounts, bought int) {
	fmt.Fprintf(w, "until RUNNING %.3f s from the first request to the last of %d instances settled (%d RUNNING, %d failed, %d other)\n",
		d.Seconds(), bought, counts.running, counts.failed, counts.other)
}
