package sluice

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// The ABI's shared test vectors (abi/ABI.md section 13).
const vectorsDir = "../../../abi/testdata/vectors"

func readVector(t *testing.T, name string) []byte { return mustVector(t, name) }

func mustVector(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("vector %s: %v", name, err)
	}
	return b
}

// vectorPlugin answers scalars.page.hex with scalars.result.hex: SELECT rows
// 0 and 2 to "", ROWS (row int, reason text) [1, "all null"] to "audit",
// SELECT row 1 to "nulls".
type vectorPlugin struct{}

func (vectorPlugin) Init(Config) error { return nil }

func (vectorPlugin) Process(p *Page, out *Output) error {
	audit := abi.NewSchema(abi.Column{Name: "row", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "reason", Type: abi.Type{ID: abi.TypeVarchar}})
	for row := range p.Rows() {
		null, err := row.IsNull("c_int")
		if err != nil {
			return err
		}
		out.Set(row.Index(), !null)
		if null {
			if err := out.Emit("audit", audit, int32(row.Index()), "all null"); err != nil {
				return err
			}
			out.Route("nulls", row.Index())
		}
	}
	return nil
}

// TestVectorResult checks the SDK's result encoding byte for byte against
// the ABI vector.
func TestVectorResult(t *testing.T) {
	e := engine{plugin: vectorPlugin{}}
	if res := e.init(abi.EncodeConfig(nil)); res != nil {
		t.Fatalf("init: %x", res)
	}
	got := e.process(readVector(t, "scalars.page.hex"))
	want := readVector(t, "scalars.result.hex")
	if !bytes.Equal(got, want) {
		t.Fatalf("result:\n got %x\nwant %x", got, want)
	}
}

// echoPlugin rewrites every cell through the typed getter and the typed
// RowWriter method of its column type: the output must be the input.
type echoPlugin struct{}

func (echoPlugin) Init(Config) error { return nil }

func (echoPlugin) Process(p *Page, out *Output) error {
	w, err := out.Rows("", p.Schema())
	if err != nil {
		return err
	}
	for row := range p.Rows() {
		for col, c := range p.Schema().Columns {
			if err := echoCell(row, col, c.Type, w); err != nil {
				return err
			}
		}
		if err := w.End(); err != nil {
			return err
		}
	}
	return nil
}

func echoCell(row Row, col int, t abi.Type, w *RowWriter) error {
	raw, isNull := row.RawAt(col)
	if isNull {
		w.Null()
		return nil
	}
	if len(raw) == 0 && t.ID != abi.TypeVarchar && t.ID != abi.TypeASCII && t.ID != abi.TypeBlob {
		w.Raw(raw) // an empty value has no typed form
		return nil
	}
	var err error
	var null bool
	switch t.ID {
	case abi.TypeASCII, abi.TypeVarchar:
		var v string
		v, null, err = row.TextAt(col)
		w.Text(v)
	case abi.TypeBlob:
		var v []byte
		v, null, err = row.BlobAt(col)
		w.Blob(v)
	case abi.TypeBigint, abi.TypeCounter:
		var v int64
		v, null, err = row.BigintAt(col)
		w.Bigint(v)
	case abi.TypeBoolean:
		var v bool
		v, null, err = row.BooleanAt(col)
		w.Boolean(v)
	case abi.TypeDecimal:
		var v Decimal
		v, null, err = row.DecimalAt(col)
		w.Decimal(v)
	case abi.TypeDouble:
		var v float64
		v, null, err = row.DoubleAt(col)
		w.Double(v)
	case abi.TypeFloat:
		var v float32
		v, null, err = row.FloatAt(col)
		w.Float(v)
	case abi.TypeInt:
		var v int32
		v, null, err = row.IntAt(col)
		w.Int(v)
	case abi.TypeTimestamp:
		v, n, e := row.TimestampAt(col)
		null, err = n, e
		w.Timestamp(v)
	case abi.TypeUUID, abi.TypeTimeUUID:
		var v [16]byte
		v, null, err = row.UUIDAt(col)
		w.UUID(v)
	case abi.TypeVarint:
		v, n, e := row.VarintAt(col)
		null, err = n, e
		w.Varint(v)
	case abi.TypeInet:
		v, n, e := row.InetAt(col)
		null, err = n, e
		w.Inet(v)
	case abi.TypeDate:
		v, n, e := row.DateAt(col)
		null, err = n, e
		w.Date(v)
	case abi.TypeTime:
		v, n, e := row.TimeAt(col)
		null, err = n, e
		w.Time(v)
	case abi.TypeSmallint:
		v, n, e := row.SmallintAt(col)
		null, err = n, e
		w.Smallint(v)
	case abi.TypeTinyint:
		v, n, e := row.TinyintAt(col)
		null, err = n, e
		w.Tinyint(v)
	case abi.TypeDuration:
		v, n, e := row.DurationAt(col)
		null, err = n, e
		w.Duration(v)
	default:
		w.Raw(raw)
	}
	if null {
		return RowErrorf(row, "column %d: non-empty cell reported null", col)
	}
	return err
}

