package stream

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// sdktestWasm is the C SDK's test plugin; with mode = reject it rejects
// every odd row of each page with the reason "odd row".
const sdktestWasm = "plugins/c/testdata/sdktest.wasm"

// TestRejectedRowsGoToTheirSink: rejected rows leave the default output,
// reach the sink that takes sluice.rejected with their reason, and are
// counted; the stream completes.
func TestRejectedRowsGoToTheirSink(t *testing.T) {
	w := newWorld(t, 3, 2, 25)
	rows, dlq := newMemSink(w.d, "mem:rows"), newMemSink(w.d, "mem:dlq")
	sum, err := w.run(specOpts{workers: 2, every: 2,
		plugins: []Plugin{w.plugin("rejecter", sdktestWasm, abi.KV{Key: "mode", Value: "reject"})},
		sinks: []Sink{
			{Name: "rows", Identity: "mem:rows", Outputs: []string{""}, Sink: rows},
			{Name: "dlq", Identity: "mem:dlq", Outputs: []string{abi.RejectedOutput}, Sink: dlq},
		}})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := out(w.d.file("mem:rows"))
	rejected, _ := out(w.d.file("mem:dlq"))
	// 6 pages of 25 rows: 12 odd rows each.
	if len(kept) != 78 || len(rejected) != 72 || sum.Rejected != 72 || !sum.Complete {
		t.Fatalf("kept %d, rejected %d (summary %d), complete %v; want 78, 72", len(kept), len(rejected), sum.Rejected, sum.Complete)
	}
	// renderRow prints name=hex pairs: the reason is the last column.
	reason := "sluice_reject_reason=" + hex.EncodeToString([]byte("odd row"))
	for _, r := range rejected {
		if !strings.HasSuffix(r, reason) {
			t.Fatalf("rejected row %q lacks %q", r, reason)
		}
	}
}

// TestUnroutedRejectStops: a stream whose sinks do not take
// sluice.rejected stops at the first rejected row, naming the output.
func TestUnroutedRejectStops(t *testing.T) {
	w := newWorld(t, 1, 1, 4)
	_, err := w.run(specOpts{plugins: []Plugin{w.plugin("rejecter", sdktestWasm, abi.KV{Key: "mode", Value: "reject"})}})
	if err == nil || !strings.Contains(err.Error(), `output "sluice.rejected", which no [[stream.sink]] takes`) {
		t.Fatalf("run = %v, want a stop naming the unrouted output", err)
	}
}
