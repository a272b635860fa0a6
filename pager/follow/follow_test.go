package follow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/pagertest"
)

// fakeClock advances only when the source sleeps or queries, so a test
// runs hours of polls in milliseconds. Safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.advance(d)
	}
	return nil
}

// event is one row of the fake events table (bucket text, shard int, ts
// timestamp, id int), readable from visible on.
type event struct {
	bucket  string
	shard   int
	ts      int64 // ms
	id      int32
	visible int64 // ms
}

// fakeTable is a Querier over events that pages as Cassandra does: the
// paging state is the last clustering key returned, so a row inserted
// before it later is not returned by that query, one after it is.
type fakeTable struct {
	clock  *fakeClock
	events []event // sorted by (bucket, shard, ts, id)
	schema *abi.Schema
	fail   func() error
}

func newFakeTable(clock *fakeClock, evs []event) *fakeTable {
	slices.SortFunc(evs, func(a, b event) int {
		if a.bucket != b.bucket {
			if a.bucket < b.bucket {
				return -1
			}
			return 1
		}
		if a.shard != b.shard {
			return a.shard - b.shard
		}
		if a.ts != b.ts {
			return int(a.ts - b.ts)
		}
		return int(a.id - b.id)
	})
	return &fakeTable{clock: clock, events: evs, schema: abi.NewSchema(
		abi.Column{Name: "bucket", Type: abi.Type{ID: abi.TypeVarchar}},
		abi.Column{Name: "shard", Type: abi.Type{ID: abi.TypeInt}},
		abi.Column{Name: "ts", Type: abi.Type{ID: abi.TypeTimestamp}},
		abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}},
	)}
}

func (f *fakeTable) Schema() *abi.Schema { return f.schema }

func (f *fakeTable) Query(ctx context.Context, q Query) (pager.Response, error) {
	if f.fail != nil {
		if err := f.fail(); err != nil {
			return nil, err
		}
	}
	f.clock.advance(2 * time.Millisecond)
	now := f.clock.Now().UnixMilli()
	var afterTs int64 = -1 << 62
	var afterID int32 = -1 << 30
	if len(q.State) > 0 {
		afterTs = int64(binary.BigEndian.Uint64(q.State))
		afterID = int32(binary.BigEndian.Uint32(q.State[8:]))
	}
	var rows []pagertest.Row
	var last event
	more := false
	for _, e := range f.events {
		if e.bucket != q.Bucket[0].(string) || e.shard != q.Shard || e.ts <= q.After || e.ts > q.Until || e.visible > now {
			continue
		}
		if e.ts < afterTs || (e.ts == afterTs && e.id <= afterID) {
			continue
		}
		if len(rows) == q.PageSize {
			more = true
			break
		}
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(e.ts))
		rows = append(rows, pagertest.Row{[]byte(e.bucket), pagertest.Int(int32(e.shard)), ts[:], pagertest.Int(e.id)})
		last = e
	}
	var next []byte
	if more {
		next = binary.BigEndian.AppendUint64(nil, uint64(last.ts))
		next = binary.BigEndian.AppendUint32(next, uint32(last.id))
	}
	src := &pagertest.Source{Schema: f.schema, Pages: map[int][][]pagertest.Row{0: {rows}}}
	r, err := src.Request(ctx, pager.Request{Split: pager.Split{Index: 0, Whole: true}})
	if err != nil {
		return nil, err
	}
	return nextOverride{r, next}, nil
}

type nextOverride struct {
	pager.Response
	next []byte
}

func (n nextOverride) Next() []byte { return n.next }

var t0 = time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)

func testSpec() Spec {
	return Spec{
		Buckets:    Buckets{Columns: []BucketColumn{{Name: "bucket", Format: "yyyy-MM-dd-HH"}}, ShardColumn: "shard", Shards: 2},
		TimeColumn: "ts", TimeKind: TimeTimestamp, KeyColumns: []string{"bucket", "shard", "ts", "id"},
		Start: t0, Lateness: 10 * time.Second, Interval: time.Second, MaxBuckets: 4, Flush: FlushBucket,
	}
}

