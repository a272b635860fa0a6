package sink

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/cqltype"
)

// CassandraOptions tunes a cassandra sink.
type CassandraOptions struct {
	// Concurrency is the number of INSERTs in flight; 0 means 8.
	Concurrency int
	// Consistency of the INSERTs; 0 (ANY) means the session's consistency.
	Consistency gocql.Consistency
	// Retries of a failed INSERT (timeouts, unavailable, overloaded) with
	// exponential backoff; 0 means 3, a negative value none.
	Retries int
}

// cassandraSink INSERTs every row into a table, binding the page's raw cell
// bytes (no decoding, no re-encoding) with up to Concurrency statements in
// flight. Each row runs in a goroutine the sink owns; a semaphore bounds
// them and Flush and Close join them all. INSERT is an idempotent upsert,
// so the statements are marked idempotent (retries allowed) and replaying
// rows after a restart leaves the table as a single run would.
//
// The sink's methods are called by the stream's committer goroutine only;
// the row goroutines touch nothing but their row and the error slot (mu).
type cassandraSink struct {
	name     string
	session  *gocql.Session
	keyspace string
	table    string
	target   string            // "ks.table" as written in CQL
	columns  map[string]string // the table's columns: name -> kind (partition_key, clustering, static, regular)
	hasCK    bool              // the table has clustering columns
	opts     CassandraOptions
	retry    gocql.RetryPolicy

	sem    chan struct{} // one token per in-flight INSERT
	ctx    context.Context
	cancel context.CancelFunc

	schema *abi.Schema // schema of the cached statements
	full   insertStmt  // INSERT of every column of schema
	static insertStmt  // INSERT of the partition key and static columns of schema (a static-only row)
	ckIdx  []int       // columns of schema that are clustering columns
	regIdx []int       // columns of schema that are regular columns
	tuples bool        // schema has a top-level tuple column (see tupleInsert)

	mu struct {
		sync.Mutex
		err    error // first failed INSERT
		failed int   // failed INSERTs
	}
	closed bool
}

// insertStmt is the INSERT of some columns of a page schema.
type insertStmt struct {
	idx    []int  // the page columns it binds, in order
	stmt   string // INSERT INTO ks.t (a, b) VALUES (?, ?)
	prefix string // INSERT INTO ks.t (a, b) VALUES (
}

func (c *cassandraSink) newInsert(s *abi.Schema, idx []int) insertStmt {
	names := make([]string, len(idx))
	marks := make([]string, len(idx))
	for i, k := range idx {
		names[i], marks[i] = cqlIdent(s.Columns[k].Name), "?"
	}
	prefix := "INSERT INTO " + c.target + " (" + strings.Join(names, ", ") + ") VALUES ("
	return insertStmt{idx: idx, stmt: prefix + strings.Join(marks, ", ") + ")", prefix: prefix}
}

