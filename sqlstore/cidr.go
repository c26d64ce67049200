package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// CIDR blocks (metalplane.CidrBlock): carving from the zone pools, BYOIP,
// bindings of block addresses to instances, and their charges.

// BlockIPsEnqueueFunc enqueues, in tx, the job that makes the driver
// configure the block addresses of each instance (provision.BlockIPsArgs).
type BlockIPsEnqueueFunc func(ctx context.Context, tx *sql.Tx, instanceIDs []string) error

// CidrBlocksCreate is the input of CreateCidrBlocks; the handler has
// checked the zone, the netmask, the name and the prices.
type CidrBlocksCreate struct {
	// IDs are the new blocks' IDs, one per block, drawn by the caller so
	// that the answer stored for a retry names them.
	IDs         []string
	OrderNumber string
	TeamID      string
	ZoneID      string
	Family      int
	Bits        int
	CidrType    string
	// Name is the blocks' name; "" names each after its CIDR.
	Name       string
	ChargeType string
	Period     int
	// PeriodPrice and HourlyPrice are one block's prices.
	PeriodPrice     metalplane.Money
	HourlyPrice     metalplane.Money
	ResourceGroupID string
	Tags            []metalplane.Tag
}

// CreateCidrBlocks carves len(in.IDs) aligned, contiguous, free blocks of
// /in.Bits from the zone's pools, holds their addresses and charges them.
// Returns OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND,
// INVALID_CHARGE_TYPE_NOT_SUPPORT (POSTPAID not enabled for the team),
// OPERATION_DENIED_NETMASK_OUT_OF_STOCK (IPv4, no block free) or
// RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT (fewer than asked; IPv6: none),
// then OPERATION_DENIED_BALANCE_INSUFFICIENT; nothing is written on error.
func (db *DB) CreateCidrBlocks(ctx context.Context, in CidrBlocksCreate) ([]*metalplane.CidrBlock, error) {
	var out []*metalplane.CidrBlock
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		// The team's row is read here without a lock and locked after
		// the carving: purchases on PostgreSQL hold the pool addresses
		// they picked and then lock the team (create_pg.go), so a block
		// that locked the team first and then waited for one of those
		// addresses would deadlock with them.
		team, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`, in.TeamID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("team %q: %w", in.TeamID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		g, err := db.blockResourceGroupTx(ctx, tx, in.TeamID, in.ResourceGroupID)
		if err != nil {
			return err
		}
		if in.ChargeType == metalplane.ChargeTypePostpaid && in.HourlyPrice > 0 && !team.PostpaidAllowed {
			return metalplane.Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "POSTPAID is not enabled for this account.")
		}
		if err := db.lockNamedTx(ctx, tx, "cidr-pool:"+in.ZoneID); err != nil {
			return err
		}
		free, err := loadFreeAddrs(ctx, tx, in.ZoneID, in.Family)
		if err != nil {
			return err
		}
		prefixes := make([]netip.Prefix, 0, len(in.IDs))
		for _, id := range in.IDs {
			p, ok, err := db.carveBlockTx(ctx, tx, free, in.ZoneID, in.Bits, id)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			prefixes = append(prefixes, p)
		}
		if len(prefixes) < len(in.IDs) {
			if len(prefixes) == 0 && in.Family == 4 {
				return metalplane.Errorf("OPERATION_DENIED_NETMASK_OUT_OF_STOCK", "No /%d block is free in %s.", in.Bits, in.ZoneID)
			}
			return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d /%d blocks are free in %s.", len(prefixes), in.Bits, in.ZoneID)
		}
		total, ok := in.PeriodPrice.Times(int64(len(in.IDs)))
		if !ok {
			return metalplane.Errorf("INVALID_PARAMETER", "The order total is out of range.")
		}
		if team, err = db.findTeamTx(ctx, tx, in.TeamID); err != nil {
			return err
		}
		if in.ChargeType != metalplane.ChargeTypePrepaid {
			total = 0
			if in.HourlyPrice > 0 && team.Balance <= 0 {
				return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "POSTPAID blocks need a positive balance.")
			}
		} else if team.Balance < total {
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "The order costs %s; the balance is %s.", total, team.Balance)
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			in.OrderNumber, team.ID, in.ChargeType, len(in.IDs), int64(total), now.Unix()); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		for i, id := range in.IDs {
			b := &metalplane.CidrBlock{
				ID: id, TeamID: in.TeamID, ZoneID: in.ZoneID, Family: in.Family, CidrType: in.CidrType, Source: metalplane.CidrSourcePool,
				CIDR: prefixes[i].String(), Name: in.Name, Status: metalplane.CidrBlockAvailable, ChargeType: in.ChargeType,
				OrderNumber: in.OrderNumber, PeriodPrice: in.PeriodPrice, HourlyPrice: in.HourlyPrice, ResourceGroupID: g.ID,
				Tags: in.Tags, CreatedAt: now,
			}
			if b.Name == "" {
				b.Name = b.CIDR
			}
			if in.ChargeType == metalplane.ChargeTypePrepaid {
				b.Period = in.Period
				b.ExpiredAt = now.AddDate(0, in.Period, 0)
				if in.PeriodPrice > 0 {
					if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: team.ID, Amount: -in.PeriodPrice, Kind: metalplane.LedgerPrepaidCharge,
						OrderNumber: in.OrderNumber, Note: fmt.Sprintf("CIDR block %s (%s) for %d months", id, b.CIDR, in.Period)}); err != nil {
						return err
					}
				}
			} else {
				b.PeriodPrice = 0
			}
			if err := db.insertBlockTx(ctx, tx, b, int(metalplane.BlockSize(prefixes[i]))); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ByoipCreate is the input of CreateByoip; the handler has checked the
// prefix (metalplane.ValidateByoip), the zone and the pools.
type ByoipCreate struct {
	ID, ByoipID              string
	TeamID                   string
	ZoneID                   string
	Prefix                   netip.Prefix
	ASN                      int64
	PublicVirtualInterfaceID string
}

// CreateByoip stores a BYOIP block of the team, free of charge
// ([decision]: the addresses are the customer's). Returns INVALID_PARAMETER
// when the prefix overlaps a live block of any team (checked under a
// lock, so two concurrent calls cannot both pass).
func (db *DB) CreateByoip(ctx context.Context, in ByoipCreate) (*metalplane.CidrBlock, error) {
	var out *metalplane.CidrBlock
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, in.TeamID); err != nil {
			return err
		}
		g, err := db.defaultResourceGroup(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		if err := db.lockNamedTx(ctx, tx, "cidr-byoip"); err != nil {
			return err
		}
		cidrs, err := queryStrings(ctx, tx, `SELECT cidr FROM cidr_blocks WHERE released = $1 AND source = $2`, false, metalplane.CidrSourceBYOIP)
		if err != nil {
			return fmt.Errorf("read BYOIP blocks: %w", err)
		}
		for _, c := range cidrs {
			if q, err := netip.ParsePrefix(c); err == nil && q.Overlaps(in.Prefix) {
				return metalplane.Errorf("INVALID_PARAMETER", "The cidr %s overlaps a block that is already in use.", in.Prefix)
			}
		}
		now := db.Now()
		out = &metalplane.CidrBlock{
			ID: in.ID, TeamID: in.TeamID, ZoneID: in.ZoneID, Family: 4, CidrType: metalplane.CidrTypeBGP, Source: metalplane.CidrSourceBYOIP,
			ByoipID: in.ByoipID, ASN: in.ASN, PublicVirtualInterfaceID: in.PublicVirtualInterfaceID, CIDR: in.Prefix.String(),
			Name: in.Prefix.String(), Status: metalplane.CidrBlockAvailable, ChargeType: metalplane.ChargeTypePostpaid,
			ResourceGroupID: g.ID, CreatedAt: now,
		}
		return db.insertBlockTx(ctx, tx, out, int(metalplane.BlockSize(in.Prefix)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) blockResourceGroupTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.ResourceGroup, error) {
	if id == "" {
		return db.defaultResourceGroup(ctx, tx, teamID)
	}
	return db.findResourceGroup(ctx, tx, teamID, id)
}

func (db *DB) insertBlockTx(ctx context.Context, tx *sql.Tx, b *metalplane.CidrBlock, size int) error {
	tags := jsonOrEmpty(b.Tags)
	// A block that costs nothing per hour has no hourly billing to sweep.
	closed := b.ChargeType != metalplane.ChargeTypePostpaid || b.HourlyPrice == 0
	_, err := tx.ExecContext(ctx, `INSERT INTO cidr_blocks (id, team_id, zone_id, family, cidr_type, source, byoip_id, asn, public_vif_id, cidr,
		address_count, name, status, charge_type, period, order_number, period_price, hourly_price, hourly_closed, resource_group_id, tags,
		created_at, expired_at, recycled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		b.ID, b.TeamID, b.ZoneID, b.Family, b.CidrType, b.Source, b.ByoipID, b.ASN, b.PublicVirtualInterfaceID, b.CIDR,
		size, b.Name, b.Status, b.ChargeType, b.Period, b.OrderNumber, int64(b.PeriodPrice), int64(b.HourlyPrice), closed, b.ResourceGroupID, tags,
		b.CreatedAt.Unix(), unixOf(b.ExpiredAt), unixOf(b.RecycledAt))
	if isUniqueViolation(err) {
		return metalplane.Errorf("INVALID_PARAMETER", "The cidr %s is already in use.", b.CIDR)
	}
	if err != nil {
		return fmt.Errorf("insert CIDR block: %w", err)
	}
	return nil
}

