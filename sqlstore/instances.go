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

// instanceColumns are read by scanInstance; secrets are never selected
// here (see FindProvisionSecrets).
const instanceColumns = `id, team_id, order_number, zone_id, instance_type_id, host_id, name, hostname, image_id, ipxe_url,
	charge_type, period, auto_renew, internet_charge_type, bandwidth_out_mbps, traffic_package_tb, cluster_id, resource_group_id, key_id, status,
	failure_reason, public_ipv4, public_ipv6, private_ip, subnet_id, raid_config, partitions, wan_name, lan_name, tags, enable_gateway_mode,
	create_time, expired_time`

// scanInstance reads a row of instanceColumns.
func scanInstance(row interface{ Scan(...any) error }) (*metalplane.Instance, error) {
	return newInstanceScanner().scan(row)
}

// instanceScanner reads rows of instanceColumns (or of
// listedInstanceColumns), then of any extra columns, through one list of
// destinations made once for all the rows of a query: built per row, the
// list and the values it points to were a third of the bytes
// DescribeInstances allocated.
type instanceScanner struct {
	in                                  metalplane.Instance
	status, raid, parts, wan, lan, tags string
	// int64, not int: database/sql turns a driver's int64 into an int
	// through its decimal text, an allocation per column and row.
	created, expired, period, bandwidth int64
	dest                                []any
}

func newInstanceScanner(extra ...any) *instanceScanner {
	s := &instanceScanner{}
	in := &s.in
	s.dest = append([]any{&in.ID, &in.TeamID, &in.OrderNumber, &in.ZoneID, &in.InstanceTypeID, &in.HostID, &in.Name, &in.Hostname, &in.ImageID, &in.IpxeURL,
		&in.ChargeType, &s.period, &in.AutoRenew, &in.InternetChargeType, &s.bandwidth, &in.TrafficPackageTB, &in.ClusterID, &in.ResourceGroupID, &in.KeyID, &s.status,
		&in.FailureReason, &in.PublicIPv4, &in.PublicIPv6, &in.PrivateIP, &in.SubnetID, &s.raid, &s.parts, &s.wan, &s.lan, &s.tags, &in.EnableGatewayMode,
		&s.created, &s.expired}, extra...)
	return s
}

// scan reads one row into a new instance.
func (s *instanceScanner) scan(row interface{ Scan(...any) error }) (*metalplane.Instance, error) {
	in := new(metalplane.Instance)
	if err := s.scanTo(row, in); err != nil {
		return nil, err
	}
	return in, nil
}

// scanTo reads one row into in, which it overwrites whole (the columns
// not read are left zero).
func (s *instanceScanner) scanTo(row interface{ Scan(...any) error }, in *metalplane.Instance) error {
	s.in = metalplane.Instance{}
	if err := row.Scan(s.dest...); err != nil {
		return err
	}
	*in = s.in // a copy: the next row is scanned into s.in
	in.Status = metalplane.InstanceStatus(s.status)
	in.Period, in.BandwidthOutMbps = int(s.period), int(s.bandwidth)
	wan, lan := s.wan, s.lan
	in.Nic = metalplane.Nic{WanName: &wan, LanName: &lan}
	if s.raid != "" {
		if err := json.Unmarshal([]byte(s.raid), &in.RaidConfig); err != nil {
			return fmt.Errorf("instance %s raid_config: %w", in.ID, err)
		}
	}
	if s.parts != "" {
		if err := json.Unmarshal([]byte(s.parts), &in.Partitions); err != nil {
			return fmt.Errorf("instance %s partitions: %w", in.ID, err)
		}
	}
	if s.tags != "" {
		if err := json.Unmarshal([]byte(s.tags), &in.Tags); err != nil {
			return fmt.Errorf("instance %s tags: %w", in.ID, err)
		}
	}
	in.CreateTime = time.Unix(s.created, 0).UTC()
	if s.expired > 0 {
		in.ExpiredTime = time.Unix(s.expired, 0).UTC()
	}
	return nil
}

