package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// committer owns the sinks, the progress of every split, the plugin states
// it last applied and the checkpoint writes. Its goroutine (run) is the only
// one that touches them. It applies results in arrival order: the pages of
// one split come from one worker, in order, so every split is committed in
// order.
type committer struct {
	s        *Stream
	progress *pager.Progress
	results  <-chan result
	workers  int
	cancel   context.CancelCauseFunc // ends the run on a failure
	// states is the last snapshot of each stateful plugin (by index) of
	// each worker that has not flushed: what a checkpoint saves.
	states   map[int]map[int][]byte
	lastSave time.Time
	pages    int // pages committed since the last checkpoint
	// written counts the rows given to each sink, by split (-1: flush
	// outputs), over the whole run: saved with every checkpoint.
	written map[string]map[int]uint64
	// last is the checkpoint a rerun resumes from: the last one saved in
	// this run, or the one this run resumed from; nil = none.
	last    *pager.Checkpoint
	seq     uint64             // sequence number of the last checkpoint saved (seqKey)
	txn     sink.Transactional // the stream's transactional sink, nil = none
	txnName string
}

// commitOutcome is the committer's verdict on the run.
type commitOutcome struct {
	err      error // the failure that stopped the stream (nil: end of input or stop)
	complete bool  // every split committed as done, and flushed
	resume   string
}

func newCommitter(s *Stream, results <-chan result, workers int, cancel context.CancelCauseFunc) *committer {
	c := &committer{s: s, progress: s.pg.Progress(), results: results, workers: workers, cancel: cancel,
		states: map[int]map[int][]byte{}, lastSave: time.Now(), written: map[string]map[int]uint64{}}
	for _, sk := range s.spec.Sinks {
		c.written[sk.Name] = map[int]uint64{}
	}
	c.txn, c.txnName = s.spec.transactional()
	if rp := s.resume; rp != nil {
		c.seq = seqOf(rp.cp)
		for name, m := range rp.written {
			if c.written[name] != nil {
				c.written[name] = m
			}
		}
		c.last = rp.cp
		for w, st := range rp.states {
			c.states[w] = st
		}
	}
	return c
}

