package follow

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

const (
	table       = "events_follow"
	stream      = "follow"
	bucketWidth = 10 * time.Second
	lateness    = 5 * time.Second
)

var countByWasm = filepath.Join(e2e.RepoRoot, "plugins", "examples", "count_by", "c", "count_by.wasm")

// createTable (re)creates the events table: hourly-style buckets shrunk to
// bucketWidth (bigint epoch buckets) with two shards, clustered by ts.
func createTable(t *testing.T, name string) {
	t.Helper()
	s := e2e.Session(t)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+"."+name)
	testutil.Exec(t, s, "CREATE TABLE "+ks+"."+name+" (bucket bigint, shard int, ts timestamp, id int, payload text, PRIMARY KEY ((bucket, shard), ts, id))")
}

// followConfig is the stream under test (extra: more [stream.source] keys): rows to rows.jsonl, count_by's
// per-bucket counts (flushed when each bucket closes) to counts.jsonl.
func followConfig(t *testing.T, dir, tbl string, start time.Time, extra string) string {
	t.Helper()
	c := fmt.Sprintf(`[cassandra]
hosts = [%q]
keyspace = %q

[runtime]
cache_dir = %q
progress = "off"

[checkpoint]
store = "file"
dir = %q
interval = "200ms"

[[stream]]
name = %q
  [stream.source]
  mode = "follow"
  table = %q
  page_size = 1000
%s
    [stream.source.follow]
    time_column = "ts"
    bucket_columns = ["bucket"]
    bucket_formats = ["epoch"]
    bucket_width = %q
    shard_column = "shard"
    shards = 2
    start = %q
    lateness = %q
    interval = "250ms"
  [[stream.plugin]]
  path = %q
    [stream.plugin.config]
    column = "bucket"
    output = "counts"

  [[stream.sink]]
  name = "rows"
  type = "file"
  path = %q

  [[stream.sink]]
  name = "counts"
  type = "file"
  path = %q
  outputs = ["counts"]
`, testutil.Host(), ks, e2e.WasmCache(), filepath.Join(dir, "checkpoints"), stream, tbl, extra,
		bucketWidth.String(), start.UTC().Format(time.RFC3339Nano), lateness.String(), countByWasm,
		filepath.Join(dir, "rows.jsonl"), filepath.Join(dir, "counts.jsonl"))
	path := filepath.Join(dir, "sluice.toml")
	if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mark is the follow cursor of the stream's last checkpoint in dir.
func mark(dir string) (follow.Mark, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", stream+".checkpoint.json"))
	if err != nil {
		return follow.Mark{}, false
	}
	var cp pager.Checkpoint
	if json.Unmarshal(b, &cp) != nil || len(cp.Positions) != 1 {
		return follow.Mark{}, false
	}
	m, err := follow.MarkOf(cp.Positions[0].PageState)
	return m, err == nil && m.Polls > 0
}

// writer inserts n events at about perSecond, from 16 goroutines: event
// i has id i, shard i%2, and an event time of its write, except late%
// of them whose event time is up to 60% of the lateness before it.
type writer struct {
	written atomic.Int64
	maxTS   atomic.Int64 // latest event time, Unix ms
	err     atomic.Value
}

func (w *writer) run(ctx context.Context, t *testing.T, tbl string, n int, perSecond float64, latePct int) {
	s := e2e.Session(t)
	lim := rate.NewLimiter(rate.Limit(perSecond), 50)
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if lim.Wait(ctx) != nil {
					return
				}
				e := time.Now()
				if rng.IntN(100) < latePct {
					e = e.Add(-time.Duration(rng.Int64N(int64(lateness * 6 / 10))))
				}
				e = e.Truncate(time.Millisecond)
				b := e.Unix() / int64(bucketWidth/time.Second)
				err := s.Query("INSERT INTO "+ks+"."+tbl+" (bucket, shard, ts, id, payload) VALUES (?, ?, ?, ?, ?)",
					b, i%2, e, i, "event-"+strconv.Itoa(i)).WithContext(ctx).Exec()
				if err != nil {
					w.err.CompareAndSwap(nil, fmt.Errorf("insert %d: %w", i, err))
					return
				}
				for {
					m := w.maxTS.Load()
					if e.UnixMilli() <= m || w.maxTS.CompareAndSwap(m, e.UnixMilli()) {
						break
					}
				}
				w.written.Add(1)
			}
		}()
	}
	wg.Wait()
}

// tableRows reads the table back with an independent client, the Python
// driver: every id, and the rows per bucket.
func tableRows(t *testing.T, tbl string) (ids map[int]bool, perBucket map[string]int) {
	t.Helper()
	script := `
import sys
from cassandra.cluster import Cluster
from cassandra.query import SimpleStatement
s = Cluster(["127.0.0.1"]).connect()
for r in s.execute(SimpleStatement("SELECT bucket, id FROM %s.%s" % (sys.argv[1], sys.argv[2]), fetch_size=5000)):
    print(r.bucket, r.id)
`
	out, err := exec.Command(testutil.Python(t), "-c", script, ks, tbl).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("read back with the Python driver: %v\n%s", err, stderr)
	}
	ids, perBucket = map[int]bool{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var b int64
		var id int
		if _, err := fmt.Sscan(line, &b, &id); err != nil {
			t.Fatalf("read back: line %q: %v", line, err)
		}
		ids[id] = true
		perBucket[strconv.FormatInt(b, 10)]++
	}
	return ids, perBucket
}

