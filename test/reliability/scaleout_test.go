package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/pager"
)

// Issue 15: the Kubernetes Indexed Job, on one machine. N = 4 sluice
// processes share one config (shard = "auto/4", as from a ConfigMap) and
// one output directory (a shared volume; each writes scan-{shard}.jsonl),
// and differ only in JOB_COMPLETION_INDEX, as the pods of the Job do; the
// checkpoints and leases are in Cassandra. Mid-run, two are killed with
// SIGKILL and restarted (as the Job controller replaces a failed pod), and
// duplicates of two indexes are started while the originals run (as
// Kubernetes can briefly run two pods for one index): one with
// lease_wait = 0, which the fence must refuse; one that waits, which must
// find its shard completed by the original and do nothing. Afterwards the
// union of the outputs must equal a single-process scan (every id exactly
// once, the same lines), and sluice verify must find the scan complete,
// covering the ring once, with no range differing.

const (
	scaleTable   = "events_50k"
	scaleRows    = 50_000
	scalePage    = 1000 // 50 pages: about 12 per shard
	scaleShards  = 4
	scaleCPTable = "rel_scaleout_checkpoints"
	scaleStream  = "scaleout"
)

func scaleConfig(t *testing.T, dir, name, leaseWait string, rate float64) string {
	return cfg{Store: "cassandra", CPTable: scaleCPTable, EveryPages: 1, LeaseTTL: "8s", LeaseWait: leaseWait, Streams: []streamCfg{{
		Name: scaleStream, Shard: fmt.Sprintf("auto/%d", scaleShards), Table: scaleTable, PageSize: scalePage, Concurrency: 2, Splits: 8, RatePages: rate,
		Sinks: []sinkCfg{{Format: "jsonl", Path: "out/scan-{shard}.jsonl"}},
	}}}.Write(t, dir, name)
}

