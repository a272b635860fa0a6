package config

import (
	"errors"
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
// the file are returned as a *Error listing all of them. When the only
// problems are plugin modules missing on disk (the file itself is valid),
// Load returns the Config as well as the *Error.
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
	c, d, err := parse(path, data)
	if c == nil {
		return nil, err
	}
	c.Dir = filepath.Dir(path)
	resolvePaths(reflect.ValueOf(c).Elem(), c.Dir)
	// Missing plugin files are reported with the other problems of the
	// file, not after them.
	fileOK := len(d.probs) == 0
	for i, s := range c.Streams {
		for j, p := range s.Plugins {
			if p.Path == "" {
				continue
			}
			l := loc{}.key("stream").index(i, s.Name).key("plugin").index(j, p.Name).key("path")
			switch st, err := os.Stat(p.Path); {
			case err != nil:
				d.addf(l, "plugin module %s: %v (stream %q)", p.Path, errors.Unwrap(err), s.Name)
			case !st.Mode().IsRegular():
				d.addf(l, "plugin module %s is not a regular file (stream %q)", p.Path, s.Name)
			}
		}
	}
	if len(d.probs) > 0 {
		if fileOK {
			// The file itself is valid: the Config comes with the error,
			// so that sluice check and run can report what else is wrong
			// (the sources against the tables, the other plugins) in the
			// same pass.
			return c, newError(d.probs)
		}
		return nil, newError(d.probs)
	}
	return c, nil
}

// Parse parses and validates a configuration. name is used in messages
// only; relative paths are left as written (relative to the working
// directory). Problems are returned as a *Error listing all of them.
func Parse(name string, data []byte) (*Config, error) {
	c, d, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	if len(d.probs) > 0 {
		return nil, newError(d.probs)
	}
	return c, nil
}

// parse decodes and validates data. It returns a nil Config only when
// the file cannot be decoded at all (err says why); otherwise the Config
// as decoded and the decoder holding its problems, so Load can add the
// problems it finds on disk before reporting them all.
func parse(name string, data []byte) (*Config, *decoder, error) {
	if len(data) > maxFileSize {
		return nil, nil, &Error{Problems: []Problem{{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, nil, newError([]Problem{parseProblem(name, err)})
	}
	d := &decoder{file: name, lines: scanLines(string(data)), set: map[string]bool{}, bad: map[string]bool{}}
	c := new(Config)
	*c = cloneValue(reflect.ValueOf(defaults.Config)).Interface().(Config)
	c.File = name
	c.lines = d.lines
	d.decodeStruct(raw, reflect.ValueOf(c).Elem(), loc{})
	d.validate(c)
	return c, d, nil
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
