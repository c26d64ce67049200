package metalplane

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH public keys: the ccs key pairs of ImportKeyPair (ACTIONS.md §4.2) and
// the deprecated sshKeys of CreateInstances on 2022-11-20 (§3.1.3). Both
// share one key policy so a key accepted in one place is accepted in the
// other.

const (
	// maxPublicKeys bounds the keys of one key pair and of one sshKeys
	// list (docs).
	maxPublicKeys = 5
	// minRSABits: [decision] RSA keys shorter than 2048 bits are refused
	// as an unsupported algorithm. OpenSSH itself refuses RSA keys under
	// 1024 bits and NIST deprecated 1024-bit RSA, so a short key is a weak
	// algorithm choice rather than broken text.
	minRSABits = 2048
	// MaxKeyNameLength is the longest ImportKeyPair keyName (docs).
	MaxKeyNameLength = 32
	// MaxPublicKeyLineBytes bounds one public key line (of publicKey or
	// one sshKeys entry). [decision] 4096 bytes: a 16384-bit RSA key, the
	// largest x/crypto and OpenSSH accept, takes about 2,800 bytes, which
	// leaves room for a comment.
	MaxPublicKeyLineBytes = 4096
	// MaxPublicKeyBytes bounds the whole publicKey text of ImportKeyPair,
	// blank lines included: five lines of the longest kind [decision]. It
	// is stored and returned by every DescribeKeyPairs.
	MaxPublicKeyBytes = maxPublicKeys * MaxPublicKeyLineBytes
)

// allowedKeyAlgorithms are the key types installed on servers ([decision],
// §4.2). DSA is obsolete and disabled by default in OpenSSH; FIDO keys
// (sk-*) need a hardware token and an OpenSSH build with support, which
// the images do not promise; certificates and post-quantum keys are not
// plain public keys of these types.
var allowedKeyAlgorithms = map[string]bool{
	ssh.KeyAlgoRSA:      true,
	ssh.KeyAlgoED25519:  true,
	ssh.KeyAlgoECDSA256: true,
	ssh.KeyAlgoECDSA384: true,
	ssh.KeyAlgoECDSA521: true,
}

// PublicKey is one parsed OpenSSH public key of a key pair.
type PublicKey struct {
	// Algorithm is the key type, e.g. "ssh-ed25519".
	Algorithm string
	// Text is the normalised authorized_keys line: type, base64 blob and
	// the comment if any, separated by single spaces.
	Text string
	// Fingerprint is the OpenSSH SHA256 fingerprint ("SHA256:..."), the
	// form ssh-keygen -l prints.
	Fingerprint string
}

// keyProblem says why a key line was refused; the two public entry points
// map it to the codes of their action.
type keyProblem int

const (
	keyOK keyProblem = iota
	keyMalformed
	keyAlgorithm
)

// ParsePublicKeys parses the publicKey field of ImportKeyPair: one OpenSSH
// public key per line, blank lines ignored. It answers
// INVALID_PUBLIC_KEY_EXCEED_LIMIT for more than 5 keys,
// INVALID_PUBLIC_KEY_MALFORMED for text that is not a key (or no key at
// all), longer than MaxPublicKeyBytes or with a line longer than
// MaxPublicKeyLineBytes, and INVALID_KEY_PAIR_ALGORITHM for a well-formed
// key of a type other than ssh-rsa, ssh-ed25519 and
// ecdsa-sha2-nistp256/384/521, or an RSA key below 2048 bits (x/crypto
// refuses moduli above 16384 bits, OpenSSH's own limit, as malformed).
//
// [decision] The size of the text, then the count, are checked before any
// line is parsed; lines are then checked in order and the first bad one
// wins. [decision] A line with authorized_keys options (command="...",
// from=...) or a '#' comment line is malformed: a key pair holds keys, and
// options would be installed on every server that uses the pair. [decision] The same key twice is accepted: it
// is harmless, and the ccs API has no duplicate code.
func ParsePublicKeys(text string) ([]PublicKey, *Error) {
	if len(text) > MaxPublicKeyBytes {
		return nil, Errorf("INVALID_PUBLIC_KEY_MALFORMED",
			"The public key text must be at most %d bytes; got %d.", MaxPublicKeyBytes, len(text))
	}
	var lines []string
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, Errorf("INVALID_PUBLIC_KEY_MALFORMED", "The public key is empty.")
	}
	if len(lines) > maxPublicKeys {
		return nil, Errorf("INVALID_PUBLIC_KEY_EXCEED_LIMIT",
			"At most %d public keys are allowed; got %d.", maxPublicKeys, len(lines))
	}
	keys := make([]PublicKey, 0, len(lines))
	for i, line := range lines {
		if len(line) > MaxPublicKeyLineBytes {
			return nil, Errorf("INVALID_PUBLIC_KEY_MALFORMED",
				"Public key %d is longer than %d bytes.", i+1, MaxPublicKeyLineBytes)
		}
		key, comment, problem := parseKeyLine(line)
		switch problem {
		case keyMalformed:
			return nil, Errorf("INVALID_PUBLIC_KEY_MALFORMED",
				"Public key %d is not an OpenSSH public key.", i+1)
		case keyAlgorithm:
			return nil, Errorf("INVALID_KEY_PAIR_ALGORITHM",
				"Public key %d: only ssh-rsa (2048 bits or more), ssh-ed25519 and ecdsa-sha2-nistp256/384/521 are supported.", i+1)
		}
		keys = append(keys, PublicKey{
			Algorithm:   key.Type(),
			Text:        authorizedLine(key, comment),
			Fingerprint: ssh.FingerprintSHA256(key),
		})
	}
	return keys, nil
}

