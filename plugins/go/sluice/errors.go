package sluice

import (
	"errors"
	"fmt"
	"strings"
)

// RowErr is an error about one row of the input page. Returned from
// Process (directly or wrapped with %w), it stops the stream and the host
// reports the row's index. Build one with RowError or RowErrorf.
type RowErr struct {
	Row int   // index of the row in the input page
	Err error // what went wrong
}

// Error returns the message of Err.
func (e *RowErr) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *RowErr) Unwrap() error { return e.Err }

// RowError returns an error about row, with message msg.
func RowError(row Row, msg string) error {
	return &RowErr{Row: row.Index(), Err: errors.New(msg)}
}

// RowErrorf returns an error about row, formatted as by fmt.Errorf (so %w
// wraps).
func RowErrorf(row Row, format string, args ...any) error {
	return &RowErr{Row: row.Index(), Err: fmt.Errorf(format, args...)}
}

// CellError reports a cell whose bytes are not a valid encoding of its
// column's type (a fixed-size type with the wrong length, a time of day out
// of range, a text cell that is not UTF-8...). It is row-specific: returned
// from Process, directly or wrapped, it names its row to the host.
type CellError struct {
	Row    int    // index of the row in the page
	Column string // column name
	Type   TypeID // the column's type id
	Len    int    // length of the cell in bytes
	Detail string // what is wrong, when it is not the length; may be empty
}

// Error returns `row <i>: column "<name>": invalid <type> cell of <n> bytes`,
// followed by ": <detail>" when Detail is set.
func (e *CellError) Error() string {
	msg := fmt.Sprintf("row %d: column \"%s\": invalid %s cell of %d bytes", e.Row, e.Column, e.Type, e.Len)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// ColumnError reports a column name that is not in the page's schema.
type ColumnError struct {
	Column  string   // the name asked for
	Columns []string // the page's column names, in schema order
}

// Error returns `column "<name>" not found (columns: a, b, c)`.
func (e *ColumnError) Error() string {
	return fmt.Sprintf("column \"%s\" not found (columns: %s)", e.Column, strings.Join(e.Columns, ", "))
}

// TypeError reports a typed access to a column of another type, such as
// Row.Int on a bigint column, or a value of the wrong Go type given to
// Output.Emit.
type TypeError struct {
	Column string // column name
	Type   Type   // the column's type
	Want   string // what the access needs, e.g. "int" or "text or ascii"
}

// Error returns `column "<name>" has type <type>, want <want>`.
func (e *TypeError) Error() string {
	return fmt.Sprintf("column \"%s\" has type %s, want %s", e.Column, e.Type, e.Want)
}

// rowOf returns the row an error is about, or -1.
func rowOf(err error) int64 {
	var re *RowErr
	if errors.As(err, &re) {
		return int64(re.Row)
	}
	var ce *CellError
	if errors.As(err, &ce) {
		return int64(ce.Row)
	}
	return -1
}
