package main

import (
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

// The table of plugins/examples/README.md, "redact" (email mode).
func TestReadmeExamples(t *testing.T) {
	cases := []struct {
		in   []byte
		want string // "NULL" for NULL
	}{
		{[]byte("john.doe@example.com"), "j***@example.com"},
		{[]byte("élodie@exemple.fr"), "é***@exemple.fr"},
		{[]byte("a@b@c.org"), "a***@c.org"},
		{[]byte("@example.com"), "***@example.com"},
		{[]byte("not-an-email"), "***"},
		{[]byte{}, "***"},
		{[]byte("j***@example.com"), "j***@example.com"},
		{nil, "NULL"},
	}
	h, err := sluice.NewHarness(&redact{}, abi.KV{Key: "columns", Value: "email"}, abi.KV{Key: "mode", Value: "email"})
	if err != nil {
		t.Fatal(err)
	}
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "email", Type: abi.Type{ID: abi.TypeVarchar}}), 1, 0)
	for _, c := range cases {
		b.AppendCell(c.in)
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.Process(b.Page())
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Sections[0].Rows
	for i, c := range cases {
		cell, null := rows.Row(i).Cell(0)
		got := string(cell)
		if null {
			got = "NULL"
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}

	// Nothing changes: the empty result, every row passes.
	b.Reset(b.Schema(), 2, 0)
	b.AppendCell([]byte("***"))
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	res, err = h.Process(b.Page())
	if err != nil || res.Sections[0].Kind != abi.SectionSelect {
		t.Fatalf("unchanged page: %+v, %v", res, err)
	}
}
