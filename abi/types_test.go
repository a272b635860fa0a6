package abi

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestTypeStringParse(t *testing.T) {
	cases := []struct{ in, str, describe string }{
		{"int", "int", "int"},
		{"VARCHAR", "text", "text"},
		{"map<text, frozen<list<int>>>", "map<text, frozen<list<int>>>", ""},
		{"map<text,list<int>>", "map<text, frozen<list<int>>>", ""},
		{"frozen<set<uuid>>", "set<uuid>", ""},
		{"tuple<int, frozen<map<int, text>>, tuple<int>>", "tuple<int, frozen<map<int, text>>, tuple<int>>", ""},
		{"vector<float, 1536>", "vector<float, 1536>", ""},
		{"vector<frozen<list<int>>, 2>", "vector<frozen<list<int>>, 2>", ""},
		{"'org.apache.cassandra.db.marshal.DynamicCompositeType(a=>UTF8Type)'", "'org.apache.cassandra.db.marshal.DynamicCompositeType(a=>UTF8Type)'", ""},
		{"ks.addr{street text, zip int}", "ks.addr", "ks.addr{street text, zip int}"},
		{`"Ks"."My Type"{"F" text}`, `"Ks"."My Type"`, `"Ks"."My Type"{"F" text}`},
		{"list<addr{a int, b frozen<list<int>>}>", "list<frozen<addr>>", "list<frozen<addr{a int, b list<int>}>>"},
	}
	for _, c := range cases {
		typ, err := ParseType(c.in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", c.in, err)
			continue
		}
		if err := typ.Validate(); err != nil {
			t.Errorf("ParseType(%q) is invalid: %v", c.in, err)
		}
		if s := typ.String(); s != c.str {
			t.Errorf("ParseType(%q).String() = %q, want %q", c.in, s, c.str)
		}
		d := c.describe
		if d == "" {
			d = c.str
		}
		if s := typ.Describe(); s != d {
			t.Errorf("ParseType(%q).Describe() = %q, want %q", c.in, s, d)
		}
		again, err := ParseType(typ.Describe())
		if err != nil || !again.Equal(typ) {
			t.Errorf("ParseType(Describe(%q)) = %v, %v", c.in, again, err)
		}
	}
	for _, bad := range []string{"", "nope", "list<int", "list<int, int>", "map<int>", "vector<float, 0>", "vector<float>", "int extra", "ks.x", "'unterminated", `"unterminated`, strings.Repeat("list<", 40) + "int" + strings.Repeat(">", 40)} {
		if _, err := ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) succeeded", bad)
		}
	}
}

func TestTypeDescRoundTrip(t *testing.T) {
	types := []string{
		"ascii", "bigint", "blob", "boolean", "counter", "decimal", "double", "float", "int", "timestamp",
		"uuid", "text", "varint", "timeuuid", "inet", "date", "time", "smallint", "tinyint", "duration",
		"list<int>", "set<text>", "map<text, frozen<list<int>>>", "tuple<int, text, tuple<int>>",
		"ks.addr{street text, zip int, loc tuple<double, double>}", "vector<float, 3>", "'a.B'",
	}
	for _, s := range types {
		typ := mustType(t, s)
		desc := AppendTypeDesc([]byte{0xEE}, typ)[1:]
		if len(desc) != typeDescLen(typ) {
			t.Errorf("%s: typeDescLen = %d, encoded %d bytes", s, typeDescLen(typ), len(desc))
		}
		got, n, err := DecodeTypeDesc(append(desc, 0xAA, 0xBB))
		if err != nil || n != len(desc) || !got.Equal(typ) {
			t.Errorf("%s: DecodeTypeDesc(%x) = %v, %d, %v", s, desc, got, n, err)
		}
		if !bytes.Equal(EncodeTypeDesc(got), desc) {
			t.Errorf("%s: re-encoding differs", s)
		}
	}
	// The exact bytes of a few descriptors (little-endian framing).
	for _, c := range []struct{ typ, hex string }{
		{"int", "0900"},
		{"list<text>", "2000 0d00"},
		{"map<text, bigint>", "2100 0d00 0200"},
		{"vector<float, 3>", "5000 0800 03000000"},
		{"tuple<int, text>", "3100 0200 0900 0d00"},
		{"k.u{a int}", "3000 01000000 6b 01000000 75 0100 01000000 61 0900"},
		{"'c'", "0000 01000000 63"},
	} {
		if got := EncodeTypeDesc(mustType(t, c.typ)); !bytes.Equal(got, unhex(t, c.hex)) {
			t.Errorf("EncodeTypeDesc(%s) = %x, want %s", c.typ, got, c.hex)
		}
	}
}

func TestDecodeTypeDescErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x20, 0x00}, MaxTypeDepth)
	deep = append(deep, 0x09, 0x00)
	cases := []struct{ name, hex, want string }{
		{"empty", "", "abi: type descriptor: at byte 0: truncated type id (0 bytes left, need 2)"},
		{"unknown id", "0a00", "abi: type descriptor: at byte 0: unknown type id 0x000A"},
		{"list truncated", "2000", "abi: type descriptor: at byte 2: truncated type id (0 bytes left, need 2)"},
		{"custom length", "0000 05000000 61", "abi: type descriptor: at byte 2: custom class: length 5 beyond the 1 bytes left"},
		{"udt bad utf8", "3000 01000000 ff", "abi: type descriptor: at byte 2: udt keyspace: not valid UTF-8"},
		{"udt count", "3000 00000000 00000000 ffff", "abi: type descriptor: at byte 10: udt field count 65535 needs at least 393210 bytes, 0 left"},
		{"tuple count", "3100 0500 0900", "abi: type descriptor: at byte 2: tuple component count 5 needs at least 10 bytes, 2 left"},
		{"empty tuple", "3100 0000", "abi: type descriptor: at byte 2: tuple with no components"},
		{"vector dim 0", "5000 0800 00000000", "abi: type descriptor: at byte 4: vector dimensions 0 (must be >= 1)"},
		{"vector dim truncated", "5000 0800 0000", "abi: type descriptor: at byte 4: vector dimensions: truncated (2 bytes left, need 4)"},
	}
	for _, c := range cases {
		_, _, err := DecodeTypeDesc(unhex(t, c.hex))
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v\nwant %s", c.name, err, c.want)
		}
	}
	_, _, err := DecodeTypeDesc(deep)
	if err == nil || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "nested deeper than 32 levels") {
		t.Errorf("depth 33: err = %v, want ErrLimit", err)
	}
	if _, _, err := DecodeTypeDesc(deep[2:]); err != nil {
		t.Errorf("depth 32: %v", err)
	}
}

func TestTypeValidateAndFixedLen(t *testing.T) {
	for _, bad := range []Type{
		{ID: TypeList},
		{ID: TypeMap, Elems: []Type{{ID: TypeInt}}},
		{ID: TypeUDT, Fields: []string{"a"}},
		{ID: TypeVector, Elems: []Type{{ID: TypeInt}}},
		{ID: 0x0A},
		{ID: TypeInt, Elems: []Type{{ID: TypeInt}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded", bad)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("AppendTypeDesc of an invalid type did not panic")
			}
		}()
		AppendTypeDesc(nil, Type{ID: TypeList})
	}()
	for s, n := range map[string]int{"boolean": 1, "int": 4, "float": 4, "bigint": 8, "double": 8, "timestamp": 8,
		"uuid": 16, "timeuuid": 16, "tinyint": -1, "smallint": -1, "date": -1, "time": -1, "text": -1, "counter": -1,
		"vector<float, 3>": 12, "vector<text, 3>": -1, "vector<vector<int, 2>, 2>": 16} {
		if got := mustType(t, s).FixedLen(); got != n {
			t.Errorf("FixedLen(%s) = %d, want %d", s, got, n)
		}
	}
}

func TestSchema(t *testing.T) {
	s := NewSchema(Column{"a", Type{ID: TypeInt}}, Column{"B", ListOf(Type{ID: TypeText})})
	if s.Index("B") != 1 || s.Index("b") != -1 || s.Index("a") != 0 || s.Len() != 2 {
		t.Errorf("Index: %d %d %d", s.Index("B"), s.Index("b"), s.Index("a"))
	}
	if s.String() != "a int, B list<text>" {
		t.Errorf("String = %q", s.String())
	}
	o := NewSchema(Column{"a", Type{ID: TypeInt}}, Column{"B", ListOf(Type{ID: TypeText})})
	if !s.Equal(o) || s.Equal(NewSchema(Column{"a", Type{ID: TypeInt}})) || s.Equal(nil) || !(*Schema)(nil).Equal(nil) {
		t.Error("Equal")
	}
}

func TestVersion(t *testing.T) {
	if Version != 0x00010000 {
		t.Fatalf("Version = %#x", Version)
	}
	if err := CheckVersion(0x00010000, 0x00010002); err != nil {
		t.Errorf("1.0 on 1.2: %v", err)
	}
	err := CheckVersion(0x00020000, 0x00010000)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "plugin ABI version 2.0, host ABI version 1.0") {
		t.Errorf("2.0 on 1.0: %v", err)
	}
	err = CheckVersion(0x00010003, 0x00010001)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "plugin ABI version 1.3, host ABI version 1.1") {
		t.Errorf("1.3 on 1.1: %v", err)
	}
	h := MakeHandle(0x12345678, 0x9abcdef0)
	if h != 0x123456789abcdef0 {
		t.Errorf("MakeHandle = %#x", h)
	}
	if p, l := SplitHandle(h); p != 0x12345678 || l != 0x9abcdef0 {
		t.Errorf("SplitHandle = %#x %#x", p, l)
	}
}