// ValidateSSHKeys checks the sshKeys of CreateInstances and ReinstallInstance
// (2022-11-20 only). More than 5 entries ([decision]) and any entry that is
// not one key of an allowed algorithm answer
// INVALID_PARAMETER_SSH_KEY_MALFORMED: this action has no algorithm code,
// and the seed describes MALFORMED as "usually start with rsa". The same key
// twice, compared by key bytes so a different comment does not hide it,
// answers INVALID_PARAMETER_SSH_KEY_DUPLICATE.
//
// [decision] Every entry's format is checked before duplicates are looked
// for, so a malformed entry wins over an earlier duplicate.
func ValidateSSHKeys(keys []string) *Error {
	if len(keys) > maxPublicKeys {
		return Errorf("INVALID_PARAMETER_SSH_KEY_MALFORMED",
			"At most %d SSH keys are allowed; got %d.", maxPublicKeys, len(keys))
	}
	blobs := make([][]byte, len(keys))
	for i, k := range keys {
		// One entry is one key: an embedded newline would smuggle a
		// second line into authorized_keys.
		k = strings.TrimSpace(k)
		if len(k) > MaxPublicKeyLineBytes {
			return Errorf("INVALID_PARAMETER_SSH_KEY_MALFORMED", "sshKeys[%d] is longer than %d bytes.", i, MaxPublicKeyLineBytes)
		}
		if strings.ContainsAny(k, "\r\n") {
			return Errorf("INVALID_PARAMETER_SSH_KEY_MALFORMED", "sshKeys[%d] must be one key on one line.", i)
		}
		key, _, problem := parseKeyLine(k)
		if problem != keyOK {
			return Errorf("INVALID_PARAMETER_SSH_KEY_MALFORMED",
				"sshKeys[%d] must be an ssh-rsa (2048 bits or more), ssh-ed25519 or ecdsa-sha2-nistp256/384/521 public key.", i)
		}
		blobs[i] = key.Marshal()
	}
	for i := range blobs {
		for j := range i {
			if bytes.Equal(blobs[i], blobs[j]) {
				return Errorf("INVALID_PARAMETER_SSH_KEY_DUPLICATE", "sshKeys[%d] repeats sshKeys[%d].", i, j)
			}
		}
	}
	return nil
}

// ValidateKeyName checks the keyName of ImportKeyPair: 1..32 letters,
// digits, '-' and '_' (the docs' examples use both; [decision] at least one
// character, Terraform asks for two). A bad name answers
// INVALID_KEY_PAIR_MALFORMED.
func ValidateKeyName(name string) *Error {
	ok := len(name) >= 1 && len(name) <= MaxKeyNameLength
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return Errorf("INVALID_KEY_PAIR_MALFORMED",
			"The key name must be 1 to %d letters, digits, '-' or '_'.", MaxKeyNameLength)
	}
	return nil
}

// parseKeyLine parses one trimmed authorized_keys line and applies the key
// policy.
func parseKeyLine(line string) (ssh.PublicKey, string, keyProblem) {
	if line == "" {
		return nil, "", keyMalformed
	}
	key, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		// x/crypto no longer parses some key types OpenSSH can still
		// write (ssh-dss); a well-formed key of such a type is an
		// algorithm problem, not broken text.
		if wellFormedUnknownKey(line) {
			return nil, "", keyAlgorithm
		}
		return nil, "", keyMalformed
	}
	if len(options) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return nil, "", keyMalformed
	}
	if !allowedKeyAlgorithms[key.Type()] {
		return nil, "", keyAlgorithm
	}
	if ck, ok := key.(ssh.CryptoPublicKey); ok {
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
			return nil, "", keyAlgorithm
		}
	}
	return key, comment, keyOK
}

// wellFormedUnknownKey reports whether line is "type base64 [comment]" whose
// blob decodes and starts with the same type name, a name that is not an
// allowed algorithm. Only then is the key called a wrong algorithm; garbage
// that merely begins with "ssh-dss" stays malformed.
func wellFormedUnknownKey(line string) bool {
	fields := strings.Fields(line)
	if len(fields) < 2 || allowedKeyAlgorithms[fields[0]] {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return false
	}
	var head struct {
		Type string
		Rest []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(blob, &head); err != nil {
		return false
	}
	return head.Type == fields[0] && len(head.Rest) > 0
}

// authorizedLine returns the normalised authorized_keys line of a key.
func authorizedLine(key ssh.PublicKey, comment string) string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return line
}
