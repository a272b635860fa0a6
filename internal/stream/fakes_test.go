package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/pagertest"
)

// The engine's unit tests: pagertest's fake source, real plugins in a real
// wazero runtime, and in-memory sinks and checkpoint stores that model a
// disk which a crash (SIGKILL) cuts off. No Cassandra node.

func TestMain(m *testing.M) { testutil.VerifyMain(m) }

const repo = "../.."

var errCrashed = errors.New("crashed")

// disk is what survives a crash: the durable bytes of every sink and the
// checkpoints saved. After crash() nothing more reaches it, as after a
// SIGKILL.
type disk struct {
	mu      sync.Mutex
	files   map[string][]byte // sink identity → durable bytes
	cps     map[string]*pager.Checkpoint
	saves   int
	crashed bool
	// afterSave, if set, is called after every successful save with its
	// 1-based count (to crash at a commit point).
	afterSave func(n int)
}

func newDisk() *disk {
	return &disk{files: map[string][]byte{}, cps: map[string]*pager.Checkpoint{}}
}

func (d *disk) crash() {
	d.mu.Lock()
	d.crashed = true
	d.mu.Unlock()
}

// reboot makes the disk writable again for the next run.
func (d *disk) reboot() {
	d.mu.Lock()
	d.crashed, d.afterSave = false, nil
	d.mu.Unlock()
}

func (d *disk) file(id string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return bytes.Clone(d.files[id])
}

// store is a CheckpointStore on the disk.
type store struct{ d *disk }

func (s store) Load(ctx context.Context, name string) (*pager.Checkpoint, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if cp := s.d.cps[name]; cp != nil {
		return cp.Clone(), nil
	}
	return nil, nil
}

func (s store) Save(ctx context.Context, cp *pager.Checkpoint) error {
	s.d.mu.Lock()
	if s.d.crashed {
		s.d.mu.Unlock()
		return errCrashed
	}
	s.d.cps[cp.Stream] = cp.Clone()
	s.d.saves++
	n, hook := s.d.saves, s.d.afterSave
	s.d.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return nil
}

// memSink renders rows as text lines into a buffer; Flush makes them
// durable on the disk; Position is the durable length; Restore cuts the
// durable bytes back. Rows written and not flushed are lost in a crash,
// except that a crash may leave part of them on the disk (torn tail), as
// a file does.
type memSink struct {
	d       *disk
	id      string
	pending []byte
	wrote   bool
}

func newMemSink(d *disk, id string) *memSink { return &memSink{d: d, id: id} }

func (s *memSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	s.wrote = true
	for i, r := range p.Rows() {
		if sel != nil && !abi.BitmapGet(sel, i) {
			continue
		}
		s.pending = append(s.pending, renderRow(p.Schema, r)...)
		s.pending = append(s.pending, '\n')
	}
	return nil
}

func (s *memSink) Flush(ctx context.Context) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.crashed {
		return errCrashed
	}
	s.d.files[s.id] = append(s.d.files[s.id], s.pending...)
	s.pending = s.pending[:0]
	return nil
}

func (s *memSink) Position() sink.Offset {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return binary.BigEndian.AppendUint64([]byte("M"), uint64(len(s.d.files[s.id])+len(s.pending)))
}

func (s *memSink) Restore(off sink.Offset) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.wrote {
		return errors.New("restore after write")
	}
	var n uint64
	if off != nil {
		if len(off) != 9 || off[0] != 'M' {
			return sink.ErrBadOffset
		}
		n = binary.BigEndian.Uint64(off[1:])
	}
	if uint64(len(s.d.files[s.id])) < n {
		return fmt.Errorf("durable %d bytes < offset %d", len(s.d.files[s.id]), n)
	}
	s.d.files[s.id] = s.d.files[s.id][:n]
	return nil
}

// tear puts half of the unflushed rows on the disk, as a crash in the
// middle of a write would.
func (s *memSink) tear() {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.files[s.id] = append(s.d.files[s.id], s.pending[:len(s.pending)/2]...)
}

