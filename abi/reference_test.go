package abi

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Reference implementations: the code the fast paths replaced, kept here
// so that tests and fuzz targets (fastpath_test.go) can check the fast
// paths against them byte for byte.

// refAppendJSONScalar is appendJSON as it was for varint, decimal,
// timestamp, date, float, double, blob, uuid, ascii and text cells
// (non-empty): a validity check before the escaping scan for text, math/big
// for varints and decimals, time.Time.AppendFormat for timestamps and dates,
// strconv for every float and double, base64.StdEncoding for blobs and
// encoding/hex for uuids.
func refAppendJSONScalar(dst []byte, id TypeID, b []byte) ([]byte, error) {
	switch id {
	case TypeVarint:
		v, _ := DecodeVarint(b)
		dst = append(dst, '"')
		dst = v.Append(dst, 10)
		return append(dst, '"'), nil
	case TypeDecimal:
		u, scale, err := DecodeDecimal(b)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = appendDecimalText(dst, u, scale)
		return append(dst, '"'), nil
	case TypeTimestamp:
		ms, err := DecodeTimestamp(b)
		if err != nil {
			return dst, err
		}
		if ms < minTimestampText || ms > maxTimestampText {
			return strconv.AppendInt(dst, ms, 10), nil
		}
		dst = append(dst, '"')
		dst = time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
		return append(dst, '"'), nil
	case TypeDate:
		d, err := DecodeDate(b)
		if err != nil {
			return dst, err
		}
		days := int64(d) - DateEpoch
		if days < minDateText || days > maxDateText {
			return strconv.AppendUint(dst, uint64(d), 10), nil
		}
		dst = append(dst, '"')
		dst = time.Unix(days*86400, 0).UTC().AppendFormat(dst, "2006-01-02")
		return append(dst, '"'), nil
	case TypeASCII:
		if _, err := DecodeASCII(b); err != nil {
			return dst, err
		}
		return refAppendJSONString(dst, b), nil
	case TypeVarchar:
		if !utf8.Valid(b) {
			return dst, errf("text: not valid UTF-8")
		}
		return refAppendJSONString(dst, b), nil
	case TypeFloat, TypeDouble:
		bits, v := 64, 0.0
		if id == TypeFloat {
			f, err := DecodeFloat(b)
			if err != nil {
				return dst, err
			}
			bits, v = 32, float64(f)
		} else {
			f, err := DecodeDouble(b)
			if err != nil {
				return dst, err
			}
			v = f
		}
		switch {
		case math.IsNaN(v):
			return append(dst, `"NaN"`...), nil
		case math.IsInf(v, 1):
			return append(dst, `"Infinity"`...), nil
		case math.IsInf(v, -1):
			return append(dst, `"-Infinity"`...), nil
		}
		return refAppendJSONFloat(dst, v, bits), nil
	case TypeBlob, TypeCustom:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, b)
		return append(dst, '"'), nil
	case TypeUUID, TypeTimeUUID:
		if len(b) != 16 {
			return dst, errf("%s: %d bytes, want 16", id, len(b))
		}
		dst = append(dst, '"')
		dst = refAppendUUIDText(dst, [16]byte(b))
		return append(dst, '"'), nil
	}
	panic(fmt.Sprintf("refAppendJSONScalar: type %s", id))
}