// InstanceFilter selects a team's live (not released) instances; empty
// fields match everything. Name and Hostname ending in * match by prefix.
type InstanceFilter struct {
	TeamID             string
	IDs                []string
	ZoneID             string
	ResourceGroupID    string
	InstanceTypeID     string
	InternetChargeType string
	ImageID            string
	SubnetID           string
	Status             string
	Name               string
	Hostname           string
	PublicIPs          []string
	PrivateIPs         []string
	TagKeys            []string
	Tags               [][2]string
	// ZoneIDs keeps instances in one of these zones (DescribeManagedInstances'
	// facName and cityCode); nil filters nothing.
	ZoneIDs []string
	// Offset and Limit page the result; Limit 0 means no limit.
	Offset int
	Limit  int
}

// where builds the WHERE clause of a filter.
func (f *InstanceFilter) where() (string, []any) {
	conds := []string{"team_id = $1", "released = $2"}
	args := []any{f.TeamID, false}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	in := func(col string, vals []string) {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		conds = append(conds, col+" IN ("+strings.Join(ph, ", ")+")")
	}
	if len(f.IDs) > 0 {
		in("id", f.IDs)
	}
	if f.ZoneIDs != nil {
		in("zone_id", append(append([]string{}, f.ZoneIDs...), "")) // "" is no zone: an empty list matches nothing
	}
	for _, eq := range []struct{ col, v string }{
		{"zone_id", f.ZoneID}, {"resource_group_id", f.ResourceGroupID}, {"instance_type_id", f.InstanceTypeID},
		{"internet_charge_type", f.InternetChargeType}, {"image_id", f.ImageID}, {"subnet_id", f.SubnetID}, {"status", f.Status},
	} {
		if eq.v != "" {
			conds = append(conds, eq.col+" = "+arg(eq.v))
		}
	}
	for _, m := range []struct{ col, v string }{{"name", f.Name}, {"hostname", f.Hostname}} {
		switch {
		case m.v == "":
		case strings.HasSuffix(m.v, "*"):
			// Prefix match as a range, so the (team_id, name) index serves
			// it on both databases without LIKE escaping rules.
			prefix := strings.TrimSuffix(m.v, "*")
			if prefix != "" {
				conds = append(conds, m.col+" >= "+arg(prefix), m.col+" < "+arg(prefix+"\U0010FFFF"))
			}
		default:
			conds = append(conds, m.col+" = "+arg(m.v))
		}
	}
	if len(f.PublicIPs) > 0 {
		ph := make([]string, len(f.PublicIPs))
		for i, v := range f.PublicIPs {
			ph[i] = arg(v)
		}
		list := strings.Join(ph, ", ")
		conds = append(conds, "(public_ipv4 IN ("+list+") OR public_ipv6 IN ("+list+"))")
	}
	if len(f.PrivateIPs) > 0 {
		in("private_ip", f.PrivateIPs)
	}
	for _, k := range f.TagKeys {
		conds = append(conds, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = instances.id AND t.tag_key = "+arg(k)+")")
	}
	for _, kv := range f.Tags {
		conds = append(conds, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = instances.id AND t.tag_key = "+arg(kv[0])+" AND t.tag_value = "+arg(kv[1])+")")
	}
	return strings.Join(conds, " AND "), args
}

// countQuery returns the query that counts the filter's matches and its
// parameters. A count of the instances uses where's parameters, whereArgs.
// A sum of instance_counts serves instead when every filter is one of the
// columns those counts are grouped by (a table kept by triggers on
// SQLite, migration 0009; a view summing differences on PostgreSQL,
// 0035): it appends its own parameters to args, numbered after them
// (args is whereArgs when the count is part of the page's statement, nil
// when it stands alone: PostgreSQL refuses a parameter a statement does
// not name).
func (f *InstanceFilter) countQuery(where string, whereArgs, args []any) (string, []any) {
	if len(f.IDs) > 0 || f.ZoneIDs != nil || f.ImageID != "" || f.SubnetID != "" || f.Name != "" || f.Hostname != "" ||
		len(f.PublicIPs) > 0 || len(f.PrivateIPs) > 0 || len(f.TagKeys) > 0 || len(f.Tags) > 0 {
		return `SELECT COUNT(*) FROM instances WHERE ` + where, whereArgs
	}
	args = append(args, f.TeamID)
	q := fmt.Sprintf(`SELECT COALESCE(SUM(n), 0) FROM instance_counts WHERE team_id = $%d`, len(args))
	for _, eq := range []struct{ col, v string }{
		{"zone_id", f.ZoneID}, {"resource_group_id", f.ResourceGroupID}, {"instance_type_id", f.InstanceTypeID},
		{"internet_charge_type", f.InternetChargeType}, {"status", f.Status},
	} {
		if eq.v != "" {
			args = append(args, eq.v)
			q += fmt.Sprintf(" AND %s = $%d", eq.col, len(args))
		}
	}
	return q, args
}

