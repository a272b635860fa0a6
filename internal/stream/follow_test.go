package stream

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/pager/follow"
	"github.com/sluicehq/sluice/pager/follow/followtest"
)

const countByWasm = "plugins/examples/count_by/c/count_by.wasm" // the smallest build: it compiles once per run

// followWorld is a follow stream over followtest's table: count_by counts
// the rows per bucket (flushed when a bucket closes) on output "counts",
// and the rows go on to the default output.
type followWorld struct {
	*world
	clock   *followtest.Clock
	src     *follow.Source
	evs     []followtest.Event
	spec    follow.Spec
	metrics *metrics.Metrics
}

var followT0 = time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)

func newFollowWorld(t *testing.T, seed uint64, n int) *followWorld {
	w := newWorld(t, 1, 0, 0)
	rng := rand.New(rand.NewPCG(seed, 7))
	spec := followtest.Spec(followT0, 10*time.Second)
	spec.Interval = 10 * time.Second
	evs := followtest.Events(rng, n, followT0.Add(-10*time.Minute), 90*time.Minute, spec.Lateness, 5)
	clock := followtest.NewClock(followT0)
	src, err := follow.New(spec, followtest.NewTable(clock, evs), clock)
	if err != nil {
		t.Fatal(err)
	}
	return &followWorld{world: w, clock: clock, src: src, evs: evs, spec: spec, metrics: metrics.New()}
}

func (fw *followWorld) streamSpec(every int) Spec {
	fw.t.Helper()
	plan, err := fw.src.Plan("events")
	if err != nil {
		fw.t.Fatal(err)
	}
	sp := fw.world.spec(specOpts{every: every,
		plugins: []Plugin{fw.plugin("count_by", countByWasm, abi.KV{Key: "column", Value: "bucket"}, abi.KV{Key: "output", Value: "counts"})},
		sinks: []Sink{
			{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: newMemSink(fw.d, "mem:rows")},
			{Name: "counts", Identity: "mem:counts", Outputs: []string{"counts"}, Sink: newMemSink(fw.d, "mem:counts")},
		}})
	sp.Source, sp.Plan, sp.Follow = fw.src, plan, true
	sp.Metrics = fw.metrics
	sp.Paging.PageSize = 50
	sp.Paging.Splits = 1
	return sp
}

