package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestJSONRoundTrip checks EncodeJSON(AppendJSON(x)) == x byte for byte and
// AppendJSON(EncodeJSON(j)) == j for canonical values of every type,
// including nulls inside collections, tuples and UDTs and empty values.
func TestJSONRoundTrip(t *testing.T) {
	cases := []struct{ typ, json string }{
		{"ascii", `"plain \" \\ \u0000 \u001f"`},
		{"text", `"héllo \n\t ✓ 𝄞 \u2028"`},
		{"text", `""`},
		{"int", `2147483647`}, {"int", `-2147483648`}, {"int", `0`},
		{"bigint", `-9223372036854775808`}, {"counter", `9223372036854775807`},
		{"smallint", `32767`}, {"tinyint", `-128`},
		{"varint", `"-123456789012345678901234567890"`}, {"varint", `"0"`},
		{"decimal", `"-123.4500"`}, {"decimal", `"0.001"`}, {"decimal", `"5E+10"`}, {"decimal", `"-1E-1001"`},
		{"float", `3.4028235e+38`}, {"float", `1e-45`}, {"float", `-0`}, {"float", `"Infinity"`}, {"float", `0.1`},
		{"double", `1.7976931348623157e+308`}, {"double", `5e-324`}, {"double", `"NaN"`}, {"double", `123456789`}, {"double", `1e+21`}, {"double", `0.000001`}, {"double", `1e-7`},
		{"boolean", `false`}, {"boolean", `true`},
		{"blob", `"AAECAwQ="`}, {"blob", `""`},
		{"uuid", `"00112233-4455-6677-8899-aabbccddeeff"`}, {"timeuuid", `"d2177dd0-eaa2-11de-a572-001b779c76e3"`},
		{"timestamp", `"1969-12-31T23:59:59.999Z"`}, {"timestamp", `"0000-01-01T00:00:00.000Z"`}, {"timestamp", `"9999-12-31T23:59:59.999Z"`},
		{"timestamp", `253402300800000`}, {"timestamp", `-9223372036854775808`},
		{"date", `"0000-01-01"`}, {"date", `"9999-12-31"`}, {"date", `4294967295`}, {"date", `0`},
		{"time", `"23:59:59.999999999"`}, {"time", `-1`}, {"time", `86400000000000`},
		{"duration", `"-2mo"`}, {"duration", `"1d1ns"`},
		{"inet", `"10.0.0.1"`}, {"inet", `"::"`}, {"inet", `"::ffff:10.0.0.1"`}, {"inet", `"fe80::1"`},
		{"list<int>", `[1,null,""]`}, {"list<int>", `[]`},
		{"set<text>", `["","a","b"]`},
		{"list<frozen<list<text>>>", `[[],null,["x",null]]`},
		{"map<text, int>", `{"":1,"a":null,"b":""}`},
		{"map<text, int>", `{}`},
		{"map<text, int>", `[["b",1],["a",2]]`},      // not ascending: pairs
		{"map<text, int>", `[[null,1]]`},             // null key: pairs
		{"map<ascii, text>", `[["a",""],["a","x"]]`}, // duplicate key: pairs
		{"map<int, frozen<set<uuid>>>", `[[1,["00000000-0000-0000-0000-000000000000"]],[2,null],["",[]]]`},
		{"tuple<int, text, boolean>", `[1,null,""]`},
		{"tuple<int, text, boolean>", `[null,null,null]`},
		{"ks.addr{street text, zip int, tags frozen<list<text>>}", `{"street":"Main","zip":null,"tags":["a",null]}`},
		{"ks.addr{street text, zip int}", `{"street":"","zip":""}`},
		{"vector<float, 3>", `[1,"NaN",-0]`},
		{"vector<text, 2>", `["","é"]`},
		{"vector<vector<int, 2>, 2>", `[[1,2],[3,4]]`},
		{"vector<frozen<list<int>>, 2>", `[[],[1,null]]`},
		{"'org.example.Custom'", `"AQI="`},
		{"map<text, frozen<map<int, frozen<tuple<int, text>>>>>", `{"k":[[1,[1,"x"]],[2,null]]}`},
	}
	for _, c := range cases {
		t.Run(c.typ+"="+c.json, func(t *testing.T) {
			typ := mustType(t, c.typ)
			cell, err := EncodeJSON(typ, decodeJSONValue(t, c.json))
			if err != nil {
				t.Fatalf("EncodeJSON: %v", err)
			}
			if err := ValidateValue(typ, cell); err != nil {
				t.Fatalf("ValidateValue(%x): %v", cell, err)
			}
			js, err := AppendJSON(nil, typ, cell)
			if err != nil {
				t.Fatalf("AppendJSON(%x): %v", cell, err)
			}
			if string(js) != c.json {
				t.Fatalf("AppendJSON(%x) = %s, want %s", cell, js, c.json)
			}
			if !json.Valid(js) {
				t.Fatalf("AppendJSON wrote invalid JSON %s", js)
			}
			back, err := EncodeJSON(typ, decodeJSONValue(t, string(js)))
			if err != nil || !bytes.Equal(back, cell) {
				t.Fatalf("EncodeJSON(AppendJSON(%x)) = %x, %v", cell, back, err)
			}
		})
	}
}

