// Package followtest provides fakes for tests of follow mode without a
// node: a clock that advances only when the source sleeps or queries
// (hours of polls run in milliseconds), and an events table that pages as
// Cassandra does.
package followtest

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
	"github.com/sluicehq/sluice/pager/pagertest"
)

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Clock is a follow.Clock that advances only when the source sleeps or
// queries. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now implements follow.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep implements follow.Clock: it advances the clock by d at once.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}

// Event is one row of the fake events table (bucket text, shard int, ts
// timestamp, id int), readable from Visible (Unix ms) on.
type Event struct {
	Bucket  string
	Shard   int
	TS      int64 // ms
	ID      int32
	Visible int64 // ms
}

// Table is a follow.Querier over events that pages as Cassandra does: the
// paging state is the last clustering key returned, so a row inserted
// before it later is not returned by that query, one after it is.
type Table struct {
	clock  *Clock
	events []Event // sorted by (bucket, shard, ts, id)
	schema *abi.Schema
	// Fail, when set, is called before each query; an error fails it.
	Fail func() error
}

func NewTable(clock *Clock, evs []Event) *Table {
	slices.SortFunc(evs, func(a, b Event) int {
		if a.Bucket != b.Bucket {
			if a.Bucket < b.Bucket {
				return -1
			}
			return 1
		}
		if a.Shard != b.Shard {
			return a.Shard - b.Shard
		}
		if a.TS != b.TS {
			return int(a.TS - b.TS)
		}
		return int(a.ID - b.ID)
	})
	return &Table{clock: clock, events: evs, schema: abi.NewSchema(
		abi.Column{Name: "bucket", Type: abi.Type{ID: abi.TypeVarchar}},
		abi.Column{Name: "shard", Type: abi.Type{ID: abi.TypeInt}},
		abi.Column{Name: "ts", Type: abi.Type{ID: abi.TypeTimestamp}},
		abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}},
	)}
}

// Schema implements follow.Querier.
func (f *Table) Schema() *abi.Schema { return f.schema }

// Query implements follow.Querier.
func (f *Table) Query(ctx context.Context, q follow.Query) (pager.Response, error) {
	if f.Fail != nil {
		if err := f.Fail(); err != nil {
			return nil, err
		}
	}
	f.clock.Advance(2 * time.Millisecond)
	now := f.clock.Now().UnixMilli()
	var afterTs int64 = -1 << 62
	var afterID int32 = -1 << 30
	if len(q.State) > 0 {
		afterTs = int64(binary.BigEndian.Uint64(q.State))
		afterID = int32(binary.BigEndian.Uint32(q.State[8:]))
	}
	var rows []pagertest.Row
	var last Event
	more := false
	for _, e := range f.events {
		if e.Bucket != q.Bucket[0].(string) || e.Shard != q.Shard || e.TS <= q.After || e.TS > q.Until || e.Visible > now {
			continue
		}
		if e.TS < afterTs || (e.TS == afterTs && e.ID <= afterID) {
			continue
		}
		if len(rows) == q.PageSize {
			more = true
			break
		}
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(e.TS))
		rows = append(rows, pagertest.Row{[]byte(e.Bucket), pagertest.Int(int32(e.Shard)), ts[:], pagertest.Int(e.ID)})
		last = e
	}
	var next []byte
	if more {
		next = binary.BigEndian.AppendUint64(nil, uint64(last.TS))
		next = binary.BigEndian.AppendUint32(next, uint32(last.ID))
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

// Events makes n events of an hourly bucketed table ("yyyy-MM-dd-HH",
// two shards) with event times over span after start: most readable
// within 300ms of their event time, latePct% up to lateness late, and 1%
// later than the window (their delivery is not guaranteed). IDs are
// 0..n-1.
func Events(rng *rand.Rand, n int, start time.Time, span, lateness time.Duration, latePct int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		e := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond)
		delay := time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		switch p := rng.IntN(100); {
		case p < latePct:
			delay = time.Duration(rng.Int64N(int64(lateness)))
		case p < latePct+1:
			delay = lateness + time.Duration(rng.Int64N(int64(time.Minute)))
		}
		evs[i] = Event{Bucket: e.UTC().Format("2006-01-02-15"), Shard: i % 2, TS: e.UnixMilli(), ID: int32(i), Visible: e.Add(delay).UnixMilli()}
	}
	return evs
}

// Spec is the follow spec of the table NewTable serves: hourly buckets,
// two shards, ts timestamp, from start, with the given lateness and a 1s
// interval, flushing on bucket ends.
func Spec(start time.Time, lateness time.Duration) follow.Spec {
	return follow.Spec{
		Buckets:    follow.Buckets{Columns: []follow.BucketColumn{{Name: "bucket", Format: "yyyy-MM-dd-HH"}}, ShardColumn: "shard", Shards: 2},
		TimeColumn: "ts", TimeKind: follow.TimeTimestamp, KeyColumns: []string{"bucket", "shard", "ts", "id"},
		Start: start, Lateness: lateness, Interval: time.Second, MaxBuckets: 4, Flush: follow.FlushBucket,
	}
}