func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// lockNamedTx serialises transactions that take the same name until they
// end. SQLite has one writer already; PostgreSQL takes a transaction-scoped
// advisory lock.
func (db *DB) lockNamedTx(ctx context.Context, tx *sql.Tx, name string) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// freeAddrs are a zone's free pool addresses of one family, with their seq.
type freeAddrs map[netip.Addr]int64

func loadFreeAddrs(ctx context.Context, q queryer, zoneID string, family int) (freeAddrs, error) {
	rows, err := q.QueryContext(ctx, `SELECT address, seq FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3`,
		zoneID, family, false)
	if err != nil {
		return nil, fmt.Errorf("read free addresses: %w", err)
	}
	defer rows.Close()
	free := freeAddrs{}
	for rows.Next() {
		var s string
		var seq int64
		if err := rows.Scan(&s, &seq); err != nil {
			return nil, err
		}
		if a, err := netip.ParseAddr(s); err == nil {
			free[a] = seq
		}
	}
	return free, rows.Err()
}

// candidates returns the aligned /bits blocks whose every address is free
// and in one pool (consecutive seq), highest first: instances take the
// lowest addresses, so blocks from the top fragment the pools least.
func (f freeAddrs) candidates(bits int) []netip.Prefix {
	var out []netip.Prefix
	for a := range f {
		p := netip.PrefixFrom(a, bits)
		if p.Masked().Addr() != a {
			continue
		}
		if f.whole(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int { return y.Addr().Compare(x.Addr()) })
	return out
}

// whole reports whether every address of p is free, with consecutive seq.
func (f freeAddrs) whole(p netip.Prefix) bool {
	size := metalplane.BlockSize(p)
	a := p.Addr()
	first, ok := f[a]
	if !ok {
		return false
	}
	for i := int64(0); i < size; i++ {
		seq, ok := f[a]
		if !ok || seq != first+i {
			return false
		}
		a = a.Next()
	}
	return true
}

// carveBlockTx holds the highest free /bits block for blockID and removes
// its addresses from free; ok is false when none is left. The hold is a
// conditional UPDATE: an address an instance took since free was read (on
// PostgreSQL instances pick addresses without this lock) is not held, the
// shortfall shows in the row count, and the next candidate is tried.
func (db *DB) carveBlockTx(ctx context.Context, tx *sql.Tx, free freeAddrs, zoneID string, bits int, blockID string) (netip.Prefix, bool, error) {
	for _, p := range free.candidates(bits) {
		size := metalplane.BlockSize(p)
		first := free[p.Addr()]
		res, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = $1 WHERE zone_id = $2 AND seq BETWEEN $3 AND $4
			AND instance_id IS NULL AND held_by IS NULL AND retired = $5`, blockID, zoneID, first, first+size-1, false)
		if err != nil {
			return netip.Prefix{}, false, fmt.Errorf("hold %s: %w", p, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return netip.Prefix{}, false, err
		}
		a := p.Addr()
		for range size {
			delete(free, a)
			a = a.Next()
		}
		if n == size {
			return p, true, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = NULL WHERE held_by = $1`, blockID); err != nil {
			return netip.Prefix{}, false, fmt.Errorf("undo partial hold of %s: %w", p, err)
		}
	}
	return netip.Prefix{}, false, nil
}

