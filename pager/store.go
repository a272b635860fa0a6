package pager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// FileStore keeps each stream's checkpoint in a JSON file of a local
// directory, replaced atomically on every Save: the new checkpoint is
// written to a temporary file in the same directory, fsynced, renamed over
// the old file, and the directory is fsynced, so after a crash the file
// holds either the previous checkpoint or the new one, never a torn mix.
//
// The file of a stream is <dir>/<stream>.checkpoint.json, or
// <dir>/<stream>.shard-<i>-of-<n>.checkpoint.json for a sharded run (so
// shards sharing a directory never overwrite each other). Characters of the
// stream name outside [A-Za-z0-9._-] are %XX-escaped.
//
// A FileStore holds no state besides its configuration: it is safe for
// concurrent use, and two stores on the same directory see the same files.
// Only one process may save a given stream and shard at a time.
type FileStore struct {
	dir   string
	shard Shard
}

// NewFileStore returns the store of the given shard's checkpoints in dir,
// creating dir if needed.
func NewFileStore(dir string, shard Shard) (*FileStore, error) {
	if err := shard.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pager: checkpoint directory: %w", err)
	}
	return &FileStore{dir: dir, shard: Shard{Index: shard.Index, Count: shard.count()}}, nil
}

// Path returns the file of a stream's checkpoint.
func (s *FileStore) Path(stream string) string {
	name := escapeFileName(stream)
	if s.shard.Count > 1 {
		name += fmt.Sprintf(".shard-%d-of-%d", s.shard.Index, s.shard.Count)
	}
	return filepath.Join(s.dir, name+".checkpoint.json")
}

// Load reads the stream's checkpoint; (nil, nil) when there is none.
func (s *FileStore) Load(ctx context.Context, stream string) (*Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := s.Path(stream)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pager: loading checkpoint: %w", err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("pager: checkpoint %s: %w", path, err)
	}
	if err := cp.Validate(); err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	if cp.Stream != stream {
		return nil, fmt.Errorf("pager: checkpoint %s is of stream %q, not %q", path, cp.Stream, stream)
	}
	return &cp, nil
}

// Save replaces the stream's checkpoint atomically (see FileStore).
func (s *FileStore) Save(ctx context.Context, cp *Checkpoint) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := cp.Validate(); err != nil {
		return err
	}
	if !cp.Shard.Equal(s.shard) {
		return fmt.Errorf("pager: checkpoint of shard %s given to the store of shard %s", cp.Shard, s.shard)
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return fmt.Errorf("pager: encoding checkpoint of stream %q: %w", cp.Stream, err)
	}
	path := s.Path(cp.Stream)
	tmp, err := os.CreateTemp(s.dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("pager: saving checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("pager: saving checkpoint %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("pager: saving checkpoint %s: fsync: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("pager: saving checkpoint %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pager: saving checkpoint: %w", err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("pager: saving checkpoint: opening directory for fsync: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("pager: saving checkpoint: fsync of directory %s: %w", s.dir, err)
	}
	return nil
}

func escapeFileName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' && i == 0 || !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "%"
	}
	return b.String()
}

// CheckpointTable is the name of the table of CassandraStore.
const CheckpointTable = "sluice_checkpoints"

// CassandraStore keeps checkpoints in the table sluice_checkpoints of a
// keyspace, for runs spread over several machines (every shard saves to
// the same table). Layout: one partition per stream; in it one row per
// split (split >= 0: range, paging state, counts, done flag, fingerprint)
// and one row per shard (split = -1 - shard index: fingerprint, shard
// count, the Extra map, saved_at).
//
// A Save writes the shard's row and the split rows that changed since the
// last Save or Load as one single-partition batch, which Cassandra applies
// atomically and in isolation: a reader never sees the positions of one
// save with the Extra of another. Cells carry client timestamps that
// increase strictly from one Save to the next of the same store, so a
// later save always wins even within one microsecond.
//
// Concurrency assumptions (why no LWT is needed): each split row and each
// shard row is written by exactly one process, the shard that owns it
// (split % N == i), and saves of one shard are made one at a time by its
// committer. Two processes running the same shard of the same stream are a
// misconfiguration: their saves would interleave (last write wins). Load
// refuses a partition whose rows disagree on the fingerprint (shards run
// with different queries or split plans).
//
// Safe for concurrent use (it guards its per-stream memory of saved
// positions with a mutex).
type CassandraStore struct {
	session     *gocql.Session
	keyspace    string
	shard       Shard
	consistency gocql.Consistency
	tbl         string // table name within keyspace

	mu struct {
		sync.Mutex
		saved  map[string]map[int]Position // stream -> split -> last saved/loaded; guarded by mu
		lastTS int64                       // last write timestamp (µs); guarded by mu
	}
}

