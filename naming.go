package metalplane

import (
	"strconv"
	"strings"
)

// Instance names and hostnames (ACTIONS.md §3.1.2). CreateInstances accepts
// a pattern with [begin,bits] tokens that number the instances of one
// request; ModifyInstancesAttribute and ReinstallInstance take one plain
// value for one instance, so they accept no tokens.

// MaxNameLength bounds an instance name and a hostname after expansion
// (docs: "up to 64 characters"). A pattern needs no limit of its own:
// parsing it is linear in its length, which the body limit bounds, and only
// expanded values are stored.
const MaxNameLength = 64

// Limits of the [begin,bits] token.
const (
	tokenMaxBeg  = 99999
	tokenMinBits = 1
	tokenMaxBits = 6
	// tokenDefBits is the docs' default width of a token.
	tokenDefBits = 6
)

// nameSegment is one piece of a parsed pattern: a literal run of characters
// or a numbering token.
type nameSegment struct {
	literal string
	token   bool
	begin   int
	bits    int
}

// ExpandInstanceNames expands an instanceName pattern into amount names, in
// instanceIdSet order. Every violation, whether a bad character, a bad token
// or an expanded name outside 1..64 characters, answers
// INVALID_PARAMETER_INSTANCE_NAME_EXCEED: the spec gives instanceName only
// that one code. An amount below 1 is the caller's bug (amount is checked
// earlier, §3.1.9) and answers INVALID_PARAMETER.
func ExpandInstanceNames(pattern string, amount int) ([]string, *Error) {
	if amount < 1 {
		return nil, Errorf("INVALID_PARAMETER", "amount must be at least 1.")
	}
	names, msg, badLen := expandNames(pattern, amount)
	switch {
	case msg != "":
		return nil, Errorf("INVALID_PARAMETER_INSTANCE_NAME_EXCEED", "instanceName: %s", msg)
	case badLen:
		return nil, Errorf("INVALID_PARAMETER_INSTANCE_NAME_EXCEED",
			"instanceName: each expanded name must be 1 to %d characters.", MaxNameLength)
	}
	return names, nil
}

// ExpandHostnames expands a hostname pattern into amount hostnames, in
// instanceIdSet order. A bad character, a space or a bad token answers
// INVALID_PARAMETER_HOSTNAME_MALFORMED; an expanded hostname outside 1..64
// characters answers INVALID_PARAMETER_HOSTNAME_EXCEED.
//
// [decision] Characters and tokens are checked before length, so a long
// value with a bad character is MALFORMED. An empty expansion is a length
// violation (EXCEED, the seed's "invalid hostname length"), not a format one.
func ExpandHostnames(pattern string, amount int) ([]string, *Error) {
	if amount < 1 {
		return nil, Errorf("INVALID_PARAMETER", "amount must be at least 1.")
	}
	names, msg, badLen := expandNames(pattern, amount)
	switch {
	case msg != "":
		return nil, Errorf("INVALID_PARAMETER_HOSTNAME_MALFORMED", "hostname: %s", msg)
	case badLen:
		return nil, Errorf("INVALID_PARAMETER_HOSTNAME_EXCEED",
			"hostname: each expanded hostname must be 1 to %d characters.", MaxNameLength)
	}
	return names, nil
}

// expandNames parses and expands a pattern. It returns a client-safe message
// when the pattern is malformed, or badLen when some expanded value is
// outside 1..64 characters.
//
// Lengths are computed before any string is built: a value only grows with
// the instance index, so checking the first and the last instance covers
// all of them, and an oversized pattern costs no allocation per instance.
func expandNames(pattern string, amount int) (names []string, msg string, badLen bool) {
	segs, msg := parseNamePattern(pattern)
	if msg != "" {
		return nil, msg, false
	}
	if expandedLen(segs, 0) < 1 || expandedLen(segs, amount-1) > MaxNameLength {
		return nil, "", true
	}
	return expandNamePattern(segs, amount), "", false
}

// expandedLen returns the length of the value of instance i.
func expandedLen(segs []nameSegment, i int) int {
	n := 0
	for _, s := range segs {
		if !s.token {
			n += len(s.literal)
			continue
		}
		n += max(s.bits, len(strconv.Itoa(s.begin+i)))
	}
	return n
}

// ValidatePlainName checks the instanceName of ModifyInstancesAttribute:
// 1..64 letters, digits, '-' and '.'. Patterns are not expanded there
// ([decision], §3.10), so '[', ']' and '_' are plain bad characters. Every
// violation answers INVALID_PARAMETER_INSTANCE_NAME_EXCEED.
func ValidatePlainName(name string) *Error {
	if !isPlainName(name) {
		return Errorf("INVALID_PARAMETER_INSTANCE_NAME_EXCEED",
			"instanceName must be 1 to %d letters, digits, '-' or '.'.", MaxNameLength)
	}
	if len(name) < 1 || len(name) > MaxNameLength {
		return Errorf("INVALID_PARAMETER_INSTANCE_NAME_EXCEED",
			"instanceName must be 1 to %d characters.", MaxNameLength)
	}
	return nil
}

