package pager

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
)

// fakeSource is the unit-test Source: each split is a fixed list of pages
// of int rows; the paging state is "p<index of the next page>". Hooks make
// requests slow, failing or blocking, and decodes failing or waiting;
// every request, decode and release is recorded, in order.
type fakeSource struct {
	schema *abi.Schema
	pages  map[int][][]int32 // split index -> pages -> row values

	// Optional request hooks, called at the start of a request with the
	// 0-based page index and the attempt number (1-based) of that page.
	delay func(split, page int) time.Duration
	fail  func(split, page, attempt int) error
	block func(split, page int) bool // true: wait for ctx to end
	start func(split, page int)      // observes request starts

	// decodeFail, if set, fails the decode of a page after some of its
	// rows were appended (the pager must discard them).
	decodeFail func(split, page, attempt int) error
	// decodeBlock, if it returns true, makes the decode of a page wait
	// for ctx to end.
	decodeBlock func(split, page int) bool
	// awaitAhead makes the decode of page k wait until the request of page
	// k+1 has started (when there is one): a pager that does not request
	// ahead fails with errNoAhead instead of finishing page k.
	awaitAhead bool

	mu struct {
		sync.Mutex
		attempts map[[2]int]int           // (split, page) -> request attempts
		states   map[[2]int][]string      // (split, page) -> the states it was requested with
		started  map[[2]int]chan struct{} // (split, page) -> closed at its first request
		events   []string                 // "request s/p", "decode s/p", "decoded s/p", "close s/p", in order
		fetches  int                      // requests
		canceled int                      // requests that saw ctx end
		open     int                      // responses neither decoded nor closed
		inflight map[int]int              // split -> requests running now
		maxInfl  int                      // max of inflight over splits and time
	}
}

// errNoAhead is the decode failure of a fake with awaitAhead when the
// request of the next page never came.
var errNoAhead = errors.New("fake: the request of the next page was not sent while this page was decoded")

func newFake(pages map[int][][]int32) *fakeSource {
	f := &fakeSource{
		schema: abi.NewSchema(abi.Column{Name: "v", Type: abi.Type{ID: abi.TypeInt}}, abi.Column{Name: "s", Type: abi.Type{ID: abi.TypeBlob}}),
		pages:  pages,
	}
	f.mu.attempts = map[[2]int]int{}
	f.mu.states = map[[2]int][]string{}
	f.mu.started = map[[2]int]chan struct{}{}
	f.mu.inflight = map[int]int{}
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

// startedChan returns the channel closed at the first request of (split, page).
func (f *fakeSource) startedChan(split, page int) chan struct{} {
	key := [2]int{split, page}
	c, ok := f.mu.started[key]
	if !ok {
		c = make(chan struct{})
		f.mu.started[key] = c
	}
	return c
}

func (f *fakeSource) event(format string, args ...any) {
	f.mu.Lock()
	f.mu.events = append(f.mu.events, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeSource) Request(ctx context.Context, req Request) (Response, error) {
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
	f.mu.events = append(f.mu.events, fmt.Sprintf("request %d/%d", sp, idx))
	if attempt == 1 {
		close(f.startedChan(sp, idx))
	}
	f.mu.inflight[sp]++
	f.mu.maxInfl = max(f.mu.maxInfl, f.mu.inflight[sp])
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.mu.inflight[sp]--
		f.mu.Unlock()
	}()
	if f.start != nil {
		f.start(sp, idx)
	}
	canceled := func() (Response, error) {
		f.mu.Lock()
		f.mu.canceled++
		f.mu.Unlock()
		return nil, ctx.Err()
	}
	if f.block != nil && f.block(sp, idx) {
		<-ctx.Done()
		return canceled()
	}
	if f.delay != nil {
		if d := f.delay(sp, idx); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return canceled()
			}
		}
	}
	if f.fail != nil {
		if err := f.fail(sp, idx, attempt); err != nil {
			return nil, err
		}
	}
	r := &fakeResponse{f: f, split: sp, page: idx, attempt: attempt}
	if idx+1 < len(pages) {
		r.next = []byte("p" + strconv.Itoa(idx+1))
	}
	f.mu.Lock()
	f.mu.open++
	f.mu.Unlock()
	return r, nil
}

// fakeResponse is one page of the fake, requested and not decoded yet.
type fakeResponse struct {
	f           *fakeSource
	split, page int
	attempt     int
	next        []byte
	released    bool
}

func (r *fakeResponse) Next() []byte { return r.next }

func (r *fakeResponse) release(what string) bool {
	if r.released {
		return false
	}
	r.released = true
	f := r.f
	f.mu.Lock()
	f.mu.open--
	f.mu.events = append(f.mu.events, fmt.Sprintf("%s %d/%d", what, r.split, r.page))
	f.mu.Unlock()
	return true
}

func (r *fakeResponse) Close() { r.release("close") }

func (r *fakeResponse) Decode(ctx context.Context, b *abi.PageBuilder) error {
	f := r.f
	if r.released {
		return errors.New("fake: response decoded twice or after Close")
	}
	f.event("decode %d/%d", r.split, r.page)
	defer r.release("decoded")
	b.Reset(f.schema, 0, uint32(r.split))
	if f.decodeBlock != nil && f.decodeBlock(r.split, r.page) {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.awaitAhead && len(r.next) > 0 {
		f.mu.Lock()
		ahead := f.startedChan(r.split, r.page+1)
		f.mu.Unlock()
		guard := time.NewTimer(30 * time.Second) // a hang guard, not a timing assertion
		defer guard.Stop()
		select {
		case <-ahead:
		case <-ctx.Done():
			return ctx.Err()
		case <-guard.C:
			return errNoAhead
		}
	}
	rows := f.pages[r.split]
	if len(rows) == 0 {
		return nil
	}
	for i, v := range rows[r.page] {
		if f.decodeFail != nil && i == len(rows[r.page])/2 {
			if err := f.decodeFail(r.split, r.page, r.attempt); err != nil {
				return err // rows appended so far stay in b: the pager must discard them
			}
		}
		var cell [4]byte
		binary.BigEndian.PutUint32(cell[:], uint32(v))
		b.AppendCell(cell[:])
		b.AppendCell([]byte{})
		if err := b.EndRow(); err != nil {
			return err
		}
	}
	return nil
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

func (f *fakeSource) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mu.events)
}

// checkReleased fails t unless every response was decoded or closed and
// no split ever had two requests in flight at once.
func (f *fakeSource) checkReleased(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.open != 0 {
		t.Fatalf("%d responses neither decoded nor closed", f.mu.open)
	}
	if f.mu.maxInfl > 1 {
		t.Fatalf("a split had %d requests in flight at once, want at most 1", f.mu.maxInfl)
	}
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
