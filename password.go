package metalplane

import (
	"crypto/rand"
	"strings"
)

// Instance passwords (ACTIONS.md §3.1.3). The same password is the OS login
// and the IPMI login, so the rule is the strictest of the two.

const (
	passwordMinLen = 8
	passwordMaxLen = 16
	// passwordGenLen is the length of generated passwords: the longest
	// allowed, for the most entropy.
	passwordGenLen = passwordMaxLen

	passwordUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	passwordLower   = "abcdefghijklmnopqrstuvwxyz"
	passwordDigits  = "0123456789"
	passwordSpecial = "~!@$^*-_=+"
)

// ValidatePassword checks an instance password: 8..16 characters, only
// upper-case and lower-case ASCII letters, digits and the specials
// ~ ! @ $ ^ * - _ = +, with at least one character of each of the four
// classes ([decision], the literal reading of the documented rule). Every
// violation answers INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED. The message
// never repeats the password.
func ValidatePassword(p string) *Error {
	if len(p) < passwordMinLen || len(p) > passwordMaxLen {
		return Errorf("INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED",
			"The password must be %d to %d characters.", passwordMinLen, passwordMaxLen)
	}
	var upper, lower, digit, special bool
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		case strings.IndexByte(passwordSpecial, c) >= 0:
			special = true
		default:
			// Also catches every byte of a non-ASCII character, so
			// counting bytes above never lets a multi-byte password in.
			return Errorf("INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED",
				"The password may contain only letters, digits and %s.", passwordSpecial)
		}
	}
	if !upper || !lower || !digit || !special {
		return Errorf("INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED",
			"The password needs an upper-case letter, a lower-case letter, a digit and one of %s.", passwordSpecial)
	}
	return nil
}

// GeneratePassword returns a random 16-character password that passes
// ValidatePassword, for instances created or reinstalled without password
// or key. It draws from crypto/rand: the password also guards IPMI.
func GeneratePassword() string {
	all := passwordUpper + passwordLower + passwordDigits + passwordSpecial
	var r randomIndexes
	// One character of each class guarantees the composition rule; the
	// rest comes from the whole alphabet, and a shuffle hides which
	// positions were forced.
	b := []byte{
		passwordUpper[r.below(len(passwordUpper))],
		passwordLower[r.below(len(passwordLower))],
		passwordDigits[r.below(len(passwordDigits))],
		passwordSpecial[r.below(len(passwordSpecial))],
	}
	for len(b) < passwordGenLen {
		b = append(b, all[r.below(len(all))])
	}
	for i := len(b) - 1; i > 0; i-- {
		j := r.below(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// randomIndexes hands out uniform random integers below n (at most 256)
// from crypto/rand, 64 bytes read at a time. A password takes 31 of them,
// and a purchase makes its passwords while it holds SQLite's one writer:
// one math/big draw each was 31 reads and some 150 allocations, about
// 12 µs a password (docs/performance.md).
type randomIndexes struct {
	buf  [64]byte
	used int
	read bool
}

// below returns a uniform random integer in [0, n), 0 < n <= 256. A byte
// at or above the largest multiple of n that fits in a byte is skipped,
// so that no remainder comes up more often than another.
func (r *randomIndexes) below(n int) int {
	limit := 256 - 256%n
	for {
		if !r.read || r.used == len(r.buf) {
			if _, err := rand.Read(r.buf[:]); err != nil {
				// crypto/rand.Reader does not fail since Go 1.24 (the
				// runtime aborts instead); a failure here means a broken
				// platform, and a predictable password would be worse
				// than a crash.
				panic("metalplane: crypto/rand failed: " + err.Error())
			}
			r.read, r.used = true, 0
		}
		b := int(r.buf[r.used])
		r.used++
		if b < limit {
			return b % n
		}
	}
}
