package pager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// allValues lists every row value of a fake table, sorted.
func allValues(pages map[int][][]int32, splits ...int) []int32 {
	var out []int32
	for s, ps := range pages {
		if len(splits) > 0 && !slices.Contains(splits, s) {
			continue
		}
		for _, p := range ps {
			out = append(out, p...)
		}
	}
	slices.Sort(out)
	return out
}

func deliveredValues(t testing.TB, ds []Delivery) []int32 {
	var out []int32
	for _, d := range ds {
		out = append(out, pageValues(t, d.Page)...)
	}
	slices.Sort(out)
	return out
}

func startPager(t testing.TB, src Source, plan Plan, opts Options, cp *Checkpoint) *Pager {
	t.Helper()
	p, err := New(src, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp != nil {
		if err := p.Resume(cp); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPagerDeliversEveryRowOnce(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		splits, pages, conc, prefet int
	}{
		{"one split", 1, 7, 1, 1},
		{"splits serial", 5, 4, 1, 1},
		{"splits parallel", 9, 5, 3, 1},
		{"deep prefetch", 4, 10, 2, 3},
		{"more workers than splits", 2, 3, 8, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer leakCheck(t)()
			data := evenPages(tc.splits, tc.pages, 10)
			f := newFake(data)
			f.delay = func(split, page int) time.Duration { return time.Duration((split*7+page*3)%4) * time.Millisecond }
			p := startPager(t, f, evenPlan(t, tc.splits), Options{Stream: "s", Concurrency: tc.conc, Prefetch: tc.prefet}, nil)
			defer p.Close()
			ds, err := drain(t, p, context.Background())
			if err != io.EOF {
				t.Fatalf("Next: %v, want io.EOF", err)
			}
			if got, want := deliveredValues(t, ds), allValues(data); !slices.Equal(got, want) {
				t.Fatalf("delivered %d rows, want %d (or different rows)", len(got), len(want))
			}
			if len(ds) != tc.splits*tc.pages {
				t.Fatalf("%d pages, want %d", len(ds), tc.splits*tc.pages)
			}
			// Rows of each split arrive in order.
			for s := 0; s < tc.splits; s++ {
				var got []int32
				for _, d := range ds {
					if d.Split.Index == s {
						got = append(got, pageValues(t, d.Page)...)
					}
				}
				if !slices.IsSorted(got) {
					t.Fatalf("split %d rows out of order", s)
				}
			}
			st := p.Stats()
			if st.Pages != uint64(len(ds)) || st.Rows != uint64(tc.splits*tc.pages*10) || st.SplitsDone != uint64(tc.splits) {
				t.Fatalf("stats %+v", st)
			}
			if err := p.Err(); err != nil {
				t.Fatalf("Err after a complete run: %v", err)
			}
			p.Close()
			if _, err := p.Next(context.Background()); !errors.Is(err, ErrClosed) {
				t.Fatalf("Next after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// The Python wrapper stopped at the first empty page. Empty pages with a
// paging state must be delivered (to commit their position) and must not
// end the split; only an empty paging state does.
func TestEmptyIntermediatePagesDoNotEndTheSplit(t *testing.T) {
	defer leakCheck(t)()
	data := map[int][][]int32{
		0: {{1, 2, 3}, {}, {}, {4}, {}, {5, 6}, {}}, // ends with an empty page too
		1: {{}, {}, {10}},
		2: {{}}, // a split with no rows at all
	}
	f := newFake(data)
	p := startPager(t, f, evenPlan(t, 3), Options{Stream: "s", Concurrency: 2}, nil)
	defer p.Close()
	ds, err := drain(t, p, context.Background())
	if err != io.EOF {
		t.Fatal(err)
	}
	if got, want := deliveredValues(t, ds), allValues(data); !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if len(ds) != 11 {
		t.Fatalf("%d pages delivered, want 11 (empty ones included)", len(ds))
	}
	if st := p.Stats(); st.EmptyPages != 7 {
		t.Fatalf("empty pages %d, want 7", st.EmptyPages)
	}
	for _, d := range ds {
		if d.Position.Done != (len(d.Position.PageState) == 0) {
			t.Fatalf("position %v: done iff no paging state", d.Position)
		}
	}
}

func TestRetryableErrorRetriedWithSameState(t *testing.T) {
	defer leakCheck(t)()
	data := evenPages(2, 6, 5)
	f := newFake(data)
	causes := []error{gocql.ErrTimeoutNoResponse, &gocql.RequestErrReadTimeout{}, gocql.ErrConnectionClosed}
	f.fail = func(split, page, attempt int) error {
		if split == 1 && page == 3 && attempt <= len(causes) {
			return causes[attempt-1]
		}
		return nil
	}
	var retries atomic.Int32
	obs := &countingObserver{retry: func() { retries.Add(1) }}
	p, err := New(f, evenPlan(t, 2), Options{Stream: "s", Retries: 3, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}, obs)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds, err := drain(t, p, context.Background())
	if err != io.EOF {
		t.Fatal(err)
	}
	if got, want := deliveredValues(t, ds), allValues(data); !slices.Equal(got, want) {
		t.Fatalf("rows lost or repeated: got %d rows, want %d", len(got), len(want))
	}
	if n := f.attempts(1, 3); n != 4 {
		t.Fatalf("page attempted %d times, want 4", n)
	}
	for _, st := range f.states(1, 3) {
		if st != "p3" {
			t.Fatalf("retry asked with state %q, want p3", st)
		}
	}
	if p.Stats().Retries != 3 || retries.Load() != 3 {
		t.Fatalf("retries: stats %d, observer %d, want 3", p.Stats().Retries, retries.Load())
	}
}

func TestNonRetryableErrorStopsWithFetchError(t *testing.T) {
	defer leakCheck(t)()
	data := evenPages(1, 6, 4)
	f := newFake(data)
	cause := errors.New("Undefined column name nope") // an invalid query: not retryable
	f.fail = func(split, page, attempt int) error {
		if page == 4 {
			return cause
		}
		return nil
	}
	p := startPager(t, f, evenPlan(t, 1), Options{Stream: "orders", Retries: 5}, nil)
	defer p.Close()
	pr := p.Progress()
	ds, err := drain(t, p, context.Background())
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Next: %v, want a *FetchError", err)
	}
	if !errors.Is(err, cause) || fe.Unwrap() != cause {
		t.Fatalf("FetchError does not unwrap to the cause: %v", err)
	}
	if fe.Stream != "orders" || fe.Split.Index != 0 || fe.Page != 5 || fe.Attempts != 1 || fe.Retryable {
		t.Fatalf("FetchError fields: %+v", fe)
	}
	if string(fe.Resume.PageState) != "p4" || fe.Resume.Pages != 4 || fe.Resume.Rows != 16 {
		t.Fatalf("resume position %v, want page state p4 after 4 pages, 16 rows", fe.Resume)
	}
	if p.Err() != err {
		t.Fatalf("Err() = %v, want the same error", p.Err())
	}
	for _, d := range ds {
		if err := pr.Commit(d.Position); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()

	// Resuming from the checkpoint of what was delivered reads exactly the
	// rest once the fault is gone.
	f.fail = nil
	cp := pr.Checkpoint(nil)
	p2 := startPager(t, f, evenPlan(t, 1), Options{Stream: "orders"}, cp)
	defer p2.Close()
	rest, err := drain(t, p2, context.Background())
	if err != io.EOF {
		t.Fatal(err)
	}
	got := append(deliveredValues(t, ds), deliveredValues(t, rest)...)
	slices.Sort(got)
	if want := allValues(data); !slices.Equal(got, want) {
		t.Fatalf("before+after the failure: %d rows, want %d", len(got), len(want))
	}
	if rest[0].Page.Number != uint64(len(ds))+1 {
		t.Fatalf("page numbers restart at %d, want %d", rest[0].Page.Number, len(ds)+1)
	}
}

func TestRetriesExhausted(t *testing.T) {
	defer leakCheck(t)()
	f := newFake(evenPages(1, 3, 2))
	f.fail = func(split, page, attempt int) error {
		if page == 1 {
			return &net_timeout{}
		}
		return nil
	}
	p := startPager(t, f, evenPlan(t, 1), Options{Stream: "s", Retries: 2, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}, nil)
	defer p.Close()
	_, err := drain(t, p, context.Background())
	var fe *FetchError
	if !errors.As(err, &fe) || !fe.Retryable || fe.Attempts != 3 || fe.Page != 2 {
		t.Fatalf("got %v (%+v), want a retryable FetchError after 3 attempts at page 2", err, fe)
	}
}

type net_timeout struct{}

func (*net_timeout) Error() string   { return "i/o timeout" }
func (*net_timeout) Timeout() bool   { return true }
func (*net_timeout) Temporary() bool { return true }

// A fetch that outlives the per-page timeout is retried; cancelling the
// stream's own context is not.
func TestPerPageTimeoutRetriedParentCancelNot(t *testing.T) {
	t.Run("page timeout", func(t *testing.T) {
		defer leakCheck(t)()
		data := evenPages(1, 3, 2)
		f := newFake(data)
		var once sync.Once
		f.block = func(split, page int) bool {
			blocked := false
			if page == 1 {
				once.Do(func() { blocked = true })
			}
			return blocked
		}
		p := startPager(t, f, evenPlan(t, 1), Options{Stream: "s", PageTimeout: 20 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}, nil)
		defer p.Close()
		ds, err := drain(t, p, context.Background())
		if err != io.EOF {
			t.Fatal(err)
		}
		if got, want := deliveredValues(t, ds), allValues(data); !slices.Equal(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		if n := f.attempts(0, 1); n != 2 {
			t.Fatalf("attempts %d, want 2", n)
		}
	})
	t.Run("parent cancel", func(t *testing.T) {
		defer leakCheck(t)()
		f := newFake(evenPages(1, 3, 2))
		started := make(chan struct{})
		f.block = func(split, page int) bool {
			if page == 1 {
				close(started)
				return true
			}
			return false
		}
		p, err := New(f, evenPlan(t, 1), Options{Stream: "s"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithCancel(context.Background())
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-started
		cancel()
		_, err = p.Next(context.Background())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel: %v, want context.Canceled", err)
		}
		var fe *FetchError
		if errors.As(err, &fe) {
			t.Fatalf("a cancelled stream is not a fetch failure: %v", err)
		}
		if n := f.attempts(0, 1); n != 1 {
			t.Fatalf("cancelled fetch attempted %d times, want 1 (no retry)", n)
		}
	})
}

// A slow consumer holds the pager back: at any time each split has at most
// Prefetch pages built that the consumer has not taken (delivered or being
// decoded) plus one request sent ahead, and at most one request in flight.
func TestBackpressureBoundsPagesInFlight(t *testing.T) {
	for _, prefetch := range []int{1, 2, 4} {
		t.Run("prefetch="+string(rune('0'+prefetch)), func(t *testing.T) {
			defer leakCheck(t)()
			const splits, pages, conc = 4, 30, 2
			f := newFake(evenPages(splits, pages, 3))
			var mu sync.Mutex
			started := map[int]int{}
			taken := map[int]int{}
			maxAhead, maxTotal := 0, 0
			f.start = func(split, page int) {
				mu.Lock()
				defer mu.Unlock()
				started[split]++
				maxAhead = max(maxAhead, started[split]-taken[split])
				total := 0
				for s := range started {
					total += started[s] - taken[s]
				}
				maxTotal = max(maxTotal, total)
			}
			p := startPager(t, f, evenPlan(t, splits), Options{Stream: "s", Prefetch: prefetch, Concurrency: conc}, nil)
			defer p.Close()
			n := 0
			for {
				d, err := p.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				taken[d.Split.Index]++
				mu.Unlock()
				n++
				if n%5 == 0 {
					time.Sleep(time.Millisecond) // a slow consumer: the fetchers run ahead and must stop
				}
			}
			if n != splits*pages {
				t.Fatalf("%d pages, want %d", n, splits*pages)
			}
			// taken is counted after Next returns: it lags by the one page
			// being taken, hence the +1 on top of Prefetch + 1 ahead.
			if maxAhead > prefetch+2 {
				t.Fatalf("a split ran %d pages ahead of the consumer, bound is prefetch+1 (+1 being taken) = %d", maxAhead, prefetch+2)
			}
			if maxTotal > conc*(prefetch+1)+1 {
				t.Fatalf("%d pages in flight, bound is concurrency×(prefetch+1) (+1 being taken) = %d", maxTotal, conc*(prefetch+1)+1)
			}
			if maxAhead < prefetch+1 {
				t.Fatalf("never prefetched and requested ahead: max %d pages ahead, want %d", maxAhead, prefetch+1)
			}
			f.checkReleased(t)
		})
	}
}

// The consumer stops taking pages: each split owner builds its Prefetch
// pages, sends exactly one request ahead and waits; nothing is requested
// after Close.
func TestConsumerWalksAwayReleasesEverything(t *testing.T) {
	defer leakCheck(t)()
	const prefetch, splits = 2, 3
	f := newFake(evenPages(splits, 50, 4))
	reached := make(chan struct{})
	var n atomic.Int32
	var mu sync.Mutex
	perSplit := map[int]int{}
	var over []string
	f.start = func(split, page int) {
		mu.Lock()
		perSplit[split]++
		if perSplit[split] > prefetch+1 { // nothing was taken: prefetch pages + 1 ahead at most
			over = append(over, fmt.Sprintf("split %d page %d", split, page))
		}
		mu.Unlock()
		if n.Add(1) == splits*(prefetch+1) {
			close(reached)
		}
	}
	p := startPager(t, f, evenPlan(t, splits), Options{Stream: "s", Prefetch: prefetch, Concurrency: splits}, nil)
	defer p.Close()
	<-reached
	// Walk away without taking anything; Close from two goroutines.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); p.Close() }()
	}
	wg.Wait()
	if after := f.fetches(); after != splits*(prefetch+1) || len(over) > 0 {
		t.Fatalf("%d requests before Close (beyond the bound: %v), want %d: the pager requested past its credits", after, over, splits*(prefetch+1))
	}
	decoded := 0
	for _, e := range f.events() {
		if strings.HasPrefix(e, "decoded ") {
			decoded++
		}
	}
	if decoded > splits*prefetch {
		t.Fatalf("%d pages decoded with nothing taken, want at most %d", decoded, splits*prefetch)
	}
	f.checkReleased(t)
	if _, err := p.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if p.Err() != nil {
		t.Fatalf("Err after Close: %v, want nil", p.Err())
	}
}

// Close while a page fetch is in flight cancels that fetch: the stream
// stops within the page being fetched, and Close returns only after every
// goroutine has exited.
func TestCloseCancelsInFlightFetch(t *testing.T) {
	defer leakCheck(t)()
	f := newFake(evenPages(2, 10, 2))
	inFlight := make(chan struct{}, 2)
	f.block = func(split, page int) bool {
		if page == 2 {
			inFlight <- struct{}{}
			return true
		}
		return false
	}
	p := startPager(t, f, evenPlan(t, 2), Options{Stream: "s", Concurrency: 2}, nil)
	defer p.Close()
	for range 4 {
		if _, err := p.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	<-inFlight
	<-inFlight
	p.Close()
	f.mu.Lock()
	canceled := f.mu.canceled
	f.mu.Unlock()
	if canceled != 2 {
		t.Fatalf("%d in-flight fetches saw the cancellation, want 2", canceled)
	}
	if n := f.fetches(); n != 6 {
		t.Fatalf("fetches %d, want 6 (2 splits × 3 pages, the third cancelled)", n)
	}
}

func TestNextHonoursItsContext(t *testing.T) {
	defer leakCheck(t)()
	f := newFake(evenPages(1, 2, 1))
	f.block = func(split, page int) bool { return page == 0 }
	p := startPager(t, f, evenPlan(t, 1), Options{Stream: "s"}, nil)
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v", err)
	}
	if p.Err() != nil {
		t.Fatal("a cancelled Next must not fail the stream")
	}
}

func TestResumeSkipsDoneSplitsAndReadsTheRest(t *testing.T) {
	defer leakCheck(t)()
	data := evenPages(4, 5, 3)
	f := newFake(data)
	plan := evenPlan(t, 4)
	p := startPager(t, f, plan, Options{Stream: "s", Concurrency: 1}, nil)
	defer p.Close()
	pr := p.Progress()
	var first []Delivery
	for len(first) < 8 { // split 0 complete, split 1 at page 3
		d, err := p.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, d)
		if err := pr.Commit(d.Position); err != nil {
			t.Fatal(err)
		}
	}
	cp := pr.Checkpoint(map[string][]byte{"sink.offset": []byte("42")})
	p.Close() // a crash: the pages in flight are lost, not committed

	// Round trip through a file store.
	store, err := NewFileStore(t.TempDir(), Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	loaded, err := store.Load(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if string(loaded.Extra["sink.offset"]) != "42" || !loaded.Positions[0].Done {
		t.Fatalf("loaded %+v", loaded)
	}

	fetchesBefore := f.attempts(0, 0)
	p2 := startPager(t, f, plan, Options{Stream: "s", Concurrency: 2}, loaded)
	defer p2.Close()
	rest, err := drain(t, p2, context.Background())
	if err != io.EOF {
		t.Fatal(err)
	}
	if f.attempts(0, 0) != fetchesBefore {
		t.Fatal("a done split was fetched again")
	}
	got := append(deliveredValues(t, first), deliveredValues(t, rest)...)
	slices.Sort(got)
	if want := allValues(data); !slices.Equal(got, want) {
		t.Fatalf("resumed run: %d rows in total, want %d exactly once", len(got), len(want))
	}

	// A checkpoint of another query, plan, stream or shard is refused.
	other, _ := NewPlan("SELECT v FROM other", nil, plan.Splits)
	for name, tc := range map[string]struct {
		plan Plan
		opts Options
	}{
		"query":  {other, Options{Stream: "s"}},
		"plan":   {evenPlan(t, 5), Options{Stream: "s"}},
		"stream": {plan, Options{Stream: "t"}},
		"shard":  {plan, Options{Stream: "s", Shard: Shard{Index: 0, Count: 2}}},
	} {
		p3, err := New(f, tc.plan, tc.opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = p3.Resume(loaded)
		if err == nil {
			t.Fatalf("%s: checkpoint accepted", name)
		}
		if (name == "query" || name == "plan") != errors.Is(err, ErrFingerprint) {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestShardsCoverThePlanExactlyOnce(t *testing.T) {
	defer leakCheck(t)()
	data := evenPages(10, 3, 2)
	plan := evenPlan(t, 10)
	var all []int32
	for i := 0; i < 3; i++ {
		f := newFake(data)
		p := startPager(t, f, plan, Options{Stream: "s", Shard: Shard{Index: i, Count: 3}, Concurrency: 2}, nil)
		defer p.Close()
		ds, err := drain(t, p, context.Background())
		if err != io.EOF {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Split.Index%3 != i {
				t.Fatalf("shard %d/3 paged split %d", i, d.Split.Index)
			}
		}
		all = append(all, deliveredValues(t, ds)...)
	}
	slices.Sort(all)
	if want := allValues(data); !slices.Equal(all, want) {
		t.Fatalf("shards delivered %d rows, want %d exactly once", len(all), len(want))
	}
	if _, err := New(newFake(data), plan, Options{Shard: Shard{Index: 0, Count: 11}}, nil); err == nil {
		t.Fatal("more shards than splits accepted")
	}
}

func TestRateLimitsStillDeliverEverything(t *testing.T) {
	defer leakCheck(t)()
	data := evenPages(2, 4, 50)
	p := startPager(t, newFake(data), evenPlan(t, 2), Options{Stream: "s", RowsPerSecond: 1e6, PagesPerSecond: 1e5, PageSize: 50}, nil)
	defer p.Close()
	ds, err := drain(t, p, context.Background())
	if err != io.EOF {
		t.Fatal(err)
	}
	if got := deliveredValues(t, ds); len(got) != 400 {
		t.Fatalf("%d rows", len(got))
	}
}

func TestProgressRefusesOutOfOrderCommits(t *testing.T) {
	f := newFake(evenPages(2, 2, 1))
	p, err := New(f, evenPlan(t, 2), Options{Stream: "s", Shard: Shard{Index: 1, Count: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr := p.Progress()
	if err := pr.Commit(Position{Split: 0}); err == nil {
		t.Fatal("commit of a split of another shard accepted")
	}
	if err := pr.Commit(Position{Split: 1, Pages: 2, Done: true}); err != nil {
		t.Fatal(err)
	}
	if err := pr.Commit(Position{Split: 1, Pages: 1, PageState: []byte("p1")}); err == nil {
		t.Fatal("commit going backwards accepted")
	}
	if !pr.Done() {
		t.Fatal("progress not done")
	}
	cp := pr.Checkpoint(nil)
	if len(cp.Positions) != 1 || cp.Positions[0].Split != 1 || cp.Shard.String() != "1/2" {
		t.Fatalf("checkpoint %+v", cp)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	p, err := New(newFake(nil), evenPlan(t, 1), Options{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n, step := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 100 {
			if d := p.backoff(n); d < step/2 || d > step {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, step/2, step)
			}
		}
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{gocql.ErrTimeoutNoResponse, true},
		{gocql.ErrConnectionClosed, true},
		{gocql.ErrNoConnections, true},
		{&gocql.RequestErrReadTimeout{}, true},
		{&gocql.RequestErrUnavailable{}, true},
		{io.ErrUnexpectedEOF, true},
		{&net_timeout{}, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{&gocql.RequestErrReadFailure{}, false},
		{errors.New("line 1:7 no viable alternative"), false},
		{nil, false},
	} {
		if got := IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%T %v) = %v, want %v", tc.err, tc.err, got, tc.want)
		}
	}
}

type countingObserver struct {
	retry func()
	mu    sync.Mutex
	pages map[int]int
}

func (o *countingObserver) PageFetched(_ string, split, rows, bytes int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pages == nil {
		o.pages = map[int]int{}
	}
	o.pages[split]++
}
func (o *countingObserver) FetchRetry(string, int, int, time.Duration, error) {
	if o.retry != nil {
		o.retry()
	}
}
func (o *countingObserver) SplitDone(string, int, uint64, uint64) {}

// Hammer: Close, Err and Stats from many goroutines while the consumer
// reads; Close must be idempotent, race-free and leave nothing behind.
func TestHammerCloseWhileConsuming(t *testing.T) {
	defer leakCheck(t)()
	for round := 0; round < 20; round++ {
		f := newFake(evenPages(4, 20, 2))
		f.delay = func(split, page int) time.Duration { return time.Duration(page%3) * 100 * time.Microsecond }
		p, err := New(f, evenPlan(t, 4), Options{Stream: "h", Concurrency: 3, Prefetch: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if round%4 == 0 {
			p.Close() // Close before Start
			if err := p.Start(context.Background()); !errors.Is(err, ErrClosed) {
				t.Fatalf("Start after Close: %v", err)
			}
			continue
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := p.Next(context.Background()); err != nil {
					if !errors.Is(err, ErrClosed) && err != io.EOF {
						t.Errorf("Next: %v", err)
					}
					return
				}
			}
		}()
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i*round) * 50 * time.Microsecond)
				_ = p.Stats()
				_ = p.Err()
				p.Close()
			}()
		}
		wg.Wait()
		if err := p.Err(); err != nil {
			t.Fatalf("Err after Close: %v", err)
		}
	}
}
