package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// Spec is everything one stream needs, resolved: the engine applies no
// defaults of its own (internal/setup resolves them from the config, which
// is their one source of truth) and never rewrites a value it is given.
type Spec struct {
	// Name names the stream in checkpoints, errors, logs and metrics.
	Name string
	// Source and Plan are what the pager reads; Paging configures it
	// (Paging.Stream is set to Name).
	Source pager.Source
	Plan   pager.Plan
	Paging pager.Options
	// Observer receives paging metrics; nil = none.
	Observer pager.Observer
	// Follow says the source is a follow source (pager/follow): its one
	// split never ends and every position carries the follow cursor, which
	// says when a bucket closes (the chain flushes then) and the watermark
	// (follow.go).
	Follow bool

	// KeyColumns are the primary key columns of the rows the source pages,
	// by name (nil = unknown): a plugin failure on a row names the row's
	// key with them.
	KeyColumns []string

	// Plugins is the chain, in order. The stream takes ownership of the
	// modules (it closes them).
	Plugins []Plugin
	// Sinks receive the chain's outputs. The stream takes ownership of
	// them (it closes them). At least one.
	Sinks []Sink

	// Store saves and loads checkpoints; nil = no checkpoints (a rerun
	// starts over).
	Store pager.CheckpointStore
	// Checkpoint says when checkpoints are saved, and where, for messages.
	Checkpoint CheckpointPolicy
	// Fence, when set, is held by this process for the stream's shard
	// (taken before Store.Load): the committer calls Check before every
	// sink write and every flush and checkpoint, and stops the run when it
	// fails or Lost is closed. The stream takes ownership (it closes it
	// after the sinks). nil = no fence.
	Fence Fence
	// WaitedSince, when set, is when this process began to wait for the
	// fence another process held. A checkpoint that is complete and was
	// saved after it is that process's finished run: this one has
	// nothing to do (Run returns at once, complete, writing nothing),
	// instead of starting the scan of the shard over.
	WaitedSince time.Time
	// SkipCompleted: when the loaded checkpoint is complete, do nothing
	// (as after WaitedSince) instead of starting a new run: re-running an
	// Indexed Job after some of its indexes failed resumes those and
	// leaves the completed shards alone.
	SkipCompleted bool

	// Workers is the number of plugin chains run in parallel (each on its
	// own goroutine); 0 = one per split paged at the same time:
	// min(Paging.Concurrency, splits of the shard).
	Workers int

	Logger  *slog.Logger     // nil = discard
	Metrics *metrics.Metrics // nil = none
}

// Fence is what the committer asks before it writes: *pager.Lease.
type Fence interface {
	// Check returns nil while the process may write, else why not. It is
	// called on the hot path: it must not block (the lease reads atomics).
	Check() error
	// Lost is closed once the fence is known lost.
	Lost() <-chan struct{}
	Close(ctx context.Context) error
}

// CheckpointPolicy says when the committer saves a checkpoint.
type CheckpointPolicy struct {
	// EveryPages saves after every N committed pages; 0 = only by Interval.
	EveryPages int
	// Interval saves at least this often while pages are committed;
	// 0 = only by EveryPages.
	Interval time.Duration
	// Where names the checkpoint for messages, e.g. "file
	// .sluice/checkpoints/demo.checkpoint.json".
	Where string
	// StartOver says how to discard the checkpoint to start over, e.g.
	// "delete .sluice/checkpoints/demo.checkpoint.json".
	StartOver string
}

// Plugin is one plugin of the chain.
type Plugin struct {
	// Name is the plugin's name in the stream (unique), in errors, logs,
	// metrics and checkpoints.
	Name    string
	Version Version
}

// Version is one version of a plugin: a compiled module and how to
// instantiate it.
type Version struct {
	Module *host.Module
	// Instance configures each instance; its Stream and Plugin fields are
	// set by the stream.
	Instance host.InstanceConfig
	// Key identifies the version (module hash, plugin config, limits): a
	// Reload with the running Key is ErrUnchanged. "" = the module's
	// SHA-256.
	Key string
	// Origin says where the version came from, for logs (a file path).
	Origin string
}

func (v Version) key() string {
	if v.Key != "" {
		return v.Key
	}
	return v.Module.SHA256
}

// Sink is one sink of the stream.
type Sink struct {
	// Name is the sink's name in the stream (unique), in errors, metrics
	// and checkpoints.
	Name string
	// Identity names what the sink writes to ("file:/abs/out.jsonl",
	// "cassandra:ks.t", "stdout"). A checkpoint records it, so that a
	// sink renamed between stop and resume is recognised, and a sink that
	// now writes elsewhere is refused instead of truncated.
	Identity string
	// Outputs are the plugin outputs it takes; "" is the chain's default
	// output.
	Outputs []string
	Sink    sink.Sink
}

// validate checks what the engine relies on.
func (sp *Spec) validate() error {
	var errs []error
	if sp.Name == "" {
		errs = append(errs, errors.New("no name"))
	}
	if sp.Source == nil {
		errs = append(errs, errors.New("no source"))
	}
	if len(sp.Plan.Splits) == 0 {
		errs = append(errs, errors.New("no split plan"))
	}
	if len(sp.Sinks) == 0 {
		errs = append(errs, errors.New("no sink"))
	}
	if sp.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d < 0", sp.Workers))
	}
	if sp.Checkpoint.EveryPages < 0 || sp.Checkpoint.Interval < 0 {
		errs = append(errs, errors.New("negative checkpoint policy"))
	}
	names := map[string]bool{}
	for i, p := range sp.Plugins {
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("plugin %d has no name", i))
		case names[p.Name]:
			errs = append(errs, fmt.Errorf("two plugins are named %q", p.Name))
		case p.Version.Module == nil:
			errs = append(errs, fmt.Errorf("plugin %q has no module", p.Name))
		}
		names[p.Name] = true
	}
	names = map[string]bool{}
	var txn []string
	for _, s := range sp.Sinks {
		if _, ok := s.Sink.(sink.Transactional); ok {
			txn = append(txn, strconv.Quote(s.Name))
		}
	}
	if len(txn) > 1 {
		// Two transactions cannot commit atomically together: a crash
		// between them would leave one sink ahead of the other.
		errs = append(errs, fmt.Errorf("sinks %s are all transactional (kafka, exactly once); a stream may have one: route several outputs to one kafka sink with per-output topics", strings.Join(txn, ", ")))
	}
	for i, s := range sp.Sinks {
		switch {
		case s.Name == "":
			errs = append(errs, fmt.Errorf("sink %d has no name", i))
		case names[s.Name]:
			errs = append(errs, fmt.Errorf("two sinks are named %q", s.Name))
		case s.Sink == nil:
			errs = append(errs, fmt.Errorf("sink %q is nil", s.Name))
		}
		names[s.Name] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("stream %q: invalid spec: %w", sp.Name, errors.Join(errs...))
	}
	return nil
}

// transactional returns the stream's transactional sink (Validate allows
// at most one) and its name; nil when it has none.
func (sp *Spec) transactional() (sink.Transactional, string) {
	for _, s := range sp.Sinks {
		if t, ok := s.Sink.(sink.Transactional); ok {
			return t, s.Name
		}
	}
	return nil, ""
}
