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
	LedgerDebitKinds  = []string{LedgerPrepaidCharge, LedgerRenewal, LedgerHourlyCharge, LedgerInternetUpgrade, LedgerDebit}
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
