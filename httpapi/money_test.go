package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// Regression tests of issue 11, finding 1 ("Money from nothing"): a
// traffic package of 77e9 TB made the PREPAID price wrap to
// −920,674,406,988.96, charged 0, and every RenewInstance then credited
// that amount; POSTPAID got a negative hourly price that was never billed;
// `db check` saw nothing.

// issue11Package is the trafficPackageSize of the report.
const issue11Package = 77000000000

// moneyState is what a user checks after a refused request: the balance,
// the ledger sum, the ledger rows, the orders and the instances.
type moneyState struct {
	Balance, LedgerSum metalplane.Money
	LedgerRows         int
	Orders             int
	Instances          int
}

func readMoneyState(t *testing.T, env *apitest.Env) moneyState {
	t.Helper()
	var s moneyState
	s.Balance, s.LedgerSum = teamMoney(t, env, env.Team.ID)
	s.LedgerRows = len(ledger(t, env))
	if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orders WHERE team_id = $1`, env.Team.ID).Scan(&s.Orders); err != nil {
		t.Fatal(err)
	}
	s.Instances = countInstances(t, env.BMC())
	if s.Balance != s.LedgerSum {
		t.Fatalf("balance %s but the ledger sums to %s", s.Balance, s.LedgerSum)
	}
	return s
}

// TestHugeTrafficPackageIsRefused: the purchase and its price inquiry are
// refused with the traffic package code, PREPAID and POSTPAID alike, and
// nothing changes; the largest package is still sold, at a positive
// price that is exactly what is debited.
func TestHugeTrafficPackageIsRefused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		huge := map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": issue11Package}
		before := readMoneyState(t, env)
		for _, tc := range []struct {
			name string
			req  map[string]any
		}{
			{"PREPAID", prepaidWith(huge)},
			{"POSTPAID", postpaidWith(huge)},
			{"PREPAID, just above the largest package", prepaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": metalplane.MaxTrafficPackageTB + 0.05})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateInstances", tc.req, nil), "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")
				apitest.ExpectCode(t, tickCall(t, env, c, "InquiryPriceCreateInstance", tc.req, nil), "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")
				if after := readMoneyState(t, env); after != before {
					t.Fatalf("after a refused purchase: got %+v, want %+v (nothing changed)", after, before)
				}
			})
		}

		req := prepaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": metalplane.MaxTrafficPackageTB,
			"instanceChargePrepaid": map[string]any{"period": metalplane.MaxPrepaidPeriod}})
		price := inquiryTotal(t, c, req)
		if price <= 0 {
			t.Fatalf("the largest package for %d months is quoted %s, want a positive price", metalplane.MaxPrepaidPeriod, price)
		}
		mustTickCall(t, env, c, "CreateInstances", req, nil)
		after := readMoneyState(t, env)
		if after.Balance != before.Balance-price || after.Orders != before.Orders+1 {
			t.Fatalf("the largest package: balance %s → %s with %d → %d orders, want a debit of exactly %s and one order",
				before.Balance, after.Balance, before.Orders, after.Orders, price)
		}
	})
}

// TestRenewalsAndUpgradesNeverCredit: an instance that holds an out-of-
// bounds package (as one bought before the bound existed does, made here
// in SQL) is refused RenewInstance and ModifyInstanceTrafficPackage with
// the traffic package code, and the automatic renewal fails instead of
// crediting: the balance, the ledger and expiredTime do not move.
func TestRenewalsAndUpgradesNeverCredit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn)
		ctx := context.Background()
		c := env.BMC()
		env.Clock.Set(clockT0)
		id, _ := clockCreate(t, env, prepaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": 20}))
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE instances SET traffic_package_tb = $1 WHERE id = $2`, float64(issue11Package), id); err != nil {
			t.Fatal(err)
		}
		expired := clockDescribe(t, env, id)["expiredTime"]
		before := readMoneyState(t, env)
		unchanged := func(what string) {
			t.Helper()
			if after := readMoneyState(t, env); after != before {
				t.Fatalf("after %s: got %+v, want %+v (nothing changed)", what, after, before)
			}
			if got := clockDescribe(t, env, id)["expiredTime"]; got != expired {
				t.Fatalf("after %s: expiredTime %v, want %v", what, got, expired)
			}
		}

		apitest.ExpectCode(t, tickCall(t, env, c, "RenewInstance", map[string]any{"instanceId": id}, nil), "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")
		unchanged("RenewInstance")
		apitest.ExpectCode(t, tickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 30}, nil),
			"INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")
		unchanged("ModifyInstanceTrafficPackage")

		// At expiry the sweep cannot price the renewal: it reports the
		// instance and leaves the money alone.
		env.Clock.Set(clockParse(t, expired).Add(time.Minute))
		if _, err := env.App.Provisioner.RunPeriodic(ctx); err == nil || !strings.Contains(err.Error(), id) {
			t.Fatalf("sweep at expiry: got %v, want an error about %s", err, id)
		}
		unchanged("the automatic renewal")
		if rows := clockRows(t, env, id, metalplane.LedgerRenewal); len(rows) != 0 {
			t.Fatalf("got renewal rows %+v, want none", rows)
		}
	})
}