// FindInstances returns the page of matching instances, oldest first, and
// the number of matches. One statement answers both: each row of the
// page carries the count, which the database computes once. Only an empty
// page (no match, or a page past the last) needs the count on its own.
func (db *DB) FindInstances(ctx context.Context, f InstanceFilter) ([]*metalplane.Instance, int, error) {
	return db.findInstances(ctx, f, instanceColumns, newInstanceScanner)
}

// findInstances is FindInstances reading columns with the scanner that
// newScanner makes for them.
func (db *DB) findInstances(ctx context.Context, f InstanceFilter, columns string, newScanner func(extra ...any) *instanceScanner) ([]*metalplane.Instance, int, error) {
	where, whereArgs := f.where()
	whereArgs = slices.Clip(whereArgs) // the appends below copy: whereArgs is used again
	countQ, args := f.countQuery(where, whereArgs, whereArgs)
	q := `SELECT ` + columns + `, (` + countQ + `) FROM instances WHERE ` + where + ` ORDER BY create_time, id`
	if f.Limit > 0 {
		// Parameters, not text: one prepared statement serves every page.
		args = append(args, f.Limit, f.Offset)
		q += fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	}
	rows, err := db.readRows(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find instances: %w", err)
	}
	defer rows.Close()
	// The page's instances share one allocation.
	page := make([]metalplane.Instance, 0, min(max(f.Limit, 1), 100))
	var total64 int64 // int64: see instanceScanner
	scanner := newScanner(&total64)
	for rows.Next() {
		page = append(page, metalplane.Instance{})
		if err := scanner.scanTo(rows, &page[len(page)-1]); err != nil {
			return nil, 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find instances: %w", err)
	}
	total := int(total64)
	if len(page) == 0 {
		countQ, args := f.countQuery(where, whereArgs, nil)
		if err := db.readRow(ctx, countQ, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count instances: %w", err)
		}
	}
	out := make([]*metalplane.Instance, len(page))
	for i := range page {
		out[i] = &page[i]
	}
	return out, total, nil
}

// FindInstance returns the team's live instance. Returns
// INVALID_INSTANCE_NOT_FOUND.
func (db *DB) FindInstance(ctx context.Context, teamID, id string) (*metalplane.Instance, error) {
	in, err := scanInstance(db.readRow(ctx, `SELECT `+instanceColumns+` FROM instances WHERE team_id = $1 AND id = $2 AND released = $3`, teamID, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", id)
	}
	return in, err
}

// FindInstanceByID returns any instance by id, released or not (operators
// and workers).
func (db *DB) FindInstanceByID(ctx context.Context, id string) (*metalplane.Instance, error) {
	in, err := scanInstance(db.SQL.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return in, err
}

// Event is one recorded transition of an instance.
type Event struct {
	InstanceID string
	At         time.Time
	Kind       string
	Step       string
	Driver     string
	Detail     string
}

// InstanceEvents returns the history of an instance, oldest first.
func (db *DB) InstanceEvents(ctx context.Context, instanceID string) ([]Event, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT instance_id, at_ms, kind, step, driver, detail FROM instance_events WHERE instance_id = $1 ORDER BY id`, instanceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.InstanceID, &at, &e.Kind, &e.Step, &e.Driver, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
