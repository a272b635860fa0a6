package abi

import (
	"math/big"
	"runtime"
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
	buildRows(b, pb, s, cells)
}

// buildRows appends the row cells once per benchmark iteration, starting a
// new page (the old one dropped) every benchPageRows rows.
func buildRows(b *testing.B, pb *PageBuilder, s *Schema, cells [][]byte) {
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

// wideSchema is a 16-column row with the types whose JSON form is costly
// to render: decimals, timestamps, dates and varints, besides the usual.
func wideSchema(b *testing.B) (*Schema, [][]byte) {
	s := NewSchema(
		Column{"id", Type{ID: TypeBigint}}, Column{"name", Type{ID: TypeText}},
		Column{"price", Type{ID: TypeDecimal}}, Column{"tax", Type{ID: TypeDecimal}}, Column{"balance", Type{ID: TypeDecimal}},
		Column{"created", Type{ID: TypeTimestamp}}, Column{"updated", Type{ID: TypeTimestamp}}, Column{"deleted", Type{ID: TypeTimestamp}},
		Column{"born", Type{ID: TypeDate}}, Column{"at", Type{ID: TypeTime}}, Column{"big", Type{ID: TypeVarint}},
		Column{"score", Type{ID: TypeDouble}}, Column{"active", Type{ID: TypeBoolean}}, Column{"uid", Type{ID: TypeUUID}},
		Column{"age", Type{ID: TypeInt}}, Column{"note", Type{ID: TypeText}},
	)
	dec := func(u int64, scale int32) []byte { return AppendDecimal(nil, big.NewInt(u), scale) }
	cells := [][]byte{
		AppendBigint(nil, 123456789), []byte("Ada Lovelace"),
		dec(1999, 2), dec(-7, 3), dec(-123456789012, 4),
		AppendTimestamp(nil, 1704164645123), AppendTimestamp(nil, 1718000000000), AppendTimestamp(nil, -86400001),
		AppendDate(nil, DateEpoch+19724), AppendTime(nil, 45296789000000), AppendVarint(nil, big.NewInt(-9876543210)),
		AppendDouble(nil, 99.5), AppendBoolean(nil, true),
		AppendUUID(nil, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}), AppendInt(nil, 36), nil,
	}
	for i, c := range cells {
		if err := ValidateValue(s.Columns[i].Type, c); err != nil {
			b.Fatal(err)
		}
	}
	return s, cells
}

