package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Listeners and backends of load balancers (loadbalancers.go). Both change
// only while their load balancer is RUNNING, under its row lock.

// ListenerCreate is the input of CreateListener; the handler has checked
// every field.
type ListenerCreate struct {
	TeamID         string
	LoadBalancerID string
	Listener       metalplane.Listener // ID is drawn here
	ClientToken    string
}

// ListenerAnswer is the answer of CreateListener.
type ListenerAnswer struct {
	ListenerID string `json:"listenerId"`
}

// CreateListener adds a listener to the team's running load balancer. A
// clientToken the team used for a listener before answers that listener
// and adds nothing. Returns OPERATION_FAILED_RESOURCE_NOT_FOUND,
// OPERATION_DENIED_INVALID_STATUS, or INVALID_PARAMETER for a port another
// listener of the load balancer forwards with the same protocol or past
// metalplane.MaxListenersPerLoadBalancer.
func (db *DB) CreateListener(ctx context.Context, in ListenerCreate) (*ListenerAnswer, error) {
	result := &ListenerAnswer{ListenerID: metalplane.NewListenerID()}
	if err := setReplayAnswer(ctx, result); err != nil {
		return nil, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if used, err := db.lockTeamForTokenTx(ctx, tx, "load_balancer_listeners", in.TeamID, in.ClientToken, func(earlier string) any {
			result.ListenerID = earlier
			return result
		}); used || err != nil {
			return err
		}
		if _, err := db.runningLoadBalancerTx(ctx, tx, in.TeamID, in.LoadBalancerID); err != nil {
			return err
		}
		others, err := listenersOfTx(ctx, tx, in.LoadBalancerID)
		if err != nil {
			return err
		}
		if len(others) >= metalplane.MaxListenersPerLoadBalancer {
			return metalplane.Errorf("INVALID_PARAMETER", "A load balancer has at most %d listeners.", metalplane.MaxListenersPerLoadBalancer)
		}
		l := in.Listener
		if err := checkPortsFree(others, "", l.Protocol, l.Ports); err != nil {
			return err
		}
		hc, notify, err := listenerJSON(&l)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO load_balancer_listeners (id, load_balancer_id, team_id, name, ports, protocol, backend_protocol, scheduler, kind,
			health_check, notify, client_token, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			result.ListenerID, in.LoadBalancerID, in.TeamID, l.Name, metalplane.PortsText(l.Ports), l.Protocol, l.BackendProtocol, l.Scheduler, l.Kind,
			hc, notify, nullString(in.ClientToken), db.Now().Unix())
		if err != nil {
			return fmt.Errorf("insert listener: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, in.LoadBalancerID)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// checkPortsFree refuses ports another listener than except forwards with
// the protocol [decision: TCP 80 and UDP 80 are two listeners' right].
func checkPortsFree(listeners []*metalplane.Listener, except, protocol string, ports []int) error {
	for _, o := range listeners {
		if o.ID == except || o.Protocol != protocol {
			continue
		}
		for _, p := range ports {
			if slices.Contains(o.Ports, p) {
				return metalplane.Errorf("INVALID_PARAMETER", "Port %d/%s is already forwarded by listener %s.", p, protocol, o.ID)
			}
		}
	}
	return nil
}

func listenerJSON(l *metalplane.Listener) (healthCheck, notify string, err error) {
	hc, err := json.Marshal(l.HealthCheck)
	if err != nil {
		return "", "", err
	}
	n, err := json.Marshal(l.Notify)
	if err != nil {
		return "", "", err
	}
	return string(hc), string(n), nil
}

const listenerColumns = `id, load_balancer_id, team_id, name, ports, protocol, backend_protocol, scheduler, kind, health_check, notify, created_at`

func scanListener(row interface{ Scan(...any) error }) (*metalplane.Listener, error) {
	var l metalplane.Listener
	var ports, hc, notify string
	var created int64
	if err := row.Scan(&l.ID, &l.LoadBalancerID, &l.TeamID, &l.Name, &ports, &l.Protocol, &l.BackendProtocol, &l.Scheduler, &l.Kind, &hc, &notify, &created); err != nil {
		return nil, err
	}
	l.Ports = metalplane.ParsePorts(ports)
	if err := json.Unmarshal([]byte(hc), &l.HealthCheck); err != nil {
		return nil, fmt.Errorf("health check of %s: %w", l.ID, err)
	}
	if err := json.Unmarshal([]byte(notify), &l.Notify); err != nil {
		return nil, fmt.Errorf("notify of %s: %w", l.ID, err)
	}
	l.CreatedAt = time.Unix(created, 0).UTC()
	return &l, nil
}

func listenersOfTx(ctx context.Context, q queryer, lbID string) ([]*metalplane.Listener, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+listenerColumns+` FROM load_balancer_listeners WHERE load_balancer_id = $1 ORDER BY created_at, id`, lbID)
	if err != nil {
		return nil, fmt.Errorf("find listeners: %w", err)
	}
	defer rows.Close()
	var out []*metalplane.Listener
	for rows.Next() {
		l, err := scanListener(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ListenerFilter selects listeners of a team's live load balancers.
type ListenerFilter struct {
	TeamID          string
	IDs             []string
	LoadBalancerIDs []string
	// Name matches listeners whose name contains it (fuzzy, docs).
	Name              string
	PageNum, PageSize int
}

// FindListeners returns one page of the team's matching listeners, oldest
// first, and the number of matches.
func (db *DB) FindListeners(ctx context.Context, f ListenerFilter) ([]*metalplane.Listener, int, error) {
	conds := []string{"team_id = $1"}
	args := []any{f.TeamID}
	in := func(col string, ids []string) {
		if len(ids) == 0 {
			return
		}
		conds = append(conds, fmt.Sprintf("%s IN (%s)", col, placeholders(len(args)+1, len(ids))))
		for _, id := range ids {
			args = append(args, id)
		}
	}
	in("id", f.IDs)
	in("load_balancer_id", f.LoadBalancerIDs)
	if f.Name != "" {
		args = append(args, f.Name)
		conds = append(conds, db.containsExpr("name", fmt.Sprintf("$%d", len(args))))
	}
	where := strings.Join(conds, " AND ")
	out := []*metalplane.Listener{}
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM load_balancer_listeners WHERE `+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("count listeners: %w", err)
		}
		limit, offset, ok := pageWindow(f.PageNum, f.PageSize, total)
		if !ok {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+listenerColumns+` FROM load_balancer_listeners WHERE `+where+
			fmt.Sprintf(` ORDER BY created_at, id LIMIT %d OFFSET %d`, limit, offset), args...)
		if err != nil {
			return fmt.Errorf("find listeners: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanListener(rows)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// ListenerUpdate changes a listener; nil fields are unchanged.
type ListenerUpdate struct {
	Name            *string
	Protocol        *string
	BackendProtocol *string
	Scheduler       *string
	Kind            *string
	HealthCheck     *metalplane.HealthCheck
	Notify          *metalplane.Notify
}

// lockListenerTx finds the team's listener and locks its running load
// balancer. Returns OPERATION_FAILED_RESOURCE_NOT_FOUND or
// OPERATION_DENIED_INVALID_STATUS.
func (db *DB) lockListenerTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.Listener, error) {
	if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
		return nil, err
	}
	l, err := scanListener(tx.QueryRowContext(ctx, `SELECT `+listenerColumns+` FROM load_balancer_listeners WHERE team_id = $1 AND id = $2`, teamID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The listener %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find listener: %w", err)
	}
	if _, err := db.runningLoadBalancerTx(ctx, tx, teamID, l.LoadBalancerID); err != nil {
		return nil, err
	}
	return l, nil
}

// ModifyListener applies the update to the team's listener. Returns
// lockListenerTx's errors, or INVALID_PARAMETER when a new protocol
// collides with another listener's ports.
func (db *DB) ModifyListener(ctx context.Context, teamID, id string, upd ListenerUpdate) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		l, err := db.lockListenerTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&l.Name, upd.Name)
		set(&l.Protocol, upd.Protocol)
		set(&l.BackendProtocol, upd.BackendProtocol)
		set(&l.Scheduler, upd.Scheduler)
		set(&l.Kind, upd.Kind)
		if upd.HealthCheck != nil {
			l.HealthCheck = *upd.HealthCheck
		}
		if upd.Notify != nil {
			l.Notify = *upd.Notify
		}
		if upd.Protocol != nil {
			others, err := listenersOfTx(ctx, tx, l.LoadBalancerID)
			if err != nil {
				return err
			}
			if err := checkPortsFree(others, l.ID, l.Protocol, l.Ports); err != nil {
				return err
			}
		}
		hc, notify, err := listenerJSON(l)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE load_balancer_listeners SET name = $1, protocol = $2, backend_protocol = $3, scheduler = $4, kind = $5,
			health_check = $6, notify = $7 WHERE id = $8`, l.Name, l.Protocol, l.BackendProtocol, l.Scheduler, l.Kind, hc, notify, id)
		if err != nil {
			return fmt.Errorf("update listener: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, l.LoadBalancerID)
	})
}

// DeleteListener deletes the team's listener with its backends
// [decision: its backends mean nothing without it]. Returns
// lockListenerTx's errors.
func (db *DB) DeleteListener(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		l, err := db.lockListenerTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM load_balancer_backends WHERE listener_id = $1`, id); err != nil {
			return fmt.Errorf("delete backends: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM load_balancer_listeners WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete listener: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, l.LoadBalancerID)
	})
}

// BackendCreate is the input of RegisterBackend.
type BackendCreate struct {
	TeamID      string
	ListenerID  string
	InstanceID  string
	Name        string
	Ports       []int // none: the listener's
	Weight      int
	ClientToken string
}

// BackendAnswer is the answer of RegisterBackend.
type BackendAnswer struct {
	BackendID string `json:"backendId"`
}

// RegisterBackend adds an instance of the team to the listener. A
// clientToken the team used for a backend before answers that backend.
// Returns lockListenerTx's errors, INVALID_INSTANCE_NOT_FOUND (unknown,
// another team's or released), OPERATION_DENIED_INSTANCE_RECYCLED,
// OPERATION_DENIED_INSTANCE_STATUS for a failed provision,
// OPERATION_DENIED_DIFFERENT_ZONE, and INVALID_PARAMETER when the instance
// is a backend of the listener already or the listener is full.
func (db *DB) RegisterBackend(ctx context.Context, in BackendCreate) (*BackendAnswer, error) {
	result := &BackendAnswer{BackendID: metalplane.NewBackendID()}
	if err := setReplayAnswer(ctx, result); err != nil {
		return nil, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if used, err := db.lockTeamForTokenTx(ctx, tx, "load_balancer_backends", in.TeamID, in.ClientToken, func(earlier string) any {
			result.BackendID = earlier
			return result
		}); used || err != nil {
			return err
		}
		// The instance's lock before the load balancer's: releasing an
		// instance locks it, then its load balancers (it deregisters its
		// backends), and the other order could deadlock on PostgreSQL.
		var zoneID, lbZone, status string
		err := tx.QueryRowContext(ctx, `SELECT zone_id, status FROM instances WHERE team_id = $1 AND id = $2 AND released = $3`+db.forUpdate(),
			in.TeamID, in.InstanceID, false).Scan(&zoneID, &status)
		noInstance := errors.Is(err, sql.ErrNoRows)
		if err != nil && !noInstance {
			return fmt.Errorf("find instance: %w", err)
		}
		l, err := db.lockListenerTx(ctx, tx, in.TeamID, in.ListenerID)
		if err != nil {
			return err
		}
		if noInstance {
			return metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", in.InstanceID)
		}
		switch metalplane.InstanceStatus(status) {
		case metalplane.StatusRecycle:
			return metalplane.Errorf("OPERATION_DENIED_INSTANCE_RECYCLED", "The instance %s is in the recycle bin.", in.InstanceID)
		case metalplane.StatusCreateFailed:
			return metalplane.Errorf("OPERATION_DENIED_INSTANCE_STATUS", "The instance %s failed to be created.", in.InstanceID)
		}
		if err := tx.QueryRowContext(ctx, `SELECT zone_id FROM load_balancers WHERE id = $1`, l.LoadBalancerID).Scan(&lbZone); err != nil {
			return fmt.Errorf("find load balancer zone: %w", err)
		}
		if zoneID != lbZone {
			return metalplane.Errorf("OPERATION_DENIED_DIFFERENT_ZONE", "The instance %s is in %s, the load balancer in %s.", in.InstanceID, zoneID, lbZone)
		}
		var n, same int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN instance_id = $2 THEN 1 ELSE 0 END), 0) FROM load_balancer_backends WHERE listener_id = $1`,
			in.ListenerID, in.InstanceID).Scan(&n, &same); err != nil {
			return fmt.Errorf("count backends: %w", err)
		}
		if same > 0 {
			return metalplane.Errorf("INVALID_PARAMETER", "The instance %s is a backend of the listener %s already.", in.InstanceID, in.ListenerID)
		}
		if n >= metalplane.MaxBackendsPerListener {
			return metalplane.Errorf("INVALID_PARAMETER", "A listener has at most %d backends.", metalplane.MaxBackendsPerListener)
		}
		ports := in.Ports
		if len(ports) == 0 {
			ports = l.Ports
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO load_balancer_backends (id, listener_id, load_balancer_id, team_id, instance_id, name, ports, weight, client_token, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			result.BackendID, l.ID, l.LoadBalancerID, in.TeamID, in.InstanceID, in.Name, metalplane.PortsText(ports), in.Weight, nullString(in.ClientToken), db.Now().Unix())
		if err != nil {
			return fmt.Errorf("insert backend: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, l.LoadBalancerID)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

const backendColumns = `b.id, b.listener_id, b.load_balancer_id, b.team_id, b.instance_id, i.name, b.name, b.ports, b.weight, b.created_at`

const backendFrom = ` FROM load_balancer_backends b JOIN instances i ON i.id = b.instance_id`

func scanBackend(row interface{ Scan(...any) error }) (*metalplane.Backend, error) {
	var b metalplane.Backend
	var ports string
	var created int64
	if err := row.Scan(&b.ID, &b.ListenerID, &b.LoadBalancerID, &b.TeamID, &b.InstanceID, &b.InstanceName, &b.Name, &ports, &b.Weight, &created); err != nil {
		return nil, err
	}
	b.Ports = metalplane.ParsePorts(ports)
	b.CreatedAt = time.Unix(created, 0).UTC()
	return &b, nil
}

// BackendFilter selects backends of a team.
type BackendFilter struct {
	TeamID          string
	ListenerID      string
	LoadBalancerIDs []string
	IDs             []string
	// Name matches exactly.
	Name              string
	PageNum, PageSize int
}

// FindBackends returns one page of the team's matching backends, oldest
// first, and the number of matches.
func (db *DB) FindBackends(ctx context.Context, f BackendFilter) ([]*metalplane.Backend, int, error) {
	conds := []string{"b.team_id = $1"}
	args := []any{f.TeamID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	in := func(col string, ids []string) {
		if len(ids) == 0 {
			return
		}
		conds = append(conds, fmt.Sprintf("%s IN (%s)", col, placeholders(len(args)+1, len(ids))))
		for _, id := range ids {
			args = append(args, id)
		}
	}
	in("b.id", f.IDs)
	in("b.load_balancer_id", f.LoadBalancerIDs)
	if f.ListenerID != "" {
		conds = append(conds, "b.listener_id = "+arg(f.ListenerID))
	}
	if f.Name != "" {
		conds = append(conds, "b.name = "+arg(f.Name))
	}
	where := strings.Join(conds, " AND ")
	out := []*metalplane.Backend{}
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+backendFrom+` WHERE `+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("count backends: %w", err)
		}
		limit, offset, ok := pageWindow(f.PageNum, f.PageSize, total)
		if !ok {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+backendColumns+backendFrom+` WHERE `+where+
			fmt.Sprintf(` ORDER BY b.created_at, b.id LIMIT %d OFFSET %d`, limit, offset), args...)
		if err != nil {
			return fmt.Errorf("find backends: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBackend(rows)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// lockBackendTx finds the team's backend and locks its running load
// balancer. Returns OPERATION_FAILED_RESOURCE_NOT_FOUND or
// OPERATION_DENIED_INVALID_STATUS.
func (db *DB) lockBackendTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.Backend, error) {
	if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
		return nil, err
	}
	b, err := scanBackend(tx.QueryRowContext(ctx, `SELECT `+backendColumns+backendFrom+` WHERE b.team_id = $1 AND b.id = $2`, teamID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The backend %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find backend: %w", err)
	}
	if _, err := db.runningLoadBalancerTx(ctx, tx, teamID, b.LoadBalancerID); err != nil {
		return nil, err
	}
	return b, nil
}

// ModifyBackendWeight sets the weight of the team's backend. Returns
// lockBackendTx's errors.
func (db *DB) ModifyBackendWeight(ctx context.Context, teamID, id string, weight int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		b, err := db.lockBackendTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE load_balancer_backends SET weight = $1 WHERE id = $2`, weight, id); err != nil {
			return fmt.Errorf("update weight: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, b.LoadBalancerID)
	})
}

// DeregisterBackend removes the team's backend. Returns lockBackendTx's
// errors.
func (db *DB) DeregisterBackend(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		b, err := db.lockBackendTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM load_balancer_backends WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete backend: %w", err)
		}
		return touchLoadBalancerTx(ctx, tx, b.LoadBalancerID)
	})
}

// deregisterInstanceBackendsTx removes every backend of an instance that
// is being released: a backend is a live instance of its team (audited).
func deregisterInstanceBackendsTx(ctx context.Context, tx *sql.Tx, instanceID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE load_balancers SET config_version = config_version + 1
		WHERE id IN (SELECT load_balancer_id FROM load_balancer_backends WHERE instance_id = $1)`, instanceID); err != nil {
		return fmt.Errorf("touch load balancers of %s: %w", instanceID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM load_balancer_backends WHERE instance_id = $1`, instanceID); err != nil {
		return fmt.Errorf("deregister backends of %s: %w", instanceID, err)
	}
	return nil
}

// lockTeamForTokenTx starts a create that takes a clientToken: it takes
// the team's lock and, when the team made a row of table with the token
// before, stores answer(its ID) as the signed request's answer and
// reports used, so that the caller makes nothing.
func (db *DB) lockTeamForTokenTx(ctx context.Context, tx *sql.Tx, table, teamID, token string, answer func(earlier string) any) (used bool, err error) {
	if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
		return false, err
	}
	earlier, err := earlierByToken(ctx, tx, table, teamID, token)
	if err != nil || earlier == "" {
		return false, err
	}
	return true, db.replaceReplayAnswerTx(ctx, tx, answer(earlier))
}

// earlierByToken returns the ID of the team's row of table (a load
// balancer, listener or backend) made with the clientToken, or "" when
// there is none or no token. The caller holds the team lock, so a token
// cannot be taken between this look and its insert.
func earlierByToken(ctx context.Context, tx *sql.Tx, table, teamID, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE team_id = $1 AND client_token = $2`, teamID, token).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find client token in %s: %w", table, err)
	}
	return id, nil
}
