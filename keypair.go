package metalplane

import (
	"time"
	"unicode/utf8"
)

// KeyPair is a named set of SSH public keys of a team (the ccs key pairs of
// ACTIONS.md §4), installed on Linux instances created or reinstalled with
// its keyId.
type KeyPair struct {
	ID     string
	TeamID string
	// Name is unique within the team. [decision] Names are compared
	// case-sensitively ("Web" and "web" are two key pairs), as stored.
	Name string
	// PublicKey is the publicKey text exactly as imported. [decision]
	// DescribeKeyPairs returns it byte for byte (not the normalised lines
	// of ParsePublicKeys) because Terraform compares it with its
	// configuration and would replace the key pair on any difference.
	// Consumers that need the keys parse it again with ParsePublicKeys; it
	// was valid when imported.
	PublicKey   string
	Description string
	CreatedAt   time.Time
}

// maxKeyDescriptionLen is the longest keyDescription, in characters (docs).
const maxKeyDescriptionLen = 255

// ValidateKeyDescription checks the keyDescription of ImportKeyPair and
// ModifyKeyPairAttribute: at most 255 characters (Unicode code points, not
// bytes, so a description in Chinese gets the same room as one in English).
// A longer one answers INVALID_PARAMETER; "" is valid and means no
// description.
func ValidateKeyDescription(desc string) *Error {
	if n := utf8.RuneCountInString(desc); n > maxKeyDescriptionLen {
		return Errorf("INVALID_PARAMETER", "keyDescription holds at most %d characters; got %d.", maxKeyDescriptionLen, n)
	}
	return nil
}
