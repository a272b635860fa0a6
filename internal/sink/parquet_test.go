package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/testutil"
)

// parquetTypes is one column of every CQL type the parquet sink maps.
func parquetTypesSchema() *abi.Schema {
	addr := abi.UDTOf("ks", "address", []string{"street", "zip"}, []abi.Type{tText, tInt})
	return abi.NewSchema(
		col("id", tInt), col("name", tText), col("small", abi.Type{ID: abi.TypeSmallint}), col("tiny", abi.Type{ID: abi.TypeTinyint}),
		col("big", tBigint), col("f", abi.Type{ID: abi.TypeFloat}), col("d", tDouble), col("ok", tBool),
		col("amount", tDecimal), col("vi", abi.Type{ID: abi.TypeVarint}), col("ts", tTS), col("day", abi.Type{ID: abi.TypeDate}),
		col("tod", abi.Type{ID: abi.TypeTime}), col("u", tUUID), col("raw", tBlob), col("ip", tInet),
		col("dur", abi.Type{ID: abi.TypeDuration}), col("tags", abi.ListOf(tText)), col("scores", abi.MapOf(tText, tInt)),
		col("addr", addr), col("pair", abi.TupleOf(tInt, tText)), col("nested", abi.ListOf(abi.MapOf(tInt, abi.SetOf(tText)))),
		col("vec", abi.VectorOf(abi.Type{ID: abi.TypeFloat}, 3)),
	)
}

// parquetCase is a row as JSON values (abi.EncodeJSON) and what pyarrow
// must read back, in parquet_read.py's canonical form.
var parquetCases = []struct {
	row  []any
	want string
}{
	{
		row: []any{1, "plain ☃", -32768, 127, json.Number("9223372036854775807"), 1.5, -2.25, true,
			"12.34", "-170141183460469231731687303715884105728", "2024-01-02T03:04:05.123Z", "2024-01-02",
			"03:04:05.123456789", "123e4567-e89b-12d3-a456-426614174000", "3q0=", "2001:db8::1",
			"1y2mo3d4h5m6s7ms8us9ns", []any{"a", "b,c", nil}, map[string]any{"x": 1, "y": nil},
			map[string]any{"street": "Main", "zip": 12345}, []any{7, "seven"},
			[]any{[]any{[]any{1, []any{"p", "q"}}}, []any{}}, []any{1.5, -2, 0}},
		want: `{"id":1,"name":"plain ☃","small":-32768,"tiny":127,"big":9223372036854775807,"f":1.5,"d":-2.25,"ok":true,
			"amount":["dec","12.340000000"],"vi":["dec","-170141183460469231731687303715884105728"],"ts":["ts",1704164645123],
			"day":["date",19724],"tod":["time",11045123456789],"u":["uuid","123e4567-e89b-12d3-a456-426614174000"],
			"raw":["hex","dead"],"ip":"2001:db8::1","dur":"1y2mo3d4h5m6s7ms8us9ns","tags":["a","b,c",null],
			"scores":[["x",1],["y",null]],"addr":{"street":"Main","zip":12345},"pair":{"_1":7,"_2":"seven"},
			"nested":[[[1,["p","q"]]],[]],"vec":[1.5,-2,0]}`,
	},
	{
		row: []any{2, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		want: `{"id":2,"name":null,"small":null,"tiny":null,"big":null,"f":null,"d":null,"ok":null,"amount":null,"vi":null,
			"ts":null,"day":null,"tod":null,"u":null,"raw":null,"ip":null,"dur":null,"tags":null,"scores":null,"addr":null,
			"pair":null,"nested":null,"vec":null}`,
	},
	{
		row: []any{3, "", 0, 0, 0, 0, 0, false, "0", "0", "1969-12-31T23:59:59.999Z", "1969-12-31", "00:00:00", "00000000-0000-0000-0000-000000000000", "",
			"0.0.0.0", "0s", []any{}, map[string]any{}, map[string]any{"street": nil}, []any{nil, nil}, []any{}, []any{0, 0, 0}},
		want: `{"id":3,"name":"","small":0,"tiny":0,"big":0,"f":0,"d":0,"ok":false,"amount":["dec","0E-9"],"vi":["dec","0"],
			"ts":["ts",-1],"day":["date",-1],"tod":["time",0],"u":["uuid","00000000-0000-0000-0000-000000000000"],"raw":["hex",""],
			"ip":"0.0.0.0","dur":"0s","tags":[],"scores":[],"addr":{"street":null,"zip":null},"pair":{"_1":null,"_2":null},
			"nested":[],"vec":[0,0,0]}`,
	},
}

func parquetPage(t *testing.T, number uint64, ids ...int) *abi.Page {
	s := parquetTypesSchema()
	var rows [][][]byte
	for _, id := range ids {
		c := parquetCases[(id-1)%len(parquetCases)]
		var cells [][]byte
		for i, v := range c.row {
			if i == 0 {
				v = id
			}
			if v == nil {
				cells = append(cells, nil)
				continue
			}
			b, _ := json.Marshal(v)
			var jv any
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			if err := d.Decode(&jv); err != nil {
				t.Fatal(err)
			}
			cells = append(cells, enc(t, s.Columns[i].Type, jv))
		}
		rows = append(rows, cells)
	}
	return page(t, number, s, rows...)
}

type pqRead struct {
	Files []struct {
		Name   string
		Schema string
		Rows   int
	}
	Rows []map[string]any
}

func readParquet(t *testing.T, dir string) pqRead {
	t.Helper()
	py := testutil.PyArrow(t)
	out, err := exec.Command(py, "testdata/parquet_read.py", dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if e, ok := err.(*exec.ExitError); ok {
			ee = e
		}
		t.Fatalf("pyarrow: %v\n%s", err, ee.Stderr)
	}
	var r pqRead
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(r.Rows, func(i, j int) bool { return r.Rows[i]["id"].(json.Number) < r.Rows[j]["id"].(json.Number) })
	return r
}

// canonJSON normalizes a JSON text: integers exact, other numbers as
// float64 (so 0.0 and 0 compare equal).
func canonJSON(t *testing.T, s string) string {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if _, err := x.Int64(); err == nil {
				return x
			}
			f, _ := x.Float64()
			return f
		case []any:
			for i := range x {
				x[i] = norm(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = norm(x[k])
			}
		}
		return v
	}
	b, _ := json.Marshal(norm(v))
	return string(b)
}

