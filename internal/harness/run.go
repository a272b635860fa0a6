package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// Plugin is one plugin of the chain under test.
type Plugin struct {
	// Name names the plugin in errors and logs (default: Path's file name
	// without .wasm, as a stream names it).
	Name string
	// Path is the .wasm module.
	Path string
	// Config is handed to sluice_init (abi.FlattenConfig of a TOML table,
	// or ConfigFromJSON).
	Config []abi.KV
	// MemoryLimitPages and PageTimeout override Options' for this plugin
	// when non-zero.
	MemoryLimitPages uint32
	PageTimeout      time.Duration
}

// Options configures Run.
type Options struct {
	// Runtime compiles and runs the plugins (required). Run does not close it.
	Runtime *host.Runtime
	// Plugins are the chain, in order (at least one).
	Plugins []Plugin
	// Flush calls the chain's flush after the last page, as a stream does
	// at its end.
	Flush bool
	// Stream names the stream in plugin error reports (default
	// "plugin-test").
	Stream string
	// MemoryLimitPages is the memory limit of each instance in 64 KiB pages
	// (0 = the Runtime's).
	MemoryLimitPages uint32
	// PageTimeout bounds each call into a plugin (0 = host default).
	PageTimeout time.Duration
	// Logger receives the plugins' logs and stdout/stderr (nil = discard).
	Logger *slog.Logger
}

// Output is everything one output received during a run, in order, each
// page holding exactly the output's rows (selections materialized).
type Output struct {
	Name  string // "" is the default output
	Pages []*abi.Page
}

// Rows returns the number of rows of the output.
func (o *Output) Rows() int {
	n := 0
	for _, p := range o.Pages {
		n += p.NumRows()
	}
	return n
}

// Result is the outcome of a run.
type Result struct {
	// Outputs holds every output that received rows: the default output
	// first (always present, maybe with no pages), then named outputs in
	// the order they first appeared.
	Outputs []*Output
	// PagesIn and RowsIn count the fixture pages and rows fed to the chain.
	PagesIn, RowsIn int
}

// Output returns the named output, or nil when it received nothing.
func (r *Result) Output(name string) *Output {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func (r *Result) add(outs host.Outputs) {
	for _, o := range outs.All() {
		dst := r.Output(o.Name)
		if dst == nil {
			dst = &Output{Name: o.Name}
			r.Outputs = append(r.Outputs, dst)
		}
		for _, b := range o.Batches {
			if b.Rows() > 0 {
				dst.Pages = append(dst.Pages, b.Materialize())
			}
		}
	}
}

// Load compiles and instantiates the plugins of opts into a chain, in
// order. The caller owns the chain (Close it); on error nothing is left
// open. Errors of a plugin (its module, its init) are *host.PluginError.
func Load(ctx context.Context, opts Options) (*host.Chain, error) {
	if opts.Runtime == nil {
		return nil, errors.New("harness: Options.Runtime is nil")
	}
	if len(opts.Plugins) == 0 {
		return nil, errors.New("harness: no plugin to run")
	}
	stream := opts.Stream
	if stream == "" {
		stream = "plugin-test"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	insts := make([]*host.Instance, 0, len(opts.Plugins))
	fail := func(err error) (*host.Chain, error) {
		for _, in := range insts {
			_ = in.Close(ctx)
		}
		return nil, err
	}
	for _, p := range opts.Plugins {
		name := p.Name
		if name == "" {
			name = DefaultName(p.Path)
		}
		mod, err := opts.Runtime.CompileFile(ctx, name, p.Path)
		if err != nil {
			return fail(err)
		}
		mem, timeout := opts.MemoryLimitPages, opts.PageTimeout
		if p.MemoryLimitPages != 0 {
			mem = p.MemoryLimitPages
		}
		if p.PageTimeout != 0 {
			timeout = p.PageTimeout
		}
		inst, err := mod.Instantiate(ctx, host.InstanceConfig{
			Stream:           stream,
			Plugin:           name,
			Config:           p.Config,
			PageTimeout:      timeout,
			MemoryLimitPages: mem,
			Logger:           logger.With("plugin", name),
		})
		// Instances keep working after their Module is closed.
		_ = mod.Close(ctx)
		if err != nil {
			return fail(err)
		}
		insts = append(insts, inst)
	}
	return host.NewChain(insts...), nil
}

// Run loads the chain of opts, feeds it the pages in order, flushes it
// when opts.Flush is set, closes it and returns every output. A plugin
// failure is returned as the host's *host.PluginError, unchanged (its
// Error is the report a stream prints); the outputs of the pages before
// the failure are returned with it.
func Run(ctx context.Context, opts Options, pages []*abi.Page) (*Result, error) {
	res := &Result{Outputs: []*Output{{Name: abi.DefaultOutput}}}
	chain, err := Load(ctx, opts)
	if err != nil {
		return res, err
	}
	defer chain.Close(ctx)
	for _, p := range pages {
		res.PagesIn++
		res.RowsIn += p.NumRows()
		outs, err := chain.Process(ctx, p)
		if err != nil {
			return res, err
		}
		res.add(outs)
	}
	if opts.Flush {
		outs, err := chain.Flush(ctx)
		if err != nil {
			return res, err
		}
		res.add(outs)
	}
	if err := chain.Close(ctx); err != nil {
		return res, fmt.Errorf("harness: closing the chain: %w", err)
	}
	return res, nil
}
