package abi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"net/netip"
	"strings"
	"testing"
)

func mustType(t testing.TB, s string) Type {
	t.Helper()
	typ, err := ParseType(s)
	if err != nil {
		t.Fatalf("ParseType(%q): %v", s, err)
	}
	return typ
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	if s == "nil" {
		return nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

func decodeJSONValue(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// cassandraCells are cell bytes captured from Apache Cassandra 5.0.8
// (INSERT of the CQL literal, SELECT through gocql with a raw Unmarshaler;
// see testdata/capture), with their JSON form in this package.
var cassandraCells = []struct {
	typ, lit, hex, json string
}{
	{"ascii", "'hi'", "6869", `"hi"`},
	{"text", "'héllo'", "68c3a96c6c6f", `"héllo"`},
	{"int", "-2", "fffffffe", `-2`},
	{"bigint", "9223372036854775807", "7fffffffffffffff", `9223372036854775807`},
	{"smallint", "-32768", "8000", `-32768`},
	{"tinyint", "127", "7f", `127`},
	{"varint", "-129", "ff7f", `"-129"`},
	{"varint", "128", "0080", `"128"`},
	{"varint", "0", "00", `"0"`},
	{"decimal", "12.340", "00000003 3034", `"12.340"`},
	{"decimal", "-0.05", "00000002 fb", `"-0.05"`},
	{"decimal", "1E+3", "fffffffd 01", `"1E+3"`},
	{"float", "1.5", "3fc00000", `1.5`},
	{"float", "NaN", "7fc00000", `"NaN"`},
	{"double", "-0.1", "bfb999999999999a", `-0.1`},
	{"double", "-Infinity", "fff0000000000000", `"-Infinity"`},
	{"boolean", "true", "01", `true`},
	{"blob", "0xcafe", "cafe", `"yv4="`},
	{"uuid", "550e8400-e29b-41d4-a716-446655440000", "550e8400e29b41d4a716446655440000", `"550e8400-e29b-41d4-a716-446655440000"`},
	{"timeuuid", "d2177dd0-eaa2-11de-a572-001b779c76e3", "d2177dd0eaa211dea572001b779c76e3", `"d2177dd0-eaa2-11de-a572-001b779c76e3"`},
	{"timestamp", "'2024-01-02T03:04:05.123Z'", "0000018cc820d903", `"2024-01-02T03:04:05.123Z"`},
	{"timestamp", "-62167219200001", "ffffc77590fb9fff", `-62167219200001`},
	{"date", "'2024-01-02'", "80004d0c", `"2024-01-02"`},
	{"date", "'1970-01-01'", "80000000", `"1970-01-01"`},
	{"date", "0", "00000000", `0`},
	{"date", "'-5000-01-01'", "7fd927b4", `2144937908`},
	{"time", "'03:04:05.123456789'", "00000a0ba4a8ff15", `"03:04:05.123456789"`},
	{"time", "0", "0000000000000000", `"00:00:00.000000000"`},
	{"duration", "1y2mo3d4h5m6s7ms8us9ns", "1c06fc1ac004a5c612", `"1y2mo3d4h5m6s7ms8us9ns"`},
	{"duration", "-1y2mo3d4h5m6s7ms8us9ns", "1b05fc1ac004a5c611", `"-1y2mo3d4h5m6s7ms8us9ns"`},
	{"duration", "-3d", "000500", `"-3d"`},
	{"duration", "0s", "000000", `"0s"`},
	{"inet", "'192.0.2.1'", "c0000201", `"192.0.2.1"`},
	{"inet", "'2001:db8::1'", "20010db8000000000000000000000001", `"2001:db8::1"`},
	{"list<int>", "[1,2]", "00000002 00000004 00000001 00000004 00000002", `[1,2]`},
	{"set<text>", "{'b','a'}", "00000002 00000001 61 00000001 62", `["a","b"]`},
	{"map<text, int>", "{'b':2,'a':1}", "00000002 00000001 61 00000004 00000001 00000001 62 00000004 00000002", `{"a":1,"b":2}`},
	{"map<int, text>", "{1:'x'}", "00000001 00000004 00000001 00000001 78", `[[1,"x"]]`},
	{"ks.addr{street text, zip int}", "{street:'Main', zip:null}", "00000004 4d61696e ffffffff", `{"street":"Main","zip":null}`},
	{"vector<float, 2>", "[1.5,-2]", "3fc00000 c0000000", `[1.5,-2]`},
	{"vector<tinyint, 2>", "[1,-2]", "0101 01fe", `[1,-2]`},
	{"vector<smallint, 2>", "[3,-4]", "020003 02fffc", `[3,-4]`},
	{"vector<date, 2>", "['1970-01-02','2024-01-01']", "0480000001 0480004d0b", `["1970-01-02","2024-01-01"]`},
	{"vector<time, 2>", "['00:00:01','23:59:59.999999999']", "08000000003b9aca00 0800004e94914effff", `["00:00:01.000000000","23:59:59.999999999"]`},
	{"vector<boolean, 2>", "[true,false]", "0100", `[true,false]`},
	{"vector<timestamp, 2>", "[1000, -1]", "00000000000003e8 ffffffffffffffff", `["1970-01-01T00:00:01.000Z","1969-12-31T23:59:59.999Z"]`},
	{"vector<uuid, 2>", "[...1, ...2]", "00000000000000000000000000000001 00000000000000000000000000000002", `["00000000-0000-0000-0000-000000000001","00000000-0000-0000-0000-000000000002"]`},
	{"vector<text, 2>", "['a','']", "0161 00", `["a",""]`},
	{"vector<varint, 2>", "[1, 300]", "0101 02012c", `["1","300"]`},
	{"vector<duration, 2>", "[1mo2d3ns, -1y]", "03020406 03170000", `["1mo2d3ns","-1y"]`},
	{"vector<vector<float, 2>, 2>", "[[1.0,2.0],[3.0,4.0]]", "3f800000400000004040000040800000", `[[1,2],[3,4]]`},
	{"vector<decimal, 1>", "[1.50]", "06 00000002 0096", `["1.50"]`},
	{"vector<inet, 1>", "['::1']", "10 00000000000000000000000000000001", `["::1"]`},
	{"vector<ascii, 2>", "['x','yz']", "0178 02797a", `["x","yz"]`},
	{"vector<int, 2>", "[1,2]", "00000001 00000002", `[1,2]`},
	{"vector<bigint, 1>", "[3]", "0000000000000003", `[3]`},
	{"vector<double, 1>", "[1.5]", "3ff8000000000000", `[1.5]`},
	{"vector<blob, 1>", "[0x]", "00", `[""]`},
	{"text", "''", "", `""`},
	{"blob", "0x", "", `""`},
	{"int", "blobAsInt(0x)", "", `""`},
}

func TestCassandraCellsJSON(t *testing.T) {
	for _, c := range cassandraCells {
		t.Run(c.typ+"="+c.lit, func(t *testing.T) {
			typ := mustType(t, c.typ)
			cell := unhex(t, c.hex)
			if err := ValidateValue(typ, cell); err != nil {
				t.Fatalf("ValidateValue: %v", err)
			}
			got, err := AppendJSON(nil, typ, cell)
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if string(got) != c.json {
				t.Fatalf("AppendJSON = %s, want %s", got, c.json)
			}
			back, err := EncodeJSON(typ, decodeJSONValue(t, string(got)))
			if err != nil {
				t.Fatalf("EncodeJSON(%s): %v", got, err)
			}
			if !bytes.Equal(back, cell) || (back == nil) != (cell == nil) {
				t.Fatalf("EncodeJSON(%s) = %x, want %x", got, back, cell)
			}
		})
	}
}

func TestScalarCodecs(t *testing.T) {
	if v, err := DecodeInt(unhex(t, "fffffffe")); v != -2 || err != nil {
		t.Errorf("DecodeInt = %d, %v", v, err)
	}
	if v, err := DecodeBigint(AppendBigint(nil, math.MinInt64)); v != math.MinInt64 || err != nil {
		t.Errorf("DecodeBigint = %d, %v", v, err)
	}
	if v, err := DecodeCounter(AppendBigint(nil, 42)); v != 42 || err != nil {
		t.Errorf("DecodeCounter = %d, %v", v, err)
	}
	if v, err := DecodeSmallint(AppendSmallint(nil, -300)); v != -300 || err != nil {
		t.Errorf("DecodeSmallint = %d, %v", v, err)
	}
	if v, err := DecodeTinyint(AppendTinyint(nil, -128)); v != -128 || err != nil {
		t.Errorf("DecodeTinyint = %d, %v", v, err)
	}
	if v, err := DecodeBoolean([]byte{2}); !v || err != nil {
		t.Errorf("DecodeBoolean(02) = %v, %v; Cassandra reads any non-zero byte as true", v, err)
	}
	if v, err := DecodeFloat(AppendFloat(nil, -1.25)); v != -1.25 || err != nil {
		t.Errorf("DecodeFloat = %v, %v", v, err)
	}
	if v, err := DecodeDouble(AppendDouble(nil, math.Pi)); v != math.Pi || err != nil {
		t.Errorf("DecodeDouble = %v, %v", v, err)
	}
	if _, err := DecodeText([]byte{0xff}); err == nil {
		t.Error("DecodeText accepted invalid UTF-8")
	}
	if _, err := DecodeASCII([]byte("é")); err == nil {
		t.Error("DecodeASCII accepted a non-ASCII byte")
	}
	if s, err := DecodeText(AppendText(nil, "héllo")); s != "héllo" || err != nil {
		t.Errorf("DecodeText = %q, %v", s, err)
	}
	u := [16]byte{1, 2, 3}
	if v, err := DecodeUUID(AppendUUID(nil, u)); v != u || err != nil {
		t.Errorf("DecodeUUID = %x, %v", v, err)
	}
	if v, err := DecodeTimestamp(AppendTimestamp(nil, -1)); v != -1 || err != nil {
		t.Errorf("DecodeTimestamp = %d, %v", v, err)
	}
	if v, err := DecodeDate(AppendDate(nil, DateEpoch+1)); v != DateEpoch+1 || err != nil {
		t.Errorf("DecodeDate = %d, %v", v, err)
	}
	if v, err := DecodeTime(AppendTime(nil, MaxTime-1)); v != MaxTime-1 || err != nil {
		t.Errorf("DecodeTime = %d, %v", v, err)
	}
	for _, a := range []string{"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"} {
		addr := netip.MustParseAddr(a)
		got, err := DecodeInet(AppendInet(nil, addr))
		if got != addr || err != nil {
			t.Errorf("DecodeInet(%s) = %v, %v", a, got, err)
		}
	}
	// Every fixed-size decoder rejects an empty cell with ErrEmptyValue and
	// a wrong size without it.
	fixed := map[string]func([]byte) error{
		"int":       func(b []byte) error { _, err := DecodeInt(b); return err },
		"bigint":    func(b []byte) error { _, err := DecodeBigint(b); return err },
		"counter":   func(b []byte) error { _, err := DecodeCounter(b); return err },
		"smallint":  func(b []byte) error { _, err := DecodeSmallint(b); return err },
		"tinyint":   func(b []byte) error { _, err := DecodeTinyint(b); return err },
		"boolean":   func(b []byte) error { _, err := DecodeBoolean(b); return err },
		"float":     func(b []byte) error { _, err := DecodeFloat(b); return err },
		"double":    func(b []byte) error { _, err := DecodeDouble(b); return err },
		"uuid":      func(b []byte) error { _, err := DecodeUUID(b); return err },
		"timestamp": func(b []byte) error { _, err := DecodeTimestamp(b); return err },
		"date":      func(b []byte) error { _, err := DecodeDate(b); return err },
		"time":      func(b []byte) error { _, err := DecodeTime(b); return err },
		"inet":      func(b []byte) error { _, err := DecodeInet(b); return err },
		"varint":    func(b []byte) error { _, err := DecodeVarint(b); return err },
		"decimal":   func(b []byte) error { _, _, err := DecodeDecimal(b); return err },
		"duration":  func(b []byte) error { _, err := DecodeDuration(b); return err },
	}
	for name, f := range fixed {
		if err := f([]byte{}); !errors.Is(err, ErrEmptyValue) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: empty cell: err = %v, want ErrEmptyValue", name, err)
		}
		if name == "varint" || name == "duration" {
			continue // 3 zero bytes are valid
		}
		if err := f(make([]byte, 3)); err == nil || errors.Is(err, ErrEmptyValue) {
			t.Errorf("%s: 3-byte cell: err = %v, want a size error", name, err)
		}
	}
}

func TestVarintDecimal(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "-32768", "-32769",
		"123456789012345678901234567890", "-123456789012345678901234567890", "-9223372036854775808", "9223372036854775807"} {
		n, _ := new(big.Int).SetString(s, 10)
		enc := AppendVarint(nil, n)
		got, err := DecodeVarint(enc)
		if err != nil || got.Cmp(n) != 0 {
			t.Errorf("varint %s: encoded %x, decoded %v, %v", s, enc, got, err)
		}
		// Minimal: dropping the first byte must change the value.
		if len(enc) > 1 {
			if short := decodeTwos(enc[1:]); short.Cmp(n) == 0 {
				t.Errorf("varint %s: encoding %x is not minimal", s, enc)
			}
		}
		if n.IsInt64() {
			if fast := appendVarintInt64(nil, n.Int64()); !bytes.Equal(fast, enc) {
				t.Errorf("appendVarintInt64(%s) = %x, want %x", s, fast, enc)
			}
		}
	}
	// Non-minimal input is accepted (Cassandra stores what clients send).
	if v, err := DecodeVarint([]byte{0, 0, 1}); err != nil || v.Int64() != 1 {
		t.Errorf("DecodeVarint(000001) = %v, %v", v, err)
	}
	for _, c := range []struct {
		text     string
		unscaled string
		scale    int32
		out      string
	}{
		{"12.340", "12340", 3, "12.340"},
		{"-0.05", "-5", 2, "-0.05"},
		{"0.00", "0", 2, "0.00"},
		{"7", "7", 0, "7"},
		{"1E+3", "1", -3, "1E+3"},
		{"1e3", "1", -3, "1E+3"},
		{"1.5e-2", "15", 3, "0.015"},
		{"-12E-1001", "-12", 1001, "-12E-1001"},
		{"2147483647E+2147483647", "2147483647", -2147483647, "2147483647E+2147483647"},
	} {
		u, scale, err := ParseDecimal(c.text)
		if err != nil || u.String() != c.unscaled || scale != c.scale {
			t.Errorf("ParseDecimal(%q) = %v, %d, %v; want %s, %d", c.text, u, scale, err, c.unscaled, c.scale)
			continue
		}
		if out := string(appendDecimalText(nil, u, scale)); out != c.out {
			t.Errorf("decimal text of %q = %q, want %q", c.text, out, c.out)
		}
	}
	for _, bad := range []string{"", "-", ".5", "5.", "1e", "1e+", "+1", "1..2", "1e2147483649", "0x10", "1 "} {
		if _, _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
}

func TestVInt(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<56 - 1, 1 << 56, math.MaxUint64} {
		enc := AppendUnsignedVInt(nil, v)
		if len(enc) != UnsignedVIntLen(v) {
			t.Errorf("vint %d: %d bytes, UnsignedVIntLen says %d", v, len(enc), UnsignedVIntLen(v))
		}
		got, n, err := DecodeUnsignedVInt(append(enc, 0xAA))
		if err != nil || got != v || n != len(enc) {
			t.Errorf("vint %d: encoded %x, decoded %d (%d bytes), %v", v, enc, got, n, err)
		}
	}
	for _, v := range []int64{0, 1, -1, 63, -64, 64, math.MaxInt64, math.MinInt64} {
		got, _, err := DecodeVInt(AppendVInt(nil, v))
		if err != nil || got != v {
			t.Errorf("signed vint %d: decoded %d, %v", v, got, err)
		}
	}
	if _, _, err := DecodeUnsignedVInt([]byte{0x80, 0x01}); err == nil {
		t.Error("non-minimal vint 8001 accepted")
	}
	if _, _, err := DecodeUnsignedVInt([]byte{0xC0, 0x01}); err == nil {
		t.Error("truncated vint accepted")
	}
	if _, _, err := DecodeUnsignedVInt(nil); err == nil {
		t.Error("empty vint accepted")
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    Duration
		text string
	}{
		{Duration{}, "0s"},
		{Duration{Months: 14, Days: 3, Nanos: 14706007008009}, "1y2mo3d4h5m6s7ms8us9ns"},
		{Duration{Days: -3}, "-3d"},
		{Duration{Nanos: 90 * 60 * 1e9}, "1h30m"},
		{Duration{Months: math.MinInt32, Days: math.MinInt32, Nanos: math.MinInt64}, "-178956970y8mo2147483648d2562047h47m16s854ms775us808ns"},
		{Duration{Months: math.MaxInt32, Days: math.MaxInt32, Nanos: math.MaxInt64}, "178956970y7mo2147483647d2562047h47m16s854ms775us807ns"},
	} {
		s, err := FormatDuration(c.d)
		if err != nil || s != c.text {
			t.Errorf("FormatDuration(%+v) = %q, %v; want %q", c.d, s, err, c.text)
		}
		d, err := ParseDuration(c.text)
		if err != nil || d != c.d {
			t.Errorf("ParseDuration(%q) = %+v, %v; want %+v", c.text, d, err, c.d)
		}
		got, err := DecodeDuration(AppendDuration(nil, c.d))
		if err != nil || got != c.d {
			t.Errorf("duration codec %+v: %+v, %v", c.d, got, err)
		}
	}
	if d, err := ParseDuration("2W1D"); err != nil || d != (Duration{Days: 15}) {
		t.Errorf("ParseDuration(2W1D) = %+v, %v", d, err)
	}
	if d, err := ParseDuration("3µs"); err != nil || d != (Duration{Nanos: 3000}) {
		t.Errorf("ParseDuration(3µs) = %+v, %v", d, err)
	}
	for _, bad := range []string{"", "-", "1", "h", "1h1h", "1m1h", "1x", "2147483648mo", "178956971y", "9223372036854775808ns", "1us1µs", "1.5h"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	if _, err := FormatDuration(Duration{Months: 1, Days: -1}); err == nil {
		t.Error("FormatDuration accepted mixed signs")
	}
	if _, err := DecodeDuration([]byte{0, 0, 0, 0}); err == nil {
		t.Error("DecodeDuration accepted trailing bytes")
	}
	if _, err := DecodeDuration(AppendVInt(AppendVInt(AppendVInt(nil, 1<<40), 0), 0)); err == nil {
		t.Error("DecodeDuration accepted months beyond int32")
	}
}

func TestSplit(t *testing.T) {
	list := AppendList(nil, [][]byte{{1}, nil, {}})
	got, err := SplitList(list, nil)
	if err != nil || len(got) != 3 || !bytes.Equal(got[0], []byte{1}) || got[1] != nil || got[2] == nil || len(got[2]) != 0 {
		t.Fatalf("SplitList = %q, %v", got, err)
	}
	m := AppendMap(nil, [][]byte{[]byte("k"), []byte("v")})
	if got, err := SplitMap(m, nil); err != nil || len(got) != 2 || string(got[0]) != "k" || string(got[1]) != "v" {
		t.Fatalf("SplitMap = %q, %v", got, err)
	}
	tup := AppendTuple(nil, [][]byte{{7}, nil})
	if got, err := SplitTuple(tup, 3, nil); err != nil || len(got) != 2 || got[1] != nil {
		t.Fatalf("SplitTuple = %q, %v", got, err)
	}
	if _, err := SplitTuple(tup, 1, nil); err == nil {
		t.Fatal("SplitTuple accepted more components than the type has")
	}
	vec, err := AppendVector(nil, Type{ID: TypeText}, [][]byte{[]byte("a"), {}})
	if err != nil || hex.EncodeToString(vec) != "016100" {
		t.Fatalf("AppendVector = %x, %v", vec, err)
	}
	if _, err := AppendVector(nil, Type{ID: TypeInt}, [][]byte{{1}}); err == nil {
		t.Fatal("AppendVector accepted a 1-byte int")
	}
	if _, err := AppendVector(nil, Type{ID: TypeText}, [][]byte{nil}); err == nil {
		t.Fatal("AppendVector accepted a null element")
	}
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"list short count", func() error { _, err := SplitList([]byte{0, 0, 1}, nil); return err }},
		{"list negative count", func() error { _, err := SplitList(unhex(t, "ffffffff"), nil); return err }},
		{"list huge count", func() error { _, err := SplitList(unhex(t, "7fffffff 00000000"), nil); return err }},
		{"list trailing", func() error { _, err := SplitList(append(list, 0), nil); return err }},
		{"list element beyond", func() error { _, err := SplitList(unhex(t, "00000001 00000005 01"), nil); return err }},
		{"list element -2", func() error { _, err := SplitList(unhex(t, "00000001 fffffffe"), nil); return err }},
		{"map odd", func() error { _, err := SplitMap(unhex(t, "00000001 00000000"), nil); return err }},
		{"vector fixed size", func() error { _, err := SplitVector([]byte{1, 2, 3}, Type{ID: TypeInt}, 1, nil); return err }},
		{"vector trailing", func() error { _, err := SplitVector(unhex(t, "0161 00 00"), Type{ID: TypeText}, 2, nil); return err }},
		{"vector short", func() error { _, err := SplitVector(unhex(t, "0561"), Type{ID: TypeText}, 1, nil); return err }},
	} {
		if err := c.f(); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", c.name, err)
		}
	}
}
