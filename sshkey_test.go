package metalplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// testKeys holds authorized_keys lines generated at test time, one per kind
// of key the policy must tell apart. RSA generation is slow, so the set is
// built once for all tests.
type testKeys struct {
	ed25519, ed25519b, rsa2048, ecdsa256, ecdsa384, ecdsa521 string
	rsa1024, dss, skEd25519, cert                            string
	ed25519Key                                               ssh.PublicKey
}

var sharedTestKeys = sync.OnceValues(makeTestKeys)

func keysForTest(t *testing.T) testKeys {
	t.Helper()
	k, err := sharedTestKeys()
	if err != nil {
		t.Fatalf("generate test keys: %v", err)
	}
	return k
}

func makeTestKeys() (testKeys, error) {
	var k testKeys
	line := func(pub crypto.PublicKey, comment string) (string, ssh.PublicKey, error) {
		sk, err := ssh.NewPublicKey(pub)
		if err != nil {
			return "", nil, err
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sk))) + " " + comment, sk, nil
	}
	var err error

	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, err
	}
	if k.ed25519, k.ed25519Key, err = line(edPub, "alice@example"); err != nil {
		return k, err
	}
	edPub2, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, err
	}
	if k.ed25519b, _, err = line(edPub2, "bob@example"); err != nil {
		return k, err
	}

	for _, c := range []struct {
		bits int
		out  *string
	}{{2048, &k.rsa2048}, {1024, &k.rsa1024}} {
		priv, err := rsa.GenerateKey(rand.Reader, c.bits)
		if err != nil {
			return k, err
		}
		if *c.out, _, err = line(&priv.PublicKey, "rsa"); err != nil {
			return k, err
		}
	}

	for _, c := range []struct {
		curve elliptic.Curve
		out   *string
	}{{elliptic.P256(), &k.ecdsa256}, {elliptic.P384(), &k.ecdsa384}, {elliptic.P521(), &k.ecdsa521}} {
		priv, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			return k, err
		}
		if *c.out, _, err = line(&priv.PublicKey, "ecdsa"); err != nil {
			return k, err
		}
	}

	// A DSA-shaped blob (type name and four integers): x/crypto no longer
	// parses ssh-dss, so this is what an old ssh-keygen key looks like to
	// the server.
	ints := make([]*big.Int, 4)
	for i := range ints {
		if ints[i], err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 1024)); err != nil {
			return k, err
		}
	}
	dss := ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{ssh.InsecureKeyAlgoDSA, ints[0], ints[1], ints[2], ints[3]})
	k.dss = "ssh-dss " + base64.StdEncoding.EncodeToString(dss) + " old"

	// A FIDO ed25519 key: the raw key plus the application string.
	sk := ssh.Marshal(struct {
		Name string
		Key  []byte
		App  string
	}{ssh.KeyAlgoSKED25519, edPub2, "ssh:"})
	k.skEd25519 = ssh.KeyAlgoSKED25519 + " " + base64.StdEncoding.EncodeToString(sk) + " token"

	// A user certificate signed by a throwaway CA.
	signer, err := ssh.NewSignerFromKey(edPriv)
	if err != nil {
		return k, err
	}
	certKey, err := ssh.NewPublicKey(edPub2)
	if err != nil {
		return k, err
	}
	cert := &ssh.Certificate{Key: certKey, CertType: ssh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		return k, err
	}
	k.cert = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))
	return k, nil
}