// scalePages returns the pages each shard's checkpoint holds (read with
// plain CQL).
func scalePages(t *testing.T) map[int]int64 {
	t.Helper()
	it := session(t).Query("SELECT split, page_count FROM "+ks+"."+scaleCPTable+" WHERE stream = ?", scaleStream).Iter()
	out := map[int]int64{}
	var split int
	var pages int64
	for it.Scan(&split, &pages) {
		if split >= 0 {
			out[split%scaleShards] += pages
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func index(i int) []string { return []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)} }

func TestScaleOutIndexedJob(t *testing.T) {
	ensureEvents(t, scaleTable, scaleRows)
	s := session(t)
	ctx := ctxT(t)
	// A fresh start: this stream's checkpoints and leases.
	st, err := pager.NewCassandraStore(ctx, s, ks, scaleCPTable, pager.Shard{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, scaleStream); err != nil {
		t.Fatal(err)
	}
	if _, err := pager.NewCassandraLeases(ctx, s, ks, "", 0); err != nil {
		t.Fatal(err)
	}
	for i := range scaleShards {
		if err := s.Query("DELETE FROM "+ks+"."+pager.LeaseTable+" WHERE name = ?", pager.LeaseName(scaleStream, pager.Shard{Index: i, Count: scaleShards})).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	job := scaleConfig(t, dir, "job.toml", "20s", 2)        // the Job's ConfigMap: ~6 s per shard
	noWait := scaleConfig(t, dir, "nowait.toml", "0s", 2)   // a duplicate that must be refused
	patient := scaleConfig(t, dir, "patient.toml", "1m", 2) // a duplicate that waits

	begin := time.Now()
	procs := make([]*proc, scaleShards)
	for i := range procs {
		procs[i] = start(t, dir, index(i), "run", "-config", job)
	}
	// Wait until shards 0 and 2 have saved a few pages each.
	for {
		p := scalePages(t)
		if p[0] >= 3 && p[2] >= 3 {
			break
		}
		for i, pr := range procs {
			if pr.Exited() {
				res := pr.Wait(t)
				t.Fatalf("index %d ended (exit %d) before the kill:\n%s", i, res.Code, tail(res.Stderr, 20))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Duplicates while the originals run.
	refused := run(t, dir, index(1), "run", "-config", noWait)
	if refused.Code == 0 || !strings.Contains(refused.Stderr, `is held by`) || !strings.Contains(refused.Stderr, "refusing to run it twice") {
		t.Fatalf("the duplicate of index 1 was not refused by the fence (exit %d):\n%s", refused.Code, tail(refused.Stderr, 20))
	}
	waiter := start(t, dir, index(3), "run", "-config", patient)

	// SIGKILL indexes 0 and 2, then check that verify refuses the
	// unfinished scan, then restart them as the Job controller would.
	for _, i := range []int{0, 2} {
		procs[i].Signal(t, syscall.SIGKILL)
		if res := procs[i].Wait(t); res.Signal != "killed" {
			t.Fatalf("index %d: not killed (exit %d): it ended first:\n%s", i, res.Code, tail(res.Stderr, 20))
		}
	}
	killedAt := scalePages(t)
	inc := run(t, dir, nil, "verify", "-config", job, "-no-reread")
	if inc.Code != 1 || !strings.Contains(inc.Stdout, "shard 0/4 is unfinished") || !strings.Contains(inc.Stdout, "not verified") {
		t.Fatalf("verify of the unfinished scan: exit %d, want 1 naming shard 0/4:\n%s\n%s", inc.Code, inc.Stdout, tail(inc.Stderr, 10))
	}
	for _, i := range []int{0, 2} {
		procs[i] = start(t, dir, index(i), "run", "-config", job)
	}
	for i, pr := range procs {
		res := pr.Wait(t)
		if res.Code != 0 {
			t.Fatalf("index %d: exit %d:\n%s", i, res.Code, tail(res.Stderr, 20))
		}
		if (i == 0 || i == 2) && !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
			t.Fatalf("restarted index %d did not resume:\n%s", i, tail(res.Stderr, 20))
		}
	}
	wres := waiter.Wait(t)
	if wres.Code != 0 || !strings.Contains(wres.Stderr, "another process completed this shard while this one waited for its lease") {
		t.Fatalf("the waiting duplicate of index 3: exit %d, want 0 and nothing done:\n%s", wres.Code, tail(wres.Stderr, 20))
	}
	elapsed := time.Since(begin)

	// The union of the four outputs (the refused and the waiting
	// duplicates wrote none of their own: they share the originals'
	// paths, and the fence let neither open them).
	files, err := filepath.Glob(filepath.Join(dir, "out", "scan-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	want := []string{}
	for i := range scaleShards {
		want = append(want, filepath.Join(dir, "out", fmt.Sprintf("scan-%d-of-%d.jsonl", i, scaleShards)))
	}
	if strings.Join(files, ",") != strings.Join(want, ",") {
		t.Fatalf("output files %v, want %v", files, want)
	}
	var union []byte
	for _, f := range files {
		union = append(union, readFile(t, f)...)
	}
	ids := jsonlIDs(t, union)
	checkIDs(t, ids, scaleRows) // no row lost, none doubled
	single := clean(t, scaleTable, scaleRows, "jsonl", scalePage)
	if multisetSum(union) != multisetSum(single) {
		t.Fatalf("the union of the shards' lines differs from a single-process scan (sorted sha %s, single %s)", multisetSum(union), multisetSum(single))
	}

	// verify: complete, the ring once, nothing differs; then split in two
	// parts as two pods of a verify Job.
	v := run(t, dir, nil, "verify", "-config", job)
	if v.Code != 0 || !strings.Contains(v.Stdout, "the splits cover the token ring exactly once") || !strings.Contains(v.Stdout, "0 range(s) differ") ||
		!strings.Contains(v.Stdout, fmt.Sprintf("%d rows now, %d when scanned", scaleRows, scaleRows)) {
		t.Fatalf("verify: exit %d:\n%s\n%s", v.Code, v.Stdout, tail(v.Stderr, 10))
	}
	for i := range 2 {
		vp := run(t, dir, index(i), "verify", "-config", job, "-part", "auto/2")
		if vp.Code != 0 || !strings.Contains(vp.Stdout, "re-read 4 splits (verify part "+fmt.Sprintf("%d/2", i)) {
			t.Fatalf("verify part %d/2: exit %d:\n%s\n%s", i, vp.Code, vp.Stdout, tail(vp.Stderr, 10))
		}
	}
	t.Logf("4 indexes, 0 and 2 killed at %v pages and restarted, duplicates of 1 (refused) and 3 (waited, nothing to do): %s; %d rows, 0 lost, 0 doubled",
		killedAt, elapsed.Round(time.Millisecond), len(ids))
	if os.Getenv("SLUICE_SCALEOUT_LOG") != "" {
		t.Logf("verify report:\n%s", v.Stdout)
	}
}

// The fence end to end: while index 0 runs, its lease is stolen with plain
// CQL (as an operator or a second pod that found it expired would hold
// it). Within one renewal (TTL/4 = 2 s) the process stops with "fence:
// lost the lease", exit 1, and saves no checkpoint after that: the shard's
// checkpoint stops moving. The thief's row is left alone, and once it is
// gone a rerun resumes and completes the shard exactly.
func TestScaleOutLeaseStolenMidRun(t *testing.T) {
	ensureEvents(t, scaleTable, scaleRows)
	s := session(t)
	ctx := ctxT(t)
	const stream = "scaleout_stolen"
	st, err := pager.NewCassandraStore(ctx, s, ks, scaleCPTable, pager.Shard{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, stream); err != nil {
		t.Fatal(err)
	}
	lease := pager.LeaseName(stream, pager.Shard{Index: 0, Count: 2})
	if _, err := pager.NewCassandraLeases(ctx, s, ks, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Query("DELETE FROM "+ks+"."+pager.LeaseTable+" WHERE name = ?", lease).Exec(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := func(name string, rate float64) string {
		return cfg{Store: "cassandra", CPTable: scaleCPTable, EveryPages: 1, LeaseTTL: "8s", LeaseWait: "20s", Streams: []streamCfg{{
			Name: stream, Shard: "auto/2", Table: scaleTable, PageSize: scalePage, Concurrency: 2, Splits: 8, RatePages: rate,
			Sinks: []sinkCfg{{Format: "jsonl", Path: "out/{shard}.jsonl"}},
		}}}.Write(t, dir, name)
	}
	path := conf("stolen.toml", 2)
	fast := conf("fast.toml", 0) // the same stream without the rate limit, for the reruns
	pages := func() (n int64) {
		it := s.Query("SELECT split, page_count FROM "+ks+"."+scaleCPTable+" WHERE stream = ?", stream).Iter()
		var split int
		var p int64
		for it.Scan(&split, &p) {
			if split >= 0 && split%2 == 0 {
				n += p
			}
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	p := start(t, dir, index(0), "run", "-config", path)
	for pages() < 3 {
		if p.Exited() {
			res := p.Wait(t)
			t.Fatalf("ended before the steal (exit %d):\n%s", res.Code, tail(res.Stderr, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stolenAt := time.Now()
	if err := s.Query("UPDATE "+ks+"."+pager.LeaseTable+" USING TTL 4 SET holder = 'thief' WHERE name = ?", lease).Exec(); err != nil {
		t.Fatal(err)
	}
	atSteal := pages()
	res := p.Wait(t)
	stopped := time.Since(stolenAt)
	if res.Code != 1 || !strings.Contains(res.Stderr, "fence: lost the lease") || !strings.Contains(res.Stderr, `now held by \"thief\"`) && !strings.Contains(res.Stderr, `now held by "thief"`) {
		t.Fatalf("after the steal: exit %d, want 1 and the fence's error:\n%s", res.Code, tail(res.Stderr, 20))
	}
	after := pages()
	// A renewal every 2 s at 2 pages/s: at most ~4 pages between the
	// steal and the renewer's verdict (a plain-CQL steal bypasses the
	// lightweight transactions; a process taking the lease by LWT can
	// only do so after the holder's local deadline), none after it.
	if after-atSteal > 6 {
		t.Fatalf("the stale holder saved %d more pages after its lease was stolen (stopped after %s)", after-atSteal, stopped)
	}
	time.Sleep(time.Second)
	if again := pages(); again != after {
		t.Fatalf("the checkpoint moved after the process ended: %d → %d", after, again)
	}
	var holder string
	if err := s.Query("SELECT holder FROM "+ks+"."+pager.LeaseTable+" WHERE name = ?", lease).Scan(&holder); err != nil || holder != "thief" {
		t.Fatalf("the thief's lease: holder %q, %v", holder, err)
	}
	t.Logf("lease stolen after %d pages; the holder stopped %s later, with %d pages saved (+%d)", atSteal, stopped.Round(time.Millisecond), after, after-atSteal)

	// The thief's row expires (TTL 4 s); a rerun waits for it and resumes.
	res = run(t, dir, index(0), "run", "-config", fast)
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("rerun: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	res = run(t, dir, index(1), "run", "-config", fast)
	if res.Code != 0 {
		t.Fatalf("index 1: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	var union []byte
	for _, f := range []string{"0-of-2", "1-of-2"} {
		union = append(union, readFile(t, filepath.Join(dir, "out", f+".jsonl"))...)
	}
	checkIDs(t, jsonlIDs(t, union), scaleRows)
	v := run(t, dir, nil, "verify", "-config", path)
	if v.Code != 0 || !strings.Contains(v.Stdout, "0 range(s) differ") {
		t.Fatalf("verify: exit %d:\n%s\n%s", v.Code, v.Stdout, tail(v.Stderr, 10))
	}
}

// verify against the real node on a table that changes after the scan:
// one row updated and one deleted (with plain CQL) are reported as the
// ranges holding them — a digest difference and a count difference —
// with exit 1; the other ranges are identical.
func TestVerifyFindsChangedRanges(t *testing.T) {
	s := session(t)
	ctx := ctxT(t)
	const table, stream, n = "verify_changes", "verify_changes", 3000
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + ks + "." + table,
		"CREATE TABLE " + ks + "." + table + " (id int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	parallel(t, n, func(i int) error {
		return s.Query("INSERT INTO "+ks+"."+table+" (id, v) VALUES (?, ?)", i, fmt.Sprintf("value %d", i)).Exec()
	})
	st, err := pager.NewCassandraStore(ctx, s, ks, scaleCPTable, pager.Shard{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, stream); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := cfg{Store: "cassandra", CPTable: scaleCPTable, EveryPages: 1, Streams: []streamCfg{{
		Name: stream, Shard: "auto/2", Table: table, PageSize: 500, Concurrency: 2, Splits: 8,
		Sinks: []sinkCfg{{Format: "jsonl", Path: "out/{shard}.jsonl"}},
	}}}.Write(t, dir, "v.toml")
	for i := range 2 {
		if res := run(t, dir, index(i), "run", "-config", path); res.Code != 0 {
			t.Fatalf("index %d: exit %d:\n%s", i, res.Code, tail(res.Stderr, 20))
		}
	}
	v := run(t, dir, nil, "verify", "-config", path)
	if v.Code != 0 || !strings.Contains(v.Stdout, "0 range(s) differ") {
		t.Fatalf("verify before the changes: exit %d:\n%s%s", v.Code, v.Stdout, tail(v.Stderr, 10))
	}
	var tokUpd, tokDel int64
	if err := s.Query("SELECT token(id) FROM " + ks + "." + table + " WHERE id = 17").Scan(&tokUpd); err != nil {
		t.Fatal(err)
	}
	if err := s.Query("SELECT token(id) FROM " + ks + "." + table + " WHERE id = 2500").Scan(&tokDel); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE " + ks + "." + table + " SET v = 'changed' WHERE id = 17",
		"DELETE FROM " + ks + "." + table + " WHERE id = 2500",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	v = run(t, dir, nil, "verify", "-config", path)
	if v.Code != 1 || strings.Count(v.Stdout, "DIFFERS:") < 1 || !strings.Contains(v.Stdout, fmt.Sprintf("%d rows now, %d when scanned", n-1, n)) {
		t.Fatalf("verify after the changes: exit %d, want 1:\n%s%s", v.Code, v.Stdout, tail(v.Stderr, 10))
	}
	// Each changed row's token is inside a reported range: (lo, hi].
	for _, tok := range []int64{tokUpd, tokDel} {
		found := false
		for _, l := range strings.Split(v.Stdout, "\n") {
			var idx int
			var lo, hi int64
			if _, err := fmt.Sscanf(strings.TrimSpace(l), "DIFFERS: split %d (%d, %d]", &idx, &lo, &hi); err == nil && lo < tok && tok <= hi {
				found = true
			}
		}
		if !found {
			t.Fatalf("no reported range holds token %d:\n%s", tok, v.Stdout)
		}
	}
	if !strings.Contains(v.Stdout, "(-1)") || !strings.Contains(v.Stdout, "digest ") {
		t.Fatalf("want a count difference (-1) and a digest difference:\n%s", v.Stdout)
	}
	t.Logf("verify after an update and a delete:\n%s", v.Stdout)
}
