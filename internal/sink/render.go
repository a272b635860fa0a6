package sink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// renderer appends rows of pages in one Format to a buffer. It caches what
// depends only on the schema (the quoted JSON keys), so rendering a row
// costs one abi.AppendJSONOf per cell and no allocation. A renderer belongs
// to its sink's owner goroutine.
type renderer struct {
	format  Format
	schema  *abi.Schema // schema the cache was built for
	keys    [][]byte    // JSONL: `{"name":` for column 0, `,"name":` after
	cells   [][]byte    // CSV: reused by AppendCells
	scratch []byte      // CSV: JSON form of one cell
}

func (r *renderer) prepare(s *abi.Schema) error {
	if r.schema == s {
		return nil
	}
	r.schema = s
	r.keys = r.keys[:0]
	if r.format != JSONL {
		return nil
	}
	for i, c := range s.Columns {
		k := []byte{','}
		if i == 0 {
			k[0] = '{'
		}
		k, err := abi.AppendJSON(k, abi.Type{ID: abi.TypeVarchar}, []byte(c.Name))
		if err != nil {
			return fmt.Errorf("column name %q: %w", c.Name, err)
		}
		r.keys = append(r.keys, append(k, ':'))
	}
	return nil
}

// appendPage renders the selected rows of p to dst. On error it returns dst
// unchanged (a page is rendered entirely or not at all) and an error that
// names the page, row and column.
func (r *renderer) appendPage(dst []byte, p *abi.Page, sel []byte) ([]byte, error) {
	if err := r.prepare(p.Schema); err != nil {
		return dst, err
	}
	start := len(dst)
	var err error
	for i := range p.NumRows() {
		if !selected(sel, i) {
			continue
		}
		if r.format == JSONL {
			dst, err = r.appendJSONRow(dst, p.Row(i))
		} else {
			r.cells = p.Row(i).AppendCells(r.cells[:0])
			dst, err = r.appendCSVRow(dst)
		}
		if err != nil {
			return dst[:start], fmt.Errorf("page %d, row %d: %w", p.Number, i, err)
		}
	}
	return dst, nil
}

// appendJSONRow appends row as one JSON object and a newline. It walks
// the row's cells in place (as abi.Row.Cells does) rather than collecting
// them first: this is the per-row loop of every JSONL sink.
func (r *renderer) appendJSONRow(dst []byte, row abi.Row) ([]byte, error) {
	cols := r.schema.Columns
	if len(cols) == 0 {
		return append(dst, "{}\n"...), nil
	}
	var err error
	b, off := row.Bytes(), 0
	for c := range cols {
		var cell []byte // nil: null
		if n := int32(binary.LittleEndian.Uint32(b[off:])); n >= 0 {
			cell = b[off+4 : off+4+int(n) : off+4+int(n)]
			off += int(n)
		}
		off += 4
		dst = append(dst, r.keys[c]...)
		if dst, err = abi.AppendJSONOf(dst, &cols[c].Type, cell); err != nil {
			return dst, fmt.Errorf("column %q (%s): %w", cols[c].Name, cols[c].Type, err)
		}
	}
	return append(dst, '}', '\n'), nil
}

// appendCSVRow appends r.cells as one CSV record and a newline. text and
// ascii cells are written as they are; other types as their JSON form,
// without the quotes when that form is a JSON string; null is an empty
// unquoted field, and an empty (non-null) value "".
func (r *renderer) appendCSVRow(dst []byte) ([]byte, error) {
	cols := r.schema.Columns
	for c, cell := range r.cells {
		if c > 0 {
			dst = append(dst, ',')
		}
		if cell == nil {
			continue // null
		}
		switch id := cols[c].Type.ID; {
		case id == abi.TypeVarchar || id == abi.TypeASCII:
			dst = appendCSVField(dst, cell)
			continue
		case len(cell) > 0 && plainCSV(id):
			// The JSON form is the field: a number, a boolean, or a string
			// that never holds an escape, a comma, a quote or a line break
			// (uuids, timestamps, base64...), whose quotes are dropped in
			// place. Same bytes as the general path below, without the
			// scratch copy and the scan for characters to quote.
			start := len(dst)
			var err error
			if dst, err = abi.AppendJSONOf(dst, &cols[c].Type, cell); err != nil {
				return dst, fmt.Errorf("column %q (%s): %w", cols[c].Name, cols[c].Type, err)
			}
			if dst[start] == '"' {
				n := copy(dst[start:], dst[start+1:len(dst)-1])
				dst = dst[:start+n]
			}
			continue
		}
		var err error
		if r.scratch, err = abi.AppendJSONOf(r.scratch[:0], &cols[c].Type, cell); err != nil {
			return dst, fmt.Errorf("column %q (%s): %w", cols[c].Name, cols[c].Type, err)
		}
		v := r.scratch
		if len(v) >= 2 && v[0] == '"' {
			if v, err = unquoteJSON(v); err != nil {
				return dst, fmt.Errorf("column %q (%s): %w", cols[c].Name, cols[c].Type, err)
			}
		}
		dst = appendCSVField(dst, v)
	}
	return append(dst, '\n'), nil
}

// plainCSV reports whether the JSON form of every non-empty value of a
// scalar type is a valid CSV field as it is, or once its quotes are
// dropped: no escapes, commas, quotes, CR or LF, never empty (docs/json.md:
// numbers, booleans, and strings of digits, hex, base64, dates, times,
// durations and addresses). Text, ascii and every collection, tuple, UDT
// and vector type take the general path.
func plainCSV(id abi.TypeID) bool {
	switch id {
	case abi.TypeInt, abi.TypeBigint, abi.TypeSmallint, abi.TypeTinyint, abi.TypeCounter, abi.TypeVarint,
		abi.TypeDecimal, abi.TypeFloat, abi.TypeDouble, abi.TypeBoolean, abi.TypeBlob, abi.TypeCustom,
		abi.TypeUUID, abi.TypeTimeUUID, abi.TypeTimestamp, abi.TypeDate, abi.TypeTime, abi.TypeDuration, abi.TypeInet:
		return true
	}
	return false
}

// unquoteJSON returns the content of a JSON string. The JSON forms of
// non-text scalars (uuids, timestamps, base64...) have no escapes, so the
// fast path just drops the quotes.
func unquoteJSON(v []byte) ([]byte, error) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// appendCSVField appends a non-null field, quoted when it is empty or holds
// a comma, a double quote, CR or LF (RFC 4180), with quotes doubled.
func appendCSVField(dst, v []byte) []byte {
	if len(v) > 0 && !needsCSVQuotes(v) {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

// csvSpecial marks the bytes that make a CSV field need quotes.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}

// needsCSVQuotes reports whether v holds a comma, a double quote, CR or LF
// (bytes.IndexAny with the same set, without building the set per call).
func needsCSVQuotes(v []byte) bool {
	for _, c := range v {
		if csvSpecial[c] {
			return true
		}
	}
	return false
}

// appendCSVHeader appends the header record: the column names.
func appendCSVHeader(dst []byte, s *abi.Schema) []byte {
	for i, c := range s.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCSVField(dst, []byte(c.Name))
	}
	return append(dst, '\n')
}

// columnNames returns the names of the columns of s.
func columnNames(s *abi.Schema) []string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return names
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
