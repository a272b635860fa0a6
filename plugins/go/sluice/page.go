package sluice

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/big"
	"net/netip"
	"time"

	"github.com/sluicehq/sluice/abi"
)

// Page is one page of input rows. It is a view of the host's input buffer,
// valid only during the Process call it was given to; so are its Rows and
// every []byte read from them. Copy what you keep.
//
// The SDK checks the page's structure (header, columns, row offsets) before
// Process, and each cell's framing when a Row reads it. A malformed cell
// framing (which the host never sends) reads as NULL and fails the call
// with a "sluice sdk: decode page" error whatever Process returns; the
// typed getters also return it.
type Page struct {
	p *abi.Page

	// Column lookup by name, cached per schema: the SDK's page decoder
	// reuses one *Schema for every page with the same columns.
	idxSchema *Schema
	idx       map[string]int

	fault error // the first malformed cell framing read in this call
}

// NewPage wraps a decoded ABI page (for tests and for code that builds
// pages with abi.PageBuilder).
func NewPage(p *abi.Page) *Page { return &Page{p: p} }

func (p *Page) reset(ap *abi.Page) { p.p, p.fault = ap, nil }

// setFault records a malformed row (the first one wins) and returns the
// error getters return for it.
func (p *Page) setFault(msg string) error {
	if p.fault == nil {
		// The error abi.PageDecoder gives for the same row, as the engine
		// reports a page it refuses.
		p.fault = fmt.Errorf("sluice sdk: decode page: %w", &abi.DecodeError{Msg: fmt.Sprintf("page %d: %s", p.p.Number, msg)})
	}
	return p.fault
}

// ABI returns the underlying ABI page.
func (p *Page) ABI() *abi.Page { return p.p }

// Number returns the page number: 1-based and increasing within a stream.
func (p *Page) Number() uint64 { return p.p.Number }

// Split returns the index of the token-range split the page comes from (0
// when the stream is not split).
func (p *Page) Split() uint32 { return p.p.Split }

// NumRows returns the number of rows.
func (p *Page) NumRows() int { return p.p.NumRows() }

// Schema returns the column names and types.
func (p *Page) Schema() *Schema { return p.p.Schema }

// Column returns the index of the column called name (exact,
// case-sensitive). It fails with a *ColumnError naming the page's columns.
func (p *Page) Column(name string) (int, error) {
	s := p.p.Schema
	if p.idxSchema != s {
		p.idxSchema = s
		p.idx = make(map[string]int, len(s.Columns))
		for i := len(s.Columns) - 1; i >= 0; i-- { // first wins on duplicates
			p.idx[s.Columns[i].Name] = i
		}
	}
	if i, ok := p.idx[name]; ok {
		return i, nil
	}
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return -1, &ColumnError{Column: name, Columns: names}
}

// Row returns row i (0-based). It panics if i is out of range.
func (p *Page) Row(i int) Row {
	rowSlot = int32(i)
	at := p.p.Offsets[i]
	return Row{page: p, i: i, at: at, b: p.p.Data[at:p.p.Offsets[i+1]]}
}

// Rows iterates over the rows in order.
func (p *Page) Rows() iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for i := range p.p.NumRows() {
			if !yield(p.Row(i)) {
				return
			}
		}
	}
}

// Row is one row of a page: a view, valid only during the call that
// received the page.
//
// Every typed getter exists in two forms: by column name (Int("age")) and
// by column index (IntAt(2)). Each returns the value, whether the cell is
// NULL, and an error: a *ColumnError for an unknown name, a *TypeError when
// the column has another type, a *CellError (which names the row) when the
// cell's bytes are not a valid value. A NULL cell and, for every type but
// text, ascii and blob, an empty cell (zero bytes, which CQL allows) report
// null = true with the zero value. Raw tells NULL and empty apart.
//
// Getters by index panic if the index is out of range, like a slice.
type Row struct {
	page *Page
	i    int
	at   uint32 // where the row starts in the rows area
	b    []byte // the row's cells
}

