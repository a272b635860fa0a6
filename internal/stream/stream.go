// Package stream runs one configured stream: it wires the pager (Cassandra
// pages), one plugin chain per worker (wazero instances), the sinks and the
// checkpoint store together, and applies hot swaps at page boundaries.
//
// # Goroutines and what each owns
//
//   - The dispatcher (the goroutine that calls Run) owns the consumer side
//     of the pager (Next) and the assignment of splits to workers. A split
//     always goes to one worker, so its pages are processed in order.
//   - Each worker owns its host.Chain (the plugin instances) and nothing
//     else; it receives pages and swap requests on channels and sends
//     results on to the committer.
//   - The committer owns the sinks, the pager.Progress, the checkpoint
//     store's writes and the plugin snapshots it last received; it applies
//     results in arrival order, which keeps every split in order.
//   - The reloader owns the record of which module version runs for each
//     plugin, compiles and self-tests new versions off the hot path, and
//     hands ready instances to the workers.
//
// Values sent on channels change owner. Counters read by the progress
// display and metrics are atomics; nothing on the hot path takes a lock.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// Env is what the streams of one process share. Every field is safe for
// concurrent use.
type Env struct {
	Config  *config.Config
	Session *gocql.Session
	Runtime *host.Runtime
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Stdout  io.Writer // stdout sinks write here; nil = the process's standard output
	// Store overrides the checkpoint store built from Config (tests).
	Store pager.CheckpointStore
}

// Summary is what a finished (or stopped) stream reports.
type Summary struct {
	Stream   string
	RowsIn   uint64 // rows read from Cassandra in this run
	RowsOut  uint64 // rows written to sinks in this run
	Pages    uint64 // pages read in this run, empty ones included
	Elapsed  time.Duration
	Resumed  bool   // started from a checkpoint
	Resume   string // where a rerun resumes, when stopped early
	Complete bool   // every split was read and flushed
}

// RowsPerSecond returns RowsIn / Elapsed.
func (s Summary) RowsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.RowsIn) / s.Elapsed.Seconds()
}

// Stats are live counters of a running stream, for progress displays.
type Stats struct {
	Rows, RowsOut, Pages uint64
	SplitsDone, Splits   int
	Covered              float64 // share of the token ring whose splits are done, 0..1
	Started              time.Time
}

// Stream is one configured stream, built by New and run once by Run.
type Stream struct {
	env     *Env
	cfg     config.Stream
	log     *slog.Logger
	plugins []*pluginSlot // immutable list; the module inside is owned by the reloader
	sinks   []*sinkSlot   // owned by the committer once Run starts
	src     *pager.CassandraSource
	pg      *pager.Pager
	store   pager.CheckpointStore
	cp      *pager.Checkpoint // checkpoint loaded by New (nil = fresh run)
	workers int
	every   int           // checkpoint every N pages (0 = only by interval)
	period  time.Duration // checkpoint interval (0 = only by pages)

	reloads chan reloadRequest
	sample  chan *abi.Page // dispatcher → reloader: a copy of the first page

	rows, rowsOut, pages atomic.Uint64
	splitsDone           atomic.Int64
	covered              atomic.Uint64 // token-range units done (of 2^64)
	started              atomic.Int64  // unix nanoseconds when Run started; 0 before

	closeOnce sync.Once
}

type pluginSlot struct {
	index int
	name  string
	cfg   config.Plugin
	kvs   []abi.KV
	mod   *host.Module // the version running now; owned by the reloader after Run starts
}

type sinkSlot struct {
	name    string
	outputs map[string]bool
	s       sink.Sink
	rows    atomic.Uint64
}

