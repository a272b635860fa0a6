package pager

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicehq/sluice/abi"
)

// Position is the resume point of one split: its token range, the paging
// state of the next page to fetch, whether the split is finished, and how
// many pages and rows of it were delivered so far (across runs).
//
// Every Delivery carries the Position *after* its page: once the consumer
// has fully processed that page downstream it records the Position
// (Progress.Commit) and saves a Checkpoint; a restart then refetches from
// exactly the first page not yet processed.
type Position struct {
	Split     int    `json:"split"`
	Lo        int64  `json:"lo"`
	Hi        int64  `json:"hi"`
	Whole     bool   `json:"whole,omitempty"`
	PageState []byte `json:"page_state,omitempty"` // paging state of the next page to fetch; empty = the split's first page (or none when Done)
	Done      bool   `json:"done,omitempty"`       // every page of the split was delivered
	Pages     uint64 `json:"pages"`                // pages delivered so far, empty pages included
	Rows      uint64 `json:"rows"`                 // rows delivered so far
	// Digest is the sum (mod 2^64) of the xxHash64 of every row delivered
	// so far, over the row's raw cells (ABI row layout: lengths, null
	// markers and bytes as Cassandra sent them). A sum, so it does not
	// depend on where pages end; sluice verify re-reads the split and
	// compares. 0 with Rows > 0: written by a sluice without digests.
	Digest uint64 `json:"digest,omitempty"`
}

// PageDigest returns the digest of a page's rows (see Position.Digest).
func PageDigest(p *abi.Page) uint64 {
	var d uint64
	for i := range p.NumRows() {
		d += xxhash.Sum64(p.Data[p.Offsets[i]:p.Offsets[i+1]])
	}
	return d
}

// StartPosition returns the position of a split nothing was read from.
func StartPosition(s Split) Position {
	return Position{Split: s.Index, Lo: s.Lo, Hi: s.Hi, Whole: s.Whole}
}

// SplitRange returns the split the position belongs to.
func (p Position) SplitRange() Split {
	return Split{Index: p.Split, Lo: p.Lo, Hi: p.Hi, Whole: p.Whole}
}

// Clone returns a deep copy (the paging state is copied).
func (p Position) Clone() Position {
	p.PageState = bytes.Clone(p.PageState)
	return p
}

// String summarizes the position for errors and logs.
func (p Position) String() string {
	st := "start of split"
	switch {
	case p.Done:
		st = "done"
	case len(p.PageState) > 0:
		st = "page state " + shortHex(p.PageState)
	}
	return fmt.Sprintf("%s after %d pages, %d rows: %s", p.SplitRange(), p.Pages, p.Rows, st)
}

func shortHex(b []byte) string {
	const max = 32
	if len(b) <= max {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:max]) + fmt.Sprintf("…(%d bytes)", len(b))
}

// CheckpointVersion is the version of the Checkpoint layout written by the
// stores of this package. A store refuses a checkpoint of another version.
const CheckpointVersion = 1

// Checkpoint is the saved progress of one stream (of one shard of it):
// where each split resumes, plus opaque state the stream layer stores
// alongside (sink offsets, plugin snapshots) so everything commits at once.
//
// Fingerprint identifies the query and the split plan (Plan.Fingerprint): a
// pager refuses a checkpoint whose fingerprint differs from its plan's, so
// a checkpoint is never applied to another query, table, filter or split
// plan.
//
// Run identifies the run of the stream (of this shard) the checkpoint
// belongs to: a pager that starts afresh (Resume not given a checkpoint)
// draws a new run id, a resumed pager carries the checkpoint's, and
// Progress.Checkpoint stamps it on every checkpoint. A store that keeps a
// checkpoint in pieces (CassandraStore: one row per split) writes it into
// every piece, so the pieces of an earlier run — of another split plan or
// shard count — are told apart from the current run's and never mixed into
// it. Checkpoints written before run ids existed have Run "" and resume
// as before.
type Checkpoint struct {
	Version     int               `json:"version"`
	Stream      string            `json:"stream"`
	Run         string            `json:"run,omitempty"`
	Fingerprint string            `json:"fingerprint"`
	Shard       Shard             `json:"shard"`
	Positions   []Position        `json:"positions"` // one per split of the shard, by split index
	Extra       map[string][]byte `json:"extra,omitempty"`
	SavedAt     time.Time         `json:"saved_at"`
}

