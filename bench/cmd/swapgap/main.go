// Command swapgap measures how long a hot swap stalls a running stream.
//
// It runs `sluice run -config FILE` with the plugin of the config read
// from -plugin-file, reads sluice's standard output itself and notes the
// time of every read. While the stream runs it replaces -plugin-file
// atomically (write a temporary file in the same directory, rename it over
// the old one) with the other of two builds of the same plugin, -a and -b
// alternately, which sluice's file watcher turns into a hot swap. Each
// swapped-in copy gets a custom section with a fresh nonce appended, so
// its SHA-256 differs from every earlier copy: every swap compiles a new
// module, as a real new version would, rather than hitting a cache.
//
// Gaps between pages are measured from outside. The stdout sink hands
// each page's rows to the writer in one write, and the config's filter
// keeps a few rows of every page (a few KiB per page), so each page
// arrives as one burst of reads; reads less than -burst apart are taken
// as one page. The tool checks the burst count against the page count of
// sluice's summary line and reports both. The gap of a page is the time
// from the start of the previous page's burst to the start of its own.
// For every swap, the longest gap that overlaps the window from the file
// replacement to -after past the log line "plugin swapped" is the swap's
// gap; the median is over every gap outside those windows.
//
// The result is one JSON line on stdout (times in milliseconds).
//
//	swapgap -sluice bin/sluice -config swap.toml -plugin-file /tmp/x/filter.wasm \
//	        -a plugins/examples/filter/c/filter.wasm -b plugins/examples/filter/rust/filter.wasm \
//	        -expect-lines 10000 -at 0.25,0.6
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	sluice, config, pluginFile, a, b string
	expectLines                      int64
	at                               []float64
	burst, after, timeout            time.Duration
}

// Swap is the outcome of one swap.
type Swap struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	AtLine      int64   `json:"at_line"`
	SwappedMs   float64 `json:"swapped_ms"` // file replaced → "plugin swapped" logged
	MaxGapMs    float64 `json:"max_gap_ms"`
	Ratio       float64 `json:"ratio"` // MaxGapMs / median gap
	GapsInRange int     `json:"gaps_in_window"`
}

// LongGap is one unusually long gap between pages.
type LongGap struct {
	StartMs float64 `json:"start_ms"`
	GapMs   float64 `json:"gap_ms"`
	Swap    int     `json:"swap"`
}

// Result is the JSON line swapgap prints.
type Result struct {
	Tool        string  `json:"tool"`
	Rows        int64   `json:"rows"`
	RowsOut     int64   `json:"rows_out"`
	Pages       int64   `json:"pages"`
	Bursts      int     `json:"bursts"`
	Lines       int64   `json:"lines"`
	Seconds     float64 `json:"seconds"`
	RowsPerS    float64 `json:"rows_per_s"`
	MedianGapMs float64 `json:"median_gap_ms"`
	P99GapMs    float64 `json:"p99_gap_ms"`
	Swaps       []Swap  `json:"swaps"`
	WorstRatio  float64 `json:"worst_ratio"`
	// LongGaps lists every gap longer than 4 × the median, in order, with
	// its start (ms since the first page) and the swap whose window it
	// overlaps (0 = none), so stalls of the node can be told from swaps.
	LongGaps []LongGap `json:"long_gaps"`
	MaxRSSKB int64     `json:"max_rss_kb"`
}

func main() {
	var o options
	var at string
	flag.StringVar(&o.sluice, "sluice", "bin/sluice", "sluice binary")
	flag.StringVar(&o.config, "config", "", "config whose single plugin is read from -plugin-file")
	flag.StringVar(&o.pluginFile, "plugin-file", "", "the .wasm path the config names; replaced during the run")
	flag.StringVar(&o.a, "a", "", "first build of the plugin (runs first)")
	flag.StringVar(&o.b, "b", "", "second build of the same plugin")
	flag.Int64Var(&o.expectLines, "expect-lines", 0, "output lines the whole stream writes (for -at)")
	flag.StringVar(&at, "at", "0.25,0.6", "swap when this share of -expect-lines was read, comma-separated")
	flag.DurationVar(&o.burst, "burst", time.Millisecond, "reads closer than this belong to one page")
	flag.DurationVar(&o.after, "after", 500*time.Millisecond, "the swap window ends this long after \"plugin swapped\"")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "kill sluice after this long")
	flag.Parse()
	for _, f := range strings.Split(at, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v >= 1 {
			fail(fmt.Errorf("-at %q: want shares in (0,1)", at))
		}
		o.at = append(o.at, v)
	}
	slices.Sort(o.at)
	if o.config == "" || o.pluginFile == "" || o.a == "" || o.b == "" || o.expectLines <= 0 {
		fail(errors.New("-config, -plugin-file, -a, -b and -expect-lines are required"))
	}
	res, err := run(o)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "swapgap:", err)
	os.Exit(1)
}

