package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/pagertest"
)

const counterWasm = "host/testdata/counter.wasm" // counts rows; flush emits the count and does NOT clear it

// TestCleanRun: every row once, and the flushed counts of both workers
// add up to the rows.
func TestCleanRun(t *testing.T) {
	w := newWorld(t, 6, 4, 25)
	sum, err := w.run(specOpts{workers: 2, every: 2, plugins: []Plugin{w.plugin("counter", counterWasm)}})
	if err != nil {
		t.Fatal(err)
	}
	rows, counted := out(w.d.file("mem:rows"))
	if len(rows) != 600 || counted != 600 || !sum.Complete || sum.RowsIn != 600 {
		t.Fatalf("rows %d, counted %d, summary %+v; want 600 rows counted once", len(rows), counted, sum)
	}
	if rows2 := slices.Compact(slices.Clone(rows)); len(rows2) != len(rows) {
		t.Fatalf("a row was written twice")
	}
}

// TestCrashAtEveryCommitPoint kills the run (nothing more reaches the
// disk, unflushed rows torn in half) right after each checkpoint save of a
// clean run, with two workers and a counting plugin whose flush does not
// clear its state; each time a rerun completes the stream. The rows and
// the flushed counts must equal a clean run's. (The window between one
// worker's flush and the other's last page is timing-dependent here;
// TestFlushedWorkerStateIsNotSavedAgain drives it deterministically.)
func TestCrashAtEveryCommitPoint(t *testing.T) {
	clean := newWorld(t, 6, 4, 25)
	if _, err := clean.run(specOpts{workers: 2, every: 1, plugins: []Plugin{clean.plugin("counter", counterWasm)}}); err != nil {
		t.Fatal(err)
	}
	want, wantCount := out(clean.d.file("mem:rows"))
	saves := clean.d.saves
	if saves < 10 {
		t.Fatalf("a clean run saved %d checkpoints; the test wants more commit points", saves)
	}
	for k := 1; k <= saves; k++ {
		t.Run(fmt.Sprintf("after save %d of %d", k, saves), func(t *testing.T) {
			w := newWorld(t, 6, 4, 25)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rows := newMemSink(w.d, "mem:rows")
			w.d.afterSave = func(n int) {
				if n == k {
					w.d.crash()
					cancel()
				}
			}
			o := specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)},
				sinks: []Sink{{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: rows}}}
			s, err := New(context.Background(), w.spec(o))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Run(ctx, nil)
			rows.tear()
			if err == nil && k < saves {
				t.Fatalf("the run did not notice the crash after save %d (saves %d)", k, w.d.saves)
			}
			w.d.reboot()
			o.plugins = []Plugin{w.plugin("counter", counterWasm)}
			o.sinks = nil
			sum, err := w.run(o)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			got, gotCount := out(w.d.file("mem:rows"))
			if !slices.Equal(got, want) {
				t.Fatalf("rows differ from a clean run: %d rows, want %d (resumed: %v)", len(got), len(want), sum.Resumed)
			}
			if gotCount != wantCount {
				t.Fatalf("flushed counts add up to %d, a clean run's to %d: a flush was lost or replayed", gotCount, wantCount)
			}
		})
	}
}

