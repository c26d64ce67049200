package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// internetStatusOut decodes DescribeInstanceInternetStatus. Pointers tell
// a missing field from a zero one: every field must be present.
type internetStatusOut struct {
	InstanceID                      *string  `json:"instanceId"`
	InstanceName                    *string  `json:"instanceName"`
	InternetMaxBandwidthOut         *int     `json:"internetMaxBandwidthOut"`
	ModifiedInternetMaxBandwidthOut *int     `json:"modifiedInternetMaxBandwidthOut"`
	ModifiedBandwidthStatus         *string  `json:"modifiedBandwidthStatus"`
	TrafficPackageSize              *float64 `json:"trafficPackageSize"`
	ModifiedTrafficPackageSize      *float64 `json:"modifiedTrafficPackageSize"`
	ModifiedTrafficPackageStatus    *string  `json:"modifiedTrafficPackageStatus"`
}

// internetStatus is the status in plain values.
type internetStatus struct {
	Name                     string
	Bandwidth, ModifiedBW    int
	BandwidthStatus          string
	Traffic, ModifiedTraffic float64
	TrafficStatus            string
}

func describeInternet(t *testing.T, c *httpapi.Client, id string) internetStatus {
	t.Helper()
	var out internetStatusOut
	if err := c.Call(context.Background(), "DescribeInstanceInternetStatus", map[string]any{"instanceId": id}, &out); err != nil {
		t.Fatalf("DescribeInstanceInternetStatus: %v", err)
	}
	if out.InstanceID == nil || out.InstanceName == nil || out.InternetMaxBandwidthOut == nil || out.ModifiedInternetMaxBandwidthOut == nil ||
		out.ModifiedBandwidthStatus == nil || out.TrafficPackageSize == nil || out.ModifiedTrafficPackageSize == nil || out.ModifiedTrafficPackageStatus == nil {
		t.Fatalf("DescribeInstanceInternetStatus %s: a field is missing: %+v", id, out)
	}
	if *out.InstanceID != id {
		t.Fatalf("got instanceId %s, want %s", *out.InstanceID, id)
	}
	return internetStatus{Name: *out.InstanceName, Bandwidth: *out.InternetMaxBandwidthOut, ModifiedBW: *out.ModifiedInternetMaxBandwidthOut,
		BandwidthStatus: *out.ModifiedBandwidthStatus, Traffic: *out.TrafficPackageSize, ModifiedTraffic: *out.ModifiedTrafficPackageSize,
		TrafficStatus: *out.ModifiedTrafficPackageStatus}
}

// createRunning buys one instance with req and waits until it is RUNNING;
// it returns the instance as DescribeInstances shows it.
func createRunning(t *testing.T, env *apitest.Env, req map[string]any) map[string]any {
	t.Helper()
	var created createResponse
	if err := env.BMC().Call(context.Background(), "CreateInstances", req, &created); err != nil {
		t.Fatalf("CreateInstances: %v", err)
	}
	return waitStatus(t, env, created.InstanceIDSet, "RUNNING")[0]
}