type read struct {
	t     time.Time
	lines int64
}

type logLine struct {
	t    time.Time
	text string
}

var summaryRE = regexp.MustCompile(`rows in (\d+), rows out (\d+), pages (\d+), elapsed ([^,]+),`)

func run(o options) (Result, error) {
	res := Result{Tool: "swapgap"}
	builds := [2][]byte{}
	for i, p := range []string{o.a, o.b} {
		b, err := os.ReadFile(p)
		if err != nil {
			return res, err
		}
		builds[i] = b
	}
	if err := replace(o.pluginFile, builds[0]); err != nil {
		return res, err
	}

	cmd := exec.Command(o.sluice, "run", "-config", o.config)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start %s: %w", o.sluice, err)
	}
	killer := time.AfterFunc(o.timeout, func() { _ = cmd.Process.Kill() })
	defer killer.Stop()

	// stderr: every line with its arrival time; "plugin swapped" and
	// "refused" lines are signalled to the swapper.
	var (
		mu      sync.Mutex
		logs    []logLine
		swapped = make(chan logLine, 16)
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			l := logLine{time.Now(), sc.Text()}
			mu.Lock()
			logs = append(logs, l)
			mu.Unlock()
			if strings.Contains(l.text, `msg="plugin swapped"`) || strings.Contains(l.text, "swap refused") {
				select {
				case swapped <- l:
				default:
				}
			}
		}
	}()

	// stdout: the time and cumulative line count of every read. The
	// swapper watches the line count to trigger swaps.
	var reads []read
	lineCh := make(chan int64, 1024)
	readErr := make(chan error, 1)
	eof := make(chan struct{})
	go func() {
		defer close(lineCh)
		defer close(eof)
		buf := make([]byte, 1<<20)
		var lines int64
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				t := time.Now()
				lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
				reads = append(reads, read{t, lines})
				select {
				case lineCh <- lines:
				default:
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				return
			}
		}
	}()

	type swapAt struct {
		t, logged time.Time
		line      int64
		from, to  string
		err       error
	}
	var swaps []swapAt
	cur := 0
	next := 0
	for lines := range lineCh {
		if next >= len(o.at) || float64(lines) < o.at[next]*float64(o.expectLines) {
			continue
		}
		next++
		to := 1 - cur
		img := withNonce(builds[to], fmt.Sprintf("swap %d at %d", next, time.Now().UnixNano()))
		sw := swapAt{line: lines, from: name(o, cur), to: name(o, to)}
		sw.t = time.Now()
		if err := replace(o.pluginFile, img); err != nil {
			_ = cmd.Process.Kill()
			return res, err
		}
		// Wait for the log line; the stream keeps running meanwhile (the
		// reader goroutine keeps draining stdout).
		l, ok := waitSwapped(swapped, eof)
		switch {
		case !ok:
			sw.err = fmt.Errorf("swap %d: no \"plugin swapped\" log line (the stream ended, or 2 minutes passed)", next)
		case !strings.Contains(l.text, `msg="plugin swapped"`):
			sw.err = fmt.Errorf("swap %d refused: %s", next, l.text)
		default:
			sw.logged = l.t
		}
		swaps = append(swaps, sw)
		if sw.err != nil {
			_ = cmd.Process.Kill()
			break
		}
		cur = to
	}
	for range lineCh {
	}
	rerr := <-readErr
	werr := cmd.Wait()
	wg.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKB = ru.Maxrss
	}
	var tail []string
	for _, l := range logs[max(0, len(logs)-20):] {
		tail = append(tail, l.text)
	}
	for _, sw := range swaps {
		if sw.err != nil {
			return res, fmt.Errorf("%w\nsluice stderr (last lines):\n%s", sw.err, strings.Join(tail, "\n"))
		}
	}
	if werr != nil || rerr != nil {
		return res, fmt.Errorf("sluice: %v %v\nsluice stderr (last lines):\n%s", werr, rerr, strings.Join(tail, "\n"))
	}
	if len(swaps) < len(o.at) {
		return res, fmt.Errorf("the stream ended after %d of %d swaps: it is too short (%d lines, -expect-lines %d)", len(swaps), len(o.at), lastLines(reads), o.expectLines)
	}
	for _, l := range logs {
		if m := summaryRE.FindStringSubmatch(l.text); m != nil {
			res.Rows, _ = strconv.ParseInt(m[1], 10, 64)
			res.RowsOut, _ = strconv.ParseInt(m[2], 10, 64)
			res.Pages, _ = strconv.ParseInt(m[3], 10, 64)
			if d, err := time.ParseDuration(m[4]); err == nil {
				res.Seconds = d.Seconds()
				res.RowsPerS = float64(res.Rows) / d.Seconds()
			}
		}
	}
	if res.Pages == 0 {
		return res, fmt.Errorf("no summary line from sluice\nsluice stderr (last lines):\n%s", strings.Join(tail, "\n"))
	}
	res.Lines = lastLines(reads)

	// Bursts: pages.
	var starts []time.Time
	var prev time.Time
	for _, r := range reads {
		if prev.IsZero() || r.t.Sub(prev) >= o.burst {
			starts = append(starts, r.t)
		}
		prev = r.t
	}
	res.Bursts = len(starts)
	type gap struct {
		from, to time.Time
		ms       float64
	}
	var gaps []gap
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, gap{starts[i-1], starts[i], float64(starts[i].Sub(starts[i-1])) / 1e6})
	}
	in := func(g gap, sw swapAt) bool {
		end := sw.logged.Add(o.after)
		return g.to.After(sw.t) && g.from.Before(end)
	}
	var normal []float64
	for _, g := range gaps {
		inAny := false
		for _, sw := range swaps {
			if in(g, sw) {
				inAny = true
			}
		}
		if !inAny {
			normal = append(normal, g.ms)
		}
	}
	if len(normal) < 5 {
		return res, fmt.Errorf("only %d page gaps outside the swap windows: the stream is too short to measure", len(normal))
	}
	slices.Sort(normal)
	res.MedianGapMs = normal[len(normal)/2]
	res.P99GapMs = normal[min(len(normal)-1, len(normal)*99/100)]
	for _, g := range gaps {
		if g.ms <= 4*res.MedianGapMs {
			continue
		}
		lg := LongGap{StartMs: float64(g.from.Sub(starts[0])) / 1e6, GapMs: g.ms}
		for i, sw := range swaps {
			if in(g, sw) {
				lg.Swap = i + 1
			}
		}
		res.LongGaps = append(res.LongGaps, lg)
	}
	for _, sw := range swaps {
		s := Swap{From: sw.from, To: sw.to, AtLine: sw.line, SwappedMs: float64(sw.logged.Sub(sw.t)) / 1e6}
		for _, g := range gaps {
			if in(g, sw) {
				s.GapsInRange++
				s.MaxGapMs = max(s.MaxGapMs, g.ms)
			}
		}
		s.Ratio = s.MaxGapMs / res.MedianGapMs
		res.WorstRatio = max(res.WorstRatio, s.Ratio)
		res.Swaps = append(res.Swaps, s)
	}
	return res, nil
}

