package stream

import (
	"context"
	"errors"
	"io"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
)

// dispatcher is the consumer of the pager: it hands each page to the
// worker that owns the page's split. Its state (the split → worker map and
// the load of each worker) belongs to the goroutine that runs it, Run's.
type dispatcher struct {
	pg      *pager.Pager
	workers []*worker
	sample  chan<- *abi.Page // to the reloader: a copy of the first page with rows

	owner map[int]*worker // split → worker, while the split is open
	load  []int           // open splits per worker
}

func newDispatcher(pg *pager.Pager, ws []*worker, sample chan<- *abi.Page) *dispatcher {
	return &dispatcher{pg: pg, workers: ws, sample: sample, owner: map[int]*worker{}, load: make([]int, len(ws))}
}

// run returns nil at the end of the scan, errStopped when stop closed,
// errWorkerExited when a worker stopped taking pages (it failed: the
// committer reports why), or the pager's error.
func (d *dispatcher) run(ctx context.Context, stop <-chan struct{}) error {
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
		dl, err := d.pg.Next(nextCtx)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case isClosed(stop):
				return errStopped
			case ctx.Err() != nil:
				return errCanceled
			}
			return err
		}
		if !sampled && dl.Page.NumRows() > 0 {
			sampled = true
			select {
			case d.sample <- samplePage(dl.Page):
			default:
			}
		}
		w := d.assign(dl)
		select {
		case w.in <- dl:
		case <-w.exited:
			return errWorkerExited
		case <-ctx.Done():
			return errCanceled
		case <-stop:
			return errStopped
		}
	}
}

// assign returns the worker of the delivery's split: the one it already
// has, or the least loaded one for a new split.
func (d *dispatcher) assign(dl pager.Delivery) *worker {
	w, ok := d.owner[dl.Split.Index]
	if !ok {
		best := 0
		for i := range d.load {
			if d.load[i] < d.load[best] {
				best = i
			}
		}
		w = d.workers[best]
		d.owner[dl.Split.Index] = w
		d.load[best]++
	}
	if dl.Position.Done {
		delete(d.owner, dl.Split.Index)
		d.load[w.id]--
	}
	return w
}

var (
	errWorkerExited = errors.New("a worker stopped")
	errCanceled     = errors.New("canceled")
)

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
