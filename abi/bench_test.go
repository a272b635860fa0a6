package abi

import (
	"testing"
)

// Benchmarks report ns/op per row (each op is one row) for 10-column rows:
//
//	go test ./abi -run '^$' -bench . -benchmem

func tenColumnSchema() (*Schema, [][]byte) {
	s := NewSchema(
		Column{"id", Type{ID: TypeBigint}}, Column{"name", Type{ID: TypeText}}, Column{"email", Type{ID: TypeText}},
		Column{"age", Type{ID: TypeInt}}, Column{"score", Type{ID: TypeDouble}}, Column{"active", Type{ID: TypeBoolean}},
		Column{"created", Type{ID: TypeTimestamp}}, Column{"uid", Type{ID: TypeUUID}}, Column{"note", Type{ID: TypeText}},
		Column{"tags", ListOf(Type{ID: TypeText})},
	)
	cells := [][]byte{
		AppendBigint(nil, 123456789), []byte("Ada Lovelace"), []byte("ada@example.com"), AppendInt(nil, 36),
		AppendDouble(nil, 99.5), AppendBoolean(nil, true), AppendTimestamp(nil, 1704164645123),
		AppendUUID(nil, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}), nil,
		AppendList(nil, [][]byte{[]byte("a"), []byte("bc")}),
	}
	return s, cells
}

const benchPageRows = 1000

func BenchmarkPageBuilder10Cols(b *testing.B) {
	s, cells := tenColumnSchema()
	pb := NewPageBuilder(s, 1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		for _, c := range cells {
			pb.AppendCell(c)
		}
		if err := pb.EndRow(); err != nil {
			b.Fatal(err)
		}
		if rows++; rows == benchPageRows {
			_ = pb.Page()
			pb.Reset(s, 1, 0)
			rows = 0
		}
	}
}

func BenchmarkPageBuilderRecycle10Cols(b *testing.B) {
	s, cells := tenColumnSchema()
	pb := NewPageBuilder(s, 1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		for _, c := range cells {
			pb.AppendCell(c)
		}
		if err := pb.EndRow(); err != nil {
			b.Fatal(err)
		}
		if rows++; rows == benchPageRows {
			pb.Recycle(pb.Page())
			pb.Reset(s, 1, 0)
			rows = 0
		}
	}
}

func benchPage(b *testing.B) *Page {
	s, cells := tenColumnSchema()
	pb := NewPageBuilder(s, 1, 0)
	for range benchPageRows {
		for _, c := range cells {
			pb.AppendCell(c)
		}
		if err := pb.EndRow(); err != nil {
			b.Fatal(err)
		}
	}
	return pb.Page()
}

// perRow runs f once per benchPageRows iterations and reports ns per row.
func perRow(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += benchPageRows {
		f()
	}
}

func BenchmarkAppendEncoded10Cols(b *testing.B) {
	p := benchPage(b)
	buf := make([]byte, 0, p.EncodedLen())
	perRow(b, func() { buf = p.AppendEncoded(buf[:0]) })
}

func BenchmarkDecodePage10Cols(b *testing.B) {
	enc := benchPage(b).AppendEncoded(nil)
	var d PageDecoder
	perRow(b, func() {
		if _, err := d.Decode(enc); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkDecodeResultRows10Cols(b *testing.B) {
	p := benchPage(b)
	enc := Result{Sections: []Section{{Kind: SectionRows, Output: "out", Rows: p}}}.AppendEncoded(nil)
	perRow(b, func() {
		if _, err := DecodeResult(enc, benchPageRows, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkAppendJSONRow10Cols(b *testing.B) {
	p := benchPage(b)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		var err error
		if buf, err = AppendJSONRow(buf[:0], p.Schema, p.Row(i)); err != nil {
			b.Fatal(err)
		}
		if i++; i == benchPageRows {
			i = 0
		}
	}
}
