package main

import (
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

// The example of plugins/examples/README.md, "project".
func TestReadmeExample(t *testing.T) {
	h, err := sluice.NewHarness(&project{},
		abi.KV{Key: "columns", Value: "id"}, abi.KV{Key: "columns", Value: "email:contact"}, abi.KV{Key: "compute", Value: "len:name"})
	if err != nil {
		t.Fatal(err)
	}
	text := abi.Type{ID: abi.TypeVarchar}
	b := abi.NewPageBuilder(abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "name", Type: text}, abi.Column{Name: "email", Type: text}), 1, 0)
	for _, name := range [][]byte{[]byte("Zoë"), {}, nil} {
		b.AppendCell(abi.AppendInt(nil, 1))
		b.AppendCell(name)
		b.AppendCell([]byte("z@x.org"))
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	page := b.Page()
	res, err := h.Process(page)
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Sections[0].Rows
	if got := rows.Schema.String(); got != "id int, contact text, name_len int" {
		t.Fatalf("schema %s", got)
	}
	for i, want := range []int32{3, 0, -1} {
		c, null := rows.Row(i).Cell(2)
		if want < 0 {
			if !null {
				t.Errorf("row %d: name_len not NULL", i)
			}
			continue
		}
		if v, _ := abi.DecodeInt(c); v != want {
			t.Errorf("row %d: name_len %d, want %d", i, v, want)
		}
	}

	h, _ = sluice.NewHarness(&project{}, abi.KV{Key: "columns", Value: "id"}, abi.KV{Key: "compute", Value: "upper:name"}, abi.KV{Key: "compute_as", Value: "NAME"})
	res, _ = h.Process(page)
	if c, _ := res.Sections[0].Rows.Row(0).Cell(1); string(c) != "ZOë" {
		t.Errorf("upper: %q", c)
	}
	if _, err := sluice.NewHarness(&project{}, abi.KV{Key: "columns", Value: "a"}, abi.KV{Key: "columns", Value: "b:a"}); err == nil ||
		err.(*sluice.ResultError).Message != `project: output column "a" appears twice` {
		t.Errorf("duplicate: %v", err)
	}
}
