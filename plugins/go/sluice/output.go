package sluice

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"net/netip"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/abi"
)

// maxRowsPerSection is the most rows the SDK puts in one ROWS section (the
// host's per-section limit); more rows for one output are written as
// several sections, which the host concatenates. A variable for tests.
var maxRowsPerSection = 1_000_000

// Output collects what one call (Process or Flush) returns to the host.
//
// The default output ("") receives the input rows unchanged unless the
// plugin selects rows or writes rows to it:
//
//   - Keep, Drop, Set, KeepAll and DropAll select input rows: a bitmap
//     that starts with every row kept. The host forwards the kept rows
//     without copying them.
//   - Rows written to the default output (Emit, Rows("", schema)) replace
//     the input rows, unless a selection was made too (KeepAll keeps them
//     all): then the selected rows come first, then the written ones, and
//     the written rows must have the input schema.
//
// Named outputs receive only what is sent to them: input rows with Route
// (a bitmap too, no copy) and rows written with Emit or Rows. Within one
// call each output has one schema. Outputs appear in the result in the
// order the call first used them.
//
// An Output is valid only during the call it was given to.
type Output struct {
	nrows  int // input rows; -1 outside Process
	input  *Schema
	sel    []byte // default-output selection bitmap (1 = keep), valid when selSet
	selSet bool
	selSeq int // when the selection was first touched

	routes []*route // named-output selections, reused across calls
	nr     int      // routes in use

	writers []*RowWriter // reused across calls
	nw      int          // writers in use

	seq int // first-use counter
}

// route is the selection of input rows sent to one named output.
type route struct {
	output string
	bitmap []byte
	seq    int
}

// reset prepares o for a call with nrows input rows of schema input (-1 and
// nil for Flush).
func (o *Output) reset(nrows int, input *Schema) {
	o.nrows, o.input, o.selSet = nrows, input, false
	for _, w := range o.writers[:o.nw] {
		w.reset("", nil)
	}
	o.nw, o.nr, o.seq = 0, 0, 0
}

func (o *Output) mustProcess(what string) {
	if o.nrows < 0 {
		panic("sluice: Output." + what + " called outside Process: there are no input rows to select")
	}
}

func (o *Output) selection() []byte {
	if !o.selSet {
		n := abi.BitmapLen(o.nrows)
		if cap(o.sel) < n {
			o.sel = make([]byte, n)
		}
		o.sel = o.sel[:n]
		fillFF(o.sel)
		o.selSet = true
		o.selSeq = o.seq
		o.seq++
	}
	return o.sel
}

// Route sends input row i to the named output output (in addition to
// whatever the default output gets), without copying it: a SELECT section
// on that output, which therefore has the input schema. Routing a row twice
// in one call sends it once. It panics if output is "" (use Keep), if i is
// out of range or when called from Flush.
func (o *Output) Route(output string, i int) {
	o.mustProcess("Route")
	if output == abi.DefaultOutput {
		panic("sluice: Output.Route to the default output: use Keep")
	}
	if i < 0 || i >= o.nrows {
		panic(fmt.Sprintf("sluice: Output.Route(\"%s\", %d) on a page of %d rows", output, i, o.nrows))
	}
	var r *route
	for _, x := range o.routes[:o.nr] {
		if x.output == output {
			r = x
			break
		}
	}
	if r == nil {
		if o.nr == len(o.routes) {
			o.routes = append(o.routes, &route{})
		}
		r = o.routes[o.nr]
		o.nr++
		r.output, r.seq = output, o.seq
		o.seq++
		n := abi.BitmapLen(o.nrows)
		if cap(r.bitmap) < n {
			r.bitmap = make([]byte, n)
		}
		r.bitmap = r.bitmap[:n]
		clear(r.bitmap)
	}
	r.bitmap[i/8] |= 1 << (i % 8)
}

// Keep keeps input row i on the default output. It panics if i is out of
// range or when called from Flush.
func (o *Output) Keep(i int) { o.Set(i, true) }

// Drop drops input row i from the default output. It panics if i is out of
// range or when called from Flush.
func (o *Output) Drop(i int) { o.Set(i, false) }

