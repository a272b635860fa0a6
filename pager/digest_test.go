package pager

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

func digestPage(t testing.TB, from, to int) *abi.Page {
	schema := abi.NewSchema(
		abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}},
		abi.Column{Name: "name", Type: abi.Type{ID: abi.TypeVarchar}},
		abi.Column{Name: "note", Type: abi.Type{ID: abi.TypeVarchar}},
	)
	b := abi.NewPageBuilder(schema, 1, 0)
	for i := from; i < to; i++ {
		b.AppendCell([]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		b.AppendCell([]byte(fmt.Sprintf("customer-%06d", i)))
		if i%7 == 0 {
			b.AppendNull()
		} else {
			b.AppendCell([]byte(fmt.Sprintf("a note of some length for row %d, as a text column holds", i)))
		}
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Page()
}

// The digest of a range does not depend on where its pages end, and it
// tells a null from an empty cell and a changed cell from the original.
func TestPageDigestIsPerRow(t *testing.T) {
	whole := PageDigest(digestPage(t, 0, 1000))
	if split := PageDigest(digestPage(t, 0, 337)) + PageDigest(digestPage(t, 337, 1000)); split != whole {
		t.Fatalf("pages 0..337 + 337..1000 = %x, one page %x", split, whole)
	}
	if PageDigest(digestPage(t, 0, 999)) == whole || PageDigest(digestPage(t, 1, 1001)) == whole {
		t.Fatal("a missing or other row leaves the digest unchanged")
	}
}

// BenchmarkPageDigest: the digest's cost per page of 1000 rows, next to
// BenchmarkPageBuild (building the same page, which the pager does for
// every page anyway): the ratio is what digests add to decoding.
func BenchmarkPageDigest(b *testing.B) {
	p := digestPage(b, 0, 1000)
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	for b.Loop() {
		_ = PageDigest(p)
	}
}

func BenchmarkPageBuild(b *testing.B) {
	p := digestPage(b, 0, 1000)
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	bld := abi.NewPageBuilder(p.Schema, 1, 0)
	for b.Loop() {
		bld.Reset(p.Schema, 1, 0)
		for _, r := range p.Rows() {
			for c := range r.NumCols() {
				cell, null := r.Cell(c)
				if null {
					bld.AppendNull()
				} else {
					bld.AppendCell(cell)
				}
			}
			_ = bld.EndRow()
		}
		bld.Recycle(bld.Page())
	}
}
