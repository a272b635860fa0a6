package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/harness"
)

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, " ") }
func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

const pluginTestDesc = `Run a plugin, or a chain of plugins, on rows from a fixture file, without
Cassandra: the rows are cut into pages exactly as the pager builds them and fed
through the same host (limits, error reports, outputs) as 'sluice run'.

The chain is given by -plugin flags (in order) with -config-json configs
matched by order, or by a -config TOML file:

  schema = "id int, email text"        # optional, instead of -schema
  [[plugin]]
  name = "redact"                      # optional
  path = "redact.wasm"                 # relative to the TOML file
  [plugin.config]
  columns = ["email"]

The fixture (-input) is JSON lines (one object per row, values in the JSON form
of docs/json.md, a missing key is null) or CSV (a header row of column names,
cells as the CSV sink writes them: an empty unquoted field is null, "" the
empty value). Its schema is -schema "id int, tags set<text>" or -schema-file.

Output: the rows of one output (-output, default: the default output) are
printed to stdout as JSON lines, as the JSONL sink writes them; -out-dir writes
every output to DIR/<output>.jsonl (the default output to default.jsonl). With
-expect FILE nothing is printed: the output is compared with FILE and a
mismatch prints a diff and exits 1 (-update rewrites FILE instead). A summary
line goes to stderr, and so do the plugins' logs.

Exit codes: 0 ok; 1 a plugin failed (the host's report is printed) or the
output differs from -expect; 2 bad flags, config, schema or fixture (the error
names file:line and column).`

func cmdPluginTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plugin test", "sluice plugin test -plugin PATH [-config-json JSON] -schema SCHEMA -input FILE [flags]", pluginTestDesc, stderr)
	var plugins, configs stringsFlag
	fs.Var(&plugins, "plugin", "plugin `path.wasm` or name=path.wasm; repeat for a chain, in order")
	fs.Var(&configs, "config-json", "plugin config as a JSON `object`, e.g. '{\"column\":\"status\"}'; repeat, matched to -plugin by order")
	configFile := fs.String("config", "", "TOML `file` with [[plugin]] tables (name, path, memory_limit, page_timeout, [plugin.config]) and optionally schema or schema_file")
	schemaStr := fs.String("schema", "", "fixture schema, e.g. \"id int, name text, tags set<text>\"")
	schemaFile := fs.String("schema-file", "", "fixture schema `file`: \"name type\" per line (or comma-separated)")
	input := fs.String("input", "", "fixture `file` (.jsonl or .csv; - = stdin)")
	inputFormat := fs.String("input-format", "", "fixture format: jsonl or csv (default: from the file extension; stdin: jsonl)")
	pageSize := fs.Int("page-size", harness.DefaultPageSize, "rows per page")
	flush := fs.Bool("flush", true, "call the chain's flush after the last page (as at the end of a stream)")
	output := fs.String("output", "", "`name` of the output to print or compare (default: the default output)")
	outDir := fs.String("out-dir", "", "also write every output to `DIR`/<output>.jsonl (default output: default.jsonl)")
	expect := fs.String("expect", "", "compare the output with this JSONL `file` instead of printing it; exit 1 with a diff when it differs")
	update := fs.Bool("update", false, "with -expect: write the actual output to the -expect file instead of comparing")
	memLimit := fs.String("memory-limit", "", "linear-memory limit of each plugin, e.g. 64MiB (default 64MiB)")
	timeout := fs.Duration("timeout", 0, "time limit of each call into a plugin (default 10s)")
	cacheDir := fs.String("cache-dir", "", "keep compiled plugins in this `dir` across runs (default: in memory)")
	logLevel := fs.String("log-level", "info", "level of the plugins' logs on stderr: debug, info, warn, error")
	quiet := fs.Bool("q", false, "no summary line on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("plugin test: unexpected arguments %q", fs.Args())
	}
	if *update && *expect == "" {
		return usagef("plugin test: -update needs -expect FILE")
	}
	if *pageSize < 1 {
		return usagef("plugin test: -page-size %d: want at least 1", *pageSize)
	}
	if *timeout < 0 {
		return usagef("plugin test: -timeout %v: want a positive duration", *timeout)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("plugin test: -log-level %q: want debug, info, warn or error", *logLevel)
	}

	// The chain.
	var specs []harness.Plugin
	var schema *abi.Schema
	if *configFile != "" {
		f, err := harness.LoadFile(*configFile)
		if err != nil {
			return usageError{err}
		}
		specs, schema = f.Plugins, f.Schema
		if len(specs) > 0 && (len(plugins) > 0 || len(configs) > 0) {
			return usagef("plugin test: %s has [[plugin]] tables: give the chain there or with -plugin/-config-json, not both", *configFile)
		}
	}
	for _, p := range plugins {
		spec, err := harness.ParsePluginArg(p)
		if err != nil {
			return usagef("plugin test: %w", err)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return usagef("plugin test: no plugin: give -plugin path.wasm (repeat for a chain) or -config FILE with [[plugin]] tables")
	}
	if len(configs) > len(plugins) {
		return usagef("plugin test: %d -config-json for %d -plugin (they are matched by order)", len(configs), len(plugins))
	}
	for i, c := range configs {
		kvs, err := harness.ConfigFromJSON(c)
		if err != nil {
			return usagef("plugin test: -config-json #%d (plugin %s): %w", i+1, specs[i].Path, err)
		}
		specs[i].Config = kvs
	}

	// The fixture.
	switch {
	case *schemaStr != "" && *schemaFile != "":
		return usagef("plugin test: give -schema or -schema-file, not both")
	case *schemaStr != "":
		s, err := harness.ParseSchema(*schemaStr)
		if err != nil {
			return usagef("plugin test: -schema: %w", err)
		}
		schema = s
	case *schemaFile != "":
		s, err := harness.ReadSchemaFile(*schemaFile)
		if err != nil {
			return usageError{err}
		}
		schema = s
	}
	if *input == "" {
		return usagef("plugin test: no fixture: give -input FILE.jsonl or FILE.csv (- = stdin)")
	}
	if schema == nil {
		return usagef("plugin test: the fixture needs a schema: -schema \"id int, name text\", -schema-file FILE, or schema in the -config file")
	}
	format := harness.Format(*inputFormat)
	switch {
	case format == harness.JSONL || format == harness.CSV:
	case format != "":
		return usagef("plugin test: -input-format %q: want jsonl or csv", *inputFormat)
	case *input == "-":
		format = harness.JSONL
	default:
		f, ok := harness.FormatOf(*input)
		if !ok {
			return usagef("plugin test: cannot tell the format of %s from its extension: use -input-format jsonl or csv", *input)
		}
		format = f
	}
	var in io.Reader = os.Stdin
	name := "stdin"
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return usagef("plugin test: %w", err)
		}
		defer f.Close()
		in, name = f, *input
	}
	pages, lines, err := harness.ReadFixtureLines(name, in, format, schema, *pageSize)
	if err != nil {
		return usageError{err}
	}

	// The runtime.
	var memPages uint32
	if *memLimit != "" {
		b, err := config.ParseByteSize(*memLimit)
		if err != nil || b <= 0 {
			return usagef("plugin test: -memory-limit %q: want a size like 64MiB", *memLimit)
		}
		memPages = b.WasmPages()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{CacheDir: *cacheDir, MemoryLimitPages: memPages, Logger: logger})
	if err != nil {
		return fmt.Errorf("plugin test: wasm runtime: %w", err)
	}
	defer rt.Close(context.WithoutCancel(ctx))

	start := time.Now()
	res, err := harness.Run(ctx, harness.Options{
		Runtime:          rt,
		Plugins:          specs,
		Flush:            *flush,
		MemoryLimitPages: memPages,
		PageTimeout:      *timeout,
		Logger:           logger,
	}, pages)
	if err != nil {
		if ctx.Err() != nil {
			return interruptedError{"plugin test: interrupted"}
		}
		var pe *host.PluginError
		if errors.As(err, &pe) {
			// The host's report, as a stream prints it, then the fixture
			// line of the failing row; exit 1.
			if l := fixtureLine(pe, lines, *pageSize); l > 0 {
				return fmt.Errorf("%w\nfixture row: %s", err, describeLine(name, *input, l))
			}
			return err
		}
		return fmt.Errorf("plugin test: %w", err)
	}
	elapsed := time.Since(start)

	// The outputs.
	if *outDir != "" {
		if err := writeOutputs(*outDir, res); err != nil {
			return fmt.Errorf("plugin test: %w", err)
		}
	}
	var got []byte
	if o := res.Output(*output); o != nil {
		if got, err = harness.RenderJSONL(nil, o.Pages); err != nil {
			return fmt.Errorf("plugin test: %s: %w", harness.OutputLabel(*output), err)
		}
	}
	if !*quiet {
		fmt.Fprintln(stderr, summary(specs, res, *output, *outDir, elapsed))
	}
	switch {
	case *expect == "":
		if _, err := stdout.Write(got); err != nil {
			return fmt.Errorf("plugin test: writing the output: %w", err)
		}
		return nil
	case *update:
		if err := os.WriteFile(*expect, got, 0o644); err != nil {
			return fmt.Errorf("plugin test: -update: %w", err)
		}
		if !*quiet {
			fmt.Fprintf(stderr, "updated %s: %d lines\n", *expect, len(harness.SplitLines(got)))
		}
		return nil
	}
	want, err := os.ReadFile(*expect)
	if err != nil {
		return usagef("plugin test: -expect: %w", err)
	}
	if harness.Equal(want, got) {
		if !*quiet {
			fmt.Fprintf(stderr, "ok: %s matches %s (%d rows)\n", harness.OutputLabel(*output), *expect, len(harness.SplitLines(got)))
		}
		return nil
	}
	fmt.Fprint(stderr, harness.Diff(*expect, want, harness.OutputLabel(*output), got))
	return fmt.Errorf("plugin test: %s differs from %s (diff above; -update rewrites the file with the actual output)", harness.OutputLabel(*output), *expect)
}