// Set keeps (keep = true) or drops input row i. It panics if i is out of
// range or when called from Flush.
func (o *Output) Set(i int, keep bool) {
	o.mustProcess("Set")
	if i < 0 || i >= o.nrows {
		panic(fmt.Sprintf("sluice: Output.Set(%d) on a page of %d rows", i, o.nrows))
	}
	sel := o.selection()
	if keep {
		sel[i/8] |= 1 << (i % 8)
	} else {
		sel[i/8] &^= 1 << (i % 8)
	}
}

// KeepAll marks every input row kept. Use it to send the input rows as well
// as rows written to the default output.
func (o *Output) KeepAll() {
	o.mustProcess("KeepAll")
	o.selection()
	fillFF(o.sel)
}

// fillFF sets every byte of b to 0xFF, doubling the filled prefix with copy
// (one memory.copy each) instead of a loop over the bytes.
func fillFF(b []byte) {
	if len(b) == 0 {
		return
	}
	b[0] = 0xFF
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// bitmapCount returns the number of set bits among the first nrows bits of
// a selection bitmap, eight bytes per loop iteration.
func bitmapCount(b []byte, nrows int) int {
	full := nrows / 8
	n, i := 0, 0
	for ; full-i >= 8; i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < full; i++ {
		n += bits.OnesCount8(b[i])
	}
	if r := nrows % 8; r != 0 {
		n += bits.OnesCount8(b[full] & (1<<r - 1))
	}
	return n
}

// DropAll marks every input row dropped; Keep then selects some back.
func (o *Output) DropAll() {
	o.mustProcess("DropAll")
	o.selection()
	clear(o.sel)
}

// KeepWhere keeps the rows of page (the call's input page) for which keep
// returns true and drops the others, visiting them in order; it stops at
// the first error, which it returns. It is Set for each row, but fills the
// selection a byte (eight rows) at a time: the host checks for timeouts on
// every loop iteration of a plugin, so a filter's row loop is cheapest
// written this way. It panics when called from Flush or with another page.
//
//	return out.KeepWhere(page, func(row sluice.Row) (bool, error) {
//		age, null, err := row.IntAt(col)
//		return !null && age >= 18, err
//	})
func (o *Output) KeepWhere(page *Page, keep func(Row) (bool, error)) error {
	o.mustProcess("KeepWhere")
	n := page.NumRows()
	if n != o.nrows {
		panic(fmt.Sprintf("sluice: Output.KeepWhere with a page of %d rows in a call with %d input rows", n, o.nrows))
	}
	sel := o.selection()
	full := n / 8
	for g := range full {
		base := g * 8
		// Eight rows, written out.
		k0, err := keep(page.Row(base))
		if err != nil {
			return o.keepSome(g, 0, 0, err)
		}
		b := bit(k0)
		k1, err := keep(page.Row(base + 1))
		if err != nil {
			return o.keepSome(g, b, 1, err)
		}
		b |= bit(k1) << 1
		k2, err := keep(page.Row(base + 2))
		if err != nil {
			return o.keepSome(g, b, 2, err)
		}
		b |= bit(k2) << 2
		k3, err := keep(page.Row(base + 3))
		if err != nil {
			return o.keepSome(g, b, 3, err)
		}
		b |= bit(k3) << 3
		k4, err := keep(page.Row(base + 4))
		if err != nil {
			return o.keepSome(g, b, 4, err)
		}
		b |= bit(k4) << 4
		k5, err := keep(page.Row(base + 5))
		if err != nil {
			return o.keepSome(g, b, 5, err)
		}
		b |= bit(k5) << 5
		k6, err := keep(page.Row(base + 6))
		if err != nil {
			return o.keepSome(g, b, 6, err)
		}
		b |= bit(k6) << 6
		k7, err := keep(page.Row(base + 7))
		if err != nil {
			return o.keepSome(g, b, 7, err)
		}
		sel[g] = b | bit(k7)<<7
	}
	for i := full * 8; i < n; i++ {
		k, err := keep(page.Row(i))
		if err != nil {
			return err
		}
		o.Set(i, k)
	}
	return nil
}

// keepSome sets the first k bits of selection byte g to those of b (rows
// before an error), leaving the others, and returns err.
func (o *Output) keepSome(g int, b byte, k uint, err error) error {
	done := byte(1)<<k - 1
	o.sel[g] = o.sel[g]&^done | b
	return err
}

// bit is 1 for true, 0 for false, without a branch.
func bit(b bool) byte { return *(*byte)(unsafe.Pointer(&b)) }

// Kept reports whether input row i is currently selected.
func (o *Output) Kept(i int) bool {
	o.mustProcess("Kept")
	return !o.selSet || o.sel[i/8]&(1<<(i%8)) != 0
}

// Rows returns the writer of rows for output (""= default), with schema.
// Every call for the same output in one Process or Flush call returns the
// same writer and must pass an equal schema, else it fails.
func (o *Output) Rows(output string, schema *Schema) (*RowWriter, error) {
	if schema == nil {
		return nil, fmt.Errorf("output \"%s\": nil schema", output)
	}
	for _, w := range o.writers[:o.nw] {
		if w.output == output {
			if w.schema != schema && !w.schema.Equal(schema) {
				return nil, fmt.Errorf("output \"%s\": schema (%s) differs from the schema already written to it in this call (%s)", output, schema, w.schema)
			}
			return w, nil
		}
	}
	if err := schema.Validate(); err != nil {
		return nil, fmt.Errorf("output \"%s\": %w", output, err)
	}
	if o.nw == len(o.writers) {
		o.writers = append(o.writers, &RowWriter{})
	}
	w := o.writers[o.nw]
	o.nw++
	w.reset(output, schema)
	w.seq = o.seq
	o.seq++
	return w, nil
}

// Emit writes one row to output: one value per schema column, converted
// as RowWriter.Value does. It is Rows(output, schema), Value for each
// value, then End.
func (o *Output) Emit(output string, schema *Schema, values ...any) error {
	w, err := o.Rows(output, schema)
	if err != nil {
		return err
	}
	for _, v := range values {
		w.Value(v)
	}
	return w.End()
}

// EmitRow writes input row row, unchanged, to output; the output's schema
// is the input schema.
func (o *Output) EmitRow(output string, row Row) error {
	w, err := o.Rows(output, row.page.Schema())
	if err != nil {
		return err
	}
	if w.cells != 0 {
		return fmt.Errorf("output \"%s\": EmitRow while row %d is partly written (%d cells)", output, w.NumRows(), w.cells)
	}
	b, err := row.bytes()
	if err != nil {
		return err
	}
	w.startRow()
	w.data = append(w.data, b...)
	w.cells = len(w.schema.Columns)
	return w.End()
}

// isBlobOnly is the column types RowWriter.Blob writes to.
var isBlobOnly = is(abi.TypeBlob)

// RowWriter writes rows of one schema to one output. Append one cell per
// column in schema order, then call End:
//
//	w, err := out.Rows("", schema)
//	...
//	w.Text(name).Int(int32(len(name)))
//	if err := w.End(); err != nil { return err }
//
// The cell methods check the column's type and return the writer, so calls
// chain; the first problem is kept and returned by End, which then discards
// the row. A RowWriter is valid during the call that created it.
type RowWriter struct {
	output string
	schema *Schema
	seq    int // first use within the call

	sections []*abi.Page // full sections (maxRowsPerSection rows each)
	offsets  []uint32
	data     []byte
	rowStart int
	cells    int
	err      error
}

func (w *RowWriter) reset(output string, schema *Schema) {
	w.output, w.schema = output, schema
	w.sections = w.sections[:0]
	if w.offsets == nil {
		w.offsets = make([]uint32, 1, 64)
	}
	w.offsets = w.offsets[:1]
	w.data = w.data[:0]
	w.rowStart, w.cells, w.err = 0, 0, nil
}

// Output returns the name of the output the writer writes to.
func (w *RowWriter) Output() string { return w.output }

// Schema returns the writer's schema.
func (w *RowWriter) Schema() *Schema { return w.schema }

// NumRows returns the number of complete rows written in this call.
func (w *RowWriter) NumRows() int {
	return len(w.sections)*maxRowsPerSection + len(w.offsets) - 1
}

func (w *RowWriter) startRow() {
	if w.cells == 0 {
		w.rowStart = len(w.data)
	}
}

// next returns the type of the next column, or records an error and
// returns false when the row is full or an error is pending.
func (w *RowWriter) next(what string, ok typeSet, want string) bool {
	if w.err != nil {
		return false
	}
	w.startRow()
	if w.cells >= len(w.schema.Columns) {
		w.err = fmt.Errorf("output \"%s\": row %d: %s for column %d, but the schema has %d columns", w.output, w.NumRows(), what, w.cells+1, len(w.schema.Columns))
		return false
	}
	if ok != isBlob {
		c := &w.schema.Columns[w.cells]
		if !ok.has(c.Type.ID) {
			w.err = fmt.Errorf("output \"%s\": row %d: %s: %w", w.output, w.NumRows(), what, &TypeError{Column: c.Name, Type: c.Type, Want: want})
			return false
		}
	}
	return true
}

// put appends the cell whose value bytes are appended by app.
func (w *RowWriter) put(app func([]byte) []byte) *RowWriter {
	start := len(w.data)
	w.data = append(w.data, 0, 0, 0, 0)
	w.data = app(w.data)
	n := len(w.data) - start - 4
	if n > math.MaxInt32 {
		w.data = w.data[:start]
		w.err = fmt.Errorf("output \"%s\": row %d: cell of %d bytes exceeds the 2 GiB limit", w.output, w.NumRows(), n)
		return w
	}
	binary.LittleEndian.PutUint32(w.data[start:], uint32(n))
	w.cells++
	return w
}

// Null appends a NULL cell (any column type).
func (w *RowWriter) Null() *RowWriter {
	if !w.next("Null", isBlob, "") {
		return w
	}
	w.data = binary.LittleEndian.AppendUint32(w.data, 0xFFFFFFFF)
	w.cells++
	return w
}

// Raw appends cell bytes as they are (the CQL encoding of the column's
// type; not checked); nil appends NULL.
func (w *RowWriter) Raw(cell []byte) *RowWriter {
	if cell == nil {
		return w.Null()
	}
	if !w.next("Raw", isBlob, "") {
		return w
	}
	return w.put(func(d []byte) []byte { return append(d, cell...) })
}

// Copy appends the cell of column col of an input row, as it is (NULL
// stays NULL). The column types are not compared.
func (w *RowWriter) Copy(row Row, col int) *RowWriter {
	b, null := row.RawAt(col)
	if null {
		return w.Null()
	}
	return w.Raw(b)
}

// Text appends a text or ascii cell. For an ascii column s must be ASCII.
func (w *RowWriter) Text(s string) *RowWriter {
	if !w.next("Text", isText, "text or ascii") {
		return w
	}
	if w.schema.Columns[w.cells].Type.ID == abi.TypeASCII {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\" is ascii, byte %d of the value is 0x%02X", w.output, w.NumRows(), w.schema.Columns[w.cells].Name, i, s[i])
				return w
			}
		}
	}
	return w.put(func(d []byte) []byte { return append(d, s...) })
}

