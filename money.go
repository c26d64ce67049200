package metalplane

// Money is an amount of the account currency in ten-thousandths of a unit
// (1.0000 = 10000). Money is never a float: every movement is an integer
// ledger row. Prices shown to clients are converted to JSON numbers only at
// the edge (Money.Float).
type Money int64

// MoneyScale is the number of Money units in one currency unit.
const MoneyScale = 10000
