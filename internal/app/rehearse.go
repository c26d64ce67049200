package app

import (
	"context"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// rehearsePurchase warms the database's connections for the first
// purchase after a start (sqlstore.Rehearse): SQLite's writer, or the
// warmConnectionCount connections PostgreSQL's pool keeps. One POSTPAID
// instance of the catalog's first offer with hosts, for the first team, is
// bought and provisioned at sim speed in a transaction that is rolled
// back. It stops with the server. A rehearsal that cannot run (no team, no
// offer, a sold-out offer) only leaves the first purchase to warm them, as
// before.
func (a *App) rehearsePurchase(stop <-chan struct{}) {
	if a.Provisioner == nil {
		return
	}
	ctx, cancel := untilStopped(stop)
	defer cancel()
	began := time.Now()
	plan, err := a.rehearsalPlan(ctx)
	if err == nil && plan != nil {
		now := a.DB.Now()
		steps := []sqlstore.StepDone{sqlstore.StartStep(now)}
		for i, name := range provision.Steps {
			steps = append(steps, sqlstore.StepDone{N: i + 1, Name: name, At: now})
		}
		err = a.DB.Rehearse(ctx, plan, a.Provisioner.EnqueueRehearsal, "sim", steps, warmConnectionCount)
	}
	if err != nil {
		a.Config.Logger.Debug("purchase rehearsal at start not run to the end", "err", err)
		return
	}
	a.Config.Logger.Debug("purchase rehearsed at start", "ms", time.Since(began).Milliseconds())
}

// rehearsalPlan is the plan of the rehearsal, nil when the database has no
// team or the catalog no offer with hosts.
func (a *App) rehearsalPlan(ctx context.Context) (*metalplane.CreatePlan, error) {
	teams, err := a.DB.ListTeams(ctx)
	if err != nil || len(teams) == 0 {
		return nil, err
	}
	for _, o := range a.Catalog.Offers {
		if o.Hosts < 1 {
			continue
		}
		zone, typ := o.ZoneID, o.InstanceTypeID
		charge, name, amount := metalplane.ChargeTypePostpaid, "rehearsal", 1
		in := metalplane.CreateInstancesInput{ZoneID: &zone, InstanceTypeID: &typ, InstanceChargeType: &charge,
			InstanceName: &name, Amount: &amount}
		if len(o.InternetChargeTypes) > 0 {
			in.InternetChargeType = &o.InternetChargeTypes[0]
		}
		return metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: a.Catalog, Team: teams[0], Lookups: a.DB.Lookups()})
	}
	return nil, nil
}