// TestVectorEcho decodes every scalar of the vector page with the typed
// getters and encodes it again with the typed writers.
func TestVectorEcho(t *testing.T) {
	page, err := abi.DecodePage(readVector(t, "scalars.page.hex"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHarness(echoPlugin{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Process(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sections) != 1 || res.Sections[0].Kind != abi.SectionRows {
		t.Fatalf("want one ROWS section, got %+v", res.Sections)
	}
	got := res.Sections[0].Rows
	if !got.Schema.Equal(page.Schema) || !bytes.Equal(got.Data, page.Data) {
		t.Fatalf("echo differs from the input:\n got %x\nwant %x", got.Data, page.Data)
	}
}

// TestVectorConfig decodes config.hex into a Config.
func TestVectorConfig(t *testing.T) {
	var got Config
	p := &initProbe{f: func(c Config) error { got = c; return nil }}
	e := engine{plugin: p}
	if res := e.init(readVector(t, "config.hex")); res != nil {
		t.Fatalf("init: %x", res)
	}
	if v, ok := got.Get("greeting"); !ok || v != "héllo" {
		t.Errorf("greeting = %q, %v", v, ok)
	}
	if v := got.All("tags"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("tags = %q", v)
	}
	if v, _ := got.Sub("rename").Get("old"); v != "new" {
		t.Errorf("rename.old = %q", v)
	}
	if keys := got.Keys(); strings.Join(keys, ",") != "greeting,rename.old,tags" {
		t.Errorf("keys = %q", keys)
	}
}

type initProbe struct {
	f func(Config) error
}

func (p *initProbe) Init(c Config) error          { return p.f(c) }
func (p *initProbe) Process(*Page, *Output) error { return nil }

// TestVectorCollections reads the collection columns of collections.page.hex.
func TestVectorCollections(t *testing.T) {
	page, err := abi.DecodePage(readVector(t, "collections.page.hex"))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPage(page)
	row := p.Row(0)
	l, null, err := row.List("l")
	if err != nil || null || len(l) != 3 {
		t.Fatalf("l = %x, %v, %v", l, null, err)
	}
	if v, _ := abi.DecodeInt(l[2]); v != 3 {
		t.Errorf("l[2] = %d", v)
	}
	m, _, err := row.Map("m")
	if err != nil || len(m) != 4 || string(m[0]) != "a" {
		t.Errorf("m = %q, %v", m, err)
	}
	tu, _, err := row.Tuple("t")
	if err != nil || len(tu) != 2 || string(tu[1]) != "x" {
		t.Errorf("t = %q, %v", tu, err)
	}
	u, _, err := row.Tuple("u")
	if err != nil || len(u) != 2 || string(u[0]) != "Main" {
		t.Errorf("u = %q, %v", u, err)
	}
	vf, _, err := row.Vector("vf")
	if err != nil || len(vf) != 3 {
		t.Errorf("vf = %x, %v", vf, err)
	}
	vt, _, err := row.Vector("vt")
	if err != nil || len(vt) != 2 || string(vt[0]) != "a" || len(vt[1]) != 0 {
		t.Errorf("vt = %q, %v", vt, err)
	}
	if _, null, err := p.Row(1).List("l"); !null || err != nil {
		t.Errorf("row 1 l: null %v, err %v", null, err)
	}
	l, _, err = p.Row(2).List("l")
	if err != nil || len(l) != 2 || l[0] != nil || l[1] == nil || len(l[1]) != 0 {
		t.Errorf("row 2 l = %#v, %v", l, err)
	}
	if _, _, err := row.List("m"); err == nil {
		t.Error("List on a map column: no error")
	}
}
