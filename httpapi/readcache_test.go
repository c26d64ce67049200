package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// The server keeps access keys and resource group names in memory for
// sqlstore.ReadCacheTTL (sqlstore/readcache.go). These tests run two
// replicas on one database: a change made through replica A must hold on A
// at once and on B, which had the old row in memory, within the bound.

// startReplicas starts two servers on one database.
func startReplicas(t *testing.T, dsn string) (a, b *apitest.Env) {
	t.Helper()
	a = apitest.Start(t, dsn)
	b = apitest.Start(t, dsn, apitest.Options{SecretKeyFile: a.SecretKeyFile})
	return a, b
}

// replicasUsingKey starts two servers on one database and uses a new
// team's key on both, so that both keep it in memory.
func replicasUsingKey(t *testing.T, dsn string) (a, b *apitest.Env, key *metalplane.AccessKey) {
	t.Helper()
	a, b = startReplicas(t, dsn)
	_, key = a.NewTeam(t, "other")
	for name, env := range map[string]*apitest.Env{"A": a, "B": b} {
		if err := describeWith(env, key); err != nil {
			t.Fatalf("replica %s: %v", name, err)
		}
	}
	return a, b, key
}

// describeWith sends a signed DescribeInstances with key to env.
func describeWith(env *apitest.Env, key *metalplane.AccessKey) error {
	return env.ClientWithKey("bmc", httpapi.BMCVersion2026, key).Call(context.Background(), "DescribeInstances", map[string]any{}, nil)
}

// sleepPastCacheBound waits until sqlstore.ReadCacheTTL has passed since
// changed, when every replica's copy of what was changed is out of date.
func sleepPastCacheBound(changed time.Time) {
	time.Sleep(time.Until(changed.Add(sqlstore.ReadCacheTTL + 10*time.Millisecond)))
}

func TestRevokedKeyIsRefusedOnEveryReplica(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b, key := replicasUsingKey(t, dsn)
		revoked := time.Now()
		if err := a.DB.RevokeAccessKey(context.Background(), key.ID); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, describeWith(a, key), "AUTH_FAILURE")
		sleepPastCacheBound(revoked)
		apitest.ExpectCode(t, describeWith(b, key), "AUTH_FAILURE")
	})
}

func TestRotatedKeyOnEveryReplica(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b, key := replicasUsingKey(t, dsn)
		rotated := *key
		rotated.Secret = "rotated-secret-0123456789abcdef"
		changed := time.Now()
		if err := a.DB.SetAccessKeySecret(context.Background(), key.ID, rotated.Secret); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, describeWith(a, key), "AUTH_FAILURE_SIGNATURE_MISMATCH")
		if err := describeWith(a, &rotated); err != nil {
			t.Fatalf("replica A, new secret: %v", err)
		}
		sleepPastCacheBound(changed)
		apitest.ExpectCode(t, describeWith(b, key), "AUTH_FAILURE_SIGNATURE_MISMATCH")
		if err := describeWith(b, &rotated); err != nil {
			t.Fatalf("replica B, new secret: %v", err)
		}
	})
}

// A key created on one replica works on the other at once: a key that
// was not found is not kept.
func TestNewKeyWorksOnEveryReplicaAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := startReplicas(t, dsn)
		team, key := a.NewTeam(t, "other")
		if err := describeWith(b, key); err != nil {
			t.Fatalf("replica B, key made on A: %v", err)
		}
		unknown := &metalplane.AccessKey{ID: "MPNOTYETMADE000001", Secret: "made-later-secret-0123456789ab"}
		apitest.ExpectCode(t, describeWith(b, unknown), "AUTH_FAILURE")
		if _, err := a.DB.CreateAccessKey(context.Background(), team.ID, unknown.ID, unknown.Secret, false); err != nil {
			t.Fatal(err)
		}
		if err := describeWith(b, unknown); err != nil {
			t.Fatalf("replica B, key refused before it was made on A: %v", err)
		}
	})
}

// An instance bought in a resource group made on replica A is listed on
// replica B, which had the team's group names in memory, with the
// group's name at once.
func TestNewResourceGroupNamedOnEveryReplicaAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := startReplicas(t, dsn)
		ctx := context.Background()
		if _, err := b.DB.ResourceGroupNamesOf(ctx, a.Team.ID, nil); err != nil {
			t.Fatal(err)
		}
		if err := describeWith(b, a.Key); err != nil {
			t.Fatal(err)
		}
		group, err := a.DB.CreateResourceGroup(ctx, a.Team.ID, "made-on-a")
		if err != nil {
			t.Fatal(err)
		}
		req := minimalCreate()
		req["resourceGroupId"] = group.ID
		var created createResponse
		if err := a.BMC().Call(ctx, "CreateInstances", req, &created); err != nil {
			t.Fatal(err)
		}
		var out describeResponse
		if err := b.ClientWithKey("bmc", httpapi.BMCVersion2026, a.Key).Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.DataSet) != 1 || out.DataSet[0]["resourceGroupId"] != group.ID || out.DataSet[0]["resourceGroupName"] != "made-on-a" {
			t.Fatalf("replica B lists %v, want the instance in group %s named made-on-a", out.DataSet, group.ID)
		}
	})
}
