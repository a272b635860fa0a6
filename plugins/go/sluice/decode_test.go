package sluice

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// emitPlugin copies every input row to the default output with EmitRow.
type emitPlugin struct{}

func (emitPlugin) Init(Config) error { return nil }

func (emitPlugin) Process(p *Page, out *Output) error {
	for row := range p.Rows() {
		if err := out.EmitRow("", row); err != nil {
			return err
		}
	}
	return nil
}

// lenientPlugin reads every cell with RawAt (which cannot fail), backwards,
// and keeps every row.
type lenientPlugin struct{}

func (lenientPlugin) Init(Config) error { return nil }

func (lenientPlugin) Process(p *Page, out *Output) error {
	for row := range p.Rows() {
		for c := len(p.Schema().Columns) - 1; c >= 0; c-- {
			row.RawAt(c)
		}
	}
	out.KeepAll()
	return nil
}

// rawPage encodes page 1 of (id int, name text) with the given offsets and
// rows area, which need not be well-formed.
func rawPage(offsets []uint32, data []byte) []byte {
	s := abi.NewSchema(abi.Column{Name: "id", Type: intT}, abi.Column{Name: "name", Type: textT})
	return (&abi.Page{Number: 1, Schema: s, Offsets: offsets, Data: data}).AppendEncoded(nil)
}

func cellOf(b ...byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// TestMalformedPages: after a first page, which abi.PageDecoder checks
// fully, pages of the same schema get a structural check and their cells
// are checked when read; the errors are those abi.PageDecoder gives for the
// same page (the first problem found in row order, for the cells read).
func TestMalformedPages(t *testing.T) {
	row0 := slices.Concat(cellOf(0, 0, 0, 1), cellOf('a'))                 // 13 bytes
	row1 := slices.Concat(cellOf(0, 0, 0, 2), cellOf('b', 'c'))            // 14 bytes
	short := cellOf(0, 0, 0, 2)                                            // no name
	long := slices.Concat(cellOf(0, 0, 0, 2), cellOf('b', 'c'), []byte{0}) // a byte after the last cell
	overrun := slices.Concat(cellOf(0, 0, 0, 2), []byte{5, 0, 0, 0, 'b', 'c'})
	negative := slices.Concat(cellOf(0, 0, 0, 2), []byte{0xfe, 0xff, 0xff, 0xff})
	badID := slices.Concat([]byte{9, 0, 0, 0}, row0[4:]) // id's length says 9
	tests := []struct {
		name    string
		plugins []Plugin // plugins that find the problem
		offsets []uint32
		data    []byte
	}{
		{"decreasing offsets", []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}}, []uint32{0, 28, 27, 40}, slices.Concat(row0, row1, row0)},
		{"offsets past the area", []Plugin{echoPlugin{}, lenientPlugin{}}, []uint32{0, 13, 26}, slices.Concat(row0, row1)},
		{"truncated row", []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}}, []uint32{0, 13, 21, 34}, slices.Concat(row0, short, row0)},
		{"cell overruns the row", []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}}, []uint32{0, 13, 27, 40}, slices.Concat(row0, overrun, row0)},
		{"negative cell length", []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}}, []uint32{0, 13, 25, 38}, slices.Concat(row0, negative, row0)},
		// (echoPlugin reads the id first: "invalid int cell of 9 bytes", a
		// row error, is what it finds.)
		{"first cell overruns", []Plugin{emitPlugin{}, lenientPlugin{}}, []uint32{0, 13, 26}, slices.Concat(row0, badID)},
		{"bytes after the last cell", []Plugin{emitPlugin{}}, []uint32{0, 13, 28, 41}, slices.Concat(row0, long, row0)},
	}
	good := rawPage([]uint32{0, 13, 27, 40}, slices.Concat(row0, row1, row0))
	for _, tt := range tests {
		bad := rawPage(tt.offsets, tt.data)
		_, abiErr := abi.DecodePage(bad)
		if abiErr == nil {
			t.Fatalf("%s: abi.DecodePage accepts the page", tt.name)
		}
		want := "ERROR -1 sluice sdk: decode page: " + abiErr.Error()
		for _, p := range tt.plugins {
			t.Run(fmt.Sprintf("%s/%T", tt.name, p), func(t *testing.T) {
				// Alone, then after a good page of the same schema (the
				// quick path), then a good page again.
				for i, pages := range [][][]byte{{bad}, {good, bad, good}} {
					e := engine{plugin: p}
					e.init(abi.EncodeConfig(nil))
					for j, b := range pages {
						got := describe(decodeRes(t, e.process(b), 3))
						if bytes.Equal(b, bad) && got != want {
							t.Fatalf("sequence %d, page %d: got  %s\nwant %s", i, j, got, want)
						}
						if !bytes.Equal(b, bad) && got == want {
							t.Fatalf("sequence %d, page %d: a good page failed: %s", i, j, got)
						}
					}
				}
			})
		}
	}
}

