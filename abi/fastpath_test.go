package abi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"
)

// The fast paths of AppendJSON (decimals and varints in an int64,
// timestamps and dates without time.Time) and of PageBuilder (write
// positions in ints) must give exactly what the reference implementations
// in reference_test.go give.

func decimalCell(u *big.Int, scale int32) []byte { return AppendDecimal(nil, u, scale) }

// checkScalarJSON compares AppendJSON with the reference for one cell.
func checkScalarJSON(t *testing.T, id TypeID, cell []byte) string {
	t.Helper()
	got, gerr := AppendJSON([]byte("x"), Type{ID: id}, cell)
	want, werr := refAppendJSONScalar([]byte("x"), id, cell)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) || !bytes.Equal(got, want) {
		t.Fatalf("%s %x: AppendJSON = %s, %v; reference %s, %v", id, cell, got, gerr, want, werr)
	}
	return string(got[1:])
}

func TestDecimalFastPath(t *testing.T) {
	us := []int64{math.MinInt64, math.MinInt64 + 1, -1e18, -12345, -1, 0, 1, 7, 12340, 1e18, math.MaxInt64 - 1, math.MaxInt64}
	scales := []int32{math.MinInt32, -20, -3, -1, 0, 1, 2, 3, 5, 18, 19, 20, 21, 40, maxPlainScale - 1, maxPlainScale, maxPlainScale + 1, math.MaxInt32}
	for _, u := range us {
		for _, scale := range scales {
			got := appendDecimalInt64([]byte("x"), u, scale)
			want := appendDecimalText([]byte("x"), big.NewInt(u), scale)
			if !bytes.Equal(got, want) {
				t.Fatalf("appendDecimalInt64(%d, %d) = %s, want %s", u, scale, got, want)
			}
			checkScalarJSON(t, TypeDecimal, decimalCell(big.NewInt(u), scale))
		}
	}
	for _, c := range []struct {
		u     int64
		scale int32
		want  string
	}{
		{12340, 3, "12.340"},
		{-5, 2, "-0.05"},
		{0, 0, "0"},
		{0, 3, "0.000"},
		{7, 0, "7"},
		{1, -3, "1E+3"},
		{-5, maxPlainScale + 1, "-5E-1001"},
		{5, math.MinInt32, "5E+2147483648"},
		{math.MinInt64, 0, "-9223372036854775808"},
		{math.MinInt64, 19, "-0.9223372036854775808"},
		{math.MaxInt64, 20, "0.09223372036854775807"},
		{math.MaxInt64, 1, "922337203685477580.7"},
	} {
		if got := string(appendDecimalInt64(nil, c.u, c.scale)); got != c.want {
			t.Errorf("appendDecimalInt64(%d, %d) = %s, want %s", c.u, c.scale, got, c.want)
		}
	}
	if got := string(appendDecimalInt64(nil, 3, maxPlainScale)); len(got) != maxPlainScale+2 || got[:5] != "0.000" || got[len(got)-2:] != "03" {
		t.Errorf("appendDecimalInt64(3, %d) = %s", maxPlainScale, got)
	}
	// Unscaled values just outside an int64, and an int64 written in 9
	// bytes (non-minimal): the math/big path.
	for _, u := range []*big.Int{
		new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1)),
		new(big.Int).Add(big.NewInt(math.MaxInt64), big.NewInt(1)),
	} {
		checkScalarJSON(t, TypeDecimal, decimalCell(u, 2))
		checkScalarJSON(t, TypeVarint, AppendVarint(nil, u))
	}
	if got := checkScalarJSON(t, TypeDecimal, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5}); got != `"0.5"` {
		t.Errorf("non-minimal decimal = %s", got)
	}
	if got := checkScalarJSON(t, TypeVarint, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); got != `"-1"` {
		t.Errorf("non-minimal varint = %s", got)
	}
	checkScalarJSON(t, TypeDecimal, []byte{0, 0, 0, 1}) // too short: the same error
}

