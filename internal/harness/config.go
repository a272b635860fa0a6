package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/config"
)

// DefaultName is the name of a plugin given by its path alone: the file
// name without .wasm (as a stream names an unnamed plugin).
func DefaultName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".wasm")
}

// ConfigFromJSON reads a plugin config given as a JSON object, as
// `sluice plugin test -config-json` takes it, and flattens it like a TOML
// config table (abi.FlattenConfig): nested objects give dotted keys, arrays
// one pair per element; integers in decimal, other numbers as floats,
// booleans true/false. null values are refused (TOML has no null).
func ConfigFromJSON(s string) ([]abi.KV, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("config JSON: want an object like {\"column\":\"status\"}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config JSON: data after the object")
	}
	if m == nil {
		return nil, errors.New("config JSON: want an object like {\"column\":\"status\"}, got null")
	}
	conv, err := tomlish("", m)
	if err != nil {
		return nil, err
	}
	return abi.FlattenConfig(conv.(map[string]any))
}

// tomlish converts a JSON value to the Go types BurntSushi/toml produces.
func tomlish(key string, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			sub := k
			if key != "" {
				sub = key + "." + k
			}
			c, err := tomlish(sub, e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := tomlish(fmt.Sprintf("%s[%d]", key, i), e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("config JSON: key %q: number %s out of range", key, x)
		}
		return f, nil
	case nil:
		return nil, fmt.Errorf("config JSON: key %q is null; leave the key out instead", key)
	}
	return v, nil // string, bool
}

// File is a `sluice plugin test -config` file:
//
//	schema = "id int, name text"    # optional: the fixture's schema
//	schema_file = "schema.txt"      # or a schema file (relative to this file)
//
//	[[plugin]]
//	name = "adults"                 # optional, default: the file name
//	path = "adults.wasm"            # relative to this file
//	memory_limit = "32MiB"          # optional
//	page_timeout = "2s"             # optional
//	[plugin.config]                 # the plugin's config table
//	column = "age"
//
// Unknown keys are errors.
type File struct {
	Schema  *abi.Schema // nil when the file names none
	Plugins []Plugin
}

type fileTOML struct {
	Schema     string       `toml:"schema"`
	SchemaFile string       `toml:"schema_file"`
	Plugin     []pluginTOML `toml:"plugin"`
}

type pluginTOML struct {
	Name        string         `toml:"name"`
	Path        string         `toml:"path"`
	MemoryLimit string         `toml:"memory_limit"`
	PageTimeout string         `toml:"page_timeout"`
	Config      map[string]any `toml:"config"`
}

// LoadFile reads a -config file. Relative paths in it are relative to the
// file's directory. Errors name the file and, where the TOML decoder knows
// it, the line.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var ft fileTOML
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&ft)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var keys []string
		for _, k := range und {
			if len(k) >= 2 && k[0] == "plugin" && k[1] == "config" {
				continue // free-form
			}
			keys = append(keys, k.String())
		}
		if len(keys) > 0 {
			return nil, fmt.Errorf("config %s: unknown keys %s (known: schema, schema_file, [[plugin]] name, path, memory_limit, page_timeout, [plugin.config])",
				path, strings.Join(keys, ", "))
		}
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	f := &File{}
	switch {
	case ft.Schema != "" && ft.SchemaFile != "":
		return nil, fmt.Errorf("config %s: give schema or schema_file, not both", path)
	case ft.Schema != "":
		if f.Schema, err = ParseSchema(ft.Schema); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	case ft.SchemaFile != "":
		if f.Schema, err = ReadSchemaFile(rel(ft.SchemaFile)); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for i, pt := range ft.Plugin {
		where := fmt.Sprintf("config %s: plugin %d", path, i+1)
		if pt.Name != "" {
			where += fmt.Sprintf(" (%q)", pt.Name)
		}
		if pt.Path == "" {
			return nil, fmt.Errorf("%s: path is required", where)
		}
		p := Plugin{Name: pt.Name, Path: rel(pt.Path)}
		if pt.Config != nil {
			if p.Config, err = abi.FlattenConfig(pt.Config); err != nil {
				return nil, fmt.Errorf("%s: config: %w", where, err)
			}
		}
		if pt.MemoryLimit != "" {
			b, err := config.ParseByteSize(pt.MemoryLimit)
			if err != nil {
				return nil, fmt.Errorf("%s: memory_limit: %w", where, err)
			}
			p.MemoryLimitPages = b.WasmPages()
		}
		if pt.PageTimeout != "" {
			d, err := time.ParseDuration(pt.PageTimeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%s: page_timeout %q: want a positive duration like \"2s\"", where, pt.PageTimeout)
			}
			p.PageTimeout = d
		}
		f.Plugins = append(f.Plugins, p)
	}
	return f, nil
}
