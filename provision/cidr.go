package provision

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// BlockIPsArgs is the job that makes the driver route exactly the CIDR
// block addresses an instance holds (BindCidrBlockIps, UnbindCidrBlockIps,
// a block leaving for the recycle bin): it attaches the network again with
// every address still bound (NetworkSpec.BlockIPs) and records the
// outcome: BINDING addresses become BOUND, UNBINDING ones are removed. It
// is idempotent, so a late or repeated job only repeats the same
// configuration; a released instance is left alone (its server is wiped).
type BlockIPsArgs struct {
	InstanceID string `json:"instance_id"`
}

// Kind implements river.JobArgs; stable across releases.
func (BlockIPsArgs) Kind() string { return "block_ips" }

// EnqueueBlockIPs inserts one BlockIPsArgs job per instance on tx; it is
// the sqlstore.BlockIPsEnqueueFunc of the CIDR block actions.
func (p *Provisioner) EnqueueBlockIPs(ctx context.Context, tx *sql.Tx, instanceIDs []string) error {
	params := make([]river.InsertManyParams, len(instanceIDs))
	for i, id := range instanceIDs {
		params[i] = river.InsertManyParams{Args: BlockIPsArgs{InstanceID: id}}
	}
	_, err := p.client.InsertManyTx(ctx, tx, params)
	return err
}

var _ sqlstore.BlockIPsEnqueueFunc = (*Provisioner)(nil).EnqueueBlockIPs

type blockIPsWorker struct {
	river.WorkerDefaults[BlockIPsArgs]
	p *Provisioner
}

func (w *blockIPsWorker) NextRetry(job *river.Job[BlockIPsArgs]) time.Time {
	return time.Now().Add(w.p.cfg.RetryBase << min(job.Attempt-1, 10))
}

func (w *blockIPsWorker) Work(ctx context.Context, job *river.Job[BlockIPsArgs]) error {
	id := job.Args.InstanceID
	if _, err := w.p.db.InstanceHostID(ctx, id); errors.Is(err, sqlstore.ErrNotFound) {
		return nil // released: its host may serve someone else now
	} else if err != nil {
		return err
	}
	in, err := w.p.db.FindInstanceByID(ctx, id)
	if err != nil {
		return err
	}
	ips, err := w.p.db.InstanceBlockIPs(ctx, id)
	if err != nil {
		return err
	}
	var keep, configured, removed []string
	for _, ip := range ips {
		switch ip.Status {
		case metalplane.CidrIPUnbinding:
			removed = append(removed, ip.Address)
		case metalplane.CidrIPBinding:
			configured = append(configured, ip.Address)
			keep = append(keep, ip.Address)
		default:
			keep = append(keep, ip.Address)
		}
	}
	d, err := w.p.driverOf(ctx, in.HostID)
	if err != nil {
		return err
	}
	stepCtx, cancel := context.WithTimeout(ctx, w.p.cfg.StepTimeout)
	defer cancel()
	if err := d.AttachNetwork(stepCtx, hostOf(in), NetworkSpec{PublicIPv4: in.PublicIPv4, PublicIPv6: in.PublicIPv6, PrivateIP: in.PrivateIP,
		SubnetID: in.SubnetID, BandwidthMbps: in.BandwidthOutMbps, BlockIPs: keep}); err != nil {
		return err
	}
	return w.p.db.SettleBlockIPs(ctx, id, configured, removed, d.Name())
}
