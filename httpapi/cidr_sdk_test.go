package httpapi_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	bmc "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	bmc2 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20260201"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

func sdk2026Client(t *testing.T, env *apitest.Env) *bmc2.Client {
	t.Helper()
	config := common.NewConfig()
	config.Domain = strings.TrimPrefix(env.App.URL(), "http://")
	config.Scheme = "HTTP"
	client, err := bmc2.NewClient(config, env.Key.ID, env.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// waitSDKBound polls DescribeCidrBlockIps through the 2026-02-01 SDK until
// ip has the status.
func waitSDKBound(t *testing.T, c *bmc2.Client, blockID, ip, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req := bmc2.NewDescribeCidrBlockIpsRequest()
		req.CidrBlockId, req.Ip = common.String(blockID), common.String(ip)
		resp, err := c.DescribeCidrBlockIps(req)
		if err != nil {
			t.Fatalf("DescribeCidrBlockIps: %v", err)
		}
		if len(resp.Response.CidrBlockIps) == 1 && *resp.Response.CidrBlockIps[0].Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s of %s not %s within 30 s", ip, blockID, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSDK2026CidrBlocks calls every CIDR block action through the public
// SDK's bmc20260201 package and reads the fields a user reads.
func TestSDK2026CidrBlocks(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := sdk2026Client(t, env)
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)

		stockReq := bmc2.NewDescribeAvailableIpv4ResourcesRequest()
		stockReq.ChargeType, stockReq.ZoneId = common.String("PREPAID"), common.String("SEL-A")
		stock, err := c.DescribeAvailableIpv4Resources(stockReq)
		if err != nil || len(stock.Response.AvailableIpv4Resources) != 7 || *stock.Response.AvailableIpv4Resources[5].Netmask != 29 ||
			*stock.Response.AvailableIpv4Resources[5].SellStatus != "SELL" {
			t.Fatalf("DescribeAvailableIpv4Resources: %v %+v", err, stock)
		}
		v6Stock, err := c.DescribeAvailableIpv6Resources(bmc2.NewDescribeAvailableIpv6ResourcesRequest())
		if err != nil || len(v6Stock.Response.AvailableIpv6Resources) == 0 || *v6Stock.Response.AvailableIpv6Resources[0].ZoneId == "" {
			t.Fatalf("DescribeAvailableIpv6Resources: %v %+v", err, v6Stock)
		}

		priceReq := bmc2.NewInquiryPriceCreateIpv4BlockRequest()
		priceReq.ZoneId, priceReq.ChargeType, priceReq.Netmask = common.String("SEL-A"), common.String("PREPAID"), common.Integer(29)
		priceReq.ChargePrepaid = &bmc2.ChargePrepaid{Period: common.Integer(3)}
		price, err := c.InquiryPriceCreateIpv4Block(priceReq)
		if err != nil || price.Response.Price.OriginalPrice == nil || *price.Response.Price.OriginalPrice != 48 {
			t.Fatalf("InquiryPriceCreateIpv4Block: %v %+v, want 48", err, price)
		}

		createReq := bmc2.NewCreateIpv4BlockRequest()
		createReq.ZoneId, createReq.ChargeType, createReq.Netmask = common.String("SEL-A"), common.String("PREPAID"), common.Integer(29)
		createReq.ChargePrepaid = &bmc2.ChargePrepaid{Period: common.Integer(3)}
		createReq.Name, createReq.CidrType, createReq.Amount = common.String("sdk"), common.String("BGP"), common.Integer(1)
		createReq.Tags = &bmc2.TagAssociation{Tags: []*bmc2.Tag{{Key: common.String("team"), Value: common.String("net")}}}
		created, err := c.CreateIpv4Block(createReq)
		if err != nil || created.Response.OrderNumber == nil || len(created.Response.CidrBlockIds) != 1 {
			t.Fatalf("CreateIpv4Block: %v %+v", err, created)
		}
		id := created.Response.CidrBlockIds[0]

		descReq := bmc2.NewDescribeCidrBlocksRequest()
		descReq.CidrBlockIds = []string{id}
		desc, err := c.DescribeCidrBlocks(descReq)
		if err != nil || *desc.Response.TotalCount != 1 {
			t.Fatalf("DescribeCidrBlocks: %v %+v", err, desc)
		}
		b := desc.Response.DataSet[0]
		if *b.CidrBlockId != id || *b.CidrBlockType != "IPV4" || *b.CidrType != "BGP" || *b.CidrBlockName != "sdk" || *b.ZoneId != "SEL-A" ||
			*b.Status != "AVAILABLE" || *b.ChargeType != "PREPAID" || b.ExpireTime == nil || *b.CreateTime == "" || *b.AvailableIpCount != 5 ||
			*b.Gateway == "" || *b.AvailableIpStart == "" || *b.AvailableIpEnd == "" || *b.ResourceGroupName == "" || len(b.Tags.Tags) != 1 {
			t.Fatalf("CidrBlockInfo: %+v", b)
		}
		if p, err := netip.ParsePrefix(*b.CidrBlock); err != nil || p.Bits() != 29 {
			t.Fatalf("cidrBlock %q: want a /29", *b.CidrBlock)
		}

		availReq := bmc2.NewDescribeInstanceAvailableCidrBlockRequest()
		availReq.InstanceId = common.String(inst)
		avail, err := c.DescribeInstanceAvailableCidrBlock(availReq)
		if err != nil || len(avail.Response.InstanceAvailableCidrBlocks) != 1 || *avail.Response.InstanceAvailableCidrBlocks[0].AvailableIpCount != 5 {
			t.Fatalf("DescribeInstanceAvailableCidrBlock: %v %+v", err, avail)
		}
		ip := avail.Response.InstanceAvailableCidrBlocks[0].AvailableIps[0]

		bindReq := bmc2.NewBindCidrBlockIpsRequest()
		bindReq.CidrBlockId = common.String(id)
		bindReq.IpBindList = []*bmc2.IpBindParam{{InstanceId: common.String(inst), Ip: common.String(ip)}}
		if _, err := c.BindCidrBlockIps(bindReq); err != nil {
			t.Fatalf("BindCidrBlockIps: %v", err)
		}
		waitSDKBound(t, c, id, ip, "BOUND")
		unbindReq := bmc2.NewUnbindCidrBlockIpsRequest()
		unbindReq.CidrBlockId, unbindReq.IpList = common.String(id), []string{ip}
		if _, err := c.UnbindCidrBlockIps(unbindReq); err != nil {
			t.Fatalf("UnbindCidrBlockIps: %v", err)
		}
		waitSDKBound(t, c, id, ip, "AVAILABLE")

		modReq := bmc2.NewModifyCidrBlocksAttributeRequest()
		modReq.CidrBlockIds, modReq.Name = []string{id}, common.String("sdk-renamed")
		if _, err := c.ModifyCidrBlocksAttribute(modReq); err != nil {
			t.Fatalf("ModifyCidrBlocksAttribute: %v", err)
		}
		renewReq := bmc2.NewRenewCidrBlockRequest()
		renewReq.CidrBlockId = common.String(id)
		if _, err := c.RenewCidrBlock(renewReq); err != nil {
			t.Fatalf("RenewCidrBlock: %v", err)
		}
		termReq := bmc2.NewTerminateCidrBlockRequest()
		termReq.CidrBlockId = common.String(id)
		_, err = c.TerminateCidrBlock(termReq)
		if sdkErr, ok := err.(*common.ZenlayerCloudSdkError); !ok || sdkErr.Code != "OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION" {
			t.Fatalf("TerminateCidrBlock of a PREPAID block: got %v, want OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION", err)
		}

		v6Req := bmc2.NewCreateIpv6BlockRequest()
		v6Req.ZoneId, v6Req.Name = common.String("SEL-A"), common.String("v6")
		v6, err := c.CreateIpv6Block(v6Req)
		if err != nil || len(v6.Response.CidrBlockIds) != 1 {
			t.Fatalf("CreateIpv6Block: %v %+v", err, v6)
		}
		byoipReq := bmc2.NewCreateByoipRequest()
		byoipReq.IpType, byoipReq.Cidr, byoipReq.Asn = common.String("IPV4"), common.String("203.0.113.0/24"), common.Int64(65001)
		byoipReq.PublicVirtualInterfaceId = common.String("HKG-A")
		byoip, err := c.CreateByoip(byoipReq)
		if err != nil || byoip.Response.ByoipId == nil || byoip.Response.CidrBlockId == nil {
			t.Fatalf("CreateByoip: %v %+v", err, byoip)
		}
		postReq := bmc2.NewCreateIpv4BlockRequest()
		postReq.ZoneId, postReq.ChargeType, postReq.Netmask = common.String("SEL-A"), common.String("POSTPAID"), common.Integer(30)
		post, err := c.CreateIpv4Block(postReq)
		if err != nil {
			t.Fatalf("CreateIpv4Block POSTPAID: %v", err)
		}
		for _, bid := range []string{v6.Response.CidrBlockIds[0], *byoip.Response.CidrBlockId, post.Response.CidrBlockIds[0]} {
			termReq.CidrBlockId = common.String(bid)
			if _, err := c.TerminateCidrBlock(termReq); err != nil {
				t.Fatalf("TerminateCidrBlock %s: %v", bid, err)
			}
		}
		relReq := bmc2.NewReleaseCidrBlocksRequest()
		relReq.CidrBlockIds = []string{post.Response.CidrBlockIds[0]}
		if _, err := c.ReleaseCidrBlocks(relReq); err != nil {
			t.Fatalf("ReleaseCidrBlocks: %v", err)
		}
		all, err := c.DescribeCidrBlocks(bmc2.NewDescribeCidrBlocksRequest())
		if err != nil || *all.Response.TotalCount != 1 || *all.Response.DataSet[0].CidrBlockName != "sdk-renamed" {
			t.Fatalf("after the releases: %v %+v, want the renamed PREPAID block alone", err, all)
		}
	})
}