// New builds a stream: it compiles and validates every plugin (before any
// row is read), opens the sinks, plans the scan and loads the checkpoint.
// Errors here are configuration or plugin problems (exit code 2).
func New(ctx context.Context, env *Env, sc config.Stream) (_ *Stream, err error) {
	s := &Stream{env: env, cfg: sc, log: env.Logger.With("stream", sc.Name),
		reloads: make(chan reloadRequest), sample: make(chan *abi.Page, 1)}
	defer func() {
		if err != nil {
			s.closeResources(ctx)
		}
	}()
	for i, p := range sc.Plugins {
		slot, err := s.loadPlugin(ctx, i, p)
		if err != nil {
			return nil, err
		}
		s.plugins = append(s.plugins, slot)
	}
	if err := s.openSinks(ctx); err != nil {
		return nil, err
	}
	if err := s.buildPager(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.cfg.Name }

func (s *Stream) loadPlugin(ctx context.Context, i int, p config.Plugin) (*pluginSlot, error) {
	name := p.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(p.Path), ".wasm")
	}
	kvs, err := abi.FlattenConfig(p.Config)
	if err != nil {
		return nil, fmt.Errorf("stream %q plugin %q: config: %w", s.cfg.Name, name, err)
	}
	mod, err := s.env.Runtime.CompileFile(ctx, name, p.Path)
	if err != nil {
		return nil, fmt.Errorf("stream %q plugin %q: %w", s.cfg.Name, name, err)
	}
	if p.SHA256 != "" && !strings.EqualFold(p.SHA256, mod.SHA256) {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("stream %q plugin %q: %s has sha256 %s, the config requires %s", s.cfg.Name, name, p.Path, mod.SHA256, p.SHA256)
	}
	slot := &pluginSlot{index: i, name: name, cfg: p, kvs: kvs, mod: mod}
	// Validate init with the real config now, before any row is read.
	inst, err := s.instantiate(ctx, slot, mod, p, kvs)
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	_ = inst.Close(ctx)
	return slot, nil
}

func (s *Stream) instantiate(ctx context.Context, slot *pluginSlot, mod *host.Module, p config.Plugin, kvs []abi.KV) (*host.Instance, error) {
	rt := s.env.Config.Runtime
	mem := p.MemoryLimit
	if mem == 0 {
		mem = rt.MemoryLimit
	}
	timeout := p.PageTimeout
	if timeout == 0 {
		timeout = rt.PageTimeout
	}
	return mod.Instantiate(ctx, host.InstanceConfig{
		Stream:           s.cfg.Name,
		Plugin:           slot.name,
		Config:           kvs,
		PageTimeout:      timeout,
		MemoryLimitPages: mem.WasmPages(),
		Logger:           s.env.Logger, // the host adds stream, plugin and module
		ResultCap:        int(rt.MaxResultSize),
	})
}

func (s *Stream) openSinks(ctx context.Context) error {
	sinks := s.cfg.Sinks
	if len(sinks) == 0 {
		sinks = []config.Sink{{Name: "stdout", Type: "stdout", Format: "jsonl", Outputs: []string{""}}}
	}
	for _, sc := range sinks {
		name := sc.Name
		if name == "" {
			name = sc.Type
		}
		sk, err := sink.New(ctx, sc, sink.Env{Stream: s.cfg.Name, Session: s.env.Session, Stdout: s.env.Stdout})
		if err != nil {
			return fmt.Errorf("stream %q sink %q: %w", s.cfg.Name, name, err)
		}
		outs := map[string]bool{}
		if len(sc.Outputs) == 0 {
			outs[""] = true
		}
		for _, o := range sc.Outputs {
			outs[o] = true
		}
		s.sinks = append(s.sinks, &sinkSlot{name: name, outputs: outs, s: sk})
	}
	return nil
}