// CidrStock counts, for each prefix length of bits, the free blocks of
// that length in a zone's pools of family (each count on its own: blocks
// of different lengths overlap).
func (db *DB) CidrStock(ctx context.Context, zoneID string, family int, bits ...int) (map[int]int, error) {
	out := make(map[int]int, len(bits))
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		free, err := loadFreeAddrs(ctx, tx, zoneID, family)
		if err != nil {
			return err
		}
		// Candidates of one length overlap only when they are the same
		// block, since all are aligned to that length.
		for _, b := range bits {
			out[b] = len(free.candidates(b))
		}
		return nil
	})
	return out, err
}

// CidrBlockFilter selects a team's live blocks. Empty fields do not
// filter.
type CidrBlockFilter struct {
	TeamID string
	IDs    []string
	// CIDR, Name, ZoneID, Gateway, ChargeType and ResourceGroupID match
	// exactly; Family 4 or 6 keeps one family.
	CIDR, Name, ZoneID, Gateway, ChargeType, ResourceGroupID string
	Family                                                   int
	// TagKeys keeps blocks holding every key; Tags every key and value.
	TagKeys []string
	Tags    []metalplane.Tag
	// PageNum (from 1) and PageSize select one page; 0 returns all.
	PageNum, PageSize int
}

const cidrBlockColumns = `id, team_id, zone_id, family, cidr_type, source, byoip_id, asn, public_vif_id, cidr, name, status, charge_type,
	period, order_number, period_price, hourly_price, resource_group_id, tags, created_at, expired_at, recycled_at`