// TestFlushedWorkerStateIsNotSavedAgain drives the committer by hand: a
// worker that flushed must not have its state in any later checkpoint, or
// a resume would flush it a second time. (Defect 1 of issue 11: resumed
// counts [6 13 9] for 22 rows.)
func TestFlushedWorkerStateIsNotSavedAgain(t *testing.T) {
	w := newWorld(t, 2, 2, 3)
	s, err := New(context.Background(), w.spec(specOpts{workers: 2, plugins: []Plugin{w.plugin("counter", counterWasm)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.closeResources(context.Background())
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if err := s.pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var ds []pager.Delivery
	for {
		d, err := s.pg.Next(ctx)
		if err != nil {
			break
		}
		ds = append(ds, d)
	}
	results := make(chan result, 16)
	c := newCommitter(s, results, 2, cancel)
	state := func(n byte) map[int][]byte { return map[int][]byte{0: {n, 0, 0, 0, 0, 0, 0, 0}} }
	// Worker 0 owns split 0, worker 1 split 1; worker 0 ends first.
	for _, d := range ds {
		results <- result{worker: d.Split.Index, d: d, rowsIn: d.Page.NumRows(), states: state(byte(d.Position.Rows))}
		if d.Split.Index == 0 && d.Position.Done {
			results <- result{worker: 0, last: true, flush: true}
		}
	}
	for len(results) > 0 {
		r := <-results
		if err := c.apply(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := c.save(ctx); err != nil {
			t.Fatal(err)
		}
		cp, _ := store{w.d}.Load(ctx, "s")
		flushed := r.last || (cp.Positions[0].Done && !r.last && r.worker == 1 && func() bool {
			_, ok := cp.Extra[stateKey(0, "counter")]
			return !ok
		}())
		_, has0 := cp.Extra[stateKey(0, "counter")]
		if r.last && has0 {
			t.Fatalf("the checkpoint after worker 0's flush holds its state")
		}
		if !r.last && r.worker == 1 && cp.Positions[0].Done && has0 && flushed {
			t.Fatalf("a checkpoint after worker 0 flushed holds its state again")
		}
	}
	cp, _ := store{w.d}.Load(ctx, "s")
	if _, ok := cp.Extra[stateKey(0, "counter")]; ok {
		t.Fatalf("final checkpoint holds the state of flushed worker 0: %v", cp.Extra)
	}
	if _, ok := cp.Extra[stateKey(1, "counter")]; !ok {
		t.Fatalf("final checkpoint lacks the state of running worker 1")
	}
}

// stopAfter runs until the checkpoint holds at least n pages, then stops
// gracefully (the stop path flushes and checkpoints).
func (w *world) stopAfter(o specOpts, n uint64) {
	w.t.Helper()
	s, err := New(context.Background(), w.spec(o))
	if err != nil {
		w.t.Fatal(err)
	}
	stop := make(chan struct{})
	var once sync.Once
	w.d.afterSave = func(int) {
		cp, _ := store{w.d}.Load(context.Background(), "s")
		var pages uint64
		for _, p := range cp.Positions {
			pages += p.Pages
		}
		if pages >= n {
			once.Do(func() { close(stop) })
		}
	}
	_, err = s.Run(context.Background(), stop)
	w.d.afterSave = nil
	if !IsStopped(err) {
		w.t.Fatalf("want a graceful stop, got %v", err)
	}
}

// TestRenamesBetweenStopAndResume: a sink renamed with the same target,
// or a plugin renamed in place, is mapped; the output equals a clean run.
func TestRenamesBetweenStopAndResume(t *testing.T) {
	clean := newWorld(t, 4, 5, 10)
	if _, err := clean.run(specOpts{workers: 2, every: 1, plugins: []Plugin{clean.plugin("counter", counterWasm)}}); err != nil {
		t.Fatal(err)
	}
	want, wantCount := out(clean.d.file("mem:rows"))

	w := newWorld(t, 4, 5, 10)
	w.stopAfter(specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}}, 6)
	sum, err := w.run(specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("tally", counterWasm)},
		sinks: []Sink{{Name: "out", Identity: "mem:rows", Outputs: []string{""}, Sink: newMemSink(w.d, "mem:rows")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, gotCount := out(w.d.file("mem:rows"))
	if !sum.Resumed || !slices.Equal(got, want) || gotCount != wantCount {
		t.Fatalf("resumed %v: %d rows (want %d), counted %d (want %d)", sum.Resumed, len(got), len(want), gotCount, wantCount)
	}
	for _, m := range []string{`sink \"rows\" was renamed \"out\"`, `plugin \"counter\" (place 1 of the chain) was renamed \"tally\"`} {
		if !strings.Contains(w.log.String(), m) {
			t.Errorf("log lacks %s:\n%s", m, w.log.String())
		}
	}
}

// TestChangesThatCannotBeMappedAreRefused: each change is refused by New
// with a *ResumeError naming it, and the sink's bytes are left as they
// were (nothing truncated). (Defect 2 of issue 11: 130 of 200 rows left.)
func TestChangesThatCannotBeMappedAreRefused(t *testing.T) {
	mk := func(w *world, name, id string) Sink {
		return Sink{Name: name, Identity: id, Outputs: []string{""}, Sink: newMemSink(w.d, id)}
	}
	cases := []struct {
		name string
		o    func(w *world) specOpts
		want string
	}{
		{"sink writes elsewhere", func(w *world) specOpts {
			return specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}, sinks: []Sink{mk(w, "rows", "mem:other")}}
		}, `sink "rows" now writes to mem:other`},
		{"sink renamed and moved", func(w *world) specOpts {
			return specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}, sinks: []Sink{mk(w, "out", "mem:other")}}
		}, `sink "out" (mem:other) was added`},
		{"sink added", func(w *world) specOpts {
			return specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}, sinks: []Sink{mk(w, "rows", "mem:rows"), mk(w, "more", "mem:more")}}
		}, `sink "more" (mem:more) was added`},
		{"plugin added", func(w *world) specOpts {
			return specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm), w.plugin("pass", "host/testdata/passthrough.wasm")}}
		}, `the plugin chain was ["counter"]; it is now ["counter" → "pass"]`},
		{"plugin removed", func(w *world) specOpts {
			return specOpts{workers: 2, every: 1}
		}, `the plugin chain was ["counter"]; it is now empty`},
		{"other worker count", func(w *world) specOpts {
			return specOpts{workers: 3, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}}
		}, `plugin state of 2 workers`},
		{"other split plan", func(w *world) specOpts {
			o := specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}}
			w.nsplit = 3
			return o
		}, `checkpoint does not match this query`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 4, 5, 10)
			w.stopAfter(specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}}, 6)
			before := w.d.file("mem:rows")
			_, err := New(context.Background(), w.spec(tc.o(w)))
			var re *ResumeError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "to start over instead, clear the test disk") {
				t.Fatalf("New = %v, want a *ResumeError mentioning %q and how to start over", err, tc.want)
			}
			if after := w.d.file("mem:rows"); string(after) != string(before) || len(before) == 0 {
				t.Fatalf("the sink's %d bytes became %d: a refused resume touched it", len(before), len(after))
			}
		})
	}
}

