package httpapi_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// tickCall moves the test clock one second, then calls the action. Two
// identical mutating requests signed in the same second share a signature
// and the second is answered from the replay store (PROTOCOL.md §7), which
// would hide the error a test expects; distinct seconds also make the
// creation order visible in createTime.
func tickCall(t *testing.T, env *apitest.Env, c *httpapi.Client, action string, req, resp any) error {
	t.Helper()
	env.Clock.Advance(time.Second)
	return c.Call(context.Background(), action, req, resp)
}

// mustTickCall is tickCall that fails the test on an error.
func mustTickCall(t *testing.T, env *apitest.Env, c *httpapi.Client, action string, req, resp any) {
	t.Helper()
	if err := tickCall(t, env, c, action, req, resp); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

// sshKeyLines are authorized_keys lines generated when the tests run, one
// per algorithm the API must tell apart. RSA generation is slow, so they
// are made once for the whole test binary.
type sshKeyLines struct {
	ed25519, ed25519b, rsa2048, ecdsa256, rsa1024 string
}

var sharedSSHKeyLines = sync.OnceValues(func() (sshKeyLines, error) {
	var k sshKeyLines
	line := func(pub crypto.PublicKey, comment string) (string, error) {
		sk, err := ssh.NewPublicKey(pub)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sk))) + " " + comment, nil
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, err
	}
	if k.ed25519, err = line(edPub, "alice@test"); err != nil {
		return k, err
	}
	edPub2, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, err
	}
	if k.ed25519b, err = line(edPub2, "bob@test"); err != nil {
		return k, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return k, err
	}
	if k.rsa2048, err = line(&rsaKey.PublicKey, "rsa@test"); err != nil {
		return k, err
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return k, err
	}
	if k.rsa1024, err = line(&weak.PublicKey, "weak@test"); err != nil {
		return k, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return k, err
	}
	if k.ecdsa256, err = line(&ecKey.PublicKey, "ec@test"); err != nil {
		return k, err
	}
	return k, nil
})

func sshKeysForTest(t *testing.T) sshKeyLines {
	t.Helper()
	k, err := sharedSSHKeyLines()
	if err != nil {
		t.Fatalf("generate SSH keys: %v", err)
	}
	return k
}

// keyPairOut and keyPairsOut decode DescribeKeyPairs.
type keyPairOut struct {
	KeyID          string `json:"keyId"`
	KeyName        string `json:"keyName"`
	PublicKey      string `json:"publicKey"`
	KeyDescription string `json:"keyDescription"`
	CreateTime     string `json:"createTime"`
}

type keyPairsOut struct {
	TotalCount int          `json:"totalCount"`
	DataSet    []keyPairOut `json:"dataSet"`
}

// importKey imports a key pair and returns its ID.
func importKey(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) string {
	t.Helper()
	var out struct {
		KeyID string `json:"keyId"`
	}
	mustTickCall(t, env, c, "ImportKeyPair", req, &out)
	return out.KeyID
}

func describeKeys(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) keyPairsOut {
	t.Helper()
	var out keyPairsOut
	mustTickCall(t, env, c, "DescribeKeyPairs", req, &out)
	if out.DataSet == nil {
		t.Fatalf("DescribeKeyPairs %v: got dataSet null, want an array", req)
	}
	return out
}

var keyIDPattern = regexp.MustCompile(`^key-[A-Za-z0-9]{8}$`)