func scanCidrBlock(row interface{ Scan(...any) error }) (*metalplane.CidrBlock, error) {
	var b metalplane.CidrBlock
	var periodPrice, hourlyPrice, created, expired, recycled int64
	var tags string
	if err := row.Scan(&b.ID, &b.TeamID, &b.ZoneID, &b.Family, &b.CidrType, &b.Source, &b.ByoipID, &b.ASN, &b.PublicVirtualInterfaceID,
		&b.CIDR, &b.Name, &b.Status, &b.ChargeType, &b.Period, &b.OrderNumber, &periodPrice, &hourlyPrice, &b.ResourceGroupID, &tags,
		&created, &expired, &recycled); err != nil {
		return nil, err
	}
	b.PeriodPrice, b.HourlyPrice = metalplane.Money(periodPrice), metalplane.Money(hourlyPrice)
	b.CreatedAt = time.Unix(created, 0).UTC()
	b.ExpiredAt, b.RecycledAt = unixOrZero(expired).UTC(), unixOrZero(recycled).UTC()
	if expired == 0 {
		b.ExpiredAt = time.Time{}
	}
	if recycled == 0 {
		b.RecycledAt = time.Time{}
	}
	if tags != "" {
		if err := json.Unmarshal([]byte(tags), &b.Tags); err != nil {
			return nil, fmt.Errorf("block %s tags: %w", b.ID, err)
		}
	}
	return &b, nil
}