// NewCassandra returns a sink that INSERTs rows into keyspace.table, which
// must exist and must not be a counter table. Every column of the pages it
// receives must be a column of the table, of the same type; the table's
// other columns are not written, whatever their type. It reads the
// table's columns once, here, from system_schema.
//
// A row whose clustering columns are all null is a static-only row (what
// a scan returns for a partition that has static columns and no rows): it
// is written as an INSERT of the partition key and the static columns.
//
// Counter tables are refused: a counter is written with UPDATE ... SET c =
// c + ?, which adds, and the rows sluice replays after a restart (those
// after the last checkpoint) would be added twice. The sink writes exactly
// once only because an INSERT replayed is the same upsert.
func NewCassandra(ctx context.Context, name string, session *gocql.Session, keyspace, table string, opts CassandraOptions) (Sink, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 3
	case opts.Retries < 0:
		opts.Retries = 0
	}
	s := &cassandraSink{
		name:     name,
		session:  session,
		keyspace: keyspace,
		table:    table,
		target:   cqlIdent(keyspace) + "." + cqlIdent(table),
		opts:     opts,
		retry:    &gocql.ExponentialBackoffRetryPolicy{NumRetries: opts.Retries, Min: 100 * time.Millisecond, Max: 5 * time.Second},
		sem:      make(chan struct{}, opts.Concurrency),
	}
	cols, counters, err := tableColumns(ctx, session, keyspace, table)
	if err != nil {
		return nil, fmt.Errorf("sink %s: reading the columns of %s.%s: %w", name, keyspace, table, err)
	}
	if len(counters) > 0 {
		return nil, fmt.Errorf("sink %s: %s.%s is a counter table (counter columns: %s): a cassandra sink cannot write counters exactly once (UPDATE ... SET c = c + ? adds, and the rows replayed after a restart would be added twice); write to a table of bigint columns instead", name, keyspace, table, strings.Join(counters, ", "))
	}
	s.columns = cols
	for _, kind := range cols {
		s.hasCK = s.hasCK || kind == "clustering"
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// tableColumns returns the columns of a table with their kinds, and the
// names of its counter columns, from system_schema.columns (no type is
// parsed: a column the sink does not write may have any type).
func tableColumns(ctx context.Context, session *gocql.Session, keyspace, table string) (cols map[string]string, counters []string, err error) {
	iter := session.Query("SELECT column_name, kind, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", keyspace, table).
		WithContext(ctx).Consistency(gocql.One).Iter()
	cols = map[string]string{}
	var name, kind, typ string
	for iter.Scan(&name, &kind, &typ) {
		cols[name] = kind
		if typ == "counter" {
			counters = append(counters, name)
		}
	}
	if err := iter.Close(); err != nil {
		return nil, nil, err
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("table %s.%s does not exist (names are case-sensitive, as in system_schema)", keyspace, table)
	}
	return cols, counters, nil
}

// CheckSchema checks, before any row is read, that pages of schema s can
// be written: what Write would refuse on the first page (a column the
// table does not have, or of another type) is refused here, for `sluice
// check`.
func (c *cassandraSink) CheckSchema(ctx context.Context, s *abi.Schema) error {
	return c.prepare(ctx, s)
}

// prepare builds (and checks) the INSERTs for the columns of s: the types
// come from the prepared INSERT's bind markers, so only the columns
// written are described by the driver.
func (c *cassandraSink) prepare(ctx context.Context, s *abi.Schema) error {
	if c.schema == s {
		return nil
	}
	if c.schema != nil && c.schema.Equal(s) {
		c.schema = s
		return nil
	}
	if len(s.Columns) == 0 {
		return fmt.Errorf("sink %s: a page without columns cannot be inserted into %s.%s", c.name, c.keyspace, c.table)
	}
	all := make([]int, 0, len(s.Columns))
	var staticIdx, ckIdx, regIdx []int
	tuples := false
	for k, col := range s.Columns {
		tuples = tuples || col.Type.ID == abi.TypeTuple
		kind, ok := c.columns[col.Name]
		if !ok {
			return fmt.Errorf("sink %s: table %s.%s has no column %q (the output's columns are %s)", c.name, c.keyspace, c.table, col.Name, s)
		}
		all = append(all, k)
		switch kind {
		case "partition_key", "static":
			staticIdx = append(staticIdx, k)
		case "clustering":
			ckIdx = append(ckIdx, k)
		default:
			regIdx = append(regIdx, k)
		}
	}
	full := c.newInsert(s, all)
	meta, err := c.session.StatementMetadata(ctx, full.stmt, "")
	if err != nil {
		return fmt.Errorf("sink %s: preparing %s: %w", c.name, full.stmt, err)
	}
	if len(meta.BindColumns) != len(s.Columns) {
		return fmt.Errorf("sink %s: %s has %d bind markers, want %d", c.name, full.stmt, len(meta.BindColumns), len(s.Columns))
	}
	for k, col := range s.Columns {
		tt, err := cqltype.FromGocql(meta.BindColumns[k].TypeInfo)
		if err != nil {
			return fmt.Errorf("sink %s: column %q of %s.%s: %w", c.name, col.Name, c.keyspace, c.table, err)
		}
		if !sameType(tt, col.Type) {
			return fmt.Errorf("sink %s: column %q is %s in %s.%s but %s in the output: raw cells can only be written to a column of the same type", c.name, col.Name, tt, c.keyspace, c.table, col.Type)
		}
	}
	c.full = full
	c.static = insertStmt{}
	if c.hasCK && len(ckIdx) > 0 {
		c.static = c.newInsert(s, staticIdx)
	}
	c.ckIdx, c.regIdx = ckIdx, regIdx
	c.tuples = tuples
	c.schema = s
	return nil
}

// staticOnly reports whether a row is static-only (its clustering columns
// are all null), and fails if such a row sets a regular column.
func (c *cassandraSink) staticOnly(s *abi.Schema, cells [][]byte) (bool, error) {
	if c.static.stmt == "" {
		return false, nil
	}
	for _, k := range c.ckIdx {
		if cells[k] != nil {
			return false, nil
		}
	}
	for _, k := range c.regIdx {
		if cells[k] != nil {
			return false, fmt.Errorf("the clustering columns are null (a static-only row) but regular column %q is not", s.Columns[k].Name)
		}
	}
	return true, nil
}

func (c *cassandraSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := c.prepare(ctx, p.Schema); err != nil {
		c.setErr(err)
		return err
	}
	// The row goroutines outlive this call: give them their own copy of
	// the selected rows, and remember the rows' indexes in p for messages.
	var rows *abi.Page
	var index []int
	if sel == nil {
		rows = p.Clone()
	} else {
		rows = p.Select(sel)
		index = make([]int, 0, rows.NumRows())
		for i := range p.NumRows() {
			if abi.BitmapGet(sel, i) {
				index = append(index, i)
			}
		}
	}
	var cells [][]byte
	for i := range rows.NumRows() {
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("sink %s: %w", c.name, ctx.Err())
		}
		if err := c.firstErr(); err != nil {
			<-c.sem
			return err
		}
		row := i
		if index != nil {
			row = index[i]
		}
		cells = rows.Row(i).AppendCells(cells[:0])
		ins := &c.full
		static, err := c.staticOnly(p.Schema, cells)
		if err != nil {
			<-c.sem
			err = fmt.Errorf("sink %s: %s.%s, page %d, row %d: %w", c.name, c.keyspace, c.table, p.Number, row, err)
			c.setErr(err)
			return err
		}
		if static {
			ins = &c.static
		}
		stmt := ins.stmt
		values := make([]any, len(ins.idx))
		for j, k := range ins.idx {
			values[j] = rawCell(cells[k])
		}
		if c.tuples {
			if stmt, values, err = c.tupleInsert(p.Schema, ins, cells); err != nil {
				<-c.sem
				err = fmt.Errorf("sink %s: %s.%s, page %d, row %d: %w", c.name, c.keyspace, c.table, p.Number, row, err)
				c.setErr(err)
				return err
			}
		}
		go c.insert(stmt, values, p.Number, row)
	}
	return nil
}

