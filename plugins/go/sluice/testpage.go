//go:build !wasip1

package sluice

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/abi"
)

// ParseSchema reads a schema in the format of sluice plugin test's
// -schema-file (a scaffold's testdata/schema.txt): one "name type" per
// line, CQL types ("int", "set<text>", "map<text, int>"), '#' comments and
// blank lines skipped.
func ParseSchema(text string) (*Schema, error) {
	var cols []Column
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(strings.ReplaceAll(line, "\t", " "), " ")
		if !ok {
			return nil, fmt.Errorf("schema line %d: %q is not \"name type\"", n+1, line)
		}
		t, err := ParseType(strings.TrimSpace(typ))
		if err != nil {
			return nil, fmt.Errorf("schema line %d: %w", n+1, err)
		}
		cols = append(cols, Column{Name: name, Type: t})
	}
	return NewSchema(cols...), nil
}

// TestPage is a page for a Harness, built row by row from Go values or
// JSON lines. A problem (a value that does not fit its column) is kept and
// returned by Harness.Run.
type TestPage struct {
	schema *Schema
	b      *abi.PageBuilder
	err    error
}

// Page returns an empty page of schema, numbered after the pages of this
// harness before it.
func (h *Harness) Page(schema *Schema) *TestPage {
	h.pages++
	return &TestPage{schema: schema, b: abi.NewPageBuilder(schema, h.pages, 0)}
}

// Row appends a row: one value per column, in the JSON form of
// docs/json.md as Go values (nil for null; integers, float64 or
// json.Number for numbers; strings for text, timestamps
// "2024-01-02T03:04:05Z", decimals, uuids; []any and map[string]any for
// collections).
func (p *TestPage) Row(values ...any) *TestPage {
	if p.err != nil {
		return p
	}
	if len(values) != len(p.schema.Columns) {
		p.err = fmt.Errorf("sluice harness: row %d has %d values, the schema %d columns", p.b.NumRows(), len(values), len(p.schema.Columns))
		return p
	}
	for i, v := range values {
		cell, err := abi.EncodeJSON(p.schema.Columns[i].Type, v)
		if err != nil {
			p.err = fmt.Errorf("sluice harness: row %d: column %q: %w", p.b.NumRows(), p.schema.Columns[i].Name, err)
			return p
		}
		p.b.AppendCell(cell) // nil is null
	}
	if err := p.b.EndRow(); err != nil {
		p.err = err
	}
	return p
}

// JSONL appends one row per non-blank line of lines: a JSON object of
// column name to value (a scaffold's testdata/input.jsonl); a missing
// column is null, an unknown one an error.
func (p *TestPage) JSONL(lines string) *TestPage {
	sc := bufio.NewScanner(strings.NewReader(lines))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan() && p.err == nil; n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			p.err = fmt.Errorf("sluice harness: JSON line %d: %w", n, err)
			return p
		}
		values := make([]any, len(p.schema.Columns))
		for k, v := range obj {
			i := p.schema.Index(k)
			if i < 0 {
				p.err = fmt.Errorf("sluice harness: JSON line %d: %q is not a column of the schema (%s)", n, k, p.schema)
				return p
			}
			values[i] = v
		}
		p.Row(values...)
	}
	return p
}

// Outcome is what a plugin did with a TestPage: the rows it kept, and the
// rows it wrote, readable as pages (by column name).
type Outcome struct {
	res   abi.Result
	nrows int
}

// Run runs the plugin's Process on p. A plugin error (an ERROR section) is
// a *ResultError.
func (h *Harness) Run(p *TestPage) (*Outcome, error) {
	if p.err != nil {
		return nil, p.err
	}
	page := p.b.Page()
	res, err := h.Process(page)
	if err != nil {
		return nil, err
	}
	return &Outcome{res: res, nrows: page.NumRows()}, nil
}

// Kept returns the indices of the input rows kept on the default output.
func (o *Outcome) Kept() []int { return o.KeptOn(abi.DefaultOutput) }

// KeptOn returns the indices of the input rows selected for output.
func (o *Outcome) KeptOn(output string) []int {
	kept := []int{}
	for _, s := range o.res.Sections {
		if s.Kind == abi.SectionSelect && s.Output == output {
			for i := range s.NRows {
				if abi.BitmapGet(s.Bitmap, i) {
					kept = append(kept, i)
				}
			}
		}
	}
	return kept
}

// Rows returns the rows the plugin wrote to output as a page (read them
// with Rows and the typed getters by column name), or nil when it wrote
// none there.
func (o *Outcome) Rows(output string) *Page {
	for _, s := range o.res.Sections {
		if s.Kind == abi.SectionRows && s.Output == output {
			return NewPage(s.Rows)
		}
	}
	return nil
}