// Blob appends a blob cell; nil appends NULL.
func (w *RowWriter) Blob(b []byte) *RowWriter {
	if b == nil {
		return w.Null()
	}
	if !w.next("Blob", isBlobOnly, "blob") {
		return w
	}
	return w.put(func(d []byte) []byte { return append(d, b...) })
}

// Int appends an int cell.
func (w *RowWriter) Int(v int32) *RowWriter {
	if !w.next("Int", isInt, "int") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendInt(d, v) })
}

// Bigint appends a bigint or counter cell.
func (w *RowWriter) Bigint(v int64) *RowWriter {
	if !w.next("Bigint", isBigint, "bigint or counter") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendBigint(d, v) })
}

// Smallint appends a smallint cell.
func (w *RowWriter) Smallint(v int16) *RowWriter {
	if !w.next("Smallint", isSmallint, "smallint") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendSmallint(d, v) })
}

// Tinyint appends a tinyint cell.
func (w *RowWriter) Tinyint(v int8) *RowWriter {
	if !w.next("Tinyint", isTinyint, "tinyint") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendTinyint(d, v) })
}

// Float appends a float cell.
func (w *RowWriter) Float(v float32) *RowWriter {
	if !w.next("Float", isFloat, "float") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendFloat(d, v) })
}

// Double appends a double cell.
func (w *RowWriter) Double(v float64) *RowWriter {
	if !w.next("Double", isDouble, "double") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendDouble(d, v) })
}

