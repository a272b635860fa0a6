package stream

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager/pagertest"
)

// fakeFence stands in for the lease: revoke makes Check fail and closes
// Lost, as the lease's renewer does.
type fakeFence struct {
	revoked  atomic.Bool
	checks   atomic.Int64
	lost     chan struct{}
	once     sync.Once
	closed   atomic.Int64
	checkErr error
}

var errFenceLost = errors.New("fake fence lost")

func newFakeFence() *fakeFence { return &fakeFence{lost: make(chan struct{}), checkErr: errFenceLost} }

func (f *fakeFence) Check() error {
	f.checks.Add(1)
	if f.revoked.Load() {
		return f.checkErr
	}
	return nil
}
func (f *fakeFence) Lost() <-chan struct{} { return f.lost }
func (f *fakeFence) revoke(closeLost bool) {
	f.revoked.Store(true)
	if closeLost {
		f.once.Do(func() { close(f.lost) })
	}
}
func (f *fakeFence) Close(context.Context) error { f.closed.Add(1); return nil }

// revokingSink counts writes and revokes the fence after the n-th, as if
// another process took the lease while this page was being written.
type revokingSink struct {
	*memSink
	writes atomic.Int64
	n      int64
	f      *fakeFence
}

func (s *revokingSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	if s.writes.Add(1) == s.n {
		s.f.revoke(false) // Check fails; the renewer has not noticed yet
	}
	return s.memSink.Write(ctx, p, sel)
}

