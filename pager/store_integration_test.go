package pager

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// A new run of a stream whose split plan or shard count changed replaces
// its CassandraStore checkpoint as a whole (issue 18): the rows of the
// previous, finished run never block the new run's Load, whatever the
// moment the new run is killed, and never leak into its checkpoint.
//
// Each shard of a run is a "process" of its own (its own store and pager,
// as sluice run -shard i/N) that commits and saves after every page
// (every_pages = 1), like the stream layer: Load, Resume(nil) when the
// loaded checkpoint is done, Progress.Checkpoint, Save. A "crash" stops
// every process of the run at once just before a chosen write to the
// table; what they saved before it is what a restart sees.

// shape is a split plan and shard count of the stream.
type shape struct{ splits, shards int }

func (l shape) String() string { return fmt.Sprintf("%d splits, %d shards", l.splits, l.shards) }

// storePageSize keeps runs short (about 2 pages per split of the scan
// table) so every write of a run can be a crash point.
const storePageSize = 4000

// errCrash is returned by the write hook: the process "dies" before the
// write.
var errCrash = errors.New("injected crash before a checkpoint write")

// storeProc is one shard's process of a run.
type storeProc struct {
	t       *testing.T
	shard   Shard
	st      *CassandraStore
	p       *Pager
	pr      *Progress
	loaded  *Checkpoint // what Load returned
	durable []string    // digests of the rows committed by saved checkpoints of this run
	pending []string    // committed rows of pages whose checkpoint is not saved yet
	saves   int         // checkpoints saved
	done    bool        // every page processed and saved
}

// startProc starts shard sh of a run of stream with shape l: a fresh
// store on table (nothing remembered from other processes), Load, Resume.
// The store's writes go through hook (nil: none).
func startProc(t *testing.T, s *gocql.Session, table, stream string, l shape, sh Shard, hook func() error) *storeProc {
	t.Helper()
	ctx := context.Background()
	st, err := NewCassandraStore(ctx, s, itKeyspace, table, sh, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	st.beforeWrite = hook
	cp, err := st.Load(ctx, stream)
	if err != nil {
		t.Fatalf("shard %s (%s): load: %v", sh, l, err)
	}
	resume := cp
	if cp != nil && cp.Done() { // what the stream layer does: a finished run is not resumed
		resume = nil
	}
	opts := Options{Stream: stream, PageSize: storePageSize, Splits: l.splits, Concurrency: 2, Shard: sh, Consistency: gocql.One}
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: itKeyspace, Table: scanTable}, opts)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(src, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Resume(resume); err != nil {
		p.Close()
		t.Fatalf("shard %s (%s): resume: %v", sh, l, err)
	}
	if err := p.Start(ctx); err != nil {
		p.Close()
		t.Fatal(err)
	}
	return &storeProc{t: t, shard: sh, st: st, p: p, pr: p.Progress(), loaded: cp}
}

// step processes one page: commit, then save a checkpoint whose Extra
// holds the number of rows the run has committed so far (as a sink's
// offset would). It reports false at the end of the shard, or when the
// save hit the injected crash (err).
func (pc *storeProc) step() (bool, error) {
	t := pc.t
	t.Helper()
	ctx := context.Background()
	d, err := pc.p.Next(ctx)
	if err == io.EOF {
		pc.done = true
		return false, nil
	}
	if err != nil {
		t.Fatalf("shard %s: %v", pc.shard, err)
	}
	for _, row := range d.Page.Rows() {
		h := sha256.Sum256(row.Bytes())
		pc.pending = append(pc.pending, string(h[:16]))
	}
	if err := pc.pr.Commit(d.Position); err != nil {
		t.Fatal(err)
	}
	n := len(pc.durable) + len(pc.pending)
	if err := pc.st.Save(ctx, pc.pr.Checkpoint(map[string][]byte{"rows": []byte(strconv.Itoa(n))})); err != nil {
		if errors.Is(err, errCrash) {
			return false, err
		}
		t.Fatalf("shard %s: save: %v", pc.shard, err)
	}
	pc.durable, pc.pending = append(pc.durable, pc.pending...), nil
	pc.saves++
	return true, nil
}

