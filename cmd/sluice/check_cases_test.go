package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
)

// checkResult is one row of the summary TestCheckRefusesWhatRunRefuses logs.
type checkResult struct {
	name      string
	checkCode int
	runCode   int
	first     string
}

// checkWant is a problem check must report: the line of the config
// marked "# @mark" and a piece of the message.
type checkWant struct {
	mark string
	msg  string
}

// checkCase is a config check and run must both refuse (code 2, with
// want, and nothing else), or both accept (code 0).
type checkCase struct {
	name   string
	stream string // the [[stream]] sections; {{ks}}, {{filter}}, {{dir}}, {{out}} are replaced
	code   int
	want   []checkWant
}

// checkTable creates ks.users, 20 rows, for the check cases.
func checkTable(t *testing.T) string {
	t.Helper()
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".users")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".users (id int PRIMARY KEY, email text, amount int, u uuid)")
	for i := 0; i < 20; i++ {
		testutil.Exec(t, s, "INSERT INTO "+ks+".users (id, email, amount, u) VALUES (?, ?, ?, uuid())", i, fmt.Sprintf("u%d@example.com", i), i*3)
	}
	// Targets a cassandra sink cannot write, and a source sluice cannot read.
	for _, ddl := range []string{
		"hits (id int PRIMARY KEY, n counter)",
		"users_big (id int PRIMARY KEY, email text, amount bigint, u uuid)",
		"ve (id int PRIMARY KEY, v vector<'org.apache.cassandra.db.marshal.EmptyType', 2>)",
	} {
		testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+"."+ddl[:strings.IndexByte(ddl, ' ')])
		testutil.Exec(t, s, "CREATE TABLE "+ks+"."+ddl)
	}
	// Cassandra 5.0.8 saves vector<EmptyType> in its schema as
	// "vector<empty, 2>", which it cannot parse when it starts: a node
	// that still holds the table never starts again (test/restart would
	// find it dead). It goes when the test ends.
	t.Cleanup(func() { testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".ve") })
	return ks
}

// markLine is the 1-based line of cfg holding "# @mark".
func markLine(t *testing.T, cfg, mark string) int {
	t.Helper()
	for i, l := range strings.Split(cfg, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), "# @"+mark) {
			return i + 1
		}
	}
	t.Fatalf("no line marked @%s in\n%s", mark, cfg)
	return 0
}

const checkHeader = `[runtime]
cache_dir = ""
progress = "off"
[checkpoint]
store = "none"
`

