package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sluicehq/sluice/abi"
)

// csvField is one field of a CSV record: its text and whether it was
// quoted (an empty unquoted field is null, an empty quoted one the empty
// value, as the CSV sink writes them).
type csvField struct {
	text   []byte
	quoted bool
}

// csvReader reads RFC 4180 records, keeping track of quoting, which
// encoding/csv does not report.
type csvReader struct {
	r    *bufio.Reader
	line int // line of the next byte to read, 1-based
}

// read returns the next record and the line it starts on; io.EOF at the
// end. A line holding nothing (outside quotes) is skipped.
func (c *csvReader) read() ([]csvField, int, error) {
	for {
		start := c.line
		rec, err := c.record()
		if err != nil {
			return nil, start, err
		}
		if rec == nil {
			continue // blank line
		}
		return rec, start, nil
	}
}

// record reads one record; nil, nil for a blank line.
func (c *csvReader) record() ([]csvField, error) {
	var fields []csvField
	var cur []byte
	quoted, inQuotes, afterQuote, any := false, false, false, false
	size := 0
	endField := func() {
		fields = append(fields, csvField{text: cur, quoted: quoted})
		cur, quoted, afterQuote = nil, false, false
	}
	for {
		b, err := c.r.ReadByte()
		if err == io.EOF {
			if inQuotes {
				return nil, errors.New("CSV: unterminated quoted field at end of file")
			}
			if !any {
				return nil, io.EOF
			}
			endField()
			return fields, nil
		}
		if err != nil {
			return nil, err
		}
		if size++; size > maxLine {
			return nil, fmt.Errorf("CSV: record longer than %d MiB", maxLine>>20)
		}
		if b == '\n' {
			c.line++
		}
		if inQuotes {
			if b == '"' {
				next, err := c.r.Peek(1)
				if err == nil && next[0] == '"' {
					c.r.ReadByte()
					cur = append(cur, '"')
					continue
				}
				inQuotes, afterQuote = false, true
				continue
			}
			cur = append(cur, b)
			continue
		}
		switch b {
		case '\r':
			next, err := c.r.Peek(1)
			if err == nil && next[0] == '\n' {
				continue // CRLF: the \n ends the record
			}
			return nil, errors.New("CSV: bare carriage return outside quotes")
		case '\n':
			if !any {
				return nil, nil
			}
			endField()
			return fields, nil
		case ',':
			any = true
			endField()
		case '"':
			any = true
			if afterQuote || len(cur) > 0 {
				return nil, fmt.Errorf("CSV: field %d: a quote inside an unquoted field (quote the whole field and double the quote)", len(fields)+1)
			}
			quoted, inQuotes = true, true
		default:
			any = true
			if afterQuote {
				return nil, fmt.Errorf("CSV: field %d: text after the closing quote", len(fields)+1)
			}
			cur = append(cur, b)
		}
	}
}

func readCSV(name string, r io.Reader, pb *pager) error {
	schema := pb.schema
	cr := &csvReader{r: bufio.NewReaderSize(r, 64<<10), line: 1}
	header, hline, err := cr.read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return &FixtureError{File: name, Line: hline, Err: err}
	}
	// colOf[j] is the schema column of field j.
	colOf := make([]int, len(header))
	seen := make([]bool, len(schema.Columns))
	for j, f := range header {
		h := string(f.text)
		i := schema.Index(h)
		if i < 0 {
			return &FixtureError{File: name, Line: hline, Column: h,
				Err: fmt.Errorf("header: not a column of the schema (%s)", columnList(schema))}
		}
		if seen[i] {
			return &FixtureError{File: name, Line: hline, Column: h, Err: errors.New("header: column appears twice")}
		}
		seen[i] = true
		colOf[j] = i
	}
	cells := make([][]byte, len(schema.Columns))
	for {
		rec, line, err := cr.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &FixtureError{File: name, Line: line, Err: err}
		}
		if len(rec) != len(header) {
			return &FixtureError{File: name, Line: line,
				Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(header))}
		}
		clear(cells)
		for j, f := range rec {
			i := colOf[j]
			col := schema.Columns[i]
			cell, err := csvCell(col.Type, f)
			if err != nil {
				return &FixtureError{File: name, Line: line, Column: col.Name, Type: col.Type.String(), Err: err}
			}
			cells[i] = cell
		}
		for _, c := range cells {
			pb.b.AppendCell(c)
		}
		if err := pb.endRow(line); err != nil {
			return &FixtureError{File: name, Line: line, Err: err}
		}
	}
}

// csvCell converts one CSV field to a cell of type t, reading it as the
// CSV sink writes it: text and ascii as they are; collections, tuples, UDTs
// and vectors as their JSON form; other scalars as their JSON form without
// the quotes.
func csvCell(t abi.Type, f csvField) ([]byte, error) {
	if len(f.text) == 0 {
		if f.quoted {
			return []byte{}, nil // empty value
		}
		return nil, nil // null
	}
	if !utf8.Valid(f.text) {
		return nil, errors.New("field is not valid UTF-8")
	}
	s := string(f.text)
	var v any
	switch t.ID {
	case abi.TypeASCII, abi.TypeVarchar:
		v = s
	case abi.TypeList, abi.TypeSet, abi.TypeMap, abi.TypeTuple, abi.TypeUDT, abi.TypeVector:
		dec := json.NewDecoder(bytes.NewReader(f.text))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %q is not the JSON form of a %s: %w", s, t.ID, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("field %q: data after the JSON value", s)
		}
	case abi.TypeBoolean:
		switch s {
		case "true":
			v = true
		case "false":
			v = false
		default:
			return nil, fmt.Errorf("field %q is not true or false", s)
		}
	case abi.TypeTinyint, abi.TypeSmallint, abi.TypeInt, abi.TypeBigint, abi.TypeCounter:
		v = json.Number(s)
	case abi.TypeFloat, abi.TypeDouble, abi.TypeTimestamp, abi.TypeDate, abi.TypeTime:
		// Numbers normally (timestamps, dates and times outside the range
		// of their text form); NaN, Infinity and the text forms otherwise.
		if isJSONNumber(s) {
			v = json.Number(s)
		} else {
			v = s
		}
	default:
		// Strings in JSON: uuid, timeuuid, inet, blob, custom, varint,
		// decimal, duration.
		v = s
	}
	return abi.EncodeJSON(t, v)
}

// isJSONNumber reports whether s is a number in JSON syntax.
func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && len(s) > 0 && s[0] != '"'
}
