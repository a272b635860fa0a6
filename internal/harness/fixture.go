package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/abi"
)

// FixtureError is a problem with a fixture file (rows or schema): the file,
// the line (1-based; 0 when not about one line) and the column it concerns
// ("" when not about one column). Error renders it as
//
//	testdata/input.jsonl:3: column "age" (int): ...
type FixtureError struct {
	File   string
	Line   int
	Column string
	Type   string // the column's CQL type, when known
	Err    error
}

// Error renders the problem with its position.
func (e *FixtureError) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&sb, ":%d", e.Line)
	}
	sb.WriteString(": ")
	if e.Column != "" {
		fmt.Fprintf(&sb, "column %q", e.Column)
		if e.Type != "" {
			fmt.Fprintf(&sb, " (%s)", e.Type)
		}
		sb.WriteString(": ")
	}
	sb.WriteString(e.Err.Error())
	return sb.String()
}

// Unwrap returns the underlying error.
func (e *FixtureError) Unwrap() error { return e.Err }

// Format is the format of a fixture file.
type Format string

// Fixture formats.
const (
	// JSONL: one JSON object per line, column name → value in the JSON form
	// of docs/json.md (read with abi.EncodeJSON). A missing key is null.
	JSONL Format = "jsonl"
	// CSV: RFC 4180 with a header row of column names, cells as the CSV sink
	// writes them (docs/sinks.md): an empty unquoted field is null, an empty
	// quoted field is the empty value.
	CSV Format = "csv"
)

// FormatOf returns the format a file name implies: CSV for .csv, JSONL for
// .jsonl, .ndjson and .json; ok is false for anything else.
func FormatOf(name string) (f Format, ok bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, true
	case ".jsonl", ".ndjson", ".json":
		return JSONL, true
	}
	return "", false
}

// DefaultPageSize is the number of rows per page of a fixture when none is
// given: the pager's default page size.
const DefaultPageSize = 1000

// maxLine bounds one line (or CSV record) of a fixture.
const maxLine = 64 << 20

// ReadFixture reads the rows of a fixture in format f, with the given
// schema, and cuts them into pages of pageSize rows (the last one may be
// shorter), numbered from 1, split 0. name is the file name used in errors.
// An empty fixture gives no pages. Errors are *FixtureError naming the line
// and, where it applies, the column.
func ReadFixture(name string, r io.Reader, f Format, schema *abi.Schema, pageSize int) ([]*abi.Page, error) {
	pages, _, err := ReadFixtureLines(name, r, f, schema, pageSize)
	return pages, err
}

// ReadFixtureLines is ReadFixture that also returns the line of the file
// (1-based; for CSV, the line a record starts on) each row came from: row
// r of page p (numbered from 1) is lines[(p-1)*pageSize+r]. A failure
// report uses it to point at the fixture line of the failing row.
func ReadFixtureLines(name string, r io.Reader, f Format, schema *abi.Schema, pageSize int) ([]*abi.Page, []int, error) {
	if pageSize <= 0 {
		return nil, nil, fmt.Errorf("fixture %s: page size %d, want at least 1", name, pageSize)
	}
	pb := &pager{schema: schema, size: pageSize, b: abi.NewPageBuilder(schema, 1, 0)}
	var err error
	switch f {
	case JSONL:
		err = readJSONL(name, r, pb)
	case CSV:
		err = readCSV(name, r, pb)
	default:
		return nil, nil, fmt.Errorf("fixture %s: unknown format %q (want jsonl or csv)", name, f)
	}
	if err != nil {
		return nil, nil, err
	}
	return pb.finish(), pb.lines, nil
}

// pager accumulates rows into pages.
type pager struct {
	schema *abi.Schema
	size   int
	b      *abi.PageBuilder
	pages  []*abi.Page
	lines  []int // the fixture line of each row
}

func (p *pager) endRow(line int) error {
	if err := p.b.EndRow(); err != nil {
		return err
	}
	p.lines = append(p.lines, line)
	if p.b.NumRows() == p.size {
		p.pages = append(p.pages, p.b.Page())
		p.b.Reset(p.schema, uint64(len(p.pages)+1), 0)
	}
	return nil
}

func (p *pager) finish() []*abi.Page {
	if p.b.NumRows() > 0 {
		p.pages = append(p.pages, p.b.Page())
	}
	return p.pages
}

func readJSONL(name string, r io.Reader, pb *pager) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	schema := pb.schema
	cells := make([][]byte, len(schema.Columns)) // nil = null
	seen := make([]bool, len(schema.Columns))
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		fe := func(col int, err error) error {
			e := &FixtureError{File: name, Line: line, Err: err}
			if col >= 0 {
				e.Column, e.Type = schema.Columns[col].Name, schema.Columns[col].Type.String()
			}
			return e
		}
		obj, err := decodeObject(text)
		if err != nil {
			return fe(-1, err)
		}
		clear(cells)
		clear(seen)
		for _, kv := range obj {
			i := schema.Index(kv.key)
			if i < 0 {
				return &FixtureError{File: name, Line: line, Column: kv.key,
					Err: fmt.Errorf("not a column of the schema (%s)", columnList(schema))}
			}
			if seen[i] {
				return fe(i, errors.New("appears twice in the object"))
			}
			seen[i] = true
			cell, err := abi.EncodeJSON(schema.Columns[i].Type, kv.value)
			if err != nil {
				return fe(i, err)
			}
			cells[i] = cell
		}
		for _, c := range cells {
			pb.b.AppendCell(c) // nil appends a null
		}
		if err := pb.endRow(line); err != nil {
			return fe(-1, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d MiB", maxLine>>20)
		}
		return &FixtureError{File: name, Line: line + 1, Err: err}
	}
	return nil
}

type jsonKV struct {
	key   string
	value any
}

// decodeObject decodes one JSON object, keeping its keys in order and
// duplicates (so they can be reported), numbers as json.Number.
func decodeObject(b []byte) ([]jsonKV, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object per line, got %s", describeToken(tok))
	}
	var kvs []jsonKV
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key := tok.(string) // object keys are always strings
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, jsonErr(err))
		}
		kvs = append(kvs, jsonKV{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the object (one object per line)")
	}
	return kvs, nil
}

// jsonErr describes a JSON syntax error of one line.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: the line ends inside the object (each row is one JSON object on one line)")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func describeToken(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return string(t)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func columnList(s *abi.Schema) string {
	parts := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		parts[i] = c.Name + " " + c.Type.Describe()
	}
	return strings.Join(parts, ", ")
}