// runResult is what one run of a shape left behind: a process per shard
// it ran (nil for the others).
type runResult struct {
	procs   []*storeProc
	crashed bool
}

// rows returns the rows of every shard's saved checkpoints.
func (r runResult) rows() []string {
	var out []string
	for _, pc := range r.procs {
		if pc != nil {
			out = append(out, pc.durable...)
		}
	}
	return out
}

// runs returns the run id of each shard's process.
func (r runResult) runs() map[int]string {
	out := map[int]string{}
	for i, pc := range r.procs {
		if pc != nil {
			out[i] = pc.pr.Checkpoint(nil).Run
		}
	}
	return out
}

// writes counts the writes to the table of a run and makes the one after
// the last allowed crash (budget < 0: no crash).
type writes struct{ n, budget int }

func (w *writes) hook() error {
	if w.budget >= 0 && w.n >= w.budget {
		return errCrash
	}
	w.n++
	return nil
}

// runLayout runs the shards of l on stream (all of them, or those for
// which only is true), interleaving their pages round robin, until every
// one is done or the write budget of w runs out: then every process of
// the run stops at once.
func runLayout(t *testing.T, s *gocql.Session, table, stream string, l shape, w *writes, only func(shard int) bool) runResult {
	t.Helper()
	res := runResult{procs: make([]*storeProc, l.shards)}
	for i := range l.shards {
		if only == nil || only(i) {
			res.procs[i] = startProc(t, s, table, stream, l, Shard{Index: i, Count: l.shards}, w.hook)
		}
	}
	defer func() {
		for _, pc := range res.procs {
			if pc != nil {
				pc.p.Close()
			}
		}
	}()
	for more := true; more && !res.crashed; {
		more = false
		for _, pc := range res.procs {
			if pc == nil || pc.done {
				continue
			}
			ok, err := pc.step()
			if err != nil {
				res.crashed = true
				break
			}
			more = more || ok
		}
	}
	return res
}