// Boolean appends a boolean cell.
func (w *RowWriter) Boolean(v bool) *RowWriter {
	if !w.next("Boolean", isBoolean, "boolean") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendBoolean(d, v) })
}

// Timestamp appends a timestamp cell: t to the millisecond (t.UnixMilli()).
func (w *RowWriter) Timestamp(t time.Time) *RowWriter {
	if !w.next("Timestamp", isTimestamp, "timestamp") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendTimestamp(d, t.UnixMilli()) })
}

// Date appends a date cell: the day of t in UTC.
func (w *RowWriter) Date(t time.Time) *RowWriter {
	if !w.next("Date", isDate, "date") {
		return w
	}
	days := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		days--
	}
	if days < -abi.DateEpoch || days >= abi.DateEpoch {
		w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\": date %s out of range", w.output, w.NumRows(), w.schema.Columns[w.cells].Name, t.UTC().Format(time.DateOnly))
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendDate(d, uint32(days+abi.DateEpoch)) })
}

// Time appends a time cell: the time since midnight, 0 to 24h-1ns.
func (w *RowWriter) Time(v time.Duration) *RowWriter {
	if !w.next("Time", isTime, "time") {
		return w
	}
	if v < 0 || v >= abi.MaxTime {
		w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\": time of day %s out of range [0, 24h)", w.output, w.NumRows(), w.schema.Columns[w.cells].Name, v)
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendTime(d, int64(v)) })
}

