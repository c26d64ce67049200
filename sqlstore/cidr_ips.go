package sqlstore

// Addresses of CIDR blocks bound to instances (cidr.go has the blocks).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/metalplane/metalplane"
)

// BlockIP is an address of a block bound (or being bound) to an instance.
type BlockIP struct {
	Address    string
	BlockID    string
	InstanceID string
	Status     string
}

// CidrBlockIPs returns the bound addresses of the blocks, by block ID.
func (db *DB) CidrBlockIPs(ctx context.Context, blockIDs []string) (map[string][]BlockIP, error) {
	out := map[string][]BlockIP{}
	if len(blockIDs) == 0 {
		return out, nil
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT address, block_id, instance_id, status FROM cidr_block_ips WHERE block_id IN (`+placeholders(1, len(blockIDs))+`) ORDER BY block_id, address`,
		anySlice(blockIDs)...)
	if err != nil {
		return nil, fmt.Errorf("read block IPs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ip BlockIP
		if err := rows.Scan(&ip.Address, &ip.BlockID, &ip.InstanceID, &ip.Status); err != nil {
			return nil, err
		}
		out[ip.BlockID] = append(out[ip.BlockID], ip)
	}
	return out, rows.Err()
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// BindIP is one item of BindCidrBlockIps.
type BindIP struct {
	InstanceID string
	IP         netip.Addr
}

// BindCidrBlockIPs binds addresses of the team's block to its instances,
// BINDING until the driver has configured them (enqueue, in the same
// transaction). Checks, in order: the block (INVALID_CIDRBLOCK_NOT_FOUND,
// OPERATION_DENIED_CIDRBLOCK_RECYCLED), then each item: the instance
// (INVALID_INSTANCE_NOT_FOUND, OPERATION_DENIED_DIFFERENT_ZONE,
// OPERATION_DENIED_INSTANCE_NOT_RUNNING), the address
// (OPERATION_DENIED_IP_NOT_BELONG outside the block's usable addresses,
// OPERATION_DENIED_INVALID_STATUS when already bound), then the
// per-instance limit (OPERATION_DENIED_CIDRBLOCK_IP_COUNT_REACH_LIMIT).
// All or nothing.
func (db *DB) BindCidrBlockIPs(ctx context.Context, teamID, blockID string, items []BindIP, enqueue BlockIPsEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		b, prefix, err := db.lockBindableBlockTx(ctx, tx, teamID, blockID)
		if err != nil {
			return err
		}
		added := map[string]int{}
		var order []string
		for _, it := range items {
			var zone, status string
			err := tx.QueryRowContext(ctx, `SELECT zone_id, status FROM instances WHERE id = $1 AND team_id = $2 AND released = $3`+db.forUpdate(),
				it.InstanceID, teamID, false).Scan(&zone, &status)
			if errors.Is(err, sql.ErrNoRows) {
				return metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", it.InstanceID)
			}
			if err != nil {
				return fmt.Errorf("lock instance: %w", err)
			}
			if zone != b.ZoneID {
				return metalplane.Errorf("OPERATION_DENIED_DIFFERENT_ZONE", "The instance %s is in %s, the block in %s.", it.InstanceID, zone, b.ZoneID)
			}
			if metalplane.InstanceStatus(status) != metalplane.StatusRunning {
				return metalplane.Errorf("OPERATION_DENIED_INSTANCE_NOT_RUNNING", "The instance %s is %s, not RUNNING.", it.InstanceID, status)
			}
			if !metalplane.BlockIPUsable(prefix, it.IP) {
				return metalplane.Errorf("OPERATION_DENIED_IP_NOT_BELONG", "%s is not a usable address of %s.", it.IP, b.CIDR)
			}
			var holder string
			err = tx.QueryRowContext(ctx, `SELECT instance_id FROM cidr_block_ips WHERE address = $1`, it.IP.String()).Scan(&holder)
			if err == nil {
				return metalplane.Errorf("OPERATION_DENIED_INVALID_STATUS", "%s is already bound.", it.IP)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read binding: %w", err)
			}
			if added[it.InstanceID] == 0 {
				order = append(order, it.InstanceID)
			}
			added[it.InstanceID]++
		}
		for _, id := range order {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cidr_block_ips WHERE instance_id = $1`, id).Scan(&n); err != nil {
				return fmt.Errorf("count bindings: %w", err)
			}
			if n+added[id] > metalplane.MaxBlockIPsPerInstance {
				return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_IP_COUNT_REACH_LIMIT", "The instance %s may hold at most %d block addresses.", id, metalplane.MaxBlockIPsPerInstance)
			}
		}
		now := db.Now().Unix()
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cidr_block_ips (address, block_id, team_id, instance_id, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				it.IP.String(), blockID, teamID, it.InstanceID, metalplane.CidrIPBinding, now); err != nil {
				return fmt.Errorf("bind %s: %w", it.IP, err)
			}
		}
		return enqueueBlockIPs(ctx, tx, enqueue, order)
	})
}

// lockBindableBlockTx locks the team's block for a change of its
// bindings and parses it. Returns INVALID_CIDRBLOCK_NOT_FOUND or
// OPERATION_DENIED_CIDRBLOCK_RECYCLED.
func (db *DB) lockBindableBlockTx(ctx context.Context, tx *sql.Tx, teamID, blockID string) (*metalplane.CidrBlock, netip.Prefix, error) {
	b, err := db.lockBlockTx(ctx, tx, teamID, blockID, "INVALID_CIDRBLOCK_NOT_FOUND")
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	if b.Status == metalplane.CidrBlockRecycle {
		return nil, netip.Prefix{}, metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_RECYCLED", "The CIDR block %s is in the recycle bin.", blockID)
	}
	prefix, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return nil, netip.Prefix{}, fmt.Errorf("block %s: %w", blockID, err)
	}
	return b, prefix, nil
}

