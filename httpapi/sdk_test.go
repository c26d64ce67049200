package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bmc "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

// These tests call metalplane through the public Zenlayer Go SDK, as the
// Terraform provider does (bmc 2022-11-20), pointed at the test server.

// recordingTransport remembers the Authorization header of every attempt
// the SDK makes, so a test can tell that it resent the very same bytes.
type recordingTransport struct {
	mu    sync.Mutex
	auths []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.auths = append(rt.auths, r.Header.Get("Authorization"))
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (rt *recordingTransport) attempts() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.auths)
}

func sdkClient(t *testing.T, env *apitest.Env, configure func(*common.Config)) (*bmc.Client, *recordingTransport) {
	t.Helper()
	rt := &recordingTransport{}
	config := common.NewConfig()
	config.Domain = strings.TrimPrefix(env.App.URL(), "http://")
	config.Scheme = "HTTP"
	config.Transport = rt
	if configure != nil {
		configure(config)
	}
	client, err := bmc.NewClient(config, env.Key.ID, env.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return client, rt
}

func sdkPrepaidCreate() *bmc.CreateInstancesRequest {
	req := bmc.NewCreateInstancesRequest()
	req.ZoneId = "SEL-A"
	req.InstanceTypeId = "M6C"
	req.InstanceChargeType = "PREPAID"
	req.InstanceChargePrepaid = &bmc.ChargePrepaid{Period: 1}
	req.InternetChargeType = "ByBandwidth"
	return req
}

// TestSDKIdenticalCreatesBuyThree creates three identical instances from
// three goroutines sharing one SDK client, as Terraform's count = 3 does:
// the three requests carry one signature, and three instances are bought.
func TestSDKIdenticalCreatesBuyThree(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		client, rt := sdkClient(t, env, nil)
		// Start just after a second begins, so that the three sign
		// within one second and send the same bytes.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
		var mu sync.Mutex
		var bought []string
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				resp, err := client.CreateInstances(sdkPrepaidCreate())
				if err != nil {
					t.Errorf("CreateInstances: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, id := range resp.Response.InstanceIdSet {
					bought = append(bought, *id)
				}
			})
		}
		wg.Wait()
		if auths := rt.attempts(); len(auths) != 3 || auths[0] != auths[1] || auths[1] != auths[2] {
			t.Fatalf("the SDK sent %d requests, signatures alike: %v; want 3 identical (the test needs them)", len(auths), auths)
		}
		if distinct := len(slices.Compact(slices.Sorted(slices.Values(bought)))); distinct != 3 {
			t.Fatalf("got instances %v, want 3 distinct", bought)
		}
		if got := instanceCount(t, env); got != 3 {
			t.Fatalf("DescribeInstances counts %d instances, want 3", got)
		}
	})
}

// TestSDKAutoRetryBuysOnce lets the SDK give up on a purchase after its
// 1 s timeout while the server holds the answer back for 2.5 s; the SDK's
// own network retry resends the same bytes and gets the purchase that was
// made, and exactly one instance exists.
func TestSDKAutoRetryBuysOnce(t *testing.T) {
	var once sync.Once
	slowFirst := func(ctx context.Context, action string) {
		if action == "CreateInstances" {
			once.Do(func() { time.Sleep(2500 * time.Millisecond) })
		}
	}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		once = sync.Once{}
		client, rt := sdkClient(t, env, func(c *common.Config) {
			c.Timeout = 1
			c.AutoRetry = true
			c.MaxRetryTime = 3
		})
		req := sdkPrepaidCreate()
		req.Amount = 1
		resp, err := client.CreateInstances(req)
		if err != nil {
			t.Fatalf("CreateInstances through the SDK's retries: %v", err)
		}
		auths := rt.attempts()
		if len(auths) < 2 || slices.ContainsFunc(auths, func(a string) bool { return a != auths[0] }) {
			t.Fatalf("the SDK sent %d attempts %v; want a retry of the same bytes", len(auths), auths)
		}
		if got := instanceCount(t, env); got != 1 || len(resp.Response.InstanceIdSet) != 1 {
			t.Fatalf("%d instances exist, the answer names %d; want exactly one", got, len(resp.Response.InstanceIdSet))
		}
		if charged := prepaidCharges(t, env); len(charged) != 1 || charged[0] != *resp.Response.OrderNumber {
			t.Fatalf("charged orders %v, want only the answered %s", charged, *resp.Response.OrderNumber)
		}
	}, apitest.Options{BeforeAnswerFunc: slowFirst})
}