func TestKeyPairLifecycle(t *testing.T) {
	keys := sshKeysForTest(t)
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.CCS()
		env.Clock.Set(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		// Several keys in one pair, with the trailing newline a heredoc
		// leaves: the text must come back byte for byte.
		multi := keys.ecdsa256 + "\n" + keys.ed25519 + "\n"
		imports := []struct {
			name, publicKey string
			desc            any // nil: keyDescription absent
		}{
			{"ed-key", keys.ed25519, "laptop"},
			{"rsa_key", keys.rsa2048, nil},
			{"multi", multi, ""},
		}
		ids := map[string]string{}
		for _, imp := range imports {
			req := map[string]any{"keyName": imp.name, "publicKey": imp.publicKey}
			if imp.desc != nil {
				req["keyDescription"] = imp.desc
			}
			id := importKey(t, env, c, req)
			if !keyIDPattern.MatchString(id) {
				t.Fatalf("import %s: got keyId %q, want key- and 8 alphanumerics", imp.name, id)
			}
			ids[imp.name] = id
		}

		all := describeKeys(t, env, c, nil)
		if all.TotalCount != 3 || len(all.DataSet) != 3 {
			t.Fatalf("got totalCount %d with %d items, want 3 and 3", all.TotalCount, len(all.DataSet))
		}
		for i, imp := range imports {
			got := all.DataSet[i] // oldest first
			desc, _ := imp.desc.(string)
			want := keyPairOut{KeyID: ids[imp.name], KeyName: imp.name, PublicKey: imp.publicKey,
				KeyDescription: desc, CreateTime: fmt.Sprintf("2030-01-02T03:04:%02dZ", 6+i)}
			if got != want {
				t.Errorf("key pair %d: got %+v, want %+v", i, got, want)
			}
		}

		one := describeKeys(t, env, c, map[string]any{"keyIds": []string{ids["rsa_key"]}})
		if one.TotalCount != 1 || one.DataSet[0].KeyID != ids["rsa_key"] {
			t.Fatalf("by keyIds: got %+v, want only rsa_key", one)
		}

		descOf := func(id string) string {
			t.Helper()
			out := describeKeys(t, env, c, map[string]any{"keyIds": []string{id}})
			if len(out.DataSet) != 1 {
				t.Fatalf("describe %s: got %d items, want 1", id, len(out.DataSet))
			}
			return out.DataSet[0].KeyDescription
		}
		edID := ids["ed-key"]
		steps := []struct {
			name string
			req  map[string]any
			want string
		}{
			{"set", map[string]any{"keyId": edID, "keyDescription": "desktop"}, "desktop"},
			{"absent keeps it", map[string]any{"keyId": edID}, "desktop"},
			{"same again", map[string]any{"keyId": edID, "keyDescription": "desktop"}, "desktop"},
			{"longest", map[string]any{"keyId": edID, "keyDescription": strings.Repeat("é", 255)}, strings.Repeat("é", 255)},
			{"empty clears it", map[string]any{"keyId": edID, "keyDescription": ""}, ""},
		}
		for _, s := range steps {
			t.Run("modify "+s.name, func(t *testing.T) {
				mustTickCall(t, env, c, "ModifyKeyPairAttribute", s.req, nil)
				if got := descOf(edID); got != s.want {
					t.Fatalf("got description %q, want %q", got, s.want)
				}
			})
		}

		mustTickCall(t, env, c, "DeleteKeyPairs", map[string]any{"keyIds": []string{ids["ed-key"], ids["multi"]}}, nil)
		left := describeKeys(t, env, c, nil)
		if left.TotalCount != 1 || left.DataSet[0].KeyID != ids["rsa_key"] {
			t.Fatalf("after delete: got %+v, want only rsa_key", left)
		}
		// The name of a deleted key pair is free again.
		importKey(t, env, c, map[string]any{"keyName": "ed-key", "publicKey": keys.ed25519})
	})
}