func TestVarintFastPath(t *testing.T) {
	for _, v := range []int64{math.MinInt64, math.MinInt64 + 1, -1 << 55, -129, -128, -1, 0, 1, 127, 128, 255, 1 << 55, math.MaxInt64} {
		cell := AppendVarint(nil, big.NewInt(v))
		if got, want := checkScalarJSON(t, TypeVarint, cell), fmt.Sprintf(`"%d"`, v); got != want {
			t.Errorf("varint %d = %s, want %s", v, got, want)
		}
		for n := len(cell); n <= 8; n++ { // non-minimal lengths up to 8 bytes
			wide := make([]byte, 8)
			binary.BigEndian.PutUint64(wide, uint64(v))
			if got := varintInt64(wide[8-n:]); got != v {
				t.Errorf("varintInt64(%x) = %d, want %d", wide[8-n:], got, v)
			}
		}
	}
}

func TestTimestampFastPath(t *testing.T) {
	ms := func(y int, mo time.Month, d, h, mi, s, milli int) int64 {
		return time.Date(y, mo, d, h, mi, s, milli*1e6, time.UTC).UnixMilli()
	}
	for _, c := range []struct {
		ms   int64
		want string
	}{
		{0, `"1970-01-01T00:00:00.000Z"`},
		{-1, `"1969-12-31T23:59:59.999Z"`},
		{-86_400_000, `"1969-12-31T00:00:00.000Z"`},
		{-86_400_001, `"1969-12-30T23:59:59.999Z"`},
		{1704164645123, `"2024-01-02T03:04:05.123Z"`},
		{ms(2024, 2, 29, 23, 59, 59, 999), `"2024-02-29T23:59:59.999Z"`},
		{ms(2000, 2, 29, 12, 0, 0, 1), `"2000-02-29T12:00:00.001Z"`},
		{ms(1900, 3, 1, 0, 0, 0, 0), `"1900-03-01T00:00:00.000Z"`},
		{ms(1900, 3, 1, 0, 0, 0, 0) - 1, `"1900-02-28T23:59:59.999Z"`},
		{ms(1600, 2, 29, 0, 0, 0, 0), `"1600-02-29T00:00:00.000Z"`},
		{ms(0, 2, 29, 1, 2, 3, 4), `"0000-02-29T01:02:03.004Z"`},
		{ms(0, 1, 1, 0, 0, 0, 0), `"0000-01-01T00:00:00.000Z"`},
		{ms(0, 1, 1, 0, 0, 0, 0) - 1, `-62167219200001`},
		{ms(999, 12, 31, 23, 59, 59, 999), `"0999-12-31T23:59:59.999Z"`},
		{ms(9999, 12, 31, 23, 59, 59, 999), `"9999-12-31T23:59:59.999Z"`},
		{ms(10000, 1, 1, 0, 0, 0, 0), `253402300800000`},
		{math.MinInt64, `-9223372036854775808`},
		{math.MaxInt64, `9223372036854775807`},
	} {
		if got := checkScalarJSON(t, TypeTimestamp, AppendTimestamp(nil, c.ms)); got != c.want {
			t.Errorf("timestamp %d = %s, want %s", c.ms, got, c.want)
		}
	}
	// Every year: its first and last millisecond and a leap day or March 1.
	for y := 0; y <= 9999; y++ {
		for _, m := range []int64{ms(y, 1, 1, 0, 0, 0, 0), ms(y, 12, 31, 23, 59, 59, 999), ms(y, 2, 29, 13, 14, 15, 16), ms(y, 3, 1, 0, 0, 0, 0) - 1} {
			checkScalarJSON(t, TypeTimestamp, AppendTimestamp(nil, m))
		}
	}
}

