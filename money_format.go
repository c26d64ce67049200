package metalplane

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// moneyDecimals is the number of decimal digits a Money value holds; it
// matches MoneyScale (10^4).
const moneyDecimals = 4

// ParseMoney parses a decimal amount such as "1200", "0.15", "1234.5678" or,
// for ledger adjustments typed by operators, "-50.5". At most four decimals
// are accepted: a fifth would be silently rounded away, and a ledger must
// never lose money to rounding. The digits are read exactly; no float is
// involved at any point.
func ParseMoney(s string) (Money, error) {
	neg := false
	rest := s
	if len(rest) > 0 && rest[0] == '-' {
		neg = true
		rest = rest[1:]
	}
	intPart, fracPart, hasDot := strings.Cut(rest, ".")
	if intPart == "" || !isDecimalDigits(intPart) {
		return 0, fmt.Errorf("parse money %q: want digits with an optional '.' and up to %d decimals", s, moneyDecimals)
	}
	if hasDot && (fracPart == "" || !isDecimalDigits(fracPart)) {
		return 0, fmt.Errorf("parse money %q: want digits after the decimal point", s)
	}
	if len(fracPart) > moneyDecimals {
		return 0, fmt.Errorf("parse money %q: more than %d decimals", s, moneyDecimals)
	}

	// Overflow is checked digit by digit against MaxInt64 for both signs, so
	// every parsed amount can be negated (a refund of a debit) without
	// overflowing.
	const limit = uint64(math.MaxInt64)
	var units uint64
	for _, c := range intPart + fracPart + moneyZeros[:moneyDecimals-len(fracPart)] {
		d := uint64(c - '0')
		if units > (limit-d)/10 {
			return 0, fmt.Errorf("parse money %q: amount too large", s)
		}
		units = units*10 + d
	}
	if neg {
		return Money(-int64(units)), nil
	}
	return Money(units), nil
}

// moneyZeros pads a short fraction to moneyDecimals digits.
const moneyZeros = "0000"

// isDecimalDigits reports whether s is made only of ASCII digits. Signs,
// spaces, exponents and digit separators are rejected so that an amount has
// one spelling.
func isDecimalDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats m with exactly four decimals ("12.3400", "-0.5000"), the
// form ParseMoney reads back, so logs and operator tools round-trip.
func (m Money) String() string {
	// Work on the magnitude as uint64: negating math.MinInt64 as an int64
	// would overflow.
	neg := m < 0
	mag := uint64(m)
	if neg {
		mag = -mag
	}
	frac := strconv.FormatUint(mag%MoneyScale, 10)
	s := strconv.FormatUint(mag/MoneyScale, 10) + "." + moneyZeros[:moneyDecimals-len(frac)] + frac
	if neg {
		return "-" + s
	}
	return s
}

// Float returns m in currency units as a float64. It is only for JSON price
// outputs, where the wire format is a decimal number; it is exact for any
// amount below 2^53 units (about 900 billion currency units).
func (m Money) Float() float64 {
	return float64(m) / MoneyScale
}

// errNegativeMoney is returned when a catalog price is negative: prices are
// never credits, and negative amounts only exist in the ledger.
var errNegativeMoney = errors.New("negative amounts are not allowed here")

// UnmarshalYAML reads a price written as a plain decimal scalar (1200, 0.15,
// 1234.5678). The scalar's source text is parsed, not the float YAML would
// make of it, so 0.1 is exactly 1000 units. Negative amounts and more than
// four decimals are rejected. A quoted decimal ("12.50") is accepted too,
// since operators quote numbers by habit.
func (m *Money) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: money must be a decimal number", node.Line)
	}
	switch node.ShortTag() {
	case "!!int", "!!float", "!!str":
	default:
		return fmt.Errorf("line %d: money must be a decimal number, got %q", node.Line, node.Value)
	}
	if len(node.Value) > 0 && node.Value[0] == '-' {
		return fmt.Errorf("line %d: money %q: %w", node.Line, node.Value, errNegativeMoney)
	}
	v, err := ParseMoney(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", node.Line, err)
	}
	*m = v
	return nil
}
