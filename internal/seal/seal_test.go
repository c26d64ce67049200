package seal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newKey(t *testing.T) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpens(t *testing.T) {
	k := newKey(t)
	const secret = "s3cr3t-value-for-access-key"
	sealed := k.Seal(secret, "access_keys.secret:AK1")
	if strings.Contains(sealed, secret) || !Sealed(sealed) || KeyID(sealed) != k.ID() {
		t.Fatalf("sealed value %q: want the prefix and key id, not the plaintext", sealed)
	}
	if again := k.Seal(secret, "access_keys.secret:AK1"); again == sealed {
		t.Error("sealing twice gave the same text: the nonce is not random")
	}
	got, err := k.Open(sealed, "access_keys.secret:AK1")
	if err != nil || got != secret {
		t.Fatalf("open: got %q, %v, want %q", got, err, secret)
	}
}

func TestOpenRefuses(t *testing.T) {
	k, other := newKey(t), newKey(t)
	sealed := k.Seal("password-1", "instances.password:1")
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for _, tc := range []struct {
		name, value, context string
		wrongKey             bool
	}{
		{name: "another row", value: sealed, context: "instances.password:2"},
		{name: "another key", value: other.Seal("password-1", "instances.password:1"), context: "instances.password:1", wrongKey: true},
		{name: "tampered", value: string(flipped), context: "instances.password:1"},
		{name: "truncated", value: sealed[:len(Prefix)+len(k.ID())+5], context: "instances.password:1"},
		{name: "plaintext", value: "password-1", context: "instances.password:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Open(tc.value, tc.context)
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			if errors.Is(err, ErrWrongKey) != tc.wrongKey {
				t.Errorf("got %v, want ErrWrongKey: %t", err, tc.wrongKey)
			}
		})
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	k, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateFile: created %t, %v; want a new file", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode: got %o, want 600", mode)
	}
	again, created, err := LoadOrCreateFile(path)
	if err != nil || created || again.ID() != k.ID() {
		t.Fatalf("second LoadOrCreateFile: created %t, id %s, %v; want the same key %s read back", created, again.ID(), err, k.ID())
	}
	if _, err := CreateFile(path); err == nil {
		t.Error("CreateFile overwrote an existing key file")
	}
	if got, err := again.Open(k.Seal("x", "c"), "c"); err != nil || got != "x" {
		t.Errorf("a value sealed before reading the file back: got %q, %v", got, err)
	}

	for _, tc := range []struct{ name, content, want string }{
		{"missing", "", "does not exist"},
		{"not base64", "not a key\n", "does not hold a key"},
		{"too short", "c2hvcnQ=\n", "does not hold a key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.content != "" {
				if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadFile(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.content))) {
				t.Errorf("got %v, want an error saying %q without the file's contents", err, tc.want)
			}
		})
	}
}

// BenchmarkOpen is the cost signed requests pay to read their key's
// secret (docs/secrets.md).
func BenchmarkOpen(b *testing.B) {
	k, err := NewKey()
	if err != nil {
		b.Fatal(err)
	}
	sealed := k.Seal("0123456789abcdefghijklmnopqrstuv", "access_keys.secret:AK1")
	for b.Loop() {
		if _, err := k.Open(sealed, "access_keys.secret:AK1"); err != nil {
			b.Fatal(err)
		}
	}
}
