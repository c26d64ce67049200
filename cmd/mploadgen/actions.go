package main

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// The actions mploadgen sends (--action): CreateInstances buys instances,
// DescribeInstances reads one page of them, as the rows measure.
const (
	actionCreate   = "CreateInstances"
	actionDescribe = "DescribeInstances"
)

// describeFlags are the DescribeInstances request's page and filters.
type describeFlags struct {
	PageSize int
	PageNum  int
	Zone     string
	Status   string
	Name     string
}

func registerActionFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.Action, "action", actionCreate, "action to send: "+actionCreate+" or "+actionDescribe)
	fs.IntVar(&c.Describe.PageSize, "page-size", 20, "DescribeInstances pageSize")
	fs.IntVar(&c.Describe.PageNum, "page-num", 1, "DescribeInstances pageNum")
	fs.StringVar(&c.Describe.Zone, "filter-zone", "", "DescribeInstances zoneId filter (empty: none)")
	fs.StringVar(&c.Describe.Status, "filter-status", "", "DescribeInstances instanceStatus filter, e.g. RUNNING (empty: none)")
	fs.StringVar(&c.Describe.Name, "filter-name", "", "DescribeInstances instanceName filter; a trailing * matches a prefix (empty: none)")
	fs.IntVar(&c.Fill, "fill", 0, "before the run, buy this many instances with CreateInstances of amount 100 (--concurrency in flight), untimed")
	fs.BoolVar(&c.UntilRunning, "until-running", false, "after the CreateInstances run, poll until every instance it bought is RUNNING or failed, and print the time from the first request")
	fs.DurationVar(&c.RunningTimeout, "running-timeout", 5*time.Minute, "how long --until-running waits at most")
	fs.DurationVar(&c.PollInterval, "poll-interval", 2*time.Millisecond, "pause between two polls of --until-running and --await-healthz")
}

func checkActionFlags(c *config) error {
	switch {
	case c.Action != actionCreate && c.Action != actionDescribe:
		return fmt.Errorf("--action must be %s or %s", actionCreate, actionDescribe)
	case c.UntilRunning && (c.Action != actionCreate || c.SlowClients > 0):
		return errors.New("--until-running needs --action " + actionCreate + " and no --slow-clients")
	case c.Describe.PageSize < 1 || c.Describe.PageNum < 1:
		return errors.New("--page-size and --page-num must be positive")
	case c.Fill < 0 || c.PollInterval < 0:
		return errors.New("--fill and --poll-interval must not be negative")
	}
	return nil
}

// requestBody is the n-th request of the run. Every CreateInstances names
// its instances differently: the server answers an identical signed
// request as a retry of the first, which would measure nothing.
func (c *config) requestBody(n int64) map[string]any {
	if c.Action == actionDescribe {
		req := map[string]any{"pageSize": c.Describe.PageSize, "pageNum": c.Describe.PageNum}
		for field, value := range map[string]string{"zoneId": c.Describe.Zone, "instanceStatus": c.Describe.Status, "instanceName": c.Describe.Name} {
			if value != "" {
				req[field] = value
			}
		}
		return req
	}
	return c.createBody(fmt.Sprintf("%s-%d", c.NamePrefix, n), c.Amount)
}

// createBody is a CreateInstances of amount instances named name (with a
// numbered suffix when there are several).
func (c *config) createBody(name string, amount int) map[string]any {
	if amount > 1 {
		name += "-[1,3]"
	}
	req := map[string]any{
		"zoneId": c.Zone, "instanceTypeId": c.InstanceType, "instanceChargeType": c.ChargeType,
		"internetChargeType": c.InternetChargeType, "amount": amount, "instanceName": name,
		"enablePrimaryIPv6": c.IPv6,
	}
	if c.ChargeType == "PREPAID" {
		req["instanceChargePrepaid"] = map[string]any{"period": 1}
	}
	return req
}
