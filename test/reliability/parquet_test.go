package reliability

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// TestParquetKillAndResume SIGKILLs sluice at 10 points of a 50k-row scan
// into a parquet sink (files closed and published at every checkpoint),
// resuming after each kill; then a last run completes. pyarrow (the
// independent reader) then reads every published part-*.parquet: each row
// of the table is there exactly once, with every value equal to the
// table's, and no hidden pending or in-progress file is left.
func TestParquetKillAndResume(t *testing.T) {
	py := testutil.PyArrow(t)
	ensureEvents(t, killTable, killRows)
	dir := t.TempDir()
	out := filepath.Join(dir, "pq")
	path := cfg{EveryPages: 4, Streams: []streamCfg{{Name: "pkill", Table: killTable, PageSize: killPage, RatePages: 25,
		Sinks: []sinkCfg{{Name: "pq", Type: "parquet", Path: out, Extra: "  row_group_size = \"64KiB\"\n"}}}}}.Write(t, dir, "sluice.toml")
	points := []killPoint{{0, midInterval}, {4, atCheckpoint}, {8, midInterval}, {12, atCheckpoint}, {16, midInterval},
		{20, atCheckpoint}, {24, midInterval}, {28, atCheckpoint}, {32, midInterval}, {40, midInterval}}
	for i, kp := range points {
		p := start(t, dir, nil, "run", "-config", path)
		if !waitCheckpoint(p, dir, "pkill", kp.pages) {
			res := p.Wait(t)
			t.Fatalf("kill point %d: the run ended (exit %d) before its checkpoint reached %d pages:\n%s", i, res.Code, kp.pages, tail(res.Stderr, 20))
		}
		if kp.mode == midInterval {
			time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		}
		if p.Exited() {
			res := p.Wait(t)
			t.Fatalf("kill point %d: the run ended (exit %d) before the kill:\n%s", i, res.Code, tail(res.Stderr, 10))
		}
		p.Signal(t, syscall.SIGKILL)
		if res := p.Wait(t); res.Signal != "killed" {
			t.Fatalf("kill point %d: the run was not killed (exit %d):\n%s", i, res.Code, tail(res.Stderr, 10))
		}
		ents, _ := os.ReadDir(out)
		hidden := 0
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".part-") {
				hidden++
			}
		}
		t.Logf("SIGKILL %d (%s) at checkpoint %d pages: %d entries, %d pending or in progress", i+1, kp.mode, checkpointPages(dir, "pkill"), len(ents), hidden)
	}
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("final run: exit %d, want 0 and a resume:\n%s", res.Code, tail(res.Stderr, 20))
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".part-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	cmd := exec.Command(py, filepath.Join("..", "..", "internal", "sink", "testdata", "parquet_read.py"), out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, stderr.String())
	}
	var got struct {
		Files []struct{ Name string }
		Rows  []map[string]any
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != killRows {
		t.Fatalf("pyarrow reads %d rows in %d files, the table has %d", len(got.Rows), len(got.Files), killRows)
	}
	seen := make([]bool, killRows)
	for _, r := range got.Rows {
		id, _ := r["id"].(json.Number).Int64()
		if id < 0 || id >= killRows || seen[id] {
			t.Fatalf("row id %d read twice or out of range", id)
		}
		seen[id] = true
		if g, w := canonRow(r), canonRow(eventRowParquet(int(id))); g != w {
			t.Fatalf("row %d differs from the table:\n got %s\nwant %s", id, g, w)
		}
	}
	t.Logf("10 SIGKILLs: %d files, %d rows read by pyarrow, each table row once with its values", len(got.Files), len(got.Rows))
}

// eventRowParquet is row i of the events table in parquet_read.py's
// canonical form.
func eventRowParquet(i int) map[string]any {
	v := e2e.EventRow(i)
	r := map[string]any{"id": i, "customer": v[1], "status": v[2], "amount": v[3],
		"created_at": []any{"ts", v[4].(time.Time).UnixMilli()}, "note": v[6], "payload": []any{"hex", hex.EncodeToString(v[7].([]byte))}}
	if tags := v[5].([]string); tags != nil {
		s := append([]string(nil), tags...)
		sort.Strings(s) // a set reads back in Cassandra's order
		r["tags"] = s
	} else {
		r["tags"] = nil
	}
	return r
}

func canonRow(r map[string]any) string {
	b, _ := json.Marshal(r)
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&v)
	m := v.(map[string]any)
	if a, ok := m["amount"].(json.Number); ok {
		f, _ := a.Float64()
		m["amount"] = fmt.Sprint(f)
	}
	b, _ = json.Marshal(m)
	return string(b)
}
