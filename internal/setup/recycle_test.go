package setup

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestRecycledPagesReachTheSinksIntact runs pages through a filter whose
// output is a selection over the input page (a view, no copy) into a sink,
// with the committer releasing every page to the pager for reuse: small
// pages, several splits and prefetch, so buffers are recycled hundreds of
// times while other pages are in the workers and the committer. A page
// released (and rebuilt) before its outputs were written would show up as
// a lost, repeated or altered row, and as a race under -race.
func TestRecycledPagesReachTheSinksIntact(t *testing.T) {
	const n, keepBelow = 3000, 1700
	ks := fixture(t, n)
	filter, err := filepath.Abs(repo + "/plugins/examples/filter/c/filter.wasm")
	if err != nil {
		t.Fatal(err)
	}
	h, cfg := newHarness(t, fmt.Sprintf(`
[checkpoint]
store = "none"
[[stream]]
name = "recycle"
  [stream.source]
  keyspace = %q
  table = "t"
  page_size = 40
  splits = 6
  concurrency = 3
  prefetch = 2
  [[stream.plugin]]
  name = "keep"
  path = %q
    [stream.plugin.config]
    column = "id"
    op = "<"
    value = "%d"
  [[stream.sink]]
  type = "stdout"
  format = "jsonl"
`, ks, filter, keepBelow))
	s, err := New(context.Background(), h.env, 0, cfg.Streams[0])
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsIn != n || sum.RowsOut != keepBelow {
		t.Fatalf("summary %+v, want %d rows in, %d out", sum, n, keepBelow)
	}
	seen := map[int]bool{}
	for _, m := range lines(t, h.out.String()) {
		id, ok := m["id"].(float64)
		if !ok {
			t.Fatalf("line without an id: %v", m)
		}
		i := int(id)
		if seen[i] {
			t.Fatalf("row %d written twice", i)
		}
		seen[i] = true
		if want := fmt.Sprintf("row-%05d", i); i < 0 || i >= keepBelow || m["v"] != want {
			t.Fatalf("row %v: want id < %d and v %q", m, keepBelow, want)
		}
	}
	if len(seen) != keepBelow {
		t.Fatalf("%d rows written, want %d", len(seen), keepBelow)
	}
}
