package sluice

import (
	"math/big"
	"strings"
	"testing"
)

func TestDecimalAndVarintCompareExactly(t *testing.T) {
	d := func(u int64, scale int32) Decimal { return Decimal{Unscaled: big.NewInt(u), Scale: scale} }
	cases := []struct {
		a, b Decimal
		want int
	}{
		{d(150, 2), d(15, 1), 0}, {d(15, 1), d(-2, 2), 1}, {d(0, 0), d(0, 3), 0}, {d(150, 0), d(15, 1), 1}, {d(-2, 0), d(-2, 1), -1},
	}
	for _, c := range cases {
		if got := c.a.Cmp(c.b); got != c.want {
			t.Errorf("%v.Cmp(%v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for text, want := range map[string]int{"1.5": 0, "1.50000": 0, "15e-1": 0, "1.49": 1, "2": -1, "-7": 1, "0.0": 1} {
		if got, err := d(150, 2).CmpText(text); err != nil || got != want {
			t.Errorf("1.50 vs %s = %d, %v; want %d", text, got, err, want)
		}
	}
	big127, _ := new(big.Int).SetString("170141183460469231731687303715884105727", 10)
	if got, _ := CmpVarintText(big127, "170141183460469231731687303715884105728"); got != -1 {
		t.Errorf("big varint: %d", got)
	}
	if got, _ := CmpVarintText(big.NewInt(150), "1.5e2"); got != 0 {
		t.Errorf("150 vs 1.5e2: %d", got)
	}
	for _, bad := range []string{"", "-", "1.2.3", "1e", "x", "1e+", "1e+-2"} {
		if _, err := CmpVarintText(big.NewInt(1), bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The typed harness: pages from Go values and JSON lines, outcomes read
// by column name.
func TestHarnessTypedPagesAndOutcomes(t *testing.T) {
	schema, err := ParseSchema("# the fixture\nid int\nage int\nname text\n")
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHarness(&preparer{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Run(h.Page(schema).Row(1, 17, "a").Row(2, 18, nil).JSONL(`{"id":3,"age":30}` + "\n\n" + `{"id":4}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Kept(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("Kept = %v, want [1 2]", got)
	}
	if _, err := h.Run(h.Page(schema).JSONL(`{"nope":1}`)); err == nil || !strings.Contains(err.Error(), `"nope" is not a column`) {
		t.Errorf("unknown column: %v", err)
	}
	if _, err := h.Run(h.Page(schema).Row(1, "x", nil)); err == nil || !strings.Contains(err.Error(), `column "age"`) {
		t.Errorf("bad value: %v", err)
	}
}
