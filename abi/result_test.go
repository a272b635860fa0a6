package abi

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testResult(t testing.TB) Result {
	p := buildTestPage(t)
	audit := NewPageBuilder(NewSchema(Column{"msg", Type{ID: TypeText}}), 0, 0)
	audit.AppendCell([]byte("dropped 1"))
	if err := audit.EndRow(); err != nil {
		t.Fatal(err)
	}
	rows := audit.Page()
	return Result{Sections: []Section{
		{Kind: SectionSelect, Output: "", NRows: p.NumRows(), Bitmap: []byte{0b101}},
		{Kind: SectionRows, Output: "audit", Rows: rows, NRows: 1},
		{Kind: SectionSelect, Output: "dropped", NRows: p.NumRows(), Bitmap: []byte{0b010}},
	}}
}

func TestResultRoundTrip(t *testing.T) {
	r := testResult(t)
	enc := r.AppendEncoded(nil)
	if len(enc) != r.EncodedLen() {
		t.Fatalf("EncodedLen %d, encoded %d", r.EncodedLen(), len(enc))
	}
	got, err := DecodeResult(enc, 3, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sections) != 3 || got.Sections[1].Rows.NumRows() != 1 || got.Sections[1].Output != "audit" ||
		!bytes.Equal(got.Sections[0].Bitmap, []byte{0b101}) || got.Sections[2].NRows != 3 {
		t.Fatalf("decoded %+v", got)
	}
	if !bytes.Equal(got.AppendEncoded(nil), enc) {
		t.Fatal("re-encoding differs")
	}
	if err := got.Validate(testSchema()); err != nil {
		t.Fatal(err)
	}
	// The result does not alias its input.
	for i := range enc {
		enc[i] = 0
	}
	if got.Sections[1].Rows.Row(0).Bytes()[4] != 'd' || got.Sections[0].Bitmap[0] != 0b101 {
		t.Fatal("decoded result aliases the input bytes")
	}
	if _, ok := got.Error(); ok || got.Empty() {
		t.Fatal("Error/Empty")
	}
}

