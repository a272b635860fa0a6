package abi

import (
	"bytes"
	"encoding/hex"
	"flag"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shared test vectors in testdata/vectors are the contract for SDKs in
// other languages; ABI.md describes them. Regenerate with
//
//	go test ./abi -run TestVectors -update
//
// and review the diff: a change to an existing file is a breaking change of
// the ABI unless it only adds files.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/vectors")

const vectorsDir = "testdata/vectors"

// writeHex formats b as lowercase hex, 32 bytes per line.
func writeHex(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(32, len(b))
		out = hex.AppendEncode(out, b[:n])
		out = append(out, '\n')
		b = b[n:]
	}
	return out
}

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(vectorsDir, name)
	if *update {
		if err := os.MkdirAll(vectorsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./abi -run TestVectors -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got %s\nwant %s", name, got, want)
	}
}

func scalarsPage(t testing.TB) *Page {
	cols := []string{"ascii", "bigint", "blob", "boolean", "counter", "decimal", "double", "float", "int", "timestamp",
		"uuid", "text", "varint", "timeuuid", "inet", "date", "time", "smallint", "tinyint", "duration"}
	s := &Schema{}
	for _, c := range cols {
		s.Columns = append(s.Columns, Column{Name: "c_" + c, Type: mustType(t, c)})
	}
	b := NewPageBuilder(s, 1, 0)
	end := func() {
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	big1, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	uuid, _ := ParseUUID("550e8400-e29b-41d4-a716-446655440000")
	tuuid, _ := ParseUUID("d2177dd0-eaa2-11de-a572-001b779c76e3")
	// Row 0: typical values.
	for _, c := range [][]byte{
		[]byte("hello"), AppendBigint(nil, -42), []byte{0xca, 0xfe}, AppendBoolean(nil, true), AppendBigint(nil, 7),
		AppendDecimal(nil, big.NewInt(12340), 3), AppendDouble(nil, -0.1), AppendFloat(nil, 1.5), AppendInt(nil, 2024),
		AppendTimestamp(nil, 1704164645123), AppendUUID(nil, uuid), []byte("héllo ✓"), AppendVarint(nil, big1),
		AppendUUID(nil, tuuid), AppendInet(nil, netip.MustParseAddr("192.0.2.1")), AppendDate(nil, DateEpoch+19724),
		AppendTime(nil, 11045123456789), AppendSmallint(nil, -300), AppendTinyint(nil, 5),
		AppendDuration(nil, Duration{Months: 14, Days: 3, Nanos: 14706007008009}),
	} {
		b.AppendCell(c)
	}
	end()
	// Row 1: all null.
	for range cols {
		b.AppendNull()
	}
	end()
	// Row 2: empty values and extremes.
	for _, c := range [][]byte{
		{}, AppendBigint(nil, math.MinInt64), {}, AppendBoolean(nil, false), AppendBigint(nil, math.MaxInt64),
		AppendDecimal(nil, big.NewInt(1), -3), AppendDouble(nil, math.Float64frombits(canonicalNaN64)), AppendFloat(nil, float32(math.Inf(-1))), {},
		AppendTimestamp(nil, -1), AppendUUID(nil, [16]byte{}), {}, AppendVarint(nil, big.NewInt(0)),
		{}, AppendInet(nil, netip.MustParseAddr("2001:db8::1")), AppendDate(nil, 0),
		AppendTime(nil, 0), AppendSmallint(nil, math.MinInt16), AppendTinyint(nil, math.MaxInt8),
		AppendDuration(nil, Duration{Days: -3}),
	} {
		b.AppendCell(c)
	}
	end()
	return b.Page()
}

func collectionsPage(t testing.TB) *Page {
	s := &Schema{}
	for _, c := range []struct{ name, typ string }{
		{"l", "list<int>"}, {"s", "set<text>"}, {"m", "map<text, int>"}, {"mi", "map<int, text>"},
		{"t", "tuple<int, text>"}, {"u", "ks.addr{street text, zip int}"}, {"vf", "vector<float, 3>"},
		{"vt", "vector<text, 2>"}, {"nested", "map<text, frozen<list<frozen<tuple<int, text>>>>>"},
	} {
		s.Columns = append(s.Columns, Column{Name: c.name, Type: mustType(t, c.typ)})
	}
	b := NewPageBuilder(s, 2, 1)
	for _, row := range [][]string{
		{`[1,2,3]`, `["a","b"]`, `{"a":1,"b":2}`, `[[1,"x"],[2,"y"]]`, `[1,"x"]`, `{"street":"Main","zip":12345}`, `[1.5,-2,0]`, `["a",""]`, `{"k":[[1,"x"],null]}`},
		{`null`, `null`, `null`, `null`, `null`, `null`, `null`, `null`, `null`},
		{`[null,""]`, `[]`, `{"":null}`, `[]`, `[null,null]`, `{"street":null,"zip":null}`, `["NaN","Infinity",-0]`, `["",""]`, `{}`},
	} {
		if err := b.AppendJSONRow(rowObject(t, s, row)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Page()
}

func rowObject(t testing.TB, s *Schema, vals []string) map[string]any {
	obj := map[string]any{}
	for i, v := range vals {
		obj[s.Columns[i].Name] = decodeJSONValue(t, v)
	}
	return obj
}

func jsonl(t testing.TB, p *Page) []byte {
	var out []byte
	for _, r := range p.Rows() {
		var err error
		if out, err = AppendJSONRow(out, p.Schema, r); err != nil {
			t.Fatal(err)
		}
		out = append(out, '\n')
	}
	return out
}

func schemaText(s *Schema) []byte {
	var out []byte
	for _, c := range s.Columns {
		out = append(out, c.Name+"\t"+c.Type.Describe()+"\n"...)
	}
	return out
}

func vectorResult(t testing.TB) Result {
	audit := NewPageBuilder(NewSchema(Column{"row", Type{ID: TypeInt}}, Column{"reason", Type{ID: TypeText}}), 0, 0)
	audit.AppendCell(AppendInt(nil, 1))
	audit.AppendCell([]byte("all null"))
	if err := audit.EndRow(); err != nil {
		t.Fatal(err)
	}
	return Result{Sections: []Section{
		{Kind: SectionSelect, Output: "", NRows: 3, Bitmap: []byte{0b101}},
		{Kind: SectionRows, Output: "audit", Rows: audit.Page()},
		{Kind: SectionSelect, Output: "nulls", NRows: 3, Bitmap: []byte{0b010}},
	}}
}

// tinyPage and tinyResult are the worked example of ABI.md.
func tinyPage(t testing.TB) *Page {
	b := NewPageBuilder(NewSchema(Column{"id", Type{ID: TypeInt}}, Column{"name", Type{ID: TypeText}}), 1, 0)
	b.AppendCell(AppendInt(nil, 1))
	b.AppendCell([]byte("ab"))
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	b.AppendCell(AppendInt(nil, 2))
	b.AppendNull()
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	return b.Page()
}

func tinyResult(t testing.TB) Result {
	errs := NewPageBuilder(NewSchema(Column{"id", Type{ID: TypeInt}}), 0, 0)
	errs.AppendCell(AppendInt(nil, 2))
	if err := errs.EndRow(); err != nil {
		t.Fatal(err)
	}
	return Result{Sections: []Section{
		{Kind: SectionSelect, Output: "", NRows: 2, Bitmap: []byte{0b01}},
		{Kind: SectionRows, Output: "bad", Rows: errs.Page()},
	}}
}

var vectorConfig = []KV{{"greeting", "héllo"}, {"rename.old", "new"}, {"tags", "a"}, {"tags", "b"}}

func TestVectors(t *testing.T) {
	for _, v := range []struct {
		name string
		page *Page
	}{{"scalars", scalarsPage(t)}, {"collections", collectionsPage(t)}, {"tiny", tinyPage(t)}} {
		enc := v.page.AppendEncoded(nil)
		golden(t, v.name+".page.hex", writeHex(enc))
		golden(t, v.name+".schema.tsv", schemaText(v.page.Schema))
		golden(t, v.name+".jsonl", jsonl(t, v.page))
		if *update {
			continue
		}
		// Decoding the golden bytes gives the same page and JSONL.
		p, err := DecodePage(readHex(t, v.name+".page.hex"))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		golden(t, v.name+".jsonl", jsonl(t, p))
		// Rebuilding the page from its JSONL gives the same bytes.
		b := NewPageBuilder(p.Schema, p.Number, p.Split)
		for _, line := range strings.Split(strings.TrimSpace(string(jsonl(t, p))), "\n") {
			obj, _ := decodeJSONValue(t, line).(map[string]any)
			if err := b.AppendJSONRow(obj); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
		if !bytes.Equal(b.Page().AppendEncoded(nil), enc) {
			t.Errorf("%s: page rebuilt from JSONL differs", v.name)
		}
	}
	for _, v := range []struct {
		name string
		res  Result
		rows int
	}{
		{"scalars", vectorResult(t), 3},
		{"tiny", tinyResult(t), 2},
		{"error", Result{Sections: []Section{{Kind: SectionError, ErrRow: 1, ErrMsg: "row 1: c_int is null"}}}, 3},
	} {
		enc := v.res.AppendEncoded(nil)
		golden(t, v.name+".result.hex", writeHex(enc))
		if *update {
			continue
		}
		r, err := DecodeResult(readHex(t, v.name+".result.hex"), v.rows, DefaultLimits)
		if err != nil {
			t.Fatalf("%s result: %v", v.name, err)
		}
		if !bytes.Equal(r.AppendEncoded(nil), enc) {
			t.Errorf("%s result: re-encoding differs", v.name)
		}
	}
	enc := EncodeConfig(vectorConfig)
	golden(t, "config.hex", writeHex(enc))
	var tsv []byte
	for _, kv := range vectorConfig {
		tsv = append(tsv, kv.Key+"\t"+kv.Value+"\n"...)
	}
	golden(t, "config.tsv", tsv)
	if !*update {
		kvs, err := DecodeConfig(readHex(t, "config.hex"))
		if err != nil || len(kvs) != len(vectorConfig) {
			t.Fatalf("config: %v, %v", kvs, err)
		}
	}
}