// TestFailureSavesWhatWasCommitted: a plugin that traps on page 3, with no
// checkpoint due (every_pages 0, no interval): the failure flushes the
// sinks and saves the two committed pages, and the report names that
// checkpoint. (Defect 3 of issue 11: the report claimed a checkpoint that
// did not exist, and the summary counted rows the file did not hold.)
func TestFailureSavesWhatWasCommitted(t *testing.T) {
	w := newWorld(t, 1, 6, 10)
	_, err := w.run(specOpts{plugins: []Plugin{w.plugin("trap3", "host/testdata/trap_page3.wasm")}})
	var pe *host.PluginError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a plugin error", err)
	}
	cp, _ := store{w.d}.Load(context.Background(), "s")
	if cp == nil || cp.Positions[0].Pages != 2 {
		t.Fatalf("checkpoint %+v, want one of the 2 pages before the trap", cp)
	}
	if !strings.Contains(pe.Resume, "after 2 pages and 20 rows") {
		t.Fatalf("report's resume point %q does not name the saved checkpoint", pe.Resume)
	}
	rows, _ := out(w.d.file("mem:rows"))
	if len(rows) != 20 {
		t.Fatalf("the sink holds %d rows, want the 20 of the committed pages", len(rows))
	}
	// A rerun resumes there and fails on page 3 again: nothing skipped.
	_, err = w.run(specOpts{plugins: []Plugin{w.plugin("trap3", "host/testdata/trap_page3.wasm")}})
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "page 3") {
		t.Fatalf("rerun: %v, want the trap on page 3 again", err)
	}
}

// TestNoStoreSaysRerunStartsOver: without a store the report says so.
func TestNoStoreSaysRerunStartsOver(t *testing.T) {
	w := newWorld(t, 1, 6, 10)
	_, err := w.run(specOpts{noStore: true, plugins: []Plugin{w.plugin("trap3", "host/testdata/trap_page3.wasm")}})
	if err == nil || !strings.Contains(err.Error(), "a rerun starts over") {
		t.Fatalf("got %v", err)
	}
}

// TestEmptyPagesDoNotReachPlugins: page 3 of the scan has no rows; the
// plugin that traps on page 3 never sees it, and its position is still
// committed. (abi/ABI.md: plugins see only pages with rows.)
func TestEmptyPagesDoNotReachPlugins(t *testing.T) {
	w := newWorld(t, 1, 6, 10)
	w.pages[0][2] = nil
	sum, err := w.run(specOpts{plugins: []Plugin{w.plugin("trap3", "host/testdata/trap_page3.wasm")}})
	if err != nil {
		t.Fatalf("an empty page reached the plugin: %v", err)
	}
	if sum.Pages != 6 || sum.RowsIn != 50 {
		t.Fatalf("summary %+v, want 6 pages and 50 rows", sum)
	}
}

// TestPagerFailureSavesAndReports: a page that cannot be fetched stops the
// stream; the pages before it are committed and a rerun continues.
func TestPagerFailureSavesAndReports(t *testing.T) {
	w := newWorld(t, 1, 6, 10)
	src := &pagertest.Source{Schema: w.schema, Pages: w.pages, Fail: func(split, page, attempt int) error {
		if page == 4 {
			return errors.New("node on fire")
		}
		return nil
	}}
	_, err := w.run(specOpts{src: src, plugins: []Plugin{w.plugin("counter", counterWasm)}})
	var fe *pager.FetchError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "resumes from its checkpoint") {
		t.Fatalf("got %v, want a fetch error with its resume point", err)
	}
	cp, _ := store{w.d}.Load(context.Background(), "s")
	if cp == nil || cp.Positions[0].Pages != 4 {
		t.Fatalf("checkpoint %+v, want the 4 pages before the failure", cp)
	}
	sum, err := w.run(specOpts{plugins: []Plugin{w.plugin("counter", counterWasm)}})
	if err != nil || !sum.Resumed {
		t.Fatalf("rerun: %+v %v", sum, err)
	}
	rows, counted := out(w.d.file("mem:rows"))
	if len(rows) != 60 || counted != 60 {
		t.Fatalf("%d rows, counted %d; want 60 once", len(rows), counted)
	}
}

