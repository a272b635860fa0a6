package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
)

// Follow mode (Spec.Follow, docs/follow.md). The source's one split
// never ends; each delivered position carries the follow cursor
// (follow.MarkOf). Two things of the engine depend on it:
//
//   - the worker flushes its chain after a page whose cursor says a bucket
//     closed, and sends the flush's outputs with that page's result, and
//     the plugin snapshots taken after the flush: the committer applies
//     page, flush and states as one step, so a checkpoint is either before
//     the page (the rerun re-reads it and flushes again) or after the
//     flush (nothing to redo), never between;
//   - the committer publishes the committed watermark and the open
//     buckets (Stats, metrics: lag = now - watermark).

// bucketEnd flushes the chain when the page closed a bucket, and
// replaces the result's plugin states by those after the flush.
func (w *worker) bucketEnd(ctx context.Context, r *result) {
	m, err := follow.MarkOf(r.d.Position.PageState)
	if err != nil {
		r.err = err
		return
	}
	if !m.Flush {
		return
	}
	r.flushOuts, r.err = w.chain.Flush(ctx)
	if r.err == nil && w.stateful {
		r.states, r.err = w.snapshot(ctx)
	}
	w.s.log.Debug("bucket closed: plugins flushed", "closed_buckets", m.ClosedBuckets, "watermark", m.Watermark, "rows_out", flushRows(r))
}

func flushRows(r *result) int {
	n := 0
	for _, o := range r.flushOuts.All() {
		n += o.Rows()
	}
	return n
}

// followCommit publishes the follow cursor of a committed position.
func (c *committer) followCommit(pos pager.Position) {
	s := c.s
	m, err := follow.MarkOf(pos.PageState)
	if err != nil || m.Polls == 0 {
		return
	}
	s.watermark.Store(m.Watermark.UnixMilli())
	s.openBuckets.Store(int64(m.OpenBuckets))
	met := s.spec.Metrics
	if met == nil {
		return
	}
	f, name := met.Follow, s.spec.Name
	f.OpenBuckets.WithLabelValues(name).Set(float64(m.OpenBuckets))
	f.Watermark.WithLabelValues(name).Set(float64(m.Watermark.UnixMilli()) / 1e3)
	f.Lag.WithLabelValues(name).Set(time.Since(m.Watermark).Seconds())
	if m.ClosedBuckets > 0 {
		f.ClosedBuckets.WithLabelValues(name).Add(float64(m.ClosedBuckets))
	}
	if m.PollDone {
		f.Polls.WithLabelValues(name).Inc()
		f.PollRows.WithLabelValues(name).Observe(float64(m.PollRows))
	}
}

// followLag refreshes the lag gauge between commits (it grows while
// nothing is committed).
func (c *committer) followLag() {
	s := c.s
	if ms := s.watermark.Load(); ms != 0 && s.spec.Metrics != nil {
		s.spec.Metrics.Follow.Lag.WithLabelValues(s.spec.Name).Set(time.Since(time.UnixMilli(ms)).Seconds())
	}
}

func watermarkAt(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// positionText describes a position for resume messages: a follow
// cursor by its watermark, not by its bytes.
func positionText(followMode bool, p pager.Position) string {
	if !followMode {
		return p.String()
	}
	m, err := follow.MarkOf(p.PageState)
	if err != nil {
		return p.String()
	}
	return fmt.Sprintf("after %d pages, %d rows: %s", p.Pages, p.Rows, m)
}