func describeOne(t *testing.T, env *apitest.Env, id string) map[string]any {
	t.Helper()
	var out describeResponse
	if err := env.BMC2022().Call(context.Background(), "DescribeInstances", map[string]any{"instanceIds": []string{id}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.DataSet) != 1 {
		t.Fatalf("DescribeInstances %s: got %d instances, want 1", id, len(out.DataSet))
	}
	return out.DataSet[0]
}

func balance(t *testing.T, env *apitest.Env) metalplane.Money {
	t.Helper()
	team, err := env.DB.FindTeam(context.Background(), env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	return team.Balance
}

func ledger(t *testing.T, env *apitest.Env) []metalplane.LedgerEntry {
	t.Helper()
	rows, err := env.DB.Ledger(context.Background(), env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// setStatus puts an instance in a state directly, so the refusals of the
// internet actions can be tested in every state without depending on the
// lifecycle actions' timing.
func setStatus(t *testing.T, env *apitest.Env, id string, status metalplane.InstanceStatus) {
	t.Helper()
	if _, err := env.DB.SQL.ExecContext(context.Background(), `UPDATE instances SET status = $1 WHERE id = $2`, string(status), id); err != nil {
		t.Fatal(err)
	}
}

func periodPrice(t *testing.T, env *apitest.Env, id string) (metalplane.Money, metalplane.Money) {
	t.Helper()
	p, h, err := env.DB.InstancePrices(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// jan2030 is when the PREPAID tests buy: the first period ends on
// 2030-02-01, 31 days (2,678,400 s) later.
var jan2030 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func prepaidBandwidthCreate() map[string]any {
	return map[string]any{"zoneId": "SEL-A", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
		"instanceTypeId": "M6C", "internetChargeType": "ByBandwidth", "internetMaxBandwidthOut": 20, "instanceName": "bw-test"}
}

func TestInternetBandwidthPostpaidChangesAtOnce(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		id := createRunning(t, env, minimalCreate())["instanceId"].(string)
		for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
			got := describeInternet(t, c, id)
			want := internetStatus{Name: "instance", Bandwidth: 1, ModifiedBW: 1, BandwidthStatus: "Enable", TrafficStatus: "Enable"}
			if got != want {
				t.Fatalf("%s: got %+v, want %+v", c.Version, got, want)
			}
		}
		rowsBefore := len(ledger(t, env))
		var out struct {
			OrderNumber string `json:"orderNumber"`
		}
		mustTickCall(t, env, env.BMC2022(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 50}, &out)
		if len(out.OrderNumber) != 16 {
			t.Errorf("got orderNumber %q, want 16 digits", out.OrderNumber)
		}
		// Terraform polls until Enable with the target value.
		if got := describeInternet(t, env.BMC2022(), id); got.Bandwidth != 50 || got.ModifiedBW != 50 || got.BandwidthStatus != "Enable" {
			t.Fatalf("after the change: got %+v, want 50 Mbps, Enable", got)
		}
		if got := describeOne(t, env, id)["bandwidthOutMbps"]; got != float64(50) {
			t.Fatalf("DescribeInstances bandwidthOutMbps: got %v, want 50", got)
		}
		// POSTPAID pays by the hour: nothing is debited now, the hourly
		// price follows the new bandwidth (SEL-A M6C: 0.8317 + IP 0.0050 +
		// 30 Mbps above the included 20 × 0.0033).
		if n := len(ledger(t, env)); n != rowsBefore {
			t.Errorf("got %d ledger rows, want %d (POSTPAID changes debit nothing)", n, rowsBefore)
		}
		if _, hourly := periodPrice(t, env, id); hourly != 8317+50+30*33 {
			t.Errorf("hourly price: got %s, want 0.9357", hourly)
		}
		// A POSTPAID downgrade takes effect at once too.
		mustTickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 5}, nil)
		if got := describeInternet(t, env.BMC(), id); got.Bandwidth != 5 || got.BandwidthStatus != "Enable" {
			t.Fatalf("after the downgrade: got %+v, want 5 Mbps, Enable", got)
		}
		if _, hourly := periodPrice(t, env, id); hourly != 8317+50 {
			t.Errorf("hourly price: got %s, want 0.8367", hourly)
		}
		// The price of a target bandwidth, per hour.
		var price struct {
			BandwidthPrice []map[string]any `json:"bandwidthPrice"`
		}
		mustTickCall(t, env, env.BMC2022(), "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 120}, &price)
		if len(price.BandwidthPrice) != 1 || price.BandwidthPrice[0]["unitPrice"] != 0.33 || price.BandwidthPrice[0]["chargeUnit"] != "HOUR" {
			t.Fatalf("got bandwidthPrice %v, want one item of 0.33 per HOUR", price.BandwidthPrice)
		}
		_ = ctx
	})
}

func TestInternetBandwidthPrepaidUpgradeChargesRestOfPeriod(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(jan2030)
		inst := createRunning(t, env, prepaidBandwidthCreate())
		id := inst["instanceId"].(string)
		if inst["expiredTime"] != "2030-02-01T00:00:00Z" {
			t.Fatalf("got expiredTime %v, want 2030-02-01T00:00:00Z", inst["expiredTime"])
		}
		// M6C in SEL-A: 499 + IP 3, 20 Mbps included.
		if p, _ := periodPrice(t, env, id); p != 5020000 {
			t.Fatalf("period price: got %s, want 502", p)
		}
		// Ten days before the end of a 31-day period.
		env.Clock.Set(time.Date(2030, 1, 22, 0, 0, 0, 0, time.UTC))
		var price struct {
			BandwidthPrice []map[string]any `json:"bandwidthPrice"`
		}
		mustTickCall(t, env, env.BMC(), "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 70}, &price)
		if len(price.BandwidthPrice) != 1 || price.BandwidthPrice[0]["originalPrice"] != 100.0 || price.BandwidthPrice[0]["discountPrice"] != 100.0 {
			t.Fatalf("got bandwidthPrice %v, want 100 for the period (50 Mbps × 2)", price.BandwidthPrice)
		}
		env.Clock.Set(time.Date(2030, 1, 22, 0, 0, 0, 0, time.UTC))
		before := balance(t, env)
		var out struct {
			OrderNumber string `json:"orderNumber"`
		}
		if err := env.BMC2022().Call(context.Background(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 70}, &out); err != nil {
			t.Fatal(err)
		}
		// 100 for the period × 864000 s left / 2678400 s = 32.25806… → 32.2581.
		const charge = metalplane.Money(322581)
		if got := balance(t, env); got != before-charge {
			t.Fatalf("balance: got %s, want %s - %s", got, before, charge)
		}
		rows := ledger(t, env)
		last := rows[len(rows)-1]
		if last.Amount != -charge || last.Kind != metalplane.LedgerInternetUpgrade || last.OrderNumber != out.OrderNumber || last.InstanceID != id {
			t.Fatalf("last ledger row: got %+v, want %s of kind %s for order %s", last, -charge, metalplane.LedgerInternetUpgrade, out.OrderNumber)
		}
		if sum, _ := env.DB.LedgerSum(context.Background(), env.Team.ID); sum != balance(t, env) {
			t.Fatalf("ledger sum %s differs from the balance %s", sum, balance(t, env))
		}
		if got := describeInternet(t, env.BMC2022(), id); got.Bandwidth != 70 || got.ModifiedBW != 70 || got.BandwidthStatus != "Enable" {
			t.Fatalf("after the upgrade: got %+v, want 70 Mbps, Enable", got)
		}
		if got := describeOne(t, env, id)["bandwidthOutMbps"]; got != float64(70) {
			t.Fatalf("DescribeInstances bandwidthOutMbps: got %v, want 70", got)
		}
		// Renewals pay the new price: 502 + 50 × 2.
		if p, _ := periodPrice(t, env, id); p != 6020000 {
			t.Fatalf("period price: got %s, want 602", p)
		}

		// A downgrade waits for the next period and costs nothing now.
		before = balance(t, env)
		mustTickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 30}, &out)
		want := internetStatus{Name: "bw-test", Bandwidth: 70, ModifiedBW: 30, BandwidthStatus: "WaitToEnable", TrafficStatus: "Enable"}
		if got := describeInternet(t, env.BMC(), id); got != want {
			t.Fatalf("pending downgrade: got %+v, want %+v", got, want)
		}
		if got := describeOne(t, env, id)["bandwidthOutMbps"]; got != float64(70) {
			t.Fatalf("DescribeInstances bandwidthOutMbps during the period: got %v, want 70", got)
		}
		if got := balance(t, env); got != before {
			t.Fatalf("a downgrade changed the balance: %s → %s", before, got)
		}
		err := tickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 80}, nil)
		apitest.ExpectCode(t, err, "OPERATION_FAILED_INSTANCE_BANDWIDTH_PROCESSING")

		// Cancelling removes it; a second cancel finds nothing.
		mustTickCall(t, env, env.BMC2022(), "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": id}, nil)
		if got := describeInternet(t, env.BMC(), id); got.Bandwidth != 70 || got.ModifiedBW != 70 || got.BandwidthStatus != "Enable" {
			t.Fatalf("after cancelling: got %+v, want 70 Mbps, Enable", got)
		}
		err = tickCall(t, env, env.BMC(), "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": id}, nil)
		apitest.ExpectCode(t, err, "OPERATION_DENIED_DOWNGRADE_NOT_EXIST")

		// Scheduled again, it takes effect when the period ends.
		mustTickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 30}, nil)
		env.Clock.Set(time.Date(2030, 2, 1, 0, 0, 1, 0, time.UTC))
		if got := describeInternet(t, env.BMC(), id); got.Bandwidth != 30 || got.ModifiedBW != 30 || got.BandwidthStatus != "Enable" {
			t.Fatalf("after the period: got %+v, want 30 Mbps, Enable", got)
		}
		if got := describeOne(t, env, id)["bandwidthOutMbps"]; got != float64(30) {
			t.Fatalf("DescribeInstances bandwidthOutMbps after the period: got %v, want 30", got)
		}
		if p, _ := periodPrice(t, env, id); p != 5220000 {
			t.Fatalf("period price after the downgrade: got %s, want 522", p)
		}
	})
}

