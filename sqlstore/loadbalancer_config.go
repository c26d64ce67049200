package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metalplane/metalplane"
)

// The load balancer driver's side of the store: the configurations not
// applied yet, and the record that one was.

// PendingLoadBalancerConfigs returns up to limit load balancers whose
// configuration changed since the driver last applied it, each whole at
// its current version, in ID order. Released ones come back once with
// Removed set.
func (db *DB) PendingLoadBalancerConfigs(ctx context.Context, limit int) ([]*metalplane.LoadBalancerConfig, error) {
	var out []*metalplane.LoadBalancerConfig
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM load_balancers WHERE applied_version < config_version ORDER BY id LIMIT %d`, limit))
		if err != nil {
			return fmt.Errorf("find unapplied load balancers: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			cfg, err := loadBalancerConfigTx(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, cfg)
		}
		return nil
	})
	return out, err
}

// LoadBalancerConfig returns the configuration of one load balancer at its
// current version, released or not; ErrNotFound for an unknown ID.
func (db *DB) LoadBalancerConfig(ctx context.Context, id string) (*metalplane.LoadBalancerConfig, error) {
	var cfg *metalplane.LoadBalancerConfig
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		cfg, err = loadBalancerConfigTx(ctx, tx, id)
		return err
	})
	return cfg, err
}

func loadBalancerConfigTx(ctx context.Context, tx *sql.Tx, id string) (*metalplane.LoadBalancerConfig, error) {
	cfg := &metalplane.LoadBalancerConfig{ID: id}
	var status string
	err := tx.QueryRowContext(ctx, `SELECT team_id, zone_id, config_version, released, status, ip_type, bandwidth_mbps FROM load_balancers WHERE id = $1`, id).
		Scan(&cfg.TeamID, &cfg.ZoneID, &cfg.Version, &cfg.Removed, &status, &cfg.IPType, &cfg.BandwidthMbps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load balancer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read load balancer %s: %w", id, err)
	}
	if cfg.Removed {
		return cfg, nil
	}
	cfg.Running = status == metalplane.LoadBalancerRunning
	if err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var addr string
		if err := rows.Scan(&addr); err != nil {
			return err
		}
		cfg.VIPs = append(cfg.VIPs, addr)
		return nil
	}, `SELECT address FROM load_balancer_vips WHERE load_balancer_id = $1 ORDER BY kind, created_at, id`, id); err != nil {
		return nil, err
	}
	listeners, err := listenersOfTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	byID := map[string]int{}
	for _, l := range listeners {
		byID[l.ID] = len(cfg.Listeners)
		cfg.Listeners = append(cfg.Listeners, metalplane.ListenerConfig{ID: l.ID, Ports: l.Ports, Protocol: l.Protocol, BackendProtocol: l.BackendProtocol,
			Scheduler: l.Scheduler, Kind: l.Kind, HealthCheck: l.HealthCheck})
	}
	err = eachRow(ctx, tx, func(rows *sql.Rows) error {
		var b metalplane.BackendConfig
		var listenerID, ports, private, public string
		if err := rows.Scan(&b.ID, &listenerID, &b.InstanceID, &ports, &b.Weight, &private, &public); err != nil {
			return err
		}
		b.Ports, b.Address = metalplane.ParsePorts(ports), private
		if b.Address == "" {
			b.Address = public
		}
		if i, ok := byID[listenerID]; ok {
			cfg.Listeners[i].Backends = append(cfg.Listeners[i].Backends, b)
		}
		return nil
	}, `SELECT b.id, b.listener_id, b.instance_id, b.ports, b.weight, i.private_ip, i.public_ipv4 FROM load_balancer_backends b
		JOIN instances i ON i.id = b.instance_id WHERE b.load_balancer_id = $1 ORDER BY b.created_at, b.id`, id)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// eachRow runs query on tx and calls fn on each row.
func eachRow(ctx context.Context, tx *sql.Tx, fn func(*sql.Rows) error, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MarkLoadBalancerApplied records that the driver applied the load
// balancer's configuration at version. A later change keeps its higher
// config_version, so it stays pending; an older version never overwrites a
// newer one.
func (db *DB) MarkLoadBalancerApplied(ctx context.Context, id string, version int64) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE load_balancers SET applied_version = $1 WHERE id = $2 AND applied_version < $1`, version, id)
	if err != nil {
		return fmt.Errorf("mark %s applied: %w", id, err)
	}
	return nil
}