// BenchmarkAppendJSONRowWide renders one 16-column row per op (the JSONL
// sink's work per row).
func BenchmarkAppendJSONRowWide(b *testing.B) {
	s, cells := wideSchema(b)
	pb := NewPageBuilder(s, 1, 0)
	for _, c := range cells {
		pb.AppendCell(c)
	}
	if err := pb.EndRow(); err != nil {
		b.Fatal(err)
	}
	p := pb.Page()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendJSONRow(buf[:0], p.Schema, p.Row(0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJSONCell renders one cell per op, by type.
func BenchmarkAppendJSONCell(b *testing.B) {
	tags, err := EncodeJSON(SetOf(Type{ID: TypeVarchar}), []any{"api", "partner", "eu"})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 64)
	for i := range payload {
		payload[i] = byte(i * 37)
	}
	for _, c := range []struct {
		name string
		typ  TypeID
		cell []byte
	}{
		// The cells of bench/run's sluice_bench.wide table first.
		{"uuid", TypeUUID, AppendUUID(nil, [16]byte{0xde, 0xad, 0xbe, 0xef, 5, 6, 0x40, 8, 0x80, 10, 11, 12, 13, 14, 15, 16})},
		{"bigint", TypeBigint, AppendBigint(nil, 123456)},
		{"text", TypeVarchar, AppendText(nil, "user12345@example.com")},
		{"double", TypeDouble, AppendDouble(nil, 4821.37)},
		{"boolean", TypeBoolean, AppendBoolean(nil, true)},
		{"blob64", TypeBlob, payload},
		{"decimal", TypeDecimal, AppendDecimal(nil, big.NewInt(-123456789012), 4)},
		{"decimal-big", TypeDecimal, AppendDecimal(nil, new(big.Int).Lsh(big.NewInt(1), 80), 4)},
		{"timestamp", TypeTimestamp, AppendTimestamp(nil, 1704164645123)},
		{"date", TypeDate, AppendDate(nil, DateEpoch+19724)},
		{"varint", TypeVarint, AppendVarint(nil, big.NewInt(-9876543210))},
		{"duration", TypeDuration, AppendDuration(nil, Duration{Months: 14, Days: 3, Nanos: 4*3_600_000_000_000 + 5_000_000_000})},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendJSON(buf[:0], Type{ID: c.typ}, c.cell); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	set := SetOf(Type{ID: TypeVarchar})
	b.Run("set<text>", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = AppendJSON(buf[:0], set, tags); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPageBuilder10ColsGC is BenchmarkPageBuilder10Cols while another
// goroutine keeps the garbage collector cycling, so that, as in a stream
// that allocates a page per page, the write barrier is on for much of the
// time.
func BenchmarkPageBuilder10ColsGC(b *testing.B) {
	s, cells := tenColumnSchema()
	pb := NewPageBuilder(s, 1, 0)
	defer cycleGC(true)()
	b.ReportAllocs()
	buildRows(b, pb, s, cells)
}

// cycleGC, when on, keeps the garbage collector cycling on another
// goroutine until the returned stop is called.
func cycleGC(on bool) (stop func()) {
	if !on {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
				runtime.GC()
			}
		}
	}()
	return func() { close(quit); <-done }
}

// BenchmarkPageBuilderVsReference builds 10-column rows (one row per op,
// a new page every 1000 rows) with PageBuilder and with the builder it
// replaced (refPageBuilder in reference_test.go), side by side in one
// process, with the collector idle or cycling (write barrier on):
//
//	go test ./abi -run '^$' -bench PageBuilderVsReference -count 6 > vs.txt
//	benchstat -col /impl vs.txt
func BenchmarkPageBuilderVsReference(b *testing.B) {
	s, cells := tenColumnSchema()
	for _, gc := range []bool{false, true} {
		name := "gc=idle"
		if gc {
			name = "gc=cycling"
		}
		b.Run(name+"/impl=reference", func(b *testing.B) {
			pb := newRefPageBuilder(s, 1, 0)
			defer cycleGC(gc)()
			b.ReportAllocs()
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
		})
		b.Run(name+"/impl=new", func(b *testing.B) {
			pb := NewPageBuilder(s, 1, 0)
			defer cycleGC(gc)()
			b.ReportAllocs()
			buildRows(b, pb, s, cells)
		})
	}
}

// BenchmarkAppendJSONVsReference renders one cell per op with AppendJSON
// and with the code it replaced (reference_test.go), side by side:
//
//	go test ./abi -run '^$' -bench AppendJSONVsReference -count 6 > vs.txt
//	benchstat -col /impl vs.txt
func BenchmarkAppendJSONVsReference(b *testing.B) {
	d := Duration{Months: 14, Days: 3, Nanos: 4*3_600_000_000_000 + 5_000_000_000}
	refDuration := func(dst []byte, _ TypeID, cell []byte) ([]byte, error) {
		d, err := DecodeDuration(cell)
		if err != nil {
			return dst, err
		}
		s, err := refFormatDuration(d)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), nil
	}
	for _, c := range []struct {
		name string
		typ  TypeID
		cell []byte
		ref  func([]byte, TypeID, []byte) ([]byte, error)
	}{
		{"decimal", TypeDecimal, AppendDecimal(nil, big.NewInt(-123456789012), 4), refAppendJSONScalar},
		{"timestamp", TypeTimestamp, AppendTimestamp(nil, 1704164645123), refAppendJSONScalar},
		{"date", TypeDate, AppendDate(nil, DateEpoch+19724), refAppendJSONScalar},
		{"varint", TypeVarint, AppendVarint(nil, big.NewInt(-9876543210)), refAppendJSONScalar},
		{"duration", TypeDuration, AppendDuration(nil, d), refDuration},
	} {
		var buf []byte
		b.Run("type="+c.name+"/impl=reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = c.ref(buf[:0], c.typ, c.cell); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("type="+c.name+"/impl=new", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendJSON(buf[:0], Type{ID: c.typ}, c.cell); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
