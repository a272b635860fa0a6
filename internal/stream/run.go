package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/pager"
)

// Run streams until every split is read, a failure stops it, stop is
// closed, or ctx ends:
//
//   - the end of the scan: every worker flushes its chain, the sinks are
//     flushed and the final checkpoint saved;
//   - stop closed (graceful): the pages the workers hold are finished, the
//     chains are not flushed, the sinks are flushed and the checkpoint
//     saved; the error satisfies IsStopped;
//   - a failure (a plugin error or trap, a page that cannot be fetched):
//     the results applied before it are flushed and checkpointed, and the
//     error says where a rerun resumes (for a plugin, a *host.PluginError
//     with Resume set);
//   - a sink or checkpoint failure: nothing more is written; the last
//     saved checkpoint stands, and the error names it;
//   - ctx ends (abort): nothing more is written.
//
// Run may be called once; it releases every resource of the stream.
func (s *Stream) Run(ctx context.Context, stop <-chan struct{}) (sum Summary, err error) {
	sum = Summary{Stream: s.spec.Name, Resumed: s.resume != nil}
	first := false
	s.runOnce.Do(func() { first = true })
	if !first || isClosed(s.ended) {
		return sum, fmt.Errorf("stream %q: Run called twice or after Close", s.spec.Name)
	}
	s.running.Store(true)
	start := time.Now()
	s.started.Store(start.UnixNano())
	defer s.closeResources(context.WithoutCancel(ctx))
	if m := s.spec.Metrics; m != nil {
		m.ActiveStreams.Inc()
		defer m.ActiveStreams.Dec()
	}
	if cp := s.doneBy; cp != nil {
		// Nothing is restored, truncated or written: the shard's output
		// is the other process's.
		sum.Complete = true
		why := "completed by another process while this one waited for its lease"
		if s.spec.SkipCompleted {
			why = "its last run completed (skipped)"
		}
		sum.Resume = fmt.Sprintf("stream %q: %s (checkpoint saved at %s, %d rows); nothing was done", s.spec.Name, why, cp.SavedAt.Format(time.RFC3339), cp.Rows())
		return sum, nil
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// A transactional sink may hold a newer checkpoint than the store.
	if err := s.reconcile(runCtx); err != nil {
		return sum, err
	}
	sum.Resumed = s.resume != nil
	// Rewind the sinks to the checkpoint (or truncate them: a fresh run).
	for _, sk := range s.spec.Sinks {
		var off []byte
		if s.resume != nil {
			off = s.resume.offsets[sk.Name]
		}
		if err := sk.Sink.Restore(off); err != nil {
			return sum, fmt.Errorf("stream %q sink %q: restore from checkpoint: %w", s.spec.Name, sk.Name, err)
		}
	}

	// Workers, each with its own chain, restored from the checkpoint.
	results := make(chan result, s.workers)
	stopping := make(chan struct{})
	ws := make([]*worker, s.workers)
	for i := range ws {
		chain, err := s.newChain(runCtx, i)
		if err != nil {
			for _, w := range ws[:i] {
				_ = w.chain.Close(context.WithoutCancel(ctx))
			}
			return sum, err
		}
		ws[i] = &worker{id: i, s: s, chain: chain, stateful: chainStateful(chain), in: make(chan pager.Delivery, 1),
			swaps: make(chan swapPrepare), out: results, exited: make(chan struct{}), stopping: stopping}
	}
	c := newCommitter(s, results, len(ws), cancel)
	if err := s.pg.Start(runCtx); err != nil {
		for _, w := range ws {
			_ = w.chain.Close(context.WithoutCancel(ctx))
		}
		return sum, fmt.Errorf("stream %q: %w", s.spec.Name, err)
	}
	for _, w := range ws {
		go w.run(runCtx)
	}
	reloaderDone := make(chan struct{})
	go (&reloader{s: s, workers: ws}).run(runCtx, reloaderDone)
	done := make(chan commitOutcome, 1)
	go func() { done <- c.run(runCtx) }()

	dispErr := newDispatcher(s.pg, ws, s.sample).run(runCtx, stop)
	if dispErr != nil {
		// Not the end of the input: the workers finish the pages they
		// hold and do not flush.
		close(stopping)
	}
	for _, w := range ws {
		close(w.in)
	}
	out := <-done
	cancel(nil)
	<-reloaderDone
	for _, w := range ws {
		<-w.exited
	}
	s.endOnce.Do(func() { close(s.ended) })

	sum.RowsIn, sum.RowsOut, sum.Pages = s.rows.Load(), s.rowsOut.Load(), s.pages.Load()
	sum.Rejected = s.rowsRejected.Load()
	sum.Elapsed = time.Since(start)
	sum.Complete = out.complete && dispErr == nil && ctx.Err() == nil
	sum.Resume = out.resume
	switch {
	case out.err != nil:
		return sum, withResume(out.err, out.resume)
	case dispErr == nil && ctx.Err() == nil:
		return sum, nil
	case errors.Is(dispErr, errStopped):
		return sum, fmt.Errorf("stream %q %w: %s", s.spec.Name, errStopped, out.resume)
	case dispErr == nil, errors.Is(dispErr, errCanceled), errors.Is(dispErr, errWorkerExited):
		return sum, fmt.Errorf("stream %q aborted: %w\nresume from: %s", s.spec.Name, context.Cause(ctx), out.resume)
	default:
		if m := s.spec.Metrics; m != nil {
			m.Errors.WithLabelValues(s.spec.Name, kindOf(dispErr)).Inc()
		}
		return sum, withResume(fmt.Errorf("stream %q: %w", s.spec.Name, dispErr), out.resume)
	}
}

// withResume attaches the resume text to a failure: into a
// *host.PluginError's Resume field, or as a last line.
func withResume(err error, resume string) error {
	var pe *host.PluginError
	if errors.As(err, &pe) {
		pe.Resume = resume
		return err
	}
	return fmt.Errorf("%w\nresume from: %s", err, resume)
}

// newChain instantiates every plugin for worker i and restores the
// worker's plugin state from the checkpoint.
func (s *Stream) newChain(ctx context.Context, i int) (*host.Chain, error) {
	insts := make([]*host.Instance, 0, len(s.versions))
	fail := func(err error) (*host.Chain, error) {
		for _, in := range insts {
			_ = in.Close(ctx)
		}
		return nil, err
	}
	for j, v := range s.versions {
		inst, err := s.instantiate(ctx, j, v)
		if err != nil {
			return fail(err)
		}
		insts = append(insts, inst)
		if s.resume == nil {
			continue
		}
		if st, ok := s.resume.states[i][j]; ok {
			if err := inst.Restore(ctx, st); err != nil {
				return fail(fmt.Errorf("stream %q plugin %q: restore the state of worker %d from the checkpoint: %w", s.spec.Name, s.spec.Plugins[j].Name, i, err))
			}
		}
	}
	return host.NewChain(insts...), nil
}