func TestResultError(t *testing.T) {
	r := Result{Sections: []Section{
		{Kind: SectionSelect, NRows: 2, Bitmap: []byte{3}},
		{Kind: SectionError, ErrRow: 1, ErrMsg: "bad email in row 1"},
	}}
	enc := r.AppendEncoded(nil)
	enc = append(enc, "ignored garbage after an ERROR section"...)
	enc[4] = 5 // nsections says 5: the rest is discarded after the ERROR
	got, err := DecodeResult(enc, 2, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := got.Error()
	if !ok || s.ErrRow != 1 || s.ErrMsg != "bad email in row 1" || len(got.Sections) != 2 {
		t.Fatalf("Error() = %+v, %v", s, ok)
	}
}

func TestResultSelectPadding(t *testing.T) {
	r := Result{Sections: []Section{{Kind: SectionSelect, NRows: 3, Bitmap: []byte{0xFF, 0xFF}}}}
	enc := r.AppendEncoded(nil)
	got, err := DecodeResult(enc, 3, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sections[0].Bitmap, []byte{0x07}) {
		t.Fatalf("bitmap %x, want 07 (cut to 1 byte, padding cleared)", got.Sections[0].Bitmap)
	}
	enc[len(enc)-1] = 0x0F
	if _, err := DecodeResult(enc, 3, Limits{}); err == nil || !strings.Contains(err.Error(), "padding bits must be 0") {
		t.Fatalf("padding bits: %v", err)
	}
}

func rawResult(n uint32, sections ...[]byte) []byte {
	b := appendU32(nil, ResultMagic)
	b = appendU32(b, n)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

func rowsSection(output string, cols []byte, ncols, nrows uint32, offs []uint32, area []byte) []byte {
	b := []byte{byte(SectionRows)}
	b = appendStr(b, output)
	b = appendU32(b, ncols)
	b = append(b, cols...)
	b = appendU32(b, nrows)
	for _, o := range offs {
		b = appendU32(b, o)
	}
	return append(b, area...)
}

func TestDecodeResultErrors(t *testing.T) {
	textCol := append(appendStr(nil, "msg"), 0x0D, 0x00)
	intCol := append(appendStr(nil, "msg"), 0x09, 0x00)
	row := cellLE([]byte("hi"))
	sel := func(out string, n uint32, bm ...byte) []byte {
		b := append([]byte{byte(SectionSelect)}, appendStr(nil, out)...)
		return append(appendU32(b, n), bm...)
	}
	errSec := func(row int64, msg string) []byte {
		return appendStr(appendU64([]byte{byte(SectionError)}, uint64(row)), msg)
	}
	okRows := rowsSection("audit", textCol, 1, 1, []uint32{0, 6}, row)
	cases := []struct {
		name  string
		b     []byte
		in    int
		lim   Limits
		want  string
		limit bool
	}{
		{"short", []byte{1}, 0, Limits{}, "abi: result: 1 bytes, shorter than the 8-byte header", false},
		{"magic", append([]byte("SLP1"), 0, 0, 0, 0), 0, Limits{}, `abi: result: magic 0x31504C53, want 0x31524C53 ("SLR1")`, false},
		{"too big", make([]byte, 100), 0, Limits{MaxBytes: 99}, "abi: result of 100 bytes exceeds the limit of 99 bytes", true},
		{"nsections limit", rawResult(11), 0, Limits{MaxSections: 10}, "abi: result: nsections=11 exceeds the limit of 10 sections", true},
		{"nsections bytes", rawResult(1000), 0, Limits{}, "abi: result: nsections=1000 cannot fit in the 0 bytes left", false},
		{"kind", rawResult(1, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}), 0, Limits{}, "abi: result section 0 at byte 8: unknown kind 9 (want 1 SELECT, 2 ROWS or 3 ERROR)", false},
		{"select rows", rawResult(1, sel("", 4, 0)), 3, Limits{}, `abi: result section 0 (SELECT, output ""): nrows=4, must equal the input page's 3 rows`, false},
		{"select no input", rawResult(1, sel("", 0)), -1, Limits{}, `abi: result section 0 (SELECT, output ""): SELECT is only allowed in the result of sluice_process`, false},
		{"select bitmap", rawResult(1, sel("x", 9, 0xff)), 9, Limits{}, `abi: result section 0 (SELECT, output "x"): bitmap of 2 bytes beyond the 1 bytes left`, false},
		{"select limit", rawResult(1, sel("", 11, 0, 0)), 11, Limits{MaxRowsPerSection: 10}, `abi: result section 0 (SELECT, output ""): nrows=11 exceeds the limit of 10 rows per section`, true},
		{"output utf8", rawResult(1, append(append([]byte{1}, appendStr(nil, "\xff")...), 0, 0, 0, 0)), 0, Limits{}, "abi: result section 0 (SELECT): output name at byte 9: not valid UTF-8", false},
		{"output length", rawResult(1, append(append([]byte{2}, appendU32(nil, 100)...), 0, 0, 0, 0)), 0, Limits{}, "abi: result section 0 (ROWS): output name at byte 9: length 100 beyond the 4 bytes left", false},
		{"rows offsets", rawResult(2, okRows, rowsSection("audit", textCol, 1, 5, []uint32{0, 6, 6, 6, 6, 900}, nil)), 0, Limits{},
			`abi: result section 1 (ROWS, output "audit"): offsets[5]=900 (rows area length) beyond the 0 bytes left after the offsets`, false},
		{"rows offset mid", rawResult(1, rowsSection("audit", textCol, 1, 2, []uint32{0, 900, 12}, append(row, row...))), 0, Limits{},
			`abi: result section 0 (ROWS, output "audit"): offsets[1]=900 beyond rows area of 12 bytes`, false},
		{"rows limit", rawResult(1, rowsSection("a", textCol, 1, 2, []uint32{0, 6, 12}, append(row, row...))), 0, Limits{MaxRowsPerSection: 1},
			`abi: result section 0 (ROWS, output "a"): nrows=2 exceeds the limit of 1 rows per section`, true},
		{"rows schema mix", rawResult(2, okRows, rowsSection("audit", intCol, 1, 0, []uint32{0}, nil)), 0, Limits{},
			`abi: result section 1 (ROWS, output "audit"): schema (msg int) differs from an earlier ROWS section of the same output (msg text); one output has one schema per result`, false},
		{"rows cell", rawResult(1, rowsSection("a", textCol, 1, 1, []uint32{0, 6}, append(appendU32(nil, 3), 'h', 'i'))), 0, Limits{},
			`abi: result section 0 (ROWS, output "a"): row 0 (offsets 0..6): cell 0: length 3 beyond the 2 bytes left in the row`, false},
		{"rows type", rawResult(1, rowsSection("a", append(appendStr(nil, "c"), 0x20, 0x00, 0x77, 0x00), 1, 0, []uint32{0}, nil)), 0, Limits{},
			`abi: result section 0 (ROWS, output "a"): column 0 "c" type descriptor (starting at byte 23): at byte 25: unknown type id 0x0077`, false},
		{"error row", rawResult(1, errSec(3, "boom")), 3, Limits{}, `abi: result section 0 (ERROR, message "boom"): row 3 out of range -1..2`, false},
		{"error row -2", rawResult(1, errSec(-2, "boom")), -1, Limits{}, `abi: result section 0 (ERROR, message "boom"): row -2 (must be -1 or a row index)`, false},
		{"error msg", rawResult(1, append(appendU64([]byte{3}, 0), 0xff, 0, 0, 0)), 1, Limits{}, "abi: result section 0 (ERROR): message at byte 17: length 255 beyond the 0 bytes left", false},
		{"error truncated", rawResult(1, []byte{3, 0, 0, 0, 0, 0, 0, 0, 0}[:9]), 1, Limits{}, "abi: result section 0 (ERROR): message at byte 17: truncated length", false},
		{"trailing", append(rawResult(1, sel("", 0)), 1), 0, Limits{}, "abi: result: 1 trailing bytes after the last of 1 sections", false},
	}
	for _, c := range cases {
		_, err := DecodeResult(c.b, c.in, c.lim)
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrMalformed) || errors.Is(err, ErrLimit) != c.limit {
			t.Errorf("%s:\n got %v (limit %v)\nwant %s (limit %v)", c.name, err, errors.Is(err, ErrLimit), c.want, c.limit)
		}
	}
}