// TestParquetTypesReadByPyArrow writes one row of every CQL type (values,
// nulls, empty values and collections) and compares what pyarrow reads,
// value by value, and the Parquet logical types of the columns.
func TestParquetTypesReadByPyArrow(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenParquet("t/pq", dir, ParquetOptions{FileSize: 1 << 30, RowGroupSize: 1 << 20, DecimalScale: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Restore(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, parquetPage(t, 1, 1, 2, 3), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readParquet(t, dir); len(got.Files) != 0 {
		t.Fatalf("a file is visible before Publish: %+v", got.Files)
	}
	if err := s.(Publisher).Publish(ctx); err != nil {
		t.Fatal(err)
	}
	got := readParquet(t, dir)
	if len(got.Rows) != len(parquetCases) {
		t.Fatalf("pyarrow reads %d rows, want %d", len(got.Rows), len(parquetCases))
	}
	for i, c := range parquetCases {
		b, _ := json.Marshal(got.Rows[i])
		if g, w := canonJSON(t, string(b)), canonJSON(t, c.want); g != w {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
	schema := got.Files[0].Schema
	for _, want := range []string{"amount: decimal128(38, 9)", "ts: timestamp[ms, tz=UTC]", "day: date32", "tod: time64[ns]",
		"vi: decimal128(38, 0)", "small: int16", "tiny: int8", "scores: map<string, int32", "tags: list<element: string>"} {
		if !strings.Contains(schema, want) {
			t.Errorf("the Arrow schema lacks %q:\n%s", want, schema)
		}
	}
	if t.Failed() {
		t.Logf("schema:\n%s", schema)
	}
}

// TestParquetExactlyOnce: files are published only by Publish; Restore
// publishes pending files the checkpoint covers and deletes the others;
// a fresh run empties the directory.
func TestParquetExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() Sink {
		s, err := OpenParquet("t/pq", dir, ParquetOptions{FileSize: 1 << 30, RowGroupSize: 1 << 20, DecimalScale: 9})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if err := s.Restore(nil); err != nil {
		t.Fatal(err)
	}
	write := func(s Sink, ids ...int) {
		t.Helper()
		if err := s.Write(ctx, parquetPage(t, 1, ids...), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write(s, 1, 2)
	if err := s.(Publisher).Publish(ctx); err != nil {
		t.Fatal(err)
	}
	write(s, 3, 4)
	cp := s.Position() // the checkpoint is saved ... and the process dies before Publish
	write(s, 5)        // ... or after a further, never checkpointed, flush
	if err := s.Write(ctx, parquetPage(t, 9, 6), nil); err != nil {
		t.Fatal(err)
	}
	s.Close() // a crash: the in-progress file stays behind
	names := func() []string {
		ents, _ := os.ReadDir(dir)
		var n []string
		for _, e := range ents {
			if e.Name() != ".sluice.lock" {
				n = append(n, e.Name())
			}
		}
		return n
	}
	t.Logf("after the crash: %v", names())
	s2 := open()
	if err := s2.Restore(cp); err != nil {
		t.Fatal(err)
	}
	if got := names(); strings.Join(got, " ") != "part-000000.parquet part-000001.parquet" {
		t.Fatalf("after Restore: %v, want the two checkpointed files published and nothing else", got)
	}
	write(s2, 5, 6)
	if err := s2.(Publisher).Publish(ctx); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	var ids []string
	for _, r := range readParquet(t, dir).Rows {
		ids = append(ids, string(r["id"].(json.Number)))
	}
	if strings.Join(ids, ",") != "1,2,3,4,5,6" {
		t.Fatalf("ids read by pyarrow: %v, want 1..6 once each", ids)
	}
	// An older checkpoint than the published files is refused.
	s3 := open()
	defer s3.Close()
	if err := s3.Restore(cp); err == nil || !strings.Contains(err.Error(), "is published but the checkpoint covers files below part-000002 only") {
		t.Fatalf("Restore of an older checkpoint: %v", err)
	}
	s3.Close()
	s4 := open()
	defer s4.Close()
	if err := s4.Restore(nil); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("a fresh run left %v", got)
	}
}
