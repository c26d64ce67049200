package metalplane

import "time"

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

// Defaults of a new team.
const (
	DefaultInstanceQuota = 1000
	DefaultKeyPairQuota  = 100
	DefaultSubnetQuota   = 20
)
