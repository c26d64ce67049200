package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/metalplane/metalplane"
)

// TeamCreate is the input of CreateTeam.
type TeamCreate struct {
	Name            string
	InstanceQuota   int
	PostpaidAllowed bool
	// InitialCredit, when positive, is written as a first ledger row.
	InitialCredit metalplane.Money
}

// CreateTeam creates a team with its default resource group.
func (db *DB) CreateTeam(ctx context.Context, in TeamCreate) (*metalplane.Team, error) {
	now := db.Now()
	team := &metalplane.Team{
		ID: metalplane.NewTeamID(), Name: in.Name, InstanceQuota: in.InstanceQuota,
		KeyPairQuota: metalplane.DefaultKeyPairQuota, SubnetQuota: metalplane.DefaultSubnetQuota,
		PostpaidAllowed: in.PostpaidAllowed, CreatedAt: now,
	}
	if team.InstanceQuota == 0 {
		team.InstanceQuota = metalplane.DefaultInstanceQuota
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, instance_quota, key_pair_quota, subnet_quota, postpaid_allowed, gateway_mode_allowed, poc_vouchers, balance, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8)`,
			team.ID, team.Name, team.InstanceQuota, team.KeyPairQuota, team.SubnetQuota, team.PostpaidAllowed, false, now.Unix())
		if isUniqueViolation(err) {
			return fmt.Errorf("a team named %q already exists", in.Name)
		}
		if err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO resource_groups (id, team_id, name, is_default, created_at) VALUES ($1, $2, $3, $4, $5)`,
			metalplane.NewResourceGroupID(), team.ID, "Default Resource Group", true, now.Unix())
		if err != nil {
			return fmt.Errorf("insert default resource group: %w", err)
		}
		if in.InitialCredit > 0 {
			if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: team.ID, Amount: in.InitialCredit, Kind: metalplane.LedgerCredit, Note: "initial credit"}); err != nil {
				return err
			}
			team.Balance = in.InitialCredit
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return team, nil
}

const teamColumns = `id, name, instance_quota, key_pair_quota, subnet_quota, postpaid_allowed, gateway_mode_allowed, poc_vouchers, balance, created_at`

// scanTeam reads the teamColumns of a row, then any more columns into
// extra.
func scanTeam(row interface{ Scan(...any) error }, extra ...any) (*metalplane.Team, error) {
	var t metalplane.Team
	var created int64
	err := row.Scan(append([]any{&t.ID, &t.Name, &t.InstanceQuota, &t.KeyPairQuota, &t.SubnetQuota, &t.PostpaidAllowed, &t.GatewayModeAllowed, &t.PocVouchers, &t.Balance, &created}, extra...)...)
	if err != nil {
		return nil, err
	}
	t.CreatedAt = time.Unix(created, 0).UTC()
	return &t, nil
}

// ErrNotFound is returned by operator lookups (teams, keys, hosts) that find
// nothing; API lookups return an *metalplane.Error with the action's code.
var ErrNotFound = errors.New("not found")

// FindTeam returns the team with the id or name.
func (db *DB) FindTeam(ctx context.Context, idOrName string) (*metalplane.Team, error) {
	t, err := scanTeam(db.readRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1 OR name = $1`, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("team %q: %w", idOrName, ErrNotFound)
	}
	return t, err
}

// findTeamTx reads the team and, on PostgreSQL, locks its row: every
// transaction that moves the team's money or counts against its quota takes
// this lock first, so they are serialised per team.
func (db *DB) findTeamTx(ctx context.Context, tx queryer, id string) (*metalplane.Team, error) {
	t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`+db.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("team %q: %w", id, ErrNotFound)
	}
	return t, err
}

