// Package money holds exact amounts of US dollars as integer nano-dollars.
// No float ever touches an amount: parsing, pricing and rendering are all
// integer arithmetic, so totals are always the exact sum of their parts.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Money is an amount in nano-USD (1e-9 USD).
type Money int64

// NanosPerUSD is the number of nano-dollars in one dollar.
const NanosPerUSD = 1_000_000_000

// String renders the amount as a decimal string of USD with nine decimals,
// e.g. "0.000412500".
func (m Money) String() string {
	n := int64(m)
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = uint64(-n)
	}
	return fmt.Sprintf("%s%d.%09d", sign, u/NanosPerUSD, u%NanosPerUSD)
}

// MarshalJSON renders the amount as a JSON string.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(`"` + m.String() + `"`), nil
}

// UnmarshalJSON accepts a decimal string of USD (a bare JSON number is
// refused: it would invite float rounding on the client side).
func (m *Money) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return errors.New("must be a decimal string of USD, e.g. \"2.50\"")
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Parse reads a decimal string of USD with at most nine fractional digits.
func Parse(s string) (Money, error) {
	orig := s
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%q is not a decimal amount", orig)
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("%q has more than 9 decimal places", orig)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%q is not a decimal amount", orig)
			}
		}
	}
	var w int64
	if whole != "" {
		var err error
		w, err = strconv.ParseInt(whole, 10, 64)
		if err != nil || w > (1<<63-1)/NanosPerUSD-1 {
			return 0, fmt.Errorf("%q is too large", orig)
		}
	}
	f := int64(0)
	if frac != "" {
		frac += strings.Repeat("0", 9-len(frac))
		f, _ = strconv.ParseInt(frac, 10, 64)
	}
	v := w*NanosPerUSD + f
	if neg {
		v = -v
	}
	return Money(v), nil
}

// PerMillion is a price in nano-USD per million tokens.
type PerMillion = Money

// Cost returns the exact price of the given token counts, rounded once to
// the nearest nano-dollar (half away from zero). It uses big integers so
// that huge counts at huge prices cannot overflow silently.
func Cost(parts ...TokenPrice) Money {
	total := new(big.Int)
	for _, p := range parts {
		t := new(big.Int).Mul(big.NewInt(p.Tokens), big.NewInt(int64(p.Price)))
		total.Add(total, t)
	}
	million := big.NewInt(1_000_000)
	q, r := new(big.Int).QuoRem(total, million, new(big.Int))
	if new(big.Int).Abs(r).Cmp(big.NewInt(500_000)) >= 0 {
		if total.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		if q.Sign() < 0 {
			return Money(-1 << 63)
		}
		return Money(1<<63 - 1)
	}
	return Money(q.Int64())
}

// TokenPrice is a token count and its price per million tokens.
type TokenPrice struct {
	Tokens int64
	Price  PerMillion
}

// ErrOverflow is returned by Add when a sum would not fit in an int64: a
// total that wrapped around would be silently, hugely wrong.
var ErrOverflow = errors.New("amount overflows int64 nano-USD")

// Add returns a + b, or ErrOverflow when the sum does not fit.
func Add(a, b Money) (Money, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, ErrOverflow
	}
	return a + b, nil
}
