package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGenerate(t *testing.T) {
	sdk := root(t)
	want := map[string][]string{
		"go":             append([]string{".gitignore", "Makefile", "README.md", "go.mod", "main.go", "main_test.go", "sdk/go.mod"}, copied(t, sdk, "go")...),
		"c":              {".gitignore", "Makefile", "README.md", "my-plugin.c", "sluice.h", "test/plugin.test.mjs", "test/sluice-testing.mjs"},
		"rust":           append([]string{".cargo/config.toml", ".gitignore", "Cargo.toml", "Makefile", "README.md", "src/lib.rs"}, copied(t, sdk, "rust")...),
		"assemblyscript": append([]string{".gitignore", "Makefile", "README.md", "assembly/index.ts", "package.json", "test/plugin.test.mjs"}, copied(t, sdk, "assemblyscript")...),
	}
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			files, err := Generate(Options{Lang: lang, Name: "my-plugin", Dir: dir, SDK: sdk, Sluice: "/opt/bin/sluice"})
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := append(want[lang], "sluice.toml", "testdata/config.json", "testdata/expected.jsonl", "testdata/input.jsonl", "testdata/schema.txt")
			if strings.Join(files, " ") != strings.Join(sorted(wantFiles), " ") {
				t.Errorf("files %v, want %v", files, sorted(wantFiles))
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if f != "sluice.h" && !strings.HasPrefix(f, "sdk/") && strings.Contains(string(b), "@@") {
					t.Errorf("%s: placeholder left: %s", f, b)
				}
				if strings.Contains(string(b), sdk) {
					t.Errorf("%s: names the SDK tree %s: a scaffold holds relative paths only", f, sdk)
				}
			}
			mk, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
			for _, s := range []string{"SLUICE ?= /opt/bin/sluice", "my-plugin.wasm", "-expect testdata/expected.jsonl", "\ntest: ", "testdata/config.json"} {
				if !strings.Contains(string(mk), s) {
					t.Errorf("Makefile lacks %q", s)
				}
			}
			readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			if !strings.Contains(string(readme), "sluice plugin new --lang "+lang+" my-plugin") {
				t.Errorf("README:\n%s", readme)
			}
		})
	}
	// Language specifics.
	dir := filepath.Join(t.TempDir(), "g")
	if _, err := Generate(Options{Lang: "go", Name: "g", Dir: dir, SDK: sdk}); err != nil {
		t.Fatal(err)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	goVersion, _ := goDirective(filepath.Join(sdk, "go.mod"))
	if !strings.Contains(string(gomod), "replace github.com/sluicehq/sluice => ./sdk\n") || !strings.Contains(string(gomod), "\ngo "+goVersion+"\n") {
		t.Errorf("go.mod:\n%s", gomod)
	}
	if mk, _ := os.ReadFile(filepath.Join(dir, "Makefile")); !strings.Contains(string(mk), "SLUICE ?= sluice\n") {
		t.Errorf("default SLUICE:\n%s", mk)
	}
	dir = filepath.Join(t.TempDir(), "r")
	if _, err := Generate(Options{Lang: "rust", Name: "r-x", Dir: dir, SDK: sdk}); err != nil {
		t.Fatal(err)
	}
	if mk, _ := os.ReadFile(filepath.Join(dir, "Makefile")); !strings.Contains(string(mk), "CRATE  := r_x\n") {
		t.Errorf("rust crate name:\n%s", mk)
	}
	dir = filepath.Join(t.TempDir(), "c")
	if _, err := Generate(Options{Lang: "c", Name: "c", Dir: dir, SDK: sdk}); err != nil {
		t.Fatal(err)
	}
	h, _ := os.ReadFile(filepath.Join(dir, "sluice.h"))
	orig, _ := os.ReadFile(filepath.Join(sdk, "plugins", "c", "sluice.h"))
	if string(h) != string(orig) {
		t.Error("sluice.h is not a copy of the SDK's")
	}
}

