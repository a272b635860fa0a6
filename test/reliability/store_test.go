package reliability

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/pager"
)

// Issue 18, end to end: with the cassandra checkpoint store, a stream that
// completed is run again with another split plan (or shard count), killed
// with SIGKILL once the new run has saved checkpoints, and run a third
// time. The third run must resume the new run (it used to exit 2: "mixes
// fingerprints ... delete the stream's rows to start over", because the
// finished run's rows of the splits the new plan does not have were still
// in the table), and the file sinks must end up with exactly a clean run's
// rows.

const (
	storePlanTable = "events_50k"
	storePlanRows  = 50_000
	storePlanPage  = 1000 // 50 pages in all
	// storePlanCPTable is this test's own checkpoint table.
	storePlanCPTable = "rel_store_plan_checkpoints"
)

// storePlanShape is one run's split plan and shard count (1: no -shard).
type storePlanShape struct{ splits, shards int }

// storePlanShardRow is what the checkpoint table says of one shard.
type storePlanShardRow struct {
	run   string
	saved time.Time
}

func (r storePlanShardRow) String() string {
	return fmt.Sprintf("run %q saved %s", r.run, r.saved.UTC().Format("15:04:05.000"))
}

// storePlanRuns returns the shard rows of stream in the checkpoint table:
// shard index -> run id and save time.
func storePlanRuns(t *testing.T, stream string) map[int]storePlanShardRow {
	t.Helper()
	it := session(t).Query("SELECT split, run, saved_at FROM "+ks+"."+storePlanCPTable+" WHERE stream = ?", stream).Iter()
	out := map[int]storePlanShardRow{}
	var split int
	var row storePlanShardRow
	for it.Scan(&split, &row.run, &row.saved) {
		if split < 0 {
			out[-1-split] = row
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// storePlanProcs starts one sluice per shard of sh for stream, each with
// its own config (and output file, returned) in dir; rate limits the
// pages per second of each (0: none).
func storePlanProcs(t *testing.T, dir, stream string, sh storePlanShape, rate float64) ([]*proc, []string) {
	t.Helper()
	var procs []*proc
	var outs []string
	for i := range sh.shards {
		name := fmt.Sprintf("%d-of-%d", i, sh.shards)
		out := filepath.Join(dir, "out-"+name+".jsonl")
		path := cfg{Store: "cassandra", CPTable: storePlanCPTable, EveryPages: 1, Streams: []streamCfg{{
			Name: stream, Table: storePlanTable, PageSize: storePlanPage, Concurrency: 2, Splits: sh.splits, RatePages: rate,
			Sinks: []sinkCfg{{Format: "jsonl", Path: out}},
		}}}.Write(t, dir, fmt.Sprintf("sluice-%d-splits-%s.toml", sh.splits, name))
		args := []string{"run", "-config", path}
		if sh.shards > 1 {
			args = append(args, "-shard", fmt.Sprintf("%d/%d", i, sh.shards))
		}
		procs = append(procs, start(t, dir, nil, args...))
		outs = append(outs, out)
	}
	return procs, outs
}

// storePlanOutput returns the rows of the output files, concatenated.
func storePlanOutput(t *testing.T, outs []string) []byte {
	t.Helper()
	var b []byte
	for _, o := range outs {
		b = append(b, readFile(t, o)...)
	}
	return b
}

// storePlanSame fails unless the rows of got are a clean run's: every id
// exactly once, and the same lines (in any order: splits and shards
// interleave).
func storePlanSame(t *testing.T, what string, got, clean []byte) {
	t.Helper()
	checkIDs(t, jsonlIDs(t, got), storePlanRows)
	if multisetSum(got) != multisetSum(clean) {
		t.Fatalf("%s: the lines differ from a clean run's (sorted sha %s, clean %s)", what, multisetSum(got), multisetSum(clean))
	}
}

func TestCassandraStorePlanChangeKillResume(t *testing.T) {
	ensureEvents(t, storePlanTable, storePlanRows)
	clean := storePlanClean(t)
	for _, tc := range []struct {
		name     string
		from, to storePlanShape
	}{
		{"splits_8_to_4", storePlanShape{8, 1}, storePlanShape{4, 1}},
		{"shards_3_to_2", storePlanShape{6, 3}, storePlanShape{4, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "fp_" + tc.name
			st, err := pager.NewCassandraStore(ctxT(t), session(t), ks, storePlanCPTable, pager.Shard{}, gocql.One)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctxT(t), stream); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()

			// 1. A complete run.
			procs, outs := storePlanProcs(t, dir, stream, tc.from, 0)
			for i, p := range procs {
				if res := p.Wait(t); res.Code != 0 {
					t.Fatalf("run 1 (%d splits), shard %d: exit %d:\n%s", tc.from.splits, i, res.Code, tail(res.Stderr, 20))
				}
			}
			storePlanSame(t, "run 1", storePlanOutput(t, outs), clean)
			first := storePlanRuns(t, stream)
			if len(first) != tc.from.shards {
				t.Fatalf("after run 1 the table has shard rows %v, want %d", first, tc.from.shards)
			}

			// 2. Another plan: a new run, killed once every shard has
			// saved checkpoints of it (and 2.5 s after its start).
			begin := time.Now()
			procs, outs = storePlanProcs(t, dir, stream, tc.to, 10/float64(tc.to.shards)) // about 5 s of pages
			for {
				runs := storePlanRuns(t, stream)
				saved := 0
				for i := range tc.to.shards {
					if runs[i].saved.After(first[i].saved) {
						saved++
					}
				}
				if saved == tc.to.shards && time.Since(begin) >= 2500*time.Millisecond {
					break
				}
				for i, p := range procs {
					if p.Exited() {
						res := p.Wait(t)
						t.Fatalf("run 2 (%d splits), shard %d ended (exit %d) before the kill; raise its page rate limit's slack:\n%s", tc.to.splits, i, res.Code, tail(res.Stderr, 20))
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			for i, p := range procs {
				p.Signal(t, syscall.SIGKILL)
				res := p.Wait(t)
				if res.Signal != "killed" {
					t.Fatalf("run 2, shard %d: not killed (exit %d): it ended first:\n%s", i, res.Code, tail(res.Stderr, 20))
				}
				// A shard whose finished rows another shard's new run
				// already overwrote in part finds no checkpoint of its
				// own (pager.CassandraStore.Load returns nil) and starts
				// without saying so; a single process always says it.
				if said := strings.Contains(res.Stderr, "the previous run of this stream completed; starting a new run"); !said && tc.to.shards == 1 {
					t.Errorf("run 2 did not say it starts a new run:\n%s", tail(res.Stderr, 20))
				}
			}
			killed := storePlanRuns(t, stream)
			t.Logf("run 2 killed after %s; runs %v (run 1: %v)", time.Since(begin).Round(time.Millisecond), killed, first)

			// 3. The same plan again: the killed run resumes and finishes.
			procs, outs = storePlanProcs(t, dir, stream, tc.to, 0)
			for i, p := range procs {
				res := p.Wait(t)
				if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
					t.Fatalf("run 3 (%d splits), shard %d: exit %d, want 0 and a resume:\n%s", tc.to.splits, i, res.Code, tail(res.Stderr, 20))
				}
			}
			storePlanSame(t, fmt.Sprintf("run 3 (%d splits, %d shards) after the kill", tc.to.splits, tc.to.shards), storePlanOutput(t, outs), clean)
			runs := storePlanRuns(t, stream)
			if len(runs) != tc.to.shards {
				t.Fatalf("after run 3 the table has the rows of shards %v, want %d shards: the rows of run 1's other shards are left", runs, tc.to.shards)
			}
			for i := range tc.to.shards {
				if runs[i].run == "" || runs[i].run != killed[i].run || runs[i].run == first[i].run {
					t.Fatalf("shard %d: run 1 was %q, run 2 %q, run 3 %q: want run 3 to carry on run 2 (a run id of its own)", i, first[i].run, killed[i].run, runs[i].run)
				}
			}
		})
	}
}

// storePlanClean is a clean run's output of the table (one split, one worker).
func storePlanClean(t *testing.T) []byte {
	t.Helper()
	return clean(t, storePlanTable, storePlanRows, "jsonl", storePlanPage)
}
