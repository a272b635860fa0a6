package config

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

var update = flag.Bool("update", false, "rewrite golden files and the generated part of docs/config.md")

// TestBad runs every testdata/bad/*.toml through Parse and compares the
// error text with the .golden file next to it.
func TestBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(filepath.Base(f), data)
			if err == nil {
				t.Fatalf("%s parsed without error", f)
			}
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error is %T, want *config.Error with problems: %v", err, err)
			}
			for _, p := range ce.Problems {
				if p.Line == 0 && p.Path != "stream" {
					t.Errorf("problem without a line: %s", p)
				}
			}
			golden(t, strings.TrimSuffix(f, ".toml")+".golden", err.Error()+"\n")
		})
	}
}

// TestGood parses every testdata/good/*.toml and compares the resolved
// Config, as JSON, with the .golden file next to it.
func TestGood(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good configs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(filepath.Base(f), data)
			if err != nil {
				t.Fatalf("%v", err)
			}
			out, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".toml")+".golden", string(out)+"\n")
		})
	}
}

// TestExamples checks that every file in examples/configs loads.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/configs/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// TestReferenceCoversEveryKey checks that examples/configs/reference.toml
// mentions every key of the reference (set or commented out).
func TestReferenceCoversEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../examples/configs/reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, line := range strings.Split(Reference(), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		key := strings.Trim(strings.Split(line, "|")[1], " `")
		if !strings.Contains(text, key+" =") && !strings.Contains(text, "["+key) && !strings.Contains(text, "."+key+"]") {
			t.Errorf("reference.toml does not mention key %q", key)
		}
	}
}

const (
	beginGenerated = "<!-- BEGIN GENERATED: go test ./internal/config -run TestDocsInStep -update -->\n"
	endGenerated   = "<!-- END GENERATED -->\n"
)

