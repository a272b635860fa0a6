package pager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/internal/cqltype"
)

// SourceError is a problem with what a stream is told to read (its Spec),
// found by NewCassandraSource before any row is read: a Spec that
// contradicts itself, a table or column that does not exist, a statement
// Cassandra refuses to prepare (a Where naming a missing column, a Where
// that needs AllowFiltering), too few or too many bind values, or a value
// that does not fit its marker's CQL type. It is a configuration problem:
// retrying cannot help, the [stream.source] section has to change, and
// the caller should report it as such (the CLI exits 2). Problems that are
// not the Spec's (the node unreachable, a timeout while preparing) are
// never a SourceError.
type SourceError struct {
	// Key is the key of [stream.source] at fault: "table", "columns",
	// "where", "allow_filtering", "cql" or "values". A value of
	// Spec.WhereArgs (no config key) is reported under "where".
	Key string
	// Value is the 1-based position of the bind value at fault in
	// Spec.Args (values) or Spec.WhereArgs; 0 when the problem is not
	// one value.
	Value int
	// Column is the column (or the name of the bind marker) concerned, ""
	// if none.
	Column string
	// Msg says what is wrong and where.
	Msg string
	// Err is the cause, when there is one: Cassandra's refusal (a
	// gocql.RequestError) or the driver's marshal error.
	Err error
}