// partitionRows returns the rows of stream in table: split key -> run.
func partitionRows(t *testing.T, s *gocql.Session, table, stream string) map[int]string {
	t.Helper()
	if table == "" {
		table = CheckpointTable
	}
	it := s.Query("SELECT split, run FROM "+itKeyspace+"."+table+" WHERE stream = ?", stream).Iter()
	out := map[int]string{}
	var split int
	var run string
	for it.Scan(&split, &run) {
		out[split] = run
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// copyPartition replaces the rows of stream to with those of from (a
// finished run to start the next from, without paging it again).
func copyPartition(t *testing.T, s *gocql.Session, from, to string) {
	t.Helper()
	st, err := NewCassandraStore(context.Background(), s, itKeyspace, "", Shard{}, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(context.Background(), to); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the copies' write times come after the Delete's
	it := s.Query("SELECT JSON * FROM "+itKeyspace+"."+CheckpointTable+" WHERE stream = ?", from).Iter()
	var row string
	var rows []string
	for it.Scan(&row) {
		rows = append(rows, row)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		dec := json.NewDecoder(strings.NewReader(r))
		dec.UseNumber() // tokens are 64-bit
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		m["stream"] = to
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Query("INSERT INTO "+itKeyspace+"."+CheckpointTable+" JSON ?", string(b)).Exec(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFinished checks the state after a run of l finished on stream:
// every shard loads a done checkpoint of its own run, and the partition
// holds exactly the rows of l (every row of an earlier shape was deleted
// by a first save).
func checkFinished(t *testing.T, s *gocql.Session, table, stream string, l shape, runs map[int]string) {
	t.Helper()
	ctx := context.Background()
	want := map[int]string{}
	for i := range l.shards {
		st, err := NewCassandraStore(ctx, s, itKeyspace, table, Shard{Index: i, Count: l.shards}, gocql.One)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := st.Load(ctx, stream)
		if err != nil {
			t.Fatalf("after the run: shard %d: %v", i, err)
		}
		if cp == nil || !cp.Done() || cp.Run != runs[i] {
			t.Fatalf("after the run: shard %d/%d loads %+v, want a done checkpoint of run %s", i, l.shards, cp, runs[i])
		}
		want[-1-i] = runs[i]
		for sp := i; sp < l.splits; sp += l.shards {
			want[sp] = runs[i]
		}
	}
	if got := partitionRows(t, s, table, stream); !mapsEqual(got, want) {
		t.Fatalf("after the run of %s the partition holds rows %v, want %v", l, got, want)
	}
}

func mapsEqual(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// wantRows pages the whole scan table once: the rows every complete run
// must deliver, exactly once.
func wantRows(t *testing.T) []string {
	t.Helper()
	whole, _ := runScan(t, itSession(t), Spec{Keyspace: itKeyspace, Table: scanTable}, Options{Stream: "whole", PageSize: 5000, Consistency: gocql.One})
	return whole.sorted()
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	got = slices.Clone(got)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %d rows, want the table's %d rows exactly once", what, len(got), len(want))
	}
}

// deleteStream removes the rows of stream from table, now and when the
// test ends.
func deleteStream(t *testing.T, s *gocql.Session, table, stream string) {
	t.Helper()
	st, err := NewCassandraStore(context.Background(), s, itKeyspace, table, Shard{}, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	del := func() {
		if err := st.Delete(context.Background(), stream); err != nil {
			t.Error(err)
		}
	}
	del()
	t.Cleanup(del)
}

// finishedRun runs l on stream to the end from nothing and checks it.
func finishedRun(t *testing.T, s *gocql.Session, table, stream string, l shape, want []string) runResult {
	t.Helper()
	deleteStream(t, s, table, stream)
	r := runLayout(t, s, table, stream, l, &writes{budget: -1}, nil)
	sameRows(t, fmt.Sprintf("a run of %s", l), r.rows(), want)
	checkFinished(t, s, table, stream, l, r.runs())
	return r
}

// resumeErr loads shard sh's checkpoint of stream and resumes a pager of
// shape l from it, returning the error of Load or Resume.
func resumeErr(t *testing.T, s *gocql.Session, stream string, l shape, sh Shard) error {
	t.Helper()
	ctx := context.Background()
	st, err := NewCassandraStore(ctx, s, itKeyspace, "", sh, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := st.Load(ctx, stream)
	if err != nil {
		return err
	}
	opts := Options{Stream: stream, PageSize: storePageSize, Splits: l.splits, Shard: sh, Consistency: gocql.One}
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: itKeyspace, Table: scanTable}, opts)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(src, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	return p.Resume(cp)
}

// Issue 18 at the store level: a finished run, then a new run with fewer
// splits (or fewer shards and splits) killed after its first saves; every
// shard's Load returns the new run's checkpoint (it used to refuse the
// mixture of the two runs' rows), the resume completes with every row
// exactly once, and the old plan's rows are gone.
func TestIntegrationCassandraStoreNewRunAfterPlanChange(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	want := wantRows(t)
	for _, tc := range []struct {
		name     string
		from, to shape
		budget   int // writes of the new run before it is killed
	}{
		{"splits_8_to_4", shape{8, 1}, shape{4, 1}, 2},
		{"shards_3_to_2", shape{6, 3}, shape{4, 2}, 3}, // round robin: shard 0 saves twice, shard 1 once
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "newrun-" + tc.name
			finishedRun(t, s, "", stream, tc.from, want)
			cut := runLayout(t, s, "", stream, tc.to, &writes{budget: tc.budget}, nil)
			if !cut.crashed {
				t.Fatalf("the run of %s finished before %d writes", tc.to, tc.budget)
			}
			for i, pc := range cut.procs {
				if pc.loaded == nil || !pc.loaded.Done() {
					t.Fatalf("shard %d started from %+v, want the finished checkpoint of the previous run", i, pc.loaded)
				}
				if pc.saves == 0 {
					t.Fatalf("shard %d saved nothing before the kill", i)
				}
				st, err := NewCassandraStore(ctx, s, itKeyspace, "", pc.shard, gocql.One)
				if err != nil {
					t.Fatal(err)
				}
				cp, err := st.Load(ctx, stream)
				if err != nil {
					t.Fatalf("shard %s: load after the kill: %v", pc.shard, err)
				}
				var splits []int
				for _, p := range cp.Positions {
					splits = append(splits, p.Split)
				}
				var wantSplits []int
				for sp := pc.shard.Index; sp < tc.to.splits; sp += tc.to.shards {
					wantSplits = append(wantSplits, sp)
				}
				if cp.Run != pc.pr.Checkpoint(nil).Run || cp.Fingerprint != pc.p.Plan().Fingerprint || cp.Done() ||
					!slices.Equal(splits, wantSplits) || string(cp.Extra["rows"]) != strconv.Itoa(len(pc.durable)) {
					t.Fatalf("shard %s loads run %s, fingerprint %s, splits %v, done %v, rows %s; want the new run %s, %s, splits %v, unfinished, rows %d",
						pc.shard, cp.Run, cp.Fingerprint, splits, cp.Done(), cp.Extra["rows"],
						pc.pr.Checkpoint(nil).Run, pc.p.Plan().Fingerprint, wantSplits, len(pc.durable))
				}
				t.Logf("shard %s after the kill: run %s, %d of %d rows saved, %d rows of the table", pc.shard, cp.Run, len(pc.durable), cp.Rows(), len(want))
			}
			// The unfinished run cannot be resumed with yet another plan
			// or shard count: the pager refuses, saying why.
			if err := resumeErr(t, s, stream, shape{tc.to.splits + 2, tc.to.shards}, Shard{Index: 0, Count: tc.to.shards}); !errors.Is(err, ErrFingerprint) || !strings.Contains(err.Error(), "split plan") {
				t.Fatalf("resuming the unfinished run with %d splits: %v, want a refusal naming the split plan", tc.to.splits+2, err)
			} else {
				t.Log(err)
			}
			other := shape{tc.to.splits, tc.to.shards%2 + 1}
			if err := resumeErr(t, s, stream, other, Shard{Index: 0, Count: other.shards}); err == nil || !strings.Contains(err.Error(), "restart with the same shard count") {
				t.Fatalf("resuming the unfinished run with %d shards: %v, want a refusal naming the shard count", other.shards, err)
			} else {
				t.Log(err)
			}
			rest := runLayout(t, s, "", stream, tc.to, &writes{budget: -1}, nil)
			for i, pc := range rest.procs {
				if pc.loaded == nil || pc.loaded.Done() || pc.loaded.Run != cut.runs()[i] {
					t.Fatalf("shard %d resumed from %+v, want the unfinished checkpoint of run %s", i, pc.loaded, cut.runs()[i])
				}
			}
			sameRows(t, "the new run, killed and resumed", append(cut.rows(), rest.rows()...), want)
			checkFinished(t, s, "", stream, tc.to, cut.runs())
		})
	}
}

// A crash at every write of a new run, for several changes of the split
// plan and shard count: after each, every shard's Load succeeds, the
// shards that were killed resume (those that had finished are not rerun),
// every row is delivered exactly once over the two parts, and once
// finished the partition holds exactly the new shape's rows.
func TestIntegrationCassandraStoreCrashAtEveryWrite(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	want := wantRows(t)
	for _, tc := range []struct {
		name     string
		from, to shape
	}{
		{"splits_8_to_4", shape{8, 1}, shape{4, 1}},
		{"shards_3_to_2", shape{6, 3}, shape{4, 2}},
		{"shards_3_to_2_same_splits", shape{6, 3}, shape{6, 2}},
		{"shards_2_to_3", shape{4, 2}, shape{6, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := "crash-" + tc.name
			finishedRun(t, s, "", tmpl, tc.from, want)
			// An uninterrupted new run counts the writes.
			count := &writes{budget: -1}
			stream := tmpl + "-whole"
			deleteStream(t, s, "", stream)
			copyPartition(t, s, tmpl, stream)
			r := runLayout(t, s, "", stream, tc.to, count, nil)
			sameRows(t, "an uninterrupted new run", r.rows(), want)
			checkFinished(t, s, "", stream, tc.to, r.runs())
			for k := range count.n {
				stream := fmt.Sprintf("%s-%d", tmpl, k)
				deleteStream(t, s, "", stream)
				copyPartition(t, s, tmpl, stream)
				cut := runLayout(t, s, "", stream, tc.to, &writes{budget: k}, nil)
				if !cut.crashed {
					t.Fatalf("crash after write %d of %d: the run finished first", k, count.n)
				}
				checkOwnRows(t, tc.to, partitionRows(t, s, "", tmpl), partitionRows(t, s, "", stream), cut)
				rest := runLayout(t, s, "", stream, tc.to, &writes{budget: -1}, func(i int) bool { return !cut.procs[i].done })
				runs := cut.runs()
				var got []string
				for i, pc := range rest.procs {
					before := cut.procs[i]
					switch {
					case pc == nil: // finished before the crash: not rerun
					case pc.loaded != nil && pc.loaded.Done():
						// Its last run finished (the old one, or the new
						// one whose final save was its last write): the
						// rerun starts another, whose output replaces
						// what the killed process wrote.
						if before.saves > 0 && pc.loaded.Run != runs[i] {
							t.Fatalf("crash after write %d: shard %d saved %d checkpoints of run %s, then loaded the finished %+v", k, i, before.saves, runs[i], pc.loaded)
						}
						before.durable = nil
						runs[i] = pc.pr.Checkpoint(nil).Run
					case before.saves > 0:
						if pc.loaded == nil || pc.loaded.Run != runs[i] || string(pc.loaded.Extra["rows"]) != strconv.Itoa(len(before.durable)) {
							t.Fatalf("crash after write %d: shard %d saved %d checkpoints of run %s (%d rows), then loaded %+v", k, i, before.saves, runs[i], len(before.durable), pc.loaded)
						}
					case pc.loaded != nil:
						t.Fatalf("crash after write %d: shard %d saved nothing, then loaded the unfinished %+v", k, i, pc.loaded)
					default: // a shard the previous run did not have
						runs[i] = pc.pr.Checkpoint(nil).Run
					}
					got = append(got, before.durable...)
					if pc != nil {
						got = append(got, pc.durable...)
					}
				}
				sameRows(t, fmt.Sprintf("crash after write %d of %d, then resume", k, count.n), got, want)
				checkFinished(t, s, "", stream, tc.to, runs)
			}
			t.Logf("%s -> %s: a crash after each of the %d writes of the new run, every one resumed", tc.from, tc.to, count.n)
		})
	}
}

// A table created by an older sluice (no run or position_count columns)
// gets the columns; its rows (no run ids) still load: a finished
// checkpoint lets a new run with another split plan start and be resumed
// after a kill, and an unfinished one resumes and keeps its empty run id.
func TestIntegrationCassandraStoreOlderTable(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	want := wantRows(t)
	const table = "sluice_checkpoints_v0"
	tbl := itKeyspace + "." + table
	execT := func(stmt string, values ...any) {
		t.Helper()
		if err := s.Query(stmt, values...).Exec(); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	execT("DROP TABLE IF EXISTS " + tbl)
	execT("CREATE TABLE " + tbl + ` (stream text, split int, version int, fingerprint text, lo bigint, hi bigint,
	whole boolean, page_state blob, done boolean, page_count bigint, row_count bigint, shard_count int,
	extra frozen<map<text, blob>>, saved_at timestamp, PRIMARY KEY ((stream), split))`)
	planOf := func(splits int) Plan {
		src, err := NewCassandraSource(ctx, s, Spec{Keyspace: itKeyspace, Table: scanTable}, Options{Stream: "x", Splits: splits})
		if err != nil {
			t.Fatal(err)
		}
		p, err := src.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// legacy writes a checkpoint as an older sluice did.
	legacy := func(stream string, plan Plan, done bool) {
		for _, sp := range plan.Splits {
			execT("INSERT INTO "+tbl+" (stream, split, version, fingerprint, lo, hi, whole, page_state, done, page_count, row_count, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				stream, sp.Index, CheckpointVersion, plan.Fingerprint, sp.Lo, sp.Hi, sp.Whole, nil, done, int64(0), int64(0), time.Now())
		}
		execT("INSERT INTO "+tbl+" (stream, split, version, fingerprint, shard_count, extra, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			stream, -1, CheckpointVersion, plan.Fingerprint, 1, map[string][]byte{"rows": []byte("0")}, time.Now())
	}
	legacy("old-done", planOf(8), true)
	legacy("old-open", planOf(4), false)

	st, err := NewCassandraStore(ctx, s, itKeyspace, table, Shard{}, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := st.Load(ctx, "old-done")
	if err != nil || cp == nil || !cp.Done() || cp.Run != "" || len(cp.Positions) != 8 {
		t.Fatalf("the finished checkpoint of an older sluice loads as %+v, %v", cp, err)
	}
	to := shape{4, 1}
	cut := runLayout(t, s, table, "old-done", to, &writes{budget: 2}, nil)
	if !cut.crashed {
		t.Fatal("the new run finished before the kill")
	}
	rest := runLayout(t, s, table, "old-done", to, &writes{budget: -1}, nil)
	if l := rest.procs[0].loaded; l == nil || l.Run != cut.runs()[0] || l.Done() {
		t.Fatalf("after the kill the new run loads %+v, want the unfinished run %s", l, cut.runs()[0])
	}
	sameRows(t, "a new run after an older sluice's finished one", append(cut.rows(), rest.rows()...), want)
	checkFinished(t, s, table, "old-done", to, cut.runs())

	open := runLayout(t, s, table, "old-open", to, &writes{budget: -1}, nil)
	if l := open.procs[0].loaded; l == nil || l.Done() || l.Run != "" {
		t.Fatalf("the unfinished checkpoint of an older sluice loads as %+v", l)
	}
	sameRows(t, "an older sluice's unfinished run, resumed", open.rows(), want)
	checkFinished(t, s, table, "old-open", to, map[int]string{0: ""})
}

// checkOwnRows checks that the shards of a run of l touched only their own
// rows (split % N == i; shard rows k % N == i): every row written with the
// run id of shard i's process, and every row of the previous run that is
// gone, is shard i's, and shard i saved at least once.
func checkOwnRows(t *testing.T, l shape, before, after map[int]string, r runResult) {
	t.Helper()
	owner := func(split int) int {
		if split < 0 {
			split = -1 - split
		}
		return split % l.shards
	}
	runs := r.runs()
	for split, run := range after {
		for i, ri := range runs {
			if run == ri && owner(split) != i {
				t.Fatalf("row %d (shard %d's) carries run %s of shard %d", split, owner(split), run, i)
			}
		}
	}
	for split := range before {
		if _, ok := after[split]; !ok && r.procs[owner(split)].saves == 0 {
			t.Fatalf("row %d is gone, but its owner, shard %d, saved nothing", split, owner(split))
		}
	}
}
