package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the sluice source tree these tests run in (cmd/sluice/../..).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildSluice builds the sluice binary into dir: the generated Makefiles
// run it as a separate process.
func buildSluice(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build sluice: %v\n%s", err, out)
	}
	return bin
}

// toolchains each language's scaffold needs, besides make.
var toolchains = map[string][]string{
	"go":             {"go"},
	"c":              {"clang", "/usr/lib/wasm32-wasi/crt1-reactor.o"},
	"rust":           {"/usr/bin/rustc", "/usr/bin/cargo"},
	"assemblyscript": {"node", "npm"},
}

// needTools fails the test under CI when a toolchain is missing (CI must
// have them all), and skips it elsewhere.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"make"}, tools...) {
		var err error
		if strings.HasPrefix(tool, "/") {
			_, err = os.Stat(tool)
		} else {
			_, err = exec.LookPath(tool)
		}
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required (scripts/install-deps installs it): %v", tool, err)
			}
			t.Skipf("%s not available: %v", tool, err)
		}
	}
}

// TestPluginNewScaffoldsBuildAndPass generates a project in every language
// with the sluice binary, copies it to another directory outside the
// repository (a scaffold holds relative paths only, so it works wherever it
// is copied) and runs its own `make unit` (the native tests, where the
// language has them) and `make test` (build, then sluice plugin test with
// -expect), exactly as a plugin author would.
func TestPluginNewScaffoldsBuildAndPass(t *testing.T) {
	if testing.Short() {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must build the scaffold of every language: do not pass -short")
		}
		t.Skip("builds a plugin in every language (-short)")
	}
	root := repoRoot(t)
	bin := buildSluice(t, t.TempDir()) // once for every language
	for _, lang := range []string{"go", "c", "rust", "assemblyscript"} {
		t.Run(lang, func(t *testing.T) {
			needTools(t, toolchains[lang]...)
			dir := t.TempDir()
			name := "keep-" + lang
			cmd := exec.Command(bin, "plugin", "new", "-lang", lang, "-sdk", root, name)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("plugin new: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "next: cd "+name+" && make test") {
				t.Errorf("plugin new output:\n%s", out)
			}
			proj := filepath.Join(t.TempDir(), "moved", name)
			if err := os.CopyFS(proj, os.DirFS(filepath.Join(dir, name))); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if mk, _ := os.ReadFile(filepath.Join(proj, "Makefile")); strings.Contains(string(mk), "\nunit:") {
				unit := exec.Command("make", "unit")
				unit.Dir = proj
				unit.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=", "SLUICE="+bin)
				if out, err := unit.CombinedOutput(); err != nil {
					t.Fatalf("make unit: %v\n%s", err, out)
				}
			} else {
				t.Errorf("the %s scaffold has no make unit", lang)
			}
			make := exec.Command("make", "test")
			make.Dir = proj
			make.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=", "SLUICE="+bin)
			out, err = make.CombinedOutput()
			if err != nil {
				t.Fatalf("make test: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "ok: default output matches testdata/expected.jsonl (3 rows)") {
				t.Errorf("make test output:\n%s", out)
			}
			t.Logf("%s: make test in %v", lang, time.Since(start).Round(time.Millisecond))

			// The generated test does catch a regression: a wrong expected
			// file fails make test with a diff.
			exp := filepath.Join(proj, "testdata", "expected.jsonl")
			if err := os.WriteFile(exp, []byte(`{"id":1,"email":"ada@example.com","age":36}`+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			make = exec.Command("make", "test")
			make.Dir = proj
			make.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=", "SLUICE="+bin)
			out, err = make.CombinedOutput()
			if err == nil || !strings.Contains(string(out), `+{"id":3,"email":"","age":null}`) {
				t.Errorf("make test with a wrong expected file: %v\n%s", err, out)
			}
		})
	}
}

func TestPluginNewUsage(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	busy := filepath.Join(dir, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, busy, "x", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-sdk", root, "x"}, "-lang is required"},
		{[]string{"-lang", "go", "-sdk", root}, "want exactly one NAME"},
		{[]string{"-lang", "go", "-sdk", root, "a", "b"}, "want exactly one NAME"},
		{[]string{"-lang", "cobol", "-sdk", root, "x"}, `unknown language "cobol" (want one of go, c, rust, assemblyscript)`},
		{[]string{"-lang", "go", "-sdk", root, "Bad Name"}, `plugin name "Bad Name"`},
		{[]string{"-lang", "go", "-sdk", root, "-dir", busy, "x"}, "directory exists and is not empty"},
		{[]string{"-lang", "go", "-sdk", dir, "x"}, "is not a sluice source tree"},
	}
	for _, tt := range tests {
		code, _, stderr := sluiceRun(t, append([]string{"plugin", "new"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant %q", tt.args, code, stderr, tt.want)
		}
	}
	// Flags may follow NAME; -dir places the project.
	target := filepath.Join(dir, "elsewhere")
	code, stdout, stderr := sluiceRun(t, "plugin", "new", "mine", "-lang", "c", "-sdk", root, "-dir", target)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, f := range []string{"mine.c", "sluice.h", "Makefile", "README.md", "testdata/input.jsonl", "testdata/expected.jsonl", "testdata/schema.txt"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("%s: %v\n%s", f, err, stdout)
		}
	}
	// Without -sdk, the tree is found from the current directory (the test
	// runs in cmd/sluice of the checkout).
	target = filepath.Join(dir, "found")
	if code, _, stderr := sluiceRun(t, "plugin", "new", "-lang", "go", "-dir", target, "found"); code != 0 {
		t.Fatalf("without -sdk: exit %d\n%s", code, stderr)
	}
	gomod, err := os.ReadFile(filepath.Join(target, "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "replace github.com/sluicehq/sluice => ./sdk\n") {
		t.Errorf("go.mod:\n%s", gomod)
	}
	if _, err := os.Stat(filepath.Join(target, "sdk", "plugins", "go", "sluice", "plugin.go")); err != nil {
		t.Errorf("the Go SDK was not copied from the tree found: %v", err)
	}
}
