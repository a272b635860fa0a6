// Command compare runs the side-by-side benchmark cases of bench/run and
// writes the results as Markdown.
//
// bench/run prepares everything first (tools built, tables loaded, the
// Python venv) and then calls compare, which
//
//   - writes one sluice config per sluice case under -workdir;
//   - runs every case -rounds times, interleaved: round r runs each case
//     once, in an order rotated by r, so slow phases of a noisy machine
//     spread over all cases instead of hitting one;
//   - measures every run from outside: peak RSS and CPU time from the
//     child's rusage (wait4), the CPU time the Cassandra node spent
//     meanwhile (/proc/PID/stat), wall time; rows/s is what the tool
//     itself reports for its scan (sluice's summary line, rawscan's and
//     scan.py's JSON), which leaves out connecting and, for sluice,
//     compiling plugins;
//   - checks row counts (every case must read exactly the table's rows,
//     and each sluice case must write exactly the rows its filter keeps);
//   - takes medians over the rounds, evaluates the goals and writes the
//     report between the result markers of -out (creating the file, or
//     replacing only the generated part of an existing one), plus every
//     sample as JSON next to it (-json).
//
// A case that fails is reported as failed in the table, the other cases
// still run, and compare exits with status 1.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options are compare's flags.
type Options struct {
	Mode        string // "full" or "smoke": only labels the report
	Root        string // repository root (absolute)
	Workdir     string // configs and scratch files
	Out         string // Markdown report
	JSON        string // raw samples
	Host        string
	Table       string
	Rows        int64
	BigTable    string
	BigRows     int64 // 0 = no big-table case
	Rounds      int
	PageSize    int
	Concurrency []int
	Sluice      string
	Rawscan     string
	Swapgap     string
	Python      string // venv python; "" = Python cases not run
	PythonWhy   string // why Python is absent
	Kafka       string // seed broker of the kafka sink case; "" = not run
	KafkaWhy    string // why Kafka is absent
	SwapAt      string
	SwapKeep    int     // swap run: bucket < SwapKeep is kept
	SwapPage    int     // swap run: page size
	SwapRate    float64 // swap run: rate_limit_pages (0 = unlimited)
	NodePID     int
	Invocation  string         // the bench/run command line, for the report
	Baseline    string         // sluice binary of the "before" cases ("" = none)
	BaselineRev string         // what Baseline was built from, for the report
	Only        *regexp.Regexp // run only the cases whose id matches (nil = all)
	Proto       int            // native protocol version of every client (0 = negotiate)
	Section     string         // "" = the main results; "replay" = the replay section of -out
	Info        map[string]string
	Timeout     time.Duration
}