// rawAt returns cell col; a malformed row reads as NULL with the fault.
// The common case is straight-line code (see decode.go for why).
func (r Row) rawAt(col int) (cell []byte, null bool, err error) {
	if uint(col) >= uint(len(r.page.p.Schema.Columns)) {
		r.badColumn(col)
	}
	b := r.b
	off := 0
	if col > 0 {
		if off = skipCells(b, col); off < 0 {
			return r.malformed(col)
		}
	}
	if len(b)-off < 4 {
		return r.malformed(col)
	}
	n := int32(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	// -1 <= n <= bytes left, in one comparison.
	if uint64(int64(n)+1) > uint64(len(b)-off)+1 {
		return r.malformed(col)
	}
	if n < 0 {
		return nil, true, nil
	}
	return b[off : off+int(n) : off+int(n)], false, nil
}

// skipCells returns the offset of cell col's length prefix in the row b,
// or -1 when a cell before it runs past the row.
func skipCells(b []byte, col int) int {
	off := 0
	for range col {
		if len(b)-off < 4 {
			return -1
		}
		n := int32(binary.LittleEndian.Uint32(b[off:]))
		off += 4 + int(n&^(n>>31)) // max(n, 0), without a branch
		if n < -1 || off > len(b) {
			return -1
		}
	}
	return off
}

func (r Row) badColumn(col int) {
	panic(fmt.Sprintf("sluice: cell %d of a row of %d columns", col, len(r.page.p.Schema.Columns)))
}

// malformed records the fault of a row whose framing fails before or at
// cell col (walk finds the exact problem) and reads the cell as NULL.
func (r Row) malformed(col int) ([]byte, bool, error) {
	_, _, fault := walk(r.b, r.at, r.i, col)
	return nil, true, r.page.setFault(fault)
}

// fixedAt reads cell col, of a type in ok with cells of size (1, 2, 4 or
// 8) bytes, as a big-endian unsigned number. NULL and empty cells give
// null = true; another column type a *TypeError, another length a
// *CellError, a malformed row its fault. The getters that call it are small
// enough to be inlined, and its common case is straight-line code (see
// decode.go for why both matter).
func (r Row) fixedAt(col int, ok typeSet, want string, size int) (v uint64, null bool, err error) {
	cols := r.page.p.Schema.Columns
	if uint(col) >= uint(len(cols)) {
		r.badColumn(col)
	}
	if !ok.has(cols[col].Type.ID) {
		return 0, false, &TypeError{Column: cols[col].Name, Type: cols[col].Type, Want: want}
	}
	b := r.b
	off := 0
	if col > 0 {
		if off = skipCells(b, col); off < 0 {
			_, null, err = r.malformed(col)
			return 0, null, err
		}
	}
	if len(b)-off < 4 {
		_, null, err = r.malformed(col)
		return 0, null, err
	}
	n := int32(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	if end := off + size; bit(int(n) == size)&bit(end <= len(b)) != 0 {
		if end >= 8 {
			// The 8 bytes ending with the cell, masked: no switch on size.
			return binary.BigEndian.Uint64(b[end-8:end]) & (1<<(8*size) - 1), false, nil
		}
		for _, c := range b[off:end] {
			v = v<<8 | uint64(c)
		}
		return v, false, nil
	}
	if uint64(int64(n)+1) > uint64(len(b)-off)+1 {
		_, null, err = r.malformed(col)
		return 0, null, err
	}
	if n <= 0 {
		return 0, true, nil // NULL or empty
	}
	return 0, false, r.badLen(col, int(n))
}

// badLen is the error of a cell of column col with a wrong length.
func (r Row) badLen(col, n int) error {
	c := &r.page.p.Schema.Columns[col]
	return &CellError{Row: r.i, Column: c.Name, Type: c.Type.ID, Len: n}
}

// bytes returns the row's bytes after checking every cell's framing.
func (r Row) bytes() ([]byte, error) {
	if fault := checkRow(r.b, r.at, r.i, len(r.page.p.Schema.Columns)); fault != "" {
		return nil, r.page.setFault(fault)
	}
	return r.b, nil
}

// Index returns the row's index in its page (0-based).
func (r Row) Index() int { return r.i }

// Page returns the page the row belongs to.
func (r Row) Page() *Page { return r.page }

// Raw returns the bytes of the cell in column name (the CQL native protocol
// v5 encoding) and whether it is NULL. An empty cell is a non-nil empty
// slice.
func (r Row) Raw(name string) (cell []byte, null bool, err error) {
	col, err := r.page.Column(name)
	if err != nil {
		return nil, false, err
	}
	return r.rawAt(col)
}

// RawAt returns the bytes of the cell in column col and whether it is NULL.
func (r Row) RawAt(col int) (cell []byte, null bool) {
	cell, null, _ = r.rawAt(col)
	return cell, null
}

// IsNull reports whether the cell in column name is NULL.
func (r Row) IsNull(name string) (bool, error) {
	_, null, err := r.Raw(name)
	return null, err
}

// cell returns the bytes of column col after checking its type is in ok.
func (r Row) cell(col int, ok typeSet, want string) (b []byte, null bool, err error) {
	c := &r.page.p.Schema.Columns[col]
	if !ok.has(c.Type.ID) {
		return nil, false, &TypeError{Column: c.Name, Type: c.Type, Want: want}
	}
	return r.rawAt(col)
}

// cellErr turns a decode error of column col into a *CellError; an empty
// value is not an error but null.
func (r Row) cellErr(col int, b []byte, err error) (null bool, _ error) {
	if errors.Is(err, abi.ErrEmptyValue) {
		return true, nil
	}
	c := &r.page.p.Schema.Columns[col]
	ce := &CellError{Row: r.i, Column: c.Name, Type: c.Type.ID, Len: len(b)}
	if fl := cellLen(c.Type); fl < 0 || fl == len(b) {
		// Not a length problem: say what is wrong.
		var de *abi.DecodeError
		if errors.As(err, &de) {
			ce.Detail = de.Msg
		} else {
			ce.Detail = err.Error()
		}
	}
	return false, ce
}

func (r Row) byName(name string) (int, error) { return r.page.Column(name) }

// cellLen is the length every non-empty cell of type t has, or -1 when it
// varies. Unlike Type.FixedLen (which describes elements inside a
// vector, where Cassandra length-prefixes tinyint, smallint, date, time and
// counter), this is the length of a top-level cell.
func cellLen(t Type) int {
	switch t.ID {
	case abi.TypeTinyint:
		return 1
	case abi.TypeSmallint:
		return 2
	case abi.TypeDate:
		return 4
	case abi.TypeTime, abi.TypeCounter:
		return 8
	}
	return t.FixedLen()
}

// typeSet is a set of type ids: bit id, with vector (0x50, the only ABI v1
// id above 62) at bit 63. A bit test instead of a loop over ids (see
// decode.go for why that matters).
type typeSet uint64

func typeBit(id TypeID) typeSet { return 1 << min(uint(id), 63) }

func is(ids ...TypeID) typeSet {
	var s typeSet
	for _, id := range ids {
		s |= typeBit(id)
	}
	return s
}

func (s typeSet) has(id TypeID) bool { return s&typeBit(id) != 0 }

var (
	isText      = is(abi.TypeVarchar, abi.TypeASCII)
	isBlob      = ^typeSet(0)
	isInt       = is(abi.TypeInt)
	isBigint    = is(abi.TypeBigint, abi.TypeCounter)
	isSmallint  = is(abi.TypeSmallint)
	isTinyint   = is(abi.TypeTinyint)
	isFloat     = is(abi.TypeFloat)
	isDouble    = is(abi.TypeDouble)
	isBoolean   = is(abi.TypeBoolean)
	isTimestamp = is(abi.TypeTimestamp)
	isDate      = is(abi.TypeDate)
	isTime      = is(abi.TypeTime)
	isUUID      = is(abi.TypeUUID, abi.TypeTimeUUID)
	isVarint    = is(abi.TypeVarint)
	isDecimal   = is(abi.TypeDecimal)
	isInet      = is(abi.TypeInet)
	isDuration  = is(abi.TypeDuration)
	isListLike  = is(abi.TypeList, abi.TypeSet)
	isMap       = is(abi.TypeMap)
	isTuple     = is(abi.TypeTuple, abi.TypeUDT)
	isVector    = is(abi.TypeVector)
)

// decodeAt is the shared body of the scalar getters.
func decodeAt[T any](r Row, col int, ok typeSet, want string, dec func([]byte) (T, error)) (v T, null bool, err error) {
	b, null, err := r.cell(col, ok, want)
	if err != nil || null {
		return v, null, err
	}
	v, err = dec(b)
	if err != nil {
		var zero T
		null, err = r.cellErr(col, b, err)
		return zero, null, err
	}
	return v, false, nil
}

func decodeNamed[T any](r Row, name string, ok typeSet, want string, dec func([]byte) (T, error)) (T, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		var zero T
		return zero, false, err
	}
	return decodeAt(r, col, ok, want, dec)
}

func decodeTextValue(b []byte) (string, error) { return abi.DecodeText(b) }
func decodeBlob(b []byte) ([]byte, error)      { return b, nil }

// Decimal is a CQL decimal: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

func decodeDecimal(b []byte) (Decimal, error) {
	u, s, err := abi.DecodeDecimal(b)
	return Decimal{Unscaled: u, Scale: s}, err
}

// Text returns a text or ascii cell as a string (a copy). The bytes of a
// text cell must be valid UTF-8, those of an ascii cell ASCII.
func (r Row) Text(name string) (string, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return "", false, err
	}
	return r.TextAt(col)
}

