package pager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
// split (split >= 0: range, paging state, counts, done flag) and one row
// per shard (split = -1 - shard index: shard count, the Extra map,
// saved_at, whether every split of the shard is done, and position_count,
// the number of split rows of its checkpoint). Every row carries the
// fingerprint and the run id (Checkpoint.Run) of the checkpoint that wrote
// it.
//
// A Save writes the shard's row and the split rows that changed since the
// last Save or Load as one single-partition batch, which Cassandra applies
// atomically and in isolation: a reader never sees the positions of one
// save with the Extra of another. Cells carry client timestamps that
// increase strictly from one Save to the next of the same store, so a
// later save always wins even within one microsecond.
//
// Runs. A new run of a stream (the previous one finished, or there was
// none) has a new run id, and may have another split plan or shard count
// than the rows already in the partition. Load reads the shard's own row
// and takes only the split rows that the row's shard owns and that carry
// the row's run id: rows of other runs are ignored, so a new run's
// checkpoint replaces the old one as a whole the moment its first save
// lands. That first save also deletes, in the same batch, the rows of
// other runs that this shard owns under its current shard count (split
// rows with split % N == i that the new plan does not have, and the rows
// of shards k >= N with k % N == i) and that its Load saw. Why run ids
// rather than deleting the old rows before the new run writes its own: a
// shard cannot tell, before its first save, whether its rows are stale
// (that depends on what the stream layer does with the loaded
// checkpoint), and a delete followed by a write is two writes with a
// crash between them; with run ids a new run's start is one atomic batch,
// so after a crash at any point the partition holds either the old run's
// checkpoint or the new run's, and Load accepts both. The deletes are
// housekeeping, not needed for correctness: a stale row that survives (a
// delete shadowed by another machine's later clock, a row written after
// the Load) is still ignored.
//
// Load refuses (rather than mixing) a shard row whose own split rows
// disagree on the fingerprint, and a shard row whose run lost some of its
// split rows to a later run with another shard count while it was
// unfinished (when it was finished, Load returns nil: there is nothing to
// resume). It also refuses when this shard's run and another shard's run
// of the same shard count are both unfinished with different
// fingerprints: the shards are running different queries or split plans
// (another config, or the ring changed between their starts).
//
// Concurrency assumptions (why no LWT is needed on these rows): each split
// row and each shard row is written by exactly one process, the shard that
// owns it (split % N == i), and saves of one shard are made one at a time
// by its committer. The fence (Lease, lease.go) enforces the first: a
// second process for the same shard of the same stream is refused or
// waits, and a holder that lost its lease stops before its next save.
// Shards of one stream with different shard counts at the same time are
// still a misconfiguration: their saves would interleave (last write wins).
//
// Safe for concurrent use (it guards its per-stream memory of saved
// positions with a mutex).
type CassandraStore struct {
	session     *gocql.Session
	keyspace    string
	shard       Shard
	consistency gocql.Consistency
	tbl         string // table name within keyspace

	// beforeWrite, when set (by tests only), is called before every write
	// to the table; an error stops the write and is returned, as if the
	// process had died just before it.
	beforeWrite func() error

	mu struct {
		sync.Mutex
		streams map[string]*storedRun // by stream; guarded by mu
		lastTS  int64                 // last write timestamp (µs); guarded by mu
	}
}

// storedRun is what a CassandraStore remembers of a stream's rows.
type storedRun struct {
	run   string           // run id of saved
	saved map[int]Position // split -> position as last saved or loaded, of run
	// seen are the rows this shard owns under its current shard count
	// (split key -> run id), other than its own shard row, as its last
	// Load read them; the next Save deletes those of another run that it
	// does not overwrite, then forgets them.
	seen map[int]string
}

// checkpointColumns are the columns of the table after the primary key,
// with their types; NewCassandraStore adds those an older table lacks.
var checkpointColumns = []struct{ name, typ string }{
	{"version", "int"},
	{"run", "text"},
	{"fingerprint", "text"},
	{"lo", "bigint"},
	{"hi", "bigint"},
	{"whole", "boolean"},
	{"page_state", "blob"},
	{"done", "boolean"},
	{"page_count", "bigint"},
	{"row_count", "bigint"},
	{"digest", "bigint"},
	{"shard_count", "int"},
	{"position_count", "int"},
	{"extra", "frozen<map<text, blob>>"},
	{"saved_at", "timestamp"},
}