func TestInternetBandwidthRefusals(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		id := createRunning(t, env, prepaidBandwidthCreate())["instanceId"].(string)
		p95 := minimalCreate()
		p95["internetChargeType"] = "ByInstanceBandwidth95"
		id95 := createRunning(t, env, p95)["instanceId"].(string)
		for _, tc := range []struct {
			name   string
			action string
			req    map[string]any
			code   metalplane.Code
		}{
			{"no instanceId", "ModifyInstanceBandwidth", map[string]any{"bandwidthOutMbps": 10}, "MISSING_PARAMETER"},
			{"no bandwidth", "ModifyInstanceBandwidth", map[string]any{"instanceId": id}, "MISSING_PARAMETER"},
			{"zero bandwidth", "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 0}, "INVALID_PARAMETER"},
			{"string bandwidth", "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": "10"}, "INVALID_PARAMETER"},
			{"unknown instance", "ModifyInstanceBandwidth", map[string]any{"instanceId": "999999999999999999", "bandwidthOutMbps": 10}, "INVALID_INSTANCE_NOT_FOUND"},
			{"above the M6C maximum", "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 3001}, "INVALID_PARAMETER_BANDWIDTH_EXCEED"},
			{"inquiry above the maximum", "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 3001}, "INVALID_PARAMETER_BANDWIDTH_EXCEED"},
			{"inquiry unknown instance", "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": "999999999999999999", "bandwidthOutMbps": 10}, "INVALID_INSTANCE_NOT_FOUND"},
			{"inquiry 95th percentile", "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": id95, "bandwidthOutMbps": 10}, "OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT"},
			{"cancel 95th percentile", "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": id95}, "OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT"},
			{"cancel unknown instance", "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": "999999999999999999"}, "INVALID_INSTANCE_NOT_FOUND"},
			{"cancel nothing scheduled", "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": id}, "OPERATION_DENIED_DOWNGRADE_NOT_EXIST"},
			{"cancel without instanceId", "CancelInstanceBandwidthDowngrade", map[string]any{}, "MISSING_PARAMETER"},
			{"status unknown instance", "DescribeInstanceInternetStatus", map[string]any{"instanceId": "999999999999999999"}, "INVALID_INSTANCE_NOT_FOUND"},
			{"status without instanceId", "DescribeInstanceInternetStatus", map[string]any{}, "MISSING_PARAMETER"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.code)
			})
		}
		// The cap of a 95th-percentile instance is not priced: it changes
		// at once and free.
		mustTickCall(t, env, c, "ModifyInstanceBandwidth", map[string]any{"instanceId": id95, "bandwidthOutMbps": 500}, nil)
		if got := describeInternet(t, c, id95); got.Bandwidth != 500 || got.BandwidthStatus != "Enable" {
			t.Fatalf("95th-percentile cap: got %+v, want 500 Mbps, Enable", got)
		}

		// Another team sees nothing.
		_, key := env.NewTeam(t, "other")
		other := env.ClientWithKey("bmc", httpapi.BMCVersion2026, key)
		apitest.ExpectCode(t, tickCall(t, env, other, "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 10}, nil), "INVALID_INSTANCE_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, other, "DescribeInstanceInternetStatus", map[string]any{"instanceId": id}, nil), "INVALID_INSTANCE_NOT_FOUND")

		// A PREPAID upgrade the balance cannot pay changes nothing.
		bal := balance(t, env)
		if err := env.DB.AddLedgerEntry(ctx, metalplane.LedgerEntry{TeamID: env.Team.ID, Amount: -bal + 1, Kind: metalplane.LedgerDebit, Note: "test"}); err != nil {
			t.Fatal(err)
		}
		rows := len(ledger(t, env))
		err := tickCall(t, env, c, "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 1000}, nil)
		apitest.ExpectCode(t, err, "OPERATION_DENIED_BALANCE_INSUFFICIENT")
		if got := describeInternet(t, c, id); got.Bandwidth != 20 {
			t.Fatalf("a refused upgrade changed the bandwidth to %d", got.Bandwidth)
		}
		if n := len(ledger(t, env)); n != rows {
			t.Fatalf("a refused upgrade wrote %d ledger rows", n-rows)
		}

		// States: only RUNNING instances change bandwidth.
		for _, tc := range []struct {
			status metalplane.InstanceStatus
			code   metalplane.Code
		}{
			{metalplane.StatusStopped, "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
			{metalplane.StatusInstalling, "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
			{metalplane.StatusCreating, "OPERATION_DENIED_INSTANCE_CREATING"},
			{metalplane.StatusRecycle, "OPERATION_DENIED_INSTANCE_RECYCLED"},
		} {
			setStatus(t, env, id, tc.status)
			err := tickCall(t, env, c, "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 10}, nil)
			apitest.ExpectCode(t, err, tc.code)
		}
		// In the recycle bin, inquiry and cancel are refused too, and the
		// status is still reported.
		apitest.ExpectCode(t, tickCall(t, env, c, "InquiryPriceInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 10}, nil), "OPERATION_DENIED_INSTANCE_RECYCLED")
		apitest.ExpectCode(t, tickCall(t, env, c, "CancelInstanceBandwidthDowngrade", map[string]any{"instanceId": id}, nil), "OPERATION_DENIED_INSTANCE_RECYCLED")
		if got := describeInternet(t, env.BMC2022(), id); got.Bandwidth != 20 {
			t.Fatalf("recycled instance: got %+v, want 20 Mbps", got)
		}
	})
}

func trafficCreate() map[string]any {
	return map[string]any{"zoneId": "SEL-A", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
		"instanceTypeId": "S8I", "internetChargeType": "ByTrafficPackage", "instanceName": "tp-test"}
}

func TestInternetTrafficPackage(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(jan2030)
		c := env.BMC2022()
		inst := createRunning(t, env, trafficCreate())
		id := inst["instanceId"].(string)
		// S8I in SEL-A includes a 5 TB package.
		if inst["trafficPackageSize"] != 5.0 {
			t.Fatalf("DescribeInstances trafficPackageSize: got %v, want 5", inst["trafficPackageSize"])
		}
		want := internetStatus{Name: "tp-test", Bandwidth: 1, ModifiedBW: 1, BandwidthStatus: "Enable", Traffic: 5, ModifiedTraffic: 5, TrafficStatus: "Enable"}
		if got := describeInternet(t, c, id); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		var price struct {
			TrafficPackagePrice []map[string]any `json:"trafficPackagePrice"`
		}
		mustTickCall(t, env, env.BMC(), "InquiryPriceInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 7.5}, &price)
		if len(price.TrafficPackagePrice) != 1 || price.TrafficPackagePrice[0]["originalPrice"] != 30.0 || price.TrafficPackagePrice[0]["amountUnit"] != "TB" {
			t.Fatalf("got trafficPackagePrice %v, want 30 for the period (2.5 TB × 12)", price.TrafficPackagePrice)
		}

		// Upgrade ten days before the period ends: 30 × 10/31 = 9.6774.
		env.Clock.Set(time.Date(2030, 1, 22, 0, 0, 0, 0, time.UTC))
		before := balance(t, env)
		var out struct {
			OrderNumber string `json:"orderNumber"`
		}
		if err := c.Call(context.Background(), "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 7.5}, &out); err != nil {
			t.Fatal(err)
		}
		if got := balance(t, env); got != before-96774 {
			t.Fatalf("balance: got %s, want %s - 9.6774", got, before)
		}
		rows := ledger(t, env)
		if last := rows[len(rows)-1]; last.Amount != -96774 || last.OrderNumber != out.OrderNumber || last.Kind != metalplane.LedgerInternetUpgrade {
			t.Fatalf("last ledger row: got %+v, want -9.6774 for order %s", last, out.OrderNumber)
		}
		if got := describeInternet(t, c, id); got.Traffic != 7.5 || got.ModifiedTraffic != 7.5 || got.TrafficStatus != "Enable" {
			t.Fatalf("after the upgrade: got %+v, want 7.5 TB, Enable", got)
		}
		if got := describeOne(t, env, id)["trafficPackageSize"]; got != 7.5 {
			t.Fatalf("DescribeInstances trafficPackageSize: got %v, want 7.5", got)
		}

		// A downgrade waits; another change is refused until it is cancelled.
		mustTickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 5}, nil)
		if got := describeInternet(t, c, id); got.Traffic != 7.5 || got.ModifiedTraffic != 5 || got.TrafficStatus != "WaitToEnable" {
			t.Fatalf("pending downgrade: got %+v, want 7.5 TB → 5 TB, WaitToEnable", got)
		}
		err := tickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 10}, nil)
		apitest.ExpectCode(t, err, "OPERATION_FAILED_INSTANCE_EXIST_PLAN_TRAFFIC_PACKAGE")
		mustTickCall(t, env, env.BMC(), "CancelInstanceTrafficPackageDowngrade", map[string]any{"instanceId": id}, nil)
		if got := describeInternet(t, c, id); got.Traffic != 7.5 || got.TrafficStatus != "Enable" {
			t.Fatalf("after cancelling: got %+v, want 7.5 TB, Enable", got)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CancelInstanceTrafficPackageDowngrade", map[string]any{"instanceId": id}, nil), "OPERATION_DENIED_DOWNGRADE_NOT_EXIST")

		// STOPPED instances may change their package.
		setStatus(t, env, id, metalplane.StatusStopped)
		mustTickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 7.5}, nil)

		bw := createRunning(t, env, minimalCreate())["instanceId"].(string)
		for _, tc := range []struct {
			name   string
			action string
			req    map[string]any
			code   metalplane.Code
		}{
			{"no size", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id}, "MISSING_PARAMETER"},
			{"no instanceId", "ModifyInstanceTrafficPackage", map[string]any{"trafficPackageSize": 6}, "MISSING_PARAMETER"},
			{"not a multiple of 0.05", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 6.03}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{"negative", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": -1}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{"below the free package", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 4.95}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS"},
			{"above the maximum", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 1000.05}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
			{"inquiry above the maximum", "InquiryPriceInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 2000}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
			{"inquiry bad size", "InquiryPriceInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 0.01}, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{"unknown instance", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": "999999999999999999", "trafficPackageSize": 6}, "INVALID_INSTANCE_NOT_FOUND"},
			{"flat-rate instance", "ModifyInstanceTrafficPackage", map[string]any{"instanceId": bw, "trafficPackageSize": 6}, "OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT"},
			{"inquiry flat-rate instance", "InquiryPriceInstanceTrafficPackage", map[string]any{"instanceId": bw, "trafficPackageSize": 6}, "OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT"},
			{"cancel flat-rate instance", "CancelInstanceTrafficPackageDowngrade", map[string]any{"instanceId": bw}, "OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.code)
			})
		}
		for _, tc := range []struct {
			status metalplane.InstanceStatus
			code   metalplane.Code
		}{
			{metalplane.StatusInstalling, "OPERATION_DENIED_INSTANCE_STATUS"},
			{metalplane.StatusBooting, "OPERATION_DENIED_INSTANCE_STATUS"},
			{metalplane.StatusPending, "OPERATION_DENIED_INSTANCE_CREATING"},
			{metalplane.StatusRecycle, "OPERATION_DENIED_INSTANCE_RECYCLED"},
		} {
			setStatus(t, env, id, tc.status)
			err := tickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 10}, nil)
			apitest.ExpectCode(t, err, tc.code)
		}
		if got := describeInternet(t, c, id); got.Traffic != 7.5 {
			t.Fatalf("refused changes moved the package to %g TB", got.Traffic)
		}
	})
}

