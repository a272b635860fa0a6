// Command filter is the sluice example plugin "filter" in Go: it keeps the
// rows where a column compares true to a configured value, with a SELECT
// bitmap (no row is copied). Its behaviour is specified in
// plugins/examples/README.md, identically for every SDK language.
//
// Built (from this directory; see build.sh) with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o filter.wasm .
package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&filter{}) }

func main() {}

// ops are the accepted values of config key "op".
var ops = []string{"==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"}

type filter struct {
	column, op, value string
	opi               int   // index of op in ops
	mask              uint8 // for the six comparisons: bit c+1 set when a three-way comparison c keeps the row

	// Resolution of column and value for the last schema seen: match is
	// the comparison for the column's type, with the value parsed into one
	// of the t* fields. Choosing it once per schema keeps the per-row work
	// free of type switches.
	schema  *abi.Schema
	col     int
	typ     abi.TypeID
	match   func(sluice.Row) (bool, error)
	tInt    int64 // tinyint, smallint, int, bigint, counter, timestamp (ms), time (ns)
	tDate   uint32
	tFloat  float32
	tDouble float64
	tBool   bool
	tText   []byte
	err     error
}

// masks are the three-way comparison results each op keeps: bit 0 for
// less, 1 for equal, 2 for greater (== != < <= > >=).
var masks = [6]uint8{0b010, 0b101, 0b001, 0b011, 0b100, 0b110}

func (f *filter) Init(cfg sluice.Config) error {
	if err := cfg.Unknown("column", "op", "value"); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	if err := cfg.Single("column", "op", "value"); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	var err error
	if f.column, err = cfg.Require("column"); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	if f.op, err = cfg.Require("op"); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	f.opi = -1
	for i, op := range ops {
		if op == f.op && f.opi < 0 {
			f.opi = i
		}
	}
	if f.opi < 0 {
		return fmt.Errorf("filter: op \"%s\" is not one of ==, !=, <, <=, >, >=, is_null, not_null", f.op)
	}
	value, hasValue := cfg.Get("value")
	nullTest := f.op == "is_null" || f.op == "not_null"
	if !nullTest && !hasValue {
		return fmt.Errorf("filter: op \"%s\" needs config key \"value\"", f.op)
	}
	if nullTest && hasValue {
		return fmt.Errorf("filter: op \"%s\" takes no config key \"value\"", f.op)
	}
	f.value = value
	if f.opi < len(masks) {
		f.mask = masks[f.opi]
	}
	return nil
}

func (f *filter) Process(page *sluice.Page, out *sluice.Output) error {
	if page.Schema() != f.schema {
		f.resolve(page)
	}
	if f.err != nil {
		return f.err
	}
	if f.op == "is_null" || f.op == "not_null" {
		want := f.op == "is_null"
		return out.KeepWhere(page, func(row sluice.Row) (bool, error) {
			_, null := row.RawAt(f.col)
			return null == want, nil
		})
	}
	if err := out.KeepWhere(page, f.match); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	return nil
}

// resolve finds the column and parses the value for page's schema.
func (f *filter) resolve(page *sluice.Page) {
	f.schema, f.err = page.Schema(), nil
	col, err := page.Column(f.column)
	if err != nil {
		f.err = fmt.Errorf("filter: %w", err)
		return
	}
	f.col = col
	f.typ = page.Schema().Columns[col].Type.ID
	if f.op == "is_null" || f.op == "not_null" {
		return
	}
	var target any
	target, f.err = parseValue(f.typ, f.value)
	switch t := target.(type) {
	case string:
		f.tText = []byte(t)
	case int64:
		f.tInt = t
	case uint32:
		f.tDate = t
	case bool:
		f.tBool = t
	case float32:
		f.tFloat = t
	case float64:
		f.tDouble = t
	}
	f.match = f.matcher()
	if errors.Is(f.err, errUnsupported) {
		f.err = fmt.Errorf("filter: column \"%s\" has type %s, which filter cannot compare (supported: tinyint, smallint, int, bigint, counter, float, double, boolean, ascii, text, timestamp, date, time)", f.column, f.typ)
	} else if errors.Is(f.err, errRange) {
		f.err = fmt.Errorf("filter: value \"%s\" is out of range for %s", f.value, f.typ)
	} else if f.err != nil {
		f.err = fmt.Errorf("filter: value \"%s\" is not a valid %s", f.value, f.typ)
	}
}

