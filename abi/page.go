package abi

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
)

// pageHeaderLen is the fixed part of an SLP1 page: magic, flags, page_no,
// split, ncols, nrows.
const pageHeaderLen = 4 + 4 + 8 + 4 + 4 + 4

// Page is one page of rows in the ABI row layout. The rows area Data holds,
// for each row and each column in order, a cell: a little-endian i32 length
// (-1 = null, 0 = empty, not null) followed by that many bytes of CQL value
// encoding (native protocol v5, big-endian, exactly as Cassandra sends it). Offsets[i] is the byte
// offset of row i within Data; Offsets[0] = 0 and Offsets[NumRows()] =
// len(Data).
//
// A Page built by PageBuilder or returned by DecodePage is valid (see
// Validate); Row and Cell assume a valid page. The owner of a page is the
// goroutine that holds it; a page sent on a channel changes owner. Pages
// share their Schema, which is immutable.
type Page struct {
	Number  uint64   // 1-based page number within the stream
	Split   uint32   // split index, 0 when the stream is not split
	Schema  *Schema  // column names and types
	Offsets []uint32 // len = NumRows()+1
	Data    []byte   // rows area
}

// NumRows returns the number of rows.
func (p *Page) NumRows() int {
	if len(p.Offsets) == 0 {
		return 0
	}
	return len(p.Offsets) - 1
}

// NumCols returns the number of columns.
func (p *Page) NumCols() int {
	if p.Schema == nil {
		return 0
	}
	return len(p.Schema.Columns)
}

// Row returns a view of row i (0-based). It panics if i is out of range.
func (p *Page) Row(i int) Row {
	return Row{b: p.Data[p.Offsets[i]:p.Offsets[i+1]], ncols: p.NumCols()}
}

// Rows iterates over the rows of the page with their index.
func (p *Page) Rows() iter.Seq2[int, Row] {
	return func(yield func(int, Row) bool) {
		for i := range p.NumRows() {
			if !yield(i, p.Row(i)) {
				return
			}
		}
	}
}

// Row is a view of one row of a page: its cells, in column order, in the
// rows-area layout. It aliases the page's Data.
type Row struct {
	b     []byte
	ncols int
}

// Bytes returns the row's bytes in the rows-area layout (each cell an i32
// little-endian length then its bytes).
func (r Row) Bytes() []byte { return r.b }

// NumCols returns the number of cells of the row.
func (r Row) NumCols() int { return r.ncols }

// Cell returns the bytes of cell col and whether it is null. A null cell
// returns (nil, true); an empty cell returns a non-nil empty slice. Cell
// walks the row from its start, so reading every cell through Cells or
// AppendCells is cheaper than calling Cell for each column. It panics if
// col is out of range.
func (r Row) Cell(col int) (cell []byte, null bool) {
	if col < 0 || col >= r.ncols {
		panic(fmt.Sprintf("abi: Row.Cell(%d) on a row of %d columns", col, r.ncols))
	}
	off := 0
	for i := 0; ; i++ {
		n := int32(binary.LittleEndian.Uint32(r.b[off:]))
		off += 4
		if i == col {
			if n < 0 {
				return nil, true
			}
			return r.b[off : off+int(n) : off+int(n)], false
		}
		if n > 0 {
			off += int(n)
		}
	}
}

// Cells iterates over the cells of the row: column index and bytes, nil for
// null, non-nil empty for an empty value.
func (r Row) Cells() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		off := 0
		for i := range r.ncols {
			n := int32(binary.LittleEndian.Uint32(r.b[off:]))
			off += 4
			var c []byte
			if n >= 0 {
				c = r.b[off : off+int(n) : off+int(n)]
				off += int(n)
			}
			if !yield(i, c) {
				return
			}
		}
	}
}