// healthOut decodes one item of monitorHealthList.
type healthOut struct {
	InstanceID    string `json:"instanceId"`
	CPUStatus     string `json:"cpuStatus"`
	DiskStatus    string `json:"diskStatus"`
	IPMIPing      string `json:"ipmiPing"`
	IPMIStatus    string `json:"ipmiStatus"`
	MemoryStatus  string `json:"memoryStatus"`
	PSUStatus     string `json:"psuStatus"`
	WanPortStatus string `json:"wanPortStatus"`
	FanStatus     string `json:"fanStatus"`
	ServerBrand   string `json:"serverBrand"`
	ServerModel   string `json:"serverModel"`
	CPU0Temp      *int   `json:"cpu0Temp"`
	CPU1Temp      *int   `json:"cpu1Temp"`
	CPU2Temp      *int   `json:"cpu2Temp"`
	InletTemp     *int   `json:"inletTemp"`
	TempUnit      string `json:"tempUnit"`
}

func monitorHealth(t *testing.T, c *httpapi.Client, ids ...string) []healthOut {
	t.Helper()
	var out struct {
		MonitorHealthList []healthOut `json:"monitorHealthList"`
	}
	if err := c.Call(context.Background(), "DescribeInstancesMonitorHealth", map[string]any{"instanceIds": ids}, &out); err != nil {
		t.Fatalf("DescribeInstancesMonitorHealth: %v", err)
	}
	return out.MonitorHealthList
}