func TestJSONNull(t *testing.T) {
	for _, typ := range []string{"int", "text", "list<int>", "ks.u{a int}"} {
		cell, err := EncodeJSON(mustType(t, typ), nil)
		if cell != nil || err != nil {
			t.Errorf("EncodeJSON(%s, nil) = %x, %v; want nil (null)", typ, cell, err)
		}
		js, err := AppendJSON([]byte("x"), mustType(t, typ), nil)
		if string(js) != "xnull" || err != nil {
			t.Errorf("AppendJSON(%s, nil) = %s, %v", typ, js, err)
		}
		cell, err = EncodeJSON(mustType(t, typ), "")
		if cell == nil || len(cell) != 0 || err != nil {
			t.Errorf(`EncodeJSON(%s, "") = %x (nil %v), %v; want empty non-nil`, typ, cell, cell == nil, err)
		}
	}
}

// TestJSONNormalisations lists the inputs whose JSON round trip is not
// byte-identical, and what they become.
func TestJSONNormalisations(t *testing.T) {
	cases := []struct{ typ, in, json, out string }{
		{"boolean", "02", "true", "01"},
		{"varint", "0001", `"1"`, "01"},
		{"decimal", "00000001 ffff", `"-0.1"`, "00000001 ff"},
		{"float", "7fc00001", `"NaN"`, "7fc00000"},
		{"double", "7ff8000000000001", `"NaN"`, "7ff8000000000000"}, // Go's math.NaN()
		{"double", "fff8000000000000", `"NaN"`, "7ff8000000000000"},
		{"tuple<int, int>", "00000004 00000001", `[1,null]`, "00000004 00000001 ffffffff"},
		{"ks.u{a int, b int}", "00000004 00000001", `{"a":1,"b":null}`, "00000004 00000001 ffffffff"},
		{"inet", "00000000000000000000ffffc0000201", `"::ffff:192.0.2.1"`, "00000000000000000000ffffc0000201"},
	}
	for _, c := range cases {
		typ := mustType(t, c.typ)
		js, err := AppendJSON(nil, typ, unhex(t, c.in))
		if err != nil || string(js) != c.json {
			t.Errorf("%s %s: AppendJSON = %s, %v; want %s", c.typ, c.in, js, err, c.json)
			continue
		}
		out, err := EncodeJSON(typ, decodeJSONValue(t, string(js)))
		if err != nil || !bytes.Equal(out, unhex(t, c.out)) {
			t.Errorf("%s %s: EncodeJSON(%s) = %x, %v; want %s", c.typ, c.in, js, out, err, c.out)
		}
	}
}