// Clone returns a deep copy.
func (c *Checkpoint) Clone() *Checkpoint {
	if c == nil {
		return nil
	}
	d := *c
	d.Positions = make([]Position, len(c.Positions))
	for i, p := range c.Positions {
		d.Positions[i] = p.Clone()
	}
	if c.Extra != nil {
		d.Extra = make(map[string][]byte, len(c.Extra))
		for k, v := range c.Extra {
			d.Extra[k] = bytes.Clone(v)
		}
	}
	return &d
}

// Done reports whether every split of the checkpoint is finished.
func (c *Checkpoint) Done() bool {
	for _, p := range c.Positions {
		if !p.Done {
			return false
		}
	}
	return len(c.Positions) > 0
}

// Rows returns the rows delivered over all splits.
func (c *Checkpoint) Rows() uint64 {
	var n uint64
	for _, p := range c.Positions {
		n += p.Rows
	}
	return n
}

// Validate checks the internal consistency of a loaded checkpoint.
func (c *Checkpoint) Validate() error {
	if c.Version != CheckpointVersion {
		return fmt.Errorf("pager: checkpoint of stream %q has version %d, this sluice reads version %d", c.Stream, c.Version, CheckpointVersion)
	}
	if c.Stream == "" {
		return errors.New("pager: checkpoint has no stream name")
	}
	if err := c.Shard.Validate(); err != nil {
		return fmt.Errorf("pager: checkpoint of stream %q: %w", c.Stream, err)
	}
	for i, p := range c.Positions {
		if i > 0 && p.Split <= c.Positions[i-1].Split {
			return fmt.Errorf("pager: checkpoint of stream %q: positions not sorted by split (split %d after %d)", c.Stream, p.Split, c.Positions[i-1].Split)
		}
		if p.Done && len(p.PageState) > 0 {
			return fmt.Errorf("pager: checkpoint of stream %q: split %d is done but has a paging state", c.Stream, p.Split)
		}
	}
	return nil
}

// CheckpointStore loads and saves checkpoints. Implementations are safe for
// use by one goroutine at a time per stream (the stream's committer).
type CheckpointStore interface {
	// Load returns the last saved checkpoint of the stream, or (nil, nil)
	// when there is none.
	Load(ctx context.Context, stream string) (*Checkpoint, error)
	// Save stores cp durably; when it returns nil a later Load returns cp.
	Save(ctx context.Context, cp *Checkpoint) error
}

// ErrFingerprint is wrapped by the error Pager.Resume returns for a
// checkpoint that belongs to another query or split plan. The caller should
// show the error; to start over, delete the checkpoint (or name the stream
// differently).
var ErrFingerprint = errors.New("checkpoint does not match this query")

// Fingerprint computes the fingerprint of a query and its split plan:
// "<query hash>.<plan hash>", 16 hex digits each (truncated SHA-256). query
// is normalized first (runs of white space become one space, ends trimmed),
// so reformatting a query keeps its checkpoints valid. args are the bind
// values; they are part of the query.
func Fingerprint(query string, args []any, splits []Split) string {
	qh := sha256.New()
	qh.Write([]byte("sluice.pager.query.v1\x00"))
	qh.Write([]byte(NormalizeCQL(query)))
	for _, a := range args {
		fmt.Fprintf(qh, "\x00%T=%#v", a, a)
	}
	ph := sha256.New()
	ph.Write([]byte("sluice.pager.plan.v1\x00"))
	var b [17]byte
	for _, s := range splits {
		binary.BigEndian.PutUint64(b[0:], uint64(s.Lo))
		binary.BigEndian.PutUint64(b[8:], uint64(s.Hi))
		b[16] = 0
		if s.Whole {
			b[16] = 1
			clear(b[:16])
		}
		ph.Write(b[:])
	}
	return hex.EncodeToString(qh.Sum(nil)[:8]) + "." + hex.EncodeToString(ph.Sum(nil)[:8])
}

