package metalplane

import "math"

// Money is an amount of the account currency in ten-thousandths of a unit
// (1.0000 = 10000). Money is never a float: every movement is an integer
// ledger row. Prices shown to clients are converted to JSON numbers only at
// the edge (Money.Float).
type Money int64

// MoneyScale is the number of Money units in one currency unit.
const MoneyScale = 10000

// Every price, total, accrual and renewal is computed with the checked
// operations below: an amount that does not fit in a Money is refused,
// never wrapped, because a wrapped product of positive prices is a large
// negative total, and a negative debit is a credit (issue 11). The
// standard library has no checked signed arithmetic, and the few lines
// here do not justify a dependency.

// Add returns m + n and whether the sum fits in a Money.
func (m Money) Add(n Money) (Money, bool) {
	s := m + n
	// Adding a positive n must increase m, adding a negative one must
	// decrease it; a wrapped sum moves the other way.
	return s, (s > m) == (n > 0)
}

// Times returns m × n and whether the product fits in a Money.
func (m Money) Times(n int64) (Money, bool) {
	if m == 0 || n == 0 {
		return 0, true
	}
	p := int64(m) * n
	// MinInt64 × -1 wraps to MinInt64, and MinInt64 / -1 is MinInt64 again
	// in Go, so the division test alone would accept it.
	if p/n != int64(m) || (n == -1 && m == math.MinInt64) {
		return 0, false
	}
	return Money(p), true
}

// moneyCalc evaluates a price formula with checked arithmetic and
// remembers whether any step overflowed, so that a formula reads as one
// expression and is checked once, at the end.
type moneyCalc struct{ overflow bool }

func (c *moneyCalc) times(m Money, n int64) Money {
	p, ok := m.Times(n)
	c.overflow = c.overflow || !ok
	return p
}

func (c *moneyCalc) add(ms ...Money) Money {
	var sum Money
	for _, m := range ms {
		s, ok := sum.Add(m)
		c.overflow = c.overflow || !ok
		sum = s
	}
	return sum
}

// errAmountTooLarge is the answer to a request whose price does not fit in
// a Money. The bounds on every numeric input (docs/api.md, "Bounds on
// numbers") keep the demo catalog far from it; the catalog loader refuses
// prices that could reach it (checkOfferPrices), so it is a last line.
func errAmountTooLarge() *Error {
	return Errorf("INVALID_PARAMETER", "The price of this request is too large to be charged.")
}