// UUID appends a uuid or timeuuid cell.
func (w *RowWriter) UUID(v [16]byte) *RowWriter {
	if !w.next("UUID", isUUID, "uuid or timeuuid") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendUUID(d, v) })
}

// Varint appends a varint cell; nil appends NULL.
func (w *RowWriter) Varint(v *big.Int) *RowWriter {
	if v == nil {
		return w.Null()
	}
	if !w.next("Varint", isVarint, "varint") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendVarint(d, v) })
}

// Decimal appends a decimal cell; a nil Unscaled appends NULL.
func (w *RowWriter) Decimal(v Decimal) *RowWriter {
	if v.Unscaled == nil {
		return w.Null()
	}
	if !w.next("Decimal", isDecimal, "decimal") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendDecimal(d, v.Unscaled, v.Scale) })
}

// Inet appends an inet cell; the zero Addr appends NULL.
func (w *RowWriter) Inet(v netip.Addr) *RowWriter {
	if !v.IsValid() {
		return w.Null()
	}
	if !w.next("Inet", isInet, "inet") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendInet(d, v) })
}

// Duration appends a duration cell.
func (w *RowWriter) Duration(v Duration) *RowWriter {
	if !w.next("Duration", isDuration, "duration") {
		return w
	}
	return w.put(func(d []byte) []byte { return abi.AppendDuration(d, v) })
}

