package metalplane

import (
	"fmt"
	"slices"
	"time"
)

// Team is a tenant: everything a request sees or touches belongs to the
// caller's team.
type Team struct {
	ID                 string
	Name               string
	InstanceQuota      int
	KeyPairQuota       int
	SubnetQuota        int
	PostpaidAllowed    bool
	GatewayModeAllowed bool
	PocVouchers        int
	// Balance equals the sum of the team's ledger rows.
	Balance   Money
	CreatedAt time.Time
}

// ResourceGroup groups a team's resources; each team has one default group.
type ResourceGroup struct {
	ID        string
	TeamID    string
	Name      string
	IsDefault bool
}

// AccessKey is an API credential: AccessKeyId and AccessKeyPassword (the
// HMAC secret) in the Zenlayer vocabulary.
type AccessKey struct {
	ID        string
	TeamID    string
	Secret    string
	IsAdmin   bool
	Enabled   bool
	CreatedAt time.Time
}

// MinAccessKeySecretLen is the shortest access key secret accepted: a
// secret chosen by an operator (METALPLANE_ACCESS_KEY_SECRET) must not be
// guessable; generated ones have 32 characters.
const MinAccessKeySecretLen = 16

// ValidateAccessKeySecret refuses secrets shorter than
// MinAccessKeySecretLen. The message never repeats the secret.
func ValidateAccessKeySecret(secret string) error {
	if len(secret) < MinAccessKeySecretLen {
		return fmt.Errorf("an access key secret needs at least %d characters, this one has %d", MinAccessKeySecretLen, len(secret))
	}
	return nil
}

// BearerToken describes a bearer token; the token itself is shown once,
// when created, and only its hash is stored.
type BearerToken struct {
	ID     string
	TeamID string
	// Prefix is the token's first characters, so an operator can tell
	// which token they hold ("" for tokens issued before it was kept).
	Prefix    string
	IsAdmin   bool
	Revoked   bool
	CreatedAt time.Time
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt time.Time
}

// Caller is the authenticated principal of a request.
type Caller struct {
	TeamID      string
	AccessKeyID string // "" for bearer tokens
	IsAdmin     bool
}

// LedgerEntry is one movement of money. Positive amounts credit the team.
type LedgerEntry struct {
	ID          int64
	TeamID      string
	Amount      Money
	Kind        string
	OrderNumber string
	InstanceID  string
	Note        string
	CreatedAt   time.Time
}

// Ledger entry kinds.
const (
	LedgerCredit        = "credit"         // operator top-up
	LedgerDebit         = "debit"          // operator correction
	LedgerPrepaidCharge = "prepaid_charge" // CreateInstances, PREPAID
	LedgerRefund        = "refund"         // failed provision of a PREPAID instance
	LedgerRenewal       = "renewal"        // RenewInstance or auto-renew
	LedgerHourlyCharge  = "hourly_charge"  // POSTPAID accrual
)

// LedgerDebitKinds are the kinds of ledger row that take money from a
// team: their amount is below zero. LedgerCreditKinds give money: above
// zero. No row is zero, and every kind is in one of the lists;
// sqlstore.Audit reports any row that breaks this.
var (
	LedgerDebitKinds  = []string{LedgerPrepaidCharge, LedgerRenewal, LedgerHourlyCharge, LedgerInternetUpgrade, LedgerDebit, LedgerLoadBalancerHour}
	LedgerCreditKinds = []string{LedgerRefund, LedgerCredit}
)

// CheckLedgerSign reports whether the entry moves money the way its kind
// says (LedgerDebitKinds, LedgerCreditKinds).
func CheckLedgerSign(e LedgerEntry) error {
	switch {
	case slices.Contains(LedgerDebitKinds, e.Kind) && e.Amount < 0, slices.Contains(LedgerCreditKinds, e.Kind) && e.Amount > 0:
		return nil
	case slices.Contains(LedgerDebitKinds, e.Kind), slices.Contains(LedgerCreditKinds, e.Kind):
		return fmt.Errorf("a ledger row of kind %s cannot be %s", e.Kind, e.Amount)
	}
	return fmt.Errorf("unknown ledger kind %q", e.Kind)
}

// Defaults of a new team.
const (
	DefaultInstanceQuota = 1000
	DefaultKeyPairQuota  = 100
	DefaultSubnetQuota   = 20
)
