package pager

import (
	"context"
	"io"
	"slices"
	"testing"
	"unsafe"
)

// Pages given back with Delivery.Release are built into again; pages not
// released are never touched. Every delivered page's rows are checked when
// it arrives, and the rows of the pages kept are checked again at the end.
//
// Reuse is proven by the identity of the rows buffers. The consumer keeps
// every page's Data slice (without reading a released one), so the garbage
// collector cannot hand a freed buffer to a new allocation at the same
// address. Releasing page k happens before Next(k+1), which returns the
// credit that page k+1+Prefetch of the split is built with; so for every k,
// one of the pages k+1 .. k+1+Prefetch of its split must reuse a buffer.
func TestReleasedPagesAreReusedKeptPagesNeverTouched(t *testing.T) {
	for _, tc := range []struct {
		name           string
		splits, pages  int
		conc, prefetch int
		keep           func(k int) bool // do not release page k (0-based within its split)
		twice          bool             // release every released page twice
	}{
		{name: "every page released", splits: 1, pages: 40, conc: 1, prefetch: 1},
		{name: "two splits, deep prefetch", splits: 2, pages: 30, conc: 2, prefetch: 2},
		{name: "every third page kept", splits: 2, pages: 30, conc: 2, prefetch: 1, keep: func(k int) bool { return k%3 == 0 }},
		{name: "released twice", splits: 1, pages: 30, conc: 1, prefetch: 1, twice: true},
		{name: "nothing released", splits: 1, pages: 10, conc: 1, prefetch: 1, keep: func(int) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer leakCheck(t)()
			data := evenPages(tc.splits, tc.pages, 50) // every page the same size
			f := newFake(data)
			p := startPager(t, f, evenPlan(t, tc.splits), Options{Stream: "s", Concurrency: tc.conc, Prefetch: tc.prefetch}, nil)
			defer p.Close()
			type got struct {
				buf  []byte // the page's Data, kept so its address stays unique
				kept *Delivery
			}
			bySplit := map[int][]got{}
			for {
				d, err := p.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				k := int(d.Position.Pages) - 1
				if v, want := pageValues(t, d.Page), data[d.Split.Index][k]; !slices.Equal(v, want) {
					t.Fatalf("split %d page %d: rows %v, want %v (a buffer in use was overwritten)", d.Split.Index, k, v, want)
				}
				g := got{buf: d.Page.Data}
				if tc.keep != nil && tc.keep(k) {
					g.kept = &d
				} else {
					d.Release()
					if tc.twice {
						d.Release()
					}
				}
				bySplit[d.Split.Index] = append(bySplit[d.Split.Index], g)
			}
			id := func(b []byte) *byte { return unsafe.SliceData(b) }
			for s, gs := range bySplit {
				if len(gs) != tc.pages {
					t.Fatalf("split %d: %d pages, want %d", s, len(gs), tc.pages)
				}
				reused := make([]bool, len(gs))
				for k, g := range gs {
					for j := range k {
						if id(gs[j].buf) != id(g.buf) {
							continue
						}
						if gs[j].kept != nil {
							t.Fatalf("split %d: page %d was built in the buffer of page %d, which was never released", s, k, j)
						}
						reused[k] = true
					}
				}
				for k, g := range gs {
					if g.kept == nil {
						continue
					}
					if v, want := pageValues(t, g.kept.Page), data[s][k]; !slices.Equal(v, want) {
						t.Fatalf("split %d: kept page %d changed to %v, want %v", s, k, v, want)
					}
				}
				if tc.keep != nil {
					continue // a kept page leaves a gap: no window argument
				}
				for k := 0; k+1+tc.prefetch < len(gs); k++ {
					if !slices.Contains(reused[k+1:k+2+tc.prefetch], true) {
						t.Fatalf("split %d: none of pages %d..%d reused a released buffer (reused: %v)", s, k+1, k+1+tc.prefetch, reused)
					}
				}
			}
		})
	}
}
