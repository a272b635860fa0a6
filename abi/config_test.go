package abi

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestConfigRoundTrip(t *testing.T) {
	kvs := []KV{{"a", "1"}, {"a", "2"}, {"b.c", "héllo"}, {"empty", ""}}
	enc := EncodeConfig(kvs)
	got, err := DecodeConfig(enc)
	if err != nil || !reflect.DeepEqual(got, kvs) {
		t.Fatalf("DecodeConfig = %v, %v", got, err)
	}
	if !bytes.Equal(EncodeConfig(got), enc) {
		t.Fatal("re-encoding differs")
	}
	if got, err := DecodeConfig(EncodeConfig(nil)); err != nil || len(got) != 0 {
		t.Fatalf("empty config: %v, %v", got, err)
	}
	if v := ConfigValues(kvs, "a"); !reflect.DeepEqual(v, []string{"1", "2"}) {
		t.Errorf("ConfigValues = %v", v)
	}
	if v, ok := ConfigValue(kvs, "b.c"); !ok || v != "héllo" {
		t.Errorf("ConfigValue = %q, %v", v, ok)
	}
	if _, ok := ConfigValue(kvs, "zz"); ok {
		t.Error("ConfigValue found a missing key")
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	hdr := func(n uint32) []byte { return appendU32(appendU32(nil, ConfigMagic), n) }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", []byte{1}, "abi: config: 1 bytes, shorter than the 8-byte header"},
		{"magic", append([]byte("SLR1"), 0, 0, 0, 0), `abi: config: magic 0x31524C53, want 0x31434C53 ("SLC1")`},
		{"count", hdr(1 << 31), "abi: config: n=2147483648 pairs need at least 17179869184 bytes, 0 left"},
		{"key length", append(hdr(1), append(appendU32(nil, 50), 0, 0, 0, 0)...), "abi: config: pair 0 key at byte 8: length 50 beyond the 4 bytes left"},
		{"value utf8", append(hdr(1), append(appendStr(nil, "k"), appendStr(nil, "\xff")...)...), `abi: config: pair 0 value (key "k") at byte 13: not valid UTF-8`},
		{"trailing", append(EncodeConfig([]KV{{"k", "v"}}), 0), "abi: config: 1 trailing bytes after 1 pairs"},
	}
	for _, c := range cases {
		_, err := DecodeConfig(c.b)
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

func TestFlattenConfig(t *testing.T) {
	const doc = `
name = "x"
n = 42
neg = -7
f = 0.5
big = 1e300
inf = inf
nan = nan
yes = true
list = ["b", "a", "c"]
nums = [3, 1]
empty = []
odt = 1979-05-27T07:32:00Z
odt2 = 1979-05-27T00:32:00.999-07:00
ldt = 1979-05-27T07:32:00
ld = 1979-05-27
lt = 07:32:00.5
[rename]
old = "new"
"Other" = "x"
[deep.er]
k = 1
`
	var v map[string]any
	if _, err := toml.Decode(doc, &v); err != nil {
		t.Fatal(err)
	}
	got, err := FlattenConfig(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{
		{"big", "1e+300"}, {"deep.er.k", "1"}, {"f", "0.5"}, {"inf", "inf"}, {"ld", "1979-05-27"},
		{"ldt", "1979-05-27T07:32:00"}, {"list", "b"}, {"list", "a"}, {"list", "c"}, {"lt", "07:32:00.5"},
		{"n", "42"}, {"name", "x"}, {"nan", "nan"}, {"neg", "-7"}, {"nums", "3"}, {"nums", "1"},
		{"odt", "1979-05-27T07:32:00Z"}, {"odt2", "1979-05-27T00:32:00.999-07:00"},
		{"rename.Other", "x"}, {"rename.old", "new"}, {"yes", "true"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FlattenConfig:\n got %v\nwant %v", got, want)
	}
	for _, c := range []struct{ doc, want string }{
		{"[[t]]\na = 1", `abi: config key "t": arrays of tables are not supported`},
		{"a = [{x = 1}]", `abi: config key "a": arrays of tables are not supported`},
		{"a = [[1], [2]]", `abi: config key "a[0]": arrays of arrays are not supported`},
		{"[t]\n\"a.b\" = 1", `abi: config key "a.b" in table "t" contains '.'`},
	} {
		var v map[string]any
		if _, err := toml.Decode(c.doc, &v); err != nil {
			t.Fatal(err)
		}
		if _, err := FlattenConfig(v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.doc, err, c.want)
		}
	}
	// Values built by hand rather than by the TOML decoder.
	got, err = FlattenConfig(map[string]any{"i": 3, "u": uint8(4), "f32": float32(0.25), "t": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil || !reflect.DeepEqual(got, []KV{{"f32", "0.25"}, {"i", "3"}, {"t", "2024-01-02T03:04:05Z"}, {"u", "4"}}) {
		t.Fatalf("hand-built: %v, %v", got, err)
	}
	if _, err := FlattenConfig(map[string]any{"x": struct{}{}}); err == nil || !strings.Contains(err.Error(), `config key "x": unsupported value type struct {}`) {
		t.Fatalf("unsupported type: %v", err)
	}
}
