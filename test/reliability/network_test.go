package reliability

import (
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/faultproxy"
	"github.com/sluicehq/sluice/internal/testutil"
)

// Network faults: sluice (the real binary) reads through a faultproxy in
// front of the node, and the proxy drops, resets or stalls the
// connections in page k. The stream either retries and completes, or stops
// with a clear error and a rerun resumes from its checkpoint; the final
// file is byte-identical to a clean run's.
//
// Why the proxy listens on 127.x.y.z:9042: gocql looks the node up in
// system.local and then connects to the address it dialled but with the
// cluster's default port (9042), not the contact point's port. A proxy on
// 127.0.0.1:<random> would be bypassed after the first connection; one on
// another loopback address with port 9042 is where the driver comes back
// to. sluice has no knob for gocql's DisableInitialHostLookup (see the
// report in docs/security.md, "Known gaps"), which would let the proxy
// listen anywhere. TestProxyIsTheOnlyPath proves nothing bypasses it.

const (
	netTable = "events_20k"
	netRows  = 20_000
	netPage  = 500
	netPages = netRows / netPage
)

// listenProxy starts a proxy on a random 127.x.y.z:9042 in front of the
// test node.
func listenProxy(t testing.TB) *faultproxy.Proxy {
	t.Helper()
	host, _, err := net.SplitHostPort(testutil.Host())
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for range 20 {
		addr := fmt.Sprintf("127.%d.%d.%d:9042", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
		p, err := faultproxy.Listen(addr, net.JoinHostPort(host, "9042"))
		if err == nil {
			t.Cleanup(func() { _ = p.Close() })
			return p
		}
		last = err
	}
	t.Fatalf("no free loopback address for the fault proxy: %v", last)
	return nil
}

// netStream is the stream of the network tests: fast retries, a short
// page timeout so a stall is noticed, a checkpoint every 2 pages.
func netStream(name, out string) streamCfg {
	return streamCfg{Name: name, Table: netTable, PageSize: netPage,
		Retries: intp(10), Backoff: "50ms", BackoffMax: "1s", PageTimeout: "2s",
		Sinks: []sinkCfg{{Format: "jsonl", Path: out}}}
}

// runUntilComplete runs the config until sluice exits 0, at most max
// times. Every failed run must end with a clear error naming the stream
// and how to resume. It returns the number of failed runs.
func runUntilComplete(t *testing.T, dir, cfgPath, streamName string, max int) (failed int) {
	t.Helper()
	for i := 1; i <= max; i++ {
		res := run(t, dir, nil, "run", "-config", cfgPath)
		if c := crashed(res.Stderr); c != "" {
			t.Fatalf("run %d: sluice crashed (%q):\n%s", i, c, tail(res.Stderr, 40))
		}
		if res.Code == 0 {
			if i > 1 && !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
				t.Errorf("run %d completed but does not say it resumed:\n%s", i, tail(res.Stderr, 5))
			}
			return failed
		}
		failed++
		rep := errorReport(res.Stderr)
		// A run that starts while the node is unreachable cannot even
		// connect: that error names the address instead of a stream.
		startup := strings.HasPrefix(rep, "sluice: connect to Cassandra at ")
		if res.Code != 1 || rep == "" || !startup && (!strings.Contains(rep, fmt.Sprintf("%q", streamName)) || !strings.Contains(rep, "resume")) {
			t.Fatalf("run %d: exit %d without a clear error naming stream %q and how to resume; stderr ends:\n%s", i, res.Code, streamName, tail(res.Stderr, 20))
		}
		t.Logf("run %d stopped (exit 1) with: %s", i, firstLine(rep))
		time.Sleep(time.Second) // what an operator or a supervisor would do
	}
	t.Fatalf("sluice did not complete in %d runs", max)
	return failed
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

// calibrate runs the stream once through a fault-free proxy and returns
// the bytes the node sends per page; the output must equal the clean run's.
func calibrate(t *testing.T, want []byte) int64 {
	t.Helper()
	p := listenProxy(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	path := cfg{Hosts: []string{p.Addr()}, EveryPages: 2, Streams: []streamCfg{netStream("net", out)}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("run through the proxy failed (exit %d):\n%s", res.Code, tail(res.Stderr, 20))
	}
	sameOutput(t, "through the proxy", readFile(t, out), want)
	st := p.Stats()
	bpp := st.BytesDown / netPages
	t.Logf("calibration: %d bytes down in %d connections, ~%d bytes per page", st.BytesDown, st.Accepted, bpp)
	return bpp
}

// TestNetworkFaults injects one kind of fault per case, at page k.
func TestNetworkFaults(t *testing.T) {
	ensureEvents(t, netTable, netRows)
	want := clean(t, netTable, netRows, "jsonl", netPage)
	bpp := calibrate(t, want)
	at := func(page float64) int64 { return int64(page * float64(bpp)) }

	type inject func(t *testing.T, p *faultproxy.Proxy)
	rule := func(r faultproxy.Rule) inject {
		return func(t *testing.T, p *faultproxy.Proxy) { p.Inject(r) }
	}
	// outage resets every connection at page k and refuses new ones for d:
	// the node looks down.
	outage := func(page float64, d time.Duration) inject {
		return func(t *testing.T, p *faultproxy.Proxy) {
			fired := p.Inject(faultproxy.Rule{AfterBytes: at(page), Fault: faultproxy.Reset})
			ctx := ctxT(t)
			go func() {
				select {
				case <-fired:
				case <-ctx.Done():
					return
				}
				p.Refuse(true)
				p.Reset()
				time.Sleep(d)
				p.Refuse(false)
			}()
		}
	}
	type netCase struct {
		name   string
		inject []inject
	}
	cases := []netCase{
		{"drop_page5", []inject{rule(faultproxy.Rule{AfterBytes: at(5.5), Fault: faultproxy.Drop})}},
		{"reset_page12", []inject{rule(faultproxy.Rule{AfterBytes: at(12.3), Fault: faultproxy.Reset})}},
		{"stall_4s_page20", []inject{rule(faultproxy.Rule{AfterBytes: at(20.5), Fault: faultproxy.Stall, Stall: 4 * time.Second})}},
		{"outage_3s_page30", []inject{outage(30.2, 3*time.Second)}},
	}
	{
		var many []inject
		for k := 3; k < netPages; k += 4 {
			f := faultproxy.Drop
			if k%8 == 7 {
				f = faultproxy.Reset
			}
			many = append(many, rule(faultproxy.Rule{AfterBytes: at(float64(k) + 0.4), Fault: f}))
		}
		cases = append(cases, netCase{"drop_or_reset_every_4_pages", many})
	}
	if long() {
		for k := 1; k < netPages; k += 3 {
			for _, f := range []faultproxy.Fault{faultproxy.Drop, faultproxy.Reset} {
				cases = append(cases, netCase{fmt.Sprintf("long_%s_page%d", f, k), []inject{rule(faultproxy.Rule{AfterBytes: at(float64(k) + 0.7), Fault: f})}})
			}
			cases = append(cases, netCase{fmt.Sprintf("long_stall_page%d", k), []inject{rule(faultproxy.Rule{AfterBytes: at(float64(k) + 0.1), Fault: faultproxy.Stall, Stall: 2500 * time.Millisecond})}})
		}
		cases = append(cases, netCase{"long_outage_8s_page10", []inject{outage(10.5, 8*time.Second)}})
	}

	var injected, survived int
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := listenProxy(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			path := cfg{Hosts: []string{p.Addr()}, EveryPages: 2, Streams: []streamCfg{netStream("net", out)}}.Write(t, dir, "sluice.toml")
			for _, in := range tc.inject {
				in(t, p)
			}
			failed := runUntilComplete(t, dir, path, "net", 8)
			evs := p.Events()
			if len(evs) < len(tc.inject) {
				t.Fatalf("only %d of %d faults fired: %v", len(evs), len(tc.inject), evs)
			}
			for _, e := range evs {
				if e.Cause != "command" {
					t.Logf("fault: %s (page ~%.1f)", e, float64(e.Bytes)/float64(bpp))
				}
			}
			sameOutput(t, tc.name, readFile(t, out), want)
			injected += len(tc.inject)
			survived += len(tc.inject)
			t.Logf("%d fault(s) injected; %d failed run(s) before completion; proxy: %+v", len(tc.inject), failed, p.Stats())
		})
	}
	t.Logf("network faults injected: %d, survived with identical output: %d", injected, survived)
}

