package sink

import (
	"context"
	"math/big"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// benchPage is a page of 1000 rows of 10 columns of common types.
func benchPage(b *testing.B) *abi.Page {
	s := abi.NewSchema(
		col("id", tBigint), col("customer", tText), col("email", tText), col("status", tText),
		col("u", tUUID), col("created_at", tTS), col("score", tDouble), col("active", tBool),
		col("amount", tDecimal), col("tags", abi.SetOf(tText)),
	)
	var rows [][][]byte
	for i := range 1000 {
		rows = append(rows, [][]byte{
			abi.AppendBigint(nil, int64(i)), []byte("customer-0042"), []byte("someone@example.com"), []byte("active"),
			abi.AppendUUID(nil, [16]byte{byte(i), 1, 2, 3, 4, 5, 0x40, 7, 0x80, 9, 10, 11, 12, 13, 14, 15}),
			abi.AppendTimestamp(nil, 1700000000000+int64(i)), abi.AppendDouble(nil, float64(i)/7), abi.AppendBoolean(nil, i%2 == 0),
			abi.AppendDecimal(nil, big.NewInt(int64(i)*100+99), 2), enc(b, abi.SetOf(tText), []any{"a", "b1"}),
		})
	}
	return page(b, 1, s, rows...)
}

func benchRender(b *testing.B, f Format) {
	p := benchPage(b)
	r := renderer{format: f}
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if buf, err = r.appendPage(buf[:0], p, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*p.NumRows())/b.Elapsed().Seconds(), "rows/s")
	b.SetBytes(int64(len(buf)))
}

// BenchmarkRenderJSONL measures the JSON lines rendering of 10-column rows.
func BenchmarkRenderJSONL(b *testing.B) { benchRender(b, JSONL) }

// BenchmarkRenderCSV measures the CSV rendering of 10-column rows.
func BenchmarkRenderCSV(b *testing.B) { benchRender(b, CSV) }

// BenchmarkAbiAppendJSONRow is the reference: abi.AppendJSONRow quotes the
// column names again for every row.
func BenchmarkAbiAppendJSONRow(b *testing.B) {
	p := benchPage(b)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = buf[:0]
		for i := range p.NumRows() {
			var err error
			if buf, err = abi.AppendJSONRow(buf, p.Schema, p.Row(i)); err != nil {
				b.Fatal(err)
			}
			buf = append(buf, '\n')
		}
	}
	b.ReportMetric(float64(b.N*p.NumRows())/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFileSink measures a file sink end to end (render, write, one
// fsync per 10 pages).
func BenchmarkFileSink(b *testing.B) {
	p := benchPage(b)
	s, err := OpenFile("bench/file", b.TempDir()+"/out.jsonl", JSONL)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if err := s.Write(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
		if n++; n%10 == 0 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*p.NumRows())/b.Elapsed().Seconds(), "rows/s")
}
