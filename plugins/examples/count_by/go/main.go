// Command count_by is the sluice example plugin "count_by" in Go: it counts
// the rows per value of a column and emits (value text, count bigint) rows
// at the end of the stream; its counts survive a hot swap through
// snapshot/restore, in a format shared by every SDK language. Its behaviour
// is specified in plugins/examples/README.md.
//
// Built (from this directory; see build.sh) with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o count_by.wasm .
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&countBy{counts: map[string]uint64{}}) }

func main() {}

// snapshotMagic is "SCB1" as a little-endian u32.
const snapshotMagic = 0x31424353

var outSchema = abi.NewSchema(
	abi.Column{Name: "value", Type: abi.Type{ID: abi.TypeVarchar}},
	abi.Column{Name: "count", Type: abi.Type{ID: abi.TypeBigint}},
)

type countBy struct {
	column, output string

	counts    map[string]uint64 // non-NULL keys
	nullCount uint64            // rows whose cell is NULL

	// Resolution for the last input schema seen.
	schema *abi.Schema
	col    int
	typ    abi.TypeID
	err    error

	key []byte
}

func (c *countBy) Init(cfg sluice.Config) error {
	if err := cfg.Unknown("column", "output"); err != nil {
		return fmt.Errorf("count_by: %w", err)
	}
	if err := cfg.Single("column", "output"); err != nil {
		return fmt.Errorf("count_by: %w", err)
	}
	var err error
	if c.column, err = cfg.Require("column"); err != nil {
		return fmt.Errorf("count_by: %w", err)
	}
	c.output, _ = cfg.Get("output")
	return nil
}

func supported(t abi.TypeID) bool {
	switch t {
	case abi.TypeASCII, abi.TypeVarchar, abi.TypeTinyint, abi.TypeSmallint, abi.TypeInt,
		abi.TypeBigint, abi.TypeCounter, abi.TypeBoolean, abi.TypeTimestamp, abi.TypeDate,
		abi.TypeTime, abi.TypeUUID, abi.TypeTimeUUID, abi.TypeBlob:
		return true
	}
	return false
}

func (c *countBy) resolve(page *sluice.Page) {
	c.schema, c.err = page.Schema(), nil
	i, err := page.Column(c.column)
	if err != nil {
		c.err = fmt.Errorf("count_by: %w", err)
		return
	}
	c.col, c.typ = i, page.Schema().Columns[i].Type.ID
	if !supported(c.typ) {
		c.err = fmt.Errorf("count_by: column \"%s\" has type %s, which count_by cannot count (supported: ascii, text, tinyint, smallint, int, bigint, counter, boolean, timestamp, date, time, uuid, timeuuid, blob)", c.column, c.typ)
	}
}

func (c *countBy) Process(page *sluice.Page, out *sluice.Output) error {
	if page.Schema() != c.schema {
		c.resolve(page)
	}
	if c.err != nil {
		return c.err
	}
	for row := range page.Rows() {
		b, null := row.RawAt(c.col)
		if null {
			c.nullCount++
			continue
		}
		var err error
		c.key, err = render(c.key[:0], c.typ, b)
		if err != nil {
			return sluice.RowErrorf(row, "count_by: row %d: column \"%s\": %w", row.Index(), c.column, err)
		}
		c.counts[string(c.key)]++
	}
	if c.output == "" {
		out.DropAll()
	}
	return nil
}