// TestFollowCrashesDeliverEachRowOnce: a follow stream is killed (the
// disk cut off, unflushed rows torn) right after several checkpoint
// saves, and resumed each time; then it runs until its watermark passes
// the end of the events and is stopped. Every event readable within the
// lateness is in the rows sink once, and the per-bucket counts that
// count_by flushed when each bucket closed add up, for every closed
// bucket, to exactly its rows: no flush lost or replayed.
func TestFollowCrashesDeliverEachRowOnce(t *testing.T) {
	fw := newFollowWorld(t, 1, 1000)
	// k > 0: crash after save k; k = -1: after the first save of a
	// checkpoint taken right after a bucket closed (the plugins flushed).
	for _, k := range []int{3, 40, -1, 41, 150, 200} {
		ctx, cancel := context.WithCancel(context.Background())
		fw.d.afterSave = func(n int) {
			if n == k || (k < 0 && fw.lastSaveFlushed()) {
				fw.d.crash()
				cancel()
			}
		}
		fw.d.saves = 0
		s, err := New(context.Background(), fw.streamSpec(1))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Run(ctx, nil)
		if err == nil {
			t.Fatal("a follow stream ended by itself")
		}
		cancel()
		fw.d.reboot()
	}
	until := followT0.Add(90 * time.Minute).Add(30 * time.Second) // 12:00:30: the 11h bucket closed
	s, err := New(context.Background(), fw.streamSpec(3))
	if err != nil {
		t.Fatal(err)
	}
	// Mid-run, count_by is hot-swapped (the same module as a new
	// version: its counts carry over by snapshot and restore).
	reloaded := make(chan error, 1)
	go func() {
		for s.Stats().Watermark.Before(followT0.Add(40 * time.Minute)) {
			time.Sleep(time.Millisecond)
		}
		v := fw.plugin("count_by", countByWasm, abi.KV{Key: "column", Value: "bucket"}, abi.KV{Key: "output", Value: "counts"}).Version
		v.Key = "count_by v2"
		reloaded <- s.Reload(context.Background(), "count_by", v)
	}()
	stop := make(chan struct{})
	var reloadErr error
	go func() {
		for s.Stats().Watermark.Before(until) {
			time.Sleep(time.Millisecond)
		}
		reloadErr = <-reloaded
		close(stop)
	}()
	sum, err := s.Run(context.Background(), stop)
	if !IsStopped(err) {
		t.Fatalf("want a graceful stop, got %v", err)
	}
	if !sum.Resumed {
		t.Error("the last run did not resume")
	}
	if reloadErr != nil || !strings.Contains(fw.log.String(), "plugin swapped") {
		t.Errorf("hot swap of count_by in a follow stream: %v (swap logged: %v)", reloadErr, strings.Contains(fw.log.String(), "plugin swapped"))
	}
	rows, _ := out(fw.d.file("mem:rows"))
	got := map[int32]int{}
	perBucket := map[string]uint64{}
	for _, l := range rows {
		f := fields(l)
		id, _ := hex.DecodeString(f["id"])
		b, _ := hex.DecodeString(f["bucket"])
		got[int32(binary.BigEndian.Uint32(id))]++
		perBucket[string(b)]++
	}
	wm := s.Stats().Watermark.UnixMilli()
	for _, e := range fw.evs {
		n := got[e.ID]
		if n > 1 {
			t.Errorf("event %d delivered %d times", e.ID, n)
		}
		inWindow := e.Visible-e.TS <= fw.spec.Lateness.Milliseconds()
		if inWindow && e.TS > followT0.UnixMilli() && e.TS <= wm && n != 1 {
			t.Errorf("event %d (ts %s) delivered %d times, want once", e.ID, time.UnixMilli(e.TS).UTC(), n)
		}
	}
	counts := map[string]uint64{}
	for _, l := range strings.Split(strings.TrimSpace(string(fw.d.file("mem:counts"))), "\n") {
		f := fields(l)
		v, _ := hex.DecodeString(f["value"])
		var c uint64
		fmt.Sscan(f["count"], &c)
		counts[string(v)] += c
	}
	closed := 0
	for h := 10; h <= 11; h++ { // every bucket with events closed
		b := fmt.Sprintf("2026-12-04-%02d", h)
		if counts[b] != perBucket[b] || counts[b] == 0 {
			t.Errorf("bucket %s: counts flushed add up to %d, its rows are %d", b, counts[b], perBucket[b])
		}
		closed++
	}
	t.Logf("%d rows, %d buckets checked, counts %v", len(rows), closed, counts)

	wmSec := float64(wm) / 1e3
	if got := fw.metric("sluice_follow_watermark_seconds"); got != wmSec {
		t.Errorf("watermark metric %v, want %v", got, wmSec)
	}
	if got := fw.metric("sluice_follow_polls_total"); got < 100 {
		t.Errorf("polls metric %v, want the polls of the last run (hundreds)", got)
	}
	if got := fw.metric("sluice_follow_closed_buckets_total"); got < 1 {
		t.Errorf("closed buckets metric %v, want >= 1 (10h closed in the last run)", got)
	}
	if got := fw.metric("sluice_follow_open_buckets"); got < 1 {
		t.Errorf("open buckets metric %v", got)
	}
	if got := fw.metric("sluice_follow_lag_seconds"); got <= 0 {
		t.Errorf("lag metric %v: the fake clock is in 2026-12-04 10:30..12:00, the wall clock elsewhere; want it set", got)
	}
}

// metric returns the value of a gauge or counter of the stream, -1 when
// it has none.
func (fw *followWorld) metric(name string) float64 {
	mfs, err := fw.metrics.Registry.Gather()
	if err != nil {
		fw.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
	}
	return -1
}

// lastSaveFlushed reports whether the last checkpoint saved was taken
// right after a page that closed a bucket.
func (fw *followWorld) lastSaveFlushed() bool {
	fw.d.mu.Lock()
	cp := fw.d.cps["s"]
	fw.d.mu.Unlock()
	m, err := follow.MarkOf(cp.Positions[0].PageState)
	return err == nil && m.Flush
}

func fields(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(line, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