func TestInstancesMonitorHealth(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		m6c := createRunning(t, env, minimalCreate())["instanceId"].(string)
		s8i := minimalCreate()
		s8i["instanceTypeId"] = "S8I"
		one := createRunning(t, env, s8i)["instanceId"].(string)
		for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
			list := monitorHealth(t, c, m6c, one, m6c)
			if len(list) != 2 || list[0].InstanceID != m6c || list[1].InstanceID != one {
				t.Fatalf("%s: got %+v, want one item per distinct ID in request order", c.Version, list)
			}
			h := list[0]
			for name, v := range map[string]string{"cpu": h.CPUStatus, "disk": h.DiskStatus, "ipmiPing": h.IPMIPing, "ipmi": h.IPMIStatus,
				"memory": h.MemoryStatus, "psu": h.PSUStatus, "wanPort": h.WanPortStatus, "fan": h.FanStatus} {
				if v != "OK" {
					t.Errorf("running instance %s status: got %q, want OK", name, v)
				}
			}
			// M6C has two CPUs, S8I one.
			if h.CPU0Temp == nil || h.CPU1Temp == nil || h.CPU2Temp != nil || h.InletTemp == nil || h.TempUnit != "℃" || h.ServerModel != "M6C" {
				t.Errorf("M6C health: got %+v, want two CPU temperatures, an inlet temperature, ℃, model M6C", h)
			}
			if list[1].CPU0Temp == nil || list[1].CPU1Temp != nil {
				t.Errorf("S8I health: got %+v, want one CPU temperature", list[1])
			}
			if *h.CPU0Temp < 38 || *h.CPU0Temp > 57 || *h.InletTemp < 20 || *h.InletTemp > 27 {
				t.Errorf("temperatures out of the simulated range: cpu0 %d, inlet %d", *h.CPU0Temp, *h.InletTemp)
			}
		}
		setStatus(t, env, m6c, metalplane.StatusStopped)
		h := monitorHealth(t, env.BMC(), m6c)[0]
		if h.CPUStatus != "UNKNOWN" || h.WanPortStatus != "WARNING" || h.IPMIPing != "OK" || h.PSUStatus != "OK" || h.CPU0Temp != nil || h.InletTemp == nil {
			t.Errorf("stopped instance: got %+v, want the BMC OK, the host UNKNOWN, the port WARNING, no CPU temperature", h)
		}
		setStatus(t, env, m6c, metalplane.StatusRecycle)
		h = monitorHealth(t, env.BMC(), m6c)[0]
		if h.CPUStatus != "UNKNOWN" || h.IPMIPing != "UNKNOWN" || h.InletTemp != nil {
			t.Errorf("recycled instance: got %+v, want everything UNKNOWN", h)
		}

		c := env.BMC()
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = one
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeInstancesMonitorHealth", map[string]any{"instanceIds": eleven}, nil), "INVALID_PARAMETER")
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeInstancesMonitorHealth", map[string]any{}, nil), "MISSING_PARAMETER")
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeInstancesMonitorHealth", map[string]any{"instanceIds": []string{one, "999999999999999999"}}, nil), "INVALID_INSTANCE_NOT_FOUND")
	})
}