// TextAt is Text by column index.
func (r Row) TextAt(col int) (string, bool, error) {
	dec := decodeTextValue
	if r.page.p.Schema.Columns[col].Type.ID == abi.TypeASCII {
		dec = abi.DecodeASCII
	}
	return decodeAt(r, col, isText, "text or ascii", dec)
}

// Blob returns the bytes of a cell of any type (for a blob column, its
// value). The slice aliases the input page.
func (r Row) Blob(name string) ([]byte, bool, error) {
	return decodeNamed(r, name, isBlob, "blob", decodeBlob)
}

// BlobAt is Blob by column index.
func (r Row) BlobAt(col int) ([]byte, bool, error) {
	return decodeAt(r, col, isBlob, "blob", decodeBlob)
}

// Int returns an int cell.
func (r Row) Int(name string) (int32, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return int32(0), false, err
	}
	return r.IntAt(col)
}

// IntAt is Int by column index.
func (r Row) IntAt(col int) (int32, bool, error) {
	v, null, err := r.fixedAt(col, isInt, "int", 4)
	return int32(v), null, err
}

// Bigint returns a bigint or counter cell.
func (r Row) Bigint(name string) (int64, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return int64(0), false, err
	}
	return r.BigintAt(col)
}

// BigintAt is Bigint by column index.
func (r Row) BigintAt(col int) (int64, bool, error) {
	v, null, err := r.fixedAt(col, isBigint, "bigint or counter", 8)
	return int64(v), null, err
}