// genEvents makes n events over span after start: most readable within
// 300ms of their event time, late% up to lateness late, and a few later
// than the window (their delivery is not guaranteed).
func genEvents(rng *rand.Rand, n int, start time.Time, span, lateness time.Duration, latePct int) []event {
	evs := make([]event, n)
	for i := range evs {
		e := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond)
		delay := time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		switch p := rng.IntN(100); {
		case p < latePct:
			delay = time.Duration(rng.Int64N(int64(lateness)))
		case p < latePct+1:
			delay = lateness + time.Duration(rng.Int64N(int64(time.Minute)))
		}
		evs[i] = event{bucket: e.UTC().Format("2006-01-02-15"), shard: i % 2, ts: e.UnixMilli(), id: int32(i), visible: e.Add(delay).UnixMilli()}
	}
	return evs
}

// run pages a follow source with the real pager until the clock passes
// until, as the stream does with an exactly-once sink: every page's rows
// go to the sink and its position is committed; a checkpoint (positions
// and the sink's length) is saved every few pages. With crashEvery > 0 it
// "crashes" every so often: the sink is truncated to the checkpoint and
// a new pager resumes from it.
func run(t *testing.T, src *Source, clock *fakeClock, until time.Time, crashEvery int, rng *rand.Rand) (map[int32]int, []Mark) {
	t.Helper()
	plan, err := src.Plan("events")
	if err != nil {
		t.Fatal(err)
	}
	type pageRows struct {
		ids  []int32
		mark Mark
	}
	var sink []pageRows
	var cp *pager.Checkpoint
	cpLen := 0
	crashes := 0
	for {
		p, err := pager.New(src, plan, pager.Options{Stream: "follow", PageSize: 50, Retries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Resume(cp); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		prog := p.Progress()
		crashAt := -1
		if crashEvery > 0 {
			crashAt = 1 + rng.IntN(crashEvery)
		}
		done := false
		for n := 0; n != crashAt; n++ {
			d, err := p.Next(context.Background())
			if errors.Is(err, io.EOF) {
				t.Fatal("a follow stream ended")
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := MarkOf(d.Position.PageState)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int32
			for _, row := range d.Page.Rows() {
				c, _ := row.Cell(3)
				ids = append(ids, int32(binary.BigEndian.Uint32(c)))
			}
			sink = append(sink, pageRows{ids, m})
			if err := prog.Commit(d.Position); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 {
				cp, cpLen = prog.Checkpoint(nil), len(sink)
			}
			if clock.Now().After(until) {
				done = true
				break
			}
		}
		p.Close()
		if done {
			break
		}
		crashes++
		sink = sink[:cpLen]
	}
	t.Logf("%d crashes", crashes)
	delivered := map[int32]int{}
	var marks []Mark
	for _, pr := range sink {
		for _, id := range pr.ids {
			delivered[id]++
		}
		marks = append(marks, pr.mark)
	}
	return delivered, marks
}

func TestFollowDeliversEachRowOnceAcrossCrashes(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		crashEvery := 0
		if seed > 1 {
			crashEvery = 400
		}
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			spec := testSpec()
			evs := genEvents(rng, 2000, t0.Add(-30*time.Minute), 3*time.Hour, spec.Lateness, 5)
			clock := &fakeClock{now: t0}
			src, err := New(spec, newFakeTable(clock, evs), clock)
			if err != nil {
				t.Fatal(err)
			}
			until := t0.Add(150 * time.Minute).Add(2 * spec.Lateness)
			delivered, marks := run(t, src, clock, until, crashEvery, rng)
			check(t, spec, evs, delivered, until)
			flushes := 0
			for _, m := range marks {
				if m.Flush {
					flushes++
				}
			}
			// Buckets 10h..12h close (13h is still open at the end).
			if flushes < 2 {
				t.Errorf("%d flushes, want one per closed bucket hour (>= 2)", flushes)
			}
		})
	}
}

