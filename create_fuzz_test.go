package metalplane_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/netip"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"golang.org/x/crypto/ssh"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// FuzzValidateCreate feeds CreateInstances requests to ValidateCreate, its
// lookups answered by a real SQLite store that holds one team with a key
// pair and a subnet. A refusal must carry a code of the error table with a
// 4xx status; an accepted request must give a plan within every limit of
// docs/limits.md. (Prices are issue 11's money work; this target checks no
// price.)
func FuzzValidateCreate(f *testing.F) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testdb.SQLiteDSN(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	team, err := db.CreateTeam(ctx, sqlstore.TeamCreate{Name: "fuzz", PostpaidAllowed: true})
	if err != nil {
		f.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		f.Fatal(err)
	}
	kp, err := db.CreateKeyPair(ctx, sqlstore.KeyPairCreate{TeamID: team.ID, Name: "fuzz", PublicKey: string(ssh.MarshalAuthorizedKey(pub))})
	if err != nil {
		f.Fatal(err)
	}
	sub, err := db.CreateSubnet(ctx, sqlstore.SubnetCreate{TeamID: team.ID, ZoneID: "SEL-A", Name: "fuzz", CIDR: netip.MustParsePrefix("10.0.0.0/24").String()})
	if err != nil {
		f.Fatal(err)
	}
	cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
	if err != nil {
		f.Fatal(err)
	}

	for _, seed := range []string{
		`{"zoneId":"SEL-A","instanceChargeType":"POSTPAID","instanceTypeId":"M6C","internetChargeType":"ByBandwidth"}`,
		`{"zoneId":"SEL-A","instanceChargeType":"PREPAID","instanceChargePrepaid":{"period":12},"instanceTypeId":"M6C","internetChargeType":"ByBandwidth",` +
			`"imageId":"d49d6b04-b0b6-4656-a6fc-b4feb541c3ea","amount":3,"instanceName":"web-[1,2]","hostname":"node[0,3].dc[5,1]","password":"Example~123",` +
			`"partitions":[{"fsPath":"/","fsType":"ext4","size":50},{"fsPath":"/data","fsType":"xfs","size":10}],"nic":{"wanName":"wan0","lanName":"lan9"},` +
			`"tags":{"tags":[{"key":"env","value":"prod"},{"key":"env","value":"dev"}]},"userData":"#!/bin/sh","subnetId":"` + sub.ID + `"}`,
		`{"zoneId":"SEL-A","instanceChargeType":"POSTPAID","instanceTypeId":"M9E","internetChargeType":"ByBandwidthCluster","clusterId":"bwc-sel-1",` +
			`"keyId":"` + kp.ID + `","imageId":"3477e9ab-df3e-4ce2-a492-d42b431cbf53","raidConfig":{"customRaids":[{"raidType":1,"diskSequence":[1,2]}]}}`,
		`{"zoneId":"SEL-A","instanceChargeType":"POSTPAID","instanceTypeId":"M6C","internetChargeType":"ByTrafficPackage","trafficPackageSize":1.5,` +
			`"ipxeUrl":"https://boot.example.com/x.ipxe","sshKeys":["ssh-ed25519 AAAA"],"marketingOptions":{"discountCode":"X","usePocVoucher":true},"enableGatewayMode":true}`,
		`{"zoneId":"HKG-A","instanceChargeType":"POSTPAID","instanceTypeId":"MDE","internetChargeType":"ByBandwidth","amount":100,"hostname":"h[99999,1]"}`,
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, v2022 bool) {
		var in metalplane.CreateInstancesInput
		if json.Unmarshal(body, &in) != nil {
			return // the decoder's target, FuzzDecodeRequest, covers bodies
		}
		version := "2026-02-01"
		if v2022 {
			version = metalplane.Version2022
		}
		plan, err := metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: version, Lookups: db.Lookups()})
		if err != nil {
			var apiErr *metalplane.Error
			if !errors.As(err, &apiErr) || !apiErr.Code.Known() || apiErr.Code.Status() >= 500 {
				t.Fatalf("got %v, want an API error of the table with a 4xx status", err)
			}
			if len(apiErr.Message) > 1000 {
				t.Fatalf("got a %d-byte message", len(apiErr.Message))
			}
			return
		}
		checkPlanLimits(t, plan)
		// Money from nothing (issue 11): a plan that validates has a
		// price, which is never negative, whatever the input.
		total, err := plan.Total()
		if err != nil || total < 0 {
			t.Fatalf("plan total %s, %v; want a non-negative total", total, err)
		}
		if one, err := plan.Price.Total(); err != nil || one < 0 {
			t.Fatalf("unit price %s, %v; want a non-negative price", one, err)
		}
	})
}

// checkPlanLimits checks that a validated plan is within every limit.
func checkPlanLimits(t *testing.T, p *metalplane.CreatePlan) {
	t.Helper()
	if p.Amount < 1 || p.Amount > metalplane.MaxCreateAmount || len(p.Names) != p.Amount || len(p.Hostnames) != p.Amount {
		t.Fatalf("amount %d with %d names and %d hostnames", p.Amount, len(p.Names), len(p.Hostnames))
	}
	for i := range p.Names {
		if metalplane.ValidatePlainName(p.Names[i]) != nil || metalplane.ValidatePlainHostname(p.Hostnames[i]) != nil {
			t.Fatalf("name %q, hostname %q", p.Names[i], p.Hostnames[i])
		}
	}
	if len(p.Tags) > metalplane.MaxTagsPerInstance {
		t.Fatalf("%d tags", len(p.Tags))
	}
	keys := map[string]bool{}
	for _, tag := range p.Tags {
		if n, m := utf8.RuneCountInString(*tag.Key), utf8.RuneCountInString(*tag.Value); n < 1 || n > metalplane.MaxTagLength || m < 1 || m > metalplane.MaxTagLength || keys[*tag.Key] {
			t.Fatalf("tag %q=%q", *tag.Key, *tag.Value)
		}
		keys[*tag.Key] = true
	}
	if len(p.UserData) > metalplane.MaxUserDataBytes || len(p.IpxeURL) > metalplane.MaxIpxeURLLength ||
		utf8.RuneCountInString(p.ClusterID) > metalplane.MaxIDLength || len(p.Partitions) > metalplane.MaxPartitions {
		t.Fatalf("userData %d, ipxeUrl %d, clusterId %d bytes, %d partitions", len(p.UserData), len(p.IpxeURL), len(p.ClusterID), len(p.Partitions))
	}
	for _, part := range p.Partitions {
		if len(*part.FsPath) > metalplane.MaxFsPathLength {
			t.Fatalf("fsPath of %d bytes", len(*part.FsPath))
		}
	}
	if p.Password != "" && (len(p.Password) < 8 || len(p.Password) > 16) || len(p.SSHKeys) > 5 {
		t.Fatalf("password of %d bytes, %d ssh keys", len(p.Password), len(p.SSHKeys))
	}
	for _, k := range p.SSHKeys {
		if len(k) > metalplane.MaxPublicKeyLineBytes {
			t.Fatalf("ssh key of %d bytes", len(k))
		}
	}
}