func (s *Stream) buildPager(ctx context.Context) error {
	src := s.cfg.Source
	cons := src.Consistency
	if cons == "" {
		cons = s.env.Config.Cassandra.Consistency
	}
	ks := src.Keyspace
	if ks == "" {
		ks = s.env.Config.Cassandra.Keyspace
	}
	opts := pager.Options{
		Stream:         s.cfg.Name,
		PageSize:       src.PageSize,
		Consistency:    cons.Gocql(),
		Prefetch:       src.Prefetch,
		Splits:         src.Splits,
		Concurrency:    src.Concurrency,
		RowsPerSecond:  src.RateLimitRows,
		PagesPerSecond: src.RateLimitPages,
		PageTimeout:    src.PageTimeout,
		Retries:        src.Retries,
		BackoffBase:    src.RetryBackoff,
		BackoffMax:     src.RetryBackoffMax,
	}
	if !s.cfg.Shard.IsZero() {
		opts.Shard = pager.Shard{Index: s.cfg.Shard.Index, Count: s.cfg.Shard.Count}
	}
	if opts.Retries == 0 {
		opts.Retries = -1 // the config's 0 means none; the pager's zero means its default
	}
	opts = opts.WithDefaults()
	spec := pager.Spec{Keyspace: ks, Table: src.Table, Columns: src.Columns, Where: src.Where, CQL: src.CQL, Args: src.Values}
	cs, err := pager.NewCassandraSource(ctx, s.env.Session, spec, opts)
	if err != nil {
		return fmt.Errorf("stream %q source: %w", s.cfg.Name, err)
	}
	plan, err := cs.Plan(ctx)
	if err != nil {
		return fmt.Errorf("stream %q source: %w", s.cfg.Name, err)
	}
	var obs pager.Observer
	if s.env.Metrics != nil {
		obs = s.env.Metrics.Pager(s.cfg.Name)
	}
	pg, err := pager.New(cs, plan, opts, obs)
	if err != nil {
		return fmt.Errorf("stream %q: %w", s.cfg.Name, err)
	}
	s.src, s.pg = cs, pg

	s.store = s.env.Store
	cc := s.env.Config.Checkpoint
	if s.store == nil {
		switch cc.Store {
		case "file":
			s.store, err = pager.NewFileStore(cc.Dir, opts.Shard)
		case "cassandra":
			s.store, err = pager.NewCassandraStore(ctx, s.env.Session, cc.Keyspace, cc.Table, opts.Shard, s.env.Config.Cassandra.Consistency.Gocql())
		}
		if err != nil {
			return fmt.Errorf("stream %q checkpoint store: %w", s.cfg.Name, err)
		}
	}
	s.every, s.period = cc.EveryPages, cc.Interval
	if s.store != nil {
		cp, err := s.store.Load(ctx, s.cfg.Name)
		if err != nil {
			return fmt.Errorf("stream %q: load checkpoint: %w", s.cfg.Name, err)
		}
		if cp != nil && cp.Done() {
			s.log.Info("the previous run of this stream completed; starting a new run", "saved_at", cp.SavedAt)
			cp = nil
		}
		if cp != nil {
			if err := pg.Resume(cp); err != nil {
				if errors.Is(err, pager.ErrFingerprint) {
					return fmt.Errorf("stream %q: %w\nto start over instead of resuming, %s", s.cfg.Name, err, s.startOverHint())
				}
				return fmt.Errorf("stream %q: %w", s.cfg.Name, err)
			}
			s.cp = cp
		}
	}
	nsplits := 0
	for _, sp := range plan.Splits {
		if opts.Shard.Owns(sp.Index) {
			nsplits++
		}
	}
	s.workers = max(1, min(opts.Concurrency, nsplits))
	return nil
}

// startOverHint says how to discard the stream's checkpoint.
func (s *Stream) startOverHint() string {
	switch st := s.store.(type) {
	case *pager.FileStore:
		return "delete " + st.Path(s.cfg.Name)
	case *pager.CassandraStore:
		cc := s.env.Config.Checkpoint
		return fmt.Sprintf("delete its rows: DELETE FROM %s.%s WHERE stream = '%s'", cc.Keyspace, cc.Table, strings.ReplaceAll(s.cfg.Name, "'", "''"))
	}
	return "rename the stream"
}

// Stats returns live counters; safe from any goroutine.
func (s *Stream) Stats() Stats {
	n := 0
	if s.pg != nil {
		n = len(s.pg.Splits())
	}
	return Stats{
		Rows: s.rows.Load(), RowsOut: s.rowsOut.Load(), Pages: s.pages.Load(),
		SplitsDone: int(s.splitsDone.Load()), Splits: n,
		Covered: float64(s.covered.Load()) / float64(^uint64(0)),
		Started: startedAt(s.started.Load()),
	}
}

// closeResources releases what New opened; Run calls it on its way out.
func (s *Stream) closeResources(ctx context.Context) {
	s.closeOnce.Do(func() {
		if s.pg != nil {
			_ = s.pg.Close()
		}
		for _, sk := range s.sinks {
			_ = sk.s.Close()
		}
		for _, p := range s.plugins {
			if p.mod != nil {
				_ = p.mod.Close(ctx)
			}
		}
	})
}

// Close releases the stream's resources if Run was never called. It is
// idempotent.
func (s *Stream) Close(ctx context.Context) { s.closeResources(ctx) }

// errStopped marks a graceful stop (signal): not a failure of the stream.
var errStopped = errors.New("stopped")

// IsStopped reports whether err is the graceful stop of a stream.
func IsStopped(err error) bool { return errors.Is(err, errStopped) }

func startedAt(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