// FindCidrBlocks returns one page of the team's matching live blocks,
// oldest first, and the number of matches on all pages.
func (db *DB) FindCidrBlocks(ctx context.Context, f CidrBlockFilter) ([]*metalplane.CidrBlock, int, error) {
	conds := []string{"team_id = $1", "released = $2"}
	args := []any{f.TeamID, false}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.IDs) > 0 {
		ph := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ph[i] = arg(id)
		}
		conds = append(conds, "id IN ("+strings.Join(ph, ", ")+")")
	}
	for _, eq := range []struct{ col, v string }{
		{"cidr", f.CIDR}, {"name", f.Name}, {"zone_id", f.ZoneID}, {"charge_type", f.ChargeType}, {"resource_group_id", f.ResourceGroupID},
	} {
		if eq.v != "" {
			conds = append(conds, eq.col+" = "+arg(eq.v))
		}
	}
	if f.Family != 0 {
		conds = append(conds, "family = "+arg(f.Family))
	}
	var all []*metalplane.CidrBlock
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+cidrBlockColumns+` FROM cidr_blocks WHERE `+strings.Join(conds, " AND ")+` ORDER BY created_at, id`, args...)
		if err != nil {
			return fmt.Errorf("find CIDR blocks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanCidrBlock(rows)
			if err != nil {
				return err
			}
			all = append(all, b)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	// The gateway and tag filters need the parsed block and tags; a team
	// holds few blocks, so they are applied here, before paging.
	matched := all[:0]
	for _, b := range all {
		if f.Gateway != "" {
			p, err := netip.ParsePrefix(b.CIDR)
			if err != nil || metalplane.BlockGateway(p).String() != f.Gateway {
				continue
			}
		}
		if blockHasTags(b, f.TagKeys, f.Tags) {
			matched = append(matched, b)
		}
	}
	limit, offset, ok := pageWindow(f.PageNum, f.PageSize, len(matched))
	if !ok {
		return []*metalplane.CidrBlock{}, len(matched), nil
	}
	return matched[offset:min(offset+limit, len(matched))], len(matched), nil
}

func blockHasTags(b *metalplane.CidrBlock, keys []string, tags []metalplane.Tag) bool {
	has := func(k string, v *string) bool {
		for _, t := range b.Tags {
			if t.Key != nil && *t.Key == k && (v == nil || t.Value != nil && *t.Value == *v) {
				return true
			}
		}
		return false
	}
	for _, k := range keys {
		if !has(k, nil) {
			return false
		}
	}
	for _, t := range tags {
		if t.Key != nil && !has(*t.Key, t.Value) {
			return false
		}
	}
	return true
}

// FindCidrBlock returns the team's live block, or code (the caller's "not
// found" code) when there is none.
func (db *DB) FindCidrBlock(ctx context.Context, teamID, id string, code metalplane.Code) (*metalplane.CidrBlock, error) {
	b, err := scanCidrBlock(db.SQL.QueryRowContext(ctx, `SELECT `+cidrBlockColumns+` FROM cidr_blocks WHERE team_id = $1 AND id = $2 AND released = $3`, teamID, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf(code, "The CIDR block %s does not exist.", id)
	}
	return b, err
}

func (db *DB) lockBlockTx(ctx context.Context, tx *sql.Tx, teamID, id string, code metalplane.Code) (*metalplane.CidrBlock, error) {
	b, err := scanCidrBlock(tx.QueryRowContext(ctx, `SELECT `+cidrBlockColumns+` FROM cidr_blocks WHERE team_id = $1 AND id = $2 AND released = $3`+db.forUpdate(), teamID, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf(code, "The CIDR block %s does not exist.", id)
	}
	return b, err
}

// ModifyCidrBlocksName renames the team's live blocks; all or nothing.
// Returns OPERATION_FAILED_RESOURCE_NOT_FOUND for an unknown ID.
func (db *DB) ModifyCidrBlocksName(ctx context.Context, teamID string, ids []string, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := db.lockBlockTx(ctx, tx, teamID, id, "OPERATION_FAILED_RESOURCE_NOT_FOUND"); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE cidr_blocks SET name = $1 WHERE id = $2`, name, id); err != nil {
				return fmt.Errorf("rename %s: %w", id, err)
			}
		}
		return nil
	})
}

// blockRenewalKey is the dedupe key of the renewal of the period that
// ends at expiry.
func blockRenewalKey(id string, expiry time.Time) string {
	return fmt.Sprintf("cidr-renewal:%s:%d", id, expiry.Unix())
}

// blockHourlyKey is the dedupe key of hour k (from 0) of a POSTPAID block.
func blockHourlyKey(id string, k int64) string { return fmt.Sprintf("cidr-hourly:%s:%d", id, k) }

// RenewCidrBlock debits one more period of a PREPAID IPv4 block from the
// pools and extends its expiry by the period. Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND, OPERATION_DENIED_CIDRBLOCK_RECYCLED,
// OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED (POSTPAID, IPv6, BYOIP) or
// OPERATION_DENIED_BALANCE_INSUFFICIENT.
func (db *DB) RenewCidrBlock(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		team, err := db.findTeamTx(ctx, tx, teamID)
		if err != nil {
			return err
		}
		b, err := db.lockBlockTx(ctx, tx, teamID, id, "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		if err != nil {
			return err
		}
		if b.Status == metalplane.CidrBlockRecycle {
			return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_RECYCLED", "The CIDR block %s is in the recycle bin.", id)
		}
		if b.ChargeType != metalplane.ChargeTypePrepaid || b.Family != 4 || b.Source != metalplane.CidrSourcePool || b.Period < 1 {
			return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED", "Only PREPAID IPv4 blocks can be renewed.")
		}
		if err := metalplane.CheckDebit("the renewal of "+id, b.PeriodPrice, 0); err != nil {
			return err
		}
		if team.Balance < b.PeriodPrice {
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "The renewal costs %s; the balance is %s.", b.PeriodPrice, team.Balance)
		}
		expired := b.ExpiredAt.AddDate(0, b.Period, 0)
		if b.PeriodPrice > 0 {
			ok, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: teamID, Amount: -b.PeriodPrice, Kind: metalplane.LedgerRenewal,
				OrderNumber: b.OrderNumber, Note: fmt.Sprintf("renewal of CIDR block %s for %d months from %s", id, b.Period, b.ExpiredAt.Format(apiTime))},
				blockRenewalKey(id, b.ExpiredAt))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("block %s: the period ending %s was renewed already", id, b.ExpiredAt.Format(apiTime))
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE cidr_blocks SET expired_at = $1, renewals = renewals + 1 WHERE id = $2`, expired.Unix(), id)
		return err
	})
}

