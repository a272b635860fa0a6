// Tests of the C SDK (sluice.h), through testdata/sdktest.wasm, a test
// plugin built from testdata/sdktest.c (testdata/build.sh; make -C plugins
// c-check verifies the committed .wasm matches its source). The module runs
// in wazero directly, with the sluice.log host function, so these tests
// check the SDK's bytes against the ABI's shared vectors
// (abi/testdata/vectors) without depending on the host package.
package csdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

const vectors = "../../abi/testdata/vectors"

func vector(t *testing.T, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// instance is one instance of sdktest.wasm.
type instance struct {
	t    *testing.T
	mod  api.Module
	logs []string
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	ctx := context.Background()
	wasm, err := os.ReadFile("testdata/sdktest.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	in := &instance{t: t}
	_, err = rt.NewHostModuleBuilder("sluice").NewFunctionBuilder().
		WithFunc(func(_ context.Context, m api.Module, level, ptr, n uint32) {
			b, _ := m.Memory().Read(ptr, n)
			in.logs = append(in.logs, fmt.Sprintf("%d %s", level, b))
		}).Export("log").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.mod, err = rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := in.mod.ExportedFunction("sluice_abi_version").Call(ctx); err != nil || v[0] != abi.Version {
		t.Fatalf("sluice_abi_version: %v, %v", v, err)
	}
	return in
}

// call writes input through sluice_alloc (if non-nil) and calls fn; it
// returns a copy of the bytes of the returned handle (nil for handle 0).
func (in *instance) call(fn string, input []byte) []byte {
	in.t.Helper()
	ctx := context.Background()
	var args []uint64
	if input != nil {
		r, err := in.mod.ExportedFunction("sluice_alloc").Call(ctx, uint64(len(input)))
		if err != nil {
			in.t.Fatalf("sluice_alloc: %v", err)
		}
		if !in.mod.Memory().Write(uint32(r[0]), input) {
			in.t.Fatalf("sluice_alloc returned %#x, out of memory", r[0])
		}
		args = []uint64{r[0], uint64(len(input))}
	}
	r, err := in.mod.ExportedFunction(fn).Call(ctx, args...)
	if err != nil {
		in.t.Fatalf("%s: %v (logs %q)", fn, err, in.logs)
	}
	ptr, n := abi.SplitHandle(r[0])
	if r[0] == 0 {
		return nil
	}
	b, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		in.t.Fatalf("%s: handle %#x outside memory", fn, r[0])
	}
	return bytes.Clone(b)
}

func (in *instance) init(kvs ...abi.KV) []byte { return in.call("sluice_init", abi.EncodeConfig(kvs)) }

func kv(k, v string) abi.KV { return abi.KV{Key: k, Value: v} }

func decode(t *testing.T, b []byte, inputRows int) abi.Result {
	t.Helper()
	r, err := abi.DecodeResult(b, inputRows, abi.Limits{})
	if err != nil {
		t.Fatalf("result %x: %v", b, err)
	}
	return r
}

// errorOf returns "row message" of the ERROR section of a result for a
// page of inputRows rows.
func errorOf(t *testing.T, b []byte, inputRows int) string {
	t.Helper()
	s, ok := decode(t, b, inputRows).Error()
	if !ok {
		t.Fatalf("result %x has no ERROR section", b)
	}
	return fmt.Sprintf("%d %s", s.ErrRow, s.ErrMsg)
}

func TestVectorResult(t *testing.T) {
	in := newInstance(t)
	if r := in.init(kv("mode", "vector")); r != nil {
		t.Fatalf("init: %s", errorOf(t, r, -1))
	}
	got := in.call("sluice_process", vector(t, "scalars.page.hex"))
	if want := vector(t, "scalars.result.hex"); !bytes.Equal(got, want) {
		t.Fatalf("result\n got %x\nwant %x", got, want)
	}
}

func TestVectorEcho(t *testing.T) {
	in := newInstance(t)
	in.init(kv("mode", "echo"))
	for _, name := range []string{"scalars.page.hex", "tiny.page.hex", "collections.page.hex"} {
		b := vector(t, name)
		page, err := abi.DecodePage(b)
		if err != nil {
			t.Fatal(err)
		}
		r := decode(t, in.call("sluice_process", b), page.NumRows())
		if len(r.Sections) != 1 || r.Sections[0].Kind != abi.SectionRows {
			t.Fatalf("%s: sections %+v", name, r.Sections)
		}
		rows := r.Sections[0].Rows
		if !rows.Schema.Equal(page.Schema) || !bytes.Equal(rows.Data, page.Data) {
			t.Fatalf("%s: echo differs\n got %x\nwant %x", name, rows.Data, page.Data)
		}
	}
}

func TestVectorConfig(t *testing.T) {
	in := newInstance(t)
	if r := in.call("sluice_init", vector(t, "config.hex")); r != nil {
		t.Fatalf("init: %s", errorOf(t, r, -1))
	}
	r := decode(t, in.call("sluice_flush", nil), -1)
	tsv, _ := os.ReadFile(filepath.Join(vectors, "config.tsv"))
	var got []string
	for _, row := range r.Sections[0].Rows.Rows() {
		k, _ := row.Cell(0)
		v, _ := row.Cell(1)
		got = append(got, string(k)+"\t"+string(v))
	}
	if strings.Join(got, "\n") != strings.TrimSpace(string(tsv)) {
		t.Fatalf("config pairs:\n%s\nwant\n%s", strings.Join(got, "\n"), tsv)
	}
}

// TestElems compares the SDK's element iterator with the abi package's
// Split functions on every collection cell of collections.page.hex.
func TestElems(t *testing.T) {
	b := vector(t, "collections.page.hex")
	page, err := abi.DecodePage(b)
	if err != nil {
		t.Fatal(err)
	}
	checkElems(t, page)
}

// TestElemsVectorLayouts: vector elements are unframed only for Cassandra's
// fixed-length types (ABI.md section 9), LexicalUUIDType among them;
// tinyint, smallint, date and time elements carry a vint length.
func TestElemsVectorLayouts(t *testing.T) {
	lexical := abi.CustomOf("org.apache.cassandra.db.marshal.LexicalUUIDType")
	cols := []abi.Column{
		{Name: "v_tinyint", Type: abi.VectorOf(abi.Type{ID: abi.TypeTinyint}, 2)},
		{Name: "v_smallint", Type: abi.VectorOf(abi.Type{ID: abi.TypeSmallint}, 2)},
		{Name: "v_date", Type: abi.VectorOf(abi.Type{ID: abi.TypeDate}, 2)},
		{Name: "v_time", Type: abi.VectorOf(abi.Type{ID: abi.TypeTime}, 2)},
		{Name: "v_int", Type: abi.VectorOf(abi.Type{ID: abi.TypeInt}, 2)},
		{Name: "v_lexical", Type: abi.VectorOf(lexical, 2)},
	}
	uuid := func(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
	cells := [][]byte{
		{0x01, 0x01, 0x01, 0xfe}, // [1, -2], as Cassandra 5.0.8 sends it
		{0x02, 0x00, 0x01, 0x02, 0xff, 0xfe},
		{0x04, 0x80, 0x00, 0x00, 0x01, 0x04, 0x80, 0x00, 0x00, 0x02},
		append([]byte{0x08}, append(bytes.Repeat([]byte{0}, 7), append([]byte{1, 0x08}, append(bytes.Repeat([]byte{0}, 7), 2)...)...)...),
		{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe},
		append(uuid(0x11), uuid(0x22)...),
	}
	pb := abi.NewPageBuilder(abi.NewSchema(cols...), 1, 0)
	for _, c := range cells {
		pb.AppendCell(c)
	}
	if err := pb.EndRow(); err != nil {
		t.Fatal(err)
	}
	checkElems(t, pb.Page())
}

// checkElems runs the SDK's element iterator (sdktest's elems mode) on
// every cell of page and compares it with the abi package's Split
// functions.
func checkElems(t *testing.T, page *abi.Page) {
	t.Helper()
	in := newInstance(t)
	in.init(kv("mode", "elems"))
	b := page.AppendEncoded(nil)
	r := decode(t, in.call("sluice_process", b), page.NumRows())
	var err error
	out := r.Sections[0].Rows
	k := 0
	for i, row := range page.Rows() {
		for c, cell := range row.Cells() {
			typ := page.Schema.Columns[c].Type
			got := out.Row(k)
			k++
			n, _ := got.Cell(1)
			last, lastNull := got.Cell(2)
			if cell == nil {
				if n != nil {
					t.Errorf("row %d %s: NULL cell gave n=%x", i, page.Schema.Columns[c].Name, n)
				}
				continue
			}
			var elems [][]byte
			switch typ.ID {
			case abi.TypeList, abi.TypeSet:
				elems, err = abi.SplitList(cell, nil)
			case abi.TypeMap:
				elems, err = abi.SplitMap(cell, nil)
			case abi.TypeTuple, abi.TypeUDT:
				elems, err = abi.SplitTuple(cell, len(typ.Elems), nil)
			case abi.TypeVector:
				elems, err = abi.SplitVector(cell, typ.Elems[0], typ.Dim, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			gotN, _ := abi.DecodeInt(n)
			if int(gotN) != len(elems) {
				t.Errorf("row %d %s: %d elements, want %d", i, page.Schema.Columns[c].Name, gotN, len(elems))
				continue
			}
			if len(elems) > 0 {
				want := elems[len(elems)-1]
				if (want == nil) != lastNull || !bytes.Equal(want, last) {
					t.Errorf("row %d %s: last element %x (null %v), want %x", i, page.Schema.Columns[c].Name, last, lastNull, want)
				}
			}
		}
	}
}

func describe(r abi.Result) string {
	var parts []string
	for _, s := range r.Sections {
		switch s.Kind {
		case abi.SectionSelect:
			bits := ""
			for i := range s.NRows {
				if abi.BitmapGet(s.Bitmap, i) {
					bits += "1"
				} else {
					bits += "0"
				}
			}
			parts = append(parts, "SELECT "+s.Output+":"+bits)
		case abi.SectionRows:
			parts = append(parts, fmt.Sprintf("ROWS %s:%s x%d", s.Output, s.Rows.Schema, s.Rows.NumRows()))
		}
	}
	return strings.Join(parts, " | ")
}

func tinyPage(t *testing.T) []byte { return vector(t, "tiny.page.hex") } // (id int, name text) x 2

func TestOrder(t *testing.T) {
	in := newInstance(t)
	in.init(kv("mode", "order"))
	b := vector(t, "scalars.page.hex") // 3 rows
	got := describe(decode(t, in.call("sluice_process", b), 3))
	if want := "SELECT b:001 | ROWS a:x int x2 | SELECT :011"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ which, want string }{
		{"missing", `-1 column "nope" not found (columns: id, name)`},
		{"type", `-1 column "id" has type int, want bigint or counter`},
		{"row", `1 bad row 1`},
		{"silent", `-1 sluice sdk: plugin function returned 7 without recording an error (use sluice_fail)`},
		{"cells", `-1 output "": row 0: text into column "x" of type int`},
		{"unended", `-1 output "": row 0 was started but not ended (sluice_end_row)`},
		{"mixed", `-1 sluice sdk: rows were both selected and written to the default output with another schema`},
		{"nope", `-1 unknown case "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.which, func(t *testing.T) {
			in := newInstance(t)
			in.init(kv("case", tt.which), kv("mode", "errors"))
			if got := errorOf(t, in.call("sluice_process", tinyPage(t)), 2); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// A malformed cell: row 1's id replaced by a 3-byte cell.
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}}), 1, 0)
	b.AppendCell(abi.AppendInt(nil, 1))
	b.EndRow()
	b.AppendCell([]byte{1, 2, 3})
	b.EndRow()
	for _, which := range []string{"cell", "ignored"} {
		in := newInstance(t)
		in.init(kv("case", which), kv("mode", "errors"))
		if got, want := errorOf(t, in.call("sluice_process", b.Page().AppendEncoded(nil)), 2), `1 row 1: column "id": invalid int cell of 3 bytes`; got != want {
			t.Errorf("%s: got %s, want %s", which, got, want)
		}
		b.Reset(b.Schema(), 1, 0)
		b.AppendCell(abi.AppendInt(nil, 1))
		b.EndRow()
		b.AppendCell([]byte{1, 2, 3})
		b.EndRow()
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		kvs  []abi.KV
		want string
	}{
		{[]abi.KV{kv("case", "init")}, `-1 init failed: -5 7 -9000000000 18000000000 ff z cstr init %`},
		{[]abi.KV{kv("bogus", "1")}, `-1 unknown config key "bogus"`},
		{[]abi.KV{kv("mode", "a"), kv("mode", "b")}, `-1 config key "mode" must have one value, got 2`},
		{[]abi.KV{kv("rename.x", "y"), kv("renamed", "z")}, `-1 unknown config key "renamed"`},
	}
	for _, tt := range tests {
		in := newInstance(t)
		if got := errorOf(t, in.init(tt.kvs...), -1); got != tt.want {
			t.Errorf("init %v:\n got %s\nwant %s", tt.kvs, got, tt.want)
		}
	}
	in := newInstance(t)
	if got := errorOf(t, in.call("sluice_init", []byte("SLC1\x01\x00\x00\x00\x01\x00\x00\x00\xff\x00\x00\x00\x00")), -1); got != "-1 sluice sdk: config pair 0: not valid UTF-8" {
		t.Errorf("invalid UTF-8 config: %s", got)
	}
	in = newInstance(t)
	in.init()
	if got := errorOf(t, in.call("sluice_process", []byte("SLP1")), 0); got != "-1 sluice sdk: input of 4 bytes is not an SLP1 page" {
		t.Errorf("bad page: %s", got)
	}
	in = newInstance(t)
	if got := errorOf(t, in.call("sluice_process", tinyPage(t)), 2); got != "-1 sluice sdk: called before a successful sluice_init" {
		t.Errorf("process before init: %s", got)
	}
}

// rawPage encodes page 1 of (id int, s text) with the given offsets and
// rows area, which need not be well-formed.
func rawPage(offsets []uint32, data []byte) []byte {
	s := abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "s", Type: abi.Type{ID: abi.TypeVarchar}})
	return (&abi.Page{Number: 1, Schema: s, Offsets: offsets, Data: data}).AppendEncoded(nil)
}

// TestMalformedPages: the SDK checks a page's offsets before calling the
// plugin and each cell's framing when the cell is read (or when a row is
// copied whole), and reports the first problem as a row -1 error.
func TestMalformedPages(t *testing.T) {
	cell := func(b ...byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) }
	row0 := slices.Concat(cell(0, 0, 0, 1), cell('a'))                 // 13 bytes
	row1 := slices.Concat(cell(0, 0, 0, 2), cell('b', 'c'))            // 14 bytes
	short := cell(0, 0, 0, 2)                                          // 8 bytes: no s
	long := slices.Concat(cell(0, 0, 0, 2), cell('b', 'c'), []byte{0}) // 15 bytes
	badLen := slices.Concat(cell(0, 0, 0, 2), []byte{5, 0, 0, 0, 'b', 'c'})
	negLen := slices.Concat(cell(0, 0, 0, 2), []byte{0xfe, 0xff, 0xff, 0xff})
	tests := []struct {
		name, mode string
		offsets    []uint32
		data       []byte
		want       string
	}{
		{"bad offsets", "echo", []uint32{0, 28, 27, 40}, slices.Concat(row0, row1, row0), "-1 sluice sdk: page 1: row 1: bad offsets"},
		{"bad offsets late", "echo", []uint32{0, 13, 27, 40, 39, 53}, slices.Concat(row0, row1, row0, row0), "-1 sluice sdk: page 1: row 3: bad offsets"},
		{"span", "echo", []uint32{0, 13, 26}, slices.Concat(row0, row1), "-1 sluice sdk: page 1: offsets do not span the rows area"},
		{"truncated", "echo", []uint32{0, 13, 21, 34}, slices.Concat(row0, short, row0), "-1 sluice sdk: page 1: row 1: truncated"},
		{"bad cell length", "echo", []uint32{0, 13, 27, 40}, slices.Concat(row0, badLen, row0), "-1 sluice sdk: page 1: row 1: bad cell length"},
		{"negative cell length", "echo", []uint32{0, 13, 25, 38}, slices.Concat(row0, negLen, row0), "-1 sluice sdk: page 1: row 1: bad cell length"},
		{"trailing bytes", "copy", []uint32{0, 13, 28, 41}, slices.Concat(row0, long, row0), "-1 sluice sdk: page 1: row 1: trailing bytes"},
		{"copy truncated", "copy", []uint32{0, 13, 21, 34}, slices.Concat(row0, short, row0), "-1 sluice sdk: page 1: row 1: truncated"},
	}
	// 20 rows of row0, row 12 ending before it starts: the offsets are
	// checked 8 rows at a time, then row by row.
	offs := make([]uint32, 21)
	for i := range offs {
		offs[i] = uint32(13 * i)
	}
	offs[13] = offs[12] - 1
	data := bytes.Repeat(row0, 20)
	tests = append(tests, struct {
		name, mode string
		offsets    []uint32
		data       []byte
		want       string
	}{"bad offsets unrolled", "echo", offs, data, "-1 sluice sdk: page 1: row 12: bad offsets"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInstance(t)
			in.init(kv("mode", tt.mode))
			if got := errorOf(t, in.call("sluice_process", rawPage(tt.offsets, tt.data)), len(tt.offsets)-1); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// The same rows, well-formed, pass; trailing bytes in a row no cell
	// read reaches are not looked for by echo.
	for _, mode := range []string{"echo", "copy"} {
		in := newInstance(t)
		in.init(kv("mode", mode))
		data := slices.Concat(row0, row1, row0)
		r := decode(t, in.call("sluice_process", rawPage([]uint32{0, 13, 27, 40}, data)), 3)
		if len(r.Sections) != 1 || !bytes.Equal(r.Sections[0].Rows.Data, data) {
			t.Fatalf("%s: %s", mode, describe(r))
		}
	}
}

// TestReject: sluice_reject sends a row to the dead-letter output with its
// cells unchanged and the reason appended, and drops it from the default
// output; the host's checks accept the result.
func TestReject(t *testing.T) {
	in := newInstance(t)
	in.init(kv("mode", "reject"))
	for i, page := range [][]byte{tinyPage(t), tinyPage(t)} { // twice: the cached dead-letter schema
		p, err := abi.DecodePage(page)
		if err != nil {
			t.Fatal(err)
		}
		r := decode(t, in.call("sluice_process", page), p.NumRows())
		if err := abi.CheckRejected(r); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		var rej *abi.Page
		var sel []byte
		for _, s := range r.Sections {
			switch {
			case s.Output == abi.RejectedOutput:
				rej = s.Rows
			case s.Output == "" && s.Kind == abi.SectionSelect:
				sel = s.Bitmap
			}
		}
		if rej == nil || sel == nil || rej.NumRows() != p.NumRows()/2 {
			t.Fatalf("page %d: %s", i, describe(r))
		}
		for k := 0; k < rej.NumRows(); k++ {
			src := p.Row(2*k + 1)
			got := rej.Row(k)
			for c := range p.NumCols() {
				a, _ := src.Cell(c)
				b, _ := got.Cell(c)
				if !bytes.Equal(a, b) {
					t.Fatalf("page %d: rejected row %d cell %d: %x, want %x", i, k, c, b, a)
				}
			}
			reason, _ := got.Cell(p.NumCols())
			if string(reason) != "odd row" || abi.BitmapGet(sel, 2*k+1) || !abi.BitmapGet(sel, 2*k) {
				t.Fatalf("page %d: reason %q, selection %08b", i, reason, sel)
			}
		}
	}
}

// TestSchemaChanges: pages of alternating schemas through one instance;
// the SDK reuses its parse of the schema only while the bytes are equal.
func TestSchemaChanges(t *testing.T) {
	in := newInstance(t)
	in.init(kv("mode", "echo"))
	tiny := tinyPage(t)
	scalars := vector(t, "scalars.page.hex")
	renamed := abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "t", Type: abi.Type{ID: abi.TypeVarchar}})
	b := abi.NewPageBuilder(renamed, 1, 0)
	b.AppendCell(abi.AppendInt(nil, 7))
	b.AppendCell([]byte("x"))
	b.EndRow()
	other := b.Page().AppendEncoded(nil)
	for i, page := range [][]byte{tiny, tiny, scalars, tiny, other, tiny, scalars, scalars} {
		p, err := abi.DecodePage(page)
		if err != nil {
			t.Fatal(err)
		}
		r := decode(t, in.call("sluice_process", page), p.NumRows())
		if len(r.Sections) != 1 || !bytes.Equal(r.Sections[0].Rows.Data, p.Data) || !r.Sections[0].Rows.Schema.Equal(p.Schema) {
			t.Fatalf("page %d: echo differs: %s", i, describe(r))
		}
	}
}

// TestBigPages exercises memory growth and reuse: the input buffer, the
// writers and the result buffer grow to several MiB and are reused.
func TestBigPages(t *testing.T) {
	in := newInstance(t)
	in.init(kv("mode", "echo"))
	schema := abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeBigint}}, abi.Column{Name: "s", Type: abi.Type{ID: abi.TypeVarchar}})
	for _, n := range []int{100_000, 10, 150_000} {
		b := abi.NewPageBuilder(schema, 1, 0)
		for i := range n {
			b.AppendCell(abi.AppendBigint(nil, int64(i)))
			b.AppendCell([]byte(strings.Repeat("x", i%40)))
			b.EndRow()
		}
		page := b.Page()
		r := decode(t, in.call("sluice_process", page.AppendEncoded(nil)), n)
		if !bytes.Equal(r.Sections[0].Rows.Data, page.Data) {
			t.Fatalf("%d rows: echo differs", n)
		}
	}
	t.Logf("memory: %d pages", in.mod.Memory().Size()/65536)
	if pages := in.mod.Memory().Size() / 65536; pages > 560 { // 509 measured: input, writer and result buffers of the largest page
		t.Errorf("memory grew to %d pages for pages of ~6 MiB", pages)
	}
}
