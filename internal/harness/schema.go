package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sluicehq/sluice/abi"
)

// ParseSchema parses a fixture schema: column definitions separated by
// commas, each a column name and a CQL type in the syntax of abi.ParseType:
//
//	id int, name text, tags set<text>, addr ks.address{street text, zip int}
//
// A name that is not a plain identifier is written in double quotes, with a
// quote inside doubled ("Odd ""name"""). Commas inside <...>, {...} and
// quotes do not separate columns. Names must be unique.
func ParseSchema(s string) (*abi.Schema, error) {
	cols, err := parseColumns(s)
	if err != nil {
		return nil, err
	}
	return newSchema(cols, nil)
}

// ReadSchemaFile reads a schema file: one or more column definitions per
// line in the syntax of ParseSchema ("name type", several separated by
// commas), so both a tab-separated "name<TAB>type" list (as in
// abi/testdata/vectors/*.schema.tsv) and a one-line "id int, name text"
// work. Blank lines and lines starting with # are ignored. Errors are
// *FixtureError with the file and line.
func ReadSchemaFile(path string) (*abi.Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schema file: %w", err)
	}
	return readSchema(path, data)
}

func readSchema(path string, data []byte) (*abi.Schema, error) {
	var cols []abi.Column
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cs, err := parseColumns(text)
		if err != nil {
			return nil, &FixtureError{File: path, Line: line, Err: err}
		}
		for range cs {
			lines = append(lines, line)
		}
		cols = append(cols, cs...)
	}
	if err := sc.Err(); err != nil {
		return nil, &FixtureError{File: path, Line: line + 1, Err: err}
	}
	if len(cols) == 0 {
		return nil, &FixtureError{File: path, Err: errors.New("no columns")}
	}
	s, err := newSchema(cols, lines)
	if err != nil {
		var fe *FixtureError
		if errors.As(err, &fe) {
			fe.File = path
		}
		return nil, err
	}
	return s, nil
}

// newSchema checks that names are unique; lines[i], when lines is not nil,
// is the line of a schema file where column i was defined.
func newSchema(cols []abi.Column, lines []int) (*abi.Schema, error) {
	if len(cols) == 0 {
		return nil, errors.New("schema: no columns")
	}
	seen := make(map[string]int, len(cols))
	for i, c := range cols {
		if j, dup := seen[c.Name]; dup {
			err := fmt.Errorf("schema: column %q defined twice (columns %d and %d)", c.Name, j+1, i+1)
			if lines != nil {
				return nil, &FixtureError{Line: lines[i], Column: c.Name, Err: err}
			}
			return nil, err
		}
		seen[c.Name] = i
	}
	s := abi.NewSchema(cols...)
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return s, nil
}

// parseColumns parses "name type, name type, ...".
func parseColumns(s string) ([]abi.Column, error) {
	parts, err := splitTopLevel(s)
	if err != nil {
		return nil, err
	}
	cols := make([]abi.Column, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("schema: column definition %d is empty (want \"name type\")", i+1)
		}
		name, rest, err := splitName(p)
		if err != nil {
			return nil, fmt.Errorf("schema: column definition %d %q: %w", i+1, p, err)
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return nil, fmt.Errorf("schema: column %q has no type (want \"name type\", e.g. \"%s int\")", name, p)
		}
		t, err := abi.ParseType(rest)
		if err != nil {
			return nil, fmt.Errorf("schema: column %q: type %q: %w", name, rest, err)
		}
		cols = append(cols, abi.Column{Name: name, Type: t})
	}
	return cols, nil
}

// splitTopLevel splits s at the commas that are outside <>, {}, () and
// quotes.
func splitTopLevel(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			quote = c
		case '<', '{', '(':
			depth++
		case '>', '}', ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("schema: unbalanced %q at byte %d of %q", c, i, s)
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("schema: unterminated %c quote in %q", quote, s)
	}
	if depth != 0 {
		return nil, fmt.Errorf("schema: unbalanced brackets in %q", s)
	}
	return append(parts, s[start:]), nil
}

// splitName reads the column name at the start of p: a double-quoted name
// ("" is an escaped quote) or everything up to the first blank.
func splitName(p string) (name, rest string, err error) {
	if p[0] == '"' {
		var sb strings.Builder
		for i := 1; i < len(p); i++ {
			if p[i] == '"' {
				if i+1 < len(p) && p[i+1] == '"' {
					sb.WriteByte('"')
					i++
					continue
				}
				if sb.Len() == 0 {
					return "", "", errors.New("empty column name")
				}
				return sb.String(), p[i+1:], nil
			}
			sb.WriteByte(p[i])
		}
		return "", "", errors.New("unterminated quoted column name")
	}
	i := strings.IndexAny(p, " \t")
	if i < 0 {
		return p, "", nil
	}
	return p[:i], p[i:], nil
}