// TestCheckRefusesWhatRunRefuses is issue 11: for every config `sluice run`
// refuses before reading a row, `sluice check` refuses it too, with the
// same exit code 2 and every problem named with the file:line it comes
// from, and run writes nothing.
func TestCheckRefusesWhatRunRefuses(t *testing.T) {
	ks := checkTable(t)
	filter, err := filepath.Abs("../../plugins/examples/filter/c/filter.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var results []checkResult
	defer func() { logResults(t, results) }()

	// A filter on amount (> 10), for the streams below.
	const filterAmount = `
  [[stream.plugin]] # @plugin
  path = "{{filter}}"
    [stream.plugin.config]
    column = "amount"
    op = ">"
    value = "10"`
	const fileSink = `
  [[stream.sink]]
  type = "file"
  path = "{{out}}"`
	query := func(cql, values string) string {
		return `
[[stream]]
name = "q"
  [stream.source] # @src
  cql = "` + cql + `"
  values = ` + values + fileSink
	}

	cases := []checkCase{
		{name: "good config", code: exitOK, stream: `
[[stream]]
name = "good"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  columns = ["id", "email", "amount"]` + filterAmount + fileSink},
		{name: "filter on a column not read", code: exitUsage, stream: `
[[stream]]
name = "probe"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  columns = ["id", "email"]` + filterAmount + fileSink,
			want: []checkWant{{"plugin", `plugin[0] ("filter"): refused the source's columns (id int, email text)`}}},
		{name: "values: string for int", code: exitUsage,
			stream: query("SELECT id, email FROM {{ks}}.users WHERE id = ?", `["seven"]`),
			want:   []checkWant{{"src", `value 1 of values (the string "seven") does not fit marker 1 of the cql ("id", CQL type int)`}}},
		{name: "values: float for int", code: exitUsage,
			stream: query("SELECT id, email FROM {{ks}}.users WHERE id = ?", `[7.5]`),
			want:   []checkWant{{"src", `value 1 of values (the float 7.5) does not fit marker 1 of the cql ("id", CQL type int)`}}},
		{name: "values: int for text", code: exitUsage,
			stream: query("SELECT id FROM {{ks}}.users WHERE email = ? ALLOW FILTERING", `[7]`),
			want:   []checkWant{{"src", `value 1 of values (the integer 7) does not fit marker 1 of the cql ("email", CQL type text)`}}},
		{name: "values: bad uuid", code: exitUsage,
			stream: query("SELECT id FROM {{ks}}.users WHERE u = ? ALLOW FILTERING", `["not-a-uuid"]`),
			want:   []checkWant{{"src", `value 1 of values (the string "not-a-uuid") does not fit marker 1 of the cql ("u", CQL type uuid)`}}},
		{name: "values: int out of range", code: exitUsage,
			stream: query("SELECT id, email FROM {{ks}}.users WHERE id = ?", `[3000000000]`),
			want:   []checkWant{{"src", `value 1 of values (the integer 3000000000) does not fit marker 1 of the cql ("id", CQL type int)`}}},
		{name: "missing table", code: exitUsage, stream: `
[[stream]]
name = "t"
  [stream.source] # @src
  keyspace = "{{ks}}"
  table = "nope"` + fileSink,
			want: []checkWant{{"src", "nope"}}},
		{name: "missing column in columns", code: exitUsage, stream: `
[[stream]]
name = "c"
  [stream.source] # @src
  keyspace = "{{ks}}"
  table = "users"
  columns = ["id", "nope"]` + fileSink,
			want: []checkWant{{"src", "nope"}}},
		{name: "missing column in cql", code: exitUsage,
			stream: query("SELECT id, nope FROM {{ks}}.users", `[]`),
			want:   []checkWant{{"src", "Cassandra refused the cql"}}},
		{name: "where on a missing column", code: exitUsage, stream: `
[[stream]]
name = "w"
  [stream.source] # @src
  keyspace = "{{ks}}"
  table = "users"
  where = "nope = 1"` + fileSink,
			want: []checkWant{{"src", `with where "nope = 1"`}}},
		{name: "where on a non-key column", code: exitUsage, stream: `
[[stream]]
name = "w"
  [stream.source] # @src
  keyspace = "{{ks}}"
  table = "users"
  where = "amount > 10"` + fileSink,
			want: []checkWant{{"src", "needs ALLOW FILTERING: set allow_filtering = true"}}},
		{name: "where on a non-key column, allow_filtering", code: exitOK, stream: `
[[stream]]
name = "w"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  where = "amount > 10"
  allow_filtering = true` + fileSink},
		{name: "plugin: missing .wasm", code: exitUsage, stream: `
[[stream]]
name = "m"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.plugin]]
  path = "{{dir}}/missing.wasm" # @path` + fileSink,
			want: []checkWant{{"path", "plugin module " + "{{dir}}/missing.wasm: no such file or directory"}}},
		{name: "plugin: not Wasm", code: exitUsage, stream: `
[[stream]]
name = "n"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.plugin]] # @plugin
  path = "{{dir}}/notwasm.wasm"` + fileSink,
			want: []checkWant{{"plugin", `plugin[0] ("notwasm"): `}}},
		{name: "plugin: bad config", code: exitUsage, stream: `
[[stream]]
name = "b"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.plugin]] # @plugin
  path = "{{filter}}"
    [stream.plugin.config]
    column = "amount"
    op = ">"
    value = "10"
    bogus = "1"` + fileSink,
			want: []checkWant{{"plugin", `plugin[0] ("filter"): `}, {"plugin", "bogus"}}},
		{name: "cassandra sink: counter table", code: exitUsage, stream: `
[[stream]]
name = "cnt"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.sink]] # @sink
  type = "cassandra"
  keyspace = "{{ks}}"
  table = "hits"` + fileSink,
			want: []checkWant{{"sink", `sink[0] ("cassandra"): `}, {"sink", "is a counter table"}}},
		{name: "cassandra sink: column of another type", code: exitUsage, stream: `
[[stream]]
name = "big"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.sink]] # @sink
  type = "cassandra"
  keyspace = "{{ks}}"
  table = "users_big"` + fileSink,
			want: []checkWant{{"sink", `column "amount" is bigint in {{ks}}.users_big but int in the output`}}},
		{name: "vector of a custom class of unknown layout", code: exitUsage, stream: `
[[stream]]
name = "vec"
  [stream.source] # @src
  keyspace = "{{ks}}"
  table = "ve"` + fileSink,
			want: []checkWant{{"src", `a vector of custom type org.apache.cassandra.db.marshal.EmptyType is not supported`}}},
		{name: "plugin: all of them, two streams", code: exitUsage, stream: `
[[stream]]
name = "one"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.plugin]]
  path = "{{dir}}/missing.wasm" # @missing
  [[stream.plugin]] # @notwasm
  path = "{{dir}}/notwasm.wasm"
  [[stream.sink]]
  type = "file"
  path = "{{out}}"
[[stream]]
name = "two"
  [stream.source]
  keyspace = "{{ks}}"
  table = "users"
  [[stream.plugin]] # @badconfig
  path = "{{filter}}"
    [stream.plugin.config]
    column = "amount"
    op = ">"
    value = "10"
    bogus = "1"
  [[stream.sink]]
  type = "file"
  path = "{{dir}}/out2.jsonl"`,
			want: []checkWant{
				{"missing", `stream[0] ("one").plugin[0] ("missing").path: plugin module {{dir}}/missing.wasm`},
				{"notwasm", `stream[0] ("one").plugin[1] ("notwasm"): `},
				{"badconfig", `stream[1] ("two").plugin[0] ("filter"): `},
				{"badconfig", "bogus"},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "notwasm.wasm"), []byte("this is not a Wasm module\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.jsonl")
			r := strings.NewReplacer("{{ks}}", ks, "{{filter}}", filter, "{{dir}}", dir, "{{out}}", out)
			text := checkHeader + r.Replace(tc.stream)
			cfg := writeConfig(t, filepath.Join(dir, "c.toml"), text)

			var cout, cerr bytes.Buffer
			checkCode := run([]string{"check", "-config", cfg}, &cout, &cerr)
			var rout, rerr bytes.Buffer
			runCode := run([]string{"run", "-config", cfg}, &rout, &rerr)
			msg := cerr.String()
			if checkCode == exitOK {
				msg = cout.String()
			}
			first := firstLine(msg, dir)
			if n := countProblems(cerr.String(), cfg); n > 1 {
				first += fmt.Sprintf(" (and %d more problems)", n-1)
			}
			results = append(results, checkResult{tc.name, checkCode, runCode, first})
			t.Logf("check:\n%s%s", cout.String(), cerr.String())

			if checkCode != tc.code {
				t.Errorf("check: exit %d, want %d\nstdout: %s\nstderr: %s", checkCode, tc.code, cout.String(), cerr.String())
			}
			if runCode != tc.code {
				t.Errorf("run: exit %d, want %d\nstderr: %s", runCode, tc.code, rerr.String())
			}
			for _, w := range tc.want {
				line := markLine(t, text, w.mark)
				wmsg := r.Replace(w.msg)
				if !hasProblem(cerr.String(), cfg, line, wmsg) {
					t.Errorf("check does not report %q at %s:%d:\n%s", wmsg, cfg, line, cerr.String())
				}
				if !hasProblem(rerr.String(), cfg, line, wmsg) {
					t.Errorf("run does not report %q at %s:%d:\n%s", wmsg, cfg, line, rerr.String())
				}
			}
			if tc.code != exitOK {
				// One problem per marked line, none more (a plugin whose
				// module is missing is not reported twice).
				want := map[string]bool{}
				for _, w := range tc.want {
					want[w.mark] = true
				}
				if n := countProblems(cerr.String(), cfg); n != len(want) {
					t.Errorf("check reports %d problems, want %d:\n%s", n, len(want), cerr.String())
				}
				if n := countProblems(rerr.String(), cfg); n != len(want) {
					t.Errorf("run reports %d problems, want %d:\n%s", n, len(want), rerr.String())
				}
			}
			rows := fileRows(t, out)
			switch {
			case tc.code != exitOK && rows != 0:
				t.Errorf("run refused the config but wrote %d rows to %s", rows, out)
			case tc.code == exitOK && rows == 0:
				t.Errorf("run accepted the config but wrote no row (stderr: %s)", rerr.String())
			}
			if tc.code != exitOK && strings.Contains(rerr.String(), "rows in") {
				t.Errorf("run refused the config but ran a stream:\n%s", rerr.String())
			}
		})
	}

	t.Run("checkpoint", func(t *testing.T) {
		results = append(results, checkpointCases(t, ks)...)
	})
}

