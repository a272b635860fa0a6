package restart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// kafka runs scripts/kafka with the given command.
func kafka(t *testing.T, cmd string) {
	t.Helper()
	t0 := time.Now()
	c := exec.Command(filepath.Join(e2e.RepoRoot, "scripts", "kafka"), cmd)
	c.Dir = e2e.RepoRoot
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/kafka %s: %v\n%s", cmd, err, out)
	}
	t.Logf("scripts/kafka %s: %s (%s)", cmd, strings.TrimSpace(lastLine(string(out))), time.Since(t0).Round(100*time.Millisecond))
}

// TestKafkaBrokerRestartMidStream restarts the Kafka broker (scripts/kafka,
// so only one this project started) while a stream writes to a
// transactional kafka sink. The stream either survives (franz-go retries
// through the outage) or stops with a clear error naming the stream and how
// to resume; reruns resume until complete. Then a read_committed consumer
// must find every row of a clean run exactly once.
func TestKafkaBrokerRestartMidStream(t *testing.T) {
	if !enabled() {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs this test through make test-restart (SLUICE_RESTART_TESTS=1, alone, after the other packages); make test-go leaves it out")
		}
		t.Skip("restarts the Kafka broker: runs only with SLUICE_RESTART_TESTS=1, alone, after go test ./... (see the package doc)")
	}
	seeds := testutil.Kafka(t)
	t.Cleanup(func() { kafka(t, "start") }) // leave a broker running
	e2e.EnsureEvents(t, table, rows)
	want := e2e.Clean(t, table, rows, "jsonl", page)
	topic := testutil.KafkaTopic(t, seeds, "", 3)
	dir := t.TempDir()
	st := e2e.Stream{Name: "krestart", Table: table, PageSize: page, RatePages: 4,
		Sinks: []e2e.Sink{{Name: "kafka", Type: "kafka", Outputs: []string{""}, Extra: fmt.Sprintf(
			"  brokers = [%q]\n  topic = %q\n  transactional_id = \"sluice.restart.%d\"\n  checkpoint_topic = \"sluice_restart_checkpoints\"\n  transaction_timeout = \"2m\"\n",
			strings.Join(seeds, `", "`), topic, time.Now().UnixNano())}}}
	path := e2e.Config{EveryPages: 2, Interval: "30s", Streams: []e2e.Stream{st}}.Write(t, dir, "sluice.toml")
	p := e2e.Start(t, dir, nil, "run", "-config", path)
	if !e2e.WaitCheckpoint(p, dir, "krestart", 8) {
		res := p.Wait(t)
		t.Fatalf("the run ended (exit %d) before its checkpoint reached 8 pages:\n%s", res.Code, e2e.Tail(res.Stderr, 20))
	}
	kafka(t, "restart")
	res := p.Wait(t)
	failed := 0
	for res.Code != 0 {
		rep := e2e.ErrorReport(res.Stderr)
		if c := e2e.Crashed(res.Stderr); c != "" || res.Code != 1 || !strings.Contains(rep, `stream "krestart"`) || !strings.Contains(rep, "resume") {
			t.Fatalf("exit %d without a clear error naming the stream and how to resume:\n%s", res.Code, e2e.Tail(res.Stderr, 20))
		}
		failed++
		t.Logf("stopped (exit 1): %s", firstLine(rep))
		if failed > 3 {
			t.Fatalf("no complete run after %d attempts", failed)
		}
		res = e2e.Run(t, dir, nil, "run", "-config", path)
	}
	recs := testutil.KafkaReadCommitted(t, seeds, topic)
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = string(r.Value)
	}
	wl := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(wl)
	if !slices.Equal(got, wl) {
		t.Fatalf("read_committed sees %d records; a clean run has %d rows (or they differ)", len(got), len(wl))
	}
	how := "survived by retrying"
	if failed > 0 {
		how = fmt.Sprintf("stopped %d time(s) with a clear error, resumed", failed)
	}
	t.Logf("broker restart mid-stream: %s; %d records read_committed, each row once", how, len(recs))
}
