// Package scaffold generates plugin projects: the logic behind
// `sluice plugin new`. A generated project builds with its Makefile and
// passes its own `make test` (sluice plugin test with -expect) exactly as
// generated; the templates are embedded in the binary.
//
// The SDK of each language is taken from a sluice source tree (Options.SDK):
// Go through a replace directive in go.mod, C as a copy of the single
// header sluice.h, Rust by building the SDK's source into an rlib,
// AssemblyScript as a file: dependency of package.json.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

//go:embed all:templates
var templates embed.FS

// ModulePath is the Go module path of the sluice source tree.
const ModulePath = "github.com/sluicehq/sluice"

// Options configures Generate.
type Options struct {
	// Lang is one of Languages().
	Lang string
	// Name is the plugin name: lower-case letters, digits, '-' and '_',
	// starting with a letter. It names the .wasm, the source file (C) and
	// the Go module.
	Name string
	// Dir is the directory to create (it must not exist, or be empty).
	Dir string
	// SDK is the root of a sluice source tree (FindSDK): the generated
	// project builds against the SDK there.
	SDK string
	// Sluice is the sluice binary the generated Makefile runs (default
	// "sluice", found on PATH).
	Sluice string
}

type language struct {
	id       string
	display  string
	source   string // main source file, relative to the project
	requires string
	build    string
	sdkNote  string
	// unit is what `make unit` runs, "" when the language has no native
	// test harness yet.
	unit string
	// sdkFiles are files of the SDK tree that must exist.
	sdkFiles []string
	// sdkCopy are the parts of the SDK tree copied into the project, so
	// it builds wherever it is copied (relative paths only).
	sdkCopy []sdkCopy
}

// sdkCopy copies the files under from (a slash path in the SDK tree) for
// which match is true into to (a slash path in the project).
type sdkCopy struct {
	from, to string
	match    func(rel string) bool
	rename   string // the copied file's name, when it is one file; "" keeps it
}

// isGoSource: a package's non-test Go files (no subdirectories).
func isGoSource(rel string) bool {
	return !strings.Contains(rel, "/") && strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")
}

// isASSDKFile: the AssemblyScript package's sources and manifest.
func isASSDKFile(rel string) bool {
	return rel == "package.json" || rel == "testing.mjs" || (strings.HasSuffix(rel, ".ts") && !strings.HasSuffix(rel, ".d.ts"))
}

// isRustSDKFile: the crate's manifest and sources.
func isRustSDKFile(rel string) bool {
	return rel == "Cargo.toml" || (strings.HasPrefix(rel, "src/") && strings.HasSuffix(rel, ".rs"))
}

