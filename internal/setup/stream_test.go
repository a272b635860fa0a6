package setup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/stream"
	"github.com/sluicehq/sluice/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyMain(m) }

const repo = "../.."

// fixture is a table of n rows (id int, v text) in its own keyspace.
func fixture(t *testing.T, n int) (ks string) {
	t.Helper()
	s := testutil.Session(t)
	ks = testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".t")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".t (id int PRIMARY KEY, v text)")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.Query("INSERT INTO "+ks+".t (id, v) VALUES (?, ?)", i, fmt.Sprintf("row-%05d", i)).Exec(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ks
}

// copyFile copies src to dst atomically (temp file + rename), as an
// operator replacing a plugin would.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// reload is Reload, as the CLI calls it.
func reload(ctx context.Context, env *Env, s *stream.Stream, p config.Plugin) error {
	return Reload(ctx, env, s, p)
}

type harness struct {
	env *Env
	out *syncBuffer
	log *bytes.Buffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, toml string) (*harness, *config.Config) {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	h := &harness{out: &syncBuffer{}, log: &bytes.Buffer{}}
	h.env = &Env{Config: cfg, Session: testutil.Session(t), Runtime: rt, Metrics: metrics.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: h.out}
	return h, cfg
}

func lines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestHotSwapDuringStream swaps a module (counter → counter_v2, state
// carried by snapshot/restore) and a config (project's computed column
// renamed) while the stream runs, and checks that every row is written
// once, each page by exactly one version, old before new.
func TestHotSwapDuringStream(t *testing.T) {
	const n = 3000
	ks := fixture(t, n)
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter.wasm")
	copyFile(t, repo+"/host/testdata/counter.wasm", counter)
	project, _ := filepath.Abs(repo + "/plugins/examples/project/c/project.wasm")
	toml := fmt.Sprintf(`
[checkpoint]
store = "none"
[[stream]]
name = "swap"
  [stream.source]
  keyspace = %q
  table = "t"
  page_size = 100
  rate_limit_pages = 15
  [[stream.plugin]]
  name = "project"
  path = %q
    [stream.plugin.config]
    columns = ["id", "v"]
    compute = "upper:v"
    compute_as = "tag_v1"
  [[stream.plugin]]
  name = "counter"
  path = %q
`, ks, project, counter)
	h, cfg := newHarness(t, toml)
	ctx := context.Background()
	s, err := New(ctx, h.env, 0, cfg.Streams[0])
	if err != nil {
		t.Fatal(err)
	}
	type runRes struct {
		sum stream.Summary
		err error
	}
	done := make(chan runRes, 1)
	go func() {
		sum, err := s.Run(ctx, nil)
		done <- runRes{sum, err}
	}()
	// Wait for some output, then swap both plugins.
	waitFor(t, func() bool { return strings.Count(h.out.String(), "\n") >= 300 })

	// A bad module is refused and the old version keeps running.
	copyFile(t, repo+"/host/testdata/missing_export.wasm", counter)
	if err := reload(ctx, h.env, s, cfg.Streams[0].Plugins[1]); err == nil {
		t.Fatal("reload of a module without sluice_process was accepted")
	}
	// A module that traps on real rows is refused by the self-test.
	copyFile(t, repo+"/host/testdata/oob.wasm", counter)
	if err := reload(ctx, h.env, s, cfg.Streams[0].Plugins[1]); err == nil || !strings.Contains(err.Error(), "self-test") {
		t.Fatalf("reload of a trapping module: got %v, want a self-test refusal", err)
	}

	copyFile(t, repo+"/host/testdata/counter_v2.wasm", counter)
	if err := reload(ctx, h.env, s, cfg.Streams[0].Plugins[1]); err != nil {
		t.Fatalf("swap counter → counter_v2: %v", err)
	}
	if err := reload(ctx, h.env, s, cfg.Streams[0].Plugins[1]); !errors.Is(err, stream.ErrUnchanged) {
		t.Fatalf("second reload of the same module: got %v, want ErrUnchanged", err)
	}
	newCfg := cfg.Streams[0].Plugins[0]
	newCfg.Config = map[string]any{"columns": []any{"id", "v"}, "compute": "upper:v", "compute_as": "tag_v2"}
	if err := reload(ctx, h.env, s, newCfg); err != nil {
		t.Fatalf("config swap of project: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	rows := lines(t, h.out.String())
	// n data rows plus the counter's flush row.
	if len(rows) != n+1 {
		t.Fatalf("got %d lines, want %d rows + 1 flush row", len(rows), n)
	}
	flush := rows[len(rows)-1]
	if c, ok := flush["count_v2"]; !ok || c != float64(n) {
		t.Fatalf("flush row %v: want count_v2 = %d (the state of counter v1 carried into v2)", flush, n)
	}
	seen := map[float64]bool{}
	switched := -1
	for i, row := range rows[:n] {
		id := row["id"].(float64)
		if seen[id] {
			t.Fatalf("row id %v written twice", id)
		}
		seen[id] = true
		_, v1 := row["tag_v1"]
		_, v2 := row["tag_v2"]
		if v1 == v2 {
			t.Fatalf("row %d has tag_v1=%v tag_v2=%v, want exactly one", i, v1, v2)
		}
		if v2 && switched < 0 {
			switched = i
		}
		if v1 && switched >= 0 {
			t.Fatalf("row %d processed by the old version after row %d by the new one", i, switched)
		}
	}
	if switched <= 0 || switched%100 != 0 {
		t.Fatalf("the config swap took effect at row %d, want a page boundary (a multiple of 100) after the start", switched)
	}
	if r.sum.RowsIn != n {
		t.Fatalf("summary rows in %d, want %d", r.sum.RowsIn, n)
	}
	// The swaps show in the metrics.
	rec := httptest.NewRecorder()
	h.env.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`sluice_plugin_swaps_total{plugin="counter",result="refused",stream="swap"} 2`,
		`sluice_plugin_swaps_total{plugin="counter",result="swapped",stream="swap"} 1`,
		`sluice_plugin_swaps_total{plugin="counter",result="unchanged",stream="swap"} 1`,
		`sluice_plugin_swaps_total{plugin="project",result="swapped",stream="swap"} 1`,
		fmt.Sprintf(`sluice_rows_read_total{stream="swap"} %d`, n),
		`sluice_pages_total{stream="swap"}`,
		`sluice_page_fetch_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFileSinkExactlyOnceAcrossStop stops a stream gracefully midway and
// resumes it: the file equals the output of an uninterrupted run.
func TestFileSinkExactlyOnceAcrossStop(t *testing.T) {
	const n = 2000
	ks := fixture(t, n)
	dir := t.TempDir()
	conf := func(out string) string {
		return fmt.Sprintf(`
[checkpoint]
store = "file"
dir = %q
every_pages = 1
[[stream]]
name = "once"
  [stream.source]
  keyspace = %q
  table = "t"
  page_size = 100
  rate_limit_pages = 40
  [[stream.sink]]
  type = "file"
  path = %q
`, filepath.Join(dir, "cp-"+filepath.Base(out)), ks, out)
	}
	run := func(out string, stopAfter int) (stream.Summary, error) {
		h, cfg := newHarness(t, conf(out))
		s, err := New(context.Background(), h.env, 0, cfg.Streams[0])
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		if stopAfter > 0 {
			go func() {
				for s.Stats().Pages < uint64(stopAfter) {
					time.Sleep(5 * time.Millisecond)
				}
				close(stop)
			}()
		}
		return s.Run(context.Background(), stop)
	}
	clean := filepath.Join(dir, "clean.jsonl")
	if _, err := run(clean, 0); err != nil {
		t.Fatal(err)
	}
	resumed := filepath.Join(dir, "resumed.jsonl")
	sum, err := run(resumed, 7)
	if !stream.IsStopped(err) {
		t.Fatalf("first part: got %v, want a graceful stop", err)
	}
	if sum.Complete || !strings.Contains(sum.Resume, "resumes from its checkpoint") {
		t.Fatalf("stopped summary: %+v", sum)
	}
	sum, err = run(resumed, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Resumed || sum.RowsIn >= n {
		t.Fatalf("second part: %+v, want a resumed run reading fewer than %d rows", sum, n)
	}
	a, _ := os.ReadFile(clean)
	b, _ := os.ReadFile(resumed)
	if !bytes.Equal(a, b) {
		t.Fatalf("resumed output (%d bytes) differs from a clean run (%d bytes)", len(b), len(a))
	}
}

// TestPluginTrapStopsStream checks the report of a trapping plugin: the
// stream, plugin, page, trap and where to resume.
func TestPluginTrapStopsStream(t *testing.T) {
	ks := fixture(t, 1000)
	trap, _ := filepath.Abs(repo + "/host/testdata/trap_page3.wasm")
	h, cfg := newHarness(t, fmt.Sprintf(`
[checkpoint]
store = "file"
dir = %q
[[stream]]
name = "trap"
  [stream.source]
  keyspace = %q
  table = "t"
  page_size = 100
  [[stream.plugin]]
  name = "bomb"
  path = %q
`, t.TempDir(), ks, trap))
	s, err := New(context.Background(), h.env, 0, cfg.Streams[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(context.Background(), nil)
	var pe *host.PluginError
	if err == nil || !asPluginError(err, &pe) {
		t.Fatalf("got %v, want a *host.PluginError", err)
	}
	msg := err.Error()
	for _, want := range []string{`stream "trap"`, `plugin "bomb"`, "page 3", "unreachable", "resume from", "rerun the same command"} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
	if got := strings.Count(h.out.String(), "\n"); got != 200 {
		t.Errorf("%d rows written before the trap, want the 2 pages before it (200)", got)
	}
}

func asPluginError(err error, pe **host.PluginError) bool { return errorsAs(err, pe) }

var errorsAs = func(err error, target any) bool { return errors.As(err, target) }