func TestJSONAcceptedForms(t *testing.T) {
	cases := []struct{ typ, in, json string }{
		{"timestamp", `"2024-01-02T04:04:05.1+01:00"`, `"2024-01-02T03:04:05.100Z"`},
		{"timestamp", `1704164645123`, `"2024-01-02T03:04:05.123Z"`},
		{"date", `2147483648`, `"1970-01-01"`},
		{"time", `"01:02:03"`, `"01:02:03.000000000"`},
		{"time", `"01:02:03.5"`, `"01:02:03.500000000"`},
		{"time", `5`, `"00:00:00.000000005"`},
		{"uuid", `"00112233-4455-6677-8899-AABBCCDDEEFF"`, `"00112233-4455-6677-8899-aabbccddeeff"`},
		{"decimal", `12.50`, `"12.50"`},
		{"varint", `12`, `"12"`},
		{"double", `1E3`, `1000`},
		{"duration", `"1H30M"`, `"1h30m"`},
		{"duration", `"1w"`, `"7d"`},
		{"map<text, int>", `{"b":2,"a":1}`, `{"a":1,"b":2}`},
		{"map<text, int>", `[["a",1],["b",2]]`, `{"a":1,"b":2}`},
		{"tuple<int, int>", `[1]`, `[1,null]`},
		{"ks.u{a int, b int}", `{"b":2}`, `{"a":null,"b":2}`},
	}
	for _, c := range cases {
		typ := mustType(t, c.typ)
		cell, err := EncodeJSON(typ, decodeJSONValue(t, c.in))
		if err != nil {
			t.Errorf("%s: EncodeJSON(%s): %v", c.typ, c.in, err)
			continue
		}
		js, err := AppendJSON(nil, typ, cell)
		if err != nil || string(js) != c.json {
			t.Errorf("%s: %s → %s, %v; want %s", c.typ, c.in, js, err, c.json)
		}
	}
	// Plain Go values (not from encoding/json) are accepted too.
	if cell, err := EncodeJSON(Type{ID: TypeInt}, 7); err != nil || !bytes.Equal(cell, AppendInt(nil, 7)) {
		t.Errorf("EncodeJSON(int, 7) = %x, %v", cell, err)
	}
	if cell, err := EncodeJSON(Type{ID: TypeDouble}, 0.5); err != nil || !bytes.Equal(cell, AppendDouble(nil, 0.5)) {
		t.Errorf("EncodeJSON(double, 0.5) = %x, %v", cell, err)
	}
	if _, err := EncodeJSON(Type{ID: TypeInt}, 0.5); err == nil {
		t.Error("EncodeJSON(int, 0.5) succeeded")
	}
}