var languages = []language{
	{
		id: "go", display: "Go", source: "main.go",
		requires: "Go (the version in `go.mod`, with the wasip1 port)",
		build:    "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o @@NAME@@.wasm .",
		sdkNote: "The SDK is the Go package `github.com/sluicehq/sluice/plugins/go/sluice`,\n" +
			"copied with the `abi` package it uses into `sdk/` (a module of its own)\n" +
			"from the sluice source tree this project was generated from; `go.mod`\n" +
			"points at it by a relative path (`replace github.com/sluicehq/sluice => ./sdk`),\n" +
			"so the project builds offline wherever it is copied. Once sluice is\n" +
			"published, drop the `replace` and `sdk/` and require a released version.",
		sdkFiles: []string{"go.mod", "plugins/go/sluice/plugin.go"},
		sdkCopy: []sdkCopy{
			{from: "abi", to: "sdk/abi", match: isGoSource},
			{from: "plugins/go/sluice", to: "sdk/plugins/go/sluice", match: isGoSource},
		},
		unit: "go test: main_test.go, the SDK's Harness on the fixture",
	},
	{
		id: "c", display: "C", source: "@@NAME@@.c",
		requires: "clang with the wasm32 target and wasi-libc (Debian: `clang lld wasi-libc libclang-rt-14-dev-wasm32`), and Node.js 18 or newer for `make unit`",
		build:    "clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror -o @@NAME@@.wasm @@NAME@@.c",
		sdkNote: "The SDK is the single header `sluice.h`, copied into this project from\n" +
			"`plugins/c/sluice.h` of the sluice source tree it was generated from; its\n" +
			"comments document it. Copy a newer one over it to upgrade.",
		sdkFiles: []string{"plugins/c/sluice.h"},
		sdkCopy:  []sdkCopy{{from: "plugins/assemblyscript/sdk", to: "test", match: func(rel string) bool { return rel == "testing.mjs" }, rename: "sluice-testing.mjs"}},
		unit:     "node --test test/: the built module on the fixture (test/sluice-testing.mjs)",
	},
	{
		id: "rust", display: "Rust", source: "src/lib.rs",
		requires: "cargo and rustc 1.63 or newer with the `wasm32-unknown-unknown` target (Debian: `cargo rustc libstd-rust-dev-wasm32`, used from `/usr/bin` when there; or rustup's after `rustup target add wasm32-unknown-unknown`)",
		build: "cargo build --target wasm32-unknown-unknown --release\n" +
			"cp target/wasm32-unknown-unknown/release/@@CRATE@@.wasm @@NAME@@.wasm",
		sdkNote: "The SDK is the `sluice` crate, copied into `sdk/sluice` from the sluice\n" +
			"source tree this project was generated from (`plugins/rust/sluice`) and\n" +
			"named in `Cargo.toml` by a relative path, so the project builds offline\n" +
			"wherever it is copied. Copy a newer one over it to upgrade.",
		sdkFiles: []string{"plugins/rust/sluice/Cargo.toml", "plugins/rust/sluice/src/lib.rs"},
		sdkCopy:  []sdkCopy{{from: "plugins/rust/sluice", to: "sdk/sluice", match: isRustSDKFile}},
		unit:     "cargo test: the native tests at the bottom of src/lib.rs",
	},
	{
		id: "assemblyscript", display: "AssemblyScript", source: "assembly/index.ts",
		requires: "Node.js 18 or newer with npm (`npm install` fetches the pinned AssemblyScript compiler)",
		build: "npm install --no-audit --no-fund\n" +
			"node_modules/.bin/asc assembly/index.ts -o @@NAME@@.wasm -O3 --debug --runtime incremental \\\n" +
			"  --use 'abort=~lib/@sluice/sdk/runtime/sluiceAbort'",
		sdkNote: "The SDK is the package `@sluice/sdk`, copied into `sdk/` from the sluice\n" +
			"source tree this project was generated from and named in `package.json`\n" +
			"as `file:sdk`, so the project works wherever it is copied; the\n" +
			"AssemblyScript compiler version is pinned in `package.json` (the one the\n" +
			"sluice tree uses).",
		sdkFiles: []string{"plugins/assemblyscript/sdk/index.ts", "plugins/assemblyscript/package.json"},
		sdkCopy:  []sdkCopy{{from: "plugins/assemblyscript/sdk", to: "sdk", match: isASSDKFile}},
		unit:     "node --test test/: the built module on the fixture (@sluice/sdk/testing.mjs)",
	},
}

// unitLine is the README's line for make unit.
func unitLine(unit string) string {
	if unit == "" {
		return ""
	}
	return "make unit    # " + unit + "\n"
}

// Languages returns the languages Generate supports.
func Languages() []string {
	ids := make([]string, len(languages))
	for i, l := range languages {
		ids[i] = l.id
	}
	return ids
}