// ListTeams returns every team, oldest first.
func (db *DB) ListTeams(ctx context.Context) ([]*metalplane.Team, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+teamColumns+` FROM teams ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var teams []*metalplane.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, err
		}
		teams = append(teams, t)
	}
	return teams, rows.Err()
}

// TeamUpdate changes a team's settings; nil fields are unchanged.
type TeamUpdate struct {
	InstanceQuota      *int
	KeyPairQuota       *int
	SubnetQuota        *int
	PostpaidAllowed    *bool
	GatewayModeAllowed *bool
	PocVouchers        *int
}

// UpdateTeam applies the update to the team.
func (db *DB) UpdateTeam(ctx context.Context, teamID string, upd TeamUpdate) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return err
		}
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, `UPDATE teams SET `+col+` = $1 WHERE id = $2`, v, teamID)
			return err
		}
		for _, f := range []struct {
			col string
			ok  bool
			v   any
		}{
			{"instance_quota", upd.InstanceQuota != nil, deref(upd.InstanceQuota)},
			{"key_pair_quota", upd.KeyPairQuota != nil, deref(upd.KeyPairQuota)},
			{"subnet_quota", upd.SubnetQuota != nil, deref(upd.SubnetQuota)},
			{"postpaid_allowed", upd.PostpaidAllowed != nil, deref(upd.PostpaidAllowed)},
			{"gateway_mode_allowed", upd.GatewayModeAllowed != nil, deref(upd.GatewayModeAllowed)},
			{"poc_vouchers", upd.PocVouchers != nil, deref(upd.PocVouchers)},
		} {
			if f.ok {
				if err := set(f.col, f.v); err != nil {
					return fmt.Errorf("update %s: %w", f.col, err)
				}
			}
		}
		return nil
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// AddLedgerEntry writes an operator credit or debit and updates the
// balance. A row whose sign contradicts its kind
// (metalplane.CheckLedgerSign) is refused.
func (db *DB) AddLedgerEntry(ctx context.Context, e metalplane.LedgerEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, e.TeamID); err != nil {
			return err
		}
		return db.addLedgerTx(ctx, tx, e)
	})
}

// addLedgerTx writes one ledger row and moves the cached balance with it.
// The caller holds the team lock (findTeamTx). A row whose dedupeKey exists
// already is skipped, and ok reports false.
func (db *DB) addLedgerTx(ctx context.Context, tx queryer, e metalplane.LedgerEntry) error {
	_, err := db.addLedgerOnceTx(ctx, tx, e, "")
	return err
}

func (db *DB) addLedgerOnceTx(ctx context.Context, tx queryer, e metalplane.LedgerEntry, dedupeKey string) (bool, error) {
	// Every movement of money passes here: a charge that would credit,
	// or a refund that would debit, is refused before it is written.
	if err := metalplane.CheckLedgerSign(e); err != nil {
		return false, fmt.Errorf("ledger row for team %s: %w", e.TeamID, err)
	}
	insert, update := ledgerWrites(e, dedupeKey, db.Now().Unix())
	res, err := tx.ExecContext(ctx, insert.query, insert.args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", insert.what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	res, err = tx.ExecContext(ctx, update.query, update.args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", update.what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, errBalanceRange(e, n, err)
	}
	return true, nil
}

// ledgerWrites returns the two statements of a ledger row: the row, which
// affects nothing when dedupeKey exists already, and the move of the cached
// balance, which affects nothing when the balance would leave the range of
// an amount (errBalanceRange).
func ledgerWrites(e metalplane.LedgerEntry, dedupeKey string, createdAt int64) (insert, update statement) {
	var key any
	if dedupeKey != "" {
		key = dedupeKey
	}
	insert = statement{"insert ledger row", `INSERT INTO ledger (team_id, amount, kind, order_number, instance_id, dedupe_key, note, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING`,
		[]any{e.TeamID, int64(e.Amount), e.Kind, nullString(e.OrderNumber), nullString(e.InstanceID), key, e.Note, createdAt}}
	// The bound is computed here, where it cannot wrap, and compared in
	// SQL before adding, since an overflowing sum is an error on
	// PostgreSQL and a float on SQLite.
	q, bound := `UPDATE teams SET balance = balance + $1 WHERE id = $2 AND balance <= $3`, math.MaxInt64-int64(e.Amount)
	if e.Amount < 0 {
		q, bound = `UPDATE teams SET balance = balance + $1 WHERE id = $2 AND balance >= $3`, math.MinInt64-int64(e.Amount)
	}
	update = statement{"update balance", q, []any{int64(e.Amount), e.TeamID, bound}}
	return insert, update
}

func errBalanceRange(e metalplane.LedgerEntry, n int64, err error) error {
	return fmt.Errorf("update balance of team %s by %s: the balance would leave the range of an amount (%d rows, %v)", e.TeamID, e.Amount, n, err)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Ledger returns the team's ledger rows, oldest first.
func (db *DB) Ledger(ctx context.Context, teamID string) ([]metalplane.LedgerEntry, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, team_id, amount, kind, COALESCE(order_number, ''), COALESCE(instance_id, ''), note, created_at FROM ledger WHERE team_id = $1 ORDER BY id`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []metalplane.LedgerEntry
	for rows.Next() {
		var e metalplane.LedgerEntry
		var created int64
		if err := rows.Scan(&e.ID, &e.TeamID, &e.Amount, &e.Kind, &e.OrderNumber, &e.InstanceID, &e.Note, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// LedgerSum returns the sum of the team's ledger rows (which must equal
// the team's balance).
func (db *DB) LedgerSum(ctx context.Context, teamID string) (metalplane.Money, error) {
	var sum int64
	err := db.SQL.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE team_id = $1`, teamID).Scan(&sum)
	return metalplane.Money(sum), err
}

// CreateAccessKey creates an access key for the team. Empty id and secret
// are generated; a given secret must have MinAccessKeySecretLen
// characters. The secret is stored sealed (secrets.go).
func (db *DB) CreateAccessKey(ctx context.Context, teamID, id, secret string, isAdmin bool) (*metalplane.AccessKey, error) {
	if id == "" {
		id = metalplane.NewAccessKeyID()
	}
	if secret == "" {
		secret = metalplane.NewSecret()
	}
	if err := metalplane.ValidateAccessKeySecret(secret); err != nil {
		return nil, fmt.Errorf("access key %s: %w", id, err)
	}
	sealed, err := db.sealSecret(secret, accessKeySecretContext(id))
	if err != nil {
		return nil, err
	}
	k := &metalplane.AccessKey{ID: id, TeamID: teamID, Secret: secret, IsAdmin: isAdmin, Enabled: true, CreatedAt: db.Now()}
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO access_keys (id, team_id, secret, is_admin, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.TeamID, sealed, k.IsAdmin, k.Enabled, k.CreatedAt.Unix())
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("access key %q already exists", id)
	}
	if err != nil {
		return nil, fmt.Errorf("insert access key: %w", err)
	}
	return k, nil
}

// SetAccessKeySecret replaces the secret of an access key (a rotation):
// requests signed with the old secret fail from now on. The key stays
// enabled or disabled as it was.
func (db *DB) SetAccessKeySecret(ctx context.Context, id, secret string) error {
	if err := metalplane.ValidateAccessKeySecret(secret); err != nil {
		return fmt.Errorf("access key %s: %w", id, err)
	}
	sealed, err := db.sealSecret(secret, accessKeySecretContext(id))
	if err != nil {
		return err
	}
	res, err := db.SQL.ExecContext(ctx, `UPDATE access_keys SET secret = $1 WHERE id = $2`, sealed, id)
	if err != nil {
		return fmt.Errorf("replace the secret of access key %s: %w", id, err)
	}
	db.caches.accessKeys.drop(id)
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("access key %q: %w", id, ErrNotFound)
	}
	return nil
}

// FindAccessKey returns the access key with the id, enabled or not; the
// secret of an enabled key is opened (a disabled key's is never needed,
// and may be sealed with a key that was lost). It runs on every signed
// request, so the row it read is kept for ReadCacheTTL (readcache.go): a
// key revoked or rotated through this DB takes effect at once, one changed
// by another process within ReadCacheTTL. The row is kept as stored, with
// its secret sealed, and opened on each call (about 0.45 µs, docs/secrets.md).
func (db *DB) FindAccessKey(ctx context.Context, id string) (*metalplane.AccessKey, error) {
	k, ok := db.caches.accessKeys.get(id)
	if !ok {
		ticket := db.caches.accessKeys.begin()
		var created int64
		err := db.readRow(ctx, `SELECT id, team_id, secret, is_admin, enabled, created_at FROM access_keys WHERE id = $1`, id).
			Scan(&k.ID, &k.TeamID, &k.Secret, &k.IsAdmin, &k.Enabled, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("access key %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		k.CreatedAt = time.Unix(created, 0).UTC()
		db.caches.accessKeys.put(id, k, ticket)
	}
	stored := k.Secret
	k.Secret = ""
	if k.Enabled {
		var err error
		if k.Secret, err = db.openSecret(stored, accessKeySecretContext(k.ID)); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

// ListAccessKeys returns the team's keys without their secrets (Secret is
// empty): listing never needs them.
func (db *DB) ListAccessKeys(ctx context.Context, teamID string) ([]*metalplane.AccessKey, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, team_id, is_admin, enabled, created_at FROM access_keys WHERE team_id = $1 ORDER BY created_at, id`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []*metalplane.AccessKey
	for rows.Next() {
		var k metalplane.AccessKey
		var created int64
		if err := rows.Scan(&k.ID, &k.TeamID, &k.IsAdmin, &k.Enabled, &created); err != nil {
			return nil, err
		}
		k.CreatedAt = time.Unix(created, 0).UTC()
		keys = append(keys, &k)
	}
	return keys, rows.Err()
}

// RevokeAccessKey disables the key; requests signed with it fail.
func (db *DB) RevokeAccessKey(ctx context.Context, id string) error {
	err := db.disable(ctx, "access_keys", "access key", id)
	db.caches.accessKeys.drop(id)
	return err
}

// disable clears the enabled flag of the credential with the id in table,
// or returns ErrNotFound.
func (db *DB) disable(ctx context.Context, table, what, id string) error {
	res, err := db.SQL.ExecContext(ctx, `UPDATE `+table+` SET enabled = $1 WHERE id = $2`, false, id)
	if err != nil {
		return fmt.Errorf("revoke %s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// bearerTokenPrefixLen is how much of a token is kept to recognise it by:
// 6 of its 32 characters, which leaves 26 (over 150 bits) unknown.
const bearerTokenPrefixLen = 6

// BearerTokenCreate is the input of CreateBearerToken.
type BearerTokenCreate struct {
	TeamID  string
	IsAdmin bool
	// ExpiresAt, when not zero, is when the token stops working.
	ExpiresAt time.Time
}

// CreateBearerToken creates a bearer token and returns its description
// and the token itself, which is not stored (only its SHA-256 is): this
// is the one time it can be shown.
func (db *DB) CreateBearerToken(ctx context.Context, in BearerTokenCreate) (*metalplane.BearerToken, string, error) {
	token := metalplane.NewSecret()
	t := &metalplane.BearerToken{ID: metalplane.NewBearerTokenID(), TeamID: in.TeamID, Prefix: token[:bearerTokenPrefixLen],
		IsAdmin: in.IsAdmin, CreatedAt: db.Now(), ExpiresAt: in.ExpiresAt}
	var expires int64
	if !in.ExpiresAt.IsZero() {
		expires = in.ExpiresAt.Unix()
	}
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO bearer_tokens (token_hash, id, prefix, team_id, is_admin, enabled, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		hashToken(token), t.ID, t.Prefix, t.TeamID, t.IsAdmin, true, t.CreatedAt.Unix(), expires)
	if err != nil {
		return nil, "", fmt.Errorf("insert bearer token: %w", err)
	}
	return t, token, nil
}

// FindBearerToken returns the caller a token stands for, or ErrNotFound
// when it is unknown, revoked or expired.
func (db *DB) FindBearerToken(ctx context.Context, token string) (*metalplane.Caller, error) {
	var c metalplane.Caller
	var enabled bool
	var expires int64
	err := db.readRow(ctx, `SELECT team_id, is_admin, enabled, expires_at FROM bearer_tokens WHERE token_hash = $1`, hashToken(token)).
		Scan(&c.TeamID, &c.IsAdmin, &enabled, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!enabled || tokenExpired(expires, db.Now()))) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// tokenExpired reports whether a token with the stored expiry (Unix
// seconds, 0 = never) no longer works at now.
func tokenExpired(expiresAt int64, now time.Time) bool {
	return expiresAt != 0 && now.Unix() >= expiresAt
}

// ListBearerTokens describes the team's bearer tokens, oldest first.
func (db *DB) ListBearerTokens(ctx context.Context, teamID string) ([]*metalplane.BearerToken, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, team_id, prefix, is_admin, enabled, created_at, expires_at FROM bearer_tokens WHERE team_id = $1 ORDER BY created_at, id`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*metalplane.BearerToken
	for rows.Next() {
		var t metalplane.BearerToken
		var enabled bool
		var created, expires int64
		if err := rows.Scan(&t.ID, &t.TeamID, &t.Prefix, &t.IsAdmin, &enabled, &created, &expires); err != nil {
			return nil, err
		}
		t.Revoked = !enabled
		t.CreatedAt = time.Unix(created, 0).UTC()
		if expires != 0 {
			t.ExpiresAt = time.Unix(expires, 0).UTC()
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeBearerToken disables the token with the id; requests carrying it
// fail from now on.
func (db *DB) RevokeBearerToken(ctx context.Context, id string) error {
	if id == "" {
		// Tokens issued by binaries older than migration 0013 may have
		// no id; "" must not revoke them all.
		return fmt.Errorf("bearer token %q: %w", id, ErrNotFound)
	}
	return db.disable(ctx, "bearer_tokens", "bearer token", id)
}

const resourceGroupColumns = `id, team_id, name, is_default`

// FindResourceGroup returns the team's resource group with the id.
// Returns OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND.
func (db *DB) FindResourceGroup(ctx context.Context, teamID, id string) (*metalplane.ResourceGroup, error) {
	return db.findResourceGroup(ctx, db.SQL, teamID, id)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (db *DB) findResourceGroup(ctx context.Context, q queryer, teamID, id string) (*metalplane.ResourceGroup, error) {
	var g metalplane.ResourceGroup
	err := q.QueryRowContext(ctx, `SELECT `+resourceGroupColumns+` FROM resource_groups WHERE team_id = $1 AND id = $2`, teamID, id).Scan(&g.ID, &g.TeamID, &g.Name, &g.IsDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", "The resource group %s does not exist.", id)
	}
	return &g, err
}

func (db *DB) defaultResourceGroup(ctx context.Context, q queryer, teamID string) (*metalplane.ResourceGroup, error) {
	var g metalplane.ResourceGroup
	err := q.QueryRowContext(ctx, `SELECT `+resourceGroupColumns+` FROM resource_groups WHERE team_id = $1 AND is_default = $2`, teamID, true).Scan(&g.ID, &g.TeamID, &g.Name, &g.IsDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", "The team has no default resource group.")
	}
	return &g, err
}

// DefaultResourceGroup returns the team's default resource group.
func (db *DB) DefaultResourceGroup(ctx context.Context, teamID string) (*metalplane.ResourceGroup, error) {
	return db.defaultResourceGroup(ctx, db.SQL, teamID)
}

// ResourceGroupNames maps the team's resource group IDs to names.
func (db *DB) ResourceGroupNames(ctx context.Context, teamID string) (map[string]string, error) {
	return db.idNames(ctx, `SELECT id, name FROM resource_groups WHERE team_id = $1`, teamID)
}

// ResourceGroupNamesOf is ResourceGroupNames for a caller that needs the
// names of groups ids, on every DescribeInstances: a group's name never
// changes, so the map is kept for ReadCacheTTL, and read again at once
// when it lacks one of ids (a group created since, here or on another
// replica). A group deleted on another replica may stay in it for
// ReadCacheTTL, which matters only to an instance the audit reports as
// left in a deleted group. The map is shared: callers must not change it.
func (db *DB) ResourceGroupNamesOf(ctx context.Context, teamID string, ids []string) (map[string]string, error) {
	if names, ok := db.caches.resourceGroups.get(teamID); ok && hasKeys(names, ids) {
		return names, nil
	}
	ticket := db.caches.resourceGroups.begin()
	names, err := db.ResourceGroupNames(ctx, teamID)
	if err != nil {
		return nil, err
	}
	db.caches.resourceGroups.put(teamID, names, ticket)
	return names, nil
}

func hasKeys(m map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok && k != "" {
			return false
		}
	}
	return true
}

// CreateResourceGroup adds a non-default resource group to the team.
func (db *DB) CreateResourceGroup(ctx context.Context, teamID, name string) (*metalplane.ResourceGroup, error) {
	g := &metalplane.ResourceGroup{ID: metalplane.NewResourceGroupID(), TeamID: teamID, Name: name}
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO resource_groups (id, team_id, name, is_default, created_at) VALUES ($1, $2, $3, $4, $5)`,
		g.ID, teamID, name, false, db.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("insert resource group: %w", err)
	}
	return g, nil
}

// CountTeams returns the number of teams (0 on a new database).
func (db *DB) CountTeams(ctx context.Context) (int, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM teams`).Scan(&n)
	return n, err
}