// runInBackground starts a stream whose source waits on every page, so
// reloads happen while it runs; release lets it finish.
func (w *world) runInBackground(o specOpts) (s *Stream, release func(), done <-chan error) {
	w.t.Helper()
	gate := make(chan struct{})
	o.src = &pagertest.Source{Schema: w.schema, Pages: w.pages, Delay: func(split, page int) time.Duration {
		select {
		case <-gate:
			return 0
		default:
			return 2 * time.Millisecond
		}
	}}
	s, err := New(context.Background(), w.spec(o))
	if err != nil {
		w.t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		_, err := s.Run(context.Background(), nil)
		ch <- err
	}()
	for !s.running.Load() {
		time.Sleep(time.Millisecond)
	}
	var once sync.Once
	return s, func() { once.Do(func() { close(gate) }) }, ch
}

// TestSwapAllOrNothing: a version every worker can take is swapped on all
// of them, with the old and new hashes and each worker's page in the log;
// one whose restore fails is refused on all, the running version stays
// recorded (so the same file is refused again, not "unchanged"), and the
// stream's counts are those of the old version carried on.
func TestSwapAllOrNothing(t *testing.T) {
	w := newWorld(t, 4, 40, 5)
	s, release, done := w.runInBackground(specOpts{workers: 2, every: 5, plugins: []Plugin{w.plugin("counter", counterWasm)}})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		err := s.Reload(ctx, "counter", w.plugin("counter", "host/testdata/restore_fails.wasm").Version)
		if err == nil || errors.Is(err, ErrUnchanged) || !strings.Contains(err.Error(), "so none switched") {
			t.Fatalf("reload %d of a module whose restore fails: %v, want a refusal on every worker", i+1, err)
		}
	}
	if err := s.Reload(ctx, "counter", w.plugin("counter", "host/testdata/counter_v2.wasm").Version); err != nil {
		t.Fatalf("swap to counter_v2: %v", err)
	}
	if err := s.Reload(ctx, "counter", w.plugin("counter", "host/testdata/counter_v2.wasm").Version); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("second swap to the same version: %v, want ErrUnchanged", err)
	}
	if err := s.Reload(ctx, "counter", w.plugin("counter", "host/testdata/oob.wasm").Version); err == nil || !strings.Contains(err.Error(), "self-test") {
		t.Fatalf("a module that traps on rows: %v, want a self-test refusal", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := w.log.String()
	if !strings.Contains(log, "old_module=") || !strings.Contains(log, "worker_0_after_page=") || !strings.Contains(log, "worker_1_after_page=") {
		t.Fatalf("the swap log lacks hashes or pages:\n%s", log)
	}
	var v2 uint64
	for _, l := range strings.Split(string(w.d.file("mem:rows")), "\n") {
		var n uint64
		if _, err := fmt.Sscanf(l, "count_v2=%d", &n); err == nil {
			v2 += n
		}
	}
	if v2 != 4*40*5 {
		t.Fatalf("counter_v2 flushed %d in all, want %d: state was lost in a swap", v2, 4*40*5)
	}
}

// TestReloadVersusClose hammers Reload from several goroutines while the
// stream runs to its end and after: every call returns (swapped, refused,
// unchanged or not running), nothing deadlocks, no goroutine is left
// (goleak in TestMain), and -race sees no shared state.
func TestReloadVersusClose(t *testing.T) {
	for round := 0; round < 5; round++ {
		w := newWorld(t, 4, 10, 5)
		s, release, done := w.runInBackground(specOpts{workers: 2, plugins: []Plugin{w.plugin("counter", counterWasm)}})
		var wg sync.WaitGroup
		mods := []string{counterWasm, "host/testdata/counter_v2.wasm", "host/testdata/restore_fails.wasm", "host/testdata/missing_export.wasm"}
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 6; i++ {
					if i == 3 && g == 0 {
						release()
					}
					p := mods[(g+i)%len(mods)]
					v := Version{Module: nil}
					mod, err := w.rt.Compile(context.Background(), "counter", mustRead(t, p))
					if err != nil {
						continue // not a valid module: refused before the stream
					}
					v.Module = mod
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					err = s.Reload(ctx, "counter", v)
					cancel()
					if errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Reload hung")
					}
				}
			}()
		}
		wg.Wait()
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := s.Reload(context.Background(), "counter", w.plugin("counter", counterWasm).Version); !errors.Is(err, ErrNotRunning) {
			t.Fatalf("Reload after the end: %v, want ErrNotRunning", err)
		}
	}
}