// run applies results until every worker sent its last one (the end of the
// input, or a stop), a failure, or the end of ctx (an abort: nothing more
// is written). On the way out it flushes the sinks and saves a checkpoint
// of everything applied, unless an abort or a sink or store failure makes
// that impossible; the outcome's resume text names the checkpoint a rerun
// resumes from.
func (c *committer) run(ctx context.Context) commitOutcome {
	s := c.s
	tickEvery := time.Second
	if p := s.spec.Checkpoint.Interval; p > 0 && p < tickEvery {
		tickEvery = p
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	if c.txn != nil && c.last == nil && s.spec.Store != nil {
		// A fresh run with a transactional sink: its first checkpoint
		// goes to the store before any row, so that the store's run is
		// this one, and a sink's newer checkpoint of this run is
		// recognised after a crash (Stream.reconcile).
		if err := c.save(ctx); err != nil {
			return c.fail(ctx, err, "checkpoint", false)
		}
	}
	var lost <-chan struct{} // nil without a fence: never ready
	if s.spec.Fence != nil {
		lost = s.spec.Fence.Lost()
	}
	pending := c.workers
	for pending > 0 {
		select {
		case r := <-c.results:
			if r.err != nil {
				return c.fail(ctx, r.err, kindOf(r.err), true)
			}
			// The fence, before anything of this result is written: a
			// process that lost its shard's lease stops here.
			if err := c.fenced(r); err != nil {
				return c.fail(ctx, err, "fence", false)
			}
			if err := c.apply(ctx, r); err != nil {
				return c.fail(ctx, err, "sink", false)
			}
			if r.last {
				pending--
			}
			if e := s.spec.Checkpoint.EveryPages; e > 0 && c.pages >= e {
				if err := c.save(ctx); err != nil {
					return c.fail(ctx, err, "checkpoint", false)
				}
			}
		case <-tick.C:
			if m := s.spec.Metrics; m != nil {
				m.CheckpointAge.WithLabelValues(s.spec.Name).Set(time.Since(c.lastSave).Seconds())
				if s.spec.Follow {
					c.followLag()
				}
			}
			if p := s.spec.Checkpoint.Interval; p > 0 && c.pages > 0 && time.Since(c.lastSave) >= p {
				if err := c.save(ctx); err != nil {
					return c.fail(ctx, err, "checkpoint", false)
				}
			}
		case <-lost:
			lost = nil
			if err := c.fenced(result{last: true, worker: -1}); err != nil {
				return c.fail(ctx, err, "fence", false)
			}
		case <-ctx.Done():
			// An abort, or a failure the dispatcher or a worker could not
			// report here: write nothing more; the last checkpoint stands.
			return commitOutcome{resume: c.resumeText()}
		}
	}
	// Every worker reported: the end of the scan, or a stop (graceful, or
	// a failure of the pager). Flush and checkpoint what was applied.
	out := commitOutcome{}
	if err := c.save(ctx); err != nil {
		out.err = err
		c.count("checkpoint")
	}
	out.complete = out.err == nil && c.progress.Done()
	out.resume = c.resumeText()
	return out
}

// fail ends the run on err. When the sinks can be trusted (the failure is
// not theirs, nor the store's) it first flushes them and saves a checkpoint
// of every result applied before the failure, so the report's resume
// point is the one a rerun finds.
func (c *committer) fail(ctx context.Context, err error, kind string, save bool) commitOutcome {
	c.count(kind)
	if save && ctx.Err() == nil {
		if serr := c.save(ctx); serr != nil {
			c.count("checkpoint")
			err = fmt.Errorf("%w\n(and the checkpoint of the pages before it could not be saved: %v)", err, serr)
		}
	}
	// The dispatcher and the other workers stop. The cause is a sentinel:
	// err itself is still to be completed (withResume), and the pager
	// formats the cause on its own goroutines.
	c.cancel(errFailed)
	return commitOutcome{err: err, resume: c.resumeText()}
}

func (c *committer) count(kind string) {
	if m := c.s.spec.Metrics; m != nil {
		m.Errors.WithLabelValues(c.s.spec.Name, kind).Inc()
	}
}

// apply writes one result to the sinks and records its position.
func (c *committer) apply(ctx context.Context, r result) error {
	s := c.s
	for _, o := range slices.Concat(r.outs.All(), r.flushOuts.All()) {
		routed := false
		for _, sk := range s.spec.Sinks {
			if !takes(sk, o.Name) {
				continue
			}
			routed = true
			for _, b := range o.Batches {
				if b.Rows() == 0 {
					continue
				}
				var err error
				if ow, ok := sk.Sink.(sink.OutputWriter); ok {
					err = ow.WriteOutput(ctx, o.Name, b.Page(), b.Selection())
				} else {
					err = sk.Sink.Write(ctx, b.Page(), b.Selection())
				}
				if err != nil {
					return fmt.Errorf("stream %q sink %q: %s: %w", s.spec.Name, sk.Name, resultText(r), err)
				}
				split := -1
				if !r.last {
					split = r.d.Split.Index
				}
				c.written[sk.Name][split] += uint64(b.Rows())
				if m := s.spec.Metrics; m != nil {
					m.RowsWritten.WithLabelValues(s.spec.Name, sk.Name).Add(float64(b.Rows()))
				}
			}
		}
		if !routed && o.Rows() > 0 {
			return fmt.Errorf("stream %q: %s: a plugin emitted %d rows to output %q, which no [[stream.sink]] takes (add it to a sink's outputs); stopping rather than dropping them",
				s.spec.Name, resultText(r), o.Rows(), o.Name)
		}
		s.rowsOut.Add(uint64(o.Rows()))
		if o.Name == abi.RejectedOutput {
			s.rowsRejected.Add(uint64(o.Rows()))
			if m := s.spec.Metrics; m != nil {
				m.RowsRejected.WithLabelValues(s.spec.Name).Add(float64(o.Rows()))
			}
		}
		if m := s.spec.Metrics; m != nil {
			m.PluginRowsOut.WithLabelValues(s.spec.Name, "chain", o.Name).Add(float64(o.Rows()))
		}
	}
	if r.flush {
		// The worker's plugins emitted their state: it is no longer a
		// checkpoint's to restore. Saved again, it would be flushed a
		// second time by a resumed worker.
		delete(c.states, r.worker)
	}
	if r.last {
		return nil
	}
	if r.states != nil {
		st := c.states[r.worker]
		if st == nil {
			st = map[int][]byte{}
			c.states[r.worker] = st
		}
		for i, b := range r.states {
			st[i] = b
		}
	}
	if err := c.progress.Commit(r.d.Position); err != nil {
		return err
	}
	if s.spec.Follow {
		c.followCommit(r.d.Position)
	}
	s.pages.Add(1)
	s.rows.Add(uint64(r.rowsIn))
	if m := s.spec.Metrics; m != nil {
		m.PluginRowsIn.WithLabelValues(s.spec.Name, "chain").Add(float64(r.rowsIn))
	}
	if r.d.Position.Done {
		s.splitsDone.Add(1)
		sp := r.d.Split
		if sp.Whole {
			s.covered.Store(^uint64(0))
		} else {
			s.covered.Add(uint64(sp.Hi) - uint64(sp.Lo))
		}
	}
	c.pages++
	// The page's life ends here: the sinks have written its outputs (a
	// Sink keeps no reference to a page after Write), the outputs that
	// are views over it (host.Batch) die with r, the worker's chain keeps
	// none after Process, and the dispatcher sampled a copy. Its buffers
	// go back to its split's owner in the pager for a later page.
	r.d.Release()
	return nil
}

func takes(sk Sink, output string) bool {
	for _, o := range sk.Outputs {
		if o == output {
			return true
		}
	}
	return false
}

func resultText(r result) string {
	if r.last {
		return fmt.Sprintf("flush of worker %d", r.worker)
	}
	return fmt.Sprintf("page %d (split %d)", r.d.Page.Number, r.d.Split.Index)
}

// fenced returns the fence's error, if the process no longer holds its
// shard, for the result about to be written (two atomic loads).
func (c *committer) fenced(r result) error {
	f := c.s.spec.Fence
	if f == nil {
		return nil
	}
	if err := f.Check(); err != nil {
		what := "its next write"
		if r.worker >= 0 {
			what = resultText(r)
		}
		return fmt.Errorf("stream %q: %w (stopped before writing %s)", c.s.spec.Name, err, what)
	}
	return nil
}

// save flushes every sink and then writes the checkpoint: positions, sink
// offsets, plugin states and the manifest, all of the same moment. A
// transactional sink commits its transaction with the checkpoint in it
// after every sink is flushed and before the store saves it: a crash
// between the two leaves the sink with the newer checkpoint, which a rerun
// resumes from (Stream.reconcile); a crash before the commit leaves the
// transaction open, and the rerun's Recover aborts it.
func (c *committer) save(ctx context.Context) error {
	s := c.s
	if f := s.spec.Fence; f != nil {
		// A flush writes buffered rows and a checkpoint moves the shard:
		// neither may come from a process that lost the shard's lease.
		if err := f.Check(); err != nil {
			return fmt.Errorf("stream %q: %w (stopped before flushing the sinks and saving a checkpoint)", s.spec.Name, err)
		}
	}
	for _, sk := range s.spec.Sinks {
		if err := sk.Sink.Flush(ctx); err != nil {
			return fmt.Errorf("stream %q sink %q: flush: %w", s.spec.Name, sk.Name, err)
		}
	}
	c.pages = 0
	c.lastSave = time.Now()
	if s.spec.Store == nil {
		if c.txn != nil {
			if err := c.txn.Commit(ctx, nil); err != nil {
				return fmt.Errorf("stream %q sink %q: commit: %w", s.spec.Name, c.txnName, err)
			}
		}
		return c.publish(ctx)
	}
	extra := map[string][]byte{manifestKey: newManifest(&s.spec, c.workers), seqKey: []byte(strconv.FormatUint(c.seq+1, 10))}
	for _, sk := range s.spec.Sinks {
		if off := sk.Sink.Position(); off != nil {
			extra[sinkKey(sk.Name)] = off
		}
		extra[WrittenKey(sk.Name)] = encodeWritten(c.written[sk.Name])
	}
	for w, st := range c.states {
		for i, b := range st {
			extra[stateKey(w, s.spec.Plugins[i].Name)] = b
		}
	}
	cp := c.progress.Checkpoint(extra)
	if c.txn != nil {
		b, err := json.Marshal(cp)
		if err != nil {
			return fmt.Errorf("stream %q: encode checkpoint: %w", s.spec.Name, err)
		}
		if err := c.txn.Commit(ctx, b); err != nil {
			return fmt.Errorf("stream %q sink %q: commit: %w", s.spec.Name, c.txnName, err)
		}
	}
	if err := s.spec.Store.Save(ctx, cp); err != nil {
		return fmt.Errorf("stream %q: save checkpoint: %w", s.spec.Name, err)
	}
	c.last = cp
	c.seq++
	if m := s.spec.Metrics; m != nil {
		m.Checkpoints.WithLabelValues(s.spec.Name).Inc()
		m.CheckpointAge.WithLabelValues(s.spec.Name).Set(0)
	}
	return c.publish(ctx)
}

// publish tells the sinks that publish output only once it is
// checkpointed (sink.Publisher: the parquet sink's renames) that the
// checkpoint is saved. A failure here leaves the checkpoint standing: the
// rerun's Restore publishes what the checkpoint covers.
func (c *committer) publish(ctx context.Context) error {
	s := c.s
	for _, sk := range s.spec.Sinks {
		if p, ok := sk.Sink.(sink.Publisher); ok {
			if err := p.Publish(ctx); err != nil {
				return fmt.Errorf("stream %q sink %q: publish: %w", s.spec.Name, sk.Name, err)
			}
		}
	}
	return nil
}

// resumeText says where a rerun resumes: the checkpoint that is in the
// store now, as this committer last saved or loaded it.
func (c *committer) resumeText() string {
	s := c.s
	if s.spec.Store == nil {
		return "no checkpoint store is configured: a rerun starts over"
	}
	cp := c.last
	if cp == nil {
		return fmt.Sprintf("no checkpoint of stream %q was saved: a rerun starts over", s.spec.Name)
	}
	if cp.Done() {
		return fmt.Sprintf("stream %q completed (checkpoint saved at %s): a rerun starts a new run", s.spec.Name, cp.SavedAt.Format(time.RFC3339))
	}
	var pages uint64
	var open []string
	for _, p := range cp.Positions {
		pages += p.Pages
		if !p.Done {
			open = append(open, positionText(s.spec.Follow, p))
		}
	}
	sort.Strings(open)
	where := ""
	if w := s.spec.Checkpoint.Where; w != "" {
		where = " in " + w
	}
	text := fmt.Sprintf("rerun the same command: stream %q resumes from its checkpoint%s saved at %s, after %d pages and %d rows",
		s.spec.Name, where, cp.SavedAt.Format(time.RFC3339), pages, cp.Rows())
	if len(open) > 0 {
		if len(open) > 4 {
			open = append(open[:4], fmt.Sprintf("… and %d more splits", len(open)-4))
		}
		text += "; open splits: " + strings.Join(open, "; ")
	}
	return text
}

// errFailed is the cause of the run's cancellation after a failure the
// committer reports.
var errFailed = errors.New("the stream failed")

func kindOf(err error) string {
	var pe *host.PluginError
	var fe *pager.FetchError
	switch {
	case errors.As(err, &pe):
		return "plugin"
	case errors.As(err, &fe):
		return "fetch"
	default:
		return "other"
	}
}