// TestQuickDecode: pages decoded on the quick path (same schema as the
// previous page) give the same results as a fresh engine, which checks
// every page fully, for plugins reading cells in every way.
func TestQuickDecode(t *testing.T) {
	plugins := []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}}
	pages := [][]byte{testPage(0).AppendEncoded(nil), testPage(1).AppendEncoded(nil), testPage(9).AppendEncoded(nil), testPage(40).AppendEncoded(nil)}
	for _, name := range []string{"scalars.page.hex", "collections.page.hex"} {
		pages = append(pages, mustVector(t, name))
	}
	for _, p := range plugins {
		primed := engine{plugin: p}
		primed.init(abi.EncodeConfig(nil))
		for round := range 2 {
			for i, b := range pages {
				fresh := engine{plugin: p}
				fresh.init(abi.EncodeConfig(nil))
				want := slices.Clone(fresh.process(b))
				got := primed.process(b)
				if !bytes.Equal(got, want) {
					t.Fatalf("%T round %d page %d: primed engine %x, fresh %x", p, round, i, got, want)
				}
			}
		}
	}
}

// TestCellAccess reads cells of every column, in every order, through the
// fixed-size getters and RawAt, on rows with NULL and empty cells, and
// checks them against abi.Row.
func TestCellAccess(t *testing.T) {
	s := abi.NewSchema(
		abi.Column{Name: "t", Type: abi.Type{ID: abi.TypeTinyint}},
		abi.Column{Name: "s", Type: abi.Type{ID: abi.TypeSmallint}},
		abi.Column{Name: "i", Type: intT},
		abi.Column{Name: "x", Type: textT},
		abi.Column{Name: "b", Type: abi.Type{ID: abi.TypeBigint}},
		abi.Column{Name: "d", Type: abi.Type{ID: abi.TypeDouble}},
		abi.Column{Name: "o", Type: abi.Type{ID: abi.TypeBoolean}},
	)
	pb := abi.NewPageBuilder(s, 1, 0)
	for i := range 12 {
		cells := [][]byte{
			abi.AppendTinyint(nil, int8(-i)), abi.AppendSmallint(nil, int16(300*i)), abi.AppendInt(nil, int32(-70000*i)),
			[]byte(fmt.Sprint("row ", i)), abi.AppendBigint(nil, int64(i)<<40), abi.AppendDouble(nil, float64(i)/4), abi.AppendBoolean(nil, i%2 == 0),
		}
		for c, v := range cells {
			switch {
			case (i+c)%5 == 0:
				pb.AppendNull()
			case (i+c)%7 == 0:
				pb.AppendCell([]byte{})
			default:
				pb.AppendCell(v)
			}
		}
		if err := pb.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	ap := pb.Page()
	page := NewPage(ap)
	for i := range ap.NumRows() {
		row, want := page.Row(i), ap.Row(i)
		for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1, 0}, {3, 3, 0, 6, 1}} {
			for _, c := range order {
				wc, wnull := want.Cell(c)
				gc, gnull := row.RawAt(c)
				if gnull != wnull || !bytes.Equal(gc, wc) {
					t.Fatalf("row %d col %d: RawAt %x %v, abi %x %v", i, c, gc, gnull, wc, wnull)
				}
				null := wnull || len(wc) == 0
				check := func(v any, gotNull bool, err error, dec func() (any, error)) {
					t.Helper()
					if err != nil || gotNull != null {
						t.Fatalf("row %d col %d: null %v err %v, want null %v", i, c, gotNull, err, null)
					}
					if !null {
						w, _ := dec()
						if v != w {
							t.Fatalf("row %d col %d: %v, want %v", i, c, v, w)
						}
					}
				}
				switch c {
				case 0:
					v, n, err := row.TinyintAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeTinyint(wc) })
				case 1:
					v, n, err := row.SmallintAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeSmallint(wc) })
				case 2:
					v, n, err := row.IntAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeInt(wc) })
				case 4:
					v, n, err := row.BigintAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeBigint(wc) })
				case 5:
					v, n, err := row.DoubleAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeDouble(wc) })
				case 6:
					v, n, err := row.BooleanAt(c)
					check(v, n, err, func() (any, error) { return abi.DecodeBoolean(wc) })
				}
			}
		}
	}
	if page.fault != nil {
		t.Fatalf("fault on a valid page: %v", page.fault)
	}
}

