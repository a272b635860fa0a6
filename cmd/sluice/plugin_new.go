package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/internal/scaffold"
)

const pluginNewDesc = `Scaffold a plugin project in DIR (default ./NAME): the source of a small
plugin (it keeps the rows whose configured column is not null) using the
language's SDK, a Makefile with the exact build command, a fixture
(testdata/input.jsonl and schema.txt), the expected output
(testdata/expected.jsonl) and a README. As generated, 'make build' builds it and
'make test' passes (sluice plugin test ... -expect testdata/expected.jsonl).

The SDK comes from a sluice source tree: -sdk DIR, by default the first
directory holding a go.mod of module github.com/sluicehq/sluice found walking
up from the current directory, then from this binary's directory. Go projects
get a copy of its Go SDK and abi packages in sdk/ (go.mod: replace => ./sdk),
C a copy of sluice.h, Rust a copy of the SDK crate in sdk/sluice (a path
dependency), AssemblyScript a copy of @sluice/sdk in sdk/ (file:sdk): the
project holds relative paths only and works wherever it is copied. Its
Makefile runs 'sluice' from PATH (make test SLUICE=/path/to/sluice otherwise).

Languages: ` + "go, rust, c, assemblyscript."

func cmdPluginNew(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plugin new", "sluice plugin new -lang go|rust|c|assemblyscript [-dir DIR] [-sdk DIR] NAME", pluginNewDesc, stderr)
	lang := fs.String("lang", "", "language: "+strings.Join(scaffold.Languages(), ", "))
	dir := fs.String("dir", "", "directory to create (default ./NAME); it must not exist or be empty")
	sdk := fs.String("sdk", "", "root of the sluice source tree holding the SDKs (default: found from the current directory or this binary)")
	sluiceBin := fs.String("sluice", "", "sluice binary the generated Makefile runs (default: sluice, from PATH)")
	// Accept the flags after NAME too: sluice plugin new NAME -lang go.
	var rest []string
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for fs.NArg() > 0 {
		rest = append(rest, fs.Arg(0))
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	if len(rest) != 1 {
		return usagef("plugin new: want exactly one NAME, got %d arguments %q", len(rest), rest)
	}
	name := rest[0]
	if *lang == "" {
		return usagef("plugin new: -lang is required: one of %s", strings.Join(scaffold.Languages(), ", "))
	}
	if *dir == "" {
		*dir = name
	}
	root := *sdk
	if root == "" {
		found, err := findSDK()
		if err != nil {
			return usagef("plugin new: %w; give the root of a sluice source tree with -sdk DIR", err)
		}
		root = found
	}
	// The Makefile names sluice by a name, never this binary's absolute
	// path, so the project works wherever it is copied; when `sluice` on
	// PATH is not this binary, the next step says how to point make at it.
	bin := *sluiceBin
	hint := ""
	if bin == "" {
		bin = "sluice"
		if exe, err := os.Executable(); err == nil {
			onPath, perr := exec.LookPath("sluice")
			if perr != nil || !sameFile(onPath, exe) {
				hint = " SLUICE=" + exe
			}
		}
	}
	files, err := scaffold.Generate(scaffold.Options{Lang: *lang, Name: name, Dir: *dir, SDK: root, Sluice: bin})
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "created %s plugin %q in %s (SDK from %s):\n", *lang, name, *dir, root)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	fmt.Fprintf(stdout, "next: cd %s && make test%s\n", *dir, hint)
	return nil
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// findSDK looks for a sluice source tree above the current directory, then
// above the running binary (bin/sluice of a checkout).
func findSDK() (string, error) {
	var errs []error
	if wd, err := os.Getwd(); err == nil {
		dir, err := scaffold.FindSDK(wd)
		if err == nil {
			return dir, nil
		}
		errs = append(errs, err)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dir, err := scaffold.FindSDK(filepath.Dir(exe))
			if err == nil {
				return dir, nil
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return "", errors.New("cannot find a sluice source tree")
	}
	return "", errors.Join(errs...)
}