func TestJSONErrors(t *testing.T) {
	cases := []struct{ typ, in, want string }{
		{"int", `"1"`, `abi: json int: got string "1", want an integer number`},
		{"int", `2147483648`, `want an int in -2147483648..2147483647`},
		{"tinyint", `128`, `want a tinyint in -128..127`},
		{"bigint", `1.5`, `want an integer number`},
		{"boolean", `1`, `want true or false`},
		{"float", `"nan"`, `want a number, "NaN", "Infinity" or "-Infinity"`},
		{"float", `1e39`, `want a number in range`},
		{"varint", `"1.5"`, `want a string of decimal digits`},
		{"decimal", `"1.5.5"`, `decimal "1.5.5"`},
		{"blob", `"not base64!"`, `is not standard base64`},
		{"uuid", `"0011"`, `uuid "0011": want 8-4-4-4-12 hex digits`},
		{"timestamp", `"2024-01-02"`, `want RFC 3339`},
		{"timestamp", `"2024-01-02T03:04:05.1234Z"`, `finer than a millisecond`},
		{"date", `"2024-13-01"`, `want YYYY-MM-DD`},
		{"date", `-1`, `day number in 0..4294967295`},
		{"time", `"24:00:00"`, `want HH:MM:SS`},
		{"duration", `"1x"`, `unknown or out-of-order unit "x"`},
		{"inet", `"fe80::1%eth0"`, `without zone`},
		{"ascii", `"é"`, `not ASCII`},
		{"list<int>", `{}`, `want an array`},
		{"list<int>", `[1,"x"]`, `list element 1: json int: got string "x"`},
		{"map<int, int>", `{"1":2}`, `object form is for text and ascii keys`},
		{"map<int, int>", `[[1]]`, `map entry 0: got array of 1, want a [key, value] array`},
		{"tuple<int>", `[1,2]`, `2 components, the type has 1`},
		{"ks.u{a int}", `{"b":1}`, `unknown field "b"`},
		{"ks.u{a int}", `{"a":"x"}`, `udt u field "a": json int: got string "x"`},
		{"vector<int, 2>", `[1]`, `1 elements, want 2`},
		{"vector<int, 2>", `[1,null]`, `vector element 1 is null`},
		{"vector<int, 2>", `[1,""]`, `empty value in a vector of int`},
	}
	for _, c := range cases {
		_, err := EncodeJSON(mustType(t, c.typ), decodeJSONValue(t, c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EncodeJSON(%s, %s) error = %v; want it to contain %q", c.typ, c.in, err, c.want)
		}
	}
	bad := []struct{ typ, hex, want string }{
		{"text", "ff", "not valid UTF-8"},
		{"int", "01", "int: 1 bytes, want 4"},
		{"list<int>", "00000001 00000001 01", "list element 0: int: 1 bytes, want 4"},
		{"duration", "02 01 00", "different signs"},
		{"ks.u{a int}", "00000004 00000001 00000000", "udt u: more than 1 components"},
		{"map<text, int>", "00000001 00000001 61", "map: count 1 needs at least 8 bytes, 5 left"},
		{"map<text, int>", "00000001 00000001 61 00000004", "map: element 1: length 4 beyond the 0 bytes left"},
	}
	for _, c := range bad {
		out, err := AppendJSON([]byte("keep"), mustType(t, c.typ), unhex(t, c.hex))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("AppendJSON(%s, %s) error = %v; want ErrMalformed containing %q", c.typ, c.hex, err, c.want)
		}
		if string(out) != "keep" {
			t.Errorf("AppendJSON(%s, %s) left %q in dst on error", c.typ, c.hex, out)
		}
	}
}

func TestJSONFloatForms(t *testing.T) {
	// Same forms as encoding/json for finite values.
	for _, f := range []float64{0, 1, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456.789, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f, 64); string(got) != string(want) {
			t.Errorf("appendJSONFloat(%v) = %s, encoding/json writes %s", f, got, want)
		}
	}
	for _, f := range []float32{0.1, 1e21, 1e-7, math.MaxFloat32} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, float64(f), 32); string(got) != string(want) {
			t.Errorf("appendJSONFloat(float32 %v) = %s, encoding/json writes %s", f, got, want)
		}
	}
}

func TestAppendJSONRow(t *testing.T) {
	s := NewSchema(Column{"id", Type{ID: TypeInt}}, Column{"name \"q\"", Type{ID: TypeText}}, Column{"tags", mustType(t, "set<text>")})
	b := NewPageBuilder(s, 1, 0)
	if err := b.AppendJSONRow(map[string]any{"id": json.Number("1"), "name \"q\"": "x", "tags": []any{"a"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendJSONRow(map[string]any{"id": json.Number("2")}); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendJSONRow(map[string]any{"nope": 1}); err == nil || !strings.Contains(err.Error(), `key "nope" is not a column`) {
		t.Fatalf("unknown key: err = %v", err)
	}
	if err := b.AppendJSONRow(map[string]any{"id": "x"}); err == nil || !strings.Contains(err.Error(), `column "id" (int)`) {
		t.Fatalf("bad value: err = %v", err)
	}
	p := b.Page()
	if p.NumRows() != 2 {
		t.Fatalf("NumRows = %d, want 2 (failed rows must not be appended)", p.NumRows())
	}
	var out []byte
	for _, r := range p.Rows() {
		var err error
		if out, err = AppendJSONRow(out, s, r); err != nil {
			t.Fatal(err)
		}
		out = append(out, '\n')
	}
	want := `{"id":1,"name \"q\"":"x","tags":["a"]}` + "\n" + `{"id":2,"name \"q\"":null,"tags":null}` + "\n"
	if string(out) != want {
		t.Fatalf("rows as JSON:\n%s\nwant:\n%s", out, want)
	}
}
