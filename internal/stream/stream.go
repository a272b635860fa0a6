package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/pager"
)

// Summary is what a finished (or stopped) stream reports.
type Summary struct {
	Stream   string
	RowsIn   uint64 // rows read from Cassandra and committed in this run
	RowsOut  uint64 // rows written to sinks in this run
	Rejected uint64 // of RowsOut, rows plugins sent to the dead-letter output (abi.RejectedOutput)
	Pages    uint64 // pages committed in this run, empty ones included
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
	// Follow mode (Spec.Follow): the committed watermark (zero before the
	// first poll) and the buckets the current poll reads.
	Follow      bool
	Watermark   time.Time
	OpenBuckets int
}

// Stream is one stream, built by New and run once by Run.
//
// Its fields are set by New and then read-only, except where noted: the
// plugin versions belong to the reloader while Run runs, the sinks to the
// committer, and the counters are atomics.
type Stream struct {
	spec   Spec
	log    *slog.Logger
	pg     *pager.Pager
	resume *resumePlan       // nil = fresh run
	loaded *pager.Checkpoint // the store's checkpoint as loaded (even a completed one); nil = none
	// doneBy is the complete checkpoint another process saved while this
	// one waited for the fence: Run does nothing. nil = run.
	doneBy  *pager.Checkpoint
	workers int

	versions []Version // running version of each plugin; owned by the reloader during Run
	reloads  chan reloadRequest
	sample   chan *abi.Page // dispatcher → reloader: a copy of the first page with rows
	running  atomic.Bool    // Run started
	ended    chan struct{}  // closed when Run returned or Close was called first

	rows, rowsOut, pages atomic.Uint64
	rowsRejected         atomic.Uint64 // rows sent to the dead-letter output
	splitsDone           atomic.Int64
	covered              atomic.Uint64 // token-range units done (of 2^64)
	started              atomic.Int64  // unix nanoseconds when Run started; 0 before
	watermark            atomic.Int64  // follow: committed watermark, unix ms; 0 = none yet
	openBuckets          atomic.Int64  // follow: buckets of the committed poll

	runOnce, closeOnce, endOnce sync.Once
}

// New builds a stream from spec: it builds the pager, loads the checkpoint
// and checks that it can be resumed with these sinks and plugins. Nothing
// is read before Run. On error everything spec handed over (modules,
// sinks) is closed; the error is a configuration or checkpoint problem
// (the CLI's exit code 2).
func New(ctx context.Context, spec Spec) (_ *Stream, err error) {
	s := &Stream{spec: spec, log: spec.Logger, reloads: make(chan reloadRequest), sample: make(chan *abi.Page, 1), ended: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("stream", spec.Name)
	for _, p := range spec.Plugins {
		s.versions = append(s.versions, p.Version)
	}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	if err := s.spec.validate(); err != nil {
		return nil, err
	}
	opts := spec.Paging
	opts.Stream = spec.Name
	pg, err := pager.New(spec.Source, spec.Plan, opts, spec.Observer)
	if err != nil {
		return nil, fmt.Errorf("stream %q: %w", spec.Name, err)
	}
	s.pg = pg
	n := len(pg.Splits())
	s.workers = spec.Workers
	if s.workers == 0 {
		s.workers = max(1, min(opts.Concurrency, n))
	}
	if spec.Store == nil {
		return s, nil
	}
	cp, err := spec.Store.Load(ctx, spec.Name)
	if err != nil {
		return nil, fmt.Errorf("stream %q: load checkpoint: %w", spec.Name, err)
	}
	s.loaded = cp
	if cp != nil && cp.Done() && !spec.WaitedSince.IsZero() && cp.SavedAt.After(spec.WaitedSince) {
		s.log.Info("another process completed this shard while this one waited for its lease; nothing to do", "saved_at", cp.SavedAt, "waited_since", spec.WaitedSince)
		s.doneBy = cp
		return s, nil
	}
	if cp != nil && cp.Done() && spec.SkipCompleted {
		s.log.Info("the last run of this shard completed; skipping it (-skip-completed)", "saved_at", cp.SavedAt, "rows", cp.Rows())
		s.doneBy = cp
		return s, nil
	}
	if cp != nil && cp.Done() {
		s.log.Info("the previous run of this stream completed; starting a new run", "saved_at", cp.SavedAt)
		cp = nil
	}
	if cp == nil {
		return s, nil
	}
	if err := s.adopt(cp); err != nil {
		return nil, err
	}
	return s, nil
}

// adopt makes the stream resume from cp (nil: start a new run).
func (s *Stream) adopt(cp *pager.Checkpoint) error {
	spec := &s.spec
	if err := s.pg.Resume(cp); err != nil {
		if errors.Is(err, pager.ErrFingerprint) {
			return &ResumeError{Stream: spec.Name, Changes: []string{err.Error()}, StartOver: spec.Checkpoint.StartOver}
		}
		return fmt.Errorf("stream %q: %w", spec.Name, err)
	}
	if cp == nil {
		s.resume = nil
		return nil
	}
	rp, err := planResume(spec, cp, s.workers)
	if err != nil {
		return err
	}
	for _, m := range rp.mapped {
		s.log.Warn("checkpoint mapped to a renamed part of the stream", "change", m)
	}
	s.resume = rp
	return nil
}

// reconcile runs before the sinks are restored. A transactional sink
// (sink.Transactional) commits a checkpoint inside its transaction before
// the store saves it, so after a crash between the two the sink holds a
// newer checkpoint than the store: everything it covers is durable (every
// other sink was flushed before the commit), so the stream resumes from
// the sink's. The sink's checkpoint wins only when it belongs to the same
// run as the store's and has a higher sequence number (seqKey): a store
// with no checkpoint (deleted to start over, or never saved) always starts
// a new run, which is why a fresh run with a transactional sink saves a
// first checkpoint before it writes anything. Recover also fences any
// earlier writer, so a killed run's open transaction can never commit
// afterwards.
func (s *Stream) reconcile(ctx context.Context) error {
	txn, name := s.spec.transactional()
	if txn == nil {
		return nil
	}
	b, err := txn.Recover(ctx)
	if err != nil {
		return fmt.Errorf("stream %q sink %q: recover: %w", s.spec.Name, name, err)
	}
	if b == nil || s.loaded == nil {
		return nil
	}
	var cp pager.Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return fmt.Errorf("stream %q sink %q: the checkpoint committed with the sink's last transaction is unreadable: %w", s.spec.Name, name, err)
	}
	if cp.Stream != s.spec.Name || cp.Run != s.loaded.Run || seqOf(&cp) <= seqOf(s.loaded) {
		return nil
	}
	s.log.Warn("the sink's last transaction committed a newer checkpoint than the store holds (the process stopped between the two); resuming from the sink's",
		"sink", name, "sink_seq", seqOf(&cp), "store_seq", seqOf(s.loaded))
	s.loaded = &cp
	if cp.Done() {
		return s.adopt(nil)
	}
	return s.adopt(&cp)
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.spec.Name }

