package host

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// TestBatchEncodeMatchesSelect: encoding a selection straight into a buffer
// gives exactly the bytes of the materialized page's encoding.
func TestBatchEncodeMatchesSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 63, 64, 65, 300} {
		page := makePage(t, 5, n)
		for trial := range 20 {
			bm := make([]byte, abi.BitmapLen(n))
			for i := range n {
				switch trial % 4 {
				case 0: // random
					if rng.IntN(2) == 0 {
						abi.BitmapSet(bm, i)
					}
				case 1: // runs
					if (i/5)%2 == 0 {
						abi.BitmapSet(bm, i)
					}
				case 2: // sparse
					if rng.IntN(10) == 0 {
						abi.BitmapSet(bm, i)
					}
				case 3: // all but one
					if i != n/2 {
						abi.BitmapSet(bm, i)
					}
				}
			}
			b := NewBatch(page, bm)
			want := b.Materialize().AppendEncoded(nil)
			total, data := b.encodedLen()
			if total != len(want) {
				t.Fatalf("n=%d trial %d: encodedLen %d, want %d", n, trial, total, len(want))
			}
			got := make([]byte, total)
			if !b.encodeTo(got, data) {
				t.Fatalf("n=%d trial %d: encodeTo failed", n, trial)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d trial %d: encodings differ", n, trial)
			}
			if _, err := abi.DecodePage(got); err != nil {
				t.Fatalf("n=%d trial %d: %v", n, trial, err)
			}
		}
	}
}

// TestChainComposesSelections: two filters in a row select rows 0, 4, 8...
// of the original page, as a view over it: no row copied on the host.
func TestChainComposesSelections(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	m := compileFixture(t, r, "filter_even")
	chain := NewChain(instantiate(t, m, InstanceConfig{}), instantiate(t, m, InstanceConfig{}),
		instantiate(t, compileFixture(t, r, "passthrough"), InstanceConfig{}))
	defer chain.Close(context.Background())
	page := makePage(t, 2, 23)
	out, err := chain.Process(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	def := out.Default()
	if len(def) != 1 || def[0].Page() != page || def[0].Rows() != 6 {
		t.Fatalf("default = %+v, want 6 rows selected over the input page", def)
	}
	var idx []int
	for i := range def[0].Indexes() {
		idx = append(idx, i)
	}
	if want := []int{0, 4, 8, 12, 16, 20}; !equalInts(idx, want) {
		t.Errorf("rows %v, want %v", idx, want)
	}
}

// TestReportedRowIsSourceRow: a plugin fed a selection reports a row of the
// page it saw; the error names the row of the source page.
func TestReportedRowIsSourceRow(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	chain := NewChain(instantiate(t, compileFixture(t, r, "filter_even"), InstanceConfig{}),
		instantiate(t, compileFixture(t, r, "error_row"), InstanceConfig{}))
	defer chain.Close(context.Background())
	_, err := chain.Process(context.Background(), makePage(t, 8, 10))
	pe := asPluginError(t, err, KindPluginReported)
	if pe.Row != 4 || pe.Page != 8 || pe.Plugin != "error_row" {
		t.Errorf("row %d page %d plugin %s, want row 4 (the 3rd kept row) of page 8", pe.Row, pe.Page, pe.Plugin)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