// NewCassandraStore returns the store of the given shard's checkpoints in
// keyspace.table (table "" = CheckpointTable), creating the table if it is
// missing (the keyspace must exist). consistency is used for reads and writes (the
// zero value, Any, means LOCAL_QUORUM).
func NewCassandraStore(ctx context.Context, s *gocql.Session, keyspace, table string, shard Shard, consistency gocql.Consistency) (*CassandraStore, error) {
	if table == "" {
		table = CheckpointTable
	}
	if err := shard.Validate(); err != nil {
		return nil, err
	}
	if keyspace == "" {
		return nil, errors.New("pager: checkpoint store: no keyspace")
	}
	if consistency == gocql.Any {
		consistency = gocql.LocalQuorum
	}
	st := &CassandraStore{session: s, keyspace: keyspace, tbl: table, shard: Shard{Index: shard.Index, Count: shard.count()}, consistency: consistency}
	st.mu.saved = map[string]map[int]Position{}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
	stream text,
	split int,
	version int,
	fingerprint text,
	lo bigint,
	hi bigint,
	whole boolean,
	page_state blob,
	done boolean,
	page_count bigint,
	row_count bigint,
	shard_count int,
	extra frozen<map<text, blob>>,
	saved_at timestamp,
	PRIMARY KEY ((stream), split)
) WITH comment = 'sluice checkpoints: per stream, one row per split (split >= 0) and one per shard (split = -1 - shard index)'`, quoteIdent(keyspace), quoteIdent(table))
	if err := s.Query(ddl).WithContext(ctx).Exec(); err != nil {
		return nil, fmt.Errorf("pager: creating %s.%s: %w", keyspace, table, err)
	}
	return st, nil
}

func (s *CassandraStore) table() string { return quoteIdent(s.keyspace) + "." + quoteIdent(s.tbl) }

// Load reads the shard's checkpoint of a stream; (nil, nil) when the shard
// never saved one.
func (s *CassandraStore) Load(ctx context.Context, stream string) (*Checkpoint, error) {
	it := s.session.Query("SELECT split, version, fingerprint, lo, hi, whole, page_state, done, page_count, row_count, shard_count, extra, saved_at FROM "+
		s.table()+" WHERE stream = ?", stream).WithContext(ctx).Consistency(s.consistency).Iter()
	var (
		split, version, shardCount int
		fp                         string
		lo, hi                     int64
		whole, done                bool
		state                      []byte
		pages, rows                int64
		extra                      map[string][]byte
		savedAt                    time.Time
	)
	var cp *Checkpoint
	var positions []Position
	fps := map[string][]int{}
	for it.Scan(&split, &version, &fp, &lo, &hi, &whole, &state, &done, &pages, &rows, &shardCount, &extra, &savedAt) {
		fps[fp] = append(fps[fp], split)
		switch {
		case split == -1-s.shard.Index:
			cp = &Checkpoint{Version: version, Stream: stream, Fingerprint: fp,
				Shard: Shard{Index: s.shard.Index, Count: shardCount}, Extra: extra, SavedAt: savedAt.UTC()}
		case split >= 0 && s.shard.Owns(split):
			positions = append(positions, Position{Split: split, Lo: lo, Hi: hi, Whole: whole,
				PageState: state, Done: done, Pages: uint64(pages), Rows: uint64(rows)})
		}
		state, extra = nil, nil
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("pager: loading checkpoint of stream %q from %s: %w", stream, s.table(), err)
	}
	if len(fps) > 1 {
		var parts []string
		for f, splits := range fps {
			parts = append(parts, fmt.Sprintf("%s (rows %v)", f, splits))
		}
		return nil, fmt.Errorf("pager: checkpoint of stream %q in %s mixes fingerprints %s: shards ran different queries or split plans; delete the stream's rows to start over",
			stream, s.table(), strings.Join(parts, ", "))
	}
	if cp == nil {
		if len(positions) > 0 {
			return nil, fmt.Errorf("pager: checkpoint of stream %q in %s has split rows of shard %s but no shard row", stream, s.table(), s.shard)
		}
		return nil, nil
	}
	for i := range positions {
		if positions[i].Done {
			positions[i].PageState = nil
		}
	}
	cp.Positions = positions
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	s.remember(stream, cp.Positions, false)
	return cp, nil
}

// Save writes the checkpoint (see CassandraStore).
func (s *CassandraStore) Save(ctx context.Context, cp *Checkpoint) error {
	if err := cp.Validate(); err != nil {
		return err
	}
	if !cp.Shard.Equal(s.shard) {
		return fmt.Errorf("pager: checkpoint of shard %s given to the store of shard %s", cp.Shard, s.shard)
	}
	for _, p := range cp.Positions {
		if !s.shard.Owns(p.Split) {
			return fmt.Errorf("pager: checkpoint of shard %s has split %d of another shard", s.shard, p.Split)
		}
	}
	changed := s.changed(cp.Stream, cp.Positions)
	b := s.session.Batch(gocql.UnloggedBatch).WithContext(ctx).Consistency(s.consistency).WithTimestamp(s.timestamp())
	ins := "INSERT INTO " + s.table() + " (stream, split, version, fingerprint, lo, hi, whole, page_state, done, page_count, row_count, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for _, p := range changed {
		var state []byte
		if len(p.PageState) > 0 {
			state = p.PageState
		}
		b.Query(ins, cp.Stream, p.Split, cp.Version, cp.Fingerprint, p.Lo, p.Hi, p.Whole, state, p.Done, int64(p.Pages), int64(p.Rows), cp.SavedAt)
	}
	b.Query("INSERT INTO "+s.table()+" (stream, split, version, fingerprint, shard_count, extra, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		cp.Stream, -1-s.shard.Index, cp.Version, cp.Fingerprint, s.shard.Count, cp.Extra, cp.SavedAt)
	if err := b.ExecContext(ctx); err != nil {
		return fmt.Errorf("pager: saving checkpoint of stream %q to %s: %w", cp.Stream, s.table(), err)
	}
	s.remember(cp.Stream, cp.Positions, true)
	return nil
}

// Delete removes every row of the stream (all shards).
func (s *CassandraStore) Delete(ctx context.Context, stream string) error {
	if err := s.session.Query("DELETE FROM "+s.table()+" WHERE stream = ?", stream).WithContext(ctx).
		Consistency(s.consistency).WithTimestamp(s.timestamp()).Exec(); err != nil {
		return fmt.Errorf("pager: deleting checkpoint of stream %q from %s: %w", stream, s.table(), err)
	}
	s.mu.Lock()
	delete(s.mu.saved, stream)
	s.mu.Unlock()
	return nil
}

// changed returns the positions that differ from the last saved ones.
func (s *CassandraStore) changed(stream string, ps []Position) []Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.mu.saved[stream]
	var out []Position
	for _, p := range ps {
		if q, ok := last[p.Split]; ok && samePosition(p, q) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func samePosition(a, b Position) bool {
	return a.Split == b.Split && a.Lo == b.Lo && a.Hi == b.Hi && a.Whole == b.Whole && a.Done == b.Done &&
		a.Pages == b.Pages && a.Rows == b.Rows && string(a.PageState) == string(b.PageState)
}

// remember records positions as saved (merge) or loaded (replace).
func (s *CassandraStore) remember(stream string, ps []Position, merge bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mu.saved[stream]
	if m == nil || !merge {
		m = make(map[int]Position, len(ps))
		s.mu.saved[stream] = m
	}
	for _, p := range ps {
		m[p.Split] = p.Clone()
	}
}

// timestamp returns a write timestamp (µs) greater than every earlier one
// of this store.
func (s *CassandraStore) timestamp() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := time.Now().UnixMicro()
	if ts <= s.mu.lastTS {
		ts = s.mu.lastTS + 1
	}
	s.mu.lastTS = ts
	return ts
}