func findLanguage(id string) (language, bool) {
	for _, l := range languages {
		if l.id == id {
			return l, true
		}
	}
	return language{}, false
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// ErrNotEmpty is returned by Generate when the directory exists and is not
// empty: nothing is overwritten. Choose another -dir or remove it.
var ErrNotEmpty = errors.New("directory exists and is not empty")

// Generate writes a new plugin project and returns the files it wrote,
// relative to Dir, sorted.
func Generate(opts Options) ([]string, error) {
	l, ok := findLanguage(opts.Lang)
	if !ok {
		return nil, fmt.Errorf("scaffold: unknown language %q (want one of %s)", opts.Lang, strings.Join(Languages(), ", "))
	}
	if !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("scaffold: plugin name %q: use lower-case letters, digits, '-' and '_', starting with a letter (at most 64)", opts.Name)
	}
	if opts.Dir == "" {
		return nil, errors.New("scaffold: no directory")
	}
	if opts.SDK == "" {
		return nil, errors.New("scaffold: no SDK directory (the root of a sluice source tree)")
	}
	sdk, err := filepath.Abs(opts.SDK)
	if err != nil {
		return nil, fmt.Errorf("scaffold: %w", err)
	}
	if err := CheckSDK(sdk); err != nil {
		return nil, err
	}
	for _, f := range l.sdkFiles {
		if _, err := os.Stat(filepath.Join(sdk, filepath.FromSlash(f))); err != nil {
			return nil, fmt.Errorf("scaffold: the %s SDK is not in %s (%s is missing): use a sluice source tree with the %s SDK", l.display, sdk, f, l.display)
		}
	}
	goVersion, err := goDirective(filepath.Join(sdk, "go.mod"))
	if err != nil {
		return nil, err
	}
	asVersion := ""
	if l.id == "assemblyscript" {
		if asVersion, err = assemblyScriptVersion(sdk); err != nil {
			return nil, err
		}
	}
	sluice := opts.Sluice
	if sluice == "" {
		sluice = "sluice"
	}
	repl := strings.NewReplacer(
		"@@NAME@@", opts.Name,
		"@@CRATE@@", strings.ReplaceAll(opts.Name, "-", "_"),
		"@@LANG@@", l.id,
		"@@LANGUAGE@@", l.display,
		"@@SDK@@", sdk,
		"@@SLUICE@@", sluice,
		"@@GOVERSION@@", goVersion,
		"@@ASVERSION@@", asVersion,
	)
	// The README's per-language parts hold placeholders too.
	readme := strings.NewReplacer(
		"@@SOURCE@@", l.source,
		"@@REQUIRES@@", l.requires,
		"@@BUILD@@", l.build,
		"@@SDKNOTE@@", l.sdkNote,
		"@@UNIT@@", unitLine(l.unit),
	)

	files := map[string][]byte{}
	for _, root := range []string{"templates/common", "templates/" + l.id} {
		err := fs.WalkDir(templates, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := templates.ReadFile(p)
			if err != nil {
				return err
			}
			// .tmpl keeps go.mod and .go templates out of this module's
			// build (a go.mod would also keep the directory out of embed).
			rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
			switch path.Base(rel) {
			case "gitignore":
				rel = path.Join(path.Dir(rel), ".gitignore")
			case "plugin.c":
				rel = path.Join(path.Dir(rel), opts.Name+".c")
			}
			if strings.HasPrefix(rel, "cargo/") {
				rel = "." + rel
			}
			s := string(b)
			if rel == "README.md" {
				s = readme.Replace(s)
			}
			files[rel] = []byte(repl.Replace(s))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scaffold: templates: %w", err)
		}
	}
	for _, c := range l.sdkCopy {
		root := filepath.Join(sdk, filepath.FromSlash(c.from))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !c.match(rel) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if c.rename != "" {
				rel = c.rename
			}
			files[path.Join(c.to, rel)] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scaffold: copy the %s SDK: %w", l.display, err)
		}
	}
	if l.id == "go" {
		// The copied packages as a module of their own, the module the
		// project's go.mod replaces.
		files["sdk/go.mod"] = []byte("module " + ModulePath + "\n\ngo " + goVersion + "\n")
	}
	if l.id == "c" {
		h, err := os.ReadFile(filepath.Join(sdk, "plugins", "c", "sluice.h"))
		if err != nil {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
		files["sluice.h"] = h
	}

	if err := prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(opts.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
	}
	return names, nil
}

// prepareDir creates dir, or accepts it when it exists and is empty.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("scaffold: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("scaffold: %s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// CheckSDK reports whether dir is the root of a sluice source tree: it has
// a go.mod declaring module github.com/sluicehq/sluice.
func CheckSDK(dir string) error {
	mod, err := modulePath(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("scaffold: %s is not a sluice source tree: %w", dir, err)
	}
	if mod != ModulePath {
		return fmt.Errorf("scaffold: %s is not a sluice source tree: its go.mod is module %s, want %s", dir, mod, ModulePath)
	}
	return nil
}

// FindSDK walks up from start to the first directory that is a sluice
// source tree (CheckSDK) and returns it; an error when there is none.
func FindSDK(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no sluice source tree (a go.mod of module %s) in %s or above", ModulePath, start)
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod declares.
func modulePath(gomod string) (string, error) {
	return goModLine(gomod, "module")
}

// assemblyScriptVersion returns the AssemblyScript compiler version the
// sluice tree pins (plugins/assemblyscript/package.json), so that a
// generated project builds with the compiler the SDK is tested with.
func assemblyScriptVersion(sdk string) (string, error) {
	p := filepath.Join(sdk, "plugins", "assemblyscript", "package.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("scaffold: %w", err)
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", fmt.Errorf("scaffold: %s: %w", p, err)
	}
	v := pkg.DevDependencies["assemblyscript"]
	if v == "" {
		v = pkg.Dependencies["assemblyscript"]
	}
	if v == "" {
		return "", fmt.Errorf("scaffold: %s does not pin assemblyscript", p)
	}
	return v, nil
}

// goDirective returns the go version a go.mod declares ("1.26.8").
func goDirective(gomod string) (string, error) {
	v, err := goModLine(gomod, "go")
	if err != nil {
		return "", fmt.Errorf("scaffold: %w", err)
	}
	return v, nil
}

func goModLine(gomod, directive string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == directive {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no %s directive", gomod, directive)
}
