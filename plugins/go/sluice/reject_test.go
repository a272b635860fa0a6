package sluice

import (
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// TestReject: a rejected row leaves the default output and goes to the
// dead-letter output with its cells unchanged and the reason appended; the
// result passes the host's validation.
func TestReject(t *testing.T) {
	h, err := NewHarness(&funcPlugin{process: func(p *Page, o *Output) error {
		return o.Reject(p.Row(1), "name is not allowed")
	}})
	if err != nil {
		t.Fatal(err)
	}
	in := testPage(3)
	res, err := h.Process(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Validate(in.Schema); err == nil {
		err = abi.CheckRejected(res)
	}
	if err != nil {
		t.Fatalf("the host would refuse the result: %v", err)
	}
	var rejected *abi.Page
	var sel []byte
	for _, s := range res.Sections {
		switch {
		case s.Output == abi.RejectedOutput:
			rejected = s.Rows
		case s.Output == "" && s.Kind == abi.SectionSelect:
			sel = s.Bitmap
		}
	}
	if sel == nil || abi.BitmapGet(sel, 1) || !abi.BitmapGet(sel, 0) || !abi.BitmapGet(sel, 2) {
		t.Fatalf("default output selection %08b, want rows 0 and 2", sel)
	}
	if rejected == nil || rejected.NumRows() != 1 {
		t.Fatalf("dead-letter output: %+v", rejected)
	}
	cols := rejected.Schema.Columns
	if len(cols) != 3 || cols[2].Name != abi.RejectReasonColumn || cols[0].Name != "id" {
		t.Fatalf("dead-letter schema %s", rejected.Schema)
	}
	r := rejected.Row(0)
	id, _ := r.Cell(0)
	name, _ := r.Cell(1)
	reason, _ := r.Cell(2)
	if v, _ := abi.DecodeInt(id); v != 1 || string(name) != "n1" || string(reason) != "name is not allowed" {
		t.Fatalf("rejected row: id %x name %q reason %q", id, name, reason)
	}
}

// TestRejectedOutputValidated: a dead-letter section without the reason
// column is refused by the host's validation.
func TestRejectedOutputValidated(t *testing.T) {
	h, err := NewHarness(&funcPlugin{process: func(p *Page, o *Output) error {
		return o.EmitRow(abi.RejectedOutput, p.Row(0))
	}})
	if err != nil {
		t.Fatal(err)
	}
	in := testPage(2)
	res, err := h.Process(in)
	if err == nil {
		err = abi.CheckRejected(res)
	}
	if err == nil {
		t.Fatal("a dead-letter row without sluice_reject_reason was accepted")
	}
	t.Log(err)
}