func TestImportKeyPairErrors(t *testing.T) {
	keys := sshKeysForTest(t)
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.CCS()
		six := strings.Repeat(keys.ed25519+"\n", 5) + keys.ed25519b
		cases := []struct {
			name string
			req  map[string]any
			want metalplane.Code
		}{
			{"no keyName", map[string]any{"publicKey": keys.ed25519}, "MISSING_PARAMETER"},
			{"empty keyName", map[string]any{"keyName": "", "publicKey": keys.ed25519}, "MISSING_PARAMETER"},
			{"no publicKey", map[string]any{"keyName": "k"}, "MISSING_PARAMETER"},
			{"empty publicKey", map[string]any{"keyName": "k", "publicKey": ""}, "MISSING_PARAMETER"},
			{"keyName not a string", map[string]any{"keyName": 7, "publicKey": keys.ed25519}, "INVALID_PARAMETER"},
			{"space in keyName", map[string]any{"keyName": "my key", "publicKey": keys.ed25519}, "INVALID_KEY_PAIR_MALFORMED"},
			{"dot in keyName", map[string]any{"keyName": "my.key", "publicKey": keys.ed25519}, "INVALID_KEY_PAIR_MALFORMED"},
			{"keyName of 33", map[string]any{"keyName": strings.Repeat("k", 33), "publicKey": keys.ed25519}, "INVALID_KEY_PAIR_MALFORMED"},
			{"bad name wins over bad key", map[string]any{"keyName": "my key", "publicKey": "nonsense"}, "INVALID_KEY_PAIR_MALFORMED"},
			{"key text is garbage", map[string]any{"keyName": "k", "publicKey": "ssh-ed25519 !!!not-base64"}, "INVALID_PUBLIC_KEY_MALFORMED"},
			{"key text is blank", map[string]any{"keyName": "k", "publicKey": " \n\t\n"}, "INVALID_PUBLIC_KEY_MALFORMED"},
			{"key with options", map[string]any{"keyName": "k", "publicKey": `command="id" ` + keys.ed25519}, "INVALID_PUBLIC_KEY_MALFORMED"},
			{"rsa 1024", map[string]any{"keyName": "k", "publicKey": keys.rsa1024}, "INVALID_KEY_PAIR_ALGORITHM"},
			{"six keys", map[string]any{"keyName": "k", "publicKey": six}, "INVALID_PUBLIC_KEY_EXCEED_LIMIT"},
			{"description of 256", map[string]any{"keyName": "k", "publicKey": keys.ed25519, "keyDescription": strings.Repeat("d", 256)}, "INVALID_PARAMETER"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "ImportKeyPair", tc.req, nil), tc.want)
			})
		}
		if out := describeKeys(t, env, c, nil); out.TotalCount != 0 {
			t.Fatalf("after refused imports: got %d key pairs, want 0", out.TotalCount)
		}

		t.Run("name exists", func(t *testing.T) {
			importKey(t, env, c, map[string]any{"keyName": "dup", "publicKey": keys.ed25519})
			err := tickCall(t, env, c, "ImportKeyPair", map[string]any{"keyName": "dup", "publicKey": keys.ed25519b}, nil)
			apitest.ExpectCode(t, err, "INVALID_KEY_PAIR_NAME_EXIST")
			// [decision] names are case-sensitive.
			importKey(t, env, c, map[string]any{"keyName": "DUP", "publicKey": keys.ed25519b})
		})

		t.Run("quota", func(t *testing.T) {
			quota := 3 // dup and DUP exist already
			if err := env.DB.UpdateTeam(context.Background(), env.Team.ID, sqlstore.TeamUpdate{KeyPairQuota: &quota}); err != nil {
				t.Fatal(err)
			}
			last := importKey(t, env, c, map[string]any{"keyName": "third", "publicKey": keys.ed25519})
			err := tickCall(t, env, c, "ImportKeyPair", map[string]any{"keyName": "fourth", "publicKey": keys.ed25519}, nil)
			apitest.ExpectCode(t, err, "INVALID_KEY_PAIR_EXCEED_LIMIT")
			// [decision] the name is checked before the quota.
			err = tickCall(t, env, c, "ImportKeyPair", map[string]any{"keyName": "third", "publicKey": keys.ed25519}, nil)
			apitest.ExpectCode(t, err, "INVALID_KEY_PAIR_NAME_EXIST")
			mustTickCall(t, env, c, "DeleteKeyPairs", map[string]any{"keyIds": []string{last}}, nil)
			importKey(t, env, c, map[string]any{"keyName": "fourth", "publicKey": keys.ed25519})
		})
	})
}

