package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metalplane/metalplane/httpapi"
)

// fillAmount is the largest CreateInstances: the fewest requests bring a
// server to --fill instances.
const fillAmount = 100

// fill buys c.Fill instances before the measured run, c.Concurrency
// requests in flight, and stops at the first error: a server that cannot
// take them (quota, stock) would make the run measure something else.
func fill(ctx context.Context, c *config, clients []*httpapi.Client, stdout io.Writer) error {
	start := time.Now()
	var next atomic.Int64 // instances claimed by the fillers
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range c.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && failed.Load() == nil {
				end := next.Add(fillAmount)
				begin := end - fillAmount
				if begin >= int64(c.Fill) {
					return
				}
				amount := int(min(end, int64(c.Fill)) - begin)
				req := c.createBody(fmt.Sprintf("%s-fill-%d", c.NamePrefix, begin/fillAmount), amount)
				client := clients[int(begin/fillAmount)%len(clients)]
				callCtx, cancel := context.WithTimeout(ctx, c.Timeout)
				err := client.Call(callCtx, actionCreate, req, nil)
				cancel()
				if err != nil {
					err = fmt.Errorf("--fill: CreateInstances amount %d: %w", amount, err)
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "fill          %d instances in %.2f s (%.0f/s)\n", c.Fill, elapsed.Seconds(), float64(c.Fill)/elapsed.Seconds())
	return nil
}
