package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// result is what a worker sends the committer for one page (or for the
// flush at the end of its splits). It changes owner on the channel.
type result struct {
	worker int
	d      pager.Delivery // zero for a flush
	flush  bool
	outs   host.Outputs
	rowsIn int
	// states holds the snapshot of every stateful plugin after this page,
	// by plugin name: saved with the checkpoint so a resume restores the
	// state that matches the committed positions.
	states map[string][]byte
	err    error
}

// Run streams until every split is read, an error stops it, stop is
// closed (graceful: the page in flight is finished, sinks flushed, the
// checkpoint written; the error then satisfies IsStopped), or ctx ends
// (abort: nothing more is written; the last saved checkpoint stands).
// Run may be called once.
func (s *Stream) Run(ctx context.Context, stop <-chan struct{}) (Summary, error) {
	start := time.Now()
	s.started.Store(start.UnixNano())
	sum := Summary{Stream: s.cfg.Name, Resumed: s.cp != nil}
	defer s.closeResources(context.WithoutCancel(ctx))
	if m := s.env.Metrics; m != nil {
		m.ActiveStreams.Inc()
		defer m.ActiveStreams.Dec()
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Restore sinks to the checkpoint (or truncate them for a fresh run).
	for _, sk := range s.sinks {
		var off sink.Offset
		if s.cp != nil {
			off = s.cp.Extra["sink/"+sk.name]
		}
		if err := sk.s.Restore(off); err != nil {
			return sum, fmt.Errorf("stream %q sink %q: restore from checkpoint: %w", s.cfg.Name, sk.name, err)
		}
	}

	// Workers, each with its own chain of instances.
	results := make(chan result, s.workers)
	ws := make([]*worker, s.workers)
	stopping := make(chan struct{})
	for i := range ws {
		chain, err := s.newChain(runCtx, i)
		if err != nil {
			for _, w := range ws[:i] {
				_ = w.chain.Close(context.WithoutCancel(ctx))
			}
			return sum, err
		}
		ws[i] = &worker{id: i, s: s, chain: chain, in: make(chan pager.Delivery, 1),
			swaps: make(chan swapRequest, 1), out: results, exited: make(chan struct{}), stopping: stopping}
	}
	progress := s.pg.Progress()
	if err := s.pg.Start(runCtx); err != nil {
		return sum, fmt.Errorf("stream %q: %w", s.cfg.Name, err)
	}
	for _, w := range ws {
		go w.run(runCtx)
	}
	reloaderDone := make(chan struct{})
	go s.reloader(runCtx, ws, reloaderDone)

	// The committer runs on its own goroutine; its verdict arrives on done.
	done := make(chan commitOutcome, 1)
	c := &committer{s: s, progress: progress, results: results, workers: len(ws), cancel: cancel,
		states: map[int]map[string][]byte{}, lastSave: time.Now()}
	go func() { done <- c.run(runCtx) }()

	dispErr := s.dispatch(runCtx, stop, ws)
	switch {
	case dispErr == nil:
	case errors.Is(dispErr, errStopped):
		close(stopping) // workers finish their page and skip the flush
	default:
		cancel(dispErr)
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

	sum.RowsIn, sum.RowsOut, sum.Pages = s.rows.Load(), s.rowsOut.Load(), s.pages.Load()
	sum.Elapsed = time.Since(start)
	sum.Complete = out.complete
	sum.Resume = out.resume
	err := out.err
	if err == nil && dispErr != nil && !errors.Is(dispErr, errStopped) {
		err = fmt.Errorf("%w\nresume from: %s", dispErr, out.resume)
	}
	if err == nil && errors.Is(dispErr, errStopped) {
		err = fmt.Errorf("stream %q %w: %s", s.cfg.Name, errStopped, out.resume)
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("stream %q aborted: %w", s.cfg.Name, context.Cause(ctx))
	}
	return sum, err
}

// dispatch is the consumer of the pager: it hands each page to the worker
// that owns the page's split. It returns nil at the end of the scan,
// errStopped when stop closed, or the pager's error.
func (s *Stream) dispatch(ctx context.Context, stop <-chan struct{}, ws []*worker) error {
	owner := map[int]*worker{} // split → worker, while the split is open
	load := make([]int, len(ws))
	nextCtx, cancelNext := context.WithCancel(ctx)
	defer cancelNext()
	go func() {
		select {
		case <-stop:
			cancelNext()
		case <-nextCtx.Done():
		}
	}()
	sampled := false
	for {
		d, err := s.pg.Next(nextCtx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if isClosed(stop) {
				return errStopped
			}
			return err
		}
		if !sampled && d.Page.NumRows() > 0 {
			sampled = true
			s.sample <- samplePage(d.Page)
		}
		w, ok := owner[d.Split.Index]
		if !ok {
			best := 0
			for i := range load {
				if load[i] < load[best] {
					best = i
				}
			}
			w = ws[best]
			owner[d.Split.Index] = w
			load[best]++
		}
		if d.Position.Done {
			delete(owner, d.Split.Index)
			load[w.id]--
		}
		select {
		case w.in <- d:
		case <-w.exited:
			// The worker failed; the committer reports why.
			return nil
		case <-ctx.Done():
			return nil
		case <-stop:
			return errStopped
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// samplePage keeps up to 64 rows of p for the self-test of new plugin
// versions.
func samplePage(p *abi.Page) *abi.Page {
	n := min(p.NumRows(), 64)
	sel := make([]byte, abi.BitmapLen(p.NumRows()))
	for i := 0; i < n; i++ {
		abi.BitmapSet(sel, i)
	}
	return p.Select(sel)
}

// newChain instantiates every plugin for worker i and restores the
// worker's plugin state from the checkpoint.
func (s *Stream) newChain(ctx context.Context, i int) (*host.Chain, error) {
	insts := make([]*host.Instance, 0, len(s.plugins))
	fail := func(err error) (*host.Chain, error) {
		for _, in := range insts {
			_ = in.Close(ctx)
		}
		return nil, err
	}
	for _, p := range s.plugins {
		inst, err := s.instantiate(ctx, p, p.mod, p.cfg, p.kvs)
		if err != nil {
			return fail(err)
		}
		insts = append(insts, inst)
		if s.cp != nil {
			if st, ok := s.cp.Extra[stateKey(i, p.name)]; ok {
				if err := inst.Restore(ctx, st); err != nil {
					return fail(fmt.Errorf("stream %q plugin %q: restore state of worker %d from the checkpoint: %w", s.cfg.Name, p.name, i, err))
				}
			}
		}
	}
	if s.cp != nil {
		// A checkpoint written with more workers holds state this run
		// would silently drop: refuse instead.
		for k := range s.cp.Extra {
			var w int
			var name string
			if n, _ := fmt.Sscanf(k, "state/%d/%s", &w, &name); n == 2 && w >= s.workers {
				return fail(fmt.Errorf("stream %q: the checkpoint holds plugin state of worker %d but this run has %d workers; resume with the same concurrency", s.cfg.Name, w, s.workers))
			}
		}
	}
	return host.NewChain(insts...), nil
}

func stateKey(worker int, plugin string) string { return fmt.Sprintf("state/%d/%s", worker, plugin) }

// worker owns one chain of plugin instances. Its goroutine is the only one
// that calls the chain.
type worker struct {
	id     int
	s      *Stream
	chain  *host.Chain
	in     chan pager.Delivery
	swaps  chan swapRequest
	out    chan<- result
	exited chan struct{}
	// stopping is closed on a graceful stop: the end of the input is then
	// not the end of the stream, and the chain is not flushed.
	stopping <-chan struct{}
}

func (w *worker) run(ctx context.Context) {
	defer close(w.exited)
	defer func() { _ = w.chain.Close(context.WithoutCancel(ctx)) }()
	m := w.s.env.Metrics
	for {
		// Swaps first: a pending swap applies before the next page.
		select {
		case req := <-w.swaps:
			w.swap(ctx, req)
			continue
		default:
		}
		select {
		case req := <-w.swaps:
			w.swap(ctx, req)
		case d, ok := <-w.in:
			if !ok {
				w.finish(ctx)
				return
			}
			t0 := time.Now()
			outs, err := w.chain.Process(ctx, d.Page)
			if m != nil {
				m.PluginLatency.WithLabelValues(w.s.cfg.Name, "chain").Observe(time.Since(t0).Seconds())
			}
			r := result{worker: w.id, d: d, outs: outs, rowsIn: d.Page.NumRows(), err: err}
			if err == nil {
				r.states, r.err = w.snapshot(ctx)
			}
			if !w.send(ctx, r) || r.err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// finish flushes the chain at the end of the worker's splits, unless the
// stream is stopping early (a flush would emit partial aggregates).
func (w *worker) finish(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if isClosed(w.stopping) {
		w.send(ctx, result{worker: w.id, flush: true})
		return
	}
	outs, err := w.chain.Flush(ctx)
	r := result{worker: w.id, flush: true, outs: outs, err: err}
	if err == nil {
		r.states, r.err = w.snapshot(ctx)
	}
	w.send(ctx, r)
}

func (w *worker) snapshot(ctx context.Context) (map[string][]byte, error) {
	var st map[string][]byte
	for j := 0; j < w.chain.Len(); j++ {
		inst := w.chain.Instance(j)
		if !inst.Module().HasSnapshot() {
			continue
		}
		b, err := inst.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		if st == nil {
			st = map[string][]byte{}
		}
		st[w.s.plugins[j].name] = b
	}
	return st, nil
}

func (w *worker) send(ctx context.Context, r result) bool {
	select {
	case w.out <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// commitOutcome is the committer's verdict on the run.
type commitOutcome struct {
	err      error
	complete bool
	resume   string
}

// committer owns the sinks, the progress of every split and the
// checkpoint writes. Its goroutine is the only one that touches them.
type committer struct {
	s        *Stream
	progress *pager.Progress
	results  <-chan result
	workers  int
	cancel   context.CancelCauseFunc
	states   map[int]map[string][]byte // worker → plugin → last snapshot
	lastSave time.Time
	pages    int // pages since the last checkpoint
	finished int // workers that sent their flush or stopped
}

func (c *committer) run(ctx context.Context) commitOutcome {
	s := c.s
	var failure error
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pending := c.workers
	for pending > 0 {
		select {
		case r := <-c.results:
			if r.err != nil {
				failure = c.annotate(r)
				c.cancel(failure)
				pending = 0
				break
			}
			if err := c.apply(ctx, r); err != nil {
				failure = err
				c.cancel(failure)
				pending = 0
				break
			}
			if r.flush {
				pending--
			}
			if c.due() {
				if err := c.save(ctx); err != nil {
					failure = err
					c.cancel(failure)
					pending = 0
				}
			}
		case <-tick.C:
			if m := s.env.Metrics; m != nil {
				m.CheckpointAge.WithLabelValues(s.cfg.Name).Set(time.Since(c.lastSave).Seconds())
			}
			if s.period > 0 && time.Since(c.lastSave) >= s.period && c.pages > 0 {
				if err := c.save(ctx); err != nil {
					failure = err
					c.cancel(failure)
					pending = 0
				}
			}
		case <-ctx.Done():
			pending = 0
		}
	}
	out := commitOutcome{err: failure}
	if failure != nil {
		if m := s.env.Metrics; m != nil {
			m.Errors.WithLabelValues(s.cfg.Name, errorKind(failure)).Inc()
		}
		out.resume = c.resumeText()
		return out
	}
	// The end of the scan or a graceful stop: every worker reported, so
	// flush and checkpoint. An abort, or a failure elsewhere (the pager),
	// ended ctx instead: write nothing more; the last checkpoint stands.
	if ctx.Err() != nil {
		out.resume = c.resumeText()
		return out
	}
	if err := c.save(context.WithoutCancel(ctx)); err != nil {
		out.err = err
	}
	out.complete = c.progress.Done()
	out.resume = c.resumeText()
	return out
}

func (c *committer) due() bool {
	return c.s.every > 0 && c.pages >= c.s.every
}

// apply writes one result to the sinks and records its position.
func (c *committer) apply(ctx context.Context, r result) error {
	s := c.s
	for _, o := range r.outs.All() {
		routed := false
		for _, sk := range s.sinks {
			if !sk.outputs[o.Name] {
				continue
			}
			routed = true
			for _, b := range o.Batches {
				if b.Rows() == 0 {
					continue
				}
				if err := sk.s.Write(ctx, b.Page(), b.Selection()); err != nil {
					if m := s.env.Metrics; m != nil {
						m.Errors.WithLabelValues(s.cfg.Name, "sink").Inc()
					}
					return fmt.Errorf("stream %q sink %q: page %d: %w\nresume from: %s", s.cfg.Name, sk.name, pageNo(r), err, c.resumeText())
				}
				sk.rows.Add(uint64(b.Rows()))
				if m := s.env.Metrics; m != nil {
					m.RowsWritten.WithLabelValues(s.cfg.Name, sk.name).Add(float64(b.Rows()))
				}
			}
		}
		if !routed && o.Rows() > 0 {
			return fmt.Errorf("stream %q: page %d: a plugin emitted %d rows to output %q, which no [[stream.sink]] takes (add it to a sink's outputs); stopping rather than dropping them\nresume from: %s",
				s.cfg.Name, pageNo(r), o.Rows(), o.Name, c.resumeText())
		}
		s.rowsOut.Add(uint64(o.Rows()))
		if m := s.env.Metrics; m != nil {
			m.PluginRowsOut.WithLabelValues(s.cfg.Name, "chain", o.Name).Add(float64(o.Rows()))
		}
	}
	if r.states != nil {
		c.states[r.worker] = r.states
	}
	if r.flush {
		return nil
	}
	if err := c.progress.Commit(r.d.Position); err != nil {
		return err
	}
	s.pages.Add(1)
	s.rows.Add(uint64(r.rowsIn))
	if m := s.env.Metrics; m != nil {
		m.PluginRowsIn.WithLabelValues(s.cfg.Name, "chain").Add(float64(r.rowsIn))
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

func pageNo(r result) uint64 {
	if r.d.Page != nil {
		return r.d.Page.Number
	}
	return 0
}

// save flushes every sink and then writes the checkpoint: positions, sink
// offsets and plugin states, all matching the same committed pages.
func (c *committer) save(ctx context.Context) error {
	s := c.s
	for _, sk := range s.sinks {
		if err := sk.s.Flush(ctx); err != nil {
			return fmt.Errorf("stream %q sink %q: flush: %w\nresume from: %s", s.cfg.Name, sk.name, err, c.resumeText())
		}
	}
	c.pages = 0
	c.lastSave = time.Now()
	if s.store == nil {
		return nil
	}
	extra := map[string][]byte{}
	for _, sk := range s.sinks {
		if off := sk.s.Position(); off != nil {
			extra["sink/"+sk.name] = off
		}
	}
	for w, st := range c.states {
		for name, b := range st {
			extra[stateKey(w, name)] = b
		}
	}
	cp := c.progress.Checkpoint(extra)
	if err := s.store.Save(ctx, cp); err != nil {
		if m := s.env.Metrics; m != nil {
			m.Errors.WithLabelValues(s.cfg.Name, "checkpoint").Inc()
		}
		return fmt.Errorf("stream %q: save checkpoint: %w", s.cfg.Name, err)
	}
	if m := s.env.Metrics; m != nil {
		m.Checkpoints.WithLabelValues(s.cfg.Name).Inc()
		m.CheckpointAge.WithLabelValues(s.cfg.Name).Set(0)
	}
	return nil
}

// resumeText says where a rerun resumes: the last saved checkpoint.
func (c *committer) resumeText() string {
	s := c.s
	if s.store == nil {
		return "no checkpoint store is configured ([checkpoint] store = \"none\"): a rerun starts over"
	}
	var open []string
	cp := c.progress.Checkpoint(nil)
	for _, p := range cp.Positions {
		if !p.Done {
			open = append(open, p.String())
		}
	}
	sort.Strings(open)
	where := fmt.Sprintf("rerun the same command: stream %q resumes from its last saved checkpoint (%s store)", s.cfg.Name, s.env.Config.Checkpoint.Store)
	if len(open) > 0 {
		if len(open) > 4 {
			open = append(open[:4], fmt.Sprintf("… and %d more splits", len(open)-4))
		}
		where += "; committed so far: " + strings.Join(open, "; ")
	}
	return where
}

// annotate adds the stream's resume position to a worker's error.
func (c *committer) annotate(r result) error {
	var pe *host.PluginError
	if errors.As(r.err, &pe) {
		pe.Resume = c.resumeText()
		if m := c.s.env.Metrics; m != nil {
			m.Errors.WithLabelValues(c.s.cfg.Name, "plugin").Inc()
		}
		return r.err
	}
	return fmt.Errorf("stream %q: %w\nresume from: %s", c.s.cfg.Name, r.err, c.resumeText())
}

func errorKind(err error) string {
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