// TestBitmapHelpers: bitmapCount and fillFF against the obvious loops.
func TestBitmapHelpers(t *testing.T) {
	for n := range 80 {
		b := make([]byte, abi.BitmapLen(n)+1)
		for i := range b {
			b[i] = byte(i*37 + n)
		}
		if got, want := bitmapCount(b, n), abi.BitmapCount(b, n); got != want {
			t.Fatalf("bitmapCount(%x, %d) = %d, want %d", b, n, got, want)
		}
		f := make([]byte, n)
		fillFF(f)
		for i, c := range f {
			if c != 0xFF {
				t.Fatalf("fillFF of %d bytes: byte %d is %x", n, i, c)
			}
		}
	}
}

// TestKeepWhere: KeepWhere selects what Set row by row does, in the
// eight-row groups and the tail, and stops at the first error.
func TestKeepWhere(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 16, 23, 64, 67} {
		page := NewPage(testPage(n))
		var viaSet, viaKeep Output
		viaSet.reset(n, page.Schema())
		viaKeep.reset(n, page.Schema())
		keep := func(r Row) (bool, error) {
			v, null, err := r.IntAt(0)
			return !null && v%3 != 0, err
		}
		for row := range page.Rows() {
			k, _ := keep(row)
			viaSet.Set(row.Index(), k)
		}
		if err := viaKeep.KeepWhere(page, keep); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(viaKeep.selection(), viaSet.selection()) {
			t.Fatalf("%d rows: KeepWhere %x, Set %x", n, viaKeep.selection(), viaSet.selection())
		}
		for _, stop := range []int{0, 3, 8, 13, 20} {
			if stop >= n {
				continue
			}
			var o Output
			o.reset(n, page.Schema())
			seen := 0
			err := o.KeepWhere(page, func(r Row) (bool, error) {
				seen++
				if r.Index() == stop {
					return false, fmt.Errorf("stop at %d", stop)
				}
				return true, nil
			})
			if err == nil || seen != stop+1 {
				t.Fatalf("%d rows, error at %d: err %v after %d rows", n, stop, err, seen)
			}
		}
	}
}

// decodeRes decodes a result of a call with inputRows input rows; nil is
// the empty result.
func decodeRes(t *testing.T, b []byte, inputRows int) abi.Result {
	t.Helper()
	if len(b) == 0 {
		return abi.Result{}
	}
	r, err := abi.DecodeResult(b, inputRows, abi.Limits{})
	if err != nil {
		t.Fatalf("result %x: %v", b, err)
	}
	return r
}