// waitSwapped waits for the swap's log line; after the end of sluice's
// output it still waits a little, for stderr may trail stdout.
func waitSwapped(swapped <-chan logLine, eof <-chan struct{}) (logLine, bool) {
	select {
	case l := <-swapped:
		return l, true
	case <-eof:
	case <-time.After(2 * time.Minute):
		return logLine{}, false
	}
	select {
	case l := <-swapped:
		return l, true
	case <-time.After(3 * time.Second):
		return logLine{}, false
	}
}

func lastLines(reads []read) int64 {
	if len(reads) == 0 {
		return 0
	}
	return reads[len(reads)-1].lines
}

func name(o options, i int) string {
	if i == 0 {
		return o.a
	}
	return o.b
}

// replace writes b to path atomically: a temporary file in the same
// directory, then a rename over path.
func replace(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".swap-*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// withNonce returns a copy of the module with a custom section
// "sluice.bench.nonce" holding nonce appended: the same code, another
// SHA-256.
func withNonce(wasm []byte, nonce string) []byte {
	const sec = "sluice.bench.nonce"
	var payload []byte
	payload = appendULEB(payload, uint64(len(sec)))
	payload = append(payload, sec...)
	payload = append(payload, nonce...)
	out := slices.Clip(wasm)
	out = append(out, 0) // custom section id
	out = appendULEB(out, uint64(len(payload)))
	return append(out, payload...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