// Plugins returns the names of the stream's plugins, in chain order.
func (s *Stream) Plugins() []string {
	names := make([]string, len(s.spec.Plugins))
	for i, p := range s.spec.Plugins {
		names[i] = p.Name
	}
	return names
}

// Workers returns the number of plugin chains that run in parallel.
func (s *Stream) Workers() int { return s.workers }

// Resumed reports whether Run will resume from a checkpoint.
func (s *Stream) Resumed() bool { return s.resume != nil }

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
		Follow:  s.spec.Follow, OpenBuckets: int(s.openBuckets.Load()),
		Watermark: watermarkAt(s.watermark.Load()),
	}
}

// Close releases the stream's resources if Run was never called (Run
// releases them itself). It is idempotent and safe from any goroutine
// that does not run Run.
func (s *Stream) Close(ctx context.Context) {
	if s.running.Load() {
		return
	}
	s.closeResources(ctx)
}

// closeResources closes the pager, the sinks and the running modules.
func (s *Stream) closeResources(ctx context.Context) {
	s.closeOnce.Do(func() {
		s.endOnce.Do(func() { close(s.ended) })
		if s.pg != nil {
			_ = s.pg.Close()
		}
		for _, sk := range s.spec.Sinks {
			if sk.Sink != nil {
				_ = sk.Sink.Close()
			}
		}
		for _, v := range s.versions {
			if v.Module != nil {
				_ = v.Module.Close(ctx)
			}
		}
		if s.spec.Fence != nil {
			// Last: the sinks are closed, nothing more is written.
			if err := s.spec.Fence.Close(ctx); err != nil {
				s.log.Warn("releasing the fence", "err", err)
			}
		}
	})
}

// instanceConfig returns the instance config of a version of plugin i.
func (s *Stream) instanceConfig(i int, v Version) host.InstanceConfig {
	c := v.Instance
	c.Stream = s.spec.Name
	c.Plugin = s.spec.Plugins[i].Name
	c.KeyColumns = s.spec.KeyColumns
	return c
}

// instantiate creates an instance of version v of plugin i.
func (s *Stream) instantiate(ctx context.Context, i int, v Version) (*host.Instance, error) {
	return v.Module.Instantiate(ctx, s.instanceConfig(i, v))
}

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

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
