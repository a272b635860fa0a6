package main

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

// The example of plugins/examples/README.md, "count_by": counts, flush
// rows and the exact snapshot bytes.
func TestReadmeExample(t *testing.T) {
	newH := func() *sluice.Harness {
		h, err := sluice.NewHarness(&countBy{counts: map[string]uint64{}}, abi.KV{Key: "column", Value: "country"})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := newH()
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "country", Type: abi.Type{ID: abi.TypeVarchar}}), 1, 0)
	for _, c := range [][]byte{[]byte("FR"), []byte("DE"), nil, []byte("FR")} {
		b.AppendCell(c)
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.Process(b.Page())
	if err != nil || len(res.Sections) != 0 {
		t.Fatalf("process: want every row dropped, got %+v, %v", res, err)
	}
	snap, err := h.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString(strings.Join(strings.Fields(`
		53434231 07000000 636f756e747279 03000000
		ffffffff 0100000000000000
		02000000 4445 0100000000000000
		02000000 4652 0200000000000000`), ""))
	if !bytes.Equal(snap, want) {
		t.Fatalf("snapshot\n got %x\nwant %x", snap, want)
	}
	// A fresh instance restored from the snapshot flushes the same counts.
	h2 := newH()
	if err := h2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for _, hh := range []*sluice.Harness{h, h2} {
		res, err := hh.Flush()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, row := range res.Sections[0].Rows.Rows() {
			v, null := row.Cell(0)
			c, _ := row.Cell(1)
			n, _ := abi.DecodeBigint(c)
			if null {
				v = []byte("NULL")
			}
			got = append(got, string(v)+"="+string(rune('0'+n)))
		}
		if strings.Join(got, " ") != "NULL=1 DE=1 FR=2" {
			t.Errorf("flush: %s", strings.Join(got, " "))
		}
	}
	bad := newH()
	err = bad.Restore(append(snap, 0))
	if err == nil || !strings.HasPrefix(err.(*sluice.ResultError).Message, "count_by: restore: ") {
		t.Errorf("trailing byte: %v", err)
	}
}