// AppendCells appends the row's cells (nil for null) to dst and returns it.
// With a reused dst it does not allocate.
func (r Row) AppendCells(dst [][]byte) [][]byte {
	off := 0
	for range r.ncols {
		n := int32(binary.LittleEndian.Uint32(r.b[off:]))
		off += 4
		if n < 0 {
			dst = append(dst, nil)
			continue
		}
		dst = append(dst, r.b[off:off+int(n):off+int(n)])
		off += int(n)
	}
	return dst
}

// schemaDescLen returns the encoded length of the columns of s.
func schemaDescLen(s *Schema) int {
	if s == nil {
		return 0
	}
	n := 0
	for i := range s.Columns {
		n += 4 + len(s.Columns[i].Name) + typeDescLen(s.Columns[i].Type)
	}
	return n
}

func appendColumns(dst []byte, s *Schema) []byte {
	if s == nil {
		return dst
	}
	for i := range s.Columns {
		dst = appendStr(dst, s.Columns[i].Name)
		dst = AppendTypeDesc(dst, s.Columns[i].Type)
	}
	return dst
}

// EncodedLen returns the length of the page's SLP1 encoding.
func (p *Page) EncodedLen() int {
	return pageHeaderLen + schemaDescLen(p.Schema) + 4*(p.NumRows()+1) + len(p.Data)
}

// AppendEncoded appends the page's SLP1 encoding to dst:
//
//	u32 magic "SLP1", u32 flags = 0, u64 page_no, u32 split, u32 ncols,
//	u32 nrows, ncols × (str name, TypeDesc), u32 offsets[nrows+1], rows area
//
// It panics if a column type fails Type.Validate.
func (p *Page) AppendEncoded(dst []byte) []byte {
	n := p.NumRows()
	if need := p.EncodedLen(); cap(dst)-len(dst) < need {
		nd := make([]byte, len(dst), len(dst)+need)
		copy(nd, dst)
		dst = nd
	}
	dst = appendU32(dst, PageMagic)
	dst = appendU32(dst, 0)
	dst = appendU64(dst, p.Number)
	dst = appendU32(dst, p.Split)
	dst = appendU32(dst, uint32(p.NumCols()))
	dst = appendU32(dst, uint32(n))
	dst = appendColumns(dst, p.Schema)
	dst = appendOffsets(dst, p.Offsets)
	return append(dst, p.Data...)
}

// appendOffsets appends offsets as u32 little-endian; an empty slice is
// written as the single offset 0.
func appendOffsets(dst []byte, offs []uint32) []byte {
	if len(offs) == 0 {
		return appendU32(dst, 0)
	}
	for _, o := range offs {
		dst = appendU32(dst, o)
	}
	return dst
}

// Validate checks that the page is well formed: a schema with valid types,
// offsets starting at 0, non-decreasing, ending at len(Data), and each row
// made of exactly one cell per column with lengths >= -1 that end exactly at
// the next row's offset.
func (p *Page) Validate() error {
	if p.Schema == nil {
		return errf("page %d: nil schema", p.Number)
	}
	if err := p.Schema.Validate(); err != nil {
		return fmt.Errorf("abi: page %d: %w", p.Number, err)
	}
	if len(p.Offsets) == 0 {
		if len(p.Data) != 0 {
			return errf("page %d: no offsets but %d bytes of rows", p.Number, len(p.Data))
		}
		return nil
	}
	if msg := checkRows(p.Offsets, p.Data, len(p.Schema.Columns)); msg != "" {
		return errf("page %d: %s", p.Number, msg)
	}
	return nil
}