// sortedKeys returns the non-NULL keys in bytewise order.
func (c *countBy) sortedKeys() []string {
	keys := make([]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go strings compare bytewise
	return keys
}

func (c *countBy) Flush(out *sluice.Output) error {
	if c.nullCount == 0 && len(c.counts) == 0 {
		return nil
	}
	w, err := out.Rows(c.output, outSchema)
	if err != nil {
		return fmt.Errorf("count_by: %w", err)
	}
	if c.nullCount > 0 {
		w.Null().Bigint(int64(c.nullCount))
		if err := w.End(); err != nil {
			return fmt.Errorf("count_by: %w", err)
		}
	}
	for _, k := range c.sortedKeys() {
		w.Raw([]byte(k)).Bigint(int64(c.counts[k]))
		if err := w.End(); err != nil {
			return fmt.Errorf("count_by: %w", err)
		}
	}
	c.nullCount = 0
	clear(c.counts)
	return nil
}

// Snapshot encodes the counts (README: "Snapshot and restore").
func (c *countBy) Snapshot() ([]byte, error) {
	b := binary.LittleEndian.AppendUint32(nil, snapshotMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.column)))
	b = append(b, c.column...)
	n := len(c.counts)
	if c.nullCount > 0 {
		n++
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	if c.nullCount > 0 {
		b = binary.LittleEndian.AppendUint32(b, 0xFFFFFFFF)
		b = binary.LittleEndian.AppendUint64(b, c.nullCount)
	}
	for _, k := range c.sortedKeys() {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint64(b, c.counts[k])
	}
	return b, nil
}

// Restore replaces the counts with those of a snapshot; on error they are
// left unchanged.
func (c *countBy) Restore(b []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("count_by: restore: "+format, args...)
	}
	off := 0
	u32 := func(what string) (uint32, error) {
		if len(b)-off < 4 {
			return 0, fail("%s at byte %d: truncated (%d bytes left)", what, off, len(b)-off)
		}
		v := binary.LittleEndian.Uint32(b[off:])
		off += 4
		return v, nil
	}
	magic, err := u32("magic")
	if err != nil {
		return err
	}
	if magic != snapshotMagic {
		return fail("magic 0x%08X, want 0x%08X (\"SCB1\")", magic, snapshotMagic)
	}
	clen, err := u32("column length")
	if err != nil {
		return err
	}
	if uint64(clen) > uint64(len(b)-off) {
		return fail("column length %d beyond the %d bytes left", clen, len(b)-off)
	}
	column := string(b[off : off+int(clen)])
	off += int(clen)
	n, err := u32("key count")
	if err != nil {
		return err
	}
	// Each entry takes at least 12 bytes: bound n before allocating.
	if uint64(n)*12 > uint64(len(b)-off) {
		return fail("%d keys need at least %d bytes, %d left", n, uint64(n)*12, len(b)-off)
	}
	counts := make(map[string]uint64, n)
	var nullCount uint64
	var prev []byte
	for i := range int(n) {
		klen, err := u32(fmt.Sprintf("key %d length", i))
		if err != nil {
			return err
		}
		var key []byte
		isNull := int32(klen) == -1
		switch {
		case isNull:
			if i != 0 {
				return fail("key %d is NULL, which must come first", i)
			}
		case int32(klen) < -1:
			return fail("key %d length %d", i, int32(klen))
		case uint64(klen) > uint64(len(b)-off):
			return fail("key %d length %d beyond the %d bytes left", i, klen, len(b)-off)
		default:
			key = b[off : off+int(klen)]
			off += int(klen)
			if prev != nil && bytes.Compare(prev, key) >= 0 {
				return fail("key %d \"%s\" does not sort after key %d \"%s\"", i, key, i-1, prev)
			}
			prev = key
		}
		if len(b)-off < 8 {
			return fail("key %d count at byte %d: truncated (%d bytes left)", i, off, len(b)-off)
		}
		cnt := binary.LittleEndian.Uint64(b[off:])
		off += 8
		if cnt == 0 {
			return fail("key %d has count 0", i)
		}
		if isNull {
			nullCount = cnt
		} else {
			counts[string(key)] = cnt
		}
	}
	if off != len(b) {
		return fail("%d trailing bytes after %d keys", len(b)-off, n)
	}
	if column != c.column {
		return fail("snapshot counts column \"%s\", config column is \"%s\"", column, c.column)
	}
	c.counts, c.nullCount = counts, nullCount
	return nil
}

// errRange carries the message of a timestamp or date outside years
// 0000-9999; other render errors are malformed cells.
type errRange string

func (e errRange) Error() string { return string(e) }

