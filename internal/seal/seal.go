// Package seal encrypts the secrets metalplane must keep readable (access
// key secrets, which HMAC verification needs in the clear, and instance
// passwords until the OS is installed) before they are written to the
// database, with AES-256-GCM under a key kept in a file outside it.
//
// A sealed value is text, so it fits the existing TEXT columns:
//
//	mpsealed1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>
//
// The key id (a fingerprint of the key, not the key) says which key sealed
// a value, so a process holding another key says so instead of reporting
// a damaged value. Each value is bound to where it is stored (its
// "context", e.g. the column and row id) as GCM's additional data: a
// sealed secret copied into another row does not open there.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Prefix starts every sealed value; a stored value without it was written
// before secrets were sealed (see Sealed).
const Prefix = "mpsealed1:"

// Key seals and opens values. It is safe for concurrent use.
type Key struct {
	id   string
	aead cipher.AEAD
}

// ErrWrongKey is returned by Open for a value sealed with another key.
var ErrWrongKey = errors.New("sealed with another secret key")

// NewKey returns a new random key.
func NewKey() (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return FromBytes(raw)
}

// FromBytes returns the key made of raw, which must be KeySize bytes.
func FromBytes(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("a secret key is %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// The id is an HMAC of a fixed label, not a hash of the key itself, so
	// it cannot be confused with (or reused as) any other digest of it.
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("metalplane secret key id"))
	return &Key{id: hex.EncodeToString(mac.Sum(nil)[:8]), aead: aead}, nil
}

// ID names the key without revealing it: 16 hex digits, safe to log and
// to store next to the values.
func (k *Key) ID() string { return k.id }

// Seal encrypts plaintext for the place named by context.
func (k *Key) Seal(plaintext, context string) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	box := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return Prefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(box)
}

// Open decrypts a value sealed for context. It returns ErrWrongKey when
// another key sealed it, and an error when the value is damaged or was
// sealed for another context.
func (k *Key) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", errors.New("not a sealed value")
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("sealed value without key id")
	}
	if id != k.id {
		return "", fmt.Errorf("%w (%s; this process has %s)", ErrWrongKey, id, k.id)
	}
	box, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(box) < k.aead.NonceSize() {
		return "", errors.New("sealed value is damaged")
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, box[:n], box[n:], []byte(context))
	if err != nil {
		return "", errors.New("sealed value is damaged or belongs elsewhere")
	}
	return string(plain), nil
}

// Sealed reports whether a stored value was sealed (rather than written
// in the clear before sealing existed).
func Sealed(stored string) bool { return strings.HasPrefix(stored, Prefix) }

// KeyID returns the id of the key that sealed a value, or "".
func KeyID(stored string) string {
	rest, ok := strings.CutPrefix(stored, Prefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// The key file holds the key in base64 on one line, so it can be copied
// into a secret manager or an environment as text.

// LoadFile reads the key in path. The error says what is wrong (missing,
// unreadable, not a key) without showing the file's contents.
func LoadFile(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret key file %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != KeySize {
		return nil, fmt.Errorf("secret key file %s does not hold a key (want %d random bytes in base64 on one line)", path, KeySize)
	}
	return FromBytes(raw)
}

// CreateFile writes a new random key to path with mode 0600. It fails if
// the file exists: a key is never overwritten.
func CreateFile(path string) (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	return FromBytes(raw)
}

// LoadOrCreateFile reads the key in path, creating it (0600) when the file
// does not exist; created reports which happened.
func LoadOrCreateFile(path string) (key *Key, created bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		key, err := CreateFile(path)
		if err == nil {
			return key, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		// Another process created it first: use theirs.
	}
	key, err = LoadFile(path)
	return key, false, err
}
