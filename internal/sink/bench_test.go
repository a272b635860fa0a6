package sink

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
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

// widePage is a page of 5000 rows shaped like bench/run's sluice_bench.wide
// table (bench/internal/wide: the same columns, null shares and sizes):
// what the JSONL and CSV cases of bench/run render per page.
func widePage(b testing.TB) *abi.Page {
	s := abi.NewSchema(
		col("id", tUUID), col("seq", tBigint), col("bucket", tInt), col("name", tText), col("email", tText),
		col("score", tDouble), col("active", tBool), col("created", tTS), col("amount", tDecimal),
		col("tags", abi.SetOf(tText)), col("payload", tBlob),
	)
	tagSets := [][]any{nil, {"web"}, {"mobile", "beta"}, {"api", "partner", "eu"}}
	var rows [][][]byte
	for i := range int64(5000) {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		id := [16]byte(h[:16])
		id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
		var email, amount, tags []byte
		if i%10 != 3 {
			email = fmt.Appendf(nil, "user%d@example.com", i%50_000)
		}
		if i%7 != 0 {
			amount = abi.AppendDecimal(nil, big.NewInt(int64(binary.BigEndian.Uint32(h[20:24])%10_000_000)), 2)
		}
		if ts := tagSets[i%4]; ts != nil {
			tags = enc(b, abi.SetOf(tText), ts)
		}
		payload := make([]byte, 64)
		for j := range payload {
			payload[j] = h[j%32] ^ byte(j)
		}
		rows = append(rows, [][]byte{
			abi.AppendUUID(nil, id), abi.AppendBigint(nil, i), abi.AppendInt(nil, int32(i%100)), fmt.Appendf(nil, "name-%08d", i), email,
			abi.AppendDouble(nil, float64(binary.BigEndian.Uint32(h[16:20])%1_000_000)/100), abi.AppendBoolean(nil, i%2 == 0),
			abi.AppendTimestamp(nil, 1735689600000+i*1000), amount, tags, payload,
		})
	}
	return page(b, 1, s, rows...)
}

func benchRenderWide(b *testing.B, f Format) {
	p := widePage(b)
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
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*p.NumRows()), "ns/row")
	b.SetBytes(int64(len(buf)))
}

// BenchmarkRenderJSONLWide renders pages of sluice_bench.wide rows as JSON
// lines (the sluice-noop-jsonl case of bench/run, without the node).
func BenchmarkRenderJSONLWide(b *testing.B) { benchRenderWide(b, JSONL) }

// BenchmarkRenderCSVWide renders the same pages as CSV.
func BenchmarkRenderCSVWide(b *testing.B) { benchRenderWide(b, CSV) }
