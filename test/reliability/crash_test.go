package reliability

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// Exactly once with two workers and an aggregating plugin (issue 11).
//
// One stream reads a 100k-row table over 5 token-range splits with two
// workers, through count_by (counts the rows per customer, keeps its counts
// across restarts in the checkpoint, emits them at the end of the stream).
// The rows pass through to a first file sink; count_by's flush goes to a
// named output, "counts", which a second file sink takes. sluice is
// SIGKILLed at 10 points of the stream, each in the next run (a rerun
// resumes from the checkpoint the kill left), then run to completion. The
// rows file must hold the clean run's lines (in another order: two workers
// interleave pages), and the counts, summed per customer over every flushed
// row, must equal the clean run's and the table's: a worker's counts
// flushed twice, or lost, shows as a wrong sum.

const (
	crashStream = "crash"
	crashTable  = "events_100k"
	crashRows   = 100_000
	crashPage   = 1000 // ~210 KB of JSON per page; 100 pages in all
	// 5 splits on 2 workers: an odd count, so the last split is read
	// alone for about a fifth of the stream while the other worker has
	// nothing left to read (and, in an engine that flushes a worker at
	// the end of its own splits, has flushed).
	crashSplits = 5
	crashConc   = 2
	// A checkpoint every 7 pages: ~1.5 MB of JSON, more than the file
	// sink's 1 MiB buffer, so rows reach the disk between two checkpoints
	// (a torn tail at a kill); and 3 checkpoints fall in the last fifth.
	crashEvery  = 7
	crashRate   = 25 // pages/s: one interval takes ~280 ms
	crashColumn = "customer"
)

// countByWasm is the C build of the count_by example (the smallest module;
// every build behaves the same, plugins/examples/README.md).
var countByWasm = filepath.Join(e2e.RepoRoot, "plugins", "examples", "count_by", "c", "count_by.wasm")

// crashConfig is the stream of TestCrashExactlyOnce, writing its rows and
// counts into dir.
func crashConfig(dir string, rate float64) cfg {
	return cfg{EveryPages: crashEvery, Streams: []streamCfg{{
		Name: crashStream, Table: crashTable, PageSize: crashPage,
		Splits: crashSplits, Concurrency: crashConc, RatePages: rate,
		Plugins: []pluginCfg{{Path: countByWasm, Config: map[string]string{"column": crashColumn, "output": "counts"}}},
		Sinks: []sinkCfg{
			{Name: "rows", Format: "jsonl", Path: filepath.Join(dir, "rows.jsonl")},
			{Name: "counts", Format: "jsonl", Path: filepath.Join(dir, "counts.jsonl"), Outputs: []string{"counts"}},
		},
	}}}
}

// crashState is what a test can see of a run from outside: its stream's
// last checkpoint and the size of the rows file.
type crashState struct {
	cp        bool   // a checkpoint exists
	pages     uint64 // pages committed, over every split and run
	done      int    // splits finished
	splits    int    // splits in the checkpoint
	complete  bool   // every split finished
	rowsOff   int64  // offset of the rows sink in the checkpoint
	countsOff int64  // offset of the counts sink in the checkpoint
	rowsSize  int64  // size of the rows file on disk
}

// oneLeft reports whether at most one split is still being read, so one of
// the two workers has nothing left to read.
func (s crashState) oneLeft() bool { return s.cp && !s.complete && s.done >= crashSplits-1 }

// torn reports whether the rows file holds rows written after the checkpoint.
func (s crashState) torn() bool { return s.rowsSize > s.rowsOff }

func (s crashState) String() string {
	if !s.cp {
		return fmt.Sprintf("no checkpoint, rows file %d bytes", s.rowsSize)
	}
	return fmt.Sprintf("checkpoint %d pages, %d/%d splits done, rows offset %d (file %d bytes), counts offset %d",
		s.pages, s.done, s.splits, s.rowsOff, s.rowsSize, s.countsOff)
}

// readCrashState reads the state of stream in dir.
func readCrashState(dir, stream string) crashState {
	st := crashState{rowsSize: fileSize(filepath.Join(dir, "rows.jsonl"))}
	cp, ok := readCheckpoint(dir, stream)
	if !ok {
		return st
	}
	st.cp, st.splits, st.complete = true, len(cp.Positions), cp.Done()
	for _, p := range cp.Positions {
		st.pages += p.Pages
		if p.Done {
			st.done++
		}
	}
	st.rowsOff = fileOffset(cp, "rows")
	st.countsOff = fileOffset(cp, "counts")
	return st
}

// runFiles are what a run of the crash stream leaves in its directory.
var runFiles = []string{"checkpoints", "rows.jsonl", "counts.jsonl"}

