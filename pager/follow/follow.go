// Package follow reads a time-bucketed Cassandra table continuously: a
// stream that catches up from a start time (or its checkpoint) and then
// polls the current and recent buckets on an interval, delivering each
// row once as it lands, late rows within a lateness window included.
//
// A follow Source is a pager.Source of one split that never ends. Its
// paging state is the follow cursor (watermark, the poll in progress, the
// primary keys delivered inside the window), so the pager, the stream's
// committer and the checkpoint stores carry it exactly as they carry a
// table scan's paging state: the checkpoint that records the sink offsets
// records the cursor of the same moment, and a resumed stream neither
// loses nor repeats a row.
//
// The Cassandra side (which statements run, the table's shape) stands
// behind Querier and time behind Clock, so the follow logic is tested
// without a node. See docs/follow.md for the guarantee.
package follow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
)

// TimeKind is the CQL type of the clustering column that orders events.
type TimeKind int

const (
	TimeTimestamp TimeKind = iota + 1 // timestamp: event time in ms
	TimeTimeUUID                      // timeuuid: the UUID's time, floored to ms
)

// Flush modes (Spec.Flush).
const (
	FlushBucket = "bucket" // flush the plugins when a bucket closes
	FlushNever  = "never"  // never flush (a follow stream has no end)
)

// Spec is a resolved follow configuration: no defaults are applied here.
type Spec struct {
	Buckets Buckets
	// TimeColumn is the clustering column ordering the events; TimeKind
	// its type.
	TimeColumn string
	TimeKind   TimeKind
	// KeyColumns are the primary key columns (partition key and
	// clustering), all of them selected: they identify a row for the
	// deduplication of the window.
	KeyColumns []string
	// Start: rows with an event time after Start are delivered (when the
	// stream has no checkpoint).
	Start time.Time
	// Lateness is how long after its event time a row may become readable
	// and still be delivered: every poll re-reads this much before the
	// previous poll's end.
	Lateness time.Duration
	// Interval is the time between the starts of two polls once caught up.
	Interval time.Duration
	// MaxBuckets bounds the buckets one poll reads (catching up reads
	// several polls back to back).
	MaxBuckets int
	// Flush is FlushBucket or FlushNever.
	Flush string
}

// Query is one page of one bucket's query: the rows of the bucket (and
// shard) whose event time, in ms, is in (After, Until].
type Query struct {
	Bucket   []any // values of Buckets.Columns, in order
	Shard    int   // value of the shard column; -1 = none
	After    int64 // Unix ms, exclusive
	Until    int64 // Unix ms, inclusive
	State    []byte
	PageSize int
}

// Querier runs the queries of a follow source: CassandraQuerier in
// production, a fake in tests. It must be safe for concurrent use.
type Querier interface {
	// Schema is the schema of every page (the selected columns).
	Schema() *abi.Schema
	// Query sends one page of q and returns its response (see
	// pager.Source.Request).
	Query(ctx context.Context, q Query) (pager.Response, error)
}

// Clock is the source's time: the real clock in production.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// maxQueriesPerRequest bounds the query pages one Request reads while they
// hold no new row (the re-read of the window, empty buckets), so that one
// request stays well inside the page timeout.
const maxQueriesPerRequest = 16

// Source is a pager.Source that follows a time-bucketed table. It holds
// no mutable state: every Request decodes the cursor from the paging
// state it is given and encodes the next one, so a retried request
// repeats exactly.
type Source struct {
	spec  Spec
	q     Querier
	clock Clock
	fmts  []fmtKind
	step  time.Duration
	// Column indexes in the page schema.
	timeCol int
	keyCols []int
}

// New checks spec and returns its source. clock nil = the real clock.
func New(spec Spec, q Querier, clock Clock) (*Source, error) {
	if clock == nil {
		clock = RealClock
	}
	var errs []error
	fmts, step, err := spec.Buckets.compile()
	if err != nil {
		errs = append(errs, err)
	}
	if spec.TimeKind != TimeTimestamp && spec.TimeKind != TimeTimeUUID {
		errs = append(errs, errors.New("the time column must be a timestamp or a timeuuid"))
	}
	if spec.Lateness < 0 {
		errs = append(errs, fmt.Errorf("lateness %v: must be >= 0", spec.Lateness))
	}
	if spec.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %v: must be > 0", spec.Interval))
	}
	if spec.MaxBuckets < 1 {
		errs = append(errs, fmt.Errorf("max buckets per poll %d: must be >= 1", spec.MaxBuckets))
	}
	if spec.Flush != FlushBucket && spec.Flush != FlushNever {
		errs = append(errs, fmt.Errorf("flush %q: want %q or %q", spec.Flush, FlushBucket, FlushNever))
	}
	if spec.Start.IsZero() {
		errs = append(errs, errors.New("no start time"))
	}
	s := &Source{spec: spec, q: q, clock: clock, fmts: fmts, step: step}
	if q == nil {
		errs = append(errs, errors.New("no querier"))
	} else if sc := q.Schema(); sc == nil {
		errs = append(errs, errors.New("the querier has no schema"))
	} else {
		s.timeCol = sc.Index(spec.TimeColumn)
		if s.timeCol < 0 {
			errs = append(errs, fmt.Errorf("the time column %q is not selected", spec.TimeColumn))
		}
		for _, k := range spec.KeyColumns {
			i := sc.Index(k)
			if i < 0 {
				errs = append(errs, fmt.Errorf("primary key column %q is not selected (follow mode needs every primary key column to tell rows apart)", k))
			}
			s.keyCols = append(s.keyCols, i)
		}
		if len(spec.KeyColumns) == 0 {
			errs = append(errs, errors.New("no primary key columns"))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("follow: %w", errors.Join(errs...))
	}
	return s, nil
}