func TestModifyAndDeleteKeyPairErrors(t *testing.T) {
	keys := sshKeysForTest(t)
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.CCS()
		id := importKey(t, env, c, map[string]any{"keyName": "kept", "publicKey": keys.ed25519, "keyDescription": "original"})
		tooMany := make([]string, 101)
		for i := range tooMany {
			tooMany[i] = id
		}
		cases := []struct {
			name   string
			action string
			req    map[string]any
			want   metalplane.Code
		}{
			{"modify without keyId", "ModifyKeyPairAttribute", map[string]any{"keyDescription": "x"}, "MISSING_PARAMETER"},
			{"modify with empty keyId", "ModifyKeyPairAttribute", map[string]any{"keyId": "", "keyDescription": "x"}, "MISSING_PARAMETER"},
			{"modify unknown", "ModifyKeyPairAttribute", map[string]any{"keyId": "key-NoSuchK1", "keyDescription": "x"}, "INVALID_KEY_PAIR_NOT_FOUND"},
			{"modify unknown without description", "ModifyKeyPairAttribute", map[string]any{"keyId": "key-NoSuchK1"}, "INVALID_KEY_PAIR_NOT_FOUND"},
			{"modify description of 256", "ModifyKeyPairAttribute", map[string]any{"keyId": id, "keyDescription": strings.Repeat("d", 256)}, "INVALID_PARAMETER"},
			{"modify description not a string", "ModifyKeyPairAttribute", map[string]any{"keyId": id, "keyDescription": true}, "INVALID_PARAMETER"},
			{"delete without keyIds", "DeleteKeyPairs", map[string]any{}, "MISSING_PARAMETER"},
			{"delete with empty keyIds", "DeleteKeyPairs", map[string]any{"keyIds": []string{}}, "MISSING_PARAMETER"},
			{"delete 101 keyIds", "DeleteKeyPairs", map[string]any{"keyIds": tooMany}, "INVALID_PARAMETER"},
			{"delete one unknown", "DeleteKeyPairs", map[string]any{"keyIds": []string{"key-NoSuchK1"}}, "INVALID_KEY_PAIR_NOT_FOUND"},
			{"delete known and unknown", "DeleteKeyPairs", map[string]any{"keyIds": []string{id, "key-NoSuchK1"}}, "INVALID_KEY_PAIR_NOT_FOUND"},
			{"delete unknown and known", "DeleteKeyPairs", map[string]any{"keyIds": []string{"key-NoSuchK1", id}}, "INVALID_KEY_PAIR_NOT_FOUND"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.want)
			})
		}
		// Nothing above changed the key pair: refused deletes are all or
		// nothing, refused modifications change nothing.
		out := describeKeys(t, env, c, nil)
		if out.TotalCount != 1 || out.DataSet[0].KeyID != id || out.DataSet[0].KeyDescription != "original" {
			t.Fatalf("after refused calls: got %+v, want the key pair unchanged", out)
		}
		// An ID given twice is deleted once; deleting it again is refused.
		mustTickCall(t, env, c, "DeleteKeyPairs", map[string]any{"keyIds": []string{id, id}}, nil)
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteKeyPairs", map[string]any{"keyIds": []string{id}}, nil), "INVALID_KEY_PAIR_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, c, "ModifyKeyPairAttribute", map[string]any{"keyId": id, "keyDescription": "x"}, nil), "INVALID_KEY_PAIR_NOT_FOUND")
	})
}