// TestDateFastPath checks every date the text form covers, 0000-01-01 to
// 9999-12-31, against a calendar walked one day at a time (and every 97th
// day against the reference, which is slow under -race), and the numbers
// on either side.
func TestDateFastPath(t *testing.T) {
	var got, want []byte
	y, m, d := 0, 1, 1
	monthLen := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for days := minDateText; days <= maxDateText; days++ {
		var date [10]byte
		putDate(date[:], days)
		walked := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
			byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
		if date != walked {
			t.Fatalf("putDate(%d) = %s, want %s", days, date, walked)
		}
		if days%97 == 0 || days == minDateText || days == maxDateText {
			got = appendDateText(got[:0], days)
			want = time.Unix(days*86400, 0).UTC().AppendFormat(want[:0], "2006-01-02")
			if !bytes.Equal(got, want) {
				t.Fatalf("appendDateText(%d) = %s, reference %s", days, got, want)
			}
		}
		n := monthLen[m]
		if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			n = 29
		}
		if d++; d > n {
			d, m = 1, m+1
			if m > 12 {
				m, y = 1, y+1
			}
		}
	}
	if y != 10000 || m != 1 || d != 1 {
		t.Fatalf("the walk ended at %04d-%02d-%02d, want 10000-01-01", y, m, d)
	}
	for _, c := range []struct {
		d    uint32
		want string
	}{
		{DateEpoch, `"1970-01-01"`},
		{DateEpoch - 1, `"1969-12-31"`},
		{DateEpoch + 11016, `"2000-02-29"`},
		{uint32(DateEpoch + minDateText), `"0000-01-01"`},
		{uint32(DateEpoch + minDateText - 1), `2146764119`},
		{uint32(DateEpoch + maxDateText), `"9999-12-31"`},
		{uint32(DateEpoch + maxDateText + 1), `2150416545`},
		{0, `0`},
		{math.MaxUint32, `4294967295`},
	} {
		if got := checkScalarJSON(t, TypeDate, AppendDate(nil, c.d)); got != c.want {
			t.Errorf("date %d = %s, want %s", c.d, got, c.want)
		}
	}
}

// checkDuration compares FormatDuration and AppendJSON with the reference.
func checkDuration(t *testing.T, d Duration) string {
	t.Helper()
	got, gerr := FormatDuration(d)
	want, werr := refFormatDuration(d)
	if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("FormatDuration(%+v) = %q, %v; reference %q, %v", d, got, gerr, want, werr)
	}
	js, err := AppendJSON([]byte("x"), Type{ID: TypeDuration}, AppendDuration(nil, d))
	if werr != nil {
		if err == nil || string(js) != "x" {
			t.Fatalf("AppendJSON(%+v) = %s, %v; want an error and nothing appended", d, js, err)
		}
		return ""
	}
	if err != nil || string(js) != `x"`+want+`"` {
		t.Fatalf("AppendJSON(%+v) = %s, %v; want %q", d, js, err, want)
	}
	return got
}

