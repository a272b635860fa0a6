// Package pagertest provides a fake pager.Source for unit tests of the
// layers above the pager (the stream engine): a table held in memory,
// split into token-range splits of fixed pages, with hooks that make
// requests fail or wait. It needs no Cassandra node.
//
// The paging state of the fake is "p<index of the next page>", so a
// checkpoint taken by the pager over a fake resumes on another fake built
// from the same table, as a real one resumes on Cassandra.
package pagertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
)

// Row is one row: one cell per column, nil for NULL.
type Row [][]byte

// Source is a fake pager.Source. Its fields must not change once paging
// started; its hooks are called from the pager's goroutines concurrently
// and must be safe for that.
type Source struct {
	Schema *abi.Schema
	// Pages holds each split's pages, by split index. A split with no
	// pages answers one empty page.
	Pages map[int][][]Row

	// Fail, when set, is called at the start of each request with the
	// split, the 0-based page index and the attempt (1-based); a non-nil
	// error fails the request.
	Fail func(split, page, attempt int) error
	// Delay, when set, makes a request wait before it answers (honouring
	// ctx).
	Delay func(split, page int) time.Duration

	mu       sync.Mutex
	attempts map[[2]int]int
	requests int
}

// Requests returns the number of requests made so far.
func (s *Source) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Request implements pager.Source.
func (s *Source) Request(ctx context.Context, req pager.Request) (pager.Response, error) {
	idx := 0
	if len(req.State) > 0 {
		n, err := strconv.Atoi(string(req.State[1:]))
		if err != nil || req.State[0] != 'p' {
			return nil, fmt.Errorf("pagertest: bad paging state %q", req.State)
		}
		idx = n
	}
	sp := req.Split.Index
	pages := s.Pages[sp]
	if idx >= len(pages) && !(idx == 0 && len(pages) == 0) {
		return nil, fmt.Errorf("pagertest: split %d has no page %d", sp, idx)
	}
	s.mu.Lock()
	if s.attempts == nil {
		s.attempts = map[[2]int]int{}
	}
	s.attempts[[2]int{sp, idx}]++
	attempt := s.attempts[[2]int{sp, idx}]
	s.requests++
	s.mu.Unlock()
	if s.Delay != nil {
		if d := s.Delay(sp, idx); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
	}
	if s.Fail != nil {
		if err := s.Fail(sp, idx, attempt); err != nil {
			return nil, err
		}
	}
	r := &response{s: s, split: sp, page: idx}
	if idx+1 < len(pages) {
		r.next = []byte("p" + strconv.Itoa(idx+1))
	}
	return r, nil
}

type response struct {
	s           *Source
	split, page int
	next        []byte
	done        bool
}

func (r *response) Next() []byte { return r.next }
func (r *response) Close()       { r.done = true }

func (r *response) Decode(ctx context.Context, b *abi.PageBuilder) error {
	if r.done {
		return errors.New("pagertest: response decoded twice or after Close")
	}
	r.done = true
	b.Reset(r.s.Schema, 0, uint32(r.split))
	pages := r.s.Pages[r.split]
	if len(pages) == 0 {
		return nil
	}
	for _, row := range pages[r.page] {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, c := range row {
			if c == nil {
				b.AppendNull()
			} else {
				b.AppendCell(c)
			}
		}
		if err := b.EndRow(); err != nil {
			return err
		}
	}
	return nil
}

// Plan returns a valid plan of n token-range splits of equal width over
// the whole ring (n = 1: one whole-table split), for query.
func Plan(query string, n int) (pager.Plan, error) {
	if n < 1 {
		return pager.Plan{}, fmt.Errorf("pagertest: %d splits", n)
	}
	if n == 1 {
		return pager.NewPlan(query, nil, []pager.Split{{Index: 0, Whole: true}})
	}
	splits := make([]pager.Split, n)
	width := ^uint64(0) / uint64(n)
	lo := pager.MinToken
	for i := range splits {
		hi := int64(uint64(lo) + width)
		if i == n-1 {
			hi = pager.MaxToken
		}
		splits[i] = pager.Split{Index: i, Lo: lo, Hi: hi}
		lo = hi
	}
	return pager.NewPlan(query, nil, splits)
}

// KeyedTable builds the pages of a table (id int, key text) of nsplits
// splits, each of npages pages of size rows. Ids are unique over the
// table (split*1e6 + page*1e3 + row) and keys cycle through nkeys values
// "k0", "k1", ..., so an aggregating plugin has something to count.
func KeyedTable(nsplits, npages, size, nkeys int) (*abi.Schema, map[int][][]Row) {
	schema := abi.NewSchema(
		abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}},
		abi.Column{Name: "key", Type: abi.Type{ID: abi.TypeVarchar}},
	)
	pages := map[int][][]Row{}
	for s := 0; s < nsplits; s++ {
		for p := 0; p < npages; p++ {
			var rows []Row
			for r := 0; r < size; r++ {
				id := int32(s*1_000_000 + p*1_000 + r)
				rows = append(rows, Row{Int(id), []byte("k" + strconv.Itoa(int(id)%nkeys))})
			}
			pages[s] = append(pages[s], rows)
		}
	}
	return schema, pages
}

// Int encodes a CQL int cell.
func Int(v int32) []byte {
	return []byte{byte(uint32(v) >> 24), byte(uint32(v) >> 16), byte(uint32(v) >> 8), byte(v)}
}
