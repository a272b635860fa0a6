package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Kinds of case: how a run's result is read.
const (
	kindJSON   = "json"   // one JSON line on stdout (rawscan, scan.py)
	kindSluice = "sluice" // sluice's summary line on stderr; stdout to /dev/null
	kindSwap   = "swap"   // swapgap's JSON line
)

// Groups of cases, in report order.
const (
	groupRaw      = "Raw gocql driver"
	groupSingle   = "sluice, one stream"
	groupParallel = "Parallel token-range scans"
	groupPython   = "Python clients"
	groupBig      = "Memory at the big table"
	groupSwap     = "Hot swap"
	groupSinks    = "Sinks (no-op plugin, checkpoint every 2 s, exactly once)"
)

// Case is one benchmark case.
type Case struct {
	ID      string   `json:"id"`
	Group   string   `json:"group"`
	Label   string   `json:"label"`
	Argv    []string `json:"argv"`
	Config  string   `json:"config,omitempty"` // sluice config file
	Kind    string   `json:"kind"`
	Table   string   `json:"table"`
	WantIn  int64    `json:"want_rows"`
	WantOut int64    `json:"want_rows_out"` // -1 = not checked
	Conc    int      `json:"concurrency,omitempty"`
	// Ref is the raw-driver case whose client CPU per row this case is
	// compared with (raw-single, or raw-parallel-N at the same concurrency).
	Ref string `json:"ref,omitempty"`
	// Before is set on a case that runs the -baseline sluice binary: it is
	// the "before" of the case named Before.
	Before  string   `json:"before_of,omitempty"`
	Skip    string   `json:"skip,omitempty"`
	Output  string   `json:"output,omitempty"` // file or directory whose size is measured
	Samples []Sample `json:"samples"`

	stream streamCfg // sluice cases: what the config says
}

// Filter builds, in report order. A build that is not there yet is
// reported as skipped, with the path that is missing.
var filterLangs = []struct{ id, name, dir string }{
	{"c", "C", "c"},
	{"rust", "Rust", "rust"},
	{"go", "Go", "go"},
	{"as", "AssemblyScript", "assemblyscript"},
}

// streamCfg is what varies between the sluice configs of the cases.
type streamCfg struct {
	Table       string
	Plugin      string            // absolute .wasm path
	PluginCfg   map[string]string // the plugin's [config] table
	Concurrency int
	PageSize    int
	Format      string  // sink format: jsonl (default) or csv
	RateLimit   float64 // pages/s, 0 = none
	LogLevel    string
	// Sink: "" = stdout JSONL (checkpoints off); file, parquet, kafka
	// write to SinkPath / the bench topic with checkpoints every 2 s.
	Sink     string
	SinkPath string
	CPDir    string
}