// Smallint returns a smallint cell.
func (r Row) Smallint(name string) (int16, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return int16(0), false, err
	}
	return r.SmallintAt(col)
}

// SmallintAt is Smallint by column index.
func (r Row) SmallintAt(col int) (int16, bool, error) {
	v, null, err := r.fixedAt(col, isSmallint, "smallint", 2)
	return int16(v), null, err
}

// Tinyint returns a tinyint cell.
func (r Row) Tinyint(name string) (int8, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return int8(0), false, err
	}
	return r.TinyintAt(col)
}

// TinyintAt is Tinyint by column index.
func (r Row) TinyintAt(col int) (int8, bool, error) {
	v, null, err := r.fixedAt(col, isTinyint, "tinyint", 1)
	return int8(v), null, err
}

// Float returns a float cell.
func (r Row) Float(name string) (float32, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return float32(0), false, err
	}
	return r.FloatAt(col)
}

// FloatAt is Float by column index.
func (r Row) FloatAt(col int) (float32, bool, error) {
	v, null, err := r.fixedAt(col, isFloat, "float", 4)
	return math.Float32frombits(uint32(v)), null, err
}

// Double returns a double cell.
func (r Row) Double(name string) (float64, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return float64(0), false, err
	}
	return r.DoubleAt(col)
}

