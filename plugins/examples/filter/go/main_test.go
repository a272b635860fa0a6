package main

import (
	"math"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func cfg(column, op, value string) []abi.KV {
	kvs := []abi.KV{{Key: "column", Value: column}, {Key: "op", Value: op}}
	if value != "-" {
		kvs = append(kvs, abi.KV{Key: "value", Value: value})
	}
	return kvs
}

// kept runs the filter on one column of cells (nil = NULL) and returns the
// kept rows as a string of 0 and 1, or the error message.
func kept(t *testing.T, typ abi.Type, kvs []abi.KV, cells ...[]byte) string {
	t.Helper()
	h, err := sluice.NewHarness(&filter{}, kvs...)
	if err != nil {
		return err.(*sluice.ResultError).Message
	}
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "c", Type: typ}), 1, 0)
	for _, c := range cells {
		b.AppendCell(c)
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.Process(b.Page())
	if err != nil {
		return err.(*sluice.ResultError).Message
	}
	var sb strings.Builder
	for i := range len(cells) {
		if abi.BitmapGet(res.Sections[0].Bitmap, i) {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

// The examples of plugins/examples/README.md, "filter".
func TestReadmeExamples(t *testing.T) {
	i32 := func(v int32) []byte { return abi.AppendInt(nil, v) }
	ms := func(v int64) []byte { return abi.AppendTimestamp(nil, v) }
	tests := []struct {
		name  string
		typ   abi.Type
		kvs   []abi.KV
		cells [][]byte
		want  string
	}{
		{"int >= 18", abi.Type{ID: abi.TypeInt}, cfg("c", ">=", "18"), [][]byte{i32(17), i32(18), nil, {}}, "0100"},
		{"text < b", abi.Type{ID: abi.TypeVarchar}, cfg("c", "<", "b"), [][]byte{[]byte("a"), []byte("b"), {}, []byte("ab")}, "1011"},
		{"float == 0.1", abi.Type{ID: abi.TypeFloat}, cfg("c", "==", "0.1"), [][]byte{abi.AppendFloat(nil, 0.1), abi.AppendFloat(nil, float32(math.NaN()))}, "10"},
		{"NaN != x", abi.Type{ID: abi.TypeDouble}, cfg("c", "!=", "1"), [][]byte{abi.AppendDouble(nil, math.NaN()), abi.AppendDouble(nil, 1)}, "10"},
		{"timestamp <= RFC 3339", abi.Type{ID: abi.TypeTimestamp}, cfg("c", "<=", "1970-01-01T00:00:01.5009+00:00"), [][]byte{ms(1500), ms(1501)}, "10"},
		{"tinyint out of range", abi.Type{ID: abi.TypeTinyint}, cfg("c", "==", "200"), nil, `filter: value "200" is out of range for tinyint`},
		{"set unsupported", abi.SetOf(abi.Type{ID: abi.TypeVarchar}), cfg("c", "==", "x"), nil, `filter: column "c" has type set, which filter cannot compare (supported: tinyint, smallint, int, bigint, counter, float, double, boolean, ascii, text, timestamp, date, time)`},
		{"is_null on a set", abi.SetOf(abi.Type{ID: abi.TypeVarchar}), cfg("c", "is_null", "-"), [][]byte{nil, {0, 0, 0, 0}}, "10"},
		{"malformed cell", abi.Type{ID: abi.TypeInt}, cfg("c", "==", "1"), [][]byte{i32(1), {1}}, `filter: row 1: column "c": invalid int cell of 1 bytes`},
		{"bad op", abi.Type{ID: abi.TypeInt}, cfg("c", "~", "1"), nil, `filter: op "~" is not one of ==, !=, <, <=, >, >=, is_null, not_null`},
		{"value with is_null", abi.Type{ID: abi.TypeInt}, cfg("c", "is_null", "1"), nil, `filter: op "is_null" takes no config key "value"`},
		{"unknown key", abi.Type{ID: abi.TypeInt}, append(cfg("c", "==", "1"), abi.KV{Key: "x", Value: "1"}), nil, `filter: unknown config key "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kept(t, tt.typ, tt.kvs, tt.cells...); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
