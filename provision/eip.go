package provision

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Elastic and DDoS-protected IPs are routed to a server by its network
// driver: AssociateEipAddress (and the DDoS action) leaves the EIP
// ASSOCIATING and enqueues an EIPNetworkArgs job in the same transaction;
// the job calls AssignAddress on the host's driver and ends in ASSOCIATED.
// Unassociating (and terminating an associated EIP) does the reverse with
// UnassignAddress.

// StepEIP is the step name of an EIP network call (faults are injected
// with it on the sim driver).
const StepEIP = "eip"

// AddressSpec is an extra public address routed to a server.
type AddressSpec struct {
	// Address and Netmask are the EIP's.
	Address string
	Netmask int
	// PrimaryIPv4 is the server's own public address.
	PrimaryIPv4 string
	// GatewayMode is the instance's enableGatewayMode: the address is
	// routed to PrimaryIPv4 as next hop, and the server (a router or
	// firewall) answers for it itself; otherwise the address is put on
	// the server's WAN port like its primary address.
	GatewayMode bool
}

// Describe is how events record the spec.
func (a AddressSpec) Describe() string {
	if a.GatewayMode {
		return fmt.Sprintf("%s/%d routed via %s (gateway mode)", a.Address, a.Netmask, a.PrimaryIPv4)
	}
	return fmt.Sprintf("%s/%d on the WAN port beside %s", a.Address, a.Netmask, a.PrimaryIPv4)
}

// AddressAssigner routes extra public addresses to a server and
// withdraws them. Both calls are idempotent: assigning an address already
// assigned, or withdrawing one that is not, succeeds. A driver without
// one (the BMC drivers: they have no switch to configure) leaves the
// routing to the operator; the job records that and goes on.
type AddressAssigner interface {
	AssignAddress(ctx context.Context, h Host, a AddressSpec) error
	UnassignAddress(ctx context.Context, h Host, a AddressSpec) error
}

// EIPNetworkArgs is the job that routes or withdraws one EIP.
type EIPNetworkArgs struct {
	EIPID string `json:"eip_id"`
	// Op is sqlstore.EIPOpAssociate or EIPOpUnassociate.
	Op string `json:"op"`
}

// Kind implements river.JobArgs; stable across releases.
func (EIPNetworkArgs) Kind() string { return "eip_network" }

// EnqueueEIP inserts the jobs on tx; it is the sqlstore.EIPEnqueueFunc.
func (p *Provisioner) EnqueueEIP(ctx context.Context, tx *sql.Tx, jobs []sqlstore.EIPJob) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: EIPNetworkArgs{EIPID: j.EIPID, Op: j.Op}}
	}
	_, err := p.client.InsertManyTx(ctx, tx, params)
	return err
}

type eipWorker struct {
	river.WorkerDefaults[EIPNetworkArgs]
	p *Provisioner
}

func (w *eipWorker) NextRetry(job *river.Job[EIPNetworkArgs]) time.Time {
	return time.Now().Add(w.p.cfg.RetryBase << min(job.Attempt-1, 10))
}

func (w *eipWorker) Work(ctx context.Context, job *river.Job[EIPNetworkArgs]) error {
	args := job.Args
	want := []metalplane.EIPStatus{metalplane.EIPAssociating}
	if args.Op == sqlstore.EIPOpUnassociate {
		want = []metalplane.EIPStatus{metalplane.EIPUnassociating, metalplane.EIPRecycling}
	} else if args.Op != sqlstore.EIPOpAssociate {
		return river.JobCancel(fmt.Errorf("EIP job: unknown op %q", args.Op))
	}
	if w.p.draining.Load() {
		return river.JobSnooze(0)
	}
	target, err := w.p.db.BeginEIPJob(ctx, args.EIPID, want...)
	if err != nil || target == nil {
		return err
	}
	from := target.EIP.Status
	driver, detail, err := w.route(ctx, args.Op, target)
	if err == nil {
		return w.p.db.FinishEIPJob(ctx, args.EIPID, from, false, StepEIP, driver, detail)
	}
	return w.p.settle(ctx, job.JobRow, target.Instance.ID, err, func(ctx context.Context, err error) error {
		return w.p.db.FinishEIPJob(ctx, args.EIPID, from, true, StepEIP, failedDriver(err), args.Op+" failed: "+err.Error())
	})
}

// route makes the driver call of the job and returns the driver's name and
// what the instance's event records.
func (w *eipWorker) route(ctx context.Context, op string, t *sqlstore.EIPNetworkTarget) (driver, detail string, err error) {
	d, err := w.p.driverOf(ctx, t.Instance.HostID)
	if err != nil {
		return "", "", err
	}
	spec := AddressSpec{Address: t.EIP.Address, Netmask: t.EIP.Netmask, PrimaryIPv4: t.Instance.PublicIPv4, GatewayMode: t.Instance.EnableGatewayMode}
	verb := "assigned"
	if op == sqlstore.EIPOpUnassociate {
		verb = "withdrawn"
	}
	a, ok := d.(AddressAssigner)
	if !ok {
		return d.Name(), fmt.Sprintf("%s %s: not done by metalplane, the %s driver has no network control; route it outside", verb, spec.Describe(), d.Name()), nil
	}
	stepCtx, cancel := context.WithTimeout(ctx, w.p.stepTimeout(d, ""))
	defer cancel()
	if op == sqlstore.EIPOpUnassociate {
		err = a.UnassignAddress(stepCtx, hostOf(t.Instance), spec)
	} else {
		err = a.AssignAddress(stepCtx, hostOf(t.Instance), spec)
	}
	if err != nil {
		return "", "", &stepError{step: StepEIP, driver: d.Name(), err: err}
	}
	return d.Name(), verb + " " + spec.Describe(), nil
}