// NewCassandraStore returns the store of the given shard's checkpoints in
// keyspace.table (table "" = CheckpointTable), creating the table if it is
// missing (the keyspace must exist), and adding the columns that a table
// created by an older sluice lacks. consistency is used for reads and
// writes (the zero value, Any, means LOCAL_QUORUM).
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
	st.mu.streams = map[string]*storedRun{}
	var cols strings.Builder
	for _, c := range checkpointColumns {
		fmt.Fprintf(&cols, "\t%s %s,\n", c.name, c.typ)
	}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	stream text,
	split int,
%s	PRIMARY KEY ((stream), split)
) WITH comment = 'sluice checkpoints: per stream, one row per split (split >= 0) and one per shard (split = -1 - shard index)'`, st.table(), cols.String())
	if err := s.Query(ddl).WithContext(ctx).Exec(); err != nil {
		return nil, fmt.Errorf("pager: creating %s.%s: %w", keyspace, table, err)
	}
	if err := st.addMissingColumns(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// addMissingColumns adds the columns of checkpointColumns that the table
// lacks (it was created by an older sluice). Shards starting together may
// race to add a column: an ALTER that fails is accepted when the column
// exists afterwards.
func (s *CassandraStore) addMissingColumns(ctx context.Context) error {
	have, err := s.columns(ctx)
	if err != nil {
		return err
	}
	for _, c := range checkpointColumns {
		if have[c.name] {
			continue
		}
		aerr := s.session.Query(fmt.Sprintf("ALTER TABLE %s ADD %s %s", s.table(), c.name, c.typ)).WithContext(ctx).Exec()
		if aerr == nil {
			continue
		}
		if now, err := s.columns(ctx); err == nil && now[c.name] {
			continue
		}
		return fmt.Errorf("pager: adding column %s to %s.%s (created by an older sluice): %w", c.name, s.keyspace, s.tbl, aerr)
	}
	return nil
}

// columns returns the names of the table's columns.
func (s *CassandraStore) columns(ctx context.Context) (map[string]bool, error) {
	it := s.session.Query("SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", s.keyspace, s.tbl).
		WithContext(ctx).Iter()
	have := map[string]bool{}
	var name string
	for it.Scan(&name) {
		have[name] = true
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("pager: reading the columns of %s.%s: %w", s.keyspace, s.tbl, err)
	}
	return have, nil
}

func (s *CassandraStore) table() string { return quoteIdent(s.keyspace) + "." + quoteIdent(s.tbl) }

// checkpointRow is one row of the table as Load reads it.
type checkpointRow struct {
	split, version   int
	run, fingerprint string
	lo, hi           int64
	whole            bool
	state            []byte
	done             *bool // nil: not written (a shard row of an older sluice)
	pages, rows      int64
	digest           int64
	shardCount       int
	positionCount    int // 0: not written (an older sluice)
	extra            map[string][]byte
	savedAt          time.Time
}

// readRows returns every row of the stream's partition, by split.
func (s *CassandraStore) readRows(ctx context.Context, stream string) ([]checkpointRow, error) {
	it := s.session.Query("SELECT split, version, run, fingerprint, lo, hi, whole, page_state, done, page_count, row_count, digest, shard_count, position_count, extra, saved_at FROM "+
		s.table()+" WHERE stream = ?", stream).WithContext(ctx).Consistency(s.consistency).Iter()
	var out []checkpointRow
	for {
		var r checkpointRow
		if !it.Scan(&r.split, &r.version, &r.run, &r.fingerprint, &r.lo, &r.hi, &r.whole, &r.state, &r.done,
			&r.pages, &r.rows, &r.digest, &r.shardCount, &r.positionCount, &r.extra, &r.savedAt) {
			break
		}
		out = append(out, r)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("pager: loading checkpoint of stream %q from %s: %w", stream, s.table(), err)
	}
	return out, nil
}

// Load reads the shard's checkpoint of a stream: its shard row and the
// split rows of the same run (see CassandraStore); (nil, nil) when the
// shard never saved one, or when its last run finished and lost rows to a
// later run with another shard count.
func (s *CassandraStore) Load(ctx context.Context, stream string) (*Checkpoint, error) {
	rows, err := s.readRows(ctx, stream)
	if err != nil {
		return nil, err
	}
	self := -1 - s.shard.Index
	seen := map[int]string{}
	var head *checkpointRow
	for i, r := range rows {
		switch {
		case r.split == self:
			head = &rows[i]
		case r.split >= 0 && s.shard.Owns(r.split), r.split < 0 && s.shard.Owns(-1-r.split):
			seen[r.split] = r.run
		}
	}
	if head == nil {
		s.loaded(stream, "", nil, seen)
		return nil, nil
	}
	// The checkpoint is the shard row's run, with the split rows its shard
	// count gave this shard index (when it differs from this store's,
	// Pager.Resume refuses the checkpoint, saying so).
	owner := Shard{Index: s.shard.Index, Count: head.shardCount}
	if err := owner.Validate(); err != nil {
		return nil, fmt.Errorf("pager: checkpoint of stream %q in %s: the row of shard %d: %w", stream, s.table(), s.shard.Index, err)
	}
	cp := &Checkpoint{Version: head.version, Stream: stream, Run: head.run, Fingerprint: head.fingerprint,
		Shard: owner, Extra: head.extra, SavedAt: head.savedAt.UTC()}
	fps := map[string][]int{head.fingerprint: {self}}
	for _, r := range rows {
		if r.split < 0 || r.run != head.run || !owner.Owns(r.split) {
			continue
		}
		fps[r.fingerprint] = append(fps[r.fingerprint], r.split)
		pos := Position{Split: r.split, Lo: r.lo, Hi: r.hi, Whole: r.whole, PageState: r.state,
			Done: r.done != nil && *r.done, Pages: uint64(r.pages), Rows: uint64(r.rows), Digest: uint64(r.digest)}
		if pos.Done {
			pos.PageState = nil
		}
		cp.Positions = append(cp.Positions, pos)
	}
	if len(fps) > 1 {
		var parts []string
		for _, f := range slices.Sorted(maps.Keys(fps)) {
			parts = append(parts, fmt.Sprintf("%s (rows %v)", f, fps[f]))
		}
		return nil, fmt.Errorf("pager: checkpoint of stream %q (shard %s, %s) in %s mixes fingerprints %s: its rows were written for different queries or split plans; %s",
			stream, owner, runText(head.run), s.table(), strings.Join(parts, ", "), s.startOver(stream))
	}
	if n := head.positionCount; n > 0 && len(cp.Positions) != n {
		if head.done != nil && *head.done {
			// A finished run whose rows a later run with another shard
			// count overwrote: nothing to resume.
			s.loaded(stream, "", nil, seen)
			return nil, nil
		}
		return nil, fmt.Errorf("pager: checkpoint of stream %q (shard %s, %s) in %s has %d of its %d split rows: a later run with another shard count overwrote the others before this one finished; %s",
			stream, owner, runText(head.run), s.table(), len(cp.Positions), n, s.startOver(stream))
	}
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	if !cp.Done() {
		for _, r := range rows {
			if r.split >= 0 || r.split == self || r.shardCount != head.shardCount || r.done == nil || *r.done || r.fingerprint == head.fingerprint {
				continue
			}
			return nil, fmt.Errorf("pager: checkpoint of stream %q in %s: shard %s (%s) and shard %d/%d (%s) are both unfinished with different fingerprints, %s and %s: the shards run different queries or split plans (another config, or the ring changed between their starts); %s",
				stream, s.table(), owner, runText(head.run), -1-r.split, r.shardCount, runText(r.run), head.fingerprint, r.fingerprint, s.startOver(stream))
		}
	}
	s.loaded(stream, cp.Run, cp.Positions, seen)
	return cp, nil
}

func runText(run string) string {
	if run == "" {
		return "a run without id"
	}
	return "run " + run
}

// startOver says how to discard the stream's checkpoint.
func (s *CassandraStore) startOver(stream string) string {
	return fmt.Sprintf("delete the stream's rows to start over: DELETE FROM %s WHERE stream = '%s'", s.table(), strings.ReplaceAll(stream, "'", "''"))
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
	changed, stale := s.toWrite(cp)
	b := s.session.Batch(gocql.UnloggedBatch).WithContext(ctx).Consistency(s.consistency).WithTimestamp(s.timestamp())
	ins := "INSERT INTO " + s.table() + " (stream, split, version, run, fingerprint, lo, hi, whole, page_state, done, page_count, row_count, digest, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for _, p := range changed {
		var state []byte
		if len(p.PageState) > 0 {
			state = p.PageState
		}
		b.Query(ins, cp.Stream, p.Split, cp.Version, cp.Run, cp.Fingerprint, p.Lo, p.Hi, p.Whole, state, p.Done, int64(p.Pages), int64(p.Rows), int64(p.Digest), cp.SavedAt)
	}
	for _, split := range stale {
		b.Query("DELETE FROM "+s.table()+" WHERE stream = ? AND split = ?", cp.Stream, split)
	}
	b.Query("INSERT INTO "+s.table()+" (stream, split, version, run, fingerprint, shard_count, position_count, done, extra, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		cp.Stream, -1-s.shard.Index, cp.Version, cp.Run, cp.Fingerprint, s.shard.Count, len(cp.Positions), cp.Done(), cp.Extra, cp.SavedAt)
	if err := s.write(); err != nil {
		return err
	}
	if err := b.ExecContext(ctx); err != nil {
		return fmt.Errorf("pager: saving checkpoint of stream %q to %s: %w", cp.Stream, s.table(), err)
	}
	s.saved(cp)
	return nil
}

// write is called before every write to the table (see beforeWrite).
func (s *CassandraStore) write() error {
	if s.beforeWrite == nil {
		return nil
	}
	return s.beforeWrite()
}

// Delete removes every row of the stream (all shards).
func (s *CassandraStore) Delete(ctx context.Context, stream string) error {
	if err := s.write(); err != nil {
		return err
	}
	if err := s.session.Query("DELETE FROM "+s.table()+" WHERE stream = ?", stream).WithContext(ctx).
		Consistency(s.consistency).WithTimestamp(s.timestamp()).Exec(); err != nil {
		return fmt.Errorf("pager: deleting checkpoint of stream %q from %s: %w", stream, s.table(), err)
	}
	s.mu.Lock()
	delete(s.mu.streams, stream)
	s.mu.Unlock()
	return nil
}

// toWrite returns the positions of cp to write — those that differ from
// the last saved ones, or all of them when cp starts another run than the
// one last saved or loaded — and the rows of other runs to delete.
func (s *CassandraStore) toWrite(cp *Checkpoint) (changed []Position, stale []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.mu.streams[cp.Stream]
	if sr == nil {
		sr = &storedRun{}
	}
	mine := make(map[int]bool, len(cp.Positions))
	for _, p := range cp.Positions {
		mine[p.Split] = true
		if q, ok := sr.saved[p.Split]; ok && sr.run == cp.Run && samePosition(p, q) {
			continue
		}
		changed = append(changed, p)
	}
	for split, run := range sr.seen {
		if run != cp.Run && !mine[split] {
			stale = append(stale, split)
		}
	}
	slices.Sort(stale)
	return changed, stale
}

func samePosition(a, b Position) bool {
	return a.Split == b.Split && a.Lo == b.Lo && a.Hi == b.Hi && a.Whole == b.Whole && a.Done == b.Done &&
		a.Pages == b.Pages && a.Rows == b.Rows && a.Digest == b.Digest && string(a.PageState) == string(b.PageState)
}

// loaded records what Load read: the positions of run, and the rows seen.
func (s *CassandraStore) loaded(stream, run string, ps []Position, seen map[int]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := &storedRun{run: run, saved: make(map[int]Position, len(ps)), seen: seen}
	for _, p := range ps {
		sr.saved[p.Split] = p.Clone()
	}
	s.mu.streams[stream] = sr
}

// saved records a successful Save of cp: its positions are stored (all of
// them when its run differs from the last one's) and the rows of other
// runs it deleted are forgotten.
func (s *CassandraStore) saved(cp *Checkpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.mu.streams[cp.Stream]
	if sr == nil || sr.run != cp.Run || sr.saved == nil {
		sr = &storedRun{run: cp.Run, saved: make(map[int]Position, len(cp.Positions))}
		s.mu.streams[cp.Stream] = sr
	}
	sr.seen = nil
	for _, p := range cp.Positions {
		sr.saved[p.Split] = p.Clone()
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