// TestProxyIsTheOnlyPath: with the proxy refusing every connection for
// longer than the retries last, the stream must fail (a driver that went
// around the proxy would complete). It fails with a clear error naming
// the stream and the resume point; once the proxy heals, a rerun resumes
// from the checkpoint and completes with the clean run's output.
func TestProxyIsTheOnlyPath(t *testing.T) {
	ensureEvents(t, netTable, netRows)
	want := clean(t, netTable, netRows, "jsonl", netPage)
	p := listenProxy(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	st := netStream("net", out)
	st.Retries, st.Backoff, st.BackoffMax = intp(2), "100ms", "200ms"
	st.RatePages = 20 // two pages per checkpoint, 10 checkpoints a second
	path := cfg{Hosts: []string{p.Addr()}, EveryPages: 2, Streams: []streamCfg{st}}.Write(t, dir, "sluice.toml")

	pr := start(t, dir, nil, "run", "-config", path)
	if !waitCheckpoint(pr, dir, "net", 10) {
		res := pr.Wait(t)
		t.Fatalf("no checkpoint of 10 pages (exit %d):\n%s", res.Code, tail(res.Stderr, 20))
	}
	p.Refuse(true)
	p.Reset()
	res := pr.Wait(t)
	if res.Code != 1 {
		t.Fatalf("with the proxy refusing everything, sluice exited %d (did the driver go around the proxy?):\n%s", res.Code, tail(res.Stderr, 20))
	}
	rep := errorReport(res.Stderr)
	// "rerun the same command ... resumes from its last saved checkpoint",
	// as every other stream failure says: the pager's own "resume from page
	// state …" is the failed fetch's position, which may be ahead of the
	// checkpoint a rerun really starts from.
	for _, s := range []string{`stream "net"`, "fetch failed", "rerun the same command"} {
		if !strings.Contains(rep, s) {
			t.Errorf("error report lacks %q:\n%s", s, rep)
		}
	}
	cp := checkpointPages(dir, "net")
	t.Logf("stopped with: %s (checkpoint at %d pages)", firstLine(rep), cp)
	if cp < 10 || cp >= netPages {
		t.Fatalf("checkpoint at %d pages, want between 10 and %d", cp, netPages)
	}

	p.Refuse(false)
	if failed := runUntilComplete(t, dir, path, "net", 2); failed > 0 {
		t.Fatalf("%d failed runs after the proxy healed", failed)
	}
	sameOutput(t, "resumed after an outage", readFile(t, out), want)
}

// TestNetworkFaultsParallelSplits: the same faults with 8 splits read 4 at
// a time. Pages of different splits interleave in the file, so the output
// is compared with the clean run's as a multiset of lines, and every id
// must appear exactly once.
func TestNetworkFaultsParallelSplits(t *testing.T) {
	ensureEvents(t, netTable, netRows)
	want := clean(t, netTable, netRows, "jsonl", netPage)
	p := listenProxy(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	st := netStream("par", out)
	st.Concurrency, st.Splits = 4, 8
	path := cfg{Hosts: []string{p.Addr()}, EveryPages: 3, Streams: []streamCfg{st}}.Write(t, dir, "sluice.toml")
	faults := []faultproxy.Fault{faultproxy.Reset, faultproxy.Drop, faultproxy.Reset, faultproxy.Stall, faultproxy.Drop, faultproxy.Reset}
	for i, f := range faults {
		// ~63 KB per page: spread the faults over the scan.
		p.Inject(faultproxy.Rule{AfterBytes: int64(200_000 + i*350_000), Fault: f, Stall: 3 * time.Second})
	}
	failed := runUntilComplete(t, dir, path, "par", 4)
	got := readFile(t, out)
	checkIDs(t, jsonlIDs(t, got), netRows)
	if multisetSum(got) != multisetSum(want) {
		t.Fatalf("the lines differ from the clean run's (multiset sha %s, clean %s)", multisetSum(got), multisetSum(want))
	}
	if n := len(p.Events()); n != len(faults) {
		t.Fatalf("%d of %d faults fired", n, len(faults))
	}
	t.Logf("%d faults over 4 concurrent splits, %d failed runs; every row exactly once", len(faults), failed)
}
