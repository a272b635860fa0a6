package abi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func testSchema() *Schema {
	return NewSchema(
		Column{"id", Type{ID: TypeInt}},
		Column{"name", Type{ID: TypeText}},
		Column{"tags", ListOf(Type{ID: TypeText})},
	)
}

func buildTestPage(t testing.TB) *Page {
	t.Helper()
	b := NewPageBuilder(testSchema(), 7, 2)
	rows := [][][]byte{
		{AppendInt(nil, 1), []byte("a"), AppendList(nil, [][]byte{[]byte("x")})},
		{AppendInt(nil, 2), nil, nil},
		{AppendInt(nil, 3), []byte{}, AppendList(nil, nil)},
	}
	for _, r := range rows {
		for _, c := range r {
			b.AppendCell(c)
		}
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Page()
}

func TestPageBuilderAndRows(t *testing.T) {
	p := buildTestPage(t)
	if p.NumRows() != 3 || p.NumCols() != 3 || p.Number != 7 || p.Split != 2 {
		t.Fatalf("page: %d rows, %d cols, #%d split %d", p.NumRows(), p.NumCols(), p.Number, p.Split)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if c, null := p.Row(1).Cell(1); c != nil || !null {
		t.Errorf("row 1 name = %q, null %v; want null", c, null)
	}
	if c, null := p.Row(2).Cell(1); c == nil || len(c) != 0 || null {
		t.Errorf("row 2 name = %q (nil %v), null %v; want empty", c, c == nil, null)
	}
	if c, _ := p.Row(0).Cell(1); string(c) != "a" {
		t.Errorf("row 0 name = %q", c)
	}
	var cells [][]byte
	for i, r := range p.Rows() {
		cells = r.AppendCells(cells[:0])
		id, err := DecodeInt(cells[0])
		if err != nil || int(id) != i+1 {
			t.Errorf("row %d id = %d, %v", i, id, err)
		}
		for j, c := range r.Cells() {
			if !bytes.Equal(c, cells[j]) || (c == nil) != (cells[j] == nil) {
				t.Errorf("row %d cell %d: Cells %q, AppendCells %q", i, j, c, cells[j])
			}
		}
	}
	// Encode, decode, compare.
	enc := p.AppendEncoded([]byte{0xEE})[1:]
	if len(enc) != p.EncodedLen() {
		t.Fatalf("EncodedLen %d, encoded %d", p.EncodedLen(), len(enc))
	}
	q, err := DecodePage(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Schema.Equal(p.Schema) || q.Number != 7 || q.Split != 2 || !bytes.Equal(q.Data, p.Data) || len(q.Offsets) != 4 {
		t.Fatalf("decoded page differs: %+v", q)
	}
	if !bytes.Equal(q.AppendEncoded(nil), enc) {
		t.Fatal("re-encoding differs")
	}
	// Select rows 0 and 2.
	s := p.Select([]byte{0b101})
	if s.NumRows() != 2 || s.Schema != p.Schema {
		t.Fatalf("Select: %d rows", s.NumRows())
	}
	if id, _ := DecodeInt(mustCell(s.Row(1).Cell(0))); id != 3 {
		t.Errorf("Select row 1 id = %d", id)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := p.Select(nil).NumRows(); n != 0 {
		t.Errorf("Select(nil) kept %d rows", n)
	}
	c := p.Clone()
	c.Data[4] ^= 0xFF
	if p.Data[4] == c.Data[4] {
		t.Error("Clone shares Data")
	}
}

func mustCell(c []byte, _ bool) []byte { return c }

func TestPageBuilderErrors(t *testing.T) {
	b := NewPageBuilder(testSchema(), 1, 0)
	b.AppendCell(AppendInt(nil, 1))
	if err := b.EndRow(); err == nil || err.Error() != "abi: page 1: row 0 has 1 cells, the schema has 3 columns" {
		t.Fatalf("EndRow with 1 cell: %v", err)
	}
	if b.Len() != 0 || b.NumRows() != 0 {
		t.Fatalf("failed row not discarded: %d bytes, %d rows", b.Len(), b.NumRows())
	}
	b.AppendCell(AppendInt(nil, 1))
	b.AppendNull()
	b.AppendCellFunc(func(dst []byte) ([]byte, bool) { return AppendList(dst, [][]byte{[]byte("q")}), false })
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	b.AppendCell(AppendInt(nil, 2)) // partial row: dropped by Page
	p := b.Page()
	if p.NumRows() != 1 {
		t.Fatalf("NumRows = %d", p.NumRows())
	}
	if c, _ := p.Row(0).Cell(2); !bytes.Equal(c, AppendList(nil, [][]byte{[]byte("q")})) {
		t.Fatalf("AppendCellFunc cell = %x", c)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// The builder is usable again after Page, and does not touch p.
	b.Reset(testSchema(), 2, 0)
	b.AppendCellFunc(func(dst []byte) ([]byte, bool) { return dst, true })
	b.AppendCell([]byte("n"))
	b.AppendCell(nil)
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	q := b.Page()
	if c, null := q.Row(0).Cell(0); !null || c != nil {
		t.Fatalf("AppendCellFunc null: %q %v", c, null)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("first page changed by later building: %v", err)
	}
	empty := NewPageBuilder(testSchema(), 3, 0).Page()
	if empty.NumRows() != 0 || len(empty.Offsets) != 1 {
		t.Fatalf("empty page: %+v", empty)
	}
	if _, err := DecodePage(empty.AppendEncoded(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestPageBuilderNoAllocsPerCell(t *testing.T) {
	s := testSchema()
	b := NewPageBuilder(s, 1, 0)
	cell := AppendInt(nil, 5)
	// Warm up to the steady state, then count allocations of a whole
	// page of 1000 rows: only Page/Reset may allocate (two buffers).
	build := func() {
		b.Reset(s, 1, 0)
		for range 1000 {
			b.AppendCell(cell)
			b.AppendCell([]byte("name"))
			b.AppendNull()
			_ = b.EndRow()
		}
		_ = b.Page()
	}
	build()
	if n := testing.AllocsPerRun(20, build); n > 3 {
		t.Fatalf("%.0f allocations per page of 1000 rows, want <= 3 (none per cell)", n)
	}
	recycled := func() {
		b.Reset(s, 1, 0)
		for range 1000 {
			b.AppendCell(cell)
			b.AppendNull()
			b.AppendNull()
			_ = b.EndRow()
		}
		b.Recycle(b.Page())
	}
	recycled()
	if n := testing.AllocsPerRun(20, recycled); n > 1 {
		t.Fatalf("%.0f allocations per recycled page, want <= 1 (the Page struct)", n)
	}
}

func TestPageDecoderReusesSchema(t *testing.T) {
	p := buildTestPage(t)
	enc := p.AppendEncoded(nil)
	var d PageDecoder
	a, err := d.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	s1 := a.Schema
	p.Number = 8
	enc2 := p.AppendEncoded(nil)
	b, err := d.Decode(enc2)
	if err != nil {
		t.Fatal(err)
	}
	if b.Schema != s1 || b.Number != 8 {
		t.Fatalf("schema not reused (%p vs %p) or number %d", b.Schema, s1, b.Number)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = d.Decode(enc2) }); n != 0 {
		t.Fatalf("steady-state Decode allocates %.0f times", n)
	}
	// A different schema is decoded afresh.
	other := NewPageBuilder(NewSchema(Column{"x", Type{ID: TypeBigint}}), 9, 0).Page()
	c, err := d.Decode(other.AppendEncoded(nil))
	if err != nil || c.Schema == s1 || c.Schema.Columns[0].Name != "x" {
		t.Fatalf("new schema: %v, %v", c, err)
	}
}

// pageHex builds an SLP1 page by hand so that tests can corrupt any field.
func rawPage(ncols uint32, cols []byte, nrows uint32, offs []uint32, area []byte) []byte {
	b := appendU32(nil, PageMagic)
	b = appendU32(b, 0)
	b = appendU64(b, 5)
	b = appendU32(b, 0)
	b = appendU32(b, ncols)
	b = appendU32(b, nrows)
	b = append(b, cols...)
	for _, o := range offs {
		b = appendU32(b, o)
	}
	return append(b, area...)
}

func cellLE(v []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(v)))
	return append(b, v...)
}

func TestDecodePageErrors(t *testing.T) {
	intCol := append(appendStr(nil, "id"), 0x09, 0x00)
	row := cellLE(AppendInt(nil, 1))
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "abi: page: 3 bytes, shorter than the 28-byte header"},
		{"magic", append([]byte("XXXX"), make([]byte, 24)...), `abi: page: magic 0x58585858, want 0x31504C53 ("SLP1")`},
		{"flags", func() []byte { b := rawPage(0, nil, 0, []uint32{0}, nil); b[4] = 1; return b }(), "abi: page: flags 0x00000001, must be 0 in ABI v1"},
		{"ncols huge", rawPage(1<<30, nil, 0, nil, nil), "abi: page 5: ncols=1073741824 needs at least 6442450944 bytes of column descriptors, 0 left"},
		{"column type", rawPage(1, append(appendStr(nil, "id"), 0x0A, 0x00), 0, []uint32{0}, nil), `abi: page 5: column 0 "id" type descriptor (starting at byte 34): at byte 34: unknown type id 0x000A`},
		{"nrows huge", rawPage(1, intCol, 1<<30, nil, nil), "abi: page 5: nrows=1073741824 needs 4294967300 bytes of offsets, 0 left"},
		{"area beyond", rawPage(1, intCol, 1, []uint32{0, 100}, row), "abi: page 5: offsets[1]=100 (rows area length) beyond the 8 bytes left after the offsets"},
		{"offsets[0]", rawPage(1, intCol, 1, []uint32{4, 8}, row), "abi: page 5: offsets[0]=4, must be 0"},
		{"decreasing", rawPage(1, intCol, 2, []uint32{0, 8, 4}, append(row, 0, 0, 0, 0)), "abi: page 5: nrows=2 × ncols=1 needs at least 8 bytes of cells, rows area is 4 bytes"},
		{"beyond area", rawPage(1, intCol, 2, []uint32{0, 12, 8}, append(row, row...)[:8]), "abi: page 5: offsets[1]=12 beyond rows area of 8 bytes"},
		{"cell beyond row", rawPage(1, intCol, 2, []uint32{0, 4, 16}, append(row[:4:4], row...)[:16]), "abi: page 5: row 0 (offsets 0..4): cell 0: length 4 beyond the 0 bytes left in the row"},
		{"cell length", rawPage(1, intCol, 1, []uint32{0, 8}, append([]byte{0xfe, 0xff, 0xff, 0xff}, 0, 0, 0, 0)), "abi: page 5: row 0: cell 0: length -2 (must be >= -1)"},
		{"leftover", rawPage(1, intCol, 1, []uint32{0, 9}, append(row, 0)), "abi: page 5: row 0 (offsets 0..9): 1 cells end at byte 8 of the row, 1 bytes left over"},
		{"trailing", append(rawPage(1, intCol, 1, []uint32{0, 8}, row), 0), "abi: page 5: 1 trailing bytes after the rows area"},
		{"no cols with data", rawPage(0, nil, 1, []uint32{0, 4}, row[:4]), "abi: page 5: offsets[1]=4 but a row of 0 columns has 0 bytes"},
	}
	for _, c := range cases {
		_, err := DecodePage(c.b)
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
	// Row checks that the quick size checks let through.
	twoRows := append(append([]byte{}, row...), row...)
	for _, c := range []struct {
		name string
		offs []uint32
		want string
	}{
		{"decreasing", []uint32{0, 12, 16}, "row 0 (offsets 0..12): 1 cells end at byte 8 of the row, 4 bytes left over"},
		{"down", []uint32{0, 16, 16}, "row 0 (offsets 0..16): 1 cells end at byte 8 of the row, 8 bytes left over"},
		{"split cell", []uint32{0, 4, 16}, "row 0 (offsets 0..4): cell 0: length 4 beyond the 0 bytes left in the row"},
	} {
		_, err := DecodePage(rawPage(1, intCol, 2, c.offs, twoRows))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	_, err := DecodePage(rawPage(1, intCol, 3, []uint32{0, 16, 8, 16}, append(twoRows, 0, 0, 0, 0)[:16]))
	if err == nil || !strings.Contains(err.Error(), "offsets[2]=8 below offsets[1]=16") {
		t.Errorf("decreasing offsets: %v", err)
	}
}