// checkRows validates offsets and the rows area; it returns "" when valid
// or a message naming the field.
func checkRows(offs []uint32, data []byte, ncols int) string {
	n := len(offs) - 1
	if offs[0] != 0 {
		return fmt.Sprintf("offsets[0]=%d, must be 0", offs[0])
	}
	if int64(offs[n]) != int64(len(data)) {
		return fmt.Sprintf("offsets[%d]=%d, must equal the rows area length %d", n, offs[n], len(data))
	}
	for i := 1; i <= n; i++ {
		if offs[i] < offs[i-1] {
			return fmt.Sprintf("offsets[%d]=%d below offsets[%d]=%d", i, offs[i], i-1, offs[i-1])
		}
		if int64(offs[i]) > int64(len(data)) {
			return fmt.Sprintf("offsets[%d]=%d beyond rows area of %d bytes", i, offs[i], len(data))
		}
	}
	for i := range n {
		row := data[offs[i]:offs[i+1]]
		off := 0
		for c := range ncols {
			if len(row)-off < 4 {
				return fmt.Sprintf("row %d (offsets %d..%d): cell %d: truncated length (%d bytes left in the row, need 4)", i, offs[i], offs[i+1], c, len(row)-off)
			}
			l := int32(binary.LittleEndian.Uint32(row[off:]))
			off += 4
			if l < -1 {
				return fmt.Sprintf("row %d: cell %d: length %d (must be >= -1)", i, c, l)
			}
			if l > 0 {
				if int64(l) > int64(len(row)-off) {
					return fmt.Sprintf("row %d (offsets %d..%d): cell %d: length %d beyond the %d bytes left in the row", i, offs[i], offs[i+1], c, l, len(row)-off)
				}
				off += int(l)
			}
		}
		if off != len(row) {
			return fmt.Sprintf("row %d (offsets %d..%d): %d cells end at byte %d of the row, %d bytes left over", i, offs[i], offs[i+1], ncols, off, len(row)-off)
		}
	}
	return ""
}

// DecodePage decodes and validates an SLP1 page (see AppendEncoded). Every
// length and offset is checked; each row's cells must parse exactly to its
// offsets. The returned page's Data aliases b; Schema and Offsets are new.
// Trailing bytes after the rows area are an error.
func DecodePage(b []byte) (*Page, error) {
	var d PageDecoder
	p, err := d.Decode(b)
	if err != nil {
		return nil, err
	}
	cp := *p
	return &cp, nil
}

// PageDecoder decodes a sequence of pages, reusing the schema of the
// previous page when the column descriptors are byte-for-byte identical and
// reusing its offsets slice, so steady-state decoding allocates nothing.
// It is meant for the plugin SDKs, where every page of a stream has the
// same schema. A PageDecoder belongs to one goroutine.
type PageDecoder struct {
	colBytes []byte
	schema   *Schema
	page     Page
}

// Decode decodes b like DecodePage. The returned page and its Offsets are
// owned by the decoder and are overwritten by the next Decode; Data aliases
// b. The Schema is shared between pages with identical columns and is
// never mutated.
func (d *PageDecoder) Decode(b []byte) (*Page, error) {
	r := reader{b: b}
	if len(b) < pageHeaderLen {
		return nil, errf("page: %d bytes, shorter than the %d-byte header", len(b), pageHeaderLen)
	}
	magic, _ := r.u32()
	if magic != PageMagic {
		return nil, errf("page: magic 0x%08X, want 0x%08X (\"SLP1\")", magic, PageMagic)
	}
	flags, _ := r.u32()
	if flags != 0 {
		return nil, errf("page: flags 0x%08X, must be 0 in ABI v1", flags)
	}
	number, _ := r.u64()
	split, _ := r.u32()
	ncols, _ := r.u32()
	nrows, _ := r.u32()
	colStart := r.off
	var schema *Schema
	if d.schema != nil && len(d.schema.Columns) == int(ncols) && len(b)-colStart >= len(d.colBytes) &&
		string(b[colStart:colStart+len(d.colBytes)]) == string(d.colBytes) {
		// Same bytes, same count: decoding would give the same schema.
		schema = d.schema
		r.off += len(d.colBytes)
	} else {
		var err error
		if schema, err = decodeColumns(&r, ncols); err != nil {
			return nil, prefixErr(err, "page %d", number)
		}
		d.schema = schema
		d.colBytes = append(d.colBytes[:0], b[colStart:r.off]...)
	}
	offs, data, msg := decodeRows(&r, nrows, len(schema.Columns), d.page.Offsets[:0], 0)
	if msg != "" {
		return nil, errf("page %d: %s", number, msg)
	}
	if r.left() != 0 {
		return nil, errf("page %d: %d trailing bytes after the rows area", number, r.left())
	}
	d.page = Page{Number: number, Split: split, Schema: schema, Offsets: offs, Data: data}
	return &d.page, nil
}

