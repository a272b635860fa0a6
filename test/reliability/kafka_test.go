package reliability

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
)

// kafkaSink is the [[stream.sink]] of a transactional kafka sink writing
// to topic.
func kafkaSink(seeds []string, topic, txid string) sinkCfg {
	return sinkCfg{Name: "kafka", Type: "kafka", Outputs: []string{""}, Extra: fmt.Sprintf(
		"  brokers = [%q]\n  topic = %q\n  transactional_id = %q\n  checkpoint_topic = \"sluice_reliability_checkpoints\"\n",
		strings.Join(seeds, `", "`), topic, txid)}
}

// lines splits JSONL into its lines, sorted (Kafka partitions and two
// workers reorder rows; the multiset is what must match).
func lines(b []byte) []string {
	ls := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(ls)
	return ls
}

// TestKafkaKillAndResume SIGKILLs sluice at 10 points of a 50k-row scan
// that writes to a transactional kafka sink and a file sink, resuming from
// the checkpoint after each kill; then a last run completes. A
// read_committed consumer (franz-go's) must then find in the topic exactly
// the rows of a clean run, each once, and the file must be byte-identical
// to a clean run's: an aborted transaction (rows after the checkpoint) is
// never seen, and a committed one is never written again.
func TestKafkaKillAndResume(t *testing.T) {
	seeds := testutil.Kafka(t)
	ensureEvents(t, killTable, killRows)
	want := clean(t, killTable, killRows, "jsonl", killPage)
	topic := testutil.KafkaTopic(t, seeds, "", 3)
	txid := fmt.Sprintf("sluice.reliability.%d", time.Now().UnixNano())
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	path := cfg{EveryPages: 4, Interval: "30s", Streams: []streamCfg{{Name: "kkill", Table: killTable, PageSize: killPage, RatePages: 25,
		Sinks: []sinkCfg{{Name: "file", Format: "jsonl", Path: out}, kafkaSink(seeds, topic, txid)}}}}.Write(t, dir, "sluice.toml")
	points := []killPoint{{0, midInterval}, {4, atCheckpoint}, {8, midInterval}, {12, atCheckpoint}, {16, midInterval},
		{20, atCheckpoint}, {24, midInterval}, {28, atCheckpoint}, {32, midInterval}, {40, midInterval}}
	for i, kp := range points {
		p := start(t, dir, nil, "run", "-config", path)
		if !waitCheckpoint(p, dir, "kkill", kp.pages) {
			res := p.Wait(t)
			t.Fatalf("kill point %d: the run ended (exit %d) before its checkpoint reached %d pages:\n%s", i, res.Code, kp.pages, tail(res.Stderr, 20))
		}
		if kp.mode == midInterval {
			time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond) // an interval is 4 pages at 25 pages/s
		}
		if p.Exited() {
			res := p.Wait(t)
			t.Fatalf("kill point %d: the run ended (exit %d) before the kill:\n%s", i, res.Code, tail(res.Stderr, 10))
		}
		p.Signal(t, syscall.SIGKILL)
		if res := p.Wait(t); res.Signal != "killed" {
			t.Fatalf("kill point %d: the run was not killed (exit %d):\n%s", i, res.Code, tail(res.Stderr, 10))
		}
		t.Logf("SIGKILL %d (%s) at checkpoint %d pages", i+1, kp.mode, checkpointPages(dir, "kkill"))
	}
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("final run: exit %d, want 0 and a resume:\n%s", res.Code, tail(res.Stderr, 20))
	}
	sameOutput(t, "file sink after 10 SIGKILLs", readFile(t, out), want)
	recs := testutil.KafkaReadCommitted(t, seeds, topic)
	var got bytes.Buffer
	for _, r := range recs {
		got.Write(r.Value)
		got.WriteByte('\n')
	}
	g, w := lines(got.Bytes()), lines(want)
	if len(g) != len(w) {
		t.Fatalf("read_committed sees %d records, a clean run has %d rows", len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("records differ from a clean run's rows (sorted) at %d:\n got %s\nwant %s", i, g[i], w[i])
		}
	}
	t.Logf("10 SIGKILLs: the topic holds %d records read_committed, each row of the clean run once", len(recs))
}