// TestFenceStopsBeforeNextPage: once the fence fails, the committer
// writes no further page, flushes nothing and saves no checkpoint; the
// error says why, and the fence is released with the stream.
func TestFenceStopsBeforeNextPage(t *testing.T) {
	w := newWorld(t, 4, 6, 20)
	f := newFakeFence()
	rs := &revokingSink{memSink: newMemSink(w.d, "mem:rows"), n: 5, f: f}
	sp := w.spec(specOpts{workers: 2, every: 2, sinks: []Sink{{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: rs}}})
	sp.Fence = f
	s, err := New(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	var savesAtRevoke int
	w.d.afterSave = func(n int) {
		if f.revoked.Load() {
			t.Errorf("checkpoint %d saved after the fence failed", n)
		}
		savesAtRevoke = n
	}
	_, err = s.Run(context.Background(), nil)
	if !errors.Is(err, errFenceLost) || !strings.Contains(err.Error(), "stopped before writing page") {
		t.Fatalf("err = %v", err)
	}
	if got := rs.writes.Load(); got != 5 {
		t.Fatalf("the sink received %d pages; the fence failed during the 5th", got)
	}
	if savesAtRevoke > 2 { // every 2 pages: saves after pages 2 and 4 only
		t.Fatalf("%d checkpoints saved", savesAtRevoke)
	}
	if f.closed.Load() != 1 {
		t.Fatalf("fence closed %d times", f.closed.Load())
	}
	// What the pages after the last checkpoint wrote is not durable: a
	// rerun (by the new holder) resumes from the checkpoint.
	w.d.reboot()
	sum, err := w.run(specOpts{workers: 2, every: 2})
	if err != nil || !sum.Complete {
		t.Fatalf("rerun: %+v, %v", sum, err)
	}
	rows, _ := out(w.d.file("mem:rows"))
	if len(rows) != 4*6*20 {
		t.Fatalf("%d rows after the rerun, want %d", len(rows), 4*6*20)
	}
}

// TestFenceLostWhileIdle: the renewer's verdict (Lost) stops a run that
// is waiting for a slow page, without waiting for that page.
func TestFenceLostWhileIdle(t *testing.T) {
	w := newWorld(t, 2, 4, 10)
	src := &pagertest.Source{Schema: w.schema, Pages: w.pages, Delay: func(split, page int) time.Duration {
		if page >= 1 {
			return time.Hour
		}
		return 0
	}}
	f := newFakeFence()
	sp := w.spec(specOpts{workers: 1, every: 1, src: src})
	sp.Fence = f
	s, err := New(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Run(context.Background(), nil); done <- err }()
	for { // wait for the first page's checkpoint: then the run waits for a page that takes an hour
		w.d.mu.Lock()
		n := w.d.saves
		w.d.mu.Unlock()
		if n >= 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.revoke(true)
	select {
	case err := <-done:
		if !errors.Is(err, errFenceLost) || !strings.Contains(err.Error(), "stopped before writing its next write") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop on Lost")
	}
}

// TestCompletedWhileWaitingForFence: a process that waited for the fence
// and finds the shard completed after it began to wait does nothing: no
// sink is truncated or written, no new run starts.
func TestCompletedWhileWaitingForFence(t *testing.T) {
	w := newWorld(t, 3, 2, 10)
	waited := time.Now()
	if sum, err := w.run(specOpts{every: 1}); err != nil || !sum.Complete {
		t.Fatalf("%+v, %v", sum, err)
	}
	before := w.d.file("mem:rows")
	saves := w.d.saves
	sp := w.spec(specOpts{every: 1})
	sp.WaitedSince = waited
	s, err := New(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), nil)
	if err != nil || !sum.Complete || sum.Pages != 0 || !strings.Contains(sum.Resume, "completed by another process while this one waited") {
		t.Fatalf("%+v, %v", sum, err)
	}
	if after := w.d.file("mem:rows"); string(after) != string(before) || w.d.saves != saves {
		t.Fatalf("the waiting process touched the output (%d → %d bytes) or saved (%d → %d)", len(before), len(after), saves, w.d.saves)
	}
	// Waited since after the completion: the checkpoint is an older
	// run's, and a new run starts as always.
	sp = w.spec(specOpts{every: 1})
	sp.WaitedSince = time.Now().Add(time.Hour)
	s, err = New(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := s.Run(context.Background(), nil); err != nil || sum.Pages == 0 {
		t.Fatalf("%+v, %v", sum, err)
	}
}

// TestSkipCompleted: with SkipCompleted a completed shard is left alone;
// an unfinished one resumes as always.
func TestSkipCompleted(t *testing.T) {
	w := newWorld(t, 3, 2, 10)
	if sum, err := w.run(specOpts{every: 1}); err != nil || !sum.Complete {
		t.Fatalf("%+v, %v", sum, err)
	}
	before, saves := w.d.file("mem:rows"), w.d.saves
	sp := w.spec(specOpts{every: 1})
	sp.SkipCompleted = true
	s, err := New(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), nil)
	if err != nil || !sum.Complete || sum.Pages != 0 || !strings.Contains(sum.Resume, "its last run completed (skipped)") {
		t.Fatalf("%+v, %v", sum, err)
	}
	if string(w.d.file("mem:rows")) != string(before) || w.d.saves != saves {
		t.Fatal("a skipped stream touched its output or checkpoint")
	}
}

// TestWrittenCountsSurviveResume: the rows given to each sink, by split,
// are saved with every checkpoint and carried over a crash and resume, so
// the final checkpoint's counts equal the rows of the output.
func TestWrittenCountsSurviveResume(t *testing.T) {
	w := newWorld(t, 4, 3, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.d.afterSave = func(n int) {
		if n == 5 {
			w.d.crash()
			cancel()
		}
	}
	s, err := New(context.Background(), w.spec(specOpts{every: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Run(ctx, nil)
	w.d.reboot()
	if sum, err := w.run(specOpts{every: 1}); err != nil || !sum.Complete || !sum.Resumed {
		t.Fatalf("%+v, %v", sum, err)
	}
	rows, _ := out(w.d.file("mem:rows"))
	cp := w.d.cps["s"]
	written := DecodeWritten(cp.Extra[WrittenKey("rows")])
	var total uint64
	for split, n := range written {
		if split < 0 || split >= 4 || n != 30 {
			t.Errorf("split %d: %d rows written, want 30", split, n)
		}
		total += n
	}
	if total != uint64(len(rows)) || len(rows) != 120 {
		t.Fatalf("written %v (total %d), output %d rows", written, total, len(rows))
	}
}