// TestInternetActionsWhileCreating uses a server without workers, so
// instances stay PENDING.
func TestInternetActionsWhileCreating(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{NoWorkers: true})
		c := env.BMC()
		var created createResponse
		mustTickCall(t, env, c, "CreateInstances", trafficCreate(), &created)
		id := created.InstanceIDSet[0]
		apitest.ExpectCode(t, tickCall(t, env, c, "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 10}, nil), "OPERATION_DENIED_INSTANCE_CREATING")
		apitest.ExpectCode(t, tickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 10}, nil), "OPERATION_DENIED_INSTANCE_CREATING")
		if got := describeInternet(t, c, id); got.Traffic != 5 || got.Bandwidth != 1 {
			t.Fatalf("pending instance: got %+v, want 1 Mbps and 5 TB", got)
		}
		h := monitorHealth(t, c, id)[0]
		if h.CPUStatus != "UNKNOWN" || h.WanPortStatus != "UNKNOWN" || h.CPU0Temp != nil {
			t.Errorf("pending instance health: got %+v, want UNKNOWN", h)
		}
	})
}

// A POSTPAID upgrade raises the hourly bill: like a POSTPAID purchase it
// needs a positive balance, and nothing changes when it is refused. A
// downgrade is always allowed.
func TestInternetPostpaidUpgradeNeedsBalance(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		id := createRunning(t, env, minimalCreate())["instanceId"].(string)
		mustTickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 10}, nil)
		setBalance(t, env, env.Team.ID, 0)
		_, hourlyBefore := periodPrice(t, env, id)
		err := tickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 50}, nil)
		apitest.ExpectCode(t, err, "OPERATION_DENIED_BALANCE_INSUFFICIENT")
		if got := describeInternet(t, env.BMC(), id); got.Bandwidth != 10 {
			t.Fatalf("after the refusal: %+v, want 10 Mbps", got)
		}
		if _, hourly := periodPrice(t, env, id); hourly != hourlyBefore {
			t.Fatalf("hourly price moved from %s to %s", hourlyBefore, hourly)
		}
		mustTickCall(t, env, env.BMC(), "ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 5}, nil)
		if got := describeInternet(t, env.BMC(), id); got.Bandwidth != 5 {
			t.Fatalf("after the downgrade: %+v, want 5 Mbps", got)
		}
	})
}