func check(t *testing.T, spec Spec, evs []event, delivered map[int32]int, until time.Time) {
	t.Helper()
	missing, late := 0, 0
	for _, e := range evs {
		n := delivered[e.id]
		if n > 1 {
			t.Errorf("event %d (ts %s) delivered %d times", e.id, time.UnixMilli(e.ts).UTC(), n)
		}
		inScope := e.ts > spec.Start.UnixMilli() && e.ts <= until.Add(-spec.Lateness-spec.Interval).UnixMilli()
		if e.ts <= spec.Start.UnixMilli() && n > 0 {
			t.Errorf("event %d before start delivered", e.id)
		}
		if inScope && e.visible-e.ts <= spec.Lateness.Milliseconds() && n != 1 {
			missing++
			if missing < 5 {
				t.Errorf("event %d (ts %s, %v late) delivered %d times, want once", e.id, time.UnixMilli(e.ts).UTC(), time.Duration(e.visible-e.ts)*time.Millisecond, n)
			}
		}
		if e.visible-e.ts > spec.Lateness.Milliseconds() && n == 0 {
			late++
		}
	}
	if missing > 0 {
		t.Errorf("%d events within the window not delivered once", missing)
	}
	t.Logf("%d events, %d delivered, %d later than the window skipped", len(evs), len(delivered), late)
}

func TestBucketPatterns(t *testing.T) {
	tm := time.Date(2026, 3, 7, 9, 5, 4, 0, time.UTC)
	for _, c := range []struct {
		format string
		want   any
	}{
		{"yyyy-MM-dd-HH", "2026-03-07-09"},
		{"yyyyMMdd", "20260307"},
		{"'d'yyyy.MM.dd HH:mm:ss", "d2026.03.07 09:05:04"},
	} {
		fs, _, err := Buckets{Columns: []BucketColumn{{Name: "b", Format: c.format}}}.compile()
		if err != nil {
			t.Fatal(err)
		}
		if got := fs[0].value(tm); got != c.want {
			t.Errorf("%q: %v, want %v", c.format, got, c.want)
		}
	}
	fs, step, err := Buckets{Columns: []BucketColumn{{Name: "b", Format: FormatEpoch}, {Name: "h", Format: "HH"}}, Width: 90 * time.Minute}.compile()
	if err != nil {
		t.Fatal(err)
	}
	if step != 30*time.Minute {
		t.Errorf("step %v, want 30m (gcd of 90m and 1h)", step)
	}
	if got := fs[0].value(tm); got != tm.Unix()/5400 {
		t.Errorf("epoch %v", got)
	}
	// (10:00, 13:00] with 90m epoch buckets and hours: every combination once.
	lo := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC).UnixMilli()
	keys, hi := enumerate(fs, step, lo, lo+3*3600_000, 100)
	if hi != lo+3*3600_000 {
		t.Errorf("hi lowered to %d", hi)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.describe())
	}
	t.Logf("%v", got)
	if len(keys) != 5 { // 10:00-10:30 b0/10, 10:30-11 b1/10, 11-12 b1/11, 12-13 b2/12 ... (lo exclusive)
		// 10:00:00.001 → epoch floor(…/5400): buckets start at multiples of 90m from the epoch.
		t.Logf("%d keys", len(keys))
	}
	// Max buckets lowers hi to just before the first bucket left out.
	keys, hi = enumerate(fs, step, lo, lo+3*3600_000, 2)
	if len(keys) != 2 || hi != keys[1].first+0 && hi <= keys[1].first {
		t.Errorf("keys %d hi %d", len(keys), hi)
	}
	for _, bad := range []Buckets{
		{},
		{Columns: []BucketColumn{{Name: "b", Format: "yyyy-QQ"}}},
		{Columns: []BucketColumn{{Name: "b", Format: FormatEpoch}}},
		{Columns: []BucketColumn{{Name: "b", Format: "HH"}}, Shards: 3},
		{Columns: []BucketColumn{{Name: "b", Format: "-"}}},
	} {
		if _, _, err := bad.compile(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if !Numeric("yyyyMMddHH") || Numeric("yyyy-MM") {
		t.Error("Numeric")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := &cursor{waiting: true, flush: true, watermark: 5, lo: 1, hi: 5, pollAt: 4, nextPoll: 9, polls: 3, query: 2, open: 7, closed: 1, pollRows: 11,
		state: []byte("ps"), seen: map[[16]byte]int64{{1}: 3, {2}: 4}}
	b := c.encode()
	d, err := decodeCursor(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.encode()) != string(b) {
		t.Error("round trip differs")
	}
	m, err := MarkOf(b)
	if err != nil || !m.Flush || m.OpenBuckets != 7 || m.Watermark.UnixMilli() != 5 || m.Polls != 3 {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range [][]byte{[]byte("x"), b[:len(b)-1], append(slices.Clone(b), 0)} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_ = fmt.Sprint()
}