// decodeColumns reads ncols × (str name, TypeDesc).
func decodeColumns(r *reader, ncols uint32) (*Schema, error) {
	// Each column needs at least 4 (name length) + 2 (type id) bytes.
	if uint64(ncols)*6 > uint64(r.left()) {
		return nil, errf("ncols=%d needs at least %d bytes of column descriptors, %d left", ncols, uint64(ncols)*6, r.left())
	}
	s := &Schema{Columns: make([]Column, ncols)}
	for i := range int(ncols) {
		at := r.off
		name, n, res := r.str()
		switch res {
		case strShortLen:
			return nil, errf("column %d name at byte %d: truncated length", i, at)
		case strShortBytes:
			return nil, errf("column %d name at byte %d: length %d beyond the %d bytes left", i, at, n, r.left())
		case strBadUTF8:
			return nil, errf("column %d name at byte %d: not valid UTF-8", i, at)
		}
		tstart := r.off
		sub := reader{b: r.b[:], off: r.off}
		t, err := decodeType(&sub, 1)
		if err != nil {
			return nil, prefixErr(err, "column %d %q type descriptor (starting at byte %d)", i, name, tstart)
		}
		r.off = sub.off
		s.Columns[i] = Column{Name: name, Type: t}
	}
	return s, nil
}

// decodeRows reads u32 offsets[nrows+1] then the rows area, whose length is
// offsets[nrows]. maxRows of 0 means no row limit. offs is reused.
func decodeRows(r *reader, nrows uint32, ncols int, offs []uint32, maxRows int) ([]uint32, []byte, string) {
	if maxRows > 0 && uint64(nrows) > uint64(maxRows) {
		return nil, nil, fmt.Sprintf("nrows=%d exceeds the limit of %d rows", nrows, maxRows)
	}
	need := (uint64(nrows) + 1) * 4
	if need > uint64(r.left()) {
		return nil, nil, fmt.Sprintf("nrows=%d needs %d bytes of offsets, %d left", nrows, need, r.left())
	}
	// Reading offsets[nrows] first tells the rows area length before
	// anything is allocated.
	areaLen := binary.LittleEndian.Uint32(r.b[r.off+int(nrows)*4:])
	if uint64(areaLen) > uint64(r.left())-need {
		return nil, nil, fmt.Sprintf("offsets[%d]=%d (rows area length) beyond the %d bytes left after the offsets", nrows, areaLen, uint64(r.left())-need)
	}
	if ncols == 0 && areaLen != 0 {
		return nil, nil, fmt.Sprintf("offsets[%d]=%d but a row of 0 columns has 0 bytes", nrows, areaLen)
	}
	// Each row of ncols >= 1 columns has at least 4*ncols bytes.
	if ncols > 0 && uint64(nrows)*uint64(ncols)*4 > uint64(areaLen) {
		return nil, nil, fmt.Sprintf("nrows=%d × ncols=%d needs at least %d bytes of cells, rows area is %d bytes", nrows, ncols, uint64(nrows)*uint64(ncols)*4, areaLen)
	}
	if cap(offs) >= int(nrows)+1 {
		offs = offs[:nrows+1]
	} else {
		offs = make([]uint32, nrows+1)
	}
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint32(r.b[r.off:])
		r.off += 4
	}
	data := r.b[r.off : r.off+int(areaLen) : r.off+int(areaLen)]
	r.off += int(areaLen)
	if msg := checkRows(offs, data, ncols); msg != "" {
		return nil, nil, msg
	}
	return offs, data, ""
}

