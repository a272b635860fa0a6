package sluice

import (
	"errors"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
)

// funcPlugin adapts functions to Plugin (and Flusher, when flush is set).
type funcPlugin struct {
	init    func(Config) error
	process func(*Page, *Output) error
}

func (f *funcPlugin) Init(c Config) error {
	if f.init == nil {
		return nil
	}
	return f.init(c)
}

func (f *funcPlugin) Process(p *Page, o *Output) error { return f.process(p, o) }

type flushPlugin struct {
	funcPlugin
	flush func(*Output) error
}

func (f *flushPlugin) Flush(o *Output) error { return f.flush(o) }

var (
	intT  = abi.Type{ID: abi.TypeInt}
	textT = abi.Type{ID: abi.TypeVarchar}
)

// testPage returns a page (id int, name text) with ids 0..n-1 and name
// "n<i>", id NULL when i%5 == 4.
func testPage(n int) *abi.Page {
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "id", Type: intT}, abi.Column{Name: "name", Type: textT}), 7, 1)
	for i := range n {
		if i%5 == 4 {
			b.AppendNull()
		} else {
			b.AppendCell(abi.AppendInt(nil, int32(i)))
		}
		b.AppendCell([]byte("n" + string(rune('0'+i%10))))
		if err := b.EndRow(); err != nil {
			panic(err)
		}
	}
	return b.Page()
}