// TerminateCidrBlock returns a block: a POSTPAID IPv4 block from the pools
// goes to the recycle bin (billing stops, the addresses stay held for 24 h
// or until ReleaseCidrBlocks); an IPv6 or BYOIP block is released at once.
// Returns OPERATION_FAILED_RESOURCE_NOT_FOUND,
// OPERATION_DENIED_CIDRBLOCK_RECYCLED, OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION
// (PREPAID), OPERATION_DENIED_INSTANCE_EXIST (addresses still bound).
func (db *DB) TerminateCidrBlock(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		b, err := db.lockBlockTx(ctx, tx, teamID, id, "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		if err != nil {
			return err
		}
		if b.Status == metalplane.CidrBlockRecycle {
			return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_RECYCLED", "The CIDR block %s is in the recycle bin.", id)
		}
		if b.ChargeType == metalplane.ChargeTypePrepaid {
			return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION", "A PREPAID block is returned when its period ends.")
		}
		var bound int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cidr_block_ips WHERE block_id = $1`, id).Scan(&bound); err != nil {
			return fmt.Errorf("count bindings: %w", err)
		}
		if bound > 0 {
			return metalplane.Errorf("OPERATION_DENIED_INSTANCE_EXIST", "%d addresses of %s are bound to instances; unbind them first.", bound, id)
		}
		now := db.Now()
		if b.Family == 6 || b.Source == metalplane.CidrSourceBYOIP {
			if _, err := tx.ExecContext(ctx, `UPDATE cidr_blocks SET status = $1, recycled_at = $2 WHERE id = $3`, metalplane.CidrBlockRecycle, now.Unix(), id); err != nil {
				return err
			}
			return releaseBlockTx(ctx, tx, id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE cidr_blocks SET status = $1, recycled_at = $2 WHERE id = $3`, metalplane.CidrBlockRecycle, now.Unix(), id)
		return err
	})
}

// ReleaseCidrBlocks releases IPv4 blocks of the team's recycle bin: their
// addresses go back to the pool. Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND or OPERATION_DENIED_CIDRBLOCK_NOT_RECYCLED;
// all or nothing.
func (db *DB) ReleaseCidrBlocks(ctx context.Context, teamID string, ids []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			b, err := db.lockBlockTx(ctx, tx, teamID, id, "OPERATION_FAILED_RESOURCE_NOT_FOUND")
			if err != nil {
				return err
			}
			if b.Status != metalplane.CidrBlockRecycle {
				return metalplane.Errorf("OPERATION_DENIED_CIDRBLOCK_NOT_RECYCLED", "The CIDR block %s is not in the recycle bin.", id)
			}
		}
		for _, id := range ids {
			if err := releaseBlockTx(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// releaseBlockTx is the one release path: the block's addresses return to
// the pool and its bindings go. Hourly billing is closed by the sweep,
// which still charges the hours up to recycled_at.
func releaseBlockTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = NULL WHERE held_by = $1`, id); err != nil {
		return fmt.Errorf("return addresses of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cidr_block_ips WHERE block_id = $1`, id); err != nil {
		return fmt.Errorf("drop bindings of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cidr_blocks SET released = $1 WHERE id = $2`, true, id); err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	return nil
}