func buildCases(o Options) ([]*Case, error) {
	var cases []*Case
	N := o.Rows
	add := func(c *Case) { cases = append(cases, c) }
	raw := func(args ...string) []string {
		a := []string{o.Rawscan, "-host", o.Host, "-table", o.Table, "-page-size", strconv.Itoa(o.PageSize), "-expect", strconv.FormatInt(N, 10)}
		if o.Proto != 0 {
			a = append(a, "-proto", strconv.Itoa(o.Proto))
		}
		return append(a, args...)
	}

	// The reference and the raw parallel scans.
	add(&Case{ID: "raw-single", Group: groupRaw, Kind: kindJSON, Table: o.Table, WantIn: N, WantOut: -1, Ref: "raw-single",
		Label: "**reference**: one query, driver paging, prefetch 0.25, cells copied into a reused buffer",
		Argv:  raw("-mode", "single", "-paging", "auto", "-prefetch", "0.25")})
	for _, c := range o.Concurrency {
		add(&Case{ID: fmt.Sprintf("raw-parallel-%d", c), Group: groupParallel, Kind: kindJSON, Table: o.Table, WantIn: N, WantOut: -1, Conc: c, Ref: fmt.Sprintf("raw-parallel-%d", c),
			Label: fmt.Sprintf("raw driver, %d goroutines over %d equal token ranges", c, 4*c),
			Argv:  raw("-mode", "parallel", "-workers", strconv.Itoa(c), "-splits", strconv.Itoa(4*c))})
	}

	wasm := func(rel string) string { return filepath.Join(o.Root, rel) }
	dropall, noop := wasm("bench/wasm/dropall.wasm"), wasm("bench/wasm/noop.wasm")
	keepAll := map[string]string{"column": "seq", "op": ">=", "value": "0"}
	keep1 := map[string]string{"column": "bucket", "op": "<", "value": "1"}
	kept1 := keptBelow(N, 1)

	sluiceCase := func(id, group, label string, sc streamCfg, wantOut int64) *Case {
		c := &Case{ID: id, Group: group, Label: label, Kind: kindSluice, Table: sc.Table, WantIn: N, WantOut: wantOut, Conc: sc.Concurrency, Ref: "raw-single"}
		if sc.Concurrency > 1 {
			c.Ref = fmt.Sprintf("raw-parallel-%d", sc.Concurrency)
		}
		if sc.Table == o.BigTable {
			c.WantIn = o.BigRows
		}
		if _, err := os.Stat(sc.Plugin); err != nil {
			c.Skip = fmt.Sprintf("not built yet: %s is missing", rel(o, sc.Plugin))
			return c
		}
		c.stream = sc
		c.Config = filepath.Join(o.Workdir, "configs", id+".toml")
		c.Argv = []string{o.Sluice, "run", "-config", c.Config}
		return c
	}
	base := streamCfg{Table: o.Table, Concurrency: 1, PageSize: o.PageSize, LogLevel: "warn"}
	with := func(f func(*streamCfg)) streamCfg { s := base; f(&s); return s }

	add(sluiceCase("sluice-dropall", groupSingle, "no-op plugin that drops every row (bench/wasm/dropall.wat): paging + one plugin call per page, nothing rendered",
		with(func(s *streamCfg) { s.Plugin = dropall }), 0))
	add(sluiceCase("sluice-noop-jsonl", groupSingle, "no-op plugin passing every row (bench/wasm/noop.wat), every row rendered as JSONL to stdout (/dev/null)",
		with(func(s *streamCfg) { s.Plugin = noop }), N))
	add(sluiceCase("sluice-noop-csv", groupSingle, "no-op plugin passing every row, every row rendered as CSV to stdout (/dev/null)",
		with(func(s *streamCfg) { s.Plugin, s.Format = noop, "csv" }), N))
	for _, l := range filterLangs {
		p := wasm("plugins/examples/filter/" + l.dir + "/filter.wasm")
		add(sluiceCase("sluice-filter-"+l.id+"-1pct", groupSingle, fmt.Sprintf("filter example (%s), `bucket < 1` keeps 1%%, kept rows as JSONL", l.name),
			with(func(s *streamCfg) { s.Plugin, s.PluginCfg = p, keep1 }), kept1))
		add(sluiceCase("sluice-filter-"+l.id+"-all", groupSingle, fmt.Sprintf("filter example (%s), `seq >= 0` keeps every row, all rendered as JSONL", l.name),
			with(func(s *streamCfg) { s.Plugin, s.PluginCfg = p, keepAll }), N))
	}
	for _, c := range o.Concurrency {
		add(sluiceCase(fmt.Sprintf("sluice-dropall-parallel-%d", c), groupParallel,
			fmt.Sprintf("sluice, drop-all plugin, concurrency %d, splits auto (%d)", c, 4*c),
			with(func(s *streamCfg) { s.Plugin, s.Concurrency = dropall, c }), 0))
	}

	// Sinks, side by side: the same stream into a JSONL file, Parquet
	// files and a Kafka topic, each exactly once with checkpoints.
	for _, sk := range []struct{ kind, label string }{
		{"file", "file sink, JSONL, fsync at every checkpoint"},
		{"parquet", "parquet sink (snappy), files closed and published at every checkpoint"},
		{"kafka", "kafka sink (lz4, acks all, one transaction per checkpoint), topic of 3 partitions on the local broker"},
	} {
		id := "sluice-sink-" + sk.kind
		c := sluiceCase(id, groupSinks, sk.label, with(func(s *streamCfg) {
			s.Plugin, s.Sink, s.CPDir = noop, sk.kind, filepath.Join(o.Workdir, "checkpoints", id)
			switch sk.kind {
			case "file":
				s.SinkPath = filepath.Join(o.Workdir, "out", "sink.jsonl")
			case "parquet":
				s.SinkPath = filepath.Join(o.Workdir, "out", "parquet")
			}
		}), N)
		c.Output = c.stream.SinkPath
		if sk.kind == "kafka" && o.Kafka == "" {
			c.Skip = "not run: " + o.KafkaWhy
		}
		add(c)
	}

	// Python.
	for _, p := range []struct{ id, client, label string }{
		{"python-driver", "driver", "cassandra-driver (Python, Cython build), synchronous paging, tuple rows"},
		{"python-async", "async", "async-cassandra `execute_stream` (async-python-cassandra-client), `async for` over rows, tuple rows"},
	} {
		c := &Case{ID: p.id, Group: groupPython, Label: p.label, Kind: kindJSON, Table: o.Table, WantIn: N, WantOut: -1, Ref: "raw-single"}
		switch {
		case o.Python == "":
			c.Skip = "not run: " + o.PythonWhy
		default:
			mod := map[string]string{"driver": "cassandra", "async": "async_cassandra"}[p.client]
			if out, err := exec.Command(o.Python, "-c", "import "+mod).CombinedOutput(); err != nil {
				c.Skip = fmt.Sprintf("not run: `%s -c 'import %s'` failed: %s", o.Python, mod, strings.TrimSpace(string(out)))
			}
		}
		c.Argv = []string{o.Python, filepath.Join(o.Root, "bench/python/scan.py"), "--client", p.client, "--host", o.Host,
			"--table", o.Table, "--fetch-size", strconv.Itoa(o.PageSize), "--expect", strconv.FormatInt(N, 10)}
		add(c)
	}

	// The big table: peak RSS of the same stream at more rows.
	bigLabel := fmt.Sprintf("as sluice-noop-jsonl, on %s (%s rows)", o.BigTable, thousands(o.BigRows))
	if o.BigRows <= 0 {
		bigLabel = "as sluice-noop-jsonl, on the big table"
	}
	big := sluiceCase("sluice-noop-jsonl-big", groupBig, bigLabel,
		with(func(s *streamCfg) { s.Plugin, s.Table = noop, o.BigTable }), o.BigRows)
	if o.BigRows <= 0 {
		big.Skip = "not run: the big table is loaded by the full run with --big only"
	}
	add(big)

	// Hot swap: C and Rust builds of the filter, alternately.
	swap := &Case{ID: "swap-filter-c-rust", Group: groupSwap, Kind: kindSwap, Table: o.Table, WantIn: N,
		WantOut: keptBelow(N, o.SwapKeep),
		Label:   fmt.Sprintf("filter `bucket < %d` (C build), replaced by the Rust build and back at %s of the output", o.SwapKeep, o.SwapAt)}
	cFilter, rustFilter := wasm("plugins/examples/filter/c/filter.wasm"), wasm("plugins/examples/filter/rust/filter.wasm")
	for _, p := range []string{cFilter, rustFilter} {
		if _, err := os.Stat(p); err != nil {
			swap.Skip = fmt.Sprintf("not built yet: %s is missing", rel(o, p))
		}
	}
	swapFile := filepath.Join(o.Workdir, "swap", "filter.wasm")
	swap.Config = filepath.Join(o.Workdir, "configs", swap.ID+".toml")
	swap.Argv = []string{o.Swapgap, "-sluice", o.Sluice, "-config", swap.Config, "-plugin-file", swapFile,
		"-a", cFilter, "-b", rustFilter, "-expect-lines", strconv.FormatInt(swap.WantOut, 10), "-at", o.SwapAt}
	add(swap)

	// The baseline: the same sluice cases with the -baseline binary, for
	// before/after ratios measured in the same run.
	if o.Baseline != "" {
		for _, c := range cases {
			if c.Kind != kindSluice || c.Skip != "" || !beforeCase(c.ID) {
				continue
			}
			bc := *c
			bc.ID, bc.Before = c.ID+"@before", c.ID
			bc.Label = "as `" + c.ID + "`, with the baseline sluice (" + o.BaselineRev + ")"
			bc.Argv = append([]string{o.Baseline}, c.Argv[1:]...)
			add(&bc)
		}
	}

	// Write the configs.
	if err := os.MkdirAll(filepath.Join(o.Workdir, "configs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(swapFile), 0o755); err != nil {
		return nil, err
	}
	for _, c := range cases {
		if c.Skip != "" || c.Config == "" {
			continue
		}
		var sc streamCfg
		switch {
		case c.Kind == kindSwap:
			sc = streamCfg{Table: o.Table, Plugin: swapFile, Concurrency: 1, PageSize: o.SwapPage, RateLimit: o.SwapRate, LogLevel: "info",
				PluginCfg: map[string]string{"column": "bucket", "op": "<", "value": strconv.Itoa(o.SwapKeep)}}
		default:
			sc = c.stream
		}
		if err := os.WriteFile(c.Config, []byte(sluiceConfig(o, sc)), 0o644); err != nil {
			return nil, err
		}
	}
	return cases, nil
}

// beforeCase reports whether the case with this id also runs with the
// baseline binary: the cases the CPU goals are about.
func beforeCase(id string) bool {
	return id == "sluice-dropall" || id == "sluice-noop-jsonl" || id == "sluice-noop-csv" ||
		strings.HasPrefix(id, "sluice-dropall-parallel-") || strings.HasPrefix(id, "sluice-filter-") && strings.HasSuffix(id, "-1pct")
}

// keptBelow is how many of the rows seq 0..n-1 have seq % 100 < k.
func keptBelow(n int64, k int) int64 {
	return n/100*int64(k) + min(n%100, int64(k))
}

func rel(o Options, p string) string {
	if r, err := filepath.Rel(o.Root, p); err == nil {
		return r
	}
	return p
}

// sluiceConfig renders the config of one sluice case. Checkpoints are off
// (every run reads the whole table), progress bars are off, and the
// compiled plugins are cached in the repository's .cache/wazero, as in
// the default config.toml.
func sluiceConfig(o Options, s streamCfg) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by bench/run (bench/cmd/compare); rewritten on every run.
[cassandra]
hosts = [%q]
consistency = "LOCAL_ONE"
protocol_version = %d

[runtime]
cache_dir = %q
progress = "off"
log_level = %q

[checkpoint]
store = "none"

[[stream]]
name = "bench"
  [stream.source]
  keyspace = "sluice_bench"
  table = %q
  page_size = %d
  prefetch = 1
  concurrency = %d
`, o.Host, o.Proto, filepath.Join(o.Root, ".cache/wazero"), s.LogLevel, s.Table, s.PageSize, s.Concurrency)
	if s.RateLimit > 0 {
		fmt.Fprintf(&b, "  rate_limit_pages = %g\n", s.RateLimit)
	}
	fmt.Fprintf(&b, `
  [[stream.plugin]]
  name = "p"
  path = %q
`, s.Plugin)
	if len(s.PluginCfg) > 0 {
		b.WriteString("    [stream.plugin.config]\n")
		for _, k := range []string{"column", "op", "value"} {
			if v, ok := s.PluginCfg[k]; ok {
				fmt.Fprintf(&b, "    %s = %q\n", k, v)
			}
		}
	}
	switch s.Sink {
	case "":
		format := s.Format
		if format == "" {
			format = "jsonl"
		}
		fmt.Fprintf(&b, `
  [[stream.sink]]
  type = "stdout"
  format = %q
`, format)
		return b.String()
	case "file":
		fmt.Fprintf(&b, "\n  [[stream.sink]]\n  type = \"file\"\n  format = \"jsonl\"\n  path = %q\n", s.SinkPath)
	case "parquet":
		fmt.Fprintf(&b, "\n  [[stream.sink]]\n  type = \"parquet\"\n  path = %q\n", s.SinkPath)
	case "kafka":
		fmt.Fprintf(&b, "\n  [[stream.sink]]\n  type = \"kafka\"\n  brokers = [%q]\n  topic = %q\n", o.Kafka, benchTopic)
	}
	// Checkpoints on, so exactly once costs what it costs in production.
	out := strings.Replace(b.String(), "[checkpoint]\nstore = \"none\"\n",
		fmt.Sprintf("[checkpoint]\nstore = \"file\"\ndir = %q\ninterval = \"2s\"\n", s.CPDir), 1)
	return out
}

// benchTopic is the topic of the kafka sink case (created by ensureTopic).
const benchTopic = "sluice_bench"