// matcher returns the comparison of one row's cell with the target for the
// column's type. NULL and empty (non-text) cells never match. (Closures
// rather than method values: one call per row instead of two.)
func (f *filter) matcher() func(sluice.Row) (bool, error) {
	switch f.typ {
	case abi.TypeASCII, abi.TypeVarchar:
		return func(row sluice.Row) (bool, error) {
			b, null := row.RawAt(f.col)
			return !null && f.keeps(bytes.Compare(b, f.tText)), nil
		}
	case abi.TypeTinyint:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.TinyintAt(f.col)
			return !null && err == nil && f.keeps(compare3(int64(v), f.tInt)), err
		}
	case abi.TypeSmallint:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.SmallintAt(f.col)
			return !null && err == nil && f.keeps(compare3(int64(v), f.tInt)), err
		}
	case abi.TypeInt:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.IntAt(f.col)
			return !null && err == nil && f.keeps(compare3(int64(v), f.tInt)), err
		}
	case abi.TypeBigint, abi.TypeCounter:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.BigintAt(f.col)
			return !null && err == nil && f.keeps(compare3(v, f.tInt)), err
		}
	case abi.TypeTime:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.TimeAt(f.col)
			return !null && err == nil && f.keeps(compare3(int64(v), f.tInt)), err
		}
	case abi.TypeTimestamp:
		return func(row sluice.Row) (bool, error) {
			b, null := row.RawAt(f.col)
			if null || len(b) == 0 {
				return false, nil
			}
			ms, err := abi.DecodeTimestamp(b)
			if err != nil {
				return false, &sluice.CellError{Row: row.Index(), Column: f.column, Type: f.typ, Len: len(b)}
			}
			return f.keeps(compare3(ms, f.tInt)), nil
		}
	case abi.TypeDate:
		return func(row sluice.Row) (bool, error) {
			b, null := row.RawAt(f.col)
			if null || len(b) == 0 {
				return false, nil
			}
			d, err := abi.DecodeDate(b)
			if err != nil {
				return false, &sluice.CellError{Row: row.Index(), Column: f.column, Type: f.typ, Len: len(b)}
			}
			return f.keeps(cmp.Compare(d, f.tDate)), nil
		}
	case abi.TypeBoolean:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.BooleanAt(f.col)
			return !null && err == nil && f.keeps(cmp.Compare(b2i(v), b2i(f.tBool))), err
		}
	case abi.TypeFloat:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.FloatAt(f.col)
			return !null && err == nil && compareFloat(f.opi, float64(v), float64(f.tFloat)), err
		}
	case abi.TypeDouble:
		return func(row sluice.Row) (bool, error) {
			v, null, err := row.DoubleAt(f.col)
			return !null && err == nil && compareFloat(f.opi, v, f.tDouble), err
		}
	}
	return nil // parseValue refused the type: f.err is set
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compare3 is cmp.Compare for int64, without branches: -1, 0 or 1.
func compare3(a, b int64) int {
	gt, lt := a > b, a < b
	return int(*(*uint8)(unsafe.Pointer(&gt))) - int(*(*uint8)(unsafe.Pointer(&lt)))
}

// keeps reports whether op keeps a row whose three-way comparison with the
// target is c (-1, 0 or 1).
func (f *filter) keeps(c int) bool { return f.mask>>(c+1)&1 != 0 }

// compareFloat applies op (an index in ops) with IEEE 754 semantics (NaN
// compares false except with !=).
func compareFloat(op int, a, b float64) bool {
	switch op {
	case 0: // ==
		return a == b
	case 1: // !=
		return a != b
	case 2: // <
		return a < b
	case 3: // <=
		return a <= b
	case 4: // >
		return a > b
	}
	return a >= b
}

var (
	errUnsupported = errors.New("unsupported type")
	errRange       = errors.New("out of range")
	errSyntax      = errors.New("invalid syntax")
)

