package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Report is everything the Markdown report is made of.
type Report struct {
	Opts      Options
	Cases     []*Case
	Started   time.Time
	Took      time.Duration
	LoadStart string
	LoadEnd   string
}

func (r *Report) find(id string) *Case {
	for _, c := range r.Cases {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// ok returns the samples of c that succeeded.
func ok(c *Case) []Sample {
	if c == nil {
		return nil
	}
	var out []Sample
	for _, s := range c.Samples {
		if s.Err == "" {
			out = append(out, s)
		}
	}
	return out
}

func failedRuns(c *Case) int {
	n := 0
	for _, s := range c.Samples {
		if s.Err != "" {
			n++
		}
	}
	return n
}

func col(ss []Sample, f func(Sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

func rate(s Sample) float64 { return s.RowsPerS }

// cpuPerM is the client's CPU seconds (user+system, the whole process:
// connecting and compiling included) per million rows read.
func cpuPerM(s Sample) float64 {
	if s.Rows <= 0 {
		return 0
	}
	return s.CPU / float64(s.Rows) * 1e6
}

// cpuRatio is the median over rounds of num's CPU per row divided by den's
// in the same round (the two ran minutes apart at most, so a slow phase of
// the machine weighs on both); rounds where either failed are left out.
// It returns the ratio, the number of paired rounds, and why there is
// none.
func cpuRatio(num, den *Case) (float64, int, string) {
	switch {
	case num == nil || den == nil:
		return 0, 0, "case not defined"
	case num.Skip != "":
		return 0, 0, num.ID + " " + num.Skip
	case den.Skip != "":
		return 0, 0, den.ID + " " + den.Skip
	}
	byRound := map[int]Sample{}
	for _, s := range ok(den) {
		byRound[s.Round] = s
	}
	var rs []float64
	for _, s := range ok(num) {
		if d, found := byRound[s.Round]; found && cpuPerM(d) > 0 {
			rs = append(rs, cpuPerM(s)/cpuPerM(d))
		}
	}
	if len(rs) == 0 {
		return 0, 0, "no round where both " + num.ID + " and " + den.ID + " ran"
	}
	return median(rs), len(rs), ""
}
func rss(s Sample) float64 { return float64(s.RSSKB) / 1024 }

// medianRate is the median rows/s of c, or 0 with the reason it has none.
func medianRate(c *Case) (float64, string) {
	switch {
	case c == nil:
		return 0, "case not defined"
	case c.Skip != "":
		return 0, c.ID + " " + c.Skip
	case len(ok(c)) == 0:
		return 0, c.ID + " failed"
	}
	return median(col(ok(c), rate)), ""
}

// Markdown renders the generated part of the report.
func (r *Report) Markdown() string {
	o := r.Opts
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	if o.Section == "replay" {
		r.replay(&b)
		return b.String()
	}
	title := "full run"
	if o.Mode == "smoke" {
		title = "smoke run (tiny sizes: the numbers only show that the script works)"
	}
	p("## Results: %s\n\n", title)
	p("Run %s, took %s: `%s`. %d round(s); each round runs every case once, in an order rotated by one case per round; the tables give medians over the rounds. Load average (1, 5, 15 min) at the start: %s; at the end: %s.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second), o.Invocation, o.Rounds, r.LoadStart, r.LoadEnd)
	info := func(k string) string {
		if v := o.Info[k]; v != "" {
			return v
		}
		return "?"
	}
	p("**Machine**: %s CPUs (%s), %s memory, %s. Go %s. Apache Cassandra %s, one node on the same machine (heap %s), contact point %s. sluice %s. Python %s.\n\n",
		info("nproc"), info("cpu"), info("memory"), info("kernel"), info("go"), info("cassandra"), info("heap"), o.Host, info("sluice"), info("python"))
	p("**Table**: `sluice_bench.%s`, %s rows: `id uuid PRIMARY KEY, seq bigint, bucket int, name text, email text, score double, active boolean, created timestamp, amount decimal, tags set<text>, payload blob` (about 206 bytes of cell data per row; `bucket = seq %% 100`). Page size %d for every client.\n\n",
		o.Table, thousands(o.Rows), o.PageSize)

	r.goals(&b)
	r.table(&b)
	r.beforeAfter(&b)
	r.sinks(&b)
	r.swaps(&b)
	r.problems(&b)
	r.commands(&b)
	return b.String()
}

func (r *Report) goals(b *strings.Builder) {
	o := r.Opts
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### Goals\n\n")
	if o.Mode == "smoke" {
		p("Smoke sizes: the verdicts below are computed the same way as in the full run but mean nothing at these sizes.\n\n")
	}
	p("| goal | measured | target | verdict |\n|---|---|---|---|\n")
	verdict := func(v float64, why string, atLeast bool, target float64) string {
		switch {
		case why != "":
			return "not measured"
		case atLeast && v >= target, !atLeast && v <= target:
			return "**met**"
		default:
			return "**missed**"
		}
	}
	ratio := func(num, den *Case) (float64, string, string) {
		a, wa := medianRate(num)
		d, wd := medianRate(den)
		if wa != "" || wd != "" {
			return 0, strings.Trim(wa+"; "+wd, "; "), ""
		}
		return a / d, "", fmt.Sprintf("%s / %s rows/s", thousands(int64(a)), thousands(int64(d)))
	}
	row := func(goal string, v float64, why, detail, target string, atLeast bool, t float64, format string) {
		m := why
		if why == "" {
			m = fmt.Sprintf(format, v)
			if detail != "" {
				m += " (" + detail + ")"
			}
		}
		p("| %s | %s | %s | %s |\n", goal, m, target, verdict(v, why, atLeast, t))
	}

	// Client CPU per row against the raw driver in the same rounds: the
	// goals of the figure that decides how many rows one sluice process
	// moves on a real cluster.
	cpuRow := func(goal string, num, den *Case, atMost bool, t float64, target string) {
		v, n, why := cpuRatio(num, den)
		d := ""
		if why == "" {
			d = fmt.Sprintf("%.2f / %.2f CPU-s per M rows, median of %d paired rounds", median(col(ok(num), cpuPerM)), median(col(ok(den), cpuPerM)), n)
		}
		row(goal, v, why, d, target, !atMost, t, "%.2f×")
	}
	cpuRow("CPU per row: sluice one stream, drop-all plugin / raw driver one stream (no goal: the floor of every other case)",
		r.find("sluice-dropall"), r.find("raw-single"), true, 1.10, "≤ 1.10×")
	for _, c := range r.Cases {
		if strings.HasPrefix(c.ID, "sluice-dropall-parallel-") && c.Before == "" {
			cpuRow(fmt.Sprintf("CPU per row: sluice split scan, concurrency %d, drop-all plugin / raw driver, %d goroutines", c.Conc, c.Conc),
				c, r.find(c.Ref), true, 1.10, "≤ 1.10×")
		}
	}
	cpuRow("CPU per row: sluice JSONL rendering of every row (no-op plugin) / raw driver one stream", r.find("sluice-noop-jsonl"), r.find("raw-single"), true, 1.30, "≤ 1.30×")
	cpuRow("CPU per row: sluice CSV rendering of every row (no-op plugin) / raw driver one stream (no goal in the issue; JSONL's shown for reference)", r.find("sluice-noop-csv"), r.find("raw-single"), true, 1.30, "≤ 1.30×")
	for _, l := range filterLangs {
		cpuRow(fmt.Sprintf("CPU per row: sluice filter plugin (%s SDK), 1%% kept / raw driver one stream", l.name), r.find("sluice-filter-"+l.id+"-1pct"), r.find("raw-single"), true, 1.25, "≤ 1.25×")
	}
	cpuRow("CPU per row: async-python-cassandra `execute_stream` / sluice one stream (drop-all plugin)", r.find("python-async"), r.find("sluice-dropall"), false, 10, "≥ 10×")

	v, why, d := ratio(r.find("sluice-dropall"), r.find("raw-single"))
	row("rows/s: sluice one stream (drop-all plugin) / raw driver one stream", v, why, d, "≥ 0.95", true, 0.95, "%.2f")

	bestOf := func(prefix string) *Case {
		var best *Case
		bv := -1.0
		for _, c := range r.Cases {
			if !strings.HasPrefix(c.ID, prefix) || c.Before != "" {
				continue
			}
			if v, why := medianRate(c); why == "" && v > bv {
				best, bv = c, v
			}
		}
		return best
	}
	bs, br := bestOf("sluice-dropall-parallel-"), bestOf("raw-parallel-")
	v, why, d = ratio(bs, br)
	if why == "" {
		d = fmt.Sprintf("best %s / best %s: %s", bs.ID, br.ID, d)
	}
	row("rows/s: sluice parallel splits / raw driver parallel (best concurrency of each)", v, why, d, "≥ 0.95", true, 0.95, "%.2f")

	v, why, d = ratio(r.find("sluice-dropall"), r.find("python-async"))
	row("rows/s: sluice one stream / async-python-cassandra `execute_stream` (capped by the one local node)", v, why, d, "≥ 10×", true, 10, "%.1f×")

	bigC, smallC := r.find("sluice-noop-jsonl-big"), r.find("sluice-noop-jsonl")
	switch {
	case bigC.Skip != "":
		row("sluice peak RSS at the big table (5,000,000 rows by default) / at the main table", 0, "big table "+bigC.Skip, "", "≤ 1.10", false, 1.10, "%.2f")
	case len(ok(bigC)) == 0 || len(ok(smallC)) == 0:
		row("sluice peak RSS big / small", 0, "a memory case failed", "", "≤ 1.10", false, 1.10, "%.2f")
	default:
		a, c := median(col(ok(bigC), rss)), median(col(ok(smallC), rss))
		row(fmt.Sprintf("sluice peak RSS at %s rows / at %s rows (no-op plugin, JSONL)", thousands(o.BigRows), thousands(o.Rows)), a/c, "",
			fmt.Sprintf("%.1f / %.1f MiB", a, c), "≤ 1.10", false, 1.10, "%.2f")
	}

	sw := r.find("swap-filter-c-rust")
	var ratios []float64
	for _, s := range ok(sw) {
		for _, x := range s.Swap.Swaps {
			ratios = append(ratios, x.Ratio)
		}
	}
	switch {
	case sw.Skip != "":
		row("hot swap: longest page gap around a swap / median gap", 0, "swap "+sw.Skip, "", "≤ 2", false, 2, "%.2f")
	case len(ratios) == 0:
		row("hot swap: longest page gap around a swap / median gap", 0, "the swap case failed", "", "≤ 2", false, 2, "%.2f")
	default:
		row("hot swap: longest page gap around a swap / median gap (median over swaps)", median(ratios), "",
			fmt.Sprintf("%d swaps; worst %.2f", len(ratios), slices.Max(ratios)), "≤ 2", false, 2, "%.2f")
	}
	p("\n")
}

func (r *Report) table(b *strings.Builder) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	ref, refWhy := medianRate(r.find("raw-single"))
	p("### Client CPU per row, throughput and memory\n\n")
	p("**CPU s / M rows** is the primary figure: the client process's user+system CPU seconds (rusage of the whole process: connecting and, for sluice, loading the compiled plugins included) per million rows read, median and range over the rounds. \"× raw CPU\" is the median over rounds of that figure divided by the raw driver's in the same round (`raw-single` for one stream, `raw-parallel-N` for concurrency N). ")
	p("rows/s is each tool's own measure of its scan (from the query to the last row; connecting and compiling plugins are not counted), median and range over the rounds. \"× ref\" divides by the reference's median. Peak RSS is the client process's (rusage maxrss); CPU is the client's user+system seconds and the Cassandra node's over the same run (\"?\" when the node was restarted meanwhile): on 2 cores the client's CPU is taken from the node.\n\n")
	if refWhy != "" {
		p("The reference did not run (%s): no ratios.\n\n", refWhy)
	}
	p("| case | what | **CPU s / M rows** | range | × raw CPU | rows/s | range | × ref | peak RSS MiB | node CPU s | wall s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	groups := []string{groupRaw, groupSingle, groupParallel, groupSinks, groupPython, groupBig}
	for _, g := range groups {
		p("| **%s** | | | | | | | | | | |\n", g)
		for _, c := range r.Cases {
			if c.Group != g || c.Before != "" || strings.HasPrefix(c.Skip, "not run: -only") {
				continue
			}
			ss := ok(c)
			switch {
			case c.Skip != "":
				p("| `%s` | %s | — | | | | | | | | |\n", c.ID, c.Label+" — "+c.Skip)
				continue
			case len(ss) == 0:
				p("| `%s` | %s — **failed** (see below) | — | | | | | | | | |\n", c.ID, c.Label)
				continue
			}
			rates := col(ss, rate)
			m := median(rates)
			x := "—"
			if ref > 0 {
				x = fmt.Sprintf("%.2f", m/ref)
			}
			label := c.Label
			if n := failedRuns(c); n > 0 {
				label += fmt.Sprintf(" (**%d run(s) failed**, see below)", n)
			}
			var node []float64
			for _, s := range ss {
				if s.NodeCPU >= 0 {
					node = append(node, s.NodeCPU)
				}
			}
			nodeText := "?"
			if len(node) > 0 {
				nodeText = fmt.Sprintf("%.1f", median(node))
			}
			cpus := col(ss, cpuPerM)
			xc := "—"
			if c.Ref == c.ID {
				xc = "1.00"
			} else if v, _, why := cpuRatio(c, r.find(c.Ref)); why == "" {
				xc = fmt.Sprintf("%.2f", v)
			}
			p("| `%s` | %s | **%.2f** | %.2f – %.2f | %s | %s | %s – %s | %s | %.1f | %s | %.1f |\n", c.ID, label,
				median(cpus), slices.Min(cpus), slices.Max(cpus), xc,
				thousands(int64(m)), thousands(int64(slices.Min(rates))), thousands(int64(slices.Max(rates))), x,
				median(col(ss, rss)), nodeText, median(col(ss, func(s Sample) float64 { return s.Wall })))
		}
	}
	p("\n")
}

func (r *Report) swaps(b *strings.Builder) {
	c := r.find("swap-filter-c-rust")
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### Hot swap\n\n")
	if c.Skip != "" {
		p("%s.\n\n", strings.ToUpper(c.Skip[:1])+c.Skip[1:])
		return
	}
	p("%s. `bench/cmd/swapgap` reads sluice's stdout itself and timestamps every read; each page's kept rows arrive in one write, so reads closer than 1 ms are one page, and the gap of a page is the time between the starts of consecutive pages (bursts; their count is checked against sluice's page count). Each swapped-in copy carries a fresh nonce custom section, so every swap compiles a new module, as a real new version would. The swap's gap is the longest gap overlapping the window from the file replacement to 0.5 s after sluice logs `plugin swapped`; the median and p99 are over all other gaps.\n\n", c.Label)
	p("| round | rows/s | pages / bursts | median gap ms | p99 gap ms | swap: reload took ms, longest gap ms, ratio |\n|---:|---:|---:|---:|---:|---|\n")
	for _, s := range c.Samples {
		if s.Err != "" {
			p("| %d | **failed** (see below) | | | | |\n", s.Round)
			continue
		}
		w := s.Swap
		var parts []string
		for i, x := range w.Swaps {
			parts = append(parts, fmt.Sprintf("#%d %s→%s: %.0f, %.0f, **%.2f**", i+1, langOf(x.From), langOf(x.To), x.SwappedMs, x.MaxGapMs, x.Ratio))
		}
		p("| %d | %s | %d / %d | %.1f | %.1f | %s |\n", s.Round, thousands(int64(w.RowsPerS)), w.Pages, w.Bursts, w.MedianGapMs, w.P99GapMs, strings.Join(parts, "; "))
	}
	var long []string
	for _, s := range ok(c) {
		for _, g := range s.Swap.LongGaps {
			where := "no swap"
			if g.Swap > 0 {
				where = fmt.Sprintf("swap #%d", g.Swap)
			}
			long = append(long, fmt.Sprintf("round %d: %.0f ms at %.1f s (%s)", s.Round, g.GapMs, g.StartMs/1000, where))
		}
	}
	if len(long) > 0 {
		p("\nGaps longer than 4 × the median: %s.\n", strings.Join(long, "; "))
	}
	p("\n")
}

func langOf(path string) string {
	return filepath.Base(filepath.Dir(path))
}

func (r *Report) problems(b *strings.Builder) {
	var lines []string
	for _, c := range r.Cases {
		for _, s := range c.Samples {
			if s.Err != "" {
				lines = append(lines, fmt.Sprintf("* `%s`, round %d:\n\n  ```\n%s\n  ```", c.ID, s.Round, indentBy(s.Err, "  ")))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "### Failed runs\n\n%s\n\n", strings.Join(lines, "\n"))
}

func indentBy(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}

func (r *Report) commands(b *strings.Builder) {
	o := r.Opts
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### Commands\n\n")
	p("Everything above came from `%s`. The cases ran these commands (paths relative to the repository root; `%s` holds the generated configs):\n\n", o.Invocation, relPath(o, o.Workdir))
	p("```sh\n")
	for _, c := range r.Cases {
		if c.Skip != "" {
			continue
		}
		args := make([]string, len(c.Argv))
		for i, a := range c.Argv {
			args[i] = relPath(o, a)
		}
		suffix := ""
		if c.Kind == kindSluice {
			suffix = " >/dev/null"
		}
		p("%s%s    # %s\n", strings.Join(args, " "), suffix, c.ID)
	}
	p("```\n\n")
	if c := r.find("sluice-filter-c-1pct"); c != nil && c.Skip == "" {
		if cfg, err := os.ReadFile(c.Config); err == nil {
			p("The config of `sluice-filter-c-1pct`; the others differ only in the plugin, its config table, the table and `concurrency`:\n\n```toml\n%s```\n\n", strings.ReplaceAll(string(cfg), o.Root+"/", ""))
		}
	}
}

func relPath(o Options, p string) string {
	if strings.HasPrefix(p, o.Root+"/") {
		return strings.TrimPrefix(p, o.Root+"/")
	}
	return p
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	r := strings.Join(out, ",")
	if neg {
		r = "-" + r
	}
	return r
}

// beforeAfter compares the cases run with the -baseline binary with the
// same cases run with this checkout's sluice, in the same rounds.
func (r *Report) beforeAfter(b *strings.Builder) {
	o := r.Opts
	if o.Baseline == "" {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### Before and after\n\n")
	p("The CPU-goal cases ran twice in every round: with the baseline sluice (%s, `%s`) and with this checkout's. Each ratio is the median over rounds of the case's CPU per row divided by its raw-driver reference's in the same round; \"after / before\" divides the two sluice builds directly, round by round.\n\n", o.BaselineRev, relPath(o, o.Baseline))
	p("| case | raw reference | before: × raw CPU | after: × raw CPU | after / before | before CPU s / M rows | after CPU s / M rows |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, bc := range r.Cases {
		if bc.Before == "" {
			continue
		}
		ac := r.find(bc.Before)
		if bc.Skip != "" || ac.Skip != "" {
			continue
		}
		vb, _, wb := cpuRatio(bc, r.find(bc.Ref))
		va, _, wa := cpuRatio(ac, r.find(ac.Ref))
		vab, _, wab := cpuRatio(ac, bc)
		f := func(v float64, why string) string {
			if why != "" {
				return "—"
			}
			return fmt.Sprintf("%.2f", v)
		}
		m := func(c *Case) string {
			if len(ok(c)) == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", median(col(ok(c), cpuPerM)))
		}
		p("| `%s` | `%s` | %s | %s | %s | %s | %s |\n", ac.ID, ac.Ref, f(vb, wb), f(va, wa), f(vab, wab), m(bc), m(ac))
	}
	p("\n")
}

// replay renders the replay section: the same clients against
// bench/cmd/cqlreplay instead of the node.
func (r *Report) replay(b *strings.Builder) {
	o := r.Opts
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("## Replay: the clients' own ceiling, the node out of the way\n\n")
	p("Run %s, took %s: `%s`. %d round(s), interleaved as above. Load average (1, 5, 15 min) at the start: %s; at the end: %s.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second), o.Invocation, o.Rounds, r.LoadStart, r.LoadEnd)
	p("`bench/cmd/cqlreplay` recorded every response the node sent each client below for one scan of `sluice_bench.%s` (%s rows, protocol v4), and then served them back from memory on %s: the same frames, byte for byte, as fast as the client asks. So rows/s here is each client's ceiling on this machine (2 cores shared with the replay server, which only copies recorded frames to the socket), and CPU per row is the client's own work with no waiting on a node.\n\n",
		o.Table, thousands(o.Rows), o.Host)
	p("| case | rows/s | rows per client CPU-second | × raw driver (rows per CPU-second) |\n|---|---:|---:|---:|\n")
	for _, c := range r.Cases {
		if c.Skip != "" || c.Before != "" || len(ok(c)) == 0 || c.Group == groupPython || c.Group == groupBig || c.Kind == kindSwap {
			continue
		}
		ss := ok(c)
		x := "—"
		if v, _, why := cpuRatio(c, r.find(c.Ref)); why == "" && v > 0 {
			x = fmt.Sprintf("%.2f (vs `%s`)", 1/v, c.Ref)
		}
		p("| `%s` | %s | %s | %s |\n", c.ID, thousands(int64(median(col(ss, rate)))), thousands(int64(1e6/median(col(ss, cpuPerM)))), x)
	}
	p("\n")
	r.table(b)
	r.beforeAfter(b)
	r.problems(b)
	r.commands(b)
}

// sinks compares the kafka and parquet sinks with the file sink, measured
// in the same rounds: rows/s, client CPU per row, and output size.
func (r *Report) sinks(b *strings.Builder) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	file := r.find("sluice-sink-file")
	if file == nil || len(ok(file)) == 0 {
		return
	}
	perRow := func(c *Case) float64 {
		return median(col(ok(c), func(s Sample) float64 { return s.CPU / float64(max(s.Rows, 1)) }))
	}
	size := func(c *Case) float64 {
		return median(col(ok(c), func(s Sample) float64 { return float64(s.OutBytes) }))
	}
	fr, fc := median(col(ok(file), rate)), perRow(file)
	p("### Sinks against the file sink\n\n")
	p("The same stream (no-op plugin, every row written, checkpoints every 2 s, exactly once) into each sink, interleaved in the same rounds; medians. The file sink writes JSONL.\n\n")
	p("| sink | rows/s | × file | client CPU µs/row | × file | output MiB | × JSONL |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, id := range []string{"sluice-sink-file", "sluice-sink-parquet", "sluice-sink-kafka"} {
		c := r.find(id)
		if c == nil {
			continue
		}
		if c.Skip != "" || len(ok(c)) == 0 {
			why := c.Skip
			if why == "" {
				why = "failed (see below)"
			}
			p("| `%s` | — %s | | | | | |\n", id, why)
			continue
		}
		cr, cc := median(col(ok(c), rate)), perRow(c)
		sz, szx := "—", "—"
		if s := size(c); s > 0 {
			sz = fmt.Sprintf("%.1f", s/(1<<20))
			if fs := size(file); fs > 0 {
				szx = fmt.Sprintf("%.2f", s/fs)
			}
		}
		p("| `%s` | %s | %.2f | %.2f | %.2f | %s | %s |\n", id, thousands(int64(cr)), cr/fr, cc*1e6, cc/fc, sz, szx)
	}
	p("\n")
}