// refAppendJSONFloat is appendJSONFloat as it was, before the fast path
// for short decimals (appendShortDecimal): strconv for every value.
func refAppendJSONFloat(dst []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// refAppendUUIDText is appendUUIDText as it was: encoding/hex into a
// buffer, then a copy.
func refAppendUUIDText(dst []byte, u [16]byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return append(dst, buf[:]...)
}

// refFormatDuration is FormatDuration as it was (closures appending to a
// new slice, then a string).
func refFormatDuration(d Duration) (string, error) {
	neg := d.Months < 0 || d.Days < 0 || d.Nanos < 0
	if neg && (d.Months > 0 || d.Days > 0 || d.Nanos > 0) {
		return "", errf("duration: months %d, days %d and nanoseconds %d have different signs", d.Months, d.Days, d.Nanos)
	}
	if d == (Duration{}) {
		return "0s", nil
	}
	var b []byte
	if neg {
		b = append(b, '-')
	}
	abs := func(v int64) uint64 {
		if v < 0 {
			return uint64(-(v + 1)) + 1
		}
		return uint64(v)
	}
	add := func(v, div uint64, unit string) uint64 {
		if v >= div {
			b = strconv.AppendUint(b, v/div, 10)
			b = append(b, unit...)
			return v % div
		}
		return v
	}
	rem := add(abs(int64(d.Months)), 12, "y")
	add(rem, 1, "mo")
	add(abs(int64(d.Days)), 1, "d")
	rem = add(abs(d.Nanos), 3_600_000_000_000, "h")
	rem = add(rem, 60_000_000_000, "m")
	rem = add(rem, 1_000_000_000, "s")
	rem = add(rem, 1_000_000, "ms")
	rem = add(rem, 1_000, "us")
	add(rem, 1, "ns")
	return string(b), nil
}

// refPageBuilder is PageBuilder as it was: the rows area and offsets
// grown with append, one slice store per cell and per row.
type refPageBuilder struct {
	schema   *Schema
	number   uint64
	split    uint32
	ncols    int
	offsets  []uint32
	data     []byte
	rowStart int // len(data) at the start of the current row
	cells    int // cells appended to the current row
	err      error
	lastRows int
	lastData int

	spareOffsets []uint32 // from Recycle
	spareData    []byte
}

// newRefPageBuilder returns a builder reset for the given page.
func newRefPageBuilder(schema *Schema, number uint64, split uint32) *refPageBuilder {
	b := &refPageBuilder{}
	b.Reset(schema, number, split)
	return b
}

// Reset starts a new empty page with the given schema, number and split,
// discarding anything appended since the last Page call.
func (b *refPageBuilder) Reset(schema *Schema, number uint64, split uint32) {
	b.schema, b.number, b.split = schema, number, split
	b.ncols = 0
	if schema != nil {
		b.ncols = len(schema.Columns)
	}
	if b.offsets == nil {
		b.alloc()
	}
	b.offsets = b.offsets[:1]
	b.offsets[0] = 0
	b.data = b.data[:0]
	b.rowStart, b.cells, b.err = 0, 0, nil
}

// alloc gives the builder buffers: recycled ones if Recycle left some, else
// new ones sized like the last page.
func (b *refPageBuilder) alloc() {
	if b.spareOffsets != nil {
		b.offsets, b.spareOffsets = b.spareOffsets[:1], nil
	} else {
		b.offsets = make([]uint32, 1, max(b.lastRows+1, 16))
	}
	b.offsets[0] = 0
	if b.spareData != nil {
		b.data, b.spareData = b.spareData[:0], nil
	} else {
		b.data = make([]byte, 0, max(b.lastData, 1024))
	}
}

// Recycle hands the buffers of p, a page this builder returned, back to the
// builder for the next page. The caller must not use p (or any Row or cell
// of it) afterwards. It is optional: without it every page gets new
// buffers, which the garbage collector reclaims.
func (b *refPageBuilder) Recycle(p *Page) {
	if p == nil || cap(p.Offsets) == 0 {
		return
	}
	b.spareOffsets, b.spareData = p.Offsets[:0], p.Data[:0:cap(p.Data)]
	p.Offsets, p.Data = nil, nil
}

// Schema returns the schema the builder was reset with.
func (b *refPageBuilder) Schema() *Schema { return b.schema }

// AppendCell appends the next cell of the current row: b == nil appends a
// null, a non-nil empty slice an empty value, anything else the bytes (a
// CQL value encoding; the builder does not interpret it).
func (b *refPageBuilder) AppendCell(v []byte) {
	if b.offsets == nil {
		b.alloc()
	}
	if v == nil {
		b.AppendNull()
		return
	}
	if len(v) > math.MaxInt32 {
		b.setErr(fmt.Errorf("abi: page %d: row %d: cell %d of %d bytes exceeds the i32 length limit", b.number, len(b.offsets)-1, b.cells, len(v)))
		return
	}
	b.data = binary.LittleEndian.AppendUint32(b.data, uint32(len(v)))
	b.data = append(b.data, v...)
	b.cells++
}

// AppendNull appends a null cell to the current row.
func (b *refPageBuilder) AppendNull() {
	if b.offsets == nil {
		b.alloc()
	}
	b.data = binary.LittleEndian.AppendUint32(b.data, 0xFFFFFFFF)
	b.cells++
}

// AppendCellFunc appends a cell whose bytes are written by fill, which
// appends them to dst and returns it (for example AppendInt or a gocql
// marshal function); the length prefix is patched afterwards, so nothing is
// copied twice. If fill returns null=true the cell is null.
func (b *refPageBuilder) AppendCellFunc(fill func(dst []byte) (out []byte, null bool)) {
	if b.offsets == nil {
		b.alloc()
	}
	start := len(b.data)
	b.data = append(b.data, 0, 0, 0, 0)
	out, null := fill(b.data)
	if null {
		b.data = binary.LittleEndian.AppendUint32(b.data[:start], 0xFFFFFFFF)
		b.cells++
		return
	}
	n := len(out) - start - 4
	if n < 0 || n > math.MaxInt32 {
		b.data = b.data[:start]
		b.setErr(fmt.Errorf("abi: page %d: row %d: cell %d: fill returned %d bytes", b.number, len(b.offsets)-1, b.cells, n))
		return
	}
	b.data = out
	binary.LittleEndian.PutUint32(b.data[start:], uint32(n))
	b.cells++
}

func (b *refPageBuilder) setErr(err error) {
	if b.err == nil {
		b.err = err
	}
}

// EndRow ends the current row. It fails, and discards the row, if the row
// does not have exactly one cell per schema column, if a cell was rejected,
// or if the rows area would exceed 4 GiB - 1.
func (b *refPageBuilder) EndRow() error {
	if b.offsets == nil {
		b.alloc()
	}
	err := b.err
	if err == nil && b.cells != b.ncols {
		err = fmt.Errorf("abi: page %d: row %d has %d cells, the schema has %d columns", b.number, len(b.offsets)-1, b.cells, b.ncols)
	}
	if err == nil && uint64(len(b.data)) > math.MaxUint32 {
		err = fmt.Errorf("abi: page %d: rows area of %d bytes exceeds 4 GiB", b.number, len(b.data))
	}
	if err != nil {
		b.DiscardRow()
		return err
	}
	b.offsets = append(b.offsets, uint32(len(b.data)))
	b.rowStart, b.cells = len(b.data), 0
	return nil
}

// DiscardRow drops the cells appended to the current row.
func (b *refPageBuilder) DiscardRow() {
	b.data = b.data[:b.rowStart]
	b.cells, b.err = 0, nil
}

// NumRows returns the number of complete rows.
func (b *refPageBuilder) NumRows() int { return len(b.offsets) - 1 }

// Len returns the size in bytes of the rows area so far (complete rows and
// the current partial row).
func (b *refPageBuilder) Len() int { return len(b.data) }

// Page returns the page of the complete rows (a partial current row is
// dropped) and hands its buffers to the caller. The builder keeps its
// schema, number and split and starts new buffers (sized like this page, or
// given back by Recycle) at the next append; call Reset to change page.
func (b *refPageBuilder) Page() *Page {
	if b.offsets == nil {
		b.alloc()
	}
	p := &Page{Number: b.number, Split: b.split, Schema: b.schema,
		Offsets: b.offsets, Data: b.data[:b.rowStart:b.rowStart]}
	b.lastRows, b.lastData = len(b.offsets)-1, b.rowStart
	b.offsets, b.data = nil, nil
	b.rowStart, b.cells, b.err = 0, 0, nil
	return p
}

// refAppendJSONString is appendJSONString as it was before its
// eight-bytes-at-a-time scan for bytes that need a look.
func refAppendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' || r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