// copyRun replaces the run files of to with those of from (a snapshot
// directory, or the run's own).
func copyRun(t *testing.T, from, to string) {
	t.Helper()
	for _, f := range runFiles {
		src, dst := filepath.Join(from, f), filepath.Join(to, f)
		if err := os.RemoveAll(dst); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(src)
		switch {
		case os.IsNotExist(err):
			continue
		case err != nil:
			t.Fatal(err)
		case fi.IsDir():
			err = os.CopyFS(dst, os.DirFS(src))
		default:
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readCheckpoint reads stream's file checkpoint of a run in dir.
func readCheckpoint(dir, stream string) (*pager.Checkpoint, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", stream+".checkpoint.json"))
	if err != nil {
		return nil, false
	}
	var cp pager.Checkpoint
	if json.Unmarshal(b, &cp) != nil {
		return nil, false
	}
	return &cp, true
}

// fileOffset is the offset a checkpoint holds for the file sink named sink
// (0 when it holds none): 'F', the format, then the size, big-endian.
func fileOffset(cp *pager.Checkpoint, sink string) int64 {
	off := cp.Extra["sink/"+sink]
	if len(off) != 10 || off[0] != 'F' {
		return 0
	}
	return int64(binary.BigEndian.Uint64(off[2:]))
}

// crashPoint is one kill point: the run is killed once ready holds (given
// the state when the run started and now): at once (atCheckpoint), after a
// random part of an interval (midInterval), or once the rows file holds
// rows past the checkpoint (tornTail).
type crashPoint struct {
	what  string
	ready func(start, now crashState) bool
	mode  killMode
}

// TestCrashExactlyOnce SIGKILLs a two-worker stream through count_by at 10
// points, resuming after each, and compares the result with a clean run
// and with the table.
func TestCrashExactlyOnce(t *testing.T) {
	ensureEvents(t, crashTable, crashRows)
	truth := trueCounts(t, crashTable, crashColumn)

	// The clean run: the same stream without the rate limit (which only
	// paces it), uninterrupted.
	cleanDir := t.TempDir()
	res := run(t, cleanDir, nil, "run", "-config", crashConfig(cleanDir, 0).Write(t, cleanDir, "sluice.toml"))
	if res.Code != 0 {
		t.Fatalf("clean run: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	cleanRows := readFile(t, filepath.Join(cleanDir, "rows.jsonl"))
	cleanCounts := parseCounts(t, readFile(t, filepath.Join(cleanDir, "counts.jsonl")))
	checkIDs(t, jsonlIDs(t, cleanRows), crashRows)
	sameCounts(t, "clean run", cleanCounts, truth)
	total := readCrashState(cleanDir, crashStream).pages
	if total < 12*crashEvery {
		t.Fatalf("the clean run read %d pages; the kill points need at least %d", total, 12*crashEvery)
	}

	page := func(n uint64) func(start, now crashState) bool {
		return func(_, now crashState) bool { return now.pages >= n }
	}
	// saved says a checkpoint was written by this run.
	saved := func(start, now crashState) bool { return now.pages > start.pages }
	points := []crashPoint{
		{"before any checkpoint, rows on disk", func(_, now crashState) bool { return !now.cp && now.rowsSize > 0 }, atCheckpoint},
		{"at the first checkpoint", page(crashEvery), atCheckpoint},
		{"mid interval", page(2 * crashEvery), midInterval},
		{"rows written after the checkpoint", page(3 * crashEvery), tornTail},
		{"at a checkpoint", page(5 * crashEvery), atCheckpoint},
		{"mid interval", page(7 * crashEvery), midInterval},
		{"rows written after the checkpoint", page(9 * crashEvery), tornTail},
		// One worker has read all its splits (and, in an engine that
		// flushes a worker then, its counts are committed) while the
		// other still reads: killed at the first such checkpoint, then,
		// in the next run, after rows were written past it.
		{"one worker finished, at a checkpoint", func(start, now crashState) bool { return saved(start, now) && now.oneLeft() }, atCheckpoint},
		{"one worker finished, rows written after the checkpoint", func(_, now crashState) bool { return now.oneLeft() }, tornTail},
		{"close to the end", func(start, now crashState) bool {
			return saved(start, now) && !now.complete && now.pages+crashEvery >= total
		}, atCheckpoint},
	}

	dir := t.TempDir()
	path := crashConfig(dir, crashRate).Write(t, dir, "sluice.toml")
	var kills []crashState
	early := 0 // attempts at kill point 1 that a checkpoint beat
	// The last three points need the lone reader to read at least three
	// intervals. How long it reads alone depends on how the two readers
	// shared the pages before (seen: 18 pages on one machine, 4 on a
	// loaded one). When it proves too short, the files are put back as
	// they were before the first of them and the three are tried again.
	const firstLone = 7 // index of the first of them
	snap := t.TempDir()
	tries := 0
	retryLone := func(i int, why string) bool {
		if i < firstLone || tries >= 3 {
			return false
		}
		tries++
		t.Logf("kill point %d: %s; the lone reader read too little: points %d-%d again from the state before point %d (try %d)",
			i+1, why, firstLone+1, len(points), firstLone+1, tries+1)
		copyRun(t, snap, dir)
		kills = kills[:firstLone]
		return true
	}
	for i := 0; i < len(points); i++ {
		kp := points[i]
		if i == firstLone && tries == 0 {
			copyRun(t, dir, snap)
		}
		startState := readCrashState(dir, crashStream)
		// The rows past the checkpoint that the last kill left count
		// only once this run has cut them off (a smaller file, or a
		// checkpoint of its own, which it writes after the cut).
		restored := !startState.torn()
		seen := func(now crashState) {
			restored = restored || !now.torn() || now.pages > startState.pages
		}
		p := start(t, dir, nil, "run", "-config", path)
		now, ok := waitState(p, dir, func(now crashState) bool {
			seen(now)
			if i == 0 && now.cp {
				return true // too late: fail below
			}
			return kp.ready(startState, now)
		})
		if !ok {
			res := p.Wait(t)
			if res.Code == 0 && retryLone(i, "the run ended before it was reached") {
				i = firstLone - 1
				continue
			}
			t.Fatalf("kill point %d (%s): the run ended (exit %d) before it was reached; last state: %s\n%s",
				i+1, kp.what, res.Code, readCrashState(dir, crashStream), tail(res.Stderr, 20))
		}
		if i == 0 && now.cp {
			// The first rows reached the disk in the same burst as the
			// first checkpoint (the window is ~2 pages): start over.
			p.Signal(t, syscall.SIGKILL)
			p.Wait(t)
			if early++; early == 5 {
				t.Fatalf("kill point 1 (%s): in %d runs, the first checkpoint was saved before rows were seen on disk (%s)", kp.what, early, now)
			}
			t.Logf("kill point 1 (%s): the first checkpoint came first (%s); starting over", kp.what, now)
			for _, f := range runFiles {
				if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			i--
			continue
		}
		switch kp.mode {
		case midInterval:
			// Up to two thirds of an interval (7 pages at 25 pages/s).
			time.Sleep(time.Duration(rand.IntN(180)) * time.Millisecond)
		case tornTail:
			now, _ = waitState(p, dir, func(now crashState) bool {
				seen(now)
				return restored && now.torn()
			})
		}
		now = readCrashState(dir, crashStream)
		if p.Exited() {
			res := p.Wait(t)
			if res.Code == 0 && retryLone(i, "the run ended before the kill") {
				i = firstLone - 1
				continue
			}
			t.Fatalf("kill point %d (%s): the run ended (exit %d) before the kill; state: %s\n%s",
				i+1, kp.what, res.Code, now, tail(res.Stderr, 20))
		}
		p.Signal(t, syscall.SIGKILL)
		res := p.Wait(t)
		if res.Signal != "killed" {
			t.Fatalf("kill point %d (%s): the run was not killed (exit %d, %s): it ended first:\n%s", i+1, kp.what, res.Code, res.Signal, tail(res.Stderr, 20))
		}
		if c := crashed(res.Stderr); c != "" {
			t.Fatalf("kill point %d (%s): sluice crashed (%q) before the kill:\n%s", i+1, kp.what, c, tail(res.Stderr, 40))
		}
		if kp.mode == tornTail && !now.torn() {
			t.Errorf("kill point %d (%s): the file held no rows past the checkpoint at the kill (%s)", i+1, kp.what, now)
		}
		kills = append(kills, now)
		t.Logf("SIGKILL %d (%s): %s", i+1, kp.what, now)
	}

	res = run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("final run: exit %d, want 0 and a resume:\n%s", res.Code, tail(res.Stderr, 20))
	}

	// The kills landed where they were meant to.
	var torn, lone, flushed int
	for _, k := range kills {
		if k.torn() {
			torn++
		}
		if k.oneLeft() {
			lone++
			if k.countsOff > 0 {
				flushed++
			}
		}
	}
	if torn < 3 || lone < 2 {
		t.Errorf("of %d kills, %d hit rows past the checkpoint (want 3) and %d one finished worker (want 2)", len(kills), torn, lone)
	}
	// An engine that flushes a worker as soon as it has read its splits
	// commits that worker's counts before the end: then some of the kills
	// with one worker finished come after its flush. One that flushes
	// every worker at the end of the stream never does.
	t.Logf("%d SIGKILLs: %d with rows past the checkpoint, %d with one worker finished, %d of them after a flush of counts was checkpointed", len(kills), torn, lone, flushed)

	// The rows: every row once, the clean run's lines in another order.
	rows := readFile(t, filepath.Join(dir, "rows.jsonl"))
	checkIDs(t, jsonlIDs(t, rows), crashRows)
	sameLines(t, "rows after 10 SIGKILLs", rows, cleanRows)

	// The counts: per customer, the sum over every flushed row equals the
	// clean run's and the table's.
	counts := parseCounts(t, readFile(t, filepath.Join(dir, "counts.jsonl")))
	sameCounts(t, "counts after 10 SIGKILLs, against the clean run", counts, cleanCounts)
	sameCounts(t, "counts after 10 SIGKILLs, against the table", counts, truth)
}

// waitState polls the state of the crash stream in dir until cond holds
// (true) or the process ends (false).
func waitState(p *proc, dir string, cond func(crashState) bool) (crashState, bool) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		st := readCrashState(dir, crashStream)
		if cond(st) {
			return st, true
		}
		if p.Exited() {
			return st, false
		}
		time.Sleep(time.Millisecond)
	}
	return readCrashState(dir, crashStream), false
}

// nullKey stands for the NULL value in count maps.
const nullKey = "\x00NULL"

// counts maps a value (nullKey for NULL) to its count.
type counts map[string]int64

// trueCounts counts the rows of table per value of the text column, read
// straight from Cassandra.
func trueCounts(t *testing.T, table, column string) counts {
	t.Helper()
	iter := session(t).Query(fmt.Sprintf("SELECT %s FROM %s.%s", column, ks, table)).PageSize(5000).Iter()
	c := counts{}
	var v *string
	for iter.Scan(&v) {
		if v == nil {
			c[nullKey]++
		} else {
			c[*v]++
		}
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("read %s.%s: %v", ks, table, err)
	}
	return c
}

// parseCounts sums count_by's flushed rows, (value text, count bigint) in
// JSONL, per value: each worker flushes its own counts, so a value may
// appear on several rows.
func parseCounts(t *testing.T, b []byte) counts {
	t.Helper()
	c := counts{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		var row struct {
			Value *string `json:"value"`
			Count *int64  `json:"count"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.Count == nil || *row.Count < 1 {
			t.Fatalf("counts line %d is not a (value, count) row: %v: %.200s", n, err, sc.Text())
		}
		k := nullKey
		if row.Value != nil {
			k = *row.Value
		}
		c[k] += *row.Count
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// sameCounts fails unless got and want hold the same count for every
// value, listing the values counted exactly twice, too often and too
// rarely.
func sameCounts(t *testing.T, what string, got, want counts) {
	t.Helper()
	var doubled, more, fewer []string
	var gotSum, wantSum int64
	keys := map[string]bool{}
	for k, n := range got {
		keys[k] = true
		gotSum += n
	}
	for k, n := range want {
		keys[k] = true
		wantSum += n
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		g, w := got[k], want[k]
		d := fmt.Sprintf("%q: %d, want %d", k, g, w)
		switch {
		case g == w:
		case w > 0 && g == 2*w:
			doubled = append(doubled, d)
		case g > w:
			more = append(more, d)
		default:
			fewer = append(fewer, d)
		}
	}
	if len(doubled)+len(more)+len(fewer) == 0 {
		return
	}
	msg := fmt.Sprintf("%s: %d values, %d rows counted; want %d values, %d rows", what, len(got), gotSum, len(want), wantSum)
	for _, l := range []struct {
		what string
		l    []string
	}{{"counted twice", doubled}, {"counted too often", more}, {"counted too rarely", fewer}} {
		if len(l.l) > 0 {
			msg += fmt.Sprintf("\n%d values %s: %s", len(l.l), l.what, strings.Join(l.l[:min(8, len(l.l))], "; "))
			if len(l.l) > 8 {
				msg += fmt.Sprintf("; … (%d more)", len(l.l)-8)
			}
		}
	}
	t.Error(msg)
}

// sameLines fails unless got and want hold the same lines, in any order.
func sameLines(t *testing.T, what string, got, want []byte) {
	t.Helper()
	g, w := sortedLines(got), sortedLines(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d lines, the clean run has %d", what, len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("%s: the lines differ from the clean run's (sorted, first difference at line %d):\n got: %.200q\nwant: %.200q", what, i+1, g[i], w[i])
		}
	}
}

func sortedLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	sort.Strings(lines)
	return lines
}