func TestDurationFastPath(t *testing.T) {
	for _, c := range []struct {
		d    Duration
		want string
	}{
		{Duration{}, "0s"},
		{Duration{Months: 14, Days: 3, Nanos: 4*3_600_000_000_000 + 5*60_000_000_000 + 6_007_008_009}, "1y2mo3d4h5m6s7ms8us9ns"},
		{Duration{Days: -3}, "-3d"},
		{Duration{Months: 12}, "1y"},
		{Duration{Nanos: 1}, "1ns"},
		{Duration{Months: math.MinInt32, Days: math.MinInt32, Nanos: math.MinInt64}, "-178956970y8mo2147483648d2562047h47m16s854ms775us808ns"},
		{Duration{Months: math.MaxInt32, Days: math.MaxInt32, Nanos: math.MaxInt64}, "178956970y7mo2147483647d2562047h47m16s854ms775us807ns"},
		{Duration{Months: 1, Nanos: -1}, ""}, // mixed signs: an error
	} {
		if got := checkDuration(t, c.d); got != c.want {
			t.Errorf("FormatDuration(%+v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// FuzzJSONFastPaths compares AppendJSON with the reference for timestamps,
// dates, decimals, varints and durations made of arbitrary inputs (and for
// ms and days folded into the range that renders as text).
func FuzzJSONFastPaths(f *testing.F) {
	f.Add(int64(0), uint32(DateEpoch), int32(0), []byte{0})
	f.Add(int64(-1), uint32(0), int32(-1), []byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add(int64(math.MinInt64), uint32(math.MaxUint32), int32(math.MinInt32), []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(int64(253402300799999), uint32(DateEpoch+maxDateText), int32(maxPlainScale), []byte{0xff, 0x38})
	f.Add(int64(-62167219200000), uint32(DateEpoch+minDateText), int32(maxPlainScale+1), []byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(int64(951782400000), uint32(DateEpoch+11016), int32(19), []byte{})
	f.Fuzz(func(t *testing.T, ms int64, day uint32, scale int32, unscaled []byte) {
		checkDuration(t, Duration{Months: int32(ms >> 32), Days: int32(day), Nanos: ms})
		checkDuration(t, Duration{Months: scale, Days: scale, Nanos: ms})
		checkScalarJSON(t, TypeTimestamp, AppendTimestamp(nil, ms))
		inMS := minTimestampText + int64(uint64(ms)%uint64(maxTimestampText-minTimestampText+1))
		checkScalarJSON(t, TypeTimestamp, AppendTimestamp(nil, inMS))
		checkScalarJSON(t, TypeDate, AppendDate(nil, day))
		inDay := DateEpoch + minDateText + int64(day)%(maxDateText-minDateText+1)
		checkScalarJSON(t, TypeDate, AppendDate(nil, uint32(inDay)))
		cell := binary.BigEndian.AppendUint32(nil, uint32(scale))
		checkScalarJSON(t, TypeDecimal, append(cell, unscaled...))
		if len(unscaled) == 0 {
			return
		}
		checkScalarJSON(t, TypeVarint, unscaled)
		if len(unscaled) <= 8 {
			got := appendDecimalInt64(nil, varintInt64(unscaled), scale)
			if want := appendDecimalText(nil, decodeTwos(unscaled), scale); !bytes.Equal(got, want) {
				t.Fatalf("appendDecimalInt64(%x, %d) = %s, want %s", unscaled, scale, got, want)
			}
		}
	})
}

// builderPair drives a PageBuilder and the reference builder with the same
// calls and checks that they agree after each one.
type builderPair struct {
	t       *testing.T
	b       *PageBuilder
	r       *refPageBuilder
	bp, rp  *Page // last pages, until recycled
	schemas []*Schema
}

func (p *builderPair) check(op string) {
	p.t.Helper()
	// After Page the reference reported -1 rows until the next append;
	// PageBuilder reports 0.
	if got, want := p.b.NumRows(), max(p.r.NumRows(), 0); got != want {
		p.t.Fatalf("after %s: NumRows %d, reference %d", op, got, want)
	}
	if got, want := p.b.Len(), p.r.Len(); got != want {
		p.t.Fatalf("after %s: Len %d, reference %d", op, got, want)
	}
}

func samePage(t *testing.T, got, want *Page) {
	t.Helper()
	if got.Number != want.Number || got.Split != want.Split || got.Schema != want.Schema ||
		fmt.Sprint(got.Offsets) != fmt.Sprint(want.Offsets) || !bytes.Equal(got.Data, want.Data) ||
		(got.Data == nil) != (want.Data == nil) {
		t.Fatalf("page differs:\n got #%d/%d %v %x\nwant #%d/%d %v %x", got.Number, got.Split, got.Offsets, got.Data,
			want.Number, want.Split, want.Offsets, want.Data)
	}
}

// run interprets ops: each byte is an operation, some followed by an
// argument byte.
func (p *builderPair) run(ops []byte) {
	arg := func(i *int) int {
		if *i+1 < len(ops) {
			*i++
			return int(ops[*i])
		}
		return 0
	}
	both := func(name string, fill func(dst []byte) ([]byte, bool)) {
		p.b.AppendCellFunc(fill)
		p.r.AppendCellFunc(fill)
		p.check(name)
	}
	for i := 0; i < len(ops); i++ {
		switch op := ops[i] % 13; op {
		case 0, 1: // a cell of up to 255 bytes, or up to 16 KiB
			n := arg(&i)
			if op == 1 {
				n *= 64
			}
			v := bytes.Repeat([]byte{byte(i)}, n)
			p.b.AppendCell(v)
			p.r.AppendCell(v)
			p.check("AppendCell")
		case 2:
			p.b.AppendCell(nil)
			p.r.AppendCell(nil)
			p.check("AppendCell(nil)")
		case 3:
			p.b.AppendNull()
			p.r.AppendNull()
			p.check("AppendNull")
		case 4: // fill appends in place, or grows the buffer
			n := arg(&i) * 37
			both("AppendCellFunc", func(dst []byte) ([]byte, bool) { return append(dst, bytes.Repeat([]byte{'f'}, n)...), false })
		case 5: // fill writes, then says null
			n := arg(&i)
			both("AppendCellFunc null", func(dst []byte) ([]byte, bool) { return append(dst, make([]byte, n)...), true })
		case 6: // fill returns fewer bytes than it was given: rejected
			both("AppendCellFunc short", func(dst []byte) ([]byte, bool) { return dst[:len(dst)-4], false })
		case 7: // fill moves everything to a new buffer of its own
			n, spare := arg(&i), arg(&i)
			both("AppendCellFunc new buffer", func(dst []byte) ([]byte, bool) {
				out := append(make([]byte, 0, len(dst)+n+spare), dst...)
				return append(out, bytes.Repeat([]byte{'m'}, n)...), false
			})
		case 8:
			berr, rerr := p.b.EndRow(), p.r.EndRow()
			if fmt.Sprint(berr) != fmt.Sprint(rerr) {
				p.t.Fatalf("EndRow: %v, reference %v", berr, rerr)
			}
			p.check("EndRow")
		case 9:
			p.b.DiscardRow()
			p.r.DiscardRow()
			p.check("DiscardRow")
		case 10:
			p.bp, p.rp = p.b.Page(), p.r.Page()
			samePage(p.t, p.bp, p.rp)
			if err := p.bp.Validate(); err != nil && p.bp.Schema != nil {
				p.t.Fatalf("Page: %v", err)
			}
			p.check("Page")
		case 11:
			if p.bp != nil {
				p.b.Recycle(p.bp)
				p.r.Recycle(p.rp)
				p.bp, p.rp = nil, nil
			}
		case 12:
			s := p.schemas[arg(&i)%len(p.schemas)]
			n := uint64(arg(&i))
			p.b.Reset(s, n, uint32(n/3))
			p.r.Reset(s, n, uint32(n/3))
			p.check("Reset")
		}
	}
	// Whatever was left: the last page of both.
	samePage(p.t, p.b.Page(), p.r.Page())
}

func newBuilderPair(t *testing.T, fresh bool) *builderPair {
	text := Type{ID: TypeText}
	p := &builderPair{t: t, schemas: []*Schema{
		NewSchema(), NewSchema(Column{"a", text}), testSchema(),
		NewSchema(Column{"a", text}, Column{"b", text}, Column{"c", text}, Column{"d", text}, Column{"e", text},
			Column{"f", text}, Column{"g", text}, Column{"h", text}, Column{"i", text}, Column{"j", text}),
	}}
	if fresh { // zero builders: buffers come with the first append
		p.b, p.r = &PageBuilder{}, &refPageBuilder{}
	} else {
		p.b, p.r = NewPageBuilder(p.schemas[2], 1, 0), newRefPageBuilder(p.schemas[2], 1, 0)
	}
	return p
}

func TestPageBuilderMatchesReference(t *testing.T) {
	for _, ops := range [][]byte{
		{0, 5, 2, 3, 8}, // three cells, one row
		{3, 3, 3, 8, 3, 3, 8, 10, 11, 3, 3, 3, 8, 10},               // recycle
		{1, 255, 1, 255, 4, 200, 8, 10, 11, 1, 255, 3, 3, 8},        // growth in AppendCell and in fill
		{7, 100, 50, 3, 3, 8, 7, 9, 200, 3, 3, 8},                   // fill with its own buffer
		{6, 3, 3, 8, 0, 1, 9, 3, 3, 3, 8},                           // rejected fill, DiscardRow
		{12, 0, 9, 8, 8, 12, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8}, // 0 and 10 columns
		{10, 8, 10, 3, 10}, // Page and EndRow on a builder without buffers
	} {
		for _, fresh := range []bool{false, true} {
			newBuilderPair(t, fresh).run(ops)
		}
	}
}

func FuzzPageBuilder(f *testing.F) {
	f.Add([]byte{0, 5, 2, 3, 8, 10}, false)
	f.Add([]byte{1, 255, 1, 255, 4, 200, 8, 10, 11, 1, 255, 3, 3, 8}, true)
	f.Add([]byte{7, 100, 50, 3, 3, 8, 6, 3, 3, 8, 12, 3, 9, 10, 11}, false)
	f.Fuzz(func(t *testing.T, ops []byte, fresh bool) {
		if len(ops) > 4096 {
			ops = ops[:4096]
		}
		newBuilderPair(t, fresh).run(ops)
	})
}

// appendJSONString skips eight plain bytes at a time; the escapes must be
// exactly those of the byte-at-a-time reference.
func TestJSONStringFastPath(t *testing.T) {
	var cases [][]byte
	for c := range 256 {
		for _, at := range []int{0, 3, 7, 8, 9, 15, 16, 17} {
			s := []byte("abcdefghijklmnopqrstuvwxy")
			s = append(s[:at:at], append([]byte{byte(c)}, s[at:]...)...)
			cases = append(cases, s)
		}
	}
	cases = append(cases, []byte(""), []byte("user12345@example.com"), []byte("a\u2028b\u2029cdefghij\u00e9"), []byte("\xff\xfe plain text after"),
		[]byte("0123456\"0123456\\0123456\n"), []byte("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x1f"))
	for _, s := range cases {
		checkJSONString(t, s)
	}
}

func checkJSONString(t *testing.T, s []byte) {
	t.Helper()
	got, want := appendJSONString([]byte("x"), s), refAppendJSONString([]byte("x"), s)
	if !bytes.Equal(got, want) {
		t.Fatalf("appendJSONString(%q) = %s, reference %s", s, got, want)
	}
}

func FuzzJSONString(f *testing.F) {
	f.Add([]byte("plain ascii text, long enough"))
	f.Add([]byte("a\"b\\c\nd\x01e\u2028f\xffg\u00e9h"))
	f.Fuzz(func(t *testing.T, s []byte) { checkJSONString(t, s) })
}

// Doubles (short decimals without strconv), blobs (base64 by 12-bit pairs),
// uuids (hex by byte pairs) and text and ascii (validated only when not
// plain ASCII) against the reference.
func TestNumberBlobUUIDFastPaths(t *testing.T) {
	doubles := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.05, -0.05, 99.5, 4821.37, 1999.99, 1e-6, -1e-6, 1e-7, 1.5e-6,
		123456.789012, 0.000001, 0.0000015, 999999999999999, -999999999999999, 1e15, 1e15 + 0.5, 1e14 + 0.125,
		123456789.123456, 12345678912.3456, 1.0 / 3, 2.0 / 3, math.Pi, 1e20, 1e21, 1e22, 5e-324, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Nextafter(0.1, 1), math.Nextafter(0.1, 0), math.Nextafter(4821.37, 0),
		9007199254740991, 9007199254740993, 0.30000000000000004, 1200, -1200, 100000, 3e-5,
		math.NaN(), math.Inf(1), math.Inf(-1)}
	for _, v := range doubles {
		checkScalarJSON(t, TypeDouble, AppendDouble(nil, v))
		checkScalarJSON(t, TypeFloat, AppendFloat(nil, float32(v)))
		for k := range 10 {
			d := v * math.Pow(10, float64(k))
			checkScalarJSON(t, TypeDouble, AppendDouble(nil, d))
			checkScalarJSON(t, TypeDouble, AppendDouble(nil, math.Round(d)/math.Pow(10, float64(k))))
		}
	}
	for _, c := range []struct {
		v    float64
		want string
	}{{4821.37, "4821.37"}, {-0.05, "-0.05"}, {1200, "1200"}, {math.Copysign(0, -1), "-0"}, {0, "0"}, {1e-6, "0.000001"}, {math.Nextafter(0.3, 1), "0.30000000000000004"}} {
		if got := checkScalarJSON(t, TypeDouble, AppendDouble(nil, c.v)); got != c.want {
			t.Errorf("double %v = %s, want %s", c.v, got, c.want)
		}
	}
	for n := range 40 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*97 + n)
		}
		checkScalarJSON(t, TypeBlob, b)
		checkScalarJSON(t, TypeBlob, bytes.Repeat([]byte{0xff}, n))
	}
	checkScalarJSON(t, TypeUUID, bytes.Repeat([]byte{0xff}, 16))
	checkScalarJSON(t, TypeTimeUUID, []byte{0xde, 0xad, 0xbe, 0xef, 5, 6, 0x40, 8, 0x80, 10, 11, 12, 13, 14, 15, 16})
	checkScalarJSON(t, TypeUUID, make([]byte, 15)) // wrong size: the same error
	for _, s := range []string{"user12345@example.com", "caf\u00e9", "a\"b\\c\n", "bad \xff utf-8", "\xed\xa0\x80", "x\u2028y",
		"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x80", "seven\x01"} {
		checkScalarJSON(t, TypeVarchar, []byte(s))
		checkScalarJSON(t, TypeASCII, []byte(s))
	}
}

// FuzzJSONNumberBlobUUID compares AppendJSON with the reference for
// doubles and floats of arbitrary bits (and the same value rounded to a few
// decimals, the fast path's case), blobs and uuids, and the same bytes as
// text and ascii (valid or not: the same error, nothing appended).
func FuzzJSONNumberBlobUUID(f *testing.F) {
	f.Add(math.Float64bits(4821.37), uint8(2), []byte("sixty-four bytes or so of payload, which is how blobs come often"))
	f.Add(math.Float64bits(math.Copysign(0, -1)), uint8(0), []byte{})
	f.Add(math.Float64bits(1e15-1), uint8(6), []byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1, 0xf0})
	f.Add(math.Float64bits(math.NaN()), uint8(9), []byte{1})
	f.Add(uint64(0), uint8(1), []byte("caf\u00e9 \xff \x01\""))
	f.Fuzz(func(t *testing.T, bits uint64, k uint8, blob []byte) {
		v := math.Float64frombits(bits)
		checkScalarJSON(t, TypeDouble, AppendDouble(nil, v))
		checkScalarJSON(t, TypeFloat, binary.BigEndian.AppendUint32(nil, uint32(bits)))
		p := math.Pow(10, float64(k%12))
		checkScalarJSON(t, TypeDouble, AppendDouble(nil, math.Round(v*p)/p))
		checkScalarJSON(t, TypeDouble, AppendDouble(nil, math.Round(math.Mod(v, 1e16)*p)/p))
		checkScalarJSON(t, TypeBlob, blob)
		checkScalarJSON(t, TypeCustom, blob)
		if len(blob) > 0 {
			checkScalarJSON(t, TypeVarchar, blob)
			checkScalarJSON(t, TypeASCII, blob)
		}
		if len(blob) >= 16 {
			checkScalarJSON(t, TypeUUID, blob[:16])
		}
	})
}