// parseValue parses the configured value for a column of type id.
func parseValue(id abi.TypeID, s string) (any, error) {
	switch id {
	case abi.TypeTinyint:
		return parseInt(s, math.MinInt8, math.MaxInt8)
	case abi.TypeSmallint:
		return parseInt(s, math.MinInt16, math.MaxInt16)
	case abi.TypeInt:
		return parseInt(s, math.MinInt32, math.MaxInt32)
	case abi.TypeBigint, abi.TypeCounter:
		return parseInt(s, math.MinInt64, math.MaxInt64)
	case abi.TypeDouble, abi.TypeFloat:
		if !isDecimalFloat(s) {
			return nil, errSyntax
		}
		d, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(d, 0) {
			return nil, errRange
		}
		if id == abi.TypeDouble {
			return d, nil
		}
		f := float32(d)
		if math.IsInf(float64(f), 0) {
			return nil, errRange
		}
		return f, nil
	case abi.TypeBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errSyntax
	case abi.TypeASCII, abi.TypeVarchar:
		return s, nil
	case abi.TypeTimestamp:
		if isInteger(s) {
			return parseInt(s, math.MinInt64, math.MaxInt64)
		}
		ms, ok := parseRFC3339(s)
		if !ok {
			return nil, errSyntax
		}
		return ms, nil
	case abi.TypeDate:
		if len(s) != 10 || s[4] != '-' || s[7] != '-' {
			return nil, errSyntax
		}
		days, ok := parseDate(s)
		if !ok {
			return nil, errSyntax
		}
		return uint32(days + abi.DateEpoch), nil
	case abi.TypeTime:
		ns, rest, ok := parseClock(s)
		if !ok || rest != "" {
			return nil, errSyntax
		}
		return ns, nil
	}
	return nil, errUnsupported
}

// isInteger matches [+-]?[0-9]+.
func isInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && digitsOnly(s)
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseInt(s string, lo, hi int64) (int64, error) {
	if !isInteger(s) {
		return 0, errSyntax
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, errRange
	}
	return v, nil
}

// isDecimalFloat matches [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?.
func isDecimalFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - start
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracDigits = i - fs
	}
	if intDigits == 0 && fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == len(s)
}

// num parses exactly n digits of s at i.
func num(s string, i, n int) (int64, bool) {
	if i+n > len(s) || !digitsOnly(s[i:i+n]) {
		return 0, false
	}
	v, _ := strconv.ParseInt(s[i:i+n], 10, 64)
	return v, true
}

// parseDate parses YYYY-MM-DD (exactly) into days since 1970-01-01.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := num(s, 0, 4)
	m, ok2 := num(s, 5, 2)
	d, ok3 := num(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// parseClock parses HH:MM:SS[.F] (F 1 to 9 digits) at the start of s into
// nanoseconds and returns the rest of s.
func parseClock(s string) (ns int64, rest string, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, "", false
	}
	h, ok1 := num(s, 0, 2)
	m, ok2 := num(s, 3, 2)
	sec, ok3 := num(s, 6, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, "", false
	}
	ns = ((h*60+m)*60 + sec) * 1e9
	i := 8
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		nd := i - fs
		if nd < 1 || nd > 9 {
			return 0, "", false
		}
		frac, _ := strconv.ParseInt(s[fs:i], 10, 64)
		for range 9 - nd {
			frac *= 10
		}
		ns += frac
	}
	return ns, s[i:], true
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.F](Z|±HH:MM) into milliseconds
// since the epoch; digits of F past the third are ignored.
func parseRFC3339(s string) (int64, bool) {
	if len(s) < 20 || s[10] != 'T' {
		return 0, false
	}
	days, ok := parseDate(s[:10])
	if !ok {
		return 0, false
	}
	ns, rest, ok := parseClock(s[11:])
	if !ok {
		return 0, false
	}
	var off int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest, 1, 2)
		om, ok2 := num(rest, 4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = (oh*60 + om) * 60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	secs := days*86400 + ns/1e9 - off
	return secs*1000 + (ns%1e9)/1e6, true
}