// describe renders a result for table tests: "SELECT out 0b.. | ROWS out n | ERROR r msg".
func describe(r abi.Result) string {
	var parts []string
	for _, s := range r.Sections {
		switch s.Kind {
		case abi.SectionSelect:
			var bits strings.Builder
			for i := range s.NRows {
				if abi.BitmapGet(s.Bitmap, i) {
					bits.WriteByte('1')
				} else {
					bits.WriteByte('0')
				}
			}
			parts = append(parts, "SELECT "+s.Output+":"+bits.String())
		case abi.SectionRows:
			parts = append(parts, "ROWS "+s.Output+":"+s.Rows.Schema.String()+"x"+itoa(s.Rows.NumRows()))
		case abi.SectionError:
			parts = append(parts, "ERROR "+itoa(int(s.ErrRow))+" "+s.ErrMsg)
		}
	}
	if len(parts) == 0 {
		return "<no sections>"
	}
	return strings.Join(parts, " | ")
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestOutputRules(t *testing.T) {
	other := abi.NewSchema(abi.Column{Name: "x", Type: intT})
	tests := []struct {
		name    string
		process func(*Page, *Output) error
		want    string
	}{
		{"nothing passes everything", func(*Page, *Output) error { return nil }, "SELECT :111"},
		{"keep all passes everything", func(_ *Page, o *Output) error { o.Keep(0); return nil }, "SELECT :111"},
		{"drop one", func(_ *Page, o *Output) error { o.Drop(1); return nil }, "SELECT :101"},
		{"drop all: no sections", func(_ *Page, o *Output) error { o.DropAll(); return nil }, "<no sections>"},
		{"drop all then keep", func(_ *Page, o *Output) error { o.DropAll(); o.Keep(2); return nil }, "SELECT :001"},
		{"set", func(_ *Page, o *Output) error { o.Set(0, false); o.Set(2, false); o.Set(0, true); return nil }, "SELECT :110"},
		{"rows replace the input", func(p *Page, o *Output) error { return o.Emit("", other, 1) }, "ROWS :x intx1"},
		{"keep all plus rows", func(p *Page, o *Output) error {
			if err := o.EmitRow("", p.Row(0)); err != nil {
				return err
			}
			o.KeepAll()
			return nil
		}, "SELECT :111 | ROWS :id int, name textx1"},
		{"named rows keep the input", func(p *Page, o *Output) error { return o.Emit("side", other, 5) }, "SELECT :111 | ROWS side:x intx1"},
		{"route keeps the input", func(p *Page, o *Output) error { o.Route("nulls", 1); return nil }, "SELECT :111 | SELECT nulls:010"},
		{"first-use order", func(p *Page, o *Output) error {
			o.Route("b", 2)
			if err := o.Emit("a", other, 1); err != nil {
				return err
			}
			o.Drop(0)
			return o.Emit("a", other, 2)
		}, "SELECT b:001 | ROWS a:x intx2 | SELECT :011"},
		{"selection before default rows", func(p *Page, o *Output) error {
			if err := o.EmitRow("", p.Row(2)); err != nil {
				return err
			}
			o.Drop(0)
			return nil
		}, "SELECT :011 | ROWS :id int, name textx1"},
		{"mixed schemas on the default output", func(p *Page, o *Output) error {
			o.Drop(0)
			return o.Emit("", other, 1)
		}, "ERROR -1 sluice sdk: rows were both selected"},
		{"mixed schemas on a named output", func(p *Page, o *Output) error {
			o.Route("x", 0)
			return o.Emit("x", other, 1)
		}, "ERROR -1 sluice sdk: output \"x\" got both routed input rows and written rows"},
		{"two schemas for one output", func(p *Page, o *Output) error {
			if err := o.Emit("x", other, 1); err != nil {
				return err
			}
			return o.Emit("x", p.Schema(), 1, "a")
		}, "ERROR -1 output \"x\": schema (id int, name text) differs"},
		{"row error", func(p *Page, o *Output) error { return RowError(p.Row(2), "bad row") }, "ERROR 2 bad row"},
		{"wrapped row error", func(p *Page, o *Output) error {
			return errors.Join(errors.New("ctx"), RowErrorf(p.Row(1), "x=%d", 3))
		}, "ERROR 1 ctx\nx=3"},
		{"cell error names its row", func(p *Page, o *Output) error {
			_, _, err := p.Row(1).Text("id")
			return err
		}, "ERROR -1 column \"id\" has type int, want text or ascii"},
		{"column error", func(p *Page, o *Output) error {
			_, _, err := p.Row(0).Int("nope")
			return err
		}, "ERROR -1 column \"nope\" not found (columns: id, name)"},
		{"panic", func(p *Page, o *Output) error { o.Keep(99); return nil }, "ERROR -1 panic: sluice: Output.Set(99) on a page of 3 rows"},
		{"route to default panics", func(p *Page, o *Output) error { o.Route("", 0); return nil }, "ERROR -1 panic: sluice: Output.Route to the default output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHarness(&funcPlugin{process: tt.process})
			if err != nil {
				t.Fatal(err)
			}
			res, _ := h.Process(testPage(3))
			got := describe(res)
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

func TestNoSectionsResultIsNotEmpty(t *testing.T) {
	e := engine{plugin: &funcPlugin{process: func(_ *Page, o *Output) error { o.DropAll(); return nil }}}
	e.init(abi.EncodeConfig(nil))
	res := e.process(testPage(3).AppendEncoded(nil))
	if len(res) != 8 {
		t.Fatalf("drop-all result is %x, want the 8-byte SLR1 with 0 sections", res)
	}
}

func TestGetters(t *testing.T) {
	schema := abi.NewSchema(
		abi.Column{Name: "i", Type: intT},
		abi.Column{Name: "t", Type: abi.Type{ID: abi.TypeTime}},
		abi.Column{Name: "a", Type: abi.Type{ID: abi.TypeASCII}},
		abi.Column{Name: "d", Type: abi.Type{ID: abi.TypeDate}},
		abi.Column{Name: "c", Type: abi.Type{ID: abi.TypeCounter}},
	)
	b := abi.NewPageBuilder(schema, 1, 0)
	b.AppendCell([]byte{0, 0, 1}) // malformed int
	b.AppendCell(abi.AppendTime(nil, abi.MaxTime))
	b.AppendCell([]byte{'a', 0x80})
	b.AppendCell(abi.AppendDate(nil, abi.DateEpoch-1))
	b.AppendCell([]byte{})
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	row := NewPage(b.Page()).Row(0)

	var ce *CellError
	if _, _, err := row.Int("i"); !errors.As(err, &ce) || err.Error() != `row 0: column "i": invalid int cell of 3 bytes` {
		t.Errorf("Int: %v", err)
	}
	if _, _, err := row.Time("t"); err == nil || err.Error() != `row 0: column "t": invalid time cell of 8 bytes` {
		t.Errorf("Time: %v", err)
	}
	if _, _, err := row.Text("a"); !errors.As(err, &ce) || !strings.Contains(err.Error(), "invalid ascii cell of 2 bytes: ascii: byte 1") {
		t.Errorf("Text on ascii: %v", err)
	}
	if d, null, err := row.Date("d"); err != nil || null || !d.Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v, %v, %v", d, null, err)
	}
	if v, null, err := row.Bigint("c"); err != nil || !null || v != 0 {
		t.Errorf("empty counter: %v, %v, %v", v, null, err)
	}
	if cell, null, err := row.Raw("c"); err != nil || null || cell == nil || len(cell) != 0 {
		t.Errorf("Raw of an empty cell: %v, %v, %v", cell, null, err)
	}
	var te *TypeError
	if _, _, err := row.Bigint("i"); !errors.As(err, &te) || err.Error() != `column "i" has type int, want bigint or counter` {
		t.Errorf("Bigint on int: %v", err)
	}
	if rowOf(&CellError{Row: 4}) != 4 || rowOf(te) != -1 {
		t.Error("rowOf")
	}
}

func TestRowWriter(t *testing.T) {
	schema := abi.NewSchema(
		abi.Column{Name: "ti", Type: abi.Type{ID: abi.TypeTinyint}},
		abi.Column{Name: "a", Type: abi.Type{ID: abi.TypeASCII}},
		abi.Column{Name: "ts", Type: abi.Type{ID: abi.TypeTimestamp}},
		abi.Column{Name: "d", Type: abi.Type{ID: abi.TypeDate}},
		abi.Column{Name: "v", Type: abi.Type{ID: abi.TypeVarint}},
		abi.Column{Name: "in", Type: abi.Type{ID: abi.TypeInet}},
		abi.Column{Name: "l", Type: abi.ListOf(intT)},
	)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123_000_000, time.UTC)
	day := time.Date(1969, 12, 31, 13, 0, 0, 0, time.UTC)
	list := abi.AppendList(nil, [][]byte{abi.AppendInt(nil, 1)})
	var o Output
	o.reset(-1, nil)
	w, err := o.Rows("x", schema)
	if err != nil {
		t.Fatal(err)
	}
	good := []any{int8(-3), "ok", ts, day, big.NewInt(-129), netip.MustParseAddr("10.0.0.1"), RawCell(list)}
	if err := o.Emit("x", schema, good...); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if err := o.Emit("x", schema, 127, "", ts, day, 5, netip.Addr{}, nil); err != nil {
		t.Fatalf("Emit with int conversions: %v", err)
	}
	bad := []struct {
		values []any
		want   string
	}{
		{[]any{128}, `column "ti": 128 out of range for tinyint`},
		{[]any{1, "é"}, `column "a" is ascii, byte 0 of the value is 0xC3`},
		{[]any{1, "a", "x"}, `column "ts" has type timestamp, want text or ascii`},
		{[]any{1, "a", ts, day, 1.5}, `column "v" has type varint, want double`},
		{[]any{1, "a", ts, day, struct{}{}}, `column "v" (varint): cannot write a value of Go type struct {}`},
		{[]any{1, "a"}, `row 2 has 2 cells, the schema has 7 columns`},
		{append(append([]any{}, good...), 1), `Null for column 8, but the schema has 7 columns`},
	}
	for _, b := range bad {
		err := o.Emit("x", schema, b.values...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Emit(%v) = %v, want %q", b.values, err, b.want)
		}
	}
	if w.NumRows() != 2 {
		t.Fatalf("rows after refused ones: %d, want 2", w.NumRows())
	}
	ps := w.pages()
	page := ps[0]
	row := NewPage(page).Row(0)
	if v, _, _ := row.Tinyint("ti"); v != -3 {
		t.Errorf("ti = %d", v)
	}
	if v, _, _ := row.Timestamp("ts"); !v.Equal(ts) {
		t.Errorf("ts = %v", v)
	}
	if v, _, _ := row.Date("d"); !v.Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("d = %v", v)
	}
	if v, _, _ := row.Varint("v"); v.Int64() != -129 {
		t.Errorf("v = %v", v)
	}
	if v, _, _ := row.Inet("in"); v.String() != "10.0.0.1" {
		t.Errorf("in = %v", v)
	}
	if _, null, _ := NewPage(page).Row(1).Inet("in"); !null {
		t.Error("zero Addr should write NULL")
	}
}

func TestSectionSplit(t *testing.T) {
	defer func(n int) { maxRowsPerSection = n }(maxRowsPerSection)
	maxRowsPerSection = 4
	schema := abi.NewSchema(abi.Column{Name: "x", Type: intT})
	h, err := NewHarness(&funcPlugin{process: func(p *Page, o *Output) error {
		for i := range 10 {
			if err := o.Emit("", schema, i); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Process(testPage(1))
	if err != nil {
		t.Fatal(err)
	}
	var n []int
	next := int32(0)
	for _, s := range res.Sections {
		n = append(n, s.Rows.NumRows())
		for _, row := range s.Rows.Rows() {
			c, _ := row.Cell(0)
			if v, _ := abi.DecodeInt(c); v != next {
				t.Fatalf("row value %d, want %d", v, next)
			}
			next++
		}
	}
	if len(n) != 3 || n[0] != 4 || n[1] != 4 || n[2] != 2 {
		t.Fatalf("section sizes %v, want [4 4 2]", n)
	}
}

func TestConfig(t *testing.T) {
	c := NewConfig(
		abi.KV{Key: "a", Value: "1"}, abi.KV{Key: "arr", Value: "x"}, abi.KV{Key: "arr", Value: "y"},
		abi.KV{Key: "b", Value: "true"}, abi.KV{Key: "f", Value: "0.5"}, abi.KV{Key: "n", Value: "zz"},
		abi.KV{Key: "rename.p", Value: "q"},
	)
	if v, err := c.Int("a", 0); v != 1 || err != nil {
		t.Errorf("Int a: %v %v", v, err)
	}
	if v, err := c.Int("missing", 7); v != 7 || err != nil {
		t.Errorf("Int default: %v %v", v, err)
	}
	if _, err := c.Int("n", 0); err == nil || err.Error() != `config key "n": "zz" is not an integer` {
		t.Errorf("Int n: %v", err)
	}
	if v, err := c.Bool("b", false); !v || err != nil {
		t.Errorf("Bool: %v %v", v, err)
	}
	if v, err := c.Float("f", 0); v != 0.5 || err != nil {
		t.Errorf("Float: %v %v", v, err)
	}
	if _, err := c.String("arr", ""); err == nil || err.Error() != `config key "arr" must have one value, got 2` {
		t.Errorf("String arr: %v", err)
	}
	if _, err := c.Require("zzz"); err == nil || err.Error() != `missing config key "zzz"` {
		t.Errorf("Require: %v", err)
	}
	if err := c.Unknown("a", "arr", "b", "f", "n", "rename.*"); err != nil {
		t.Errorf("Unknown: %v", err)
	}
	if err := c.Unknown("a", "arr", "b", "f", "rename.*"); err == nil || err.Error() != `unknown config key "n"` {
		t.Errorf("Unknown: %v", err)
	}
	if err := c.Single("a", "arr"); err == nil {
		t.Error("Single arr: no error")
	}
}

type stateful struct {
	funcPlugin
	state []byte
	fail  bool
}

func (s *stateful) Snapshot() ([]byte, error) {
	if s.fail {
		return nil, errors.New("disk on fire")
	}
	return s.state, nil
}

func (s *stateful) Restore(b []byte) error {
	if len(b) > 0 && b[0] != 'S' {
		return errors.New("bad state")
	}
	s.state = append([]byte(nil), b...)
	return nil
}

func TestSnapshotRestore(t *testing.T) {
	a := &stateful{state: []byte("S123")}
	ha, err := NewHarness(a)
	if err != nil {
		t.Fatal(err)
	}
	state, err := ha.Snapshot()
	if err != nil || string(state) != "S123" {
		t.Fatalf("snapshot %q, %v", state, err)
	}
	b := &stateful{}
	hb, _ := NewHarness(b)
	if err := hb.Restore(state); err != nil || string(b.state) != "S123" {
		t.Fatalf("restore: %v, state %q", err, b.state)
	}
	var re *ResultError
	if err := hb.Restore([]byte("X")); !errors.As(err, &re) || re.Message != "bad state" {
		t.Fatalf("bad restore: %v", err)
	}
	a.fail = true
	if _, err := ha.Snapshot(); err == nil {
		t.Fatal("failing snapshot: no error")
	}

	// A plugin without Snapshotter: no state, and refuses state.
	hn, _ := NewHarness(&funcPlugin{process: func(*Page, *Output) error { return nil }})
	if s, err := hn.Snapshot(); s != nil || err != nil {
		t.Fatalf("stateless snapshot: %q, %v", s, err)
	}
	if err := hn.Restore(nil); err != nil {
		t.Fatalf("restore of no state: %v", err)
	}
	if err := hn.Restore([]byte{}); err != nil {
		t.Fatalf("restore of empty state: %v", err)
	}
	const want = "sluice sdk: plugin cannot restore state: it implements no restore, so the 2 bytes of state of the instance it replaces would be lost"
	if err := hn.Restore([]byte("S1")); !errors.As(err, &re) || re.Message != want || re.Row != -1 {
		t.Fatalf("restore into stateless: %v, want ERROR (row -1) %q", err, want)
	}
}

func TestFlushAndLog(t *testing.T) {
	schema := abi.NewSchema(abi.Column{Name: "n", Type: abi.Type{ID: abi.TypeBigint}})
	p := &flushPlugin{
		funcPlugin: funcPlugin{process: func(*Page, *Output) error { return nil }},
		flush: func(o *Output) error {
			Logf(LevelInfo, "flushing %d", 1)
			return o.Emit("counts", schema, int64(42))
		},
	}
	h, _ := NewHarness(p)
	res, err := h.Flush()
	if err != nil || describe(res) != "ROWS counts:n bigintx1" {
		t.Fatalf("flush: %q, %v", describe(res), err)
	}
	if logs := h.Logs(); len(logs) != 1 || logs[0].Msg != "flushing 1" || logs[0].Level != LevelInfo {
		t.Fatalf("logs %+v", logs)
	}
	bad := &flushPlugin{funcPlugin: p.funcPlugin, flush: func(o *Output) error { o.Keep(0); return nil }}
	h, _ = NewHarness(bad)
	if _, err := h.Flush(); err == nil || !strings.Contains(err.Error(), "called outside Process") {
		t.Fatalf("Keep in flush: %v", err)
	}
	// Not a Flusher: the empty result.
	h, _ = NewHarness(&funcPlugin{process: func(*Page, *Output) error { return nil }})
	if res, err := h.Flush(); err != nil || !res.Empty() {
		t.Fatalf("flush of a non-Flusher: %v %v", res, err)
	}
}

func TestEngineErrors(t *testing.T) {
	e := engine{plugin: &funcPlugin{init: func(c Config) error { return errors.New("bad config") }, process: func(*Page, *Output) error { return nil }}}
	res, _ := abi.DecodeResult(e.process(testPage(1).AppendEncoded(nil)), 1, abi.Limits{})
	if describe(res) != "ERROR -1 "+errNotInited.Error() {
		t.Errorf("process before init: %s", describe(res))
	}
	res, _ = abi.DecodeResult(e.init(abi.EncodeConfig(nil)), -1, abi.Limits{})
	if describe(res) != "ERROR -1 bad config" {
		t.Errorf("init: %s", describe(res))
	}
	res, _ = abi.DecodeResult(e.init([]byte("nope")), -1, abi.Limits{})
	if !strings.HasPrefix(describe(res), "ERROR -1 sluice sdk: decode config: ") {
		t.Errorf("bad config bytes: %s", describe(res))
	}
	e = engine{plugin: &funcPlugin{process: func(*Page, *Output) error { return nil }}}
	e.init(abi.EncodeConfig(nil))
	res, _ = abi.DecodeResult(e.process([]byte("SLP1....")), 0, abi.Limits{})
	if !strings.HasPrefix(describe(res), "ERROR -1 sluice sdk: decode page: ") {
		t.Errorf("bad page: %s", describe(res))
	}
	e = engine{}
	res, _ = abi.DecodeResult(e.init(abi.EncodeConfig(nil)), -1, abi.Limits{})
	if !strings.Contains(describe(res), "no plugin registered") {
		t.Errorf("no plugin: %s", describe(res))
	}
}

func TestRegister(t *testing.T) {
	defer func() { registered = nil }()
	p := &funcPlugin{}
	Register(p)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "Register called twice") {
			t.Fatalf("second Register: %v", r)
		}
	}()
	Register(p)
}

func TestHarnessEmptyResult(t *testing.T) {
	e := engine{plugin: &funcPlugin{process: func(*Page, *Output) error { return nil }}}
	e.init(abi.EncodeConfig(nil))
	if res := e.process(testPage(3).AppendEncoded(nil)); res != nil {
		t.Fatalf("pass-through result is %x, want handle 0", res)
	}
}

// preparer records the schemas Prepare saw and fails for a column "bad".
type preparer struct {
	seen []string
	age  int
}

func (p *preparer) Init(Config) error { return nil }

func (p *preparer) Prepare(s *Schema) error {
	p.seen = append(p.seen, s.String())
	p.age = -1
	for i, c := range s.Columns {
		switch c.Name {
		case "bad":
			return errors.New("preparer: bad schema")
		case "age":
			p.age = i
		}
	}
	return nil
}

func (p *preparer) Process(page *Page, out *Output) error {
	for row := range page.Rows() {
		v, null, err := row.IntAt(p.age)
		if err != nil {
			return err
		}
		out.Set(row.Index(), !null && v >= 18)
	}
	return nil
}

func TestPrepareOncePerSchema(t *testing.T) {
	p := &preparer{}
	h, err := NewHarness(p)
	if err != nil {
		t.Fatal(err)
	}
	page := func(s *Schema, ages ...int32) *abi.Page {
		b := abi.NewPageBuilder(s, 1, 0)
		for _, a := range ages {
			for range s.Columns {
				b.AppendCell(abi.AppendInt(nil, a))
			}
			if err := b.EndRow(); err != nil {
				t.Fatal(err)
			}
		}
		return b.Page()
	}
	s1 := NewSchema(Column{Name: "id", Type: Type{ID: TypeInt}}, Column{Name: "age", Type: Type{ID: TypeInt}})
	for range 3 {
		if _, err := h.Process(page(s1, 17, 18)); err != nil {
			t.Fatal(err)
		}
	}
	bad := NewSchema(Column{Name: "bad", Type: Type{ID: TypeInt}})
	for range 2 {
		if _, err := h.Process(page(bad, 1)); err == nil || !strings.Contains(err.Error(), "preparer: bad schema") {
			t.Fatalf("bad schema: %v", err)
		}
	}
	res, err := h.Process(page(NewSchema(Column{Name: "age", Type: Type{ID: TypeInt}}), 20, 3))
	if err != nil || !abi.BitmapGet(res.Sections[0].Bitmap, 0) || abi.BitmapGet(res.Sections[0].Bitmap, 1) {
		t.Fatalf("after a schema change: %+v %v", res, err)
	}
	if want := []string{"id int, age int", "bad int", "bad int", "age int"}; strings.Join(p.seen, "|") != strings.Join(want, "|") {
		t.Errorf("Prepare saw %q, want %q", p.seen, want)
	}
}
