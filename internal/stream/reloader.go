package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// ErrUnchanged is returned by Reload when the version is the one already
// running (same Version.Key): nothing is swapped.
var ErrUnchanged = errors.New("unchanged: same module and config already running")

// ErrNotRunning is returned by Reload when the stream is not running (not
// started yet, or finished).
var ErrNotRunning = errors.New("stream is not running")

// reloadRequest asks the reloader to swap one plugin to version v.
type reloadRequest struct {
	plugin string
	v      Version
	reply  chan error
}

// Reload swaps plugin (by name) to version v while Run runs. The stream
// takes ownership of v.Module: it closes it when the version is refused or
// unchanged, and when it is replaced later.
//
// The new version is self-tested off the hot path (on a sample of the
// stream's rows once one was seen, through fresh instances of the plugins
// before it), then swapped in two phases: every worker carries the
// plugin's state into a new instance at its next page boundary
// (snapshot/restore) and waits; if every worker succeeded, all switch,
// else all keep the running version. A refused version never touches the
// running stream. Safe to call from any goroutine.
func (s *Stream) Reload(ctx context.Context, plugin string, v Version) error {
	if v.Module == nil {
		return fmt.Errorf("stream %q plugin %q: reload without a module", s.spec.Name, plugin)
	}
	if !s.running.Load() {
		_ = v.Module.Close(ctx)
		return fmt.Errorf("stream %q: %w", s.spec.Name, ErrNotRunning)
	}
	req := reloadRequest{plugin: plugin, v: v, reply: make(chan error, 1)}
	select {
	case s.reloads <- req:
	case <-s.ended:
		_ = v.Module.Close(ctx)
		return fmt.Errorf("stream %q: %w", s.spec.Name, ErrNotRunning)
	case <-ctx.Done():
		_ = v.Module.Close(context.WithoutCancel(ctx))
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err() // the reloader finishes the swap or refuses it on its own
	}
}

// Refused records a reload of plugin that was refused before it reached
// the stream (the caller could not compile or initialize the new version):
// it is counted and logged like a swap the stream refuses. Safe from any
// goroutine.
func (s *Stream) Refused(plugin string, err error) {
	record(s, plugin, err)
}

// reloader owns the running version of every plugin (Stream.versions)
// while Run runs: its goroutine (run) is the only one that reads or
// changes them until Run has joined it.
type reloader struct {
	s       *Stream
	workers []*worker
	sample  *abi.Page
}

func (r *reloader) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	s := r.s
	for {
		select {
		case p := <-s.sample:
			r.sample = p
		case req := <-s.reloads:
			err := r.reload(ctx, req)
			record(s, req.plugin, err)
			req.reply <- err
		case <-ctx.Done():
			return
		}
	}
}

// record counts and logs the outcome of a reload.
func record(s *Stream, plugin string, err error) {
	result := "swapped"
	switch {
	case errors.Is(err, ErrUnchanged):
		result = "unchanged"
	case err != nil:
		result = "refused"
	}
	if m := s.spec.Metrics; m != nil {
		m.Swaps.WithLabelValues(s.spec.Name, plugin, result).Inc()
		if result == "refused" {
			m.Errors.WithLabelValues(s.spec.Name, "swap").Inc()
		}
	}
	switch result {
	case "unchanged":
		s.log.Info("plugin reload skipped: module and config unchanged", "plugin", plugin)
	case "refused":
		s.log.Error("plugin swap refused; every worker keeps the running version", "plugin", plugin, "err", err)
	}
}

