package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// txnSink models the kafka sink: rows written are invisible until Commit,
// which makes them visible on the disk together with the checkpoint bytes
// (one atomic step, like a Kafka transaction holding the records and the
// checkpoint record). A crash loses the open transaction (Recover of the
// next run aborts it); crashAt makes Commit number n crash before or after
// its atomic step.
type txnSink struct {
	d       *disk
	id      string
	open    []byte // written or flushed, not committed
	commits int
	crashAt int
	after   bool // crash after the commit (before the store's save)
	onCrash func()
}

var _ sink.Transactional = (*txnSink)(nil)

func (s *txnSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	for i, r := range p.Rows() {
		if sel == nil || abi.BitmapGet(sel, i) {
			s.open = append(append(s.open, renderRow(p.Schema, r)...), '\n')
		}
	}
	return nil
}

func (s *txnSink) Flush(ctx context.Context) error { return nil }
func (s *txnSink) Position() sink.Offset           { return nil }
func (s *txnSink) Restore(off sink.Offset) error   { return nil }
func (s *txnSink) Close() error                    { return nil }

func (s *txnSink) Recover(ctx context.Context) ([]byte, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return bytes.Clone(s.d.files[s.id+"#cp"]), nil
}

func (s *txnSink) Commit(ctx context.Context, cp []byte) error {
	s.commits++
	crash := s.crashAt == s.commits
	if crash && !s.after {
		s.d.crash()
		s.onCrash()
	}
	s.d.mu.Lock()
	if s.d.crashed {
		s.d.mu.Unlock()
		return errCrashed
	}
	s.d.files[s.id] = append(s.d.files[s.id], s.open...)
	if cp != nil {
		s.d.files[s.id+"#cp"] = bytes.Clone(cp)
	}
	s.open = s.open[:0]
	s.d.mu.Unlock()
	if crash && s.after {
		s.d.crash()
		s.onCrash()
	}
	return nil
}

// TestTransactionalSinkCrashAroundCommit kills a two-worker stream with a
// counting plugin, a file-like sink and a transactional sink at every
// commit, just before the transaction commits and just after (before the
// store saves the checkpoint: the window a plain Flush-then-save design
// leaves open). The rerun must produce exactly a clean run's rows in both
// sinks, and counts flushed once.
func TestTransactionalSinkCrashAroundCommit(t *testing.T) {
	sinks := func(w *world, tx *txnSink) []Sink {
		return []Sink{
			{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: newMemSink(w.d, "mem:rows")},
			{Name: "kafka", Identity: "kafka:t", Outputs: []string{""}, Sink: tx},
		}
	}
	clean := newWorld(t, 6, 4, 25)
	ctx := context.Background()
	tx := &txnSink{d: clean.d, id: "kafka:t"}
	if _, err := clean.run(specOpts{workers: 2, every: 1, plugins: []Plugin{clean.plugin("counter", counterWasm)}, sinks: sinks(clean, tx)}); err != nil {
		t.Fatal(err)
	}
	want, wantCount := out(clean.d.file("mem:rows"))
	wantK, _ := out(clean.d.file("kafka:t"))
	if !slices.Equal(want, wantK) || len(want) != 600 {
		t.Fatalf("clean run: %d file rows, %d kafka rows; want 600 in both", len(want), len(wantK))
	}
	commits := tx.commits
	if commits < 10 {
		t.Fatalf("a clean run committed %d times; the test wants more commit points", commits)
	}
	for k := 1; k <= commits; k++ {
		for _, after := range []bool{false, true} {
			name := fmt.Sprintf("before commit %d of %d", k, commits)
			if after {
				name = fmt.Sprintf("after commit %d of %d", k, commits)
			}
			t.Run(name, func(t *testing.T) {
				w := newWorld(t, 6, 4, 25)
				runCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				tx := &txnSink{d: w.d, id: "kafka:t", crashAt: k, after: after, onCrash: cancel}
				o := specOpts{workers: 2, every: 1, plugins: []Plugin{w.plugin("counter", counterWasm)}, sinks: sinks(w, tx)}
				s, err := New(ctx, w.spec(o))
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Run(runCtx, nil)
				if err == nil && k < commits {
					t.Fatalf("the run did not notice the crash at commit %d", k)
				}
				w.d.reboot()
				var last pager.Checkpoint
				if b := w.d.file("kafka:t#cp"); b != nil {
					if err := json.Unmarshal(b, &last); err != nil {
						t.Fatal(err)
					}
				}
				if last.Done() {
					// The run completed in the sink: a rerun would be a
					// new run (docs/sinks.md), not a resume.
					if gotK, _ := out(w.d.file("kafka:t")); !slices.Equal(gotK, want) {
						t.Fatalf("completed run: kafka has %d rows, want %d", len(gotK), len(want))
					}
					return
				}
				o.plugins = []Plugin{w.plugin("counter", counterWasm)}
				o.sinks = sinks(w, &txnSink{d: w.d, id: "kafka:t"})
				sum, err := w.run(o)
				if err != nil {
					t.Fatalf("rerun: %v", err)
				}
				got, gotCount := out(w.d.file("mem:rows"))
				gotK, gotCountK := out(w.d.file("kafka:t"))
				if !slices.Equal(got, want) || !slices.Equal(gotK, want) {
					t.Fatalf("rows differ from a clean run: file %d, kafka %d, want %d (resumed: %v)", len(got), len(gotK), len(want), sum.Resumed)
				}
				if gotCount != wantCount || gotCountK != wantCount {
					t.Fatalf("flushed counts add up to %d (file) and %d (kafka), a clean run's to %d", gotCount, gotCountK, wantCount)
				}
			})
		}
	}
}

// TestTwoTransactionalSinksRefused: two transactions cannot commit
// together, so a stream takes one transactional sink.
func TestTwoTransactionalSinksRefused(t *testing.T) {
	w := newWorld(t, 2, 2, 10)
	o := specOpts{sinks: []Sink{
		{Name: "a", Identity: "kafka:a", Outputs: []string{""}, Sink: &txnSink{d: w.d, id: "a"}},
		{Name: "b", Identity: "kafka:b", Outputs: []string{""}, Sink: &txnSink{d: w.d, id: "b"}},
	}}
	_, err := New(context.Background(), w.spec(o))
	if err == nil || !errors.Is(err, err) || !bytes.Contains([]byte(err.Error()), []byte("a stream may have one")) {
		t.Fatalf("New = %v, want a refusal of two transactional sinks", err)
	}
}
