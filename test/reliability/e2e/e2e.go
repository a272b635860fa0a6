// Package e2e holds the helpers of sluice's end-to-end tests (test/reliability,
// test/restart): test tables in a keyspace of the calling package, sluice
// configs written from Go values, the sluice binary built from this checkout
// and run as a subprocess, checkpoints read back, and output comparisons.
//
// It is a test-support package: only _test.go files import it. Every helper
// that can fail takes a testing.TB and fails the test.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
)

// Keyspace is the keyspace of the calling test package, where its tables
// live; each package sets its own in TestMain (before any test runs), so
// packages of other engineers never share tables with these.
var Keyspace = "rel_e2e"

// Bin is the sluice binary under test, set by Build.
var Bin string

// RepoRoot is the root of the module: the closest directory above the
// working directory that holds go.mod.
var RepoRoot = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			panic("e2e: no go.mod above " + dir)
		}
	}
}()

// Build sets Bin: to $SLUICE_BIN when set, else to a sluice built from this
// checkout into dir (race-enabled when race is true). It returns an error
// with the compiler's output when the build fails.
func Build(dir string, race bool) error {
	if b := os.Getenv("SLUICE_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			return err
		}
		Bin = abs
		return nil
	}
	bin := filepath.Join(dir, "sluice")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/sluice")
	cmd := exec.Command("go", args...)
	cmd.Dir = RepoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	Bin = bin
	return nil
}

// Long reports whether the long variants run (SLUICE_LONG=1).
func Long() bool { return os.Getenv("SLUICE_LONG") == "1" }

// Session returns the shared test session, after creating Keyspace and its
// table of load markers.
func Session(t testing.TB) *gocql.Session {
	t.Helper()
	s := testutil.Session(t)
	ksOnce.Do(func() {
		testutil.Exec(t, s, "CREATE KEYSPACE IF NOT EXISTS "+Keyspace+" WITH replication = {'class':'SimpleStrategy','replication_factor':1}")
		testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+Keyspace+".loaded (name text PRIMARY KEY, rows int, version int)")
	})
	return s
}

var ksOnce sync.Once

// ---------------------------------------------------------------------------
// Test data

// eventsVersion changes whenever the content of the events tables changes,
// so a table loaded by an older version of these tests is reloaded.
const eventsVersion = 2

