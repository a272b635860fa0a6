package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
)

func kvString(kvs []abi.KV) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

func TestConfigFromJSON(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: `{"column":"status","op":"==","value":"ok"}`, want: "column=status op=== value=ok"},
		{in: `{"n":42,"big":9223372036854775807,"f":0.5,"e":1e21,"b":true}`, want: "b=true big=9223372036854775807 e=1e+21 f=0.5 n=42"},
		{in: `{"columns":["b","a"],"rename":{"old":"new","x":{"y":1}}}`, want: "columns=b columns=a rename.old=new rename.x.y=1"},
		{in: `{}`, want: ""},
		{in: `{"a":null}`, err: `config JSON: key "a" is null`},
		{in: `{"a":{"b":[1,null]}}`, err: `config JSON: key "a.b[1]" is null`},
		{in: `null`, err: "got null"},
		{in: `[1]`, err: "want an object"},
		{in: `{"a":1} x`, err: "data after the object"},
		{in: `{"a.b":1}`, err: "contains '.'"},
		{in: `{"a":[[1]]}`, err: "arrays of arrays"},
	}
	for _, tt := range tests {
		kvs, err := ConfigFromJSON(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ConfigFromJSON(%s) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ConfigFromJSON(%s): %v", tt.in, err)
			continue
		}
		if got := kvString(kvs); got != tt.want {
			t.Errorf("ConfigFromJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("schema.txt", "id int\nemail text\n")
	p := write("chain.toml", `
schema_file = "schema.txt"

[[plugin]]
path = "a.wasm"
[plugin.config]
columns = ["email", "name"]
mode = "email"
nested = { k = 1 }

[[plugin]]
name = "second"
path = "/abs/b.wasm"
memory_limit = "1MiB"
page_timeout = "250ms"
`)
	f, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Schema == nil || columnList(f.Schema) != "id int, email text" {
		t.Errorf("schema %v", f.Schema)
	}
	if len(f.Plugins) != 2 {
		t.Fatalf("%d plugins", len(f.Plugins))
	}
	a, b := f.Plugins[0], f.Plugins[1]
	if a.Path != filepath.Join(dir, "a.wasm") || a.Name != "" || kvString(a.Config) != "columns=email columns=name mode=email nested.k=1" {
		t.Errorf("plugin 1: %+v", a)
	}
	if b.Path != "/abs/b.wasm" || b.Name != "second" || b.MemoryLimitPages != 16 || b.PageTimeout != 250*time.Millisecond || b.Config != nil {
		t.Errorf("plugin 2: %+v", b)
	}

	f, err = LoadFile(write("inline.toml", `schema = "id int, tags set<text>"`))
	if err != nil || columnList(f.Schema) != "id int, tags set<text>" || len(f.Plugins) != 0 {
		t.Errorf("inline schema: %+v, %v", f, err)
	}

	bad := []struct{ toml, err string }{
		{"[[plugin]]\npath = 'a.wasm'\ncolor = 1\n", "unknown keys plugin.color"},
		{"[[plugin]]\nname = 'x'\n", `plugin 1 ("x"): path is required`},
		{"schema = 'id int'\nschema_file = 'x'\n", "not both"},
		{"schema = 'id nope'\n", `column "id": type "nope"`},
		{"[[plugin]]\npath = 'a'\nmemory_limit = 'lots'\n", "memory_limit"},
		{"[[plugin]]\npath = 'a'\npage_timeout = '-1s'\n", `page_timeout "-1s"`},
		{"[[plugin]]\npath = 'a'\n[plugin.config]\nx = [{a = 1}]\n", "arrays of tables"},
		{"[[plugin]\n", "bad.toml:2: expected end of table array name"},
	}
	for i, tt := range bad {
		p := write("bad.toml", tt.toml)
		if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("case %d: error %v, want %q", i, err, tt.err)
		}
	}
}

func TestParsePluginArg(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "a=b.wasm")
	if err := os.WriteFile(odd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, name, path, err string }{
		{in: "x.wasm", path: "x.wasm"},
		{in: "f=dir/x.wasm", name: "f", path: "dir/x.wasm"},
		{in: odd, path: odd},
		{in: "", err: "empty"},
		{in: "=x.wasm", err: "want path.wasm or name=path.wasm"},
		{in: "n=", err: "want path.wasm or name=path.wasm"},
	}
	for _, tt := range tests {
		p, err := ParsePluginArg(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePluginArg(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || p.Name != tt.name || p.Path != tt.path {
			t.Errorf("ParsePluginArg(%q) = %+v, %v", tt.in, p, err)
		}
	}
	if DefaultName("dir/filter.wasm") != "filter" {
		t.Error("DefaultName")
	}
}

func TestOutputFile(t *testing.T) {
	for name, want := range map[string]string{"": "default.jsonl", "audit": "audit.jsonl", "a b": "a b.jsonl",
		"default": "", "../x": "", "a/b": "", ".hidden": "", `a\b`: ""} {
		got, err := OutputFile(name)
		if want == "" {
			if err == nil {
				t.Errorf("OutputFile(%q) = %q, want an error", name, got)
			}
		} else if got != want || err != nil {
			t.Errorf("OutputFile(%q) = %q, %v", name, got, err)
		}
	}
}

func TestDiff(t *testing.T) {
	if !Equal([]byte("a\nb\n"), []byte("a\r\nb")) || Equal([]byte("a\n"), []byte("a\nb\n")) || !Equal(nil, []byte("\n")) {
		t.Error("Equal")
	}
	if d := Diff("w", []byte("a\nb\n"), "g", []byte("a\r\nb")); d != "" {
		t.Errorf("equal texts diff: %q", d)
	}
	lines := func(from, to int, change map[int]string) []byte {
		var sb strings.Builder
		for i := from; i <= to; i++ {
			if s, ok := change[i]; ok {
				if s != "" {
					sb.WriteString(s + "\n")
				}
				continue
			}
			fmt.Fprintf(&sb, "line %d\n", i)
		}
		return []byte(sb.String())
	}
	want := lines(1, 20, nil)
	got := lines(1, 21, map[int]string{3: "changed 3", 15: ""})
	d := Diff("expected.jsonl", want, "default output", got)
	wantDiff := `--- expected.jsonl (expected, 20 lines)
+++ default output (actual, 20 lines)
@@ -1,6 +1,6 @@
 line 1
 line 2
-line 3
+changed 3
 line 4
 line 5
 line 6
@@ -12,9 +12,9 @@
 line 12
 line 13
 line 14
-line 15
 line 16
 line 17
 line 18
 line 19
 line 20
+line 21
`
	if d != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", d, wantDiff)
	}
	// Everything replaced, and empty sides.
	if d := Diff("w", []byte("a\n"), "g", nil); d != "--- w (expected, 1 lines)\n+++ g (actual, 0 lines)\n@@ -1 +0,0 @@\n-a\n" {
		t.Errorf("to empty:\n%s", d)
	}
	if d := Diff("w", nil, "g", []byte("x\ny\n")); d != "--- w (expected, 0 lines)\n+++ g (actual, 2 lines)\n@@ -0,0 +1,2 @@\n+x\n+y\n" {
		t.Errorf("from empty:\n%s", d)
	}
	// Long diffs are cut.
	var a, b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d = Diff("w", []byte(a.String()), "g", []byte(b.String()))
	if !strings.HasSuffix(d, "... 1800 more changed lines not shown\n") || strings.Count(d, "\n") != 2+1+maxDiffLines+1 {
		t.Errorf("long diff ends %q (%d lines)", d[max(0, len(d)-80):], strings.Count(d, "\n"))
	}
}
