package pager

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
)

// fakeSource is the unit-test Source: each split is a fixed list of pages
// of int rows; the paging state is "p<index of the next page>". Hooks make
// pages slow, failing or blocking; every fetch is recorded.
type fakeSource struct {
	schema *abi.Schema
	pages  map[int][][]int32 // split index -> pages -> row values

	// Optional hooks, called at the start of a fetch with the 0-based page
	// index and the attempt number (1-based) of that page.
	delay func(split, page int) time.Duration
	fail  func(split, page, attempt int) error
	block func(split, page int) bool // true: wait for ctx to end
	start func(split, page int)      // observes fetch starts

	mu struct {
		sync.Mutex
		attempts map[[2]int]int      // (split, page) -> attempts
		states   map[[2]int][]string // (split, page) -> the states it was asked with
		fetches  int
		canceled int // fetches that saw ctx end
	}
}

func newFake(pages map[int][][]int32) *fakeSource {
	f := &fakeSource{
		schema: abi.NewSchema(abi.Column{Name: "v", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "s", Type: abi.Type{ID: abi.TypeBlob}}),
		pages:  pages,
	}
	f.mu.attempts = map[[2]int]int{}
	f.mu.states = map[[2]int][]string{}
	return f
}

// evenPages returns nsplits splits of npages pages of size rows each, with
// row values unique over the whole table: split*1e6 + page*1e3 + row.
func evenPages(nsplits, npages, size int) map[int][][]int32 {
	m := map[int][][]int32{}
	for s := 0; s < nsplits; s++ {
		for p := 0; p < npages; p++ {
			var rows []int32
			for r := 0; r < size; r++ {
				rows = append(rows, int32(s*1_000_000+p*1_000+r))
			}
			m[s] = append(m[s], rows)
		}
	}
	return m
}

func (f *fakeSource) Fetch(ctx context.Context, req Request, b *abi.PageBuilder) ([]byte, error) {
	idx := 0
	if len(req.State) > 0 {
		n, err := strconv.Atoi(string(req.State[1:]))
		if err != nil || req.State[0] != 'p' {
			return nil, fmt.Errorf("fake: bad paging state %q", req.State)
		}
		idx = n
	}
	sp := req.Split.Index
	pages := f.pages[sp]
	if idx >= len(pages) && !(idx == 0 && len(pages) == 0) {
		return nil, fmt.Errorf("fake: split %d has no page %d", sp, idx)
	}
	f.mu.Lock()
	key := [2]int{sp, idx}
	f.mu.attempts[key]++
	attempt := f.mu.attempts[key]
	f.mu.states[key] = append(f.mu.states[key], string(req.State))
	f.mu.fetches++
	f.mu.Unlock()
	if f.start != nil {
		f.start(sp, idx)
	}
	if f.block != nil && f.block(sp, idx) {
		<-ctx.Done()
		f.mu.Lock()
		f.mu.canceled++
		f.mu.Unlock()
		return nil, ctx.Err()
	}
	if f.delay != nil {
		if d := f.delay(sp, idx); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				f.mu.Lock()
				f.mu.canceled++
				f.mu.Unlock()
				return nil, ctx.Err()
			}
		}
	}
	if f.fail != nil {
		if err := f.fail(sp, idx, attempt); err != nil {
			// Leave a partial page behind, as a fetch failing mid-page
			// would: the pager must discard it.
			b.Reset(f.schema, 0, uint32(sp))
			b.AppendCell([]byte{0xEE, 0xEE, 0xEE, 0xEE})
			b.AppendCell(nil)
			_ = b.EndRow()
			return nil, err
		}
	}
	b.Reset(f.schema, 0, uint32(sp))
	if len(pages) == 0 {
		return nil, nil
	}
	for _, v := range pages[idx] {
		var cell [4]byte
		binary.BigEndian.PutUint32(cell[:], uint32(v))
		b.AppendCell(cell[:])
		b.AppendCell([]byte{})
		if err := b.EndRow(); err != nil {
			return nil, err
		}
	}
	if idx+1 >= len(pages) {
		return nil, nil
	}
	return []byte("p" + strconv.Itoa(idx+1)), nil
}

func (f *fakeSource) attempts(split, page int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.attempts[[2]int{split, page}]
}

func (f *fakeSource) states(split, page int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.mu.states[[2]int{split, page}]...)
}

func (f *fakeSource) fetches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.fetches
}

// evenPlan returns a valid plan of n token-range splits.
func evenPlan(t testing.TB, n int) Plan {
	t.Helper()
	splits := appendPieces(nil, Split{Lo: MinToken, Hi: MaxToken}, uint64(n))
	for i := range splits {
		splits[i].Index = i
	}
	plan, err := NewPlan("SELECT v FROM fake", nil, splits)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// pageValues decodes the int column of a page.
func pageValues(t testing.TB, p *abi.Page) []int32 {
	t.Helper()
	var out []int32
	for _, r := range p.Rows() {
		c, null := r.Cell(0)
		if null || len(c) != 4 {
			t.Fatalf("page %d: bad cell %x (null %v)", p.Number, c, null)
		}
		out = append(out, int32(binary.BigEndian.Uint32(c)))
	}
	return out
}

// drain reads every delivery until the end, checking page numbers and the
// order of pages within each split.
func drain(t testing.TB, p *Pager, ctx context.Context) ([]Delivery, error) {
	t.Helper()
	var out []Delivery
	last := map[int]uint64{}
	for {
		d, err := p.Next(ctx)
		if err != nil {
			return out, err
		}
		if want := uint64(len(out)) + 1 + p.numberBase(); d.Page.Number != want {
			t.Fatalf("page number %d, want %d", d.Page.Number, want)
		}
		if d.Position.Pages != last[d.Split.Index]+1 && last[d.Split.Index] != 0 {
			t.Fatalf("split %d: page %d after page %d", d.Split.Index, d.Position.Pages, last[d.Split.Index])
		}
		last[d.Split.Index] = d.Position.Pages
		if int(d.Page.Split) != d.Split.Index {
			t.Fatalf("page split %d, delivery split %d", d.Page.Split, d.Split.Index)
		}
		out = append(out, d)
	}
}