// TestAuditFindsMoneyOfTheWrongSign checks, in the style of
// TestAuditFindsCorruption, that `metalplane admin db check` reports a
// ledger row whose sign contradicts its kind, even when the balance moved
// with it (as issue 11's credited renewals did), and a stored price below
// zero.
func TestAuditFindsMoneyOfTheWrongSign(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{SkipAudit: true})
		ctx := context.Background()
		env.Clock.Set(clockT0)
		id, _ := clockCreate(t, env, prepaidWith(nil))
		if problems, err := env.DB.Audit(ctx); err != nil || len(problems) != 0 {
			t.Fatalf("healthy database: %v %v", problems, err)
		}
		// addRow writes a ledger row and moves the balance with it, so
		// that only the sign can give it away. It writes SQL: the store
		// itself refuses such rows (CheckLedgerSign).
		addRow := func(kind string, amount metalplane.Money) {
			if _, err := env.DB.SQL.ExecContext(ctx, `INSERT INTO ledger (team_id, amount, kind, instance_id, note, created_at) VALUES ($1, $2, $3, $4, 'test', 0)`,
				env.Team.ID, int64(amount), kind, id); err != nil {
				t.Fatal(err)
			}
			if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE teams SET balance = balance + $1 WHERE id = $2`, int64(amount), env.Team.ID); err != nil {
				t.Fatal(err)
			}
			if err := env.DB.AddLedgerEntry(ctx, metalplane.LedgerEntry{TeamID: env.Team.ID, Amount: amount, Kind: kind, Note: "test"}); err == nil {
				t.Fatalf("AddLedgerEntry accepted a %s of %s", kind, amount)
			}
		}
		damage := []struct {
			name string
			do   func()
			want string
		}{
			{"issue 11's renewal credit", func() { addRow(metalplane.LedgerRenewal, 9206744069889600) }, `"renewal" of 920674406988.9600 contradicts its kind`},
			{"a PREPAID charge that credits", func() { addRow(metalplane.LedgerPrepaidCharge, 1) }, `"prepaid_charge" of 0.0001 contradicts its kind`},
			{"an hourly charge of zero", func() { addRow(metalplane.LedgerHourlyCharge, 0) }, `"hourly_charge" of 0.0000 contradicts its kind`},
			{"an upgrade that credits", func() { addRow(metalplane.LedgerInternetUpgrade, 5) }, `"internet_upgrade" of 0.0005 contradicts its kind`},
			{"a negative refund", func() { addRow(metalplane.LedgerRefund, -5) }, `"refund" of -0.0005 contradicts its kind`},
			{"a negative operator credit", func() { addRow(metalplane.LedgerCredit, -5) }, `"credit" of -0.0005 contradicts its kind`},
			{"a ledger row of an unknown kind", func() { addRow("bonus", 5) }, `"bonus" of 0.0005 contradicts its kind`},
			{"a negative period price", func() {
				if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE instances SET period_price = -1 WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
			}, "instance " + id + " has a negative price (-0.0001"},
			{"a negative hourly price", func() {
				if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE instances SET period_price = 0, hourly_price = -2 WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
			}, "instance " + id + " has a negative price (0.0000, hourly -0.0002)"},
		}
		for _, d := range damage {
			d.do()
			if balance, sum := teamMoney(t, env, env.Team.ID); balance != sum {
				t.Fatalf("%s: balance %s, ledger %s: the damage must keep them equal", d.name, balance, sum)
			}
			problems, err := env.DB.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(problems, "\n"), d.want) {
				t.Errorf("%s: the audit said %q, want a line with %q", d.name, problems, d.want)
			}
		}
	})
}
