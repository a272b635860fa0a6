package follow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// cursor is the follow state of a stream after one delivered page. It
// travels as the paging state of the source's one split
// (pager.Position.PageState), so the checkpoint the committer saves with
// the sink offsets holds it: the watermark, the poll in progress (its
// bounds, which of its bucket queries is being read and that query's
// CQL paging state) and the open window's delivered keys.
//
// All times are Unix milliseconds.
type cursor struct {
	waiting   bool  // the poll is done; the next one starts at nextPoll
	flush     bool  // a bucket closed with this page (and flush is on): the plugins flush after it
	pollDone  bool  // this page ends a poll
	watermark int64 // upper bound of the last completed poll (Start before the first)
	lo, hi    int64 // the current (or, waiting, last) poll reads event times in (lo, hi]
	pollAt    int64 // when the current (or last) poll started
	nextPoll  int64 // waiting: when the next poll starts
	polls     uint64
	query     uint32 // index of the bucket query being read, in the poll's order
	open      uint32 // buckets of the current poll
	closed    uint32 // buckets closed with this page
	pollRows  uint64 // rows delivered by the current poll, this page's included
	state     []byte // CQL paging state of the query being read
	// seen holds the primary key (a 128-bit hash) and event time of every
	// row delivered whose event time is still inside the window a later
	// poll re-reads; order holds its keys in the order they were added,
	// which is the order they are encoded in (no sort per request).
	seen  map[[16]byte]int64
	order [][16]byte
}

// add records a delivered key.
func (c *cursor) add(k [16]byte, t int64) {
	c.seen[k] = t
	c.order = append(c.order, k)
}

// forget drops the keys of event times at or before t.
func (c *cursor) forget(t int64) {
	kept := c.order[:0]
	for _, k := range c.order {
		if c.seen[k] <= t {
			delete(c.seen, k)
			continue
		}
		kept = append(kept, k)
	}
	clear(c.order[len(kept):])
	c.order = kept
}

const stateMagic = "SLF1"

// encode renders c, the keys in the order they were added.
func (c *cursor) encode() []byte {
	b := make([]byte, 0, 96+len(c.state)+24*len(c.seen))
	b = append(b, stateMagic...)
	var flags byte
	if c.waiting {
		flags |= 1
	}
	if c.flush {
		flags |= 2
	}
	if c.pollDone {
		flags |= 4
	}
	b = append(b, flags)
	for _, v := range []int64{c.watermark, c.lo, c.hi, c.pollAt, c.nextPoll} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	b = binary.BigEndian.AppendUint64(b, c.polls)
	b = binary.BigEndian.AppendUint32(b, c.query)
	b = binary.BigEndian.AppendUint32(b, c.open)
	b = binary.BigEndian.AppendUint32(b, c.closed)
	b = binary.BigEndian.AppendUint64(b, c.pollRows)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.state)))
	b = append(b, c.state...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.order)))
	for _, k := range c.order {
		b = append(b, k[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(c.seen[k]))
	}
	return b
}

const headerLen = 4 + 1 + 5*8 + 8 + 3*4 + 8

var errBadState = errors.New("follow: the checkpoint's follow state is damaged or of another version")

// decodeHeader reads everything but the paging state and the keys.
func decodeHeader(b []byte) (cursor, []byte, error) {
	var c cursor
	if len(b) < headerLen || string(b[:4]) != stateMagic {
		return c, nil, errBadState
	}
	flags := b[4]
	c.waiting, c.flush, c.pollDone = flags&1 != 0, flags&2 != 0, flags&4 != 0
	p := b[5:]
	ints := make([]int64, 5)
	for i := range ints {
		ints[i] = int64(binary.BigEndian.Uint64(p))
		p = p[8:]
	}
	c.watermark, c.lo, c.hi, c.pollAt, c.nextPoll = ints[0], ints[1], ints[2], ints[3], ints[4]
	c.polls = binary.BigEndian.Uint64(p)
	c.query = binary.BigEndian.Uint32(p[8:])
	c.open = binary.BigEndian.Uint32(p[12:])
	c.closed = binary.BigEndian.Uint32(p[16:])
	c.pollRows = binary.BigEndian.Uint64(p[20:])
	return c, p[28:], nil
}

func decodeCursor(b []byte) (*cursor, error) {
	c, p, err := decodeHeader(b)
	if err != nil {
		return nil, err
	}
	if len(p) < 4 {
		return nil, errBadState
	}
	n := binary.BigEndian.Uint32(p)
	p = p[4:]
	if uint64(len(p)) < uint64(n)+4 {
		return nil, errBadState
	}
	if n > 0 {
		c.state = bytes.Clone(p[:n])
	}
	p = p[n:]
	k := binary.BigEndian.Uint32(p)
	p = p[4:]
	if uint64(len(p)) != uint64(k)*24 {
		return nil, errBadState
	}
	c.seen = make(map[[16]byte]int64, k)
	c.order = make([][16]byte, 0, k+k/4)
	for i := uint32(0); i < k; i++ {
		var key [16]byte
		copy(key[:], p[:16])
		if _, dup := c.seen[key]; dup {
			return nil, errBadState
		}
		c.add(key, int64(binary.BigEndian.Uint64(p[16:])))
		p = p[24:]
	}
	return &c, nil
}

// Mark is what a delivered page's position says about the follow state,
// for the stream engine (flush, metrics, progress).
type Mark struct {
	// Watermark: every row whose event time is at most the watermark and
	// that became readable within the lateness of its event time has
	// been delivered (up to this page).
	Watermark time.Time
	// OpenBuckets is the number of buckets the current poll reads.
	OpenBuckets int
	// ClosedBuckets is the number of buckets that closed with this page:
	// no later poll reads them.
	ClosedBuckets int
	// Flush: flush the plugins after this page (a bucket closed and the
	// source flushes on bucket ends).
	Flush bool
	// PollDone: this page ends a poll, which delivered PollRows rows.
	PollDone bool
	PollRows uint64
	// Polls is the number of polls started so far.
	Polls uint64
}

// MarkOf decodes the follow state a page's paging state carries. An empty
// state is the start (no poll yet).
func MarkOf(state []byte) (Mark, error) {
	if len(state) == 0 {
		return Mark{}, nil
	}
	c, _, err := decodeHeader(state)
	if err != nil {
		return Mark{}, err
	}
	return Mark{
		Watermark: time.UnixMilli(c.watermark).UTC(), OpenBuckets: int(c.open), ClosedBuckets: int(c.closed),
		Flush: c.flush, PollDone: c.pollDone, PollRows: c.pollRows, Polls: c.polls,
	}, nil
}

// String summarizes the cursor for resume messages.
func (m Mark) String() string {
	if m.Polls == 0 {
		return "follow: no poll yet"
	}
	return fmt.Sprintf("follow: watermark %s, %d open buckets", m.Watermark.Format(time.RFC3339Nano), m.OpenBuckets)
}