// hasProblem reports whether out reports msg at file:line: on the line
// that starts with "file:line: " or on the lines continuing it up to the
// next problem of file (a resume refusal spans lines).
func hasProblem(out, file string, line int, msg string) bool {
	at := fmt.Sprintf("%s:%d: ", file, line)
	for {
		i := strings.Index(out, at)
		if i < 0 {
			return false
		}
		rest := out[i+len(at):]
		end := len(rest)
		if j := strings.Index(rest, "\n"+file+":"); j >= 0 {
			end = j
		}
		if strings.Contains(rest[:end], msg) {
			return true
		}
		out = rest
	}
}

// countProblems counts the problems of file in out: the lines that start
// with "file:" (the first after "sluice: ").
func countProblems(out, file string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimPrefix(l, "sluice: "), file+":") {
			n++
		}
	}
	return n
}

// firstLine is the first line of msg with dir left out, for the summary;
// when it ends with ":" (a list follows), with the list's first item.
func firstLine(msg, dir string) string {
	lines := strings.Split(strings.ReplaceAll(msg, dir+string(filepath.Separator), ""), "\n")
	first := strings.TrimSpace(lines[0])
	if strings.HasSuffix(first, ":") && len(lines) > 1 {
		first += " " + strings.TrimSpace(lines[1])
	}
	return first
}