func main() {
	var o Options
	var conc, info string
	flag.StringVar(&o.Mode, "mode", "full", "full or smoke (labels the report)")
	flag.StringVar(&o.Root, "root", ".", "repository root")
	flag.StringVar(&o.Workdir, "workdir", "bench/results/work", "directory for generated configs")
	flag.StringVar(&o.Out, "out", "BENCHMARKS.md", "Markdown report (its generated part is replaced)")
	flag.StringVar(&o.JSON, "json", "", "write every sample here as JSON (\"\" = none)")
	flag.StringVar(&o.Host, "host", "127.0.0.1:9042", "Cassandra contact point host:port")
	flag.StringVar(&o.Table, "table", "wide", "table in sluice_bench")
	flag.Int64Var(&o.Rows, "rows", 0, "rows the table holds")
	flag.StringVar(&o.BigTable, "big-table", "wide_big", "big table for the memory case")
	flag.Int64Var(&o.BigRows, "big-rows", 0, "rows of -big-table (0 = skip the big case)")
	flag.IntVar(&o.Rounds, "rounds", 3, "rounds; each runs every case once")
	flag.IntVar(&o.PageSize, "page-size", 5000, "rows per page for every client")
	flag.StringVar(&conc, "concurrency", "4,8,16", "parallel cases: concurrency values")
	flag.StringVar(&o.Sluice, "sluice", "bin/sluice", "sluice binary")
	flag.StringVar(&o.Rawscan, "rawscan", "", "rawscan binary")
	flag.StringVar(&o.Swapgap, "swapgap", "", "swapgap binary")
	flag.StringVar(&o.Python, "python", "", "python of the venv with cassandra-driver and async-cassandra (\"\" = skip)")
	flag.StringVar(&o.PythonWhy, "python-missing", "", "why -python is empty (shown in the report)")
	flag.StringVar(&o.Kafka, "kafka", "", "seed broker host:port of the kafka sink case (\"\" = skip)")
	flag.StringVar(&o.KafkaWhy, "kafka-missing", "", "why -kafka is empty (shown in the report)")
	flag.StringVar(&o.SwapAt, "swap-at", "0.2,0.4,0.6,0.8", "swap points, shares of the swap stream's output")
	flag.IntVar(&o.SwapKeep, "swap-keep", 1, "swap stream: keep rows with bucket < this (1 = 1%)")
	flag.IntVar(&o.SwapPage, "swap-page-size", 5000, "swap stream: page size")
	flag.Float64Var(&o.SwapRate, "swap-rate-pages", 0, "swap stream: rate_limit_pages (0 = full speed)")
	flag.IntVar(&o.NodePID, "node-pid", 0, "pid of the Cassandra node (0 = do not measure its CPU)")
	flag.StringVar(&o.Invocation, "invocation", "bench/run", "command line of bench/run, for the report")
	flag.StringVar(&info, "info", "", "machine facts for the report: key=value lines")
	flag.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "limit of one run")
	flag.StringVar(&o.Baseline, "baseline", "", "sluice binary to run the CPU-goal cases with as well, for before/after ratios (\"\" = none)")
	flag.StringVar(&o.BaselineRev, "baseline-rev", "", "what -baseline was built from (shown in the report)")
	flag.IntVar(&o.Proto, "proto", 0, "native protocol version for rawscan and sluice (0 = negotiate; 4 for bench/cmd/cqlreplay)")
	flag.StringVar(&o.Section, "section", "", `report section: "" (main results) or "replay" (the replay ceiling, its own markers in -out)`)
	only := flag.String("only", "", "run only the cases whose id matches this regular expression (\"\" = all)")
	flag.Parse()
	for _, f := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			fatal(fmt.Errorf("-concurrency %q: want integers >= 2", conc))
		}
		o.Concurrency = append(o.Concurrency, n)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fatal(fmt.Errorf("-only: %w", err))
		}
		o.Only = re
	}
	o.Info = map[string]string{}
	for _, l := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			o.Info[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if o.Rows <= 0 || o.Rounds < 1 || o.Rawscan == "" || o.Swapgap == "" {
		fatal(errors.New("-rows, -rounds, -rawscan and -swapgap are required"))
	}
	var err error
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		fatal(err)
	}
	for _, p := range []*string{&o.Workdir, &o.Out, &o.JSON, &o.Sluice, &o.Rawscan, &o.Swapgap, &o.Baseline} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(o.Root, *p)
		}
	}
	if err := os.MkdirAll(o.Workdir, 0o755); err != nil {
		fatal(err)
	}
	failed, err := run(o)
	if err != nil {
		fatal(err)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench compare: %d case(s) failed; see %s\n", failed, o.Out)
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench compare:", err)
	os.Exit(1)
}

// Sample is one run of one case.
type Sample struct {
	Round    int     `json:"round"`
	RowsPerS float64 `json:"rows_per_s"`
	Rows     int64   `json:"rows"`
	RowsOut  int64   `json:"rows_out,omitempty"`
	Wall     float64 `json:"wall_s"`
	CPU      float64 `json:"cpu_s"`
	NodeCPU  float64 `json:"node_cpu_s"` // -1 = not measured
	RSSKB    int64   `json:"max_rss_kb"`
	OutBytes int64   `json:"out_bytes,omitempty"` // size of the case's output file or parquet files
	Err      string  `json:"error,omitempty"`
	// Swap is the swapgap result of a swap case.
	Swap *SwapResult `json:"swap,omitempty"`
}

