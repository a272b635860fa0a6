package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Modules used by these tests: the host's WAT test modules and the C build
// of the filter example (all committed .wasm).
var (
	filterEven = filepath.Join("..", "..", "host", "testdata", "filter_even.wasm")
	rowsNamed  = filepath.Join("..", "..", "host", "testdata", "rows_named.wasm")
	counter    = filepath.Join("..", "..", "host", "testdata", "counter.wasm")
	trapPage3  = filepath.Join("..", "..", "host", "testdata", "trap_page3.wasm")
	filterC    = filepath.Join("..", "..", "plugins", "examples", "filter", "c", "filter.wasm")
)

const peopleSchema = "id int, name text, age int"

const people = `{"id":1,"name":"ada","age":36}
{"id":2,"name":"bob","age":17}
{"id":3,"name":null,"age":18}
{"id":4,"name":"","age":null}
{"id":5,"name":"eve","age":90}
`

// sluiceRun runs the CLI in-process and returns the exit code, stdout and
// stderr.
func sluiceRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPluginTestGoodRun(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	code, stdout, stderr := sluiceRun(t, "plugin", "test",
		"-plugin", "adults="+filterC, "-config-json", `{"column":"age","op":">=","value":"18"}`,
		"-schema", peopleSchema, "-input", in, "-page-size", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := `{"id":1,"name":"ada","age":36}
{"id":3,"name":null,"age":18}
{"id":5,"name":"eve","age":90}
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.Contains(stderr, "plugin test: adults: 3 pages, 5 rows in; default output: 3 rows") {
		t.Errorf("stderr: %s", stderr)
	}

	// -q: no summary; CSV input; -flush=false.
	csv := writeFile(t, dir, "people.csv", "id,name,age\n1,ada,36\n2,,17\n3,\"\",\n")
	code, stdout, stderr = sluiceRun(t, "plugin", "test", "-q", "-flush=false",
		"-plugin", filterC, "-config-json", `{"column":"name","op":"not_null"}`,
		"-schema", peopleSchema, "-input", csv)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if want := "{\"id\":1,\"name\":\"ada\",\"age\":36}\n{\"id\":3,\"name\":\"\",\"age\":null}\n"; stdout != want {
		t.Errorf("csv stdout:\n%s", stdout)
	}
}

func TestPluginTestChainAndOutputs(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	schema := writeFile(t, dir, "schema.txt", "id\tint\nname\ttext\nage\tint\n")
	out := filepath.Join(dir, "out")
	code, stdout, stderr := sluiceRun(t, "plugin", "test",
		"-plugin", filterEven, "-plugin", rowsNamed, "-plugin", counter,
		"-schema-file", schema, "-input", in, "-out-dir", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// filter_even keeps rows 0, 2, 4; rows_named adds one audit row (the row
	// count it saw); the counter passes rows and emits its count at flush.
	wantDefault := `{"id":1,"name":"ada","age":36}
{"id":3,"name":null,"age":18}
{"id":5,"name":"eve","age":90}
{"count":3}
`
	if stdout != wantDefault {
		t.Errorf("stdout:\n%s", stdout)
	}
	for file, want := range map[string]string{"default.jsonl": wantDefault, "audit.jsonl": `{"rows":3}` + "\n"} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want && !(file == "audit.jsonl" && strings.Count(string(b), "\n") == 1) {
			t.Errorf("%s:\n%s", file, b)
		}
	}
	if !strings.Contains(stderr, `filter_even -> rows_named -> counter: 1 pages, 5 rows in; default output: 4 rows; output "audit": 1 rows`) {
		t.Errorf("stderr: %s", stderr)
	}

	// -output audit prints the named output; without -out-dir the summary
	// says how to see the default one.
	code, stdout, stderr = sluiceRun(t, "plugin", "test", "-plugin", rowsNamed,
		"-schema-file", schema, "-input", in, "-output", "audit")
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.Contains(stderr, `not printed: see them with -output ""`) {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestPluginTestConfigFile(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	abs, err := filepath.Abs(filterC)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "chain.toml", `
schema = "`+peopleSchema+`"

[[plugin]]
name = "minors"
path = "`+abs+`"
[plugin.config]
column = "age"
op = "<"
value = "18"
`)
	code, stdout, stderr := sluiceRun(t, "plugin", "test", "-config", cfg, "-input", in)
	if code != 0 || stdout != `{"id":2,"name":"bob","age":17}`+"\n" || !strings.Contains(stderr, "minors:") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// A chain in the file and on the command line is ambiguous.
	code, _, stderr = sluiceRun(t, "plugin", "test", "-config", cfg, "-plugin", filterEven, "-input", in)
	if code != 2 || !strings.Contains(stderr, "not both") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

func TestPluginTestExpect(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	args := []string{"plugin", "test", "-plugin", filterEven, "-schema", peopleSchema, "-input", in}
	good := `{"id":1,"name":"ada","age":36}
{"id":3,"name":null,"age":18}
{"id":5,"name":"eve","age":90}
`
	expect := writeFile(t, dir, "expected.jsonl", strings.ReplaceAll(good, "\n", "\r\n"))
	code, stdout, stderr := sluiceRun(t, append(args, "-expect", expect)...)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "ok: default output matches "+expect+" (3 rows)") {
		t.Errorf("match: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	bad := writeFile(t, dir, "bad.jsonl", strings.Replace(good, `"age":90`, `"age":91`, 1))
	code, stdout, stderr = sluiceRun(t, append(args, "-expect", bad)...)
	if code != 1 || stdout != "" {
		t.Errorf("mismatch: exit %d\nstdout %s", code, stdout)
	}
	for _, want := range []string{
		"--- " + bad + " (expected, 3 lines)\n+++ default output (actual, 3 lines)\n@@ -1,3 +1,3 @@\n",
		"-{\"id\":5,\"name\":\"eve\",\"age\":91}\n+{\"id\":5,\"name\":\"eve\",\"age\":90}\n",
		"sluice: plugin test: default output differs from " + bad,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("mismatch stderr lacks %q:\n%s", want, stderr)
		}
	}

	// -update rewrites the file; then it matches.
	code, _, stderr = sluiceRun(t, append(args, "-expect", bad, "-update")...)
	if code != 0 {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(bad); string(b) != good {
		t.Errorf("updated file:\n%s", b)
	}
	if code, _, stderr := sluiceRun(t, append(args, "-expect", bad)...); code != 0 {
		t.Errorf("after update: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := sluiceRun(t, append(args, "-expect", filepath.Join(dir, "missing.jsonl"))...); code != 2 || !strings.Contains(stderr, "missing.jsonl") {
		t.Errorf("missing expect file: exit %d\n%s", code, stderr)
	}
}

func TestPluginTestBadFixture(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content, want string
	}{
		{"wrong type", "a.jsonl", "{\"id\":1}\n{\"id\":2,\"age\":\"old\"}\n", `a.jsonl:2: column "age" (int): `},
		{"unknown column", "b.jsonl", "{\"id\":1,\"nmae\":\"x\"}\n", `b.jsonl:1: column "nmae": not a column of the schema (id int, name text, age int)`},
		{"bad json", "c.jsonl", "{\"id\":1,}\n", `c.jsonl:1: invalid JSON`},
		{"csv", "d.csv", "id,age\n1,2\n3,x\n", `d.csv:3: column "age" (int): `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := writeFile(t, dir, tt.file, tt.content)
			code, stdout, stderr := sluiceRun(t, "plugin", "test", "-plugin", filterEven, "-schema", peopleSchema, "-input", in)
			if code != 2 || stdout != "" || !strings.Contains(stderr, "sluice: "+in[:len(in)-len(tt.file)]) || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, tt.want)
			}
		})
	}
	in := writeFile(t, dir, "ok.jsonl", people)
	code, _, stderr := sluiceRun(t, "plugin", "test", "-plugin", filterEven, "-schema", "id int, id text", "-input", in)
	if code != 2 || !strings.Contains(stderr, `column "id" defined twice`) {
		t.Errorf("bad schema: exit %d\n%s", code, stderr)
	}
}

func TestPluginTestTrapReport(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	code, stdout, stderr := sluiceRun(t, "plugin", "test", "-plugin", trapPage3, "-schema", peopleSchema, "-input", in, "-page-size", "1")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{`plugin "trap_page3" (module `, "failed on page 3 split 0", "unreachable", "stream \"plugin-test\""} {
		if !strings.Contains(stderr, want) {
			t.Errorf("report lacks %q:\n%s", want, stderr)
		}
	}
	// The plugin's own error (init, bad config) is a plugin failure too.
	code, _, stderr = sluiceRun(t, "plugin", "test", "-plugin", filterC, "-config-json", `{"column":"age","op":"~"}`, "-schema", peopleSchema, "-input", in)
	if code != 1 || !strings.Contains(stderr, `filter: op "~" is not one of ==, !=, <, <=, >, >=, is_null, not_null`) {
		t.Errorf("init error: exit %d\n%s", code, stderr)
	}
}

func TestPluginTestUsage(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-schema", peopleSchema, "-input", in}, "no plugin"},
		{[]string{"-plugin", filterEven, "-input", in}, "needs a schema"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema}, "no fixture"},
		{[]string{"-plugin", filterEven, "-config-json", "{}", "-config-json", "{}", "-schema", peopleSchema, "-input", in}, "2 -config-json for 1 -plugin"},
		{[]string{"-plugin", filterEven, "-config-json", "{", "-schema", peopleSchema, "-input", in}, "-config-json #1"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", in, "-page-size", "0"}, "-page-size 0"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", in, "-update"}, "-update needs -expect"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", filepath.Join(dir, "x.txt")}, "cannot tell the format"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", filepath.Join(dir, "none.jsonl")}, "none.jsonl"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", in, "-memory-limit", "big"}, "-memory-limit"},
		{[]string{"-plugin", filterEven, "-schema", peopleSchema, "-input", in, "extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, _, stderr := sluiceRun(t, append([]string{"plugin", "test"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant %q", tt.args, code, stderr, tt.want)
		}
	}
	if code, stdout, stderr := sluiceRun(t, "plugin", "test", "-help"); code != 0 || !strings.Contains(stdout+stderr, "-expect") {
		t.Errorf("-help: exit %d", code)
	}
}

func TestPluginTestStdin(t *testing.T) {
	f, err := os.Open(writeFile(t, t.TempDir(), "in", people))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, stdout, stderr := sluiceRun(t, "plugin", "test", "-q", "-plugin", filterEven, "-schema", peopleSchema, "-input", "-")
	if code != 0 || strings.Count(stdout, "\n") != 3 {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestPluginTestMemoryLimitAndTimeout(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.jsonl", people)
	loop := filepath.Join("..", "..", "host", "testdata", "infinite_loop.wasm")
	code, _, stderr := sluiceRun(t, "plugin", "test", "-plugin", loop, "-schema", peopleSchema, "-input", in, "-timeout", "100ms")
	if code != 1 || !strings.Contains(stderr, "timed out") {
		t.Errorf("timeout: exit %d\n%s", code, stderr)
	}
	bomb := filepath.Join("..", "..", "host", "testdata", "memory_bomb.wasm")
	code, _, stderr = sluiceRun(t, "plugin", "test", "-plugin", bomb, "-schema", peopleSchema, "-input", in, "-memory-limit", "1MiB")
	if code != 1 || !strings.Contains(stderr, "memory") {
		t.Errorf("memory limit: exit %d\n%s", code, stderr)
	}
}
