package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/pager"
)

// result is what a worker sends the committer for one page, or for its
// flush at the end of its input. It changes owner on the channel.
type result struct {
	worker int
	d      pager.Delivery // zero for the last result
	last   bool           // the worker's last result: its input ended
	flush  bool           // with last: the chain was flushed (outs are its flush outputs)
	outs   host.Outputs
	// flushOuts are the outputs of a flush after this page (follow mode:
	// a bucket closed), applied with the page's in the same commit.
	flushOuts host.Outputs
	rowsIn    int
	// states holds the snapshot of every stateful plugin after this page,
	// by plugin index; nil = unchanged (an empty page, a stateless chain).
	states map[int][]byte
	err    error
}

// worker owns one chain of plugin instances: its goroutine (run) is the
// only one that calls the chain. It takes pages from in, in the order the
// dispatcher sends them, and swap steps from swaps between pages.
type worker struct {
	id       int
	s        *Stream
	chain    *host.Chain
	stateful bool // some plugin of the chain exports sluice_snapshot
	in       chan pager.Delivery
	swaps    chan swapPrepare
	out      chan<- result
	exited   chan struct{} // closed when run returns
	// stopping is closed on a stop (graceful, or a failure elsewhere):
	// the end of the input is then not the end of the stream, and the
	// chain is not flushed.
	stopping <-chan struct{}
	lastPage uint64 // number of the last page processed, for swap logs
}

func (w *worker) run(ctx context.Context) {
	defer close(w.exited)
	defer func() { _ = w.chain.Close(context.WithoutCancel(ctx)) }()
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
			r := w.process(ctx, d)
			if r.err == nil && w.s.spec.Follow {
				w.bucketEnd(ctx, &r)
			}
			if !w.send(ctx, r) || r.err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// process runs one page through the chain. A page without rows is not
// handed to the plugins (abi/ABI.md: plugins see only pages with rows); its
// position is committed all the same.
func (w *worker) process(ctx context.Context, d pager.Delivery) result {
	r := result{worker: w.id, d: d, rowsIn: d.Page.NumRows()}
	if r.rowsIn == 0 {
		return r
	}
	t0 := time.Now()
	r.outs, r.err = w.chain.Process(ctx, d.Page)
	if m := w.s.spec.Metrics; m != nil {
		m.PluginLatency.WithLabelValues(w.s.spec.Name, "chain").Observe(time.Since(t0).Seconds())
	}
	w.lastPage = d.Page.Number
	if r.err == nil && w.stateful {
		r.states, r.err = w.snapshot(ctx)
	}
	return r
}

// finish flushes the chain at the end of the worker's input, unless the
// stream is stopping early (a flush would emit partial aggregates): then it
// reports only that it is done.
func (w *worker) finish(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if isClosed(w.stopping) {
		w.send(ctx, result{worker: w.id, last: true})
		return
	}
	outs, err := w.chain.Flush(ctx)
	w.send(ctx, result{worker: w.id, last: true, flush: true, outs: outs, err: err})
}

func (w *worker) snapshot(ctx context.Context) (map[int][]byte, error) {
	st := map[int][]byte{}
	for j := 0; j < w.chain.Len(); j++ {
		inst := w.chain.Instance(j)
		if !inst.Module().HasSnapshot() {
			continue
		}
		b, err := inst.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		st[j] = b
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

// swapPrepare is the first phase of a two-phase swap, sent by the reloader:
// the worker carries its plugin's state into inst at its next page
// boundary, answers on prepared, and then processes no page until the
// reloader's decision arrives on decide (true = commit, false = roll back).
// After a commit it answers on switched with the number of the last page
// the old version processed.
type swapPrepare struct {
	index    int
	inst     *host.Instance
	prepared chan error
	decide   chan bool
	switched chan uint64
}

// swap runs both phases of a swap on the worker's goroutine.
func (w *worker) swap(ctx context.Context, req swapPrepare) {
	if err := w.chain.PrepareSwap(ctx, req.index, req.inst); err != nil {
		_ = req.inst.Close(ctx)
		req.prepared <- fmt.Errorf("worker %d: %w", w.id, err)
		return
	}
	req.prepared <- nil
	var commit bool
	select {
	case commit = <-req.decide:
	case <-ctx.Done():
	}
	if !commit {
		_ = req.inst.Close(context.WithoutCancel(ctx))
		return
	}
	_ = w.chain.CommitSwap(ctx, req.index, req.inst)
	w.stateful = chainStateful(w.chain)
	req.switched <- w.lastPage
}

func chainStateful(c *host.Chain) bool {
	for j := 0; j < c.Len(); j++ {
		if c.Instance(j).Module().HasSnapshot() {
			return true
		}
	}
	return false
}
