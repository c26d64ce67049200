package httpapi_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// The Terraform provider's life of one zenlayercloud_bmc_byoip, call by
// call with bmc 2026-02-01 (resource_zc_bmc_byoip.go): CreateByoip, a
// waiter on DescribeCidrBlocks from CREATING to AVAILABLE, Read by
// DescribeCidrBlocks; every argument is ForceNew, so an update is a
// TerminateCidrBlock and a new CreateByoip; delete is TerminateCidrBlock,
// where OPERATION_FAILED_RESOURCE_NOT_FOUND counts as success.

// tfByoipConfig is what the configuration sets; tfByoipState is the
// state after a Read: the configured arguments the provider keeps, and
// the computed attributes it reads.
type tfByoipConfig struct {
	IPType, Cidr, VLAN string
	ASN                int64
}

type tfByoipState struct {
	ID                                                      string
	Cidr, Name, BlockType, ZoneID, Gateway, Status          string
	ChargeType, ResourceGroupID, ResourceGroupName, Created string
	AvailableIPCount                                        int
	ExpireTime                                              *string
}

// tfByoipRead is the provider's Read: nil when the block is gone (the
// provider then drops it from the state).
func tfByoipRead(t *testing.T, c *httpapi.Client, id string) *tfByoipState {
	t.Helper()
	var out blocksOut
	if err := c.Call(context.Background(), "DescribeCidrBlocks", map[string]any{"cidrBlockIds": []string{id}}, &out); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(out.DataSet) == 0 {
		return nil
	}
	b := out.DataSet[0]
	return &tfByoipState{ID: id, Cidr: b.CidrBlock, Name: b.CidrBlockName, BlockType: b.CidrBlockType, ZoneID: b.ZoneID, Gateway: b.Gateway,
		Status: b.Status, ChargeType: b.ChargeType, ResourceGroupID: b.ResourceGroupID, ResourceGroupName: b.ResourceGroupName,
		Created: b.CreateTime, AvailableIPCount: b.AvailableIPCount, ExpireTime: b.ExpireTime}
}

// tfByoipCreate is the provider's Create: the call, the waiter, the Read.
func tfByoipCreate(t *testing.T, env *apitest.Env, c *httpapi.Client, cfg tfByoipConfig) *tfByoipState {
	t.Helper()
	apiType := map[string]string{"IPv4": "IPV4", "IPv6": "IPV6"}[cfg.IPType]
	var out struct {
		CidrBlockID *string `json:"cidrBlockId"`
	}
	env.Clock.Advance(time.Second)
	if err := c.Call(context.Background(), "CreateByoip", map[string]any{"ipType": apiType, "cidr": cfg.Cidr, "asn": cfg.ASN,
		"publicVirtualInterfaceId": cfg.VLAN}, &out); err != nil {
		t.Fatalf("CreateByoip: %v", err)
	}
	if out.CidrBlockID == nil || *out.CidrBlockID == "" {
		t.Fatal("cidr block id is empty in CreateByoip response")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		s := tfByoipRead(t, c, *out.CidrBlockID)
		if s != nil && s.Status == "AVAILABLE" {
			break
		}
		if s != nil && s.Status != "CREATING" || time.Now().After(deadline) {
			t.Fatalf("waiting for AVAILABLE: got %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tfByoipRead(t, c, *out.CidrBlockID)
}

// tfByoipDelete is the provider's Delete.
func tfByoipDelete(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) {
	t.Helper()
	env.Clock.Advance(time.Second)
	err := c.Call(context.Background(), "TerminateCidrBlock", map[string]any{"cidrBlockId": id}, nil)
	var apiErr *httpapi.APIError
	if err != nil && !(errors.As(err, &apiErr) && apiErr.Code == "OPERATION_FAILED_RESOURCE_NOT_FOUND") {
		t.Fatalf("TerminateCidrBlock: %v", err)
	}
}

// tfByoipPlanEmpty is the plan after a refresh: the ForceNew cidr read
// back must equal the configured one, and a second refresh must read the
// same state (computed attributes that drift would show in every plan).
func tfByoipPlanEmpty(t *testing.T, c *httpapi.Client, cfg tfByoipConfig, s *tfByoipState) {
	t.Helper()
	if s.Cidr != cfg.Cidr {
		t.Fatalf("plan: cidr %q read back for %q configured forces a replacement", s.Cidr, cfg.Cidr)
	}
	if s.Name == "" || s.BlockType != "IPV4" || s.ZoneID != cfg.VLAN || s.Gateway == "" || s.Status != "AVAILABLE" || s.ChargeType == "" ||
		s.ResourceGroupID == "" || s.ResourceGroupName == "" || s.Created == "" || s.AvailableIPCount == 0 {
		t.Fatalf("Read left computed attributes empty: %+v", s)
	}
	if again := tfByoipRead(t, c, s.ID); !reflect.DeepEqual(again, s) {
		t.Fatalf("refresh drifted:\n%+v\n%+v", s, again)
	}
}

func TestTerraformByoipLifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		cfg := tfByoipConfig{IPType: "IPv4", Cidr: "203.0.113.0/24", ASN: 65001, VLAN: "HKG-A"}

		// terraform apply.
		s := tfByoipCreate(t, env, c, cfg)
		tfByoipPlanEmpty(t, c, cfg, s)

		// terraform apply with asn changed: replaced, same prefix.
		cfg.ASN = 65002
		tfByoipDelete(t, env, c, s.ID)
		s2 := tfByoipCreate(t, env, c, cfg)
		if s2.ID == s.ID {
			t.Fatal("the replacement kept the old ID")
		}
		tfByoipPlanEmpty(t, c, cfg, s2)
		if tfByoipRead(t, c, s.ID) != nil {
			t.Fatal("the replaced block is still listed")
		}

		// terraform apply with a new cidr: replaced again.
		cfg.Cidr = "198.51.100.0/23"
		tfByoipDelete(t, env, c, s2.ID)
		s3 := tfByoipCreate(t, env, c, cfg)
		tfByoipPlanEmpty(t, c, cfg, s3)
		if s3.AvailableIPCount != 509 {
			t.Fatalf("a /23: %d usable addresses, want 509", s3.AvailableIPCount)
		}

		// terraform destroy, twice (a retried delete finds it gone).
		tfByoipDelete(t, env, c, s3.ID)
		tfByoipDelete(t, env, c, s3.ID)
		if tfByoipRead(t, c, s3.ID) != nil {
			t.Fatal("the destroyed block is still listed")
		}
	})
}