// copied lists the SDK files a project of lang gets a copy of, and checks
// that the copy holds the SDK's entry points.
func copied(t *testing.T, sdk, lang string) []string {
	t.Helper()
	globs := map[string][]string{
		"go":             {"abi/*.go", "plugins/go/sluice/*.go"},
		"rust":           {"plugins/rust/sluice/Cargo.toml", "plugins/rust/sluice/src/*.rs"},
		"assemblyscript": {"plugins/assemblyscript/sdk/*.ts", "plugins/assemblyscript/sdk/package.json", "plugins/assemblyscript/sdk/testing.mjs"},
	}
	to := map[string]func(string) string{
		"go":             func(p string) string { return "sdk/" + p },
		"rust":           func(p string) string { return "sdk/sluice/" + strings.TrimPrefix(p, "plugins/rust/sluice/") },
		"assemblyscript": func(p string) string { return "sdk/" + strings.TrimPrefix(p, "plugins/assemblyscript/sdk/") },
	}
	var files []string
	for _, g := range globs[lang] {
		m, err := filepath.Glob(filepath.Join(sdk, filepath.FromSlash(g)))
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: %v %v", g, m, err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(sdk, f)
			rel = filepath.ToSlash(rel)
			if strings.HasSuffix(rel, "_test.go") {
				continue
			}
			files = append(files, to[lang](rel))
		}
	}
	return files
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestGenerateErrors(t *testing.T) {
	sdk := root(t)
	busy := t.TempDir()
	if err := os.WriteFile(filepath.Join(busy, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // exists and is empty: fine
	if _, err := Generate(Options{Lang: "c", Name: "ok", Dir: empty, SDK: sdk}); err != nil {
		t.Errorf("empty existing dir: %v", err)
	}
	fakeSDK := t.TempDir()
	if err := os.WriteFile(filepath.Join(fakeSDK, "go.mod"), []byte("module example.com/other\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, "go.mod"), []byte("module github.com/sluicehq/sluice\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Lang: "java", Name: "x", Dir: t.TempDir(), SDK: sdk}, `unknown language "java"`},
		{Options{Lang: "go", Name: "X", Dir: t.TempDir(), SDK: sdk}, `plugin name "X"`},
		{Options{Lang: "go", Name: "1x", Dir: t.TempDir(), SDK: sdk}, `plugin name "1x"`},
		{Options{Lang: "go", Name: "a/b", Dir: t.TempDir(), SDK: sdk}, `plugin name "a/b"`},
		{Options{Lang: "go", Name: "x", SDK: sdk}, "no directory"},
		{Options{Lang: "go", Name: "x", Dir: t.TempDir()}, "no SDK directory"},
		{Options{Lang: "go", Name: "x", Dir: busy, SDK: sdk}, "directory exists and is not empty"},
		{Options{Lang: "go", Name: "x", Dir: t.TempDir(), SDK: fakeSDK}, "its go.mod is module example.com/other"},
		{Options{Lang: "rust", Name: "x", Dir: t.TempDir(), SDK: partial}, "the Rust SDK is not in"},
	}
	for _, tt := range tests {
		_, err := Generate(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.opts, err, tt.want)
		}
	}
	if _, err := Generate(Options{Lang: "go", Name: "x", Dir: busy, SDK: sdk}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("not empty: %v", err)
	}
	if entries, _ := os.ReadDir(busy); len(entries) != 1 {
		t.Error("Generate wrote into a non-empty directory")
	}
}

func TestFindSDK(t *testing.T) {
	sdk := root(t)
	got, err := FindSDK(filepath.Join(sdk, "internal", "scaffold", "templates"))
	if err != nil || got != sdk {
		t.Errorf("FindSDK = %q, %v; want %q", got, err, sdk)
	}
	if _, err := FindSDK(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no sluice source tree") {
		t.Errorf("outside a tree: %v", err)
	}
}