// Spec returns the source's spec.
func (s *Source) Spec() Spec { return s.spec }

// Schema returns the schema of every page.
func (s *Source) Schema() *abi.Schema { return s.q.Schema() }

// Plan returns the plan of a follow stream: one whole split, fingerprinted
// with query (a description of what is followed: the table, the columns
// and the bucket layout; not the start, lateness or interval, which may
// change between runs).
func (s *Source) Plan(query string) (pager.Plan, error) {
	return pager.NewPlan(query, nil, pager.WholeSplit())
}

// initial is the cursor of a stream without checkpoint: the next poll
// starts at once and reads from Start.
func (s *Source) initial() *cursor {
	st := s.spec.Start.UnixMilli()
	return &cursor{waiting: true, watermark: st, lo: st, hi: st, seen: map[[16]byte]int64{}}
}

// low is the lower bound (exclusive) of the poll after one that ended at
// hi: the lateness before it, never before Start.
func (s *Source) low(hi int64) int64 {
	return max(s.spec.Start.UnixMilli(), hi-s.spec.Lateness.Milliseconds())
}

// buckets returns the bucket queries of the poll (lo, hi], in order: each
// bucket, for each shard.
func (s *Source) buckets(lo, hi int64) []bucketKey {
	keys, _ := enumerate(s.fmts, s.step, lo, hi, math.MaxInt)
	return keys
}

func (s *Source) shards() int {
	if s.spec.Buckets.ShardColumn == "" {
		return 1
	}
	return s.spec.Buckets.Shards
}

// Request implements pager.Source: it reads query pages of the current
// poll (starting the next poll first when the last one is done, after
// waiting for its time) until one holds rows not delivered yet, the poll
// ends, or maxQueriesPerRequest pages came back with nothing new.
func (s *Source) Request(ctx context.Context, req pager.Request) (pager.Response, error) {
	var c *cursor
	if len(req.State) == 0 {
		c = s.initial()
	} else {
		var err error
		if c, err = decodeCursor(req.State); err != nil {
			return nil, err
		}
	}
	c.flush, c.pollDone, c.closed = false, false, 0
	if c.waiting {
		if err := s.clock.Sleep(ctx, time.UnixMilli(c.nextPoll).Sub(s.clock.Now())); err != nil {
			return nil, err
		}
		s.startPoll(c)
	}
	keys := s.buckets(c.lo, c.hi)
	nq := uint32(len(keys) * s.shards())
	resp := &response{schema: s.q.Schema(), split: req.Split.Index}
	for n := 0; ; n++ {
		if c.query >= nq {
			s.endPoll(c, keys)
			break
		}
		k := keys[int(c.query)/s.shards()]
		shard := -1
		if s.spec.Buckets.ShardColumn != "" {
			shard = int(c.query) % s.shards()
		}
		r, err := s.q.Query(ctx, Query{Bucket: k.values, Shard: shard, After: c.lo, Until: c.hi, State: c.state, PageSize: req.PageSize})
		if err != nil {
			return nil, fmt.Errorf("follow: poll %d, bucket %s%s: %w", c.polls, k.describe(), shardText(shard), err)
		}
		next := r.Next()
		var b abi.PageBuilder
		if err := r.Decode(ctx, &b); err != nil {
			return nil, fmt.Errorf("follow: poll %d, bucket %s%s: %w", c.polls, k.describe(), shardText(shard), err)
		}
		page := b.Page()
		kept, err := s.take(c, page, resp)
		if err != nil {
			return nil, fmt.Errorf("follow: poll %d, bucket %s%s: %w", c.polls, k.describe(), shardText(shard), err)
		}
		c.state = append([]byte(nil), next...)
		if len(next) == 0 {
			c.query++
		}
		if kept > 0 || n+1 >= maxQueriesPerRequest {
			if c.query >= nq {
				s.endPoll(c, keys)
			}
			break
		}
	}
	resp.next = c.encode()
	return resp, nil
}

func shardText(shard int) string {
	if shard < 0 {
		return ""
	}
	return fmt.Sprintf(" shard %d", shard)
}