// fileRows counts the rows of a JSONL file; 0 when there is no file.
func fileRows(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func logResults(t *testing.T, results []checkResult) {
	var b strings.Builder
	b.WriteString("\n| case | check exit | run exit | message excerpt |\n|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %d | `%s` |\n", r.name, r.checkCode, r.runCode, strings.ReplaceAll(r.first, "|", `\|`))
	}
	t.Log(b.String())
}

// checkpointCases stops a run partway (SIGTERM to the sluice binary, after
// a checkpoint was written), then checks that renaming the sink with the
// same path is mapped (check exits 0, and run finishes the stream with
// every row exactly once) while pointing the sink at another path is
// refused by both check and run, naming the sink and how to start over.
func checkpointCases(t *testing.T, ks string) []checkResult {
	s := testutil.Session(t)
	const n = 300
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".ck")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".ck (id int PRIMARY KEY, v text)")
	for i := 0; i < n; i++ {
		testutil.Exec(t, s, "INSERT INTO "+ks+".ck (id, v) VALUES (?, ?)", i, fmt.Sprintf("v%d", i))
	}
	dir := t.TempDir()
	bin := buildSluice(t, dir)
	cpDir := filepath.Join(dir, "checkpoints")
	out := filepath.Join(dir, "out.jsonl")
	other := filepath.Join(dir, "other.jsonl")
	config := func(sinkName, path string, rateLimit bool) string {
		rl := ""
		if rateLimit {
			rl = "\n  rate_limit_pages = 20"
		}
		name := ""
		if sinkName != "" {
			name = fmt.Sprintf("\n  name = %q", sinkName)
		}
		return fmt.Sprintf(`[runtime]
cache_dir = ""
progress = "off"
[checkpoint]
store = "file"
dir = %q
every_pages = 1
[[stream]] # @stream
name = "ck"
  [stream.source]
  keyspace = %q
  table = "ck"
  page_size = 5%s
  [[stream.sink]]%s
  type = "file"
  path = %q
`, cpDir, ks, rl, name, path)
	}

	// A run stopped gracefully after its first checkpoints.
	first := writeConfig(t, filepath.Join(dir, "first.toml"), config("", out, true))
	cmd := exec.Command(bin, "run", "-config", first)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(cpDir, "ck.checkpoint.json")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fileRows(t, out) >= 20 {
			if _, err := os.Stat(cpFile); err == nil {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("first run: %v (exit %d), want exit %d\n%s", err, code, exitInterrupted, stderr.String())
	}
	written := fileRows(t, out)
	if written == 0 || written >= n {
		t.Fatalf("first run wrote %d of %d rows: not stopped partway\n%s", written, n, stderr.String())
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var results []checkResult

	// The sink pointed at another file: refused by both.
	moved := writeConfig(t, filepath.Join(dir, "moved.toml"), config("", other, false))
	var cout, cerr, rerr bytes.Buffer
	checkCode := run([]string{"check", "-config", moved}, &cout, &cerr)
	runCode := run([]string{"run", "-config", moved}, &bytes.Buffer{}, &rerr)
	results = append(results, checkResult{"checkpoint: sink path changed", checkCode, runCode, firstLine(cerr.String(), dir)})
	t.Logf("check, sink path changed:\n%s", cerr.String())
	if checkCode != exitUsage || runCode != exitUsage {
		t.Errorf("sink path changed: check exit %d, run exit %d, want %d and %d\ncheck: %s\nrun: %s", checkCode, runCode, exitUsage, exitUsage, cerr.String(), rerr.String())
	}
	line := markLine(t, config("", other, false), "stream")
	for _, msg := range []string{
		`the checkpoint cannot be resumed with this config`,
		fmt.Sprintf(`sink "file" now writes to file:%s; the checkpoint's sink "file" wrote to file:%s`, other, out),
		"to start over instead, delete " + cpFile,
	} {
		if !hasProblem(cerr.String(), moved, line, msg) {
			t.Errorf("check does not report %q at %s:%d:\n%s", msg, moved, line, cerr.String())
		}
		if !hasProblem(rerr.String(), moved, line, msg) {
			t.Errorf("run does not report %q at %s:%d:\n%s", msg, moved, line, rerr.String())
		}
	}
	if rows := fileRows(t, other); rows != 0 {
		t.Errorf("the refused run wrote %d rows to %s", rows, other)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(after, before) {
		t.Errorf("the refused run changed %s", out)
	}

	// The sink renamed, same path: mapped.
	renamed := writeConfig(t, filepath.Join(dir, "renamed.toml"), config("out", out, false))
	cout.Reset()
	cerr.Reset()
	checkCode = run([]string{"check", "-config", renamed}, &cout, &cerr)
	if checkCode != exitOK {
		t.Errorf("sink renamed: check exit %d, want 0\n%s", checkCode, cerr.String())
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(after, before) {
		t.Errorf("check changed %s", out)
	}
	rerr.Reset()
	runCode = run([]string{"run", "-config", renamed}, &bytes.Buffer{}, &rerr)
	results = append(results, checkResult{`checkpoint: sink renamed (name = "out", same path)`, checkCode, runCode, firstLine(cout.String(), dir)})
	if runCode != exitOK {
		t.Errorf("sink renamed: run exit %d, want 0\n%s", runCode, rerr.String())
	}
	for _, want := range []string{`sink \"file\" was renamed \"out\"`, "(resumed from checkpoint)"} {
		if !strings.Contains(rerr.String(), want) {
			t.Errorf("the resumed run's stderr lacks %q:\n%s", want, rerr.String())
		}
	}
	ids := map[string]int{}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	idRe := regexp.MustCompile(`"id":(\d+)`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := idRe.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("no id in %q", sc.Text())
		}
		ids[m[1]]++
	}
	if len(ids) != n {
		t.Errorf("%d distinct ids in %s after the resumed run, want %d", len(ids), out, n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Errorf("id %s written %d times", id, c)
		}
	}
	return results
}
