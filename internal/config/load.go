package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/BurntSushi/toml"
)

// maxFileSize bounds the configuration file; anything larger is surely not
// a configuration file.
const maxFileSize = 16 << 20

// Load reads, parses and validates the configuration file at path. Relative
// paths in the file are resolved against the file's directory. Problems with
// the file are returned as a *Error listing all of them.
func Load(path string) (*Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("config: %s: file is larger than %d bytes", path, maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	c.Dir = filepath.Dir(path)
	resolvePaths(reflect.ValueOf(c).Elem(), c.Dir)
	return c, nil
}

// Parse parses and validates a configuration. name is used in messages
// only; relative paths are left as written (relative to the working
// directory). Problems are returned as a *Error listing all of them.
func Parse(name string, data []byte) (*Config, error) {
	if len(data) > maxFileSize {
		return nil, &Error{Problems: []Problem{{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, newError([]Problem{parseProblem(name, err)})
	}
	d := &decoder{file: name, lines: scanLines(string(data)), set: map[string]bool{}, bad: map[string]bool{}}
	c := new(Config)
	*c = cloneValue(reflect.ValueOf(defaults.Config)).Interface().(Config)
	c.File = name
	c.lines = d.lines
	d.decodeStruct(raw, reflect.ValueOf(c).Elem(), loc{})
	d.validate(c)
	if len(d.probs) > 0 {
		return nil, newError(d.probs)
	}
	return c, nil
}

// resolvePaths joins dir to every relative, non-empty field tagged
// path:"true".
func resolvePaths(v reflect.Value, dir string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			f := v.Field(i)
			if sf.Tag.Get("path") == "true" && f.Kind() == reflect.String {
				if p := f.String(); p != "" && !filepath.IsAbs(p) {
					f.SetString(filepath.Join(dir, p))
				}
				continue
			}
			resolvePaths(f, dir)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			resolvePaths(v.Index(i), dir)
		}
	}
}
