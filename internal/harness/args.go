package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ParsePluginArg parses a -plugin argument: "path.wasm" or
// "name=path.wasm". The value is split at its first '=' unless the whole
// value names an existing file (a path that itself contains '=').
func ParsePluginArg(s string) (Plugin, error) {
	if s == "" {
		return Plugin{}, errors.New("empty -plugin value (want path.wasm or name=path.wasm)")
	}
	if i := strings.IndexByte(s, '='); i >= 0 {
		if _, err := os.Stat(s); err != nil {
			name, path := s[:i], s[i+1:]
			if name == "" || path == "" {
				return Plugin{}, fmt.Errorf("-plugin %q: want path.wasm or name=path.wasm", s)
			}
			return Plugin{Name: name, Path: path}, nil
		}
	}
	return Plugin{Path: s}, nil
}

// OutputFile returns the file name of an output in an output or expect
// directory: "default.jsonl" for the default output, "<name>.jsonl" for a
// named one. Names that are not usable as a file name (empty after the
// default, containing a path separator, starting with '.', or "default",
// which would collide with the default output) are an error.
func OutputFile(name string) (string, error) {
	if name == "" {
		return "default.jsonl", nil
	}
	if name == "default" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`+"\x00") || filepath.Base(name) != name {
		return "", fmt.Errorf("output %q cannot be written to a directory as a file (name it without '/', '\\' or a leading '.', and not \"default\")", name)
	}
	return name + ".jsonl", nil
}

// OutputLabel names an output for people: "default" or the quoted name.
func OutputLabel(name string) string {
	if name == "" {
		return "default output"
	}
	return fmt.Sprintf("output %q", name)
}