func TestDescribeKeyPairsFiltersAndPages(t *testing.T) {
	keys := sshKeysForTest(t)
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.CCS()
		names := []string{"Web-Prod", "web_dev", "db", "webby", "x_y", "xy"}
		ids := map[string]string{}
		for _, n := range names {
			ids[n] = importKey(t, env, c, map[string]any{"keyName": n, "publicKey": keys.ed25519})
		}
		namesOf := func(out keyPairsOut) string {
			var got []string
			for _, kp := range out.DataSet {
				got = append(got, kp.KeyName)
			}
			return strings.Join(got, ",")
		}
		filters := []struct {
			name string
			req  map[string]any
			want string
		}{
			{"no filter", nil, "Web-Prod,web_dev,db,webby,x_y,xy"},
			{"keyName ignores case", map[string]any{"keyName": "WEB"}, "Web-Prod,web_dev,webby"},
			{"keyName is a substring", map[string]any{"keyName": "b-p"}, "Web-Prod"},
			{"underscore is literal", map[string]any{"keyName": "_"}, "web_dev,x_y"},
			{"percent is literal", map[string]any{"keyName": "%"}, ""},
			{"empty keyName matches all", map[string]any{"keyName": ""}, "Web-Prod,web_dev,db,webby,x_y,xy"},
			{"keyIds", map[string]any{"keyIds": []string{ids["xy"], ids["db"], "key-NoSuchK1"}}, "db,xy"},
			{"keyIds and keyName", map[string]any{"keyIds": []string{ids["xy"], ids["db"]}, "keyName": "X"}, "xy"},
			{"empty keyIds match all", map[string]any{"keyIds": []string{}}, "Web-Prod,web_dev,db,webby,x_y,xy"},
		}
		for _, f := range filters {
			t.Run(f.name, func(t *testing.T) {
				out := describeKeys(t, env, c, f.req)
				if got := namesOf(out); got != f.want || out.TotalCount != len(out.DataSet) {
					t.Fatalf("got %q (totalCount %d), want %q", got, out.TotalCount, f.want)
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			for i := range 19 {
				importKey(t, env, c, map[string]any{"keyName": fmt.Sprintf("page-%02d", i), "publicKey": keys.ed25519})
			}
			const total = 25
			if out := describeKeys(t, env, c, nil); out.TotalCount != total || len(out.DataSet) != 20 {
				t.Fatalf("default page: got totalCount %d with %d items, want %d and 20", out.TotalCount, len(out.DataSet), total)
			}
			seen := map[string]bool{}
			var order []string
			for page, wantLen := range []int{10, 10, 5, 0, 0} {
				out := describeKeys(t, env, c, map[string]any{"pageNum": page + 1, "pageSize": 10})
				if out.TotalCount != total || len(out.DataSet) != wantLen {
					t.Fatalf("page %d: got totalCount %d with %d items, want %d and %d", page+1, out.TotalCount, len(out.DataSet), total, wantLen)
				}
				for _, kp := range out.DataSet {
					if seen[kp.KeyID] {
						t.Fatalf("page %d: %s was on an earlier page", page+1, kp.KeyName)
					}
					seen[kp.KeyID] = true
					order = append(order, kp.KeyName)
				}
			}
			if order[0] != "Web-Prod" || order[total-1] != "page-18" {
				t.Errorf("got order %v, want creation order", order)
			}
			if out := describeKeys(t, env, c, map[string]any{"pageNum": 1 << 40, "pageSize": 1000}); out.TotalCount != total || len(out.DataSet) != 0 {
				t.Errorf("huge pageNum: got totalCount %d with %d items, want %d and 0", out.TotalCount, len(out.DataSet), total)
			}
			if out := describeKeys(t, env, c, map[string]any{"pageSize": 1000}); len(out.DataSet) != total {
				t.Errorf("pageSize 1000: got %d items, want %d", len(out.DataSet), total)
			}
		})

		bad := []struct {
			name string
			req  map[string]any
		}{
			{"pageSize 0", map[string]any{"pageSize": 0}},
			{"pageSize 1001", map[string]any{"pageSize": 1001}},
			{"pageSize negative", map[string]any{"pageSize": -5}},
			{"pageNum 0", map[string]any{"pageNum": 0}},
			{"pageNum not an integer", map[string]any{"pageNum": 1.5}},
			{"101 keyIds", map[string]any{"keyIds": make([]string, 101)}},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "DescribeKeyPairs", b.req, nil), "INVALID_PARAMETER")
			})
		}
	})
}

func TestKeyPairTeamIsolation(t *testing.T) {
	keys := sshKeysForTest(t)
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		mine := env.CCS()
		id := importKey(t, env, mine, map[string]any{"keyName": "shared-name", "publicKey": keys.ed25519, "keyDescription": "mine"})
		_, otherKey := env.NewTeam(t, "other-team")
		other := env.ClientWithKey("ccs", httpapi.CCSVersion, otherKey)

		if out := describeKeys(t, env, other, nil); out.TotalCount != 0 || len(out.DataSet) != 0 {
			t.Fatalf("other team's list: got %+v, want empty", out)
		}
		if out := describeKeys(t, env, other, map[string]any{"keyIds": []string{id}}); out.TotalCount != 0 {
			t.Fatalf("other team by keyIds: got %+v, want empty", out)
		}
		apitest.ExpectCode(t, tickCall(t, env, other, "ModifyKeyPairAttribute", map[string]any{"keyId": id, "keyDescription": "theirs"}, nil), "INVALID_KEY_PAIR_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, other, "ModifyKeyPairAttribute", map[string]any{"keyId": id}, nil), "INVALID_KEY_PAIR_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, other, "DeleteKeyPairs", map[string]any{"keyIds": []string{id}}, nil), "INVALID_KEY_PAIR_NOT_FOUND")

		// Names are unique per team only; each team sees its own pair.
		otherID := importKey(t, env, other, map[string]any{"keyName": "shared-name", "publicKey": keys.ed25519b})
		for _, side := range []struct {
			name   string
			c      *httpapi.Client
			wantID string
			want   string
		}{{"first team", mine, id, "mine"}, {"second team", other, otherID, ""}} {
			out := describeKeys(t, env, side.c, nil)
			if out.TotalCount != 1 || out.DataSet[0].KeyID != side.wantID || out.DataSet[0].KeyDescription != side.want {
				t.Errorf("%s: got %+v, want only %s with description %q", side.name, out, side.wantID, side.want)
			}
		}
	})
}
