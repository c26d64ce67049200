package metalplane

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// IDs are random so that nothing about one team's activity can be read from
// another team's IDs; shapes follow PROTOCOL.md §11.

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// numericID returns n random digits not starting with 0.
func numericID(n int) string {
	return randomString("123456789", 1) + randomString("0123456789", n-1)
}

// NewInstanceID returns an instance ID: 18 digits.
func NewInstanceID() string { return numericID(18) }

// NewOrderNumber returns an order number: 16 digits.
func NewOrderNumber() string { return numericID(16) }

// NewSubnetID returns a subnet ID: 18 digits.
func NewSubnetID() string { return numericID(18) }

// NewKeyPairID returns a key pair ID: key- and 8 alphanumerics.
func NewKeyPairID() string { return "key-" + randomString(alphanumerics, 8) }

// NewTeamID returns a team ID.
func NewTeamID() string { return "team-" + strings.ToLower(randomString(alphanumerics, 10)) }

// NewResourceGroupID returns a resource group ID.
func NewResourceGroupID() string { return "rg-" + strings.ToLower(randomString(alphanumerics, 12)) }

// NewAccessKeyID returns an access key ID.
func NewAccessKeyID() string { return "MP" + strings.ToUpper(randomString(alphanumerics, 18)) }

// NewSecret returns a random secret (access key password or bearer token).
func NewSecret() string { return randomString(alphanumerics, 32) }

// NewRequestID returns a request ID: T and an upper-case UUID (version 4).
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return fmt.Sprintf("T%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