// TestFollowKilledExactlyOnce: while a writer inserts 50,000 events over
// several buckets (5% of them late, within the lateness), the follow
// stream is SIGKILLed at 5 points and rerun each time; once the writer is
// done and the watermark has closed every bucket, it is stopped with
// SIGTERM. The rows file must hold every event of the table exactly once,
// and the counts count_by flushed as each bucket closed must add up, per
// bucket, to the table's rows of that bucket.
func TestFollowKilledExactlyOnce(t *testing.T) {
	const n = 50_000
	const perSecond = 1_250.0
	tbl := table
	createTable(t, tbl)
	dir := t.TempDir()
	// Late events are up to 60% of the lateness behind their write: all
	// of them fall after the start.
	start := time.Now().Add(-lateness)
	path := followConfig(t, dir, tbl, start, "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &writer{}
	wdone := make(chan struct{})
	go func() { defer close(wdone); w.run(ctx, t, tbl, n, perSecond, 5) }()

	kills := 0
	for _, frac := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
		p := e2e.Start(t, dir, nil, "run", "-config", path)
		polls := uint64(0)
		if m, ok := mark(dir); ok {
			polls = m.Polls
		}
		for w.written.Load() < int64(frac*n) || !progressed(dir, polls) {
			if p.Exited() {
				res := p.Wait(t)
				t.Fatalf("sluice ended before kill %d (exit %d):\n%s", kills+1, res.Code, e2e.Tail(res.Stderr, 30))
			}
			if e, _ := w.err.Load().(error); e != nil {
				t.Fatal(e)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		p.Signal(t, syscall.SIGKILL)
		res := p.Wait(t)
		if res.Signal != "killed" {
			t.Fatalf("kill %d: sluice was not killed (exit %d):\n%s", kills+1, res.Code, e2e.Tail(res.Stderr, 30))
		}
		kills++
		m, _ := mark(dir)
		t.Logf("kill %d at %d events written: %s", kills, w.written.Load(), m)
	}
	p := e2e.Start(t, dir, nil, "run", "-config", path)
	<-wdone
	if e, _ := w.err.Load().(error); e != nil {
		t.Fatal(e)
	}
	// Every bucket closed: the watermark is a lateness and a bucket past
	// the last event.
	until := time.UnixMilli(w.maxTS.Load()).Add(lateness + bucketWidth + time.Second)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, ok := mark(dir)
		if ok && !m.Watermark.Before(until) {
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			p.Signal(t, syscall.SIGKILL)
			res := p.Wait(t)
			t.Fatalf("the watermark did not reach %s (last %s):\n%s", until, m, e2e.Tail(res.Stderr, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Signal(t, syscall.SIGTERM)
	res := p.Wait(t)
	if res.Code != 130 || !strings.Contains(res.Stderr, "checkpoints written") {
		t.Errorf("SIGTERM: exit %d, want 130 (graceful stop):\n%s", res.Code, e2e.Tail(res.Stderr, 20))
	}

	ids, perBucket := tableRows(t, tbl)
	if len(ids) != n {
		t.Fatalf("the table holds %d events, the writer wrote %d", len(ids), n)
	}
	got := map[int]int{}
	rowsPerBucket := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(e2e.ReadFile(t, filepath.Join(dir, "rows.jsonl"))))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			ID     int             `json:"id"`
			Bucket json.RawMessage `json:"bucket"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("rows.jsonl: %v: %s", err, sc.Text())
		}
		got[r.ID]++
		rowsPerBucket[strings.Trim(string(r.Bucket), `"`)]++
	}
	lost, dup := 0, 0
	for id := range ids {
		switch got[id] {
		case 0:
			lost++
			if lost <= 10 {
				var ts time.Time
				var b int64
				if err := e2e.Session(t).Query("SELECT ts, bucket FROM "+ks+"."+tbl+" WHERE id = ? ALLOW FILTERING", id).Scan(&ts, &b); err == nil {
					t.Logf("lost event %d: ts %s, bucket %d, shard %d", id, ts.UTC().Format(time.RFC3339Nano), b, id%2)
				}
			}
		case 1:
		default:
			dup += got[id] - 1
		}
	}
	if lost+dup > 0 || len(got) != len(ids) {
		t.Errorf("rows.jsonl: %d distinct events, the table %d: %d lost, %d duplicated", len(got), len(ids), lost, dup)
	}
	counts := map[string]int{}
	sc = bufio.NewScanner(bytes.NewReader(e2e.ReadFile(t, filepath.Join(dir, "counts.jsonl"))))
	for sc.Scan() {
		var r struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("counts.jsonl: %v: %s", err, sc.Text())
		}
		counts[r.Value] += r.Count
	}
	for b, want := range perBucket {
		if counts[b] != want {
			t.Errorf("bucket %s: the counts flushed add up to %d, the table has %d rows", b, counts[b], want)
		}
	}
	t.Logf("%d events in %d buckets, %d kills: every event once, per-bucket counts equal the table's", len(ids), len(perBucket), kills)
}

// progressed reports whether the stream committed a poll after polls.
func progressed(dir string, polls uint64) bool {
	m, ok := mark(dir)
	return ok && m.Polls > polls
}