func (r *reloader) reload(ctx context.Context, req reloadRequest) (err error) {
	s := r.s
	idx := -1
	for i, p := range s.spec.Plugins {
		if p.Name == req.plugin {
			idx = i
		}
	}
	next := req.v
	defer func() {
		if err != nil {
			_ = next.Module.Close(context.WithoutCancel(ctx))
		}
	}()
	if idx < 0 {
		return fmt.Errorf("stream %q has no plugin %q (plugins: %v)", s.spec.Name, req.plugin, s.Plugins())
	}
	cur := s.versions[idx]
	if next.key() == cur.key() {
		return ErrUnchanged
	}
	name := s.spec.Plugins[idx].Name
	if err := r.selfTest(ctx, idx, next); err != nil {
		rows := 0
		if r.sample != nil {
			rows = r.sample.NumRows()
		}
		return fmt.Errorf("stream %q plugin %q: new module %s refused by its self-test (init, then one page of %d sample rows through the chain): %w",
			s.spec.Name, name, next.Module.ShortHash(), rows, err)
	}

	// Build: one instance per worker still running, off the hot path.
	type target struct {
		w    *worker
		inst *host.Instance
		req  swapPrepare
	}
	var targets []*target
	closeAll := func() {
		for _, t := range targets {
			if t.inst != nil {
				_ = t.inst.Close(context.WithoutCancel(ctx))
			}
		}
	}
	for _, w := range r.workers {
		if isClosed(w.exited) {
			continue
		}
		inst, err := s.instantiate(ctx, idx, next)
		if err != nil {
			closeAll()
			return fmt.Errorf("stream %q plugin %q: instantiate new module %s: %w", s.spec.Name, name, next.Module.ShortHash(), err)
		}
		targets = append(targets, &target{w: w, inst: inst})
	}

	// Phase 1: every worker prepares at its next page boundary. A worker
	// that prepared waits for the decision and processes no page.
	var errs []error
	var prepared []*target
	for _, t := range targets {
		t.req = swapPrepare{index: idx, inst: t.inst, prepared: make(chan error, 1), decide: make(chan bool, 1), switched: make(chan uint64, 1)}
		select {
		case t.w.swaps <- t.req:
		case <-t.w.exited:
			_ = t.inst.Close(ctx) // it finished its input: no page left to run the new version on
			t.inst = nil
			continue
		case <-ctx.Done():
			for _, p := range prepared {
				p.req.decide <- false
			}
			return ctx.Err()
		}
		t.inst = nil // the worker owns it now
		select {
		case err := <-t.req.prepared:
			if err != nil {
				errs = append(errs, err)
				continue
			}
			prepared = append(prepared, t)
		case <-ctx.Done():
			for _, p := range prepared {
				p.req.decide <- false
			}
			return ctx.Err()
		}
	}
	if len(errs) > 0 {
		for _, p := range prepared {
			p.req.decide <- false
		}
		return fmt.Errorf("stream %q plugin %q: new module %s refused: %d of %d workers could not carry their state into it, so none switched: %w",
			s.spec.Name, name, next.Module.ShortHash(), len(errs), len(targets), errors.Join(errs...))
	}

	// Phase 2: all commit.
	pages := make([]any, 0, 2*len(prepared))
	for _, p := range prepared {
		p.req.decide <- true
	}
	for _, p := range prepared {
		select {
		case page := <-p.req.switched:
			pages = append(pages, fmt.Sprintf("worker_%d_after_page", p.w.id), page)
		case <-ctx.Done():
			return nil // committed; the run is ending
		}
	}
	// Drain: the old version's instances were closed by the swaps; its
	// module goes now.
	s.versions[idx] = next
	_ = cur.Module.Close(ctx)
	s.log.Info("plugin swapped", append([]any{"plugin", name, "old_module", cur.Module.ShortHash(), "new_module", next.Module.ShortHash(), "origin", next.Origin}, pages...)...)
	return nil
}

// selfTest runs version v of plugin idx on the sample rows, as the running
// chain would hand them to it: through fresh instances of the plugins
// before it. With no sample yet, initialization is the test.
func (r *reloader) selfTest(ctx context.Context, idx int, v Version) error {
	s := r.s
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	insts := make([]*host.Instance, 0, idx+1)
	for i := 0; i < idx; i++ {
		inst, err := s.instantiate(ctx, i, s.versions[i])
		if err != nil {
			for _, in := range insts {
				_ = in.Close(ctx)
			}
			return err
		}
		insts = append(insts, inst)
	}
	next, err := s.instantiate(ctx, idx, v)
	if err != nil {
		for _, in := range insts {
			_ = in.Close(ctx)
		}
		return err
	}
	chain := host.NewChain(append(insts, next)...)
	defer func() { _ = chain.Close(context.WithoutCancel(ctx)) }()
	if r.sample == nil {
		return nil
	}
	_, err = chain.Process(ctx, r.sample)
	return err
}