// DoubleAt is Double by column index.
func (r Row) DoubleAt(col int) (float64, bool, error) {
	v, null, err := r.fixedAt(col, isDouble, "double", 8)
	return math.Float64frombits(v), null, err
}

// Boolean returns a boolean cell (any non-zero byte is true).
func (r Row) Boolean(name string) (bool, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return false, false, err
	}
	return r.BooleanAt(col)
}

// BooleanAt is Boolean by column index.
func (r Row) BooleanAt(col int) (bool, bool, error) {
	v, null, err := r.fixedAt(col, isBoolean, "boolean", 1)
	return v != 0, null, err
}

// Timestamp returns a timestamp cell as a UTC time with millisecond
// precision (t.UnixMilli() is the stored value).
func (r Row) Timestamp(name string) (time.Time, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return time.Time{}, false, err
	}
	return r.TimestampAt(col)
}

// TimestampAt is Timestamp by column index.
func (r Row) TimestampAt(col int) (time.Time, bool, error) {
	v, null, err := r.fixedAt(col, isTimestamp, "timestamp", 8)
	if null || err != nil {
		return time.Time{}, null, err
	}
	return time.UnixMilli(int64(v)).UTC(), false, nil
}

// Date returns a date cell as midnight UTC of that day.
func (r Row) Date(name string) (time.Time, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return time.Time{}, false, err
	}
	return r.DateAt(col)
}

// DateAt is Date by column index.
func (r Row) DateAt(col int) (time.Time, bool, error) {
	v, null, err := r.fixedAt(col, isDate, "date", 4)
	if null || err != nil {
		return time.Time{}, null, err
	}
	return time.Unix((int64(v)-abi.DateEpoch)*86400, 0).UTC(), false, nil
}

// Time returns a time cell: the time since midnight, 0 to 24h-1ns; other
// values are a *CellError.
func (r Row) Time(name string) (time.Duration, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return time.Duration(0), false, err
	}
	return r.TimeAt(col)
}

// TimeAt is Time by column index.
func (r Row) TimeAt(col int) (time.Duration, bool, error) {
	v, null, err := r.fixedAt(col, isTime, "time", 8)
	if null || err != nil {
		return 0, null, err
	}
	ns := int64(v)
	if ns < 0 || ns >= abi.MaxTime {
		return 0, false, r.badLen(col, 8) // out of range: "invalid time cell of 8 bytes"
	}
	return time.Duration(ns), false, nil
}

// UUID returns a uuid or timeuuid cell.
func (r Row) UUID(name string) ([16]byte, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return [16]byte{}, false, err
	}
	return r.UUIDAt(col)
}

// UUIDAt is UUID by column index.
func (r Row) UUIDAt(col int) ([16]byte, bool, error) {
	b, null, err := r.cell(col, isUUID, "uuid or timeuuid")
	if len(b) == 16 {
		return [16]byte(b), false, nil
	}
	if err != nil || null || len(b) == 0 {
		return [16]byte{}, null || (err == nil && len(b) == 0), err
	}
	return [16]byte{}, false, r.badLen(col, len(b))
}

// Varint returns a varint cell.
func (r Row) Varint(name string) (*big.Int, bool, error) {
	return decodeNamed(r, name, isVarint, "varint", abi.DecodeVarint)
}