func TestResultValidate(t *testing.T) {
	in := testSchema()
	other := NewSchema(Column{"x", Type{ID: TypeInt}})
	rows := &Page{Schema: other, Offsets: []uint32{0}}
	same := &Page{Schema: NewSchema(in.Columns...), Offsets: []uint32{0}}
	ok := Result{Sections: []Section{{Kind: SectionSelect, NRows: 3, Bitmap: []byte{1}}, {Kind: SectionRows, Rows: same}, {Kind: SectionRows, Output: "o", Rows: rows}}}
	if err := ok.Validate(in); err != nil {
		t.Fatal(err)
	}
	bad := Result{Sections: []Section{{Kind: SectionSelect, NRows: 3, Bitmap: []byte{1}}, {Kind: SectionRows, Rows: rows}}}
	err := bad.Validate(in)
	want := `abi: result section 1 (ROWS, output ""): schema (x int) differs from section 0 (SELECT) of the same output (id int, name text, tags list<text>); one output has one schema per result`
	if err == nil || err.Error() != want {
		t.Fatalf("mixed schemas:\n got %v\nwant %s", err, want)
	}
	if err := (Result{Sections: []Section{{Kind: SectionSelect}}}).Validate(nil); err == nil {
		t.Fatal("SELECT without input accepted")
	}
}