// startPoll begins the next poll at the clock's now: it reads (lo, hi]
// with lo the lateness before the last poll's end, and hi now, or earlier
// when more than MaxBuckets buckets lie between (catching up).
func (s *Source) startPoll(c *cursor) {
	now := s.clock.Now().UnixMilli()
	c.waiting = false
	prev := c.hi
	c.lo = s.low(prev)
	// A clock stepped back never moves the watermark back: the poll then
	// re-reads (lo, prev] only.
	hi := max(now, prev)
	keys, hi := enumerate(s.fmts, s.step, c.lo, hi, s.spec.MaxBuckets)
	c.hi = hi
	c.pollAt = now
	c.polls++
	c.query, c.state, c.pollRows = 0, nil, 0
	c.open = uint32(len(keys))
}

// endPoll completes the poll: the watermark moves to its end, the keys
// that no later poll re-reads are forgotten, the buckets no later poll
// reads are closed, and the next poll is due an interval after this one
// started (at once while catching up).
func (s *Source) endPoll(c *cursor, keys []bucketKey) {
	c.waiting, c.pollDone = true, true
	c.watermark = c.hi
	c.state = nil
	next := s.low(c.hi)
	c.forget(next)
	still := map[string]bool{}
	for _, k := range s.buckets(next, c.hi) {
		still[k.text] = true
	}
	for _, k := range keys {
		if !still[k.text] {
			c.closed++
		}
	}
	c.flush = c.closed > 0 && s.spec.Flush == FlushBucket
	if c.hi < c.pollAt {
		c.nextPoll = 0 // caught up only to hi: poll again at once
	} else {
		c.nextPoll = c.pollAt + s.spec.Interval.Milliseconds()
	}
}

// take selects the rows of page not delivered yet, records them in the
// window and adds them to resp. It returns how many it took.
func (s *Source) take(c *cursor, page *abi.Page, resp *response) (int, error) {
	n := page.NumRows()
	if n == 0 {
		return 0, nil
	}
	if page.NumCols() != len(s.q.Schema().Columns) {
		return 0, fmt.Errorf("page of %d columns, the source selects %d", page.NumCols(), len(s.q.Schema().Columns))
	}
	forget := s.low(c.hi) // rows at or before it are never re-read
	kept := 0
	h := fnv.New128a()
	var lenBuf [4]byte
	for i := range n {
		row := page.Row(i)
		cell, null := row.Cell(s.timeCol)
		if null {
			return kept, fmt.Errorf("row with a NULL %q", s.spec.TimeColumn)
		}
		t, err := eventTime(s.spec.TimeKind, cell)
		if err != nil {
			return kept, fmt.Errorf("column %q: %w", s.spec.TimeColumn, err)
		}
		h.Reset()
		for _, ci := range s.keyCols {
			cell, null := row.Cell(ci)
			l := uint32(len(cell))
			if null {
				l = math.MaxUint32
			}
			binary.BigEndian.PutUint32(lenBuf[:], l)
			h.Write(lenBuf[:])
			h.Write(cell)
		}
		var key [16]byte
		h.Sum(key[:0])
		if _, dup := c.seen[key]; dup {
			continue
		}
		if t > forget {
			c.add(key, t)
		}
		resp.rows = append(resp.rows, row)
		kept++
	}
	c.pollRows += uint64(kept)
	if kept > 0 {
		resp.pages = append(resp.pages, page) // keeps the rows' memory
	}
	return kept, nil
}

// uuidEpoch is the UUID v1 time of the Unix epoch, in 100ns ticks since
// 1582-10-15.
const uuidEpoch = 0x01B21DD213814000

// eventTime returns the Unix ms of a time column's cell.
func eventTime(kind TimeKind, cell []byte) (int64, error) {
	switch kind {
	case TimeTimestamp:
		if len(cell) != 8 {
			return 0, fmt.Errorf("timestamp of %d bytes", len(cell))
		}
		return int64(binary.BigEndian.Uint64(cell)), nil
	case TimeTimeUUID:
		if len(cell) != 16 || cell[6]>>4 != 1 {
			return 0, errors.New("not a version 1 (time-based) UUID")
		}
		ticks := int64(binary.BigEndian.Uint32(cell[0:4])) | int64(binary.BigEndian.Uint16(cell[4:6]))<<32 | int64(binary.BigEndian.Uint16(cell[6:8])&0x0fff)<<48
		return floorDiv(ticks-uuidEpoch, 10000), nil
	}
	return 0, errors.New("unknown time kind")
}

// response is the rows a Request selected, ready to be copied into the
// pager's builder.
type response struct {
	schema *abi.Schema
	split  int
	pages  []*abi.Page // the pages the rows are views of
	rows   []abi.Row
	next   []byte
	done   bool
}

func (r *response) Next() []byte { return r.next }

func (r *response) Close() { r.done = true; r.pages, r.rows = nil, nil }

func (r *response) Decode(ctx context.Context, b *abi.PageBuilder) error {
	if r.done {
		return errors.New("follow: response decoded twice or after Close")
	}
	defer r.Close()
	b.Reset(r.schema, 0, uint32(r.split))
	for i, row := range r.rows {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for c := range row.NumCols() {
			cell, null := row.Cell(c)
			if null {
				b.AppendNull()
			} else {
				b.AppendCell(cell)
			}
		}
		if err := b.EndRow(); err != nil {
			return err
		}
	}
	return nil
}