// Clone returns a deep copy of the page's Offsets and Data. The Schema is
// shared (schemas are immutable).
func (p *Page) Clone() *Page {
	c := &Page{Number: p.Number, Split: p.Split, Schema: p.Schema}
	if p.Offsets != nil {
		c.Offsets = append([]uint32(nil), p.Offsets...)
	}
	if p.Data != nil {
		c.Data = append([]byte(nil), p.Data...)
	}
	return c
}

// BitmapLen returns the number of bytes of a selection bitmap for nrows
// rows: ceil(nrows/8).
func BitmapLen(nrows int) int { return (nrows + 7) / 8 }

// BitmapGet reports whether bit i of a selection bitmap is set (LSB-first
// within each byte). Bits beyond the bitmap read as 0.
func BitmapGet(bitmap []byte, i int) bool {
	return i >= 0 && i/8 < len(bitmap) && bitmap[i/8]&(1<<(i%8)) != 0
}

// BitmapSet sets bit i of a selection bitmap.
func BitmapSet(bitmap []byte, i int) { bitmap[i/8] |= 1 << (i % 8) }

// BitmapCount returns the number of set bits among the first nrows bits.
func BitmapCount(bitmap []byte, nrows int) int {
	n := 0
	for i := range nrows {
		if BitmapGet(bitmap, i) {
			n++
		}
	}
	return n
}

// Select returns a new page holding the rows of p whose bit is set in
// bitmap (bit i, LSB-first, keeps row i), in order, with p's number, split
// and schema. Rows beyond the bitmap are dropped. The new page does not
// alias p.
func (p *Page) Select(bitmap []byte) *Page {
	n := p.NumRows()
	kept, size := 0, 0
	for i := range n {
		if BitmapGet(bitmap, i) {
			kept++
			size += int(p.Offsets[i+1] - p.Offsets[i])
		}
	}
	out := &Page{Number: p.Number, Split: p.Split, Schema: p.Schema,
		Offsets: make([]uint32, 1, kept+1), Data: make([]byte, 0, size)}
	for i := range n {
		if BitmapGet(bitmap, i) {
			out.Data = append(out.Data, p.Data[p.Offsets[i]:p.Offsets[i+1]]...)
			out.Offsets = append(out.Offsets, uint32(len(out.Data)))
		}
	}
	return out
}

// PageBuilder builds a Page in the ABI row layout, one cell at a time,
// without allocating per cell: AppendCell appends the i32 length and the
// bytes to the rows area and EndRow records the row's offset.
//
//	b.Reset(schema, number, split)
//	for each row { for each column { b.AppendCell(v) }; if err := b.EndRow(); ... }
//	page := b.Page()
//
// Page hands the built buffers over to the caller; the builder then starts
// new buffers sized like the last page, so the steady state costs two
// allocations per page and none per cell — or none at all when the
// consumer gives finished pages back with Recycle. A PageBuilder belongs to one
// goroutine at a time (the pager's split fetcher).
//
// The builder keeps its buffers at their full length and its write
// positions (pos, nrows) in ints: a cell or a row is copied into the
// preallocated capacity and only the ints change. The slice headers are
// stored back into the (heap-allocated) builder only when a buffer grows,
// so the per-cell path has no pointer store and pays no GC write barrier.
type PageBuilder struct {
	schema   *Schema
	number   uint64
	split    uint32
	ncols    int
	offsets  []uint32 // len == cap; offsets[:nrows+1] are the rows so far
	nrows    int      // complete rows
	data     []byte   // len == cap; data[:pos] is the rows area so far
	pos      int      // end of the rows area (complete rows and the current partial row)
	rowStart int      // pos at the start of the current row
	cells    int      // cells appended to the current row
	err      error
	lastRows int
	lastData int

	spareOffsets []uint32 // from Recycle
	spareData    []byte
}

// NewPageBuilder returns a builder reset for the given page.
func NewPageBuilder(schema *Schema, number uint64, split uint32) *PageBuilder {
	b := &PageBuilder{}
	b.Reset(schema, number, split)
	return b
}