// EnsureEvents creates Keyspace.<name> (id int primary key and a mix of column
// types, some values with quotes, commas and newlines to exercise CSV) and
// loads rows 0..rows-1 unless a previous run already did.
func EnsureEvents(t testing.TB, name string, rows int) {
	t.Helper()
	s := Session(t)
	testutil.Exec(t, s, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
		id int PRIMARY KEY, customer text, status text, amount double,
		created_at timestamp, tags set<text>, note text, payload blob)`, Keyspace, name))
	if Loaded(t, name) == [2]int{rows, eventsVersion} {
		return
	}
	testutil.Exec(t, s, fmt.Sprintf("TRUNCATE %s.%s", Keyspace, name))
	insert := fmt.Sprintf("INSERT INTO %s.%s (id, customer, status, amount, created_at, tags, note, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Keyspace, name)
	Parallel(t, rows, func(i int) error {
		return s.Query(insert, EventRow(i)...).Exec()
	})
	MarkLoaded(t, name, rows, eventsVersion)
}

var statuses = []string{"active", "churned", "trial", "suspended"}

// EventRow returns the values of row i of an events table, in the column
// order of EnsureEvents' INSERT.
func EventRow(i int) []any {
	note := fmt.Sprintf("note %d", i)
	switch i % 9 {
	case 1:
		note = fmt.Sprintf(`he said "hi", then %d`, i)
	case 2:
		note = fmt.Sprintf("two\nlines %d", i)
	case 3:
		note = "héllo ✓ " + strconv.Itoa(i)
	}
	payload := make([]byte, i%64)
	for k := range payload {
		payload[k] = byte(i + k)
	}
	var tags []string
	if i%4 != 0 {
		tags = []string{fmt.Sprintf("t%d", i%5), fmt.Sprintf("u%d", i%7)}
	}
	var amount any = float64(i) * 1.25
	if i%17 == 0 {
		amount = nil
	}
	return []any{i, fmt.Sprintf("cust-%04d", i%997), statuses[i%len(statuses)], amount,
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second), tags, note, payload}
}

// Loaded returns the row count and version recorded by MarkLoaded for
// table name (zeros when none).
func Loaded(t testing.TB, name string) [2]int {
	t.Helper()
	var rows, version int
	err := Session(t).Query("SELECT rows, version FROM "+Keyspace+".loaded WHERE name = ?", name).Scan(&rows, &version)
	if errors.Is(err, gocql.ErrNotFound) {
		return [2]int{}
	}
	if err != nil {
		t.Fatalf("read load marker of %s: %v", name, err)
	}
	return [2]int{rows, version}
}

// MarkLoaded records that table name holds rows rows of the given content
// version, so later runs skip loading it.
func MarkLoaded(t testing.TB, name string, rows, version int) {
	t.Helper()
	testutil.Exec(t, Session(t), "INSERT INTO "+Keyspace+".loaded (name, rows, version) VALUES (?, ?, ?)", name, rows, version)
}

// Parallel runs f(0..n-1) on 16 goroutines and fails the test on the
// first error.
func Parallel(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("row %d: %w", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("loading %d rows: %d errors, first: %v", n, len(errs), errs[0])
	}
}

// ---------------------------------------------------------------------------
// Configs

// Config is a sluice config written by the tests (Write).
type Config struct {
	Hosts         []string // default: the test node
	CheckpointDir string   // default: <dir>/checkpoints
	Store         string   // default "file"
	CPTable       string   // checkpoint.table (cassandra store)
	LeaseTTL      string   // checkpoint.lease_ttl (cassandra store); default "8s", so a rerun after SIGKILL waits little
	LeaseWait     string   // checkpoint.lease_wait (cassandra store); default "20s"
	EveryPages    int
	Interval      string // default "1h": only every_pages saves
	MaxConcurrent int
	AdminListen   string
	AdminTokenEnv string
	Streams       []Stream
	Extra         string // raw TOML appended (more tables)
}

// Stream is one [[stream]] of a Config: a table scan of Keyspace.
type Stream struct {
	Name        string
	Shard       string // "i/N", "auto/N"; "" = none
	OnError     string
	Table       string // in ks
	Columns     []string
	PageSize    int
	Concurrency int
	Splits      int
	RatePages   float64
	Retries     *int
	Backoff     string
	BackoffMax  string
	PageTimeout string
	Plugins     []Plugin
	Sinks       []Sink
}

// Plugin is one [[stream.plugin]].
type Plugin struct {
	Name        string
	Path        string
	MemoryLimit string
	PageTimeout string
	Config      map[string]string
}

// Sink is one [[stream.sink]].
type Sink struct {
	Name    string
	Type    string // default file
	Format  string // jsonl or csv
	Path    string
	Outputs []string
	Extra   string // raw TOML lines of the sink's table (kafka keys, ...)
}

func q(s string) string { return strconv.Quote(s) }

func qs(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// Write writes the config as dir/name and returns its path.
func (c Config) Write(t testing.TB, dir, name string) string {
	t.Helper()
	var b strings.Builder
	hosts := c.Hosts
	if len(hosts) == 0 {
		hosts = []string{testutil.Host()}
	}
	fmt.Fprintf(&b, "[cassandra]\nhosts = %s\nconsistency = \"ONE\"\ntimeout = \"10s\"\nconnect_timeout = \"5s\"\n\n", qs(hosts))
	fmt.Fprintf(&b, "[runtime]\ncache_dir = %s\nprogress = \"off\"\n", q(WasmCache()))
	if c.MaxConcurrent > 0 {
		fmt.Fprintf(&b, "max_concurrent_streams = %d\n", c.MaxConcurrent)
	}
	b.WriteString("\n[checkpoint]\n")
	store := c.Store
	if store == "" {
		store = "file"
	}
	fmt.Fprintf(&b, "store = %s\n", q(store))
	if store == "file" {
		cd := c.CheckpointDir
		if cd == "" {
			cd = filepath.Join(dir, "checkpoints")
		}
		fmt.Fprintf(&b, "dir = %s\n", q(cd))
	}
	if store == "cassandra" {
		fmt.Fprintf(&b, "keyspace = %s\n", q(Keyspace))
		if c.CPTable != "" {
			fmt.Fprintf(&b, "table = %s\n", q(c.CPTable))
		}
		ttl, wait := c.LeaseTTL, c.LeaseWait
		if ttl == "" {
			ttl = "8s"
		}
		if wait == "" {
			wait = "20s"
		}
		fmt.Fprintf(&b, "lease_ttl = %s\nlease_wait = %s\n", q(ttl), q(wait))
	}
	iv := c.Interval
	if iv == "" {
		iv = "1h"
	}
	fmt.Fprintf(&b, "interval = %s\nevery_pages = %d\n", q(iv), c.EveryPages)
	if c.AdminListen != "" {
		fmt.Fprintf(&b, "\n[admin]\nlisten = %s\n", q(c.AdminListen))
		if c.AdminTokenEnv != "" {
			fmt.Fprintf(&b, "token_env = %s\n", q(c.AdminTokenEnv))
		}
	}
	for _, s := range c.Streams {
		fmt.Fprintf(&b, "\n[[stream]]\nname = %s\n", q(s.Name))
		if s.OnError != "" {
			fmt.Fprintf(&b, "on_error = %s\n", q(s.OnError))
		}
		if s.Shard != "" {
			fmt.Fprintf(&b, "shard = %s\n", q(s.Shard))
		}
		fmt.Fprintf(&b, "  [stream.source]\n  keyspace = %s\n  table = %s\n", q(Keyspace), q(s.Table))
		if len(s.Columns) > 0 {
			fmt.Fprintf(&b, "  columns = %s\n", qs(s.Columns))
		}
		ps := s.PageSize
		if ps == 0 {
			ps = 500
		}
		fmt.Fprintf(&b, "  page_size = %d\n", ps)
		if s.Splits > 0 {
			fmt.Fprintf(&b, "  splits = %d\n", s.Splits)
		}
		if s.Concurrency > 0 {
			fmt.Fprintf(&b, "  concurrency = %d\n", s.Concurrency)
		}
		if s.RatePages > 0 {
			fmt.Fprintf(&b, "  rate_limit_pages = %g\n", s.RatePages)
		}
		if s.Retries != nil {
			fmt.Fprintf(&b, "  retries = %d\n", *s.Retries)
		}
		for k, v := range map[string]string{"retry_backoff": s.Backoff, "retry_backoff_max": s.BackoffMax, "page_timeout": s.PageTimeout} {
			if v != "" {
				fmt.Fprintf(&b, "  %s = %s\n", k, q(v))
			}
		}
		for _, p := range s.Plugins {
			b.WriteString("  [[stream.plugin]]\n")
			if p.Name != "" {
				fmt.Fprintf(&b, "  name = %s\n", q(p.Name))
			}
			fmt.Fprintf(&b, "  path = %s\n", q(p.Path))
			if p.MemoryLimit != "" {
				fmt.Fprintf(&b, "  memory_limit = %s\n", q(p.MemoryLimit))
			}
			if p.PageTimeout != "" {
				fmt.Fprintf(&b, "  page_timeout = %s\n", q(p.PageTimeout))
			}
			if len(p.Config) > 0 {
				b.WriteString("    [stream.plugin.config]\n")
				keys := make([]string, 0, len(p.Config))
				for k := range p.Config {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(&b, "    %s = %s\n", k, q(p.Config[k]))
				}
			}
		}
		for _, sk := range s.Sinks {
			b.WriteString("  [[stream.sink]]\n")
			if sk.Name != "" {
				fmt.Fprintf(&b, "  name = %s\n", q(sk.Name))
			}
			typ := sk.Type
			if typ == "" {
				typ = "file"
			}
			fmt.Fprintf(&b, "  type = %s\n", q(typ))
			if sk.Format != "" {
				fmt.Fprintf(&b, "  format = %s\n", q(sk.Format))
			}
			if sk.Path != "" {
				fmt.Fprintf(&b, "  path = %s\n", q(sk.Path))
			}
			if sk.Outputs != nil {
				fmt.Fprintf(&b, "  outputs = %s\n", qs(sk.Outputs))
			}
			b.WriteString(sk.Extra)
		}
	}
	b.WriteString(c.Extra)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

// Cleanup removes what the helpers keep for the whole test binary (the
// shared compilation cache). Call it from TestMain after m.Run.
func Cleanup() {
	cacheOnce.Do(func() {}) // no cache created after this point
	if cacheDir != "" {
		os.RemoveAll(cacheDir)
	}
}

// WasmCache is a compilation cache shared by every sluice run of this test
// binary, so each plugin is compiled once.
func WasmCache() string {
	cacheOnce.Do(func() {
		d, err := os.MkdirTemp("", "sluice-reliability-wazero-")
		if err != nil {
			panic(err)
		}
		cacheDir = d
	})
	return cacheDir
}

// Fixture returns the absolute path of a host/testdata module.
func Fixture(name string) string {
	return filepath.Join(RepoRoot, "host", "testdata", name+".wasm")
}

// IntP returns a pointer to n (optional integer fields of Stream).
func IntP(n int) *int { return &n }

// ---------------------------------------------------------------------------
// Running sluice

// runTimeout bounds one sluice run: a hang fails the test with the
// process's stderr instead of hanging the suite.
const runTimeout = 3 * time.Minute

// Proc is a running sluice process.
type Proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	start          time.Time
	done           chan struct{}
	res            Result
}

// Result is how a sluice process ended.
type Result struct {
	Code           int
	Signal         string // the signal that killed it, if any
	Stdout, Stderr string
	Elapsed        time.Duration
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts `sluice args...` in dir with extra environment variables.
func Start(t testing.TB, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(Bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		p.res = Result{Code: p.cmd.ProcessState.ExitCode(), Stdout: p.stdout.String(), Stderr: p.stderr.String(), Elapsed: time.Since(p.start)}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.res.Signal = ws.Signal().String()
			}
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Wait waits for the process to end (killing it after runTimeout).
func (p *Proc) Wait(t testing.TB) Result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(runTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("sluice %v did not end within %s; stderr:\n%s", p.cmd.Args[1:], runTimeout, Tail(p.res.Stderr, 60))
	}
	if strings.Contains(p.res.Stderr, "WARNING: DATA RACE") {
		t.Errorf("DATA RACE in sluice %v:\n%s", p.cmd.Args[1:], p.res.Stderr)
	}
	return p.res
}

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Run runs `sluice args...` in dir to the end.
func Run(t testing.TB, dir string, env []string, args ...string) Result {
	t.Helper()
	return Start(t, dir, env, args...).Wait(t)
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ErrorReport returns what sluice printed last on stderr: from the last
// line that starts with "sluice: " and is not a stream summary, to the
// end. It is "" when stderr does not end with such a report.
func ErrorReport(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "sluice: ") && !summaryLine(l) {
			return strings.Join(lines[i:], "\n")
		}
	}
	return ""
}

func summaryLine(l string) bool {
	return strings.HasPrefix(l, "sluice: stream ") && strings.Contains(l, ": rows in ")
}

// Crashed reports signs of a crash of the Go host in stderr.
func Crashed(stderr string) string {
	for _, s := range []string{"panic: ", "fatal error: ", "goroutine 1 [", "SIGSEGV", "runtime error:"} {
		if strings.Contains(stderr, s) {
			return s
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// Checkpoints and outputs

// CheckpointPages returns the pages committed in stream's file checkpoint
// of a run in dir (the default checkpoint directory of cfg, dir/checkpoints;
// 0 when there is none yet).
func CheckpointPages(dir, stream string) uint64 {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", stream+".checkpoint.json"))
	if err != nil {
		return 0
	}
	var cp pager.Checkpoint
	if json.Unmarshal(b, &cp) != nil {
		return 0
	}
	var n uint64
	for _, p := range cp.Positions {
		n += p.Pages
	}
	return n
}

// WaitCheckpoint waits until stream's checkpoint has at least pages pages
// or the process ends; it reports whether the checkpoint got there.
func WaitCheckpoint(p *Proc, dir, stream string, pages uint64) bool {
	deadline := time.Now().Add(runTimeout)
	for time.Now().Before(deadline) {
		if CheckpointPages(dir, stream) >= pages {
			return true
		}
		if p.Exited() {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// ReadFile returns the content of path.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sum is a short sha256 of b, for messages.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// MultisetSum is a checksum of the lines of a JSONL file regardless of
// their order (for runs whose splits interleave): sha256 of the sorted
// lines.
func MultisetSum(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	sort.Strings(lines)
	return Sum([]byte(strings.Join(lines, "\n")))
}

// JSONLIDs returns the "id" of every line of a JSONL file.
func JSONLIDs(t testing.TB, b []byte) []int {
	t.Helper()
	var ids []int
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		var row struct {
			ID *int `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.ID == nil {
			t.Fatalf("line %d is not a row with an id: %v: %.200s", n, err, sc.Text())
		}
		ids = append(ids, *row.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// CSVIDs returns the "id" column of every record of a CSV file with a
// header.
func CSVIDs(t testing.TB, b []byte) []int {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV output does not parse: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("CSV output is empty (no header)")
	}
	col := slices.Index(recs[0], "id")
	if col < 0 {
		t.Fatalf("CSV header %v has no id", recs[0])
	}
	var ids []int
	for _, rec := range recs[1:] {
		id, err := strconv.Atoi(rec[col])
		if err != nil {
			t.Fatalf("CSV id %q: %v", rec[col], err)
		}
		ids = append(ids, id)
	}
	return ids
}

// CheckIDs fails unless ids holds every id in [0, n) exactly once: no row
// lost, none duplicated.
func CheckIDs(t testing.TB, ids []int, n int) {
	t.Helper()
	seen := make([]int, n)
	var lost, dup, alien int
	for _, id := range ids {
		if id < 0 || id >= n {
			alien++
			continue
		}
		seen[id]++
	}
	for _, c := range seen {
		switch {
		case c == 0:
			lost++
		case c > 1:
			dup += c - 1
		}
	}
	if lost+dup+alien > 0 {
		t.Fatalf("rows: %d in output, want %d: %d lost, %d duplicated, %d unknown ids", len(ids), n, lost, dup, alien)
	}
}

// cleanRuns caches the output of a clean run (no fault) per config key.
var cleanRuns struct {
	sync.Mutex
	out map[string][]byte
}

// Clean returns the output of an uninterrupted run of a single stream
// over table with the given format and page size, concurrency 1 (the
// output order is then deterministic), checked against the table: every
// id exactly once.
func Clean(t testing.TB, table string, rows int, format string, pageSize int) []byte {
	t.Helper()
	key := fmt.Sprintf("%s/%s/%d", table, format, pageSize)
	cleanRuns.Lock()
	defer cleanRuns.Unlock()
	if b, ok := cleanRuns.out[key]; ok {
		return b
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out."+format)
	path := Config{Streams: []Stream{{Name: "clean", Table: table, PageSize: pageSize,
		Sinks: []Sink{{Format: format, Path: out}}}}}.Write(t, dir, "clean.toml")
	res := Run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("clean run failed (exit %d):\n%s", res.Code, Tail(res.Stderr, 30))
	}
	b := ReadFile(t, out)
	if format == "csv" {
		CheckIDs(t, CSVIDs(t, b), rows)
	} else {
		CheckIDs(t, JSONLIDs(t, b), rows)
	}
	if cleanRuns.out == nil {
		cleanRuns.out = map[string][]byte{}
	}
	cleanRuns.out[key] = b
	return b
}

// SameOutput fails unless got is byte-identical to want, saying where
// they first differ.
func SameOutput(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	t.Fatalf("%s: output differs from the clean run's (sha %s, %d bytes; clean: sha %s, %d bytes); first difference at byte %d:\n got: %q\nwant: %q",
		what, Sum(got), len(got), Sum(want), len(want), i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
}

// Ctx returns a context ended when the test ends.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
