package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
)

// Fuzz targets: run one with, for example,
//
//	go test ./abi -run '^$' -fuzz FuzzDecodeResult -fuzztime 20s
//
// Each decoder must never panic, and whatever it accepts must re-encode to
// the same bytes.

func seedPages(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"scalars", "collections", "tiny"} {
		out = append(out, readHex(f, name+".page.hex"))
	}
	return out
}

func FuzzDecodePage(f *testing.F) {
	for _, b := range seedPages(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("SLP1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePage(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded page fails Validate: %v", err)
		}
		if enc := p.AppendEncoded(nil); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
		for _, r := range p.Rows() {
			for c, cell := range r.Cells() {
				// Rendering must not panic, whatever the bytes.
				_, _ = AppendJSON(nil, p.Schema.Columns[c].Type, cell)
			}
		}
		s := p.Select(bytes.Repeat([]byte{0x55}, BitmapLen(p.NumRows())))
		if err := s.Validate(); err != nil {
			t.Fatalf("Select made an invalid page: %v", err)
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	for _, c := range []struct {
		name string
		rows int
	}{{"scalars", 3}, {"tiny", 2}, {"error", 3}} {
		b := readHex(f, c.name+".result.hex")
		f.Add(b, c.rows)
		f.Add(b[:len(b)-1], c.rows)
	}
	f.Add([]byte("SLR1\x00\x00\x00\x00"), -1)
	f.Fuzz(func(t *testing.T, b []byte, rows int) {
		if rows > 1<<20 || rows < -1 {
			rows = -1
		}
		lim := Limits{MaxBytes: 1 << 20, MaxRowsPerSection: 1 << 16, MaxSections: 256}
		r, err := DecodeResult(b, rows, lim)
		if err != nil {
			return
		}
		enc := r.AppendEncoded(nil)
		if _, stopped := r.Error(); stopped {
			// Decoding stopped at the ERROR section: the prefix matches,
			// but for the section count.
			if len(enc) > len(b) || !bytes.Equal(enc[8:], b[8:len(enc)]) || !bytes.Equal(enc[:4], b[:4]) {
				t.Fatalf("re-encoding differs from the input prefix:\n in %x\nout %x", b, enc)
			}
		} else if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
		for _, s := range r.Sections {
			if s.Kind == SectionRows {
				if err := s.Rows.Validate(); err != nil {
					t.Fatalf("decoded ROWS section is invalid: %v", err)
				}
			}
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add(readHex(f, "config.hex"))
	f.Add(EncodeConfig(nil))
	f.Add(EncodeConfig([]KV{{"", ""}, {"a.b", "x\x00y"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		kvs, err := DecodeConfig(b)
		if err != nil {
			return
		}
		if enc := EncodeConfig(kvs); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
	})
}

func FuzzDecodeTypeDesc(f *testing.F) {
	for _, s := range []string{"int", "map<text, frozen<list<int>>>", "ks.addr{street text, zip int}", "vector<float, 3>",
		"tuple<int, tuple<text, 'x'>>", "set<varint>"} {
		f.Add(EncodeTypeDesc(mustType(f, s)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, n, err := DecodeTypeDesc(b)
		if err != nil {
			return
		}
		if err := typ.Validate(); err != nil {
			t.Fatalf("decoded type is invalid: %v", err)
		}
		if enc := EncodeTypeDesc(typ); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b[:n], enc)
		}
		// Describe/ParseType round trip (when the names are plain enough to
		// be written in CQL syntax).
		if again, err := ParseType(typ.Describe()); err == nil && !again.Equal(typ) {
			t.Fatalf("ParseType(Describe()) = %v, want %v", again.Describe(), typ.Describe())
		}
	})
}

// isCanonical reports whether cell is in the form EncodeJSON writes, so that
// EncodeJSON(AppendJSON(cell)) must give it back byte for byte.
func isCanonical(t Type, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	switch t.ID {
	case TypeBoolean:
		return b[0] <= 1
	case TypeVarint:
		return bytes.Equal(AppendVarint(nil, decodeTwos(b)), b)
	case TypeDecimal:
		return len(b) > 4 && bytes.Equal(AppendVarint(nil, decodeTwos(b[4:])), b[4:])
	case TypeFloat:
		f := math.Float32frombits(binary.BigEndian.Uint32(b))
		return f == f || binary.BigEndian.Uint32(b) == 0x7fc00000
	case TypeDouble:
		f := math.Float64frombits(binary.BigEndian.Uint64(b))
		return f == f || binary.BigEndian.Uint64(b) == 0x7ff8000000000000
	case TypeList, TypeSet, TypeMap:
		var es [][]byte
		if t.ID == TypeMap {
			es, _ = SplitMap(b, nil)
		} else {
			es, _ = SplitList(b, nil)
		}
		for i, e := range es {
			et := t.Elems[0]
			if t.ID == TypeMap {
				et = t.Elems[i%2]
			}
			if e != nil && !isCanonical(et, e) {
				return false
			}
		}
	case TypeTuple, TypeUDT:
		es, _ := SplitTuple(b, len(t.Elems), nil)
		if len(es) != len(t.Elems) {
			return false
		}
		for i, e := range es {
			if e != nil && !isCanonical(t.Elems[i], e) {
				return false
			}
		}
	case TypeVector:
		es, _ := SplitVector(b, t.Elems[0], t.Dim, nil)
		for _, e := range es {
			if !isCanonical(t.Elems[0], e) {
				return false
			}
		}
	}
	return true
}

func FuzzAppendJSON(f *testing.F) {
	for _, c := range cassandraCells {
		f.Add(EncodeTypeDesc(mustType(f, c.typ)), unhex(f, c.hex))
	}
	for _, name := range []string{"scalars", "collections"} {
		p, err := DecodePage(readHex(f, name+".page.hex"))
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range p.Rows() {
			for c, cell := range r.Cells() {
				if cell != nil {
					f.Add(EncodeTypeDesc(p.Schema.Columns[c].Type), cell)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, desc, cell []byte) {
		typ, _, err := DecodeTypeDesc(desc)
		if err != nil {
			return
		}
		js, err := AppendJSON(nil, typ, cell)
		valid := ValidateValue(typ, cell)
		if err != nil {
			return
		}
		if valid != nil {
			t.Fatalf("AppendJSON accepted what ValidateValue refuses (%v): %x", valid, cell)
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %s", js)
		}
		d := json.NewDecoder(bytes.NewReader(js))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		back, err := EncodeJSON(typ, v)
		if err != nil {
			t.Fatalf("EncodeJSON(%s) of AppendJSON(%x): %v", js, cell, err)
		}
		if isCanonical(typ, cell) && !bytes.Equal(back, cell) {
			t.Fatalf("round trip of canonical %s cell %x gave %x (JSON %s)", typ, cell, back, js)
		}
		js2, err := AppendJSON(nil, typ, back)
		if err != nil || !bytes.Equal(js2, js) {
			t.Fatalf("JSON of the re-encoded cell differs: %s vs %s, %v", js2, js, err)
		}
	})
}

func FuzzEncodeJSON(f *testing.F) {
	for _, c := range cassandraCells {
		f.Add(c.typ, c.json)
	}
	f.Add("map<text, int>", `{"b":2,"a":1}`)
	f.Add("decimal", `"-1.5e-7"`)
	f.Add("timestamp", `"2024-01-02T04:04:05.1+01:00"`)
	f.Fuzz(func(t *testing.T, typStr, in string) {
		typ, err := ParseType(typStr)
		if err != nil {
			return
		}
		d := json.NewDecoder(strings.NewReader(in))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		cell, err := EncodeJSON(typ, v)
		if err != nil {
			return
		}
		if err := ValidateValue(typ, cell); err != nil {
			t.Fatalf("EncodeJSON(%s, %s) = %x, invalid: %v", typ, in, cell, err)
		}
		js, err := AppendJSON(nil, typ, cell)
		if err != nil {
			t.Fatalf("AppendJSON of EncodeJSON(%s, %s) = %x: %v", typ, in, cell, err)
		}
		d = json.NewDecoder(bytes.NewReader(js))
		d.UseNumber()
		var v2 any
		if err := d.Decode(&v2); err != nil {
			t.Fatal(err)
		}
		back, err := EncodeJSON(typ, v2)
		if err != nil || !bytes.Equal(back, cell) {
			t.Fatalf("EncodeJSON(AppendJSON(%x)) = %x, %v (JSON %s)", cell, back, err, js)
		}
	})
}

func FuzzValueText(f *testing.F) {
	for _, s := range []string{"1y2mo3d4h5m6s7ms8us9ns", "-3d", "0s", "12.340", "1E+3", "03:04:05.123456789", "01:02:03", "550e8400-e29b-41d4-a716-446655440000"} {
		f.Add(s, []byte{0x1c, 0x06, 0xfc, 0x1a, 0xc0, 0x04, 0xa5, 0xc6, 0x12})
	}
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if d, err := ParseDuration(s); err == nil {
			txt, err := FormatDuration(d)
			if err != nil {
				t.Fatalf("FormatDuration(ParseDuration(%q)): %v", s, err)
			}
			if d2, err := ParseDuration(txt); err != nil || d2 != d {
				t.Fatalf("duration %q → %+v → %q → %+v, %v", s, d, txt, d2, err)
			}
		}
		if u, scale, err := ParseDecimal(s); err == nil && len(s) < 200 {
			u2, scale2, err := ParseDecimal(string(appendDecimalText(nil, u, scale)))
			if err != nil || u2.Cmp(u) != 0 || scale2 != scale {
				t.Fatalf("decimal %q: %v %d → %v %d, %v", s, u, scale, u2, scale2, err)
			}
		}
		if ns, err := ParseTime(s); err == nil {
			if ns < 0 || ns >= MaxTime {
				t.Fatalf("ParseTime(%q) = %d out of range", s, ns)
			}
			if ns2, err := ParseTime(FormatTime(ns)); err != nil || ns2 != ns {
				t.Fatalf("time %q: %d → %d, %v", s, ns, ns2, err)
			}
		}
		if u, err := ParseUUID(s); err == nil && !strings.EqualFold(FormatUUID(u), s) {
			t.Fatalf("uuid %q → %q", s, FormatUUID(u))
		}
		if d, err := DecodeDuration(b); err == nil {
			if enc := AppendDuration(nil, d); !bytes.Equal(enc, b) {
				t.Fatalf("duration %x → %+v → %x", b, d, enc)
			}
		}
		if v, n, err := DecodeUnsignedVInt(b); err == nil {
			if enc := AppendUnsignedVInt(nil, v); !bytes.Equal(enc, b[:n]) {
				t.Fatalf("vint %x → %d → %x", b[:n], v, enc)
			}
		}
		if v, err := DecodeVarint(b); err == nil {
			if v2 := decodeTwos(AppendVarint(nil, v)); v2.Cmp(v) != 0 {
				t.Fatalf("varint %x → %v → %v", b, v, v2)
			}
			if len(b) <= 8 {
				if enc := appendVarintInt64(nil, v.Int64()); !bytes.Equal(enc, AppendVarint(nil, v)) {
					t.Fatalf("appendVarintInt64(%v) = %x", v, enc)
				}
			}
		}
		_ = big.NewInt
	})
}