// VarintAt is Varint by column index.
func (r Row) VarintAt(col int) (*big.Int, bool, error) {
	return decodeAt(r, col, isVarint, "varint", abi.DecodeVarint)
}

// Decimal returns a decimal cell.
func (r Row) Decimal(name string) (Decimal, bool, error) {
	return decodeNamed(r, name, isDecimal, "decimal", decodeDecimal)
}

// DecimalAt is Decimal by column index.
func (r Row) DecimalAt(col int) (Decimal, bool, error) {
	return decodeAt(r, col, isDecimal, "decimal", decodeDecimal)
}

// Inet returns an inet cell (an IPv4 or IPv6 address).
func (r Row) Inet(name string) (netip.Addr, bool, error) {
	return decodeNamed(r, name, isInet, "inet", abi.DecodeInet)
}

// InetAt is Inet by column index.
func (r Row) InetAt(col int) (netip.Addr, bool, error) {
	return decodeAt(r, col, isInet, "inet", abi.DecodeInet)
}

// Duration returns a duration cell.
func (r Row) Duration(name string) (Duration, bool, error) {
	return decodeNamed(r, name, isDuration, "duration", abi.DecodeDuration)
}

// DurationAt is Duration by column index.
func (r Row) DurationAt(col int) (Duration, bool, error) {
	return decodeAt(r, col, isDuration, "duration", abi.DecodeDuration)
}

// List returns the elements of a list or set cell, in order, as raw cells
// (nil for a null element) of the element type (Schema().Columns[i].Type.
// Elems[0]); decode them with the abi.Decode* functions. The slices alias
// the input page.
func (r Row) List(name string) ([][]byte, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return nil, false, err
	}
	return r.ListAt(col)
}

// ListAt is List by column index.
func (r Row) ListAt(col int) ([][]byte, bool, error) {
	return decodeAt(r, col, isListLike, "list or set", func(b []byte) ([][]byte, error) { return abi.SplitList(b, nil) })
}

// Map returns the entries of a map cell as raw key and value cells: key0,
// value0, key1, value1, ... (nil for null).
func (r Row) Map(name string) ([][]byte, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return nil, false, err
	}
	return r.MapAt(col)
}

// MapAt is Map by column index.
func (r Row) MapAt(col int) ([][]byte, bool, error) {
	return decodeAt(r, col, isMap, "map", func(b []byte) ([][]byte, error) { return abi.SplitMap(b, nil) })
}

// Tuple returns the components of a tuple cell, or the fields of a udt
// cell in type order, as raw cells (nil for null; trailing fields absent
// from the value read as null).
func (r Row) Tuple(name string) ([][]byte, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return nil, false, err
	}
	return r.TupleAt(col)
}

// TupleAt is Tuple by column index.
func (r Row) TupleAt(col int) ([][]byte, bool, error) {
	n := len(r.page.p.Schema.Columns[col].Type.Elems)
	return decodeAt(r, col, isTuple, "tuple or udt", func(b []byte) ([][]byte, error) {
		parts, err := abi.SplitTuple(b, n, make([][]byte, 0, n))
		for len(parts) < n && err == nil {
			parts = append(parts, nil)
		}
		return parts, err
	})
}

// Vector returns the elements of a vector cell as raw cells.
func (r Row) Vector(name string) ([][]byte, bool, error) {
	col, err := r.byName(name)
	if err != nil {
		return nil, false, err
	}
	return r.VectorAt(col)
}

// VectorAt is Vector by column index.
func (r Row) VectorAt(col int) ([][]byte, bool, error) {
	t := r.page.p.Schema.Columns[col].Type
	return decodeAt(r, col, isVector, "vector", func(b []byte) ([][]byte, error) {
		if len(t.Elems) != 1 {
			return nil, errors.New("vector type without an element type")
		}
		return abi.SplitVector(b, t.Elems[0], t.Dim, nil)
	})
}
