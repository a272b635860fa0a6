package sink

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// refAppendCSVRow is appendCSVRow as it was before the plainCSV fast path
// and needsCSVQuotes: every non-text cell rendered to scratch as JSON,
// unquoted, then scanned for characters that need quoting.
func refAppendCSVRow(r *renderer, dst []byte) ([]byte, error) {
	cols := r.schema.Columns
	for c, cell := range r.cells {
		if c > 0 {
			dst = append(dst, ',')
		}
		if cell == nil {
			continue
		}
		field := cell
		if id := cols[c].Type.ID; id != abi.TypeVarchar && id != abi.TypeASCII {
			var err error
			if r.scratch, err = abi.AppendJSON(r.scratch[:0], cols[c].Type, cell); err != nil {
				return dst, fmt.Errorf("column %q (%s): %w", cols[c].Name, cols[c].Type, err)
			}
			field = r.scratch
			if len(field) >= 2 && field[0] == '"' {
				if field, err = unquoteJSON(field); err != nil {
					return dst, err
				}
			}
		}
		if len(field) > 0 && bytes.IndexAny(field, ",\"\r\n") < 0 {
			dst = append(dst, field...)
			continue
		}
		dst = append(dst, '"')
		dst = append(dst, bytes.ReplaceAll(field, []byte(`"`), []byte(`""`))...)
		dst = append(dst, '"')
	}
	return append(dst, '\n'), nil
}

// scalarsPage has a column of every type plainCSV lists, with ordinary,
// extreme and empty values.
func scalarsPage(t testing.TB) *abi.Page {
	ty := func(id abi.TypeID) abi.Type { return abi.Type{ID: id} }
	s := abi.NewSchema(
		col("i", ty(abi.TypeInt)), col("b", ty(abi.TypeBigint)), col("s", ty(abi.TypeSmallint)), col("t", ty(abi.TypeTinyint)),
		col("c", ty(abi.TypeCounter)), col("v", ty(abi.TypeVarint)), col("d", ty(abi.TypeDecimal)), col("f", ty(abi.TypeFloat)),
		col("x", ty(abi.TypeDouble)), col("o", ty(abi.TypeBoolean)), col("l", ty(abi.TypeBlob)), col("cu", abi.CustomOf("a.B")),
		col("u", ty(abi.TypeUUID)), col("tu", ty(abi.TypeTimeUUID)), col("ts", ty(abi.TypeTimestamp)), col("dt", ty(abi.TypeDate)),
		col("tm", ty(abi.TypeTime)), col("du", ty(abi.TypeDuration)), col("ip", ty(abi.TypeInet)), col("txt", tText),
	)
	u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	row := func(i, b int64, f float64, ts int64, day uint32, tm int64, du abi.Duration, ip string, blob []byte) [][]byte {
		return [][]byte{abi.AppendInt(nil, int32(i)), abi.AppendBigint(nil, b), abi.AppendSmallint(nil, int16(i)), abi.AppendTinyint(nil, int8(i)),
			abi.AppendBigint(nil, b), abi.AppendVarint(nil, new(big.Int).Lsh(big.NewInt(b), 70)), abi.AppendDecimal(nil, big.NewInt(b), int32(i)),
			abi.AppendFloat(nil, float32(f)), abi.AppendDouble(nil, f), abi.AppendBoolean(nil, i%2 == 0), blob, blob,
			abi.AppendUUID(nil, u), abi.AppendUUID(nil, u), abi.AppendTimestamp(nil, ts), abi.AppendDate(nil, day),
			abi.AppendTime(nil, tm), abi.AppendDuration(nil, du), abi.AppendInet(nil, netip.MustParseAddr(ip)), []byte("t,x")}
	}
	empty := make([][]byte, 20)
	nulls := make([][]byte, 20)
	for i := range empty {
		empty[i] = []byte{}
	}
	return page(t, 1, s,
		row(1, 1234567890123, 3.25, 1735689600123, abi.DateEpoch+19724, 45296789000000, abi.Duration{Months: 14, Days: 3, Nanos: 5}, "192.0.2.1", []byte{0xde, 0xad, 0xbe}),
		row(-3, math.MinInt64, math.NaN(), -62167219200001, 0, abi.MaxTime, abi.Duration{Months: -1, Days: -2, Nanos: -3}, "2001:db8::1", []byte{0xff}),
		row(-7, math.MaxInt64, math.Inf(-1), 253402300800000, math.MaxUint32, 0, abi.Duration{}, "::ffff:192.0.2.1", []byte{0}),
		row(1000, 0, 1e300, 0, abi.DateEpoch, -1, abi.Duration{Nanos: 1}, "127.0.0.1", []byte{1, 2, 3, 4, 5, 6, 7}),
		empty, nulls,
	)
}

// TestCSVMatchesReference checks the CSV renderer against the reference
// byte for byte on pages of every kind the tests build.
func TestCSVMatchesReference(t *testing.T) {
	for name, p := range map[string]*abi.Page{"mixed": mixedPage(t, 1), "scalars": scalarsPage(t), "wide": widePage(t)} {
		r, ref := renderer{format: CSV}, renderer{format: CSV}
		got, err := r.appendPage(nil, p, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := ref.prepare(p.Schema); err != nil {
			t.Fatal(err)
		}
		var want []byte
		for i := range p.NumRows() {
			ref.cells = p.Row(i).AppendCells(ref.cells[:0])
			if want, err = refAppendCSVRow(&ref, want); err != nil {
				t.Fatalf("%s: reference: %v", name, err)
			}
		}
		if !bytes.Equal(got, want) {
			gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
			for i := range min(len(gl), len(wl)) {
				if !bytes.Equal(gl[i], wl[i]) {
					t.Fatalf("%s: line %d:\n got %s\nwant %s", name, i, gl[i], wl[i])
				}
			}
			t.Fatalf("%s: %d lines, reference %d", name, len(gl), len(wl))
		}
	}
}