// Reset starts a new empty page with the given schema, number and split,
// discarding anything appended since the last Page call.
func (b *PageBuilder) Reset(schema *Schema, number uint64, split uint32) {
	b.schema, b.number, b.split = schema, number, split
	b.ncols = 0
	if schema != nil {
		b.ncols = len(schema.Columns)
	}
	if b.offsets == nil {
		b.alloc()
	}
	b.offsets[0] = 0
	b.nrows, b.pos = 0, 0
	b.rowStart, b.cells, b.err = 0, 0, nil
}

// alloc gives the builder buffers: recycled ones if Recycle left some, else
// new ones sized like the last page. Both are used at their full capacity.
func (b *PageBuilder) alloc() {
	if b.spareOffsets != nil {
		b.offsets, b.spareOffsets = b.spareOffsets[:cap(b.spareOffsets)], nil
	} else {
		b.offsets = make([]uint32, max(b.lastRows+1, 16))
	}
	b.offsets[0] = 0
	b.nrows = 0
	if b.spareData != nil {
		b.data, b.spareData = b.spareData[:cap(b.spareData)], nil
	} else {
		b.data = make([]byte, max(b.lastData, 1024))
	}
	b.pos = 0
}

// growData makes room for n more bytes of rows area after pos, giving the
// builder its buffers first if it has none. AppendCell and AppendNull store
// the data slice only through it.
//
//go:noinline
func (b *PageBuilder) growData(n int) {
	if b.offsets == nil {
		b.alloc()
	}
	if len(b.data)-b.pos >= n {
		return
	}
	// append's growth policy, as when every cell was appended.
	d := append(b.data[:b.pos], make([]byte, n)...)
	b.data = d[:cap(d)]
}

// growOffsets makes room for one more row offset.
//
//go:noinline
func (b *PageBuilder) growOffsets() {
	if b.offsets == nil {
		b.alloc()
	}
	if b.nrows+1 < len(b.offsets) {
		return
	}
	o := append(b.offsets[:b.nrows+1], 0)
	b.offsets = o[:cap(o)]
}

// Recycle hands the buffers of p, a page this builder returned, back to the
// builder for the next page. The caller must not use p (or any Row or cell
// of it) afterwards. It is optional: without it every page gets new
// buffers, which the garbage collector reclaims.
func (b *PageBuilder) Recycle(p *Page) {
	if p == nil || cap(p.Offsets) == 0 {
		return
	}
	b.spareOffsets, b.spareData = p.Offsets[:0], p.Data[:0:cap(p.Data)]
	p.Offsets, p.Data = nil, nil
}

// Schema returns the schema the builder was reset with.
func (b *PageBuilder) Schema() *Schema { return b.schema }

// AppendCell appends the next cell of the current row: b == nil appends a
// null, a non-nil empty slice an empty value, anything else the bytes (a
// CQL value encoding; the builder does not interpret it).
func (b *PageBuilder) AppendCell(v []byte) {
	if v == nil {
		b.AppendNull()
		return
	}
	if len(v) > math.MaxInt32 {
		b.cellTooLong(len(v))
		return
	}
	// A builder without buffers (new, or after Page) has len(data) == 0,
	// so growData also allocates them.
	if len(b.data)-b.pos < 4+len(v) {
		b.growData(4 + len(v))
	}
	pos := b.pos
	binary.LittleEndian.PutUint32(b.data[pos:], uint32(len(v)))
	copy(b.data[pos+4:], v)
	b.pos = pos + 4 + len(v)
	b.cells++
}

func (b *PageBuilder) cellTooLong(n int) {
	b.setErr(fmt.Errorf("abi: page %d: row %d: cell %d of %d bytes exceeds the i32 length limit", b.number, b.nrows, b.cells, n))
}

// AppendNull appends a null cell to the current row.
func (b *PageBuilder) AppendNull() {
	if len(b.data)-b.pos < 4 {
		b.growData(4)
	}
	binary.LittleEndian.PutUint32(b.data[b.pos:], 0xFFFFFFFF)
	b.pos += 4
	b.cells++
}