// writeOutputs writes every output of res to dir/<output>.jsonl.
func writeOutputs(dir string, res *harness.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out-dir: %w", err)
	}
	for _, o := range res.Outputs {
		file, err := harness.OutputFile(o.Name)
		if err != nil {
			return fmt.Errorf("-out-dir: %w", err)
		}
		b, err := harness.RenderJSONL(nil, o.Pages)
		if err != nil {
			return fmt.Errorf("%s: %w", harness.OutputLabel(o.Name), err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return fmt.Errorf("-out-dir: %w", err)
		}
	}
	return nil
}

// summary is the line printed on stderr after a successful run.
func summary(specs []harness.Plugin, res *harness.Result, shown, outDir string, elapsed time.Duration) string {
	var sb strings.Builder
	names := make([]string, len(specs))
	for i, p := range specs {
		names[i] = p.Name
		if names[i] == "" {
			names[i] = harness.DefaultName(p.Path)
		}
	}
	fmt.Fprintf(&sb, "plugin test: %s: %d pages, %d rows in", strings.Join(names, " -> "), res.PagesIn, res.RowsIn)
	var hidden []string
	for _, o := range res.Outputs {
		fmt.Fprintf(&sb, "; %s: %d rows", harness.OutputLabel(o.Name), o.Rows())
		if o.Name != shown && outDir == "" && o.Rows() > 0 {
			if o.Name == "" {
				hidden = append(hidden, `-output ""`)
			} else {
				hidden = append(hidden, "-output "+o.Name)
			}
		}
	}
	fmt.Fprintf(&sb, " (%s)", elapsed.Round(time.Millisecond))
	if len(hidden) > 0 {
		fmt.Fprintf(&sb, "\n  not printed: see them with %s or -out-dir DIR", strings.Join(hidden, ", "))
	}
	return sb.String()
}

// fixtureLine returns the fixture line of the row a plugin failed on, or 0.
func fixtureLine(pe *host.PluginError, lines []int, pageSize int) int {
	if pe.Page == 0 || pe.Row < 0 {
		return 0
	}
	i := (int(pe.Page)-1)*pageSize + int(pe.Row)
	if i < 0 || i >= len(lines) {
		return 0
	}
	return lines[i]
}

// describeLine is "file:line: <the line>" (the text only when the fixture
// is a file that can be read again; at most 500 bytes of it).
func describeLine(name, path string, line int) string {
	where := fmt.Sprintf("%s:%d", name, line)
	if path == "-" {
		return where
	}
	f, err := os.Open(path)
	if err != nil {
		return where
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if n == line {
			text := sc.Text()
			if len(text) > 500 {
				text = text[:500] + "…"
			}
			return where + ": " + text
		}
	}
	return where
}