// Value appends a Go value, converted for the column's type:
//
//	nil                        NULL (any type)
//	RawCell                    the bytes as they are (nil = NULL)
//	string                     text, ascii
//	[]byte                     blob
//	int, int8..int64, uint8..uint32
//	                           tinyint, smallint, int, bigint, counter,
//	                           varint (range-checked)
//	float32                    float, double
//	float64                    double
//	bool                       boolean
//	time.Time                  timestamp, date
//	time.Duration              time
//	[16]byte                   uuid, timeuuid
//	*big.Int                   varint
//	Decimal                    decimal
//	netip.Addr                 inet
//	Duration               duration
//
// Any other combination records an error that End returns.
func (w *RowWriter) Value(v any) *RowWriter {
	if w.err != nil {
		return w
	}
	w.startRow()
	if w.cells >= len(w.schema.Columns) {
		return w.Null() // records the "too many cells" error
	}
	id := w.schema.Columns[w.cells].Type.ID
	switch x := v.(type) {
	case nil:
		return w.Null()
	case RawCell:
		return w.Raw(x)
	case string:
		return w.Text(x)
	case []byte:
		return w.Blob(x)
	case int:
		return w.integer(int64(x))
	case int8:
		return w.integer(int64(x))
	case int16:
		return w.integer(int64(x))
	case int32:
		return w.integer(int64(x))
	case int64:
		return w.integer(x)
	case uint8:
		return w.integer(int64(x))
	case uint16:
		return w.integer(int64(x))
	case uint32:
		return w.integer(int64(x))
	case float32:
		if id == abi.TypeDouble {
			return w.Double(float64(x))
		}
		return w.Float(x)
	case float64:
		return w.Double(x)
	case bool:
		return w.Boolean(x)
	case time.Time:
		if id == abi.TypeDate {
			return w.Date(x)
		}
		return w.Timestamp(x)
	case time.Duration:
		return w.Time(x)
	case [16]byte:
		return w.UUID(x)
	case *big.Int:
		return w.Varint(x)
	case Decimal:
		return w.Decimal(x)
	case netip.Addr:
		return w.Inet(x)
	case Duration:
		return w.Duration(x)
	}
	c := &w.schema.Columns[w.cells]
	w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\" (%s): cannot write a value of Go type %T", w.output, w.NumRows(), c.Name, c.Type, v)
	return w
}

// RawCell is a cell's bytes for RowWriter.Value and Output.Emit, written as
// they are (nil = NULL).
type RawCell []byte

func (w *RowWriter) integer(v int64) *RowWriter {
	c := &w.schema.Columns[w.cells]
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch c.Type.ID {
	case abi.TypeTinyint:
		lo, hi = math.MinInt8, math.MaxInt8
	case abi.TypeSmallint:
		lo, hi = math.MinInt16, math.MaxInt16
	case abi.TypeInt:
		lo, hi = math.MinInt32, math.MaxInt32
	case abi.TypeBigint, abi.TypeCounter, abi.TypeVarint:
	default:
		w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\" (%s): cannot write an integer", w.output, w.NumRows(), c.Name, c.Type)
		return w
	}
	if v < lo || v > hi {
		w.err = fmt.Errorf("output \"%s\": row %d: column \"%s\": %d out of range for %s", w.output, w.NumRows(), c.Name, v, c.Type)
		return w
	}
	switch c.Type.ID {
	case abi.TypeTinyint:
		return w.Tinyint(int8(v))
	case abi.TypeSmallint:
		return w.Smallint(int16(v))
	case abi.TypeInt:
		return w.Int(int32(v))
	case abi.TypeVarint:
		return w.Varint(big.NewInt(v))
	}
	return w.Bigint(v)
}

// End ends the row. It fails, and discards the row, if a cell was refused
// or the row does not have one cell per schema column.
func (w *RowWriter) End() error {
	err := w.err
	if err == nil && w.cells != len(w.schema.Columns) {
		err = fmt.Errorf("output \"%s\": row %d has %d cells, the schema has %d columns", w.output, w.NumRows(), w.cells, len(w.schema.Columns))
	}
	if err == nil && uint64(len(w.data)) > math.MaxUint32 {
		err = fmt.Errorf("output \"%s\": rows area of %d bytes exceeds 4 GiB", w.output, len(w.data))
	}
	if err != nil {
		w.data = w.data[:w.rowStart]
		w.cells, w.err = 0, nil
		return err
	}
	w.offsets = append(w.offsets, uint32(len(w.data)))
	w.cells = 0
	w.rowStart = len(w.data)
	if len(w.offsets)-1 == maxRowsPerSection {
		w.sections = append(w.sections, &abi.Page{Schema: w.schema, Offsets: w.offsets, Data: w.data})
		w.offsets = make([]uint32, 1, 64)
		w.data = nil
		w.rowStart = 0
	}
	return nil
}

// pages returns the complete rows written, as one page per section.
func (w *RowWriter) pages() []*abi.Page {
	ps := w.sections
	if len(w.offsets) > 1 || len(ps) == 0 {
		ps = append(ps, &abi.Page{Schema: w.schema, Offsets: w.offsets, Data: w.data[:w.offsets[len(w.offsets)-1]]})
	}
	return ps
}