// tupleInsert returns the INSERT and values of a row with tuple columns.
//
// gocql cannot bind a top-level tuple column to one marker: it counts one
// value per tuple component (and then indexes past the prepared columns).
// So a tuple cell is split into its components, bound through a tuple
// literal "(?, ?)", nested tuples likewise, and a null tuple is the literal
// null. The statement text thus depends on which tuples are null; gocql
// caches the few prepared variants by text. The components' bytes are bound
// as they are, so the stored tuple is byte-identical to the cell (except
// that a tuple value with fewer components than its type gets explicit
// null components).
func (c *cassandraSink) tupleInsert(s *abi.Schema, ins *insertStmt, cells [][]byte) (string, []any, error) {
	var b strings.Builder
	b.WriteString(ins.prefix)
	values := make([]any, 0, len(ins.idx)+4)
	var err error
	for j, k := range ins.idx {
		if j > 0 {
			b.WriteString(", ")
		}
		if values, err = appendBound(&b, values, s.Columns[k].Type, cells[k]); err != nil {
			return "", nil, fmt.Errorf("column %q (%s): %w", s.Columns[k].Name, s.Columns[k].Type, err)
		}
	}
	b.WriteByte(')')
	return b.String(), values, nil
}

// appendBound writes the marker(s) of one value of type t to b and appends
// the bound value(s) to values.
func appendBound(b *strings.Builder, values []any, t abi.Type, cell []byte) ([]any, error) {
	if t.ID != abi.TypeTuple {
		b.WriteByte('?')
		return append(values, rawCell(cell)), nil
	}
	if cell == nil {
		b.WriteString("null")
		return values, nil
	}
	if len(cell) == 0 {
		return values, fmt.Errorf("an empty (0-byte) tuple value cannot be written")
	}
	b.WriteByte('(')
	rest := cell
	for i, et := range t.Elems {
		if i > 0 {
			b.WriteString(", ")
		}
		var comp []byte // nil: null, or missing trailing component
		if len(rest) > 0 {
			if len(rest) < 4 {
				return values, fmt.Errorf("malformed tuple: component %d: truncated length", i)
			}
			n := int32(binary.BigEndian.Uint32(rest))
			rest = rest[4:]
			if n >= 0 {
				if int(n) > len(rest) {
					return values, fmt.Errorf("malformed tuple: component %d: %d bytes, %d left", i, n, len(rest))
				}
				comp, rest = rest[:n:n], rest[n:]
			}
		}
		var err error
		if values, err = appendBound(b, values, et, comp); err != nil {
			return values, err
		}
	}
	if len(rest) > 0 {
		return values, fmt.Errorf("malformed tuple: %d bytes after the last component", len(rest))
	}
	b.WriteByte(')')
	return values, nil
}