// TestDocsInStep keeps the key reference in docs/config.md identical to
// Reference(), which is generated from the code.
func TestDocsInStep(t *testing.T) {
	const path = "../../docs/config.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i := strings.Index(doc, beginGenerated)
	j := strings.Index(doc, endGenerated)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers %q and %q", path, beginGenerated, endGenerated)
	}
	want := doc[:i+len(beginGenerated)] + "\n" + Reference() + "\n" + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of step with the code: run go test ./internal/config -run TestDocsInStep -update", path)
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("min.toml", []byte("[[stream]]\nname = \"s\"\nsource.keyspace = \"ks\"\nsource.table = \"t\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Streams[0]
	if s.Source.PageSize != 5000 || s.Source.Consistency != "LOCAL_ONE" || s.Source.Splits != 1 {
		t.Errorf("source defaults not applied: %+v", s.Source)
	}
	if len(s.Sinks) != 1 || s.Sinks[0].Type != "stdout" || s.Sinks[0].Name != "stdout" || len(s.Sinks[0].Outputs) != 1 || s.Sinks[0].Outputs[0] != "" {
		t.Errorf("default sink not added: %+v", s.Sinks)
	}
	// The parsed config must not share memory with the defaults.
	c.Cassandra.Hosts[0] = "changed"
	s.Sinks[0].Outputs[0] = "changed"
	if defaults.Config.Cassandra.Hosts[0] != "127.0.0.1:9042" || defaults.DefaultSink.Outputs[0] != "" {
		t.Fatal("parsed config aliases the defaults")
	}
}

func TestInheritance(t *testing.T) {
	src := `
[cassandra]
keyspace = "app"
consistency = "QUORUM"
[runtime]
memory_limit = "32MiB"
page_timeout = "2s"
[[stream]]
name = "s"
source = { table = "t", concurrency = 3 }
[[stream.plugin]]
path = "dir/my-filter.wasm"
sha256 = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
[[stream.plugin]]
name = "second"
path = "x.wasm"
memory_limit = 1048576
page_timeout = "50ms"
[[stream.sink]]
type = "cassandra"
table = "out"
[[stream.sink]]
type = "file"
path = "o.csv"
format = "csv"
outputs = ["", "rejects"]
`
	c, err := Parse("inherit.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Streams[0]
	if s.Source.Keyspace != "app" || s.Source.Consistency != "QUORUM" || s.Source.Splits != 12 {
		t.Errorf("source: %+v", s.Source)
	}
	p0, p1 := s.Plugins[0], s.Plugins[1]
	if p0.Name != "my-filter" || p0.MemoryLimit != 32*MiB || p0.PageTimeout != 2*time.Second || p0.SHA256 != strings.ToLower(p0.SHA256) {
		t.Errorf("plugin 0: %+v", p0)
	}
	if p1.MemoryLimit != MiB || p1.PageTimeout != 50*time.Millisecond || p1.Line != 14 {
		t.Errorf("plugin 1: %+v", p1)
	}
	if k := s.Sinks[0]; k.Name != "cassandra" || k.Keyspace != "app" || k.Consistency != "QUORUM" || k.Concurrency != 8 {
		t.Errorf("sink 0: %+v", k)
	}
	if k := s.Sinks[1]; k.Name != "file" || k.Format != "csv" || k.Line != 22 {
		t.Errorf("sink 1: %+v", k)
	}
	if c.Line("stream[0].sink[1].path") != 24 || c.Line("stream[0].sink[1].nothing") != 22 || c.Line("nothing") != 0 {
		t.Errorf("Line: %d %d %d", c.Line("stream[0].sink[1].path"), c.Line("stream[0].sink[1].nothing"), c.Line("nothing"))
	}
	if got := s.Source.Consistency.Gocql().String(); got != "QUORUM" {
		t.Errorf("Gocql() = %s", got)
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	src := `
[runtime]
cache_dir = "cache"
[checkpoint]
dir = "/abs/ckpt"
[[stream]]
name = "s"
source.keyspace = "k"
source.table = "t"
[[stream.plugin]]
path = "plugins/f.wasm"
[[stream.sink]]
type = "file"
path = "out/x.jsonl"
`
	path := filepath.Join(dir, "sluice.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// A missing plugin module is a problem of the file, at its line.
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "sluice.toml:11: stream[0] (\"s\").plugin[0] (\"f\").path: plugin module") {
		t.Fatalf("Load with a missing plugin file = %v, want a problem at line 11", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins/f.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir || c.Runtime.CacheDir != filepath.Join(dir, "cache") || c.Checkpoint.Dir != "/abs/ckpt" ||
		c.Streams[0].Plugins[0].Path != filepath.Join(dir, "plugins/f.wasm") || c.Streams[0].Sinks[0].Path != filepath.Join(dir, "out/x.jsonl") {
		t.Errorf("paths not resolved: %+v", c)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a not-exist error", err)
	}
}

func TestResolveSecrets(t *testing.T) {
	src := "[cassandra]\nusername = \"u\"\npassword_env = \"PW\"\n[admin]\nlisten = \"127.0.0.1:9180\"\ntoken_env = \"TOK\"\n[[stream]]\nname = \"s\"\nsource.cql = \"SELECT * FROM k.t\"\n"
	c, err := Parse("sec.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PW": "secret", "TOK": "t0k"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	s, err := c.ResolveSecrets(lookup)
	if err != nil || s.CassandraPassword != "secret" || s.AdminToken != "t0k" {
		t.Fatalf("ResolveSecrets = %+v, %v", s, err)
	}
	delete(env, "PW")
	env["TOK"] = ""
	_, err = c.ResolveSecrets(lookup)
	want := "sec.toml:3: cassandra.password_env: environment variable PW is not set (it must hold the password of cassandra.username)\n" +
		"sec.toml:6: admin.token_env: environment variable TOK is empty (it must hold the bearer token of the admin server)"
	if err == nil || err.Error() != want {
		t.Errorf("ResolveSecrets error:\n%v\nwant:\n%s", err, want)
	}
	// No names, no secrets, no error.
	c2, err := Parse("none.toml", []byte("[[stream]]\nname = \"s\"\nsource.cql = \"SELECT * FROM k.t\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c2.ResolveSecrets(func(string) (string, bool) { return "", false }); err != nil || !reflect.DeepEqual(s, Secrets{}) {
		t.Errorf("ResolveSecrets without names = %+v, %v", s, err)
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		err  string
	}{
		{"64MiB", 64 * MiB, ""},
		{"64 MiB", 64 * MiB, ""},
		{"1GB", 1e9, ""},
		{"512KiB", 512 * KiB, ""},
		{"4096B", 4096, ""},
		{"2TiB", 2 * TiB, ""},
		{"64mb", 0, `unknown unit "mb"`},
		{"64", 0, "want an integer and a unit"},
		{"MiB", 0, "want an integer and a unit"},
		{"1.5GiB", 0, `unknown unit ".5GiB"`},
		{"-1MiB", 0, "want an integer and a unit"},
		{"99999999999999999999B", 0, "out of range"},
		{"9999999999TiB", 0, "too large"},
	} {
		got, err := ParseByteSize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseByteSize(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   ByteSize
		want string
		wp   uint32
	}{{64 * MiB, "64MiB", 1024}, {1000, "1000B", 1}, {0, "0B", 0}, {3 * GiB, "3GiB", 49152}, {64*KiB + 1, "65537B", 2}} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		if got := tc.in.WasmPages(); got != tc.wp {
			t.Errorf("%d.WasmPages() = %d, want %d", int64(tc.in), got, tc.wp)
		}
	}
}

func TestShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"", Shard{}, ""},
		{"0/4", Shard{Index: 0, Count: 4}, ""},
		{"3/4", Shard{Index: 3, Count: 4}, ""},
		{" 1 / 2 ", Shard{Index: 1, Count: 2}, ""},
		{"0/1", Shard{Index: 0, Count: 1}, ""},
		{"4/4", Shard{}, "between 0 and 3"},
		{"-1/4", Shard{}, "between 0 and 3"},
		{"1/0", Shard{}, "N must be between 1 and 65536"},
		{"a/b", Shard{}, `want "i/N"`},
		{"1", Shard{}, `want "i/N"`},
		{"auto/4", Shard{Count: 4, Auto: true}, ""},
		{"auto/0", Shard{}, "N must be between 1 and 65536"},
		{"auto", Shard{}, `or "auto/N"`},
	} {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.in != "" && got.String() != strings.ReplaceAll(tc.in, " ", "") {
			t.Errorf("Shard.String() = %q", got.String())
		}
	}
}

func TestShardResolve(t *testing.T) {
	auto := Shard{Count: 4, Auto: true}
	for _, tc := range []struct {
		env  string
		want Shard
		err  string
	}{
		{"0", Shard{Index: 0, Count: 4}, ""},
		{" 3 ", Shard{Index: 3, Count: 4}, ""},
		{"", Shard{}, "JOB_COMPLETION_INDEX, which is not set"},
		{"4", Shard{}, "JOB_COMPLETION_INDEX=4 is outside 0..3: the Job's completions must equal the shard count 4"},
		{"-1", Shard{}, "outside 0..3"},
		{"x", Shard{}, `JOB_COMPLETION_INDEX="x" is not an integer`},
	} {
		got, err := auto.Resolve(func(k string) string {
			if k != IndexEnv {
				t.Fatalf("getenv(%q)", k)
			}
			return tc.env
		})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve with %q = %v, %v; want error containing %q", tc.env, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve with %q = %v, %v; want %v", tc.env, got, err, tc.want)
		}
	}
	fixed := Shard{Index: 1, Count: 2}
	if got, err := fixed.Resolve(func(string) string { return "0" }); err != nil || got != fixed {
		t.Errorf("a fixed shard resolved to %v, %v", got, err)
	}
}

func TestResolveShards(t *testing.T) {
	c := &Config{Streams: []Stream{
		{Name: "a", Shard: Shard{Count: 4, Auto: true}, Sinks: []Sink{{Type: "file", Path: "/out/a-{shard}.jsonl"}}},
		{Name: "b", Sinks: []Sink{{Type: "file", Path: "/out/{shard}/b.csv"}}},
	}}
	if err := c.ResolveShards(func(string) string { return "2" }); err != nil {
		t.Fatal(err)
	}
	if got := c.Streams[0]; got.Shard != (Shard{Index: 2, Count: 4}) || got.Sinks[0].Path != "/out/a-2-of-4.jsonl" {
		t.Fatalf("stream a: %+v", got)
	}
	if got := c.Streams[1].Sinks[0].Path; got != "/out/0-of-1/b.csv" {
		t.Fatalf("stream b: %q", got)
	}
	c = &Config{Streams: []Stream{{Name: "a", Shard: Shard{Count: 4, Auto: true}}}}
	if err := c.ResolveShards(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), `stream "a": shard "auto/4" takes its index from JOB_COMPLETION_INDEX`) {
		t.Fatalf("err = %v", err)
	}
}

func TestConsistency(t *testing.T) {
	for _, n := range consistencyNames {
		var c Consistency
		if msg := c.decodeValue(strings.ToLower(n)); msg != "" || string(c) != n || c.Gocql().String() != n {
			t.Errorf("consistency %s: %q %q", n, c, msg)
		}
	}
	var c Consistency
	if msg := c.decodeValue("LOCAL_TWO"); !strings.Contains(msg, `unknown consistency level "LOCAL_TWO"`) {
		t.Errorf("msg = %q", msg)
	}
	if msg := c.decodeValue(int64(1)); !strings.Contains(msg, "got integer 1") {
		t.Errorf("msg = %q", msg)
	}
}

func TestCountMarkers(t *testing.T) {
	for _, tc := range []struct {
		q   string
		n   int
		err string
	}{
		{"SELECT * FROM t", 0, ""},
		{"SELECT * FROM t WHERE a = ? AND b = ?", 2, ""},
		{"SELECT * FROM t WHERE a = '?' AND b = ?", 1, ""},
		{"SELECT * FROM t WHERE a = 'it''s ?' AND \"we?ird\" = ?", 1, ""},
		{"SELECT * FROM t WHERE a = $$ ? $$ AND b IN ?", 1, ""},
		{"SELECT * FROM t -- a ?\nWHERE b = ?", 1, ""},
		{"SELECT * FROM t /* ? */ WHERE b = ?;", 1, ""},
		{"SELECT * FROM t WHERE a = :a", 0, "named bind markers"},
		{"SELECT * FROM t; DROP TABLE t", 0, "single statement"},
		{"SELECT * FROM t WHERE a = 'x", 0, "unterminated string"},
		{"SELECT * FROM t /* x", 0, "unterminated /*"},
		{"SELECT * FROM t WHERE a = $$x", 0, "unterminated $$"},
		{"SELECT toTimestamp(now()) FROM t WHERE a = '10:30'", 0, ""},
	} {
		n, msg := countMarkers(tc.q)
		if tc.err != "" {
			if !strings.Contains(msg, tc.err) {
				t.Errorf("countMarkers(%q) = %d, %q; want error %q", tc.q, n, msg, tc.err)
			}
			continue
		}
		if msg != "" || n != tc.n {
			t.Errorf("countMarkers(%q) = %d, %q; want %d", tc.q, n, msg, tc.n)
		}
	}
}

func TestCheckHostPort(t *testing.T) {
	for _, tc := range []struct {
		in       string
		optional bool
		ok       bool
	}{
		{"127.0.0.1:9042", true, true},
		{"127.0.0.1", true, true},
		{"cass-1.example.com", true, true},
		{"[::1]:9042", true, true},
		{"::1", true, true},
		{"[::1]", true, true},
		{"host:0", true, false},
		{"host:x", true, false},
		{":9042", true, false},
		{"", true, false},
		{"a:b:c", true, false},
		{":9180", false, true},
		{"127.0.0.1", false, false},
		{"localhost:9180", false, true},
	} {
		msg := checkHostPort(tc.in, tc.optional)
		if (msg == "") != tc.ok {
			t.Errorf("checkHostPort(%q, %v) = %q, want ok=%v", tc.in, tc.optional, msg, tc.ok)
		}
	}
}

// TestLines checks the line scanner on TOML that is easy to get wrong.
func TestLines(t *testing.T) {
	src := `# comment [not.a.table]
a = """
multi [x] = 1
line"""""
b = '''lit
'''
"quoted.key" = 1
'lit key' = { x = 1, y = [1,
  2] }
arr = [
  # comment
  { n = 1 },
  "s]",
]
[t . "u v"]
k = 1 # c
[[aot]]
[[aot]]
x.y = 2
[aot.sub]
z = 3
[[aot.inner]]
[[aot.inner]]
w = 4
dt = 1979-05-27 07:32:00Z
after = true
`
	want := map[string]int{
		"a": 2, "b": 5, `"quoted.key"`: 7, `"lit key"`: 8, `"lit key".x`: 8, `"lit key".y[1]`: 9,
		"arr": 10, "arr[0]": 12, "arr[0].n": 12, "arr[1]": 13, `t."u v"`: 15, `t."u v".k`: 16,
		"aot[0]": 17, "aot[1]": 18, "aot[1].x": 19, "aot[1].x.y": 19, "aot[1].sub": 20, "aot[1].sub.z": 21,
		"aot[1].inner[0]": 22, "aot[1].inner[1]": 23, "aot[1].inner[1].w": 24, "aot[1].inner[1].dt": 25,
		"aot[1].inner[1].after": 26,
	}
	got := scanLines(src)
	for k, l := range want {
		if got[k] != l {
			t.Errorf("line of %s = %d, want %d", k, got[k], l)
		}
	}
	if t.Failed() {
		t.Logf("all: %v", got)
	}
}

func TestPrefixEnds(t *testing.T) {
	p := `stream[0].plugin[1].config."a.b[c]".d`
	var got []string
	for _, e := range prefixEnds(p) {
		got = append(got, p[:e])
	}
	want := []string{"stream", "stream[0]", "stream[0].plugin", "stream[0].plugin[1]", "stream[0].plugin[1].config", `stream[0].plugin[1].config."a.b[c]"`, p}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("prefixEnds:\n%q\nwant\n%q", got, want)
	}
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good/*.toml", "testdata/bad/*.toml", "../../examples/configs/*.toml"} {
		files, _ := filepath.Glob(dir)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("a = {b = [1, {c = '''x\n'''}]}\n[[x]]\n[x.y]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err == nil {
			if c == nil || len(c.Streams) == 0 {
				t.Fatalf("nil config or no streams without error")
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error is not a *Error with problems: %T %v", err, err)
		}
		// The line scanner finds every key the TOML parser found.
		var raw map[string]any
		md, perr := toml.Decode(string(data), &raw)
		if perr != nil {
			return
		}
		found := map[string]bool{}
		for p := range scanLines(string(data)) {
			found[indexRE.ReplaceAllString(p, "")] = true
		}
		for _, k := range md.Keys() {
			p := ""
			for _, seg := range k {
				p = joinKey(p, seg)
			}
			if !found[indexRE.ReplaceAllString(p, "")] {
				t.Fatalf("scanner missed key %s", p)
			}
		}
	})
}