func TestParsePublicKeys(t *testing.T) {
	t.Parallel()
	k := keysForTest(t)
	tests := []struct {
		name      string
		text      string
		wantAlgos []string
		code      Code
	}{
		{"ed25519", k.ed25519, []string{"ssh-ed25519"}, ""},
		{"rsa 2048", k.rsa2048, []string{"ssh-rsa"}, ""},
		{"ecdsa p256", k.ecdsa256, []string{"ecdsa-sha2-nistp256"}, ""},
		{"ecdsa p384", k.ecdsa384, []string{"ecdsa-sha2-nistp384"}, ""},
		{"ecdsa p521", k.ecdsa521, []string{"ecdsa-sha2-nistp521"}, ""},
		{"five keys", strings.Join([]string{k.ed25519, k.rsa2048, k.ecdsa256, k.ecdsa384, k.ecdsa521}, "\n"),
			[]string{"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"}, ""},
		{"blank lines and CRLF", "\r\n" + k.ed25519 + "\r\n\r\n  \n" + k.ecdsa256 + "\r\n",
			[]string{"ssh-ed25519", "ecdsa-sha2-nistp256"}, ""},
		{"same key twice", k.ed25519 + "\n" + k.ed25519, []string{"ssh-ed25519", "ssh-ed25519"}, ""},
		{"six keys", strings.Repeat(k.ed25519+"\n", 6), nil, "INVALID_PUBLIC_KEY_EXCEED_LIMIT"},
		{"six lines, one bad", strings.Repeat(k.ed25519+"\n", 5) + "garbage", nil, "INVALID_PUBLIC_KEY_EXCEED_LIMIT"},
		{"empty", "", nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"only blanks", " \n\t\n", nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"garbage", "not a key at all", nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"dss-looking garbage", "ssh-dss AAAAB3NzaC1kc3MAAACBAP!!!", nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"truncated rsa", k.rsa2048[:60], nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"base64 only", strings.Fields(k.ed25519)[1], nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"type mismatch", "ssh-rsa " + strings.Fields(k.ed25519)[1], nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"options", `command="/bin/true" ` + k.ed25519, nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"comment line", "# my keys\n" + k.ed25519, nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"second line bad", k.ed25519 + "\nssh-ed25519 AAAA", nil, "INVALID_PUBLIC_KEY_MALFORMED"},
		{"rsa 1024", k.rsa1024, nil, "INVALID_KEY_PAIR_ALGORITHM"},
		{"dss", k.dss, nil, "INVALID_KEY_PAIR_ALGORITHM"},
		{"sk ed25519", k.skEd25519, nil, "INVALID_KEY_PAIR_ALGORITHM"},
		{"certificate", k.cert, nil, "INVALID_KEY_PAIR_ALGORITHM"},
		{"good then dss", k.ed25519 + "\n" + k.dss, nil, "INVALID_KEY_PAIR_ALGORITHM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePublicKeys(tt.text)
			if validationCode(err) != tt.code {
				t.Fatalf("ParsePublicKeys: got error %v, want code %q", err, tt.code)
			}
			var algos []string
			for _, pk := range got {
				algos = append(algos, pk.Algorithm)
			}
			if diff := cmp.Diff(tt.wantAlgos, algos); diff != "" {
				t.Errorf("ParsePublicKeys algorithms mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePublicKeysNormalises(t *testing.T) {
	t.Parallel()
	k := keysForTest(t)
	fields := strings.Fields(k.ed25519)
	messy := "  " + fields[0] + "\t" + fields[1] + "   alice@example  \r\n"

	got, err := ParsePublicKeys(messy)
	if err != nil {
		t.Fatalf("ParsePublicKeys: got %v, want no error", err)
	}
	sum := sha256.Sum256(k.ed25519Key.Marshal())
	want := []PublicKey{{
		Algorithm:   "ssh-ed25519",
		Text:        fields[0] + " " + fields[1] + " alice@example",
		Fingerprint: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePublicKeys mismatch (-want +got):\n%s", diff)
	}

	noComment, err := ParsePublicKeys(fields[0] + " " + fields[1])
	if err != nil {
		t.Fatalf("ParsePublicKeys without comment: got %v, want no error", err)
	}
	if got, want := noComment[0].Text, fields[0]+" "+fields[1]; got != want {
		t.Errorf("Text without comment: got %q, want %q", got, want)
	}
}

func TestValidateSSHKeys(t *testing.T) {
	t.Parallel()
	k := keysForTest(t)
	const (
		malformed Code = "INVALID_PARAMETER_SSH_KEY_MALFORMED"
		duplicate Code = "INVALID_PARAMETER_SSH_KEY_DUPLICATE"
	)
	recommented := strings.Join(strings.Fields(k.ed25519)[:2], " ") + " another-comment"
	tests := []struct {
		name string
		keys []string
		code Code
	}{
		{"none", nil, ""},
		{"one rsa", []string{k.rsa2048}, ""},
		{"five algorithms", []string{k.ed25519, k.rsa2048, k.ecdsa256, k.ecdsa384, k.ecdsa521}, ""},
		{"two different ed25519", []string{k.ed25519, k.ed25519b}, ""},
		{"surrounding spaces", []string{"  " + k.ed25519 + "\t"}, ""},
		{"six keys", []string{k.ed25519, k.ed25519b, k.rsa2048, k.ecdsa256, k.ecdsa384, k.ecdsa521}, malformed},
		{"empty entry", []string{""}, malformed},
		{"garbage", []string{"ssh-rsa garbage"}, malformed},
		{"dss-looking garbage", []string{"ssh-dss AAAA!!!"}, malformed},
		{"rsa 1024", []string{k.rsa1024}, malformed},
		{"dss", []string{k.dss}, malformed},
		{"sk ed25519", []string{k.skEd25519}, malformed},
		{"certificate", []string{k.cert}, malformed},
		{"options", []string{`from="10.0.0.1" ` + k.ed25519}, malformed},
		{"two keys in one entry", []string{k.ed25519 + "\n" + k.ed25519b}, malformed},
		{"same line twice", []string{k.ed25519, k.ed25519}, duplicate},
		{"same key other comment", []string{k.ed25519, k.rsa2048, recommented}, duplicate},
		{"duplicate before malformed", []string{k.ed25519, k.ed25519, "garbage"}, malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidateSSHKeys(tt.keys)); got != tt.code {
				t.Errorf("ValidateSSHKeys: got %q, want %q", got, tt.code)
			}
		})
	}
}

func TestValidateKeyName(t *testing.T) {
	t.Parallel()
	const malformed Code = "INVALID_KEY_PAIR_MALFORMED"
	tests := []struct {
		name    string
		keyName string
		code    Code
	}{
		{"docs underscore", "my_key", ""},
		{"docs dash", "my-key", ""},
		{"one character", "k", ""},
		{"32 characters", strings.Repeat("k", 32), ""},
		{"33 characters", strings.Repeat("k", 33), malformed},
		{"empty", "", malformed},
		{"space", "my key", malformed},
		{"dot", "my.key", malformed},
		{"non-ASCII", "clé", malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidateKeyName(tt.keyName)); got != tt.code {
				t.Errorf("ValidateKeyName(%q): got %q, want %q", tt.keyName, got, tt.code)
			}
		})
	}
}