// ValidatePlainHostname checks the hostname of ReinstallInstance: 1..64
// letters, digits, '-' and '.', without patterns ([decision], §3.6). A bad
// character answers INVALID_PARAMETER_HOSTNAME_MALFORMED, a bad length
// INVALID_PARAMETER_HOSTNAME_EXCEED, in that order as for ExpandHostnames.
func ValidatePlainHostname(h string) *Error {
	if !isPlainName(h) {
		return Errorf("INVALID_PARAMETER_HOSTNAME_MALFORMED",
			"hostname may contain only letters, digits, '-' and '.'.")
	}
	if len(h) < 1 || len(h) > MaxNameLength {
		return Errorf("INVALID_PARAMETER_HOSTNAME_EXCEED",
			"hostname must be 1 to %d characters.", MaxNameLength)
	}
	return nil
}

// isPlainName reports whether every byte of s is a literal name character.
// The empty string passes; callers check the length separately so that the
// length and the character codes stay distinct.
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// isNameChar reports whether c may appear literally in a name: ASCII
// letters, digits, '-' and '.'. Bytes of multi-byte UTF-8 characters all
// fail, so non-ASCII letters are refused as the docs' "letters" intend.
func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// parseNamePattern splits a pattern into literal runs and tokens. It returns
// a non-empty client-safe message when the pattern is malformed.
//
// The grammar, from §3.1.2:
//   - literal characters are letters, digits, '-' and '.';
//   - '_' is allowed only directly before '[' and is dropped ([decision]:
//     the docs' own example server_[3,3] yields server003);
//   - a token is "[" begin? "," bits? "]" or "[]"; an empty component takes
//     its default (begin 0, bits 6). [decision] "[5]" without a comma and
//     anything else inside the brackets (signs, spaces, nested brackets) is
//     malformed, as is a ']' outside a token.
func parseNamePattern(pattern string) ([]nameSegment, string) {
	var segs []nameSegment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, nameSegment{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case isNameChar(c):
			lit.WriteByte(c)
		case c == '_':
			if i+1 >= len(pattern) || pattern[i+1] != '[' {
				return nil, "'_' is allowed only directly before a [begin,bits] pattern."
			}
		case c == '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, "a '[' has no matching ']'."
			}
			begin, bits, msg := parseNameToken(pattern[i+1 : i+1+end])
			if msg != "" {
				return nil, msg
			}
			flush()
			segs = append(segs, nameSegment{token: true, begin: begin, bits: bits})
			i += end + 1
		case c == ' ':
			return nil, "spaces are not allowed."
		default:
			return nil, "only letters, digits, '-', '.' and [begin,bits] patterns are allowed."
		}
	}
	flush()
	return segs, ""
}

// parseNameToken parses the inside of a token ("3,3", ",3", "7,", "").
func parseNameToken(s string) (begin, bits int, msg string) {
	begin, bits = 0, tokenDefBits
	if s == "" {
		return begin, bits, ""
	}
	b, w, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, "a pattern must be [begin,bits]."
	}
	if b != "" {
		n, ok := parseDigits(b)
		if !ok || n > tokenMaxBeg {
			return 0, 0, "begin of [begin,bits] must be an integer from 0 to 99999."
		}
		begin = n
	}
	if w != "" {
		n, ok := parseDigits(w)
		if !ok || n < tokenMinBits || n > tokenMaxBits {
			return 0, 0, "bits of [begin,bits] must be an integer from 1 to 6."
		}
		bits = n
	}
	return begin, bits, ""
}

// parseDigits parses a run of ASCII digits. strconv.Atoi alone would accept
// a sign; an overflowing run reports !ok, which callers treat as out of
// range.
func parseDigits(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// expandNamePattern writes the value of every instance. Each token numbers
// independently from its own begin. [decision] A number wider than bits is
// written in full (db[98,2] gives db100), never truncated, so values stay
// distinct.
func expandNamePattern(segs []nameSegment, amount int) []string {
	out := make([]string, amount)
	var b strings.Builder
	for i := range amount {
		b.Reset()
		for _, s := range segs {
			if !s.token {
				b.WriteString(s.literal)
				continue
			}
			num := strconv.Itoa(s.begin + i)
			for pad := s.bits - len(num); pad > 0; pad-- {
				b.WriteByte('0')
			}
			b.WriteString(num)
		}
		out[i] = b.String()
	}
	return out
}