// render appends the text rendering of a non-NULL cell of type t to dst
// (README: "Keys: the text rendering of a cell").
func render(dst []byte, t abi.TypeID, b []byte) ([]byte, error) {
	if len(b) == 0 {
		if t == abi.TypeBlob {
			return append(dst, "0x"...), nil
		}
		return dst, nil
	}
	bad := fmt.Errorf("invalid %s cell of %d bytes", t, len(b))
	switch t {
	case abi.TypeASCII, abi.TypeVarchar:
		return append(dst, b...), nil
	case abi.TypeBlob:
		dst = append(dst, "0x"...)
		return hex.AppendEncode(dst, b), nil
	case abi.TypeTinyint:
		v, err := abi.DecodeTinyint(b)
		if err != nil {
			return dst, bad
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case abi.TypeSmallint:
		v, err := abi.DecodeSmallint(b)
		if err != nil {
			return dst, bad
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case abi.TypeInt:
		v, err := abi.DecodeInt(b)
		if err != nil {
			return dst, bad
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case abi.TypeBigint, abi.TypeCounter:
		v, err := abi.DecodeBigint(b)
		if err != nil {
			return dst, bad
		}
		return strconv.AppendInt(dst, v, 10), nil
	case abi.TypeBoolean:
		v, err := abi.DecodeBoolean(b)
		if err != nil {
			return dst, bad
		}
		return strconv.AppendBool(dst, v), nil
	case abi.TypeTimestamp:
		ms, err := abi.DecodeTimestamp(b)
		if err != nil {
			return dst, bad
		}
		secs, msec := floorDiv(ms, 1000)
		days, sod := floorDiv(secs, 86400)
		y, m, d := civilFromDays(days)
		if y < 0 || y > 9999 {
			return dst, errRange(fmt.Sprintf("timestamp %d is outside years 0000-9999", ms))
		}
		dst = appendDate(dst, y, m, d)
		dst = append(dst, 'T')
		dst = appendClock(dst, sod)
		dst = append(dst, '.')
		dst = pad(dst, msec, 3)
		return append(dst, 'Z'), nil
	case abi.TypeDate:
		u, err := abi.DecodeDate(b)
		if err != nil {
			return dst, bad
		}
		days := int64(u) - abi.DateEpoch
		y, m, d := civilFromDays(days)
		if y < 0 || y > 9999 {
			return dst, errRange(fmt.Sprintf("date %d is outside years 0000-9999", days))
		}
		return appendDate(dst, y, m, d), nil
	case abi.TypeTime:
		ns, err := abi.DecodeTime(b)
		if err != nil || ns < 0 || ns >= abi.MaxTime {
			return dst, bad
		}
		dst = appendClock(dst, ns/1e9)
		dst = append(dst, '.')
		return pad(dst, ns%1e9, 9), nil
	case abi.TypeUUID, abi.TypeTimeUUID:
		if len(b) != 16 {
			return dst, bad
		}
		dst = hex.AppendEncode(dst, b[0:4])
		dst = append(dst, '-')
		dst = hex.AppendEncode(dst, b[4:6])
		dst = append(dst, '-')
		dst = hex.AppendEncode(dst, b[6:8])
		dst = append(dst, '-')
		dst = hex.AppendEncode(dst, b[8:10])
		dst = append(dst, '-')
		return hex.AppendEncode(dst, b[10:16]), nil
	}
	return dst, fmt.Errorf("internal error: render of type %s", t)
}

// floorDiv returns the floor quotient and the non-negative remainder.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// civilFromDays returns the proleptic Gregorian date of a day number
// (days since 1970-01-01), by H. Hinnant's algorithm.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era, doe := floorDiv(z, 146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// pad appends v in decimal, zero-padded to width digits.
func pad(dst []byte, v int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func appendDate(dst []byte, y, m, d int64) []byte {
	dst = pad(dst, y, 4)
	dst = append(dst, '-')
	dst = pad(dst, m, 2)
	dst = append(dst, '-')
	return pad(dst, d, 2)
}

// appendClock appends HH:MM:SS of a second of the day.
func appendClock(dst []byte, sod int64) []byte {
	dst = pad(dst, sod/3600, 2)
	dst = append(dst, ':')
	dst = pad(dst, sod/60%60, 2)
	dst = append(dst, ':')
	return pad(dst, sod%60, 2)
}