// Error reports the problem and its cause on one line.
func (e *SourceError) Error() string {
	if e.Err == nil {
		return "pager: source: " + e.Msg
	}
	return "pager: source: " + e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// prepare prepares the one statement the source will run — the CQL
// statement, the whole-table statement for one split, or the token-range
// statement for more (a Where can be valid in one and not the other:
// "token(k) > 0" conflicts with the token restriction) — checks its bind
// values against the prepared markers the way the driver will marshal
// them on every page, and records the page schema from the prepared
// result metadata. The driver caches the prepared statement, so the first
// page does not prepare it again (on the same host).
func (s *CassandraSource) prepare(ctx context.Context, spec Spec) error {
	stmt, tokens := s.wholeStmt, 0
	if !s.cqlMode && s.splits > 1 {
		stmt, tokens = s.tokenStmt, 2
	}
	meta, err := s.session.StatementMetadata(ctx, stmt, "")
	if err != nil {
		return s.refused(spec, stmt, err)
	}
	if err := s.checkBinds(spec, meta.BindColumns, tokens); err != nil {
		return err
	}
	key := "columns"
	if s.cqlMode {
		key = "cql"
	}
	if len(meta.ResultColumns) == 0 {
		return &SourceError{Key: key, Msg: fmt.Sprintf("%s returns no columns", truncateString(s.query, 80))}
	}
	if _, _, err := s.schemaFor(meta.ResultColumns); err != nil {
		return &SourceError{Key: key, Msg: strings.TrimPrefix(err.Error(), "pager: ")}
	}
	return nil
}

// refused turns an error of preparing stmt into a *SourceError when
// Cassandra refused the statement itself (syntax, invalid, unauthorized,
// config), saying what to change; anything else is returned wrapped.
func (s *CassandraSource) refused(spec Spec, stmt string, err error) error {
	if strings.HasPrefix(err.Error(), "unknown type ") {
		// The driver refused a class string of the result metadata:
		// sluice's registry (cqltype.Types) reads every class of
		// org.apache.cassandra.db.marshal, so this is a class from a jar
		// on the server (or a session without that registry).
		key := "table"
		if s.cqlMode {
			key = "cql"
		}
		return &SourceError{Key: key, Msg: fmt.Sprintf("%s returns a column of a type the driver cannot read (a custom class outside org.apache.cassandra.db.marshal; see docs/json.md, \"Which types reach sluice\"): leave the column out", truncateString(NormalizeCQL(stmt), 200)), Err: err}
	}
	var re gocql.RequestError
	if !errors.As(err, &re) {
		return fmt.Errorf("pager: source: preparing %s: %w", truncateString(NormalizeCQL(stmt), 200), err)
	}
	switch re.Code() {
	case gocql.ErrCodeSyntax, gocql.ErrCodeInvalid, gocql.ErrCodeUnauthorized, gocql.ErrCodeConfig:
	default:
		return fmt.Errorf("pager: source: preparing %s: %w", truncateString(NormalizeCQL(stmt), 200), err)
	}
	filtering := re.Code() == gocql.ErrCodeInvalid && strings.Contains(re.Message(), "ALLOW FILTERING")
	q := truncateString(NormalizeCQL(stmt), 200)
	switch {
	case s.cqlMode && filtering:
		return &SourceError{Key: "cql", Msg: fmt.Sprintf("Cassandra refused the cql %q: it filters, so it needs ALLOW FILTERING at its end", q), Err: err}
	case s.cqlMode:
		return &SourceError{Key: "cql", Msg: fmt.Sprintf("Cassandra refused the cql %q", q), Err: err}
	case filtering && !spec.AllowFiltering:
		return &SourceError{Key: "allow_filtering", Msg: fmt.Sprintf("where %q on %s.%s needs ALLOW FILTERING: set allow_filtering = true in [stream.source] (the scan then filters the rows on the node)", spec.Where, spec.Keyspace, spec.Table), Err: err}
	case strings.TrimSpace(spec.Where) != "":
		return &SourceError{Key: "where", Msg: fmt.Sprintf("Cassandra refused the scan of %s.%s with where %q (%s)", spec.Keyspace, spec.Table, spec.Where, q), Err: err}
	default:
		return &SourceError{Key: "table", Msg: fmt.Sprintf("Cassandra refused the scan of %s.%s (%s)", spec.Keyspace, spec.Table, q), Err: err}
	}
}

// checkBinds checks the source's bind values against the markers of the
// prepared statement (the last tokens of which are the token range's,
// bound by Request) exactly as the driver will on every page: the count,
// then gocql.Marshal of each value with its marker's type.
func (s *CassandraSource) checkBinds(spec Spec, binds []gocql.ColumnInfo, tokens int) error {
	if len(binds) < tokens {
		return fmt.Errorf("pager: source: %s has %d bind markers, want at least the %d of the token range", truncateString(NormalizeCQL(s.tokenStmt), 200), len(binds), tokens)
	}
	markers := binds[:len(binds)-tokens]
	key, stmt, values := "values", "the cql", "values"
	if !s.cqlMode {
		key, stmt, values = "where", fmt.Sprintf("where %q", spec.Where), "the where's values"
	}
	if len(s.args) != len(markers) {
		return &SourceError{Key: key, Msg: fmt.Sprintf("%s has %d ? marker(s)%s but %s has %d value(s)", stmt, len(markers), describeMarkers(markers), values, len(s.args))}
	}
	for i, m := range markers {
		if _, ok := m.TypeInfo.(gocql.TupleTypeInfo); ok {
			// gocql v2.1.2 counts one value per component for a tuple
			// marker, then indexes the markers with that count.
			return &SourceError{Key: key, Value: i + 1, Column: m.Name, Msg: fmt.Sprintf("marker %d of %s (%q) binds a whole %s, which the driver cannot bind: write the tuple as (?, ?, ...) with one value per component", i+1, stmt, m.Name, cqlTypeName(m.TypeInfo))}
		}
		if _, err := gocql.Marshal(m.TypeInfo, s.args[i]); err != nil {
			return &SourceError{Key: key, Value: i + 1, Column: m.Name, Msg: fmt.Sprintf("value %d of %s (%s) does not fit marker %d of %s (%q, CQL type %s)", i+1, values, describeValue(s.args[i]), i+1, stmt, m.Name, cqlTypeName(m.TypeInfo)), Err: err}
		}
	}
	return nil
}

// describeMarkers lists markers as ` ("id" int, "name" text)`.
func describeMarkers(ms []gocql.ColumnInfo) string {
	if len(ms) == 0 {
		return ""
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%q %s", m.Name, cqlTypeName(m.TypeInfo))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// cqlTypeName spells a marker's type in CQL (int, list<text>, ...).
func cqlTypeName(ti gocql.TypeInfo) string {
	if t, err := cqltype.FromGocql(ti); err == nil {
		return t.String()
	}
	return fmt.Sprint(ti.Type())
}

// describeValue names a bind value's kind in TOML terms where there is
// one (string, integer, float, boolean, datetime, array, table), else its
// Go type, followed by the value.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", truncateString(x, 60))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("the integer %d", x)
	case float32, float64:
		return fmt.Sprintf("the float %v", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case time.Time:
		return "the datetime " + x.Format(time.RFC3339Nano)
	case []any:
		return truncateString(fmt.Sprintf("the array %v", x), 80)
	case map[string]any:
		return truncateString(fmt.Sprintf("the table %v", x), 80)
	}
	return truncateString(fmt.Sprintf("the %T %v", v, v), 80)
}