func enqueueBlockIPs(ctx context.Context, tx *sql.Tx, enqueue BlockIPsEnqueueFunc, instanceIDs []string) error {
	if enqueue == nil || len(instanceIDs) == 0 {
		return nil
	}
	return enqueue(ctx, tx, instanceIDs)
}

// UnbindCidrBlockIPs marks bound addresses of the team's block UNBINDING
// and enqueues the driver's removal. Returns INVALID_CIDRBLOCK_NOT_FOUND,
// OPERATION_DENIED_CIDRBLOCK_RECYCLED, OPERATION_DENIED_IP_NOT_BELONG for an
// address outside the block, OPERATION_DENIED_INVALID_STATUS for one not
// BOUND. All or nothing.
func (db *DB) UnbindCidrBlockIPs(ctx context.Context, teamID, blockID string, ips []netip.Addr, enqueue BlockIPsEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		b, prefix, err := db.lockBindableBlockTx(ctx, tx, teamID, blockID)
		if err != nil {
			return err
		}
		var order []string
		for _, ip := range ips {
			if !prefix.Contains(ip) {
				return metalplane.Errorf("OPERATION_DENIED_IP_NOT_BELONG", "%s does not belong to %s.", ip, b.CIDR)
			}
			var instanceID, status string
			err := tx.QueryRowContext(ctx, `SELECT instance_id, status FROM cidr_block_ips WHERE address = $1 AND block_id = $2`, ip.String(), blockID).Scan(&instanceID, &status)
			if errors.Is(err, sql.ErrNoRows) || err == nil && status != metalplane.CidrIPBound {
				return metalplane.Errorf("OPERATION_DENIED_INVALID_STATUS", "%s is not BOUND.", ip)
			}
			if err != nil {
				return fmt.Errorf("read binding: %w", err)
			}
			if !slices.Contains(order, instanceID) {
				order = append(order, instanceID)
			}
		}
		now := db.Now().Unix()
		for _, ip := range ips {
			if _, err := tx.ExecContext(ctx, `UPDATE cidr_block_ips SET status = $1, updated_at = $2 WHERE address = $3`, metalplane.CidrIPUnbinding, now, ip.String()); err != nil {
				return fmt.Errorf("unbind %s: %w", ip, err)
			}
		}
		return enqueueBlockIPs(ctx, tx, enqueue, order)
	})
}

// InstanceBlockIPs returns the block addresses of an instance in every
// state, for the driver job.
func (db *DB) InstanceBlockIPs(ctx context.Context, instanceID string) ([]BlockIP, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT address, block_id, instance_id, status FROM cidr_block_ips WHERE instance_id = $1 ORDER BY address`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("read block IPs: %w", err)
	}
	defer rows.Close()
	var out []BlockIP
	for rows.Next() {
		var ip BlockIP
		if err := rows.Scan(&ip.Address, &ip.BlockID, &ip.InstanceID, &ip.Status); err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	return out, rows.Err()
}

// SettleBlockIPs records what the driver did for an instance: the
// addresses it configured (BINDING ones become BOUND) and the ones it
// removed (UNBINDING ones are deleted), with an event naming the driver.
// Rows changed meanwhile (unbound again, bound again) are left alone.
func (db *DB) SettleBlockIPs(ctx context.Context, instanceID string, configured, removed []string, driver string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.Now().Unix()
		for _, a := range configured {
			if _, err := tx.ExecContext(ctx, `UPDATE cidr_block_ips SET status = $1, updated_at = $2 WHERE address = $3 AND instance_id = $4 AND status = $5`,
				metalplane.CidrIPBound, now, a, instanceID, metalplane.CidrIPBinding); err != nil {
				return fmt.Errorf("settle %s: %w", a, err)
			}
		}
		for _, a := range removed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM cidr_block_ips WHERE address = $1 AND instance_id = $2 AND status = $3`, a, instanceID, metalplane.CidrIPUnbinding); err != nil {
				return fmt.Errorf("settle %s: %w", a, err)
			}
		}
		return db.addEventTx(ctx, tx, instanceID, "network", "block_ips", driver,
			fmt.Sprintf("block addresses configured: [%s]; removed: [%s]", strings.Join(configured, " "), strings.Join(removed, " ")))
	})
}

// unbindInstanceBlockIPsTx drops every binding of an instance being
// released: its server is wiped and handed to the next customer.
func unbindInstanceBlockIPsTx(ctx context.Context, tx *sql.Tx, instanceID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM cidr_block_ips WHERE instance_id = $1`, instanceID); err != nil {
		return fmt.Errorf("unbind block addresses of %s: %w", instanceID, err)
	}
	return nil
}

// dropBlockBindingsTx removes every binding of a block and enqueues the
// driver job of each instance that held one, so that the driver stops
// routing the addresses.
func dropBlockBindingsTx(ctx context.Context, tx *sql.Tx, blockID string, enqueue BlockIPsEnqueueFunc) error {
	instances, err := queryStrings(ctx, tx, `SELECT DISTINCT instance_id FROM cidr_block_ips WHERE block_id = $1 ORDER BY instance_id`, blockID)
	if err != nil {
		return fmt.Errorf("read bindings of %s: %w", blockID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cidr_block_ips WHERE block_id = $1`, blockID); err != nil {
		return fmt.Errorf("drop bindings of %s: %w", blockID, err)
	}
	return enqueueBlockIPs(ctx, tx, enqueue, instances)
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