// SwapResult mirrors swapgap's JSON line.
type SwapResult struct {
	Rows        int64   `json:"rows"`
	RowsOut     int64   `json:"rows_out"`
	Pages       int64   `json:"pages"`
	Bursts      int     `json:"bursts"`
	Lines       int64   `json:"lines"`
	Seconds     float64 `json:"seconds"`
	RowsPerS    float64 `json:"rows_per_s"`
	MedianGapMs float64 `json:"median_gap_ms"`
	P99GapMs    float64 `json:"p99_gap_ms"`
	Swaps       []struct {
		From      string  `json:"from"`
		To        string  `json:"to"`
		AtLine    int64   `json:"at_line"`
		SwappedMs float64 `json:"swapped_ms"`
		MaxGapMs  float64 `json:"max_gap_ms"`
		Ratio     float64 `json:"ratio"`
	} `json:"swaps"`
	WorstRatio float64 `json:"worst_ratio"`
	LongGaps   []struct {
		StartMs float64 `json:"start_ms"`
		GapMs   float64 `json:"gap_ms"`
		Swap    int     `json:"swap"`
	} `json:"long_gaps"`
	MaxRSSKB int64 `json:"max_rss_kb"`
}

func run(o Options) (failed int, err error) {
	if o.Kafka != "" {
		if err := ensureTopic(o.Kafka, benchTopic); err != nil {
			o.KafkaWhy = fmt.Sprintf("the broker at %s: %v", o.Kafka, err)
			o.Kafka = ""
		}
	}
	cases, err := buildCases(o)
	if err != nil {
		return 0, err
	}
	loadStart := readLoadavg()
	start := time.Now()
	var runnable []*Case
	for _, c := range cases {
		if c.Skip == "" && o.Only != nil && !o.Only.MatchString(c.ID) {
			c.Skip = "not run: -only " + o.Only.String()
		}
		if c.Skip == "" {
			runnable = append(runnable, c)
		}
	}
	for r := 0; r < o.Rounds; r++ {
		for i := range runnable {
			c := runnable[(i+r)%len(runnable)]
			fmt.Fprintf(os.Stderr, "bench: round %d/%d: %-28s ", r+1, o.Rounds, c.ID)
			s := measure(o, c)
			s.Round = r + 1
			c.Samples = append(c.Samples, s)
			if s.Err != "" {
				fmt.Fprintf(os.Stderr, "FAILED\n%s\n", indent(s.Err))
			} else {
				fmt.Fprintf(os.Stderr, "%9.0f rows/s  %6.1f MiB  %5.1fs\n", s.RowsPerS, float64(s.RSSKB)/1024, s.Wall)
			}
		}
	}
	for _, c := range runnable {
		for _, s := range c.Samples {
			if s.Err != "" {
				failed++
				break
			}
		}
	}
	rep := &Report{Opts: o, Cases: cases, Started: start, Took: time.Since(start), LoadStart: loadStart, LoadEnd: readLoadavg()}
	if o.JSON != "" {
		b, err := json.MarshalIndent(cases, "", "  ")
		if err != nil {
			return failed, err
		}
		if err := os.WriteFile(o.JSON, b, 0o644); err != nil {
			return failed, err
		}
	}
	if err := writeSection(o.Out, o.Section, rep.Markdown()); err != nil {
		return failed, err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s (%s)\n", o.Out, time.Since(start).Round(time.Second))
	return failed, nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

var summaryRE = regexp.MustCompile(`sluice: stream "[^"]*": rows in (\d+), rows out (\d+), pages (\d+), elapsed ([^,]+),`)

// measure runs one case once.
func measure(o Options, c *Case) Sample {
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = o.Root
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &limited{b: &stderr, max: 1 << 20}
	if c.Kind == kindSluice {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return Sample{Err: err.Error()}
		}
		defer devnull.Close()
		cmd.Stdout = devnull
	} else {
		cmd.Stdout = &limited{b: &stdout, max: 1 << 20}
	}
	node0 := nodeCPU(o.NodePID)
	t0 := time.Now()
	err := cmd.Run()
	var s Sample
	s.Wall = time.Since(t0).Seconds()
	// A node restarted during the run (another pid) cannot be measured.
	if node1 := nodeCPU(o.NodePID); node0 > 0 && node1 >= node0 {
		s.NodeCPU = node1 - node0
	} else {
		s.NodeCPU = -1
	}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			s.RSSKB = ru.Maxrss
			s.CPU = tv(ru.Utime) + tv(ru.Stime)
		}
	}
	if err != nil {
		s.Err = fmt.Sprintf("%s: %v\n%s", strings.Join(c.Argv, " "), err, tail(stderr.String(), 30))
		return s
	}
	switch c.Kind {
	case kindSluice:
		m := summaryRE.FindStringSubmatch(stderr.String())
		if m == nil {
			s.Err = "no summary line on sluice's stderr:\n" + tail(stderr.String(), 30)
			return s
		}
		s.Rows, _ = strconv.ParseInt(m[1], 10, 64)
		s.RowsOut, _ = strconv.ParseInt(m[2], 10, 64)
		d, err := time.ParseDuration(m[4])
		if err != nil || d <= 0 {
			s.Err = fmt.Sprintf("summary line: elapsed %q: %v", m[4], err)
			return s
		}
		s.RowsPerS = float64(s.Rows) / d.Seconds()
		if c.WantOut >= 0 && s.RowsOut != c.WantOut {
			s.Err = fmt.Sprintf("sluice wrote %d rows, the case expects %d", s.RowsOut, c.WantOut)
		}
	case kindJSON:
		var r struct {
			Rows     int64   `json:"rows"`
			RowsPerS float64 `json:"rows_per_s"`
		}
		if err := json.Unmarshal(lastLine(stdout.Bytes()), &r); err != nil {
			s.Err = fmt.Sprintf("result line %q: %v", lastLine(stdout.Bytes()), err)
			return s
		}
		s.Rows, s.RowsPerS = r.Rows, r.RowsPerS
	case kindSwap:
		var r SwapResult
		if err := json.Unmarshal(lastLine(stdout.Bytes()), &r); err != nil {
			s.Err = fmt.Sprintf("swapgap line %q: %v", lastLine(stdout.Bytes()), err)
			return s
		}
		s.Swap = &r
		s.Rows, s.RowsOut, s.RowsPerS, s.RSSKB = r.Rows, r.RowsOut, r.RowsPerS, r.MaxRSSKB
		if c.WantOut >= 0 && r.RowsOut != c.WantOut {
			s.Err = fmt.Sprintf("sluice wrote %d rows, the case expects %d", r.RowsOut, c.WantOut)
		}
	}
	if s.Err == "" && c.Output != "" {
		s.OutBytes = outputSize(c.Output)
	}
	if s.Err == "" && s.Rows != c.WantIn {
		s.Err = fmt.Sprintf("read %d rows, the table holds %d", s.Rows, c.WantIn)
	}
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// limited keeps the first max bytes written to it.
type limited struct {
	b   *bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// nodeCPU returns the CPU seconds (user+system) the process pid has used,
// or 0 when pid is 0 or unreadable.
func nodeCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func readLoadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

const (
	beginMarker = "<!-- bench/run: results begin (generated by bench/run; edit outside the markers) -->"
	endMarker   = "<!-- bench/run: results end -->"
)

// markers returns the begin and end markers of a report section.
func markers(section string) (string, string) {
	if section == "" {
		return beginMarker, endMarker
	}
	return "<!-- bench/run: " + section + " results begin (generated by bench/run; edit outside the markers) -->",
		"<!-- bench/run: " + section + " results end -->"
}

// writeReport replaces the generated part of path (between the markers)
// with body, or writes a new file holding only it.
func writeReport(path, body string) error { return writeSection(path, "", body) }

// writeSection is writeReport for the markers of section.
func writeSection(path, section, body string) error {
	beginMarker, endMarker := markers(section)
	gen := beginMarker + "\n" + body + endMarker + "\n"
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out := gen
	if i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker)); i >= 0 && j > i {
		rest := old[j+len(endMarker):]
		rest = bytes.TrimPrefix(rest, []byte("\n"))
		out = string(old[:i]) + gen + string(rest)
	} else if len(old) > 0 {
		out = string(old) + "\n" + gen
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// outputSize is the size of a file, or of the part-*.parquet files of a
// directory.
func outputSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if !st.IsDir() {
		return st.Size()
	}
	files, _ := filepath.Glob(filepath.Join(path, "part-*.parquet"))
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// ensureTopic creates topic (3 partitions) on the broker when missing.
func ensureTopic(seed, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seed))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	return nil
}