// newRunID returns a new run id: the UTC start time (for people reading
// the checkpoint table) and 64 random bits (so two runs started in the same
// second, on any machines, never share an id).
func newRunID() string {
	var b [8]byte
	rand.Read(b[:]) // never returns an error (since Go 1.24 it crashes the program instead)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// NormalizeCQL collapses runs of white space into one space and trims the
// ends and a trailing semicolon.
func NormalizeCQL(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	return strings.TrimSpace(strings.TrimSuffix(q, ";"))
}

// fingerprintMismatch explains why a checkpoint's fingerprint does not
// match the plan's.
func fingerprintMismatch(stream, have, want string) error {
	hq, _, _ := strings.Cut(have, ".")
	wq, _, _ := strings.Cut(want, ".")
	if hq != wq {
		return fmt.Errorf("pager: stream %q: the checkpoint (fingerprint %s) was written for a different query, table, filter or bind values than this one (%s): %w",
			stream, have, want, ErrFingerprint)
	}
	return fmt.Errorf("pager: stream %q: the checkpoint (fingerprint %s) was written for a different split plan than this one (%s): the ring's tokens or the split count changed: %w",
		stream, have, want, ErrFingerprint)
}

// Progress tracks the committed position of each split of one pager's
// shard, to build checkpoints. It is owned by one goroutine (the stream's
// committer): it has no locks and must not be shared.
type Progress struct {
	stream      string
	run         string // the run id stamped on every checkpoint (Checkpoint.Run)
	fingerprint string
	shard       Shard
	pos         []Position // by position in the shard's split list
	index       map[int]int
}

// Commit records p (a Delivery's Position, after its page was fully
// processed) as the resume point of its split. Positions of one split must
// be committed in delivery order; Commit refuses to go backwards.
func (pr *Progress) Commit(p Position) error {
	i, ok := pr.index[p.Split]
	if !ok {
		return fmt.Errorf("pager: stream %q: commit of split %d, which is not in shard %s of the plan", pr.stream, p.Split, pr.shard)
	}
	cur := pr.pos[i]
	if p.Pages < cur.Pages || (cur.Done && !p.Done) {
		return fmt.Errorf("pager: stream %q: commit of split %d goes backwards (at page %d, committing page %d)", pr.stream, p.Split, cur.Pages, p.Pages)
	}
	pr.pos[i] = p // p.PageState is never mutated by the pager once delivered
	return nil
}

// Position returns the committed position of a split.
func (pr *Progress) Position(split int) (Position, bool) {
	i, ok := pr.index[split]
	if !ok {
		return Position{}, false
	}
	return pr.pos[i], true
}

// Done reports whether every split of the shard is committed as done.
func (pr *Progress) Done() bool {
	for _, p := range pr.pos {
		if !p.Done {
			return false
		}
	}
	return true
}

// Checkpoint returns a checkpoint of the committed positions with the given
// extra state (copied), stamped now.
func (pr *Progress) Checkpoint(extra map[string][]byte) *Checkpoint {
	cp := &Checkpoint{
		Version:     CheckpointVersion,
		Stream:      pr.stream,
		Run:         pr.run,
		Fingerprint: pr.fingerprint,
		Shard:       Shard{Index: pr.shard.Index, Count: pr.shard.count()},
		Positions:   make([]Position, len(pr.pos)),
		SavedAt:     time.Now().UTC(),
	}
	for i, p := range pr.pos {
		cp.Positions[i] = p.Clone()
	}
	if extra != nil {
		cp.Extra = make(map[string][]byte, len(extra))
		for _, k := range slices.Sorted(maps.Keys(extra)) {
			cp.Extra[k] = bytes.Clone(extra[k])
		}
	}
	return cp
}