// AppendCellFunc appends a cell whose bytes are written by fill, which
// appends them to dst and returns it (for example AppendInt or a gocql
// marshal function); the length prefix is patched afterwards, so nothing is
// copied twice. If fill returns null=true the cell is null.
func (b *PageBuilder) AppendCellFunc(fill func(dst []byte) (out []byte, null bool)) {
	if len(b.data)-b.pos < 4 {
		b.growData(4)
	}
	start := b.pos
	out, null := fill(b.data[:start+4])
	if null {
		binary.LittleEndian.PutUint32(b.data[start:], 0xFFFFFFFF)
		b.pos = start + 4
		b.cells++
		return
	}
	n := len(out) - start - 4
	if n < 0 || n > math.MaxInt32 {
		b.pos = start
		b.setErr(fmt.Errorf("abi: page %d: row %d: cell %d: fill returned %d bytes", b.number, b.nrows, b.cells, n))
		return
	}
	// fill appended in place unless it had to grow the buffer: store the
	// slice only then.
	if cap(out) != cap(b.data) || cap(out) > 0 && &out[:cap(out)][cap(out)-1] != &b.data[cap(b.data)-1] {
		b.data = out[:cap(out)]
	}
	binary.LittleEndian.PutUint32(b.data[start:], uint32(n))
	b.pos = len(out)
	b.cells++
}

func (b *PageBuilder) setErr(err error) {
	if b.err == nil {
		b.err = err
	}
}

// EndRow ends the current row. It fails, and discards the row, if the row
// does not have exactly one cell per schema column, if a cell was rejected,
// or if the rows area would exceed 4 GiB - 1.
func (b *PageBuilder) EndRow() error {
	if b.nrows+1 >= len(b.offsets) {
		b.growOffsets() // also gives a builder without buffers its buffers
	}
	if b.err != nil || b.cells != b.ncols || uint64(b.pos) > math.MaxUint32 {
		return b.rejectRow()
	}
	b.nrows++
	b.offsets[b.nrows] = uint32(b.pos)
	b.rowStart, b.cells = b.pos, 0
	return nil
}

// rejectRow discards the current row and returns why EndRow refused it.
func (b *PageBuilder) rejectRow() error {
	err := b.err
	if err == nil && b.cells != b.ncols {
		err = fmt.Errorf("abi: page %d: row %d has %d cells, the schema has %d columns", b.number, b.nrows, b.cells, b.ncols)
	}
	if err == nil {
		err = fmt.Errorf("abi: page %d: rows area of %d bytes exceeds 4 GiB", b.number, b.pos)
	}
	b.DiscardRow()
	return err
}

// DiscardRow drops the cells appended to the current row.
func (b *PageBuilder) DiscardRow() {
	b.pos = b.rowStart
	b.cells, b.err = 0, nil
}

// NumRows returns the number of complete rows.
func (b *PageBuilder) NumRows() int { return b.nrows }

// Len returns the size in bytes of the rows area so far (complete rows and
// the current partial row).
func (b *PageBuilder) Len() int { return b.pos }

// Page returns the page of the complete rows (a partial current row is
// dropped) and hands its buffers to the caller. The builder keeps its
// schema, number and split and starts new buffers (sized like this page, or
// given back by Recycle) at the next append; call Reset to change page.
// Page.Data keeps the buffer's spare capacity, so that Recycle can give the
// whole buffer back and a larger next page still fits in it.
func (b *PageBuilder) Page() *Page {
	if b.offsets == nil {
		b.alloc()
	}
	p := &Page{Number: b.number, Split: b.split, Schema: b.schema,
		Offsets: b.offsets[:b.nrows+1], Data: b.data[:b.rowStart]}
	b.lastRows, b.lastData = b.nrows, b.rowStart
	b.offsets, b.data = nil, nil
	b.nrows, b.pos = 0, 0
	b.rowStart, b.cells, b.err = 0, 0, nil
	return p
}