func (s *memSink) Close() error { return nil }

// renderRow prints a row as name=hex pairs; a bigint "count" column in
// decimal, so aggregates can be summed.
func renderRow(sc *abi.Schema, r abi.Row) string {
	var parts []string
	for i, c := range sc.Columns {
		v, null := r.Cell(i)
		switch {
		case null:
			parts = append(parts, c.Name+"=null")
		case strings.HasPrefix(c.Name, "count") && len(v) == 8:
			parts = append(parts, fmt.Sprintf("%s=%d", c.Name, binary.BigEndian.Uint64(v)))
		default:
			parts = append(parts, c.Name+"="+hex.EncodeToString(v))
		}
	}
	return strings.Join(parts, ",")
}

// out splits durable bytes into data lines (sorted: workers interleave
// pages in a timing-dependent order) and the sum of the "count" rows.
func out(b []byte) (rows []string, counted uint64) {
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		var n uint64
		if _, err := fmt.Sscanf(l, "count=%d", &n); err == nil {
			counted += n
			continue
		}
		rows = append(rows, l)
	}
	sort.Strings(rows)
	return rows, counted
}

// world is everything one test's runs share: the runtime, the disk and the
// table the fake source serves.
type world struct {
	t      *testing.T
	rt     *host.Runtime
	d      *disk
	schema *abi.Schema
	pages  map[int][][]pagertest.Row
	nsplit int
	log    *syncLog
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newWorld(t *testing.T, nsplits, npages, size int) *world {
	t.Helper()
	ctx := context.Background()
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	schema, pages := pagertest.KeyedTable(nsplits, npages, size, 5)
	return &world{t: t, rt: rt, d: newDisk(), schema: schema, pages: pages, nsplit: nsplits, log: &syncLog{}}
}

// plugin compiles a module of the repository for a spec.
func (w *world) plugin(name, path string, cfg ...abi.KV) Plugin {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, path))
	if err != nil {
		w.t.Fatal(err)
	}
	mod, err := w.rt.Compile(context.Background(), name, b)
	if err != nil {
		w.t.Fatal(err)
	}
	return Plugin{Name: name, Version: Version{Module: mod, Instance: host.InstanceConfig{Config: cfg}, Origin: path}}
}

// specOpts varies the spec of one run.
type specOpts struct {
	workers int
	every   int
	plugins []Plugin
	sinks   []Sink // nil: one sink "rows" taking the default output
	src     *pagertest.Source
	noStore bool
}

func (w *world) spec(o specOpts) Spec {
	w.t.Helper()
	plan, err := pagertest.Plan("SELECT id, key FROM fake", w.nsplit)
	if err != nil {
		w.t.Fatal(err)
	}
	src := o.src
	if src == nil {
		src = &pagertest.Source{Schema: w.schema, Pages: w.pages}
	}
	sinks := o.sinks
	if sinks == nil {
		sinks = []Sink{{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: newMemSink(w.d, "mem:rows")}}
	}
	workers := max(o.workers, 1)
	sp := Spec{
		Name: "s", Source: src, Plan: plan,
		Paging: pager.Options{PageSize: 100, Prefetch: 1, Splits: w.nsplit, Concurrency: workers, Retries: -1,
			PageTimeout: time.Minute, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond},
		Plugins: o.plugins, Sinks: sinks,
		Checkpoint: CheckpointPolicy{EveryPages: o.every, Where: "memory", StartOver: "clear the test disk"},
		Logger:     slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if !o.noStore {
		sp.Store = store{w.d}
	}
	return sp
}

// run builds and runs a stream to its end (or its failure).
func (w *world) run(o specOpts) (Summary, error) {
	w.t.Helper()
	s, err := New(context.Background(), w.spec(o))
	if err != nil {
		return Summary{}, err
	}
	return s.Run(context.Background(), nil)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
