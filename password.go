package metalplane

import (
	"crypto/rand"
	"math/big"
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
	// One character of each class guarantees the composition rule; the
	// rest comes from the whole alphabet, and a shuffle hides which
	// positions were forced.
	b := []byte{
		passwordUpper[randIndex(len(passwordUpper))],
		passwordLower[randIndex(len(passwordLower))],
		passwordDigits[randIndex(len(passwordDigits))],
		passwordSpecial[randIndex(len(passwordSpecial))],
	}
	for len(b) < passwordGenLen {
		b = append(b, all[randIndex(len(all))])
	}
	for i := len(b) - 1; i > 0; i-- {
		j := randIndex(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// randIndex returns a uniform random integer in [0, n) from crypto/rand.
func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand.Reader does not fail since Go 1.24 (the runtime
		// aborts instead); a failure here means a broken platform, and
		// a predictable password would be worse than a crash.
		panic("metalplane: crypto/rand failed: " + err.Error())
	}
	return int(v.Int64())
}
