package sluice

import (
	"bytes"
	"cmp"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Cmp compares the values of d and o exactly (1.50 equals 1.5; any scale,
// any size): -1, 0 or +1.
func (d Decimal) Cmp(o Decimal) int {
	return numOfBig(d.Unscaled, int64(d.Scale)).cmp(numOfBig(o.Unscaled, int64(o.Scale)))
}

// CmpText compares d exactly with a number written in decimal,
// [+-]digits[.digits][e[+-]digits] ("12.50", "-3", "1e-9").
func (d Decimal) CmpText(text string) (int, error) {
	n, err := parseNum(text)
	if err != nil {
		return 0, err
	}
	return numOfBig(d.Unscaled, int64(d.Scale)).cmp(n), nil
}

// CmpVarintText compares a varint (Row.Varint) exactly with a number
// written in decimal, as Decimal.CmpText ("10" equals "1e1"). Compare two
// varints with big.Int's Cmp.
func CmpVarintText(v *big.Int, text string) (int, error) {
	n, err := parseNum(text)
	if err != nil {
		return 0, err
	}
	return numOfBig(v, 0).cmp(n), nil
}

// num is an exact decimal for comparisons: the value is
// 0.digits × 10^exp, digits without leading or trailing zeros (empty: 0).
// The same algorithm as the Rust SDK's.
type num struct {
	neg    bool
	digits []byte
	exp    int64
}

func newNum(neg bool, digits []byte, scale int64) num {
	start := 0
	for start < len(digits) && digits[start] == '0' {
		start++
	}
	end := len(digits)
	for end > start && digits[end-1] == '0' {
		end--
	}
	if start == end {
		return num{}
	}
	return num{neg: neg, digits: digits[start:end], exp: int64(len(digits)-start) - scale}
}

func numOfBig(u *big.Int, scale int64) num {
	if u == nil {
		return num{}
	}
	return newNum(u.Sign() < 0, []byte(new(big.Int).Abs(u).Text(10)), scale)
}

func parseNum(text string) (num, error) {
	bad := fmt.Errorf("%s is not a decimal number", strconv.Quote(text))
	s, neg := text, false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg, s = s[0] == '-', s[1:]
	}
	mant, expText, hasExp := strings.Cut(strings.ReplaceAll(s, "E", "e"), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || strings.Trim(intPart+frac, "0123456789") != "" || strings.Count(mant, ".") > 1 {
		return num{}, bad
	}
	var exp int64
	if hasExp {
		d := strings.TrimLeft(expText, "+-")
		if d == "" || strings.Trim(d, "0123456789") != "" || len(expText)-len(d) > 1 {
			return num{}, bad
		}
		v, err := strconv.ParseInt(expText, 10, 64)
		if err != nil || v > 1<<40 || v < -(1<<40) {
			return num{}, bad
		}
		exp = v
	}
	return newNum(neg, []byte(intPart+frac), int64(len(frac))-exp), nil
}

func (a num) sign() int {
	switch {
	case len(a.digits) == 0:
		return 0
	case a.neg:
		return -1
	}
	return 1
}

func (a num) cmp(b num) int {
	sa, sb := a.sign(), b.sign()
	if sa != sb || sa == 0 {
		return cmp.Compare(sa, sb)
	}
	m := cmp.Compare(a.exp, b.exp)
	if m == 0 {
		m = bytes.Compare(a.digits, b.digits)
	}
	return m * sa
}
