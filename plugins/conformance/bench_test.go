package conformance

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// Throughput of the filter example in each language, through the host, on
// in-memory pages of 1000 rows of 10 mixed columns (like the host's
// BenchmarkHostNoop), with `n == 0` on the int column n, which holds
// row % 2 (half the rows are kept). native is the same filter as a plain Go
// function over abi.Page: the ratio of a language's rows/s to native's is
// the cost of the sandbox plus that language's SDK and code generation.
// wat is plugins/wat/even.wasm, written by hand against the raw ABI: it
// keeps the rows whose first column is even, which on these pages is the
// same selection.
//
//	go test -run '^$' -bench BenchmarkFilter -benchtime 2s ./plugins/conformance
//	bench/plugins.sh    (the same, as a table with ratios to native)

// benchSchema has 10 columns of mixed types; n (int) comes first so that
// the WAT plugin, which reads the first column, filters on it too.
var benchSchema = abi.NewSchema(
	col("n", abi.TypeInt),
	col("id", abi.TypeUUID),
	col("big", abi.TypeBigint),
	col("name", abi.TypeVarchar),
	col("ok", abi.TypeBoolean),
	col("score", abi.TypeDouble),
	col("at", abi.TypeTimestamp),
	col("raw", abi.TypeBlob),
	abi.Column{Name: "tags", Type: abi.ListOf(abi.Type{ID: abi.TypeVarchar})},
	col("note", abi.TypeVarchar),
)

const benchRows = 1000

// benchPage builds a page of nrows rows of benchSchema; n is row % 2 and
// note is null on odd rows.
func benchPage(t testing.TB, number uint64, nrows int) *abi.Page {
	t.Helper()
	b := abi.NewPageBuilder(benchSchema, number, 0)
	var id [16]byte
	for i := range nrows {
		id[15] = byte(i)
		b.AppendCell(abi.AppendInt(nil, int32(i%2)))
		b.AppendCell(abi.AppendUUID(nil, id))
		b.AppendCell(abi.AppendBigint(nil, int64(i)*1_000_003))
		b.AppendCell(abi.AppendText(nil, fmt.Sprintf("user-%06d", i)))
		b.AppendCell(abi.AppendBoolean(nil, i%2 == 0))
		b.AppendCell(abi.AppendDouble(nil, float64(i)/3))
		b.AppendCell(abi.AppendTimestamp(nil, 1_700_000_000_000+int64(i)))
		b.AppendCell([]byte{1, 2, 3, 4, 5, 6, 7, 8})
		b.AppendCell(abi.AppendList(nil, [][]byte{[]byte("a"), []byte("bc")}))
		if i%2 == 1 {
			b.AppendNull()
		} else {
			b.AppendCell([]byte("some note about this row"))
		}
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Page()
}

var benchConfig = []abi.KV{{Key: "column", Value: "n"}, {Key: "op", Value: "=="}, {Key: "value", Value: "0"}}

// nativeFilter is the filter example's `column == value` for an int
// column, in plain Go over an abi.Page: it fills sel (one bit per row) and
// returns the number of rows kept. NULL and empty cells never match; a
// malformed cell is an error, as in the plugin.
func nativeFilter(p *abi.Page, column string, value int32, sel []byte) ([]byte, int, error) {
	c := p.Schema.Index(column)
	if c < 0 {
		return nil, 0, fmt.Errorf("filter: column %q not found", column)
	}
	n := p.NumRows()
	sel = append(sel[:0], make([]byte, abi.BitmapLen(n))...)
	kept := 0
	for i := range n {
		cell, null := p.Row(i).Cell(c)
		if null || len(cell) == 0 {
			continue
		}
		v, err := abi.DecodeInt(cell)
		if err != nil {
			return nil, 0, fmt.Errorf("filter: row %d: column %q: invalid int cell of %d bytes", i, column, len(cell))
		}
		if v == value {
			abi.BitmapSet(sel, i)
			kept++
		}
	}
	return sel, kept, nil
}

func reportRows(b *testing.B, rowsPerOp int) {
	rows := float64(b.N) * float64(rowsPerOp)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(sec*1e9/rows, "ns/row")
	b.ReportMetric(rows/sec, "rows/s")
}

func BenchmarkFilter(b *testing.B) {
	page := benchPage(b, 1, benchRows)
	ctx := context.Background()
	run := func(b *testing.B, mod *host.Module, cfg []abi.KV) {
		inst, err := mod.Instantiate(ctx, host.InstanceConfig{Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		defer inst.Close(ctx)
		b.SetBytes(int64(page.EncodedLen()))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			out, err := inst.Process(ctx, page)
			if err != nil {
				b.Fatal(err)
			}
			if out.Rows("") != benchRows/2 {
				b.Fatalf("%d rows kept, want %d", out.Rows(""), benchRows/2)
			}
		}
		reportRows(b, benchRows)
	}
	for _, lang := range langs {
		b.Run(lang, func(b *testing.B) {
			mod := module(b, "filter", lang)
			if mod == nil {
				if inCI {
					b.Fatalf("%s is missing (make -C plugins all)", wasmPath("filter", lang))
				}
				b.Skipf("%s is missing", wasmPath("filter", lang))
			}
			run(b, mod, benchConfig)
		})
	}
	b.Run("wat", func(b *testing.B) {
		if _, err := os.Stat(evenWasm); err != nil {
			if inCI {
				b.Fatalf("%s is missing", evenWasm)
			}
			b.Skipf("%s is missing", evenWasm)
		}
		mod, err := rt.CompileFile(ctx, "even", evenWasm)
		if err != nil {
			b.Fatal(err)
		}
		defer mod.Close(ctx)
		run(b, mod, nil)
	})
	b.Run("native", func(b *testing.B) {
		var sel []byte
		b.SetBytes(int64(page.EncodedLen()))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			var kept int
			var err error
			sel, kept, err = nativeFilter(page, "n", 0, sel)
			if err != nil {
				b.Fatal(err)
			}
			if kept != benchRows/2 {
				b.Fatalf("%d rows kept", kept)
			}
		}
		reportRows(b, benchRows)
	})
}

// TestNativeFilterMatchesPlugins: the native baseline selects exactly what
// every build of the filter example selects with the benchmark's config,
// on the benchmark's page and on the conformance fixture.
func TestNativeFilterMatchesPlugins(t *testing.T) {
	ctx := context.Background()
	pages := []*abi.Page{benchPage(t, 1, benchRows)}
	cfgs := [][]abi.KV{benchConfig}
	for _, p := range goodPages(t) {
		pages = append(pages, p)
		cfgs = append(cfgs, []abi.KV{{Key: "column", Value: "id"}, {Key: "op", Value: "=="}, {Key: "value", Value: "3"}})
	}
	for _, lang := range langs {
		mod := module(t, "filter", lang)
		if mod == nil {
			continue
		}
		for i, p := range pages {
			column, _ := abi.ConfigValue(cfgs[i], "column")
			want, _, err := nativeFilter(p, column, map[bool]int32{true: 0, false: 3}[i == 0], nil)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := mod.Instantiate(ctx, host.InstanceConfig{Config: cfgs[i]})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := inst.Process(ctx, p)
			inst.Close(ctx)
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			got := make([]byte, abi.BitmapLen(p.NumRows()))
			for _, bt := range outs.Default() {
				for r := range bt.Indexes() {
					abi.BitmapSet(got, r)
				}
			}
			if string(got) != string(want) {
				t.Errorf("%s page %d: selection %x, native %x", lang, p.Number, got, want)
			}
		}
	}
}
