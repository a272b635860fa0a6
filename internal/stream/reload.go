package stream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
)

// ErrUnchanged is returned by Reload when the module file and config are
// the ones already running (same sha256): nothing is reloaded.
var ErrUnchanged = errors.New("unchanged: same module and config already running")

// ErrNotRunning is returned by Reload when the stream is not running (not
// started yet, or finished).
var ErrNotRunning = errors.New("stream is not running")

// reloadRequest asks the reloader to swap one plugin. cfg nil = the same
// config, the module file read again.
type reloadRequest struct {
	plugin string
	cfg    *config.Plugin
	reply  chan error
}

// swapRequest hands a ready instance to a worker; the worker swaps it in
// at its next page boundary and answers on reply.
type swapRequest struct {
	index int
	inst  *host.Instance
	reply chan error
}

// Reload swaps plugin (by name) for the current content of its file, with
// cfg as its new config section when cfg is not nil. The new module is
// compiled, validated and self-tested off the hot path (on a sample of the
// stream's rows once one was seen); each worker then swaps it in at its
// next page boundary, carrying the plugin's state through
// sluice_snapshot/sluice_restore. A module that fails any step is refused
// with an error and the running version keeps going. Safe to call from any
// goroutine while Run runs.
func (s *Stream) Reload(ctx context.Context, plugin string, cfg *config.Plugin) error {
	req := reloadRequest{plugin: plugin, cfg: cfg, reply: make(chan error, 1)}
	select {
	case s.reloads <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stream %q: %w", s.cfg.Name, ErrNotRunning)
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Plugins returns the names of the stream's plugins, in chain order.
func (s *Stream) Plugins() []string {
	names := make([]string, len(s.plugins))
	for i, p := range s.plugins {
		names[i] = p.name
	}
	return names
}

// reloader owns the running module version of every plugin slot while the
// stream runs.
func (s *Stream) reloader(ctx context.Context, ws []*worker, done chan<- struct{}) {
	defer close(done)
	var sample *abi.Page
	for {
		select {
		case p := <-s.sample:
			sample = p
		case req := <-s.reloads:
			err := s.reload(ctx, ws, sample, req)
			s.recordSwap(req.plugin, err)
			req.reply <- err
		case <-ctx.Done():
			return
		}
	}
}

func (s *Stream) recordSwap(plugin string, err error) {
	result := "swapped"
	switch {
	case errors.Is(err, ErrUnchanged):
		result = "unchanged"
	case err != nil:
		result = "refused"
	}
	if m := s.env.Metrics; m != nil {
		m.Swaps.WithLabelValues(s.cfg.Name, plugin, result).Inc()
		if result == "refused" {
			m.Errors.WithLabelValues(s.cfg.Name, "swap").Inc()
		}
	}
	switch result {
	case "swapped":
		s.log.Info("plugin swapped", "plugin", plugin)
	case "unchanged":
		s.log.Info("plugin reload skipped: module and config unchanged", "plugin", plugin)
	default:
		s.log.Error("plugin swap refused; the running version keeps going", "plugin", plugin, "err", err)
	}
}

func (s *Stream) reload(ctx context.Context, ws []*worker, sample *abi.Page, req reloadRequest) error {
	var slot *pluginSlot
	for _, p := range s.plugins {
		if p.name == req.plugin {
			slot = p
		}
	}
	if slot == nil {
		return fmt.Errorf("stream %q has no plugin %q (plugins: %v)", s.cfg.Name, req.plugin, s.Plugins())
	}
	cfg := slot.cfg
	kvs := slot.kvs
	if req.cfg != nil {
		cfg = *req.cfg
		var err error
		if kvs, err = abi.FlattenConfig(cfg.Config); err != nil {
			return fmt.Errorf("stream %q plugin %q: new config: %w", s.cfg.Name, slot.name, err)
		}
	}
	wasm, err := os.ReadFile(cfg.Path)
	if err != nil {
		return fmt.Errorf("stream %q plugin %q: read new module: %w", s.cfg.Name, slot.name, err)
	}
	mod, err := s.env.Runtime.Compile(ctx, slot.name, wasm)
	if err != nil {
		return fmt.Errorf("stream %q plugin %q: new module refused: %w", s.cfg.Name, slot.name, err)
	}
	if mod.SHA256 == slot.mod.SHA256 && kvsEqual(kvs, slot.kvs) && reflect.DeepEqual(limitsOf(cfg), limitsOf(slot.cfg)) {
		_ = mod.Close(ctx)
		return ErrUnchanged
	}
	if cfg.SHA256 != "" && cfg.SHA256 != mod.SHA256 {
		_ = mod.Close(ctx)
		return fmt.Errorf("stream %q plugin %q: new module has sha256 %s, the config requires %s", s.cfg.Name, slot.name, mod.SHA256, cfg.SHA256)
	}
	if err := s.selfTest(ctx, slot, mod, cfg, kvs, sample); err != nil {
		_ = mod.Close(ctx)
		return fmt.Errorf("stream %q plugin %q: new module %s refused by its self-test: %w", s.cfg.Name, slot.name, mod.ShortHash(), err)
	}
	// Build: one instance per worker, off the hot path.
	insts := make([]*host.Instance, len(ws))
	for i := range ws {
		inst, err := s.instantiate(ctx, slot, mod, cfg, kvs)
		if err != nil {
			for _, in := range insts[:i] {
				_ = in.Close(ctx)
			}
			_ = mod.Close(ctx)
			return fmt.Errorf("stream %q plugin %q: instantiate new module: %w", s.cfg.Name, slot.name, err)
		}
		insts[i] = inst
	}
	// Swap: each worker at its next page boundary.
	var errs []error
	swapped := 0
	for i, w := range ws {
		r := swapRequest{index: slot.index, inst: insts[i], reply: make(chan error, 1)}
		select {
		case w.swaps <- r:
		case <-w.exited:
			_ = insts[i].Close(ctx)
			continue
		case <-ctx.Done():
			_ = insts[i].Close(ctx)
			return ctx.Err()
		}
		select {
		case err := <-r.reply:
			if err != nil {
				errs = append(errs, fmt.Errorf("worker %d: %w", w.id, err))
			} else {
				swapped++
			}
		case <-w.exited:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(errs) > 0 && swapped == 0 {
		_ = mod.Close(ctx)
		return fmt.Errorf("stream %q plugin %q: swap refused: %w", s.cfg.Name, slot.name, errors.Join(errs...))
	}
	// Drain: the old module is released once no instance of it runs.
	old := slot.mod
	slot.mod, slot.cfg, slot.kvs = mod, cfg, kvs
	_ = old.Close(ctx)
	if len(errs) > 0 {
		return fmt.Errorf("stream %q plugin %q: swapped on %d of %d workers; the others keep the old version: %w", s.cfg.Name, slot.name, swapped, len(ws), errors.Join(errs...))
	}
	return nil
}

// selfTest runs the new module on the sample rows, as the running chain
// would hand them to it: through fresh instances of the plugins before it.
func (s *Stream) selfTest(ctx context.Context, slot *pluginSlot, mod *host.Module, cfg config.Plugin, kvs []abi.KV, sample *abi.Page) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var insts []*host.Instance
	defer func() {
		for _, in := range insts {
			_ = in.Close(ctx)
		}
	}()
	for _, p := range s.plugins[:slot.index] {
		inst, err := s.instantiate(ctx, p, p.mod, p.cfg, p.kvs)
		if err != nil {
			return err
		}
		insts = append(insts, inst)
	}
	next, err := s.instantiate(ctx, slot, mod, cfg, kvs)
	if err != nil {
		return err
	}
	insts = append(insts, next)
	chain := host.NewChain(insts...)
	insts = nil // the chain owns them now
	defer func() { _ = chain.Close(ctx) }()
	if sample == nil {
		return nil // no rows seen yet: init was the test
	}
	_, err = chain.Process(ctx, sample)
	return err
}

// swap applies a swap request on the worker's goroutine.
func (w *worker) swap(ctx context.Context, req swapRequest) {
	req.reply <- w.chain.Swap(ctx, req.index, req.inst)
}

func kvsEqual(a, b []abi.KV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func limitsOf(p config.Plugin) [2]int64 { return [2]int64{int64(p.MemoryLimit), int64(p.PageTimeout)} }