// TestSDK2022CidrBlocks does the same through bmc20221120, whose models
// hold values rather than pointers.
func TestSDK2022CidrBlocks(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c, _ := sdkClient(t, env, nil)
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)

		stockReq := bmc.NewDescribeAvailableIpv4ResourcesRequest()
		stockReq.ChargeType = "POSTPAID"
		stock, err := c.DescribeAvailableIpv4Resources(stockReq)
		if err != nil || len(stock.Response.AvailableIpv4Resources) < 7 || stock.Response.AvailableIpv4Resources[0].SellStatus == "" {
			t.Fatalf("DescribeAvailableIpv4Resources: %v %+v", err, stock)
		}
		v6Stock, err := c.DescribeAvailableIpv6Resources(bmc.NewDescribeAvailableIpv6ResourcesRequest())
		if err != nil || len(v6Stock.Response.AvailableIpv6Resources) == 0 {
			t.Fatalf("DescribeAvailableIpv6Resources: %v %+v", err, v6Stock)
		}
		priceReq := bmc.NewInquiryPriceCreateIpv4BlockRequest()
		priceReq.ZoneId, priceReq.ChargeType, priceReq.Netmask = "SEL-A", "POSTPAID", 28
		price, err := c.InquiryPriceCreateIpv4Block(priceReq)
		if err != nil || price.Response.Price == nil {
			t.Fatalf("InquiryPriceCreateIpv4Block: %v %+v", err, price)
		}
		createReq := bmc.NewCreateIpv4BlockRequest()
		createReq.ZoneId, createReq.ChargeType, createReq.Netmask, createReq.Name = "SEL-A", "POSTPAID", 29, "sdk22"
		created, err := c.CreateIpv4Block(createReq)
		if err != nil || created.Response.OrderNumber == "" || len(created.Response.CidrBlockIds) != 1 {
			t.Fatalf("CreateIpv4Block: %v %+v", err, created)
		}
		id := created.Response.CidrBlockIds[0]
		descReq := bmc.NewDescribeCidrBlocksRequest()
		descReq.CidrBlockIds = []string{id}
		desc, err := c.DescribeCidrBlocks(descReq)
		if err != nil || desc.Response.TotalCount != 1 {
			t.Fatalf("DescribeCidrBlocks: %v %+v", err, desc)
		}
		b := desc.Response.DataSet[0]
		if b.CidrBlockId != id || b.CidrBlockName != "sdk22" || b.Status != "AVAILABLE" || b.ChargeType != "POSTPAID" || b.ExpireTime != nil ||
			b.AvailableIpCount != 5 || b.Gateway == "" || b.CreateTime == "" || b.ResourceGroupId == "" {
			t.Fatalf("CidrBlockInfo: %+v", b)
		}
		availReq := bmc.NewDescribeInstanceAvailableCidrBlockRequest()
		availReq.InstanceId = inst
		avail, err := c.DescribeInstanceAvailableCidrBlock(availReq)
		if err != nil || len(avail.Response.InstanceAvailableCidrBlocks) != 1 {
			t.Fatalf("DescribeInstanceAvailableCidrBlock: %v %+v", err, avail)
		}
		ip := avail.Response.InstanceAvailableCidrBlocks[0].AvailableIps[0]
		bindReq := bmc.NewBindCidrBlockIpsRequest()
		bindReq.CidrBlockId, bindReq.IpBindList = id, []*bmc.IpBindParam{{InstanceId: inst, Ip: ip}}
		if _, err := c.BindCidrBlockIps(bindReq); err != nil {
			t.Fatalf("BindCidrBlockIps: %v", err)
		}
		ipsReq := bmc.NewDescribeCidrBlockIpsRequest()
		ipsReq.CidrBlockId, ipsReq.InstanceId = id, inst
		deadline := time.Now().Add(30 * time.Second)
		for {
			ips, err := c.DescribeCidrBlockIps(ipsReq)
			if err != nil {
				t.Fatalf("DescribeCidrBlockIps: %v", err)
			}
			if len(ips.Response.CidrBlockIps) == 1 && ips.Response.CidrBlockIps[0].Status == "BOUND" && *ips.Response.CidrBlockIps[0].InstanceId == inst {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("DescribeCidrBlockIps: %+v, want %s BOUND", ips.Response, ip)
			}
			time.Sleep(20 * time.Millisecond)
		}
		unbindReq := bmc.NewUnbindCidrBlockIpsRequest()
		unbindReq.CidrBlockId, unbindReq.IpList = id, []string{ip}
		if _, err := c.UnbindCidrBlockIps(unbindReq); err != nil {
			t.Fatalf("UnbindCidrBlockIps: %v", err)
		}
		modReq := bmc.NewModifyCidrBlocksAttributeRequest()
		modReq.CidrBlockIds, modReq.Name = []string{id}, "renamed"
		if _, err := c.ModifyCidrBlocksAttribute(modReq); err != nil {
			t.Fatalf("ModifyCidrBlocksAttribute: %v", err)
		}
		renewReq := bmc.NewRenewCidrBlockRequest()
		renewReq.CidrBlockId = id
		if _, err := c.RenewCidrBlock(renewReq); err == nil || err.(*common.ZenlayerCloudSdkError).Code != "OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED" {
			t.Fatalf("RenewCidrBlock of a POSTPAID block: got %v", err)
		}
		v6Req := bmc.NewCreateIpv6BlockRequest()
		v6Req.ZoneId = "SEL-A"
		if v6, err := c.CreateIpv6Block(v6Req); err != nil || len(v6.Response.CidrBlockIds) != 1 {
			t.Fatalf("CreateIpv6Block: %v", err)
		}
		byoipReq := bmc.NewCreateByoipRequest()
		byoipReq.IpType, byoipReq.Cidr, byoipReq.Asn = common.String("IPV4"), common.String("198.51.100.0/24"), common.Int64(64512)
		byoipReq.PublicVirtualInterfaceId = common.String("FRA-A")
		if byoip, err := c.CreateByoip(byoipReq); err != nil || byoip.Response.CidrBlockId == nil {
			t.Fatalf("CreateByoip: %v", err)
		}
		waitDeadline := time.Now().Add(30 * time.Second)
		termReq := bmc.NewTerminateCidrBlockRequest()
		termReq.CidrBlockId = id
		for {
			// The unbinding settles in the background; until then the
			// block still has an instance.
			_, err := c.TerminateCidrBlock(termReq)
			if err == nil {
				break
			}
			if e, ok := err.(*common.ZenlayerCloudSdkError); !ok || e.Code != "OPERATION_DENIED_INSTANCE_EXIST" || time.Now().After(waitDeadline) {
				t.Fatalf("TerminateCidrBlock: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		relReq := bmc.NewReleaseCidrBlocksRequest()
		relReq.CidrBlockIds = []string{id}
		if _, err := c.ReleaseCidrBlocks(relReq); err != nil {
			t.Fatalf("ReleaseCidrBlocks: %v", err)
		}
	})
}
