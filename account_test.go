package metalplane

import "testing"

func TestCheckLedgerSign(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		amount Money
		ok     bool
	}{
		{LedgerPrepaidCharge, -1, true},
		{LedgerPrepaidCharge, 1, false},
		{LedgerRenewal, -5, true},
		{LedgerRenewal, 9206744069889600, false}, // issue 11's credited renewal
		{LedgerRenewal, 0, false},
		{LedgerHourlyCharge, -1, true},
		{LedgerHourlyCharge, 0, false},
		{LedgerInternetUpgrade, 1, false},
		{LedgerDebit, -1, true},
		{LedgerDebit, 1, false},
		{LedgerRefund, 1, true},
		{LedgerRefund, -1, false},
		{LedgerCredit, 1, true},
		{LedgerCredit, 0, false},
		{"bonus", 1, false},
	} {
		err := CheckLedgerSign(LedgerEntry{Kind: tc.kind, Amount: tc.amount})
		if (err == nil) != tc.ok {
			t.Errorf("%s of %s: got %v, want ok=%v", tc.kind, tc.amount, err, tc.ok)
		}
	}
}