// insert runs one INSERT; it is the body of a row goroutine.
func (c *cassandraSink) insert(stmt string, values []any, page uint64, row int) {
	defer func() { <-c.sem }()
	q := c.session.Query(stmt, values...).WithContext(c.ctx).Idempotent(true).RetryPolicy(c.retry)
	if c.opts.Consistency != gocql.Any {
		q = q.Consistency(c.opts.Consistency)
	}
	if err := q.Exec(); err != nil {
		c.setErr(fmt.Errorf("sink %s: INSERT INTO %s.%s, page %d, row %d: %w", c.name, c.keyspace, c.table, page, row, err))
	}
}

func (c *cassandraSink) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.err == nil {
		c.mu.err = err
	}
	c.mu.failed++
}

func (c *cassandraSink) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.failed > 1 {
		return fmt.Errorf("%w (and %d more failed rows)", c.mu.err, c.mu.failed-1)
	}
	return c.mu.err
}

// Flush waits until every INSERT started by Write has completed.
func (c *cassandraSink) Flush(ctx context.Context) error {
	if c.closed {
		return ErrClosed
	}
	n := 0
	defer func() {
		for ; n > 0; n-- {
			<-c.sem
		}
	}()
	for ; n < cap(c.sem); n++ {
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("sink %s: flush: %w", c.name, ctx.Err())
		}
	}
	return c.firstErr()
}

func (c *cassandraSink) Position() Offset { return nil }

func (c *cassandraSink) Restore(off Offset) error {
	if err := c.check(); err != nil {
		return err
	}
	if off != nil {
		return fmt.Errorf("sink %s: %w: a cassandra sink has no position, but the checkpoint holds one for it", c.name, ErrBadOffset)
	}
	return nil
}

// Close cancels the INSERTs still in flight and waits for their goroutines.
func (c *cassandraSink) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.cancel()
	for range cap(c.sem) {
		c.sem <- struct{}{}
	}
	return nil
}

func (c *cassandraSink) check() error {
	if c.closed {
		return ErrClosed
	}
	return c.firstErr()
}

// rawCell binds a cell's bytes as they are: the CQL value encoding captured
// from Cassandra (or produced by a plugin) is what the server expects, so
// nothing is decoded. A nil rawCell is null; an empty one the empty value.
type rawCell []byte

// MarshalCQL returns the cell's bytes.
func (r rawCell) MarshalCQL(gocql.TypeInfo) ([]byte, error) { return r, nil }

// cqlIdent quotes a CQL identifier unless it is lower case alphanumeric
// starting with a letter (which CQL reads as itself).
func cqlIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// sameType reports whether cells of type b can be written as they are to a
// column of type a: the same type, except that a UDT may live in another
// keyspace.
func sameType(a, b abi.Type) bool {
	if a.ID != b.ID || a.Dim != b.Dim || a.Name != b.Name || len(a.Elems) != len(b.Elems) || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	for i := range a.Elems {
		if !sameType(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	return true
}
