package pager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/cqltype"
)

// Spec says what a stream reads: either a table (Keyspace, Table, and
// optionally Columns, Where and AllowFiltering) or a CQL statement (CQL
// with Args).
//
// Table mode pages the table by token ranges:
//
//	SELECT <columns> FROM <ks>.<table> WHERE [<Where> AND] token(<pk>) > ? AND token(<pk>) <= ? [ALLOW FILTERING]
//
// The partition key columns come from system_schema.columns. A user
// Where is ANDed in front of the token restriction (CQL WHERE clauses are
// conjunctions, so no parentheses are needed) and its bind values
// (WhereArgs) come first. ALLOW FILTERING is appended only when Where is
// set and AllowFiltering is true, as Cassandra requires when Where
// restricts columns outside the primary key; without it such a Where is
// refused by NewCassandraSource, with an error saying to set
// allow_filtering = true. (Until sluice honoured AllowFiltering it
// appended ALLOW FILTERING to every Where: the query text, hence the
// checkpoint fingerprint, of a table-mode stream with a Where and without
// AllowFiltering changed, and its old checkpoints are refused.)
//
// CQL mode runs the statement as given, in one split (no token ranges):
// keep it simple, or express the scan in table mode to get splits. A CQL
// statement that filters carries its own ALLOW FILTERING.
//
// NewCassandraSource prepares the statement the source will run and
// checks every bind value against its marker's type, so everything a run
// would refuse on its first page is refused at build time as a
// *SourceError (see prepare.go).
type Spec struct {
	Keyspace       string   // as in system_schema (case-sensitive)
	Table          string   // as in system_schema (case-sensitive)
	Columns        []string // names as in system_schema; empty = every column, in SELECT * order
	Where          string   // optional restriction, without the WHERE keyword
	WhereArgs      []any    // bind values of Where's ? markers
	AllowFiltering bool     // append ALLOW FILTERING to a scan with a Where (no effect without one)

	CQL  string // a SELECT statement; exclusive with Keyspace/Table
	Args []any  // bind values of CQL
}

// CassandraSource is the gocql implementation of Source. It is safe for
// concurrent use by the split owners and their request helpers: it holds
// only immutable query text and a schema cache; every Request builds its
// own query and iterator, and every Decode its own scan destinations; a
// response belongs to one goroutine at a time.
type CassandraSource struct {
	session     *gocql.Session
	consistency gocql.Consistency
	splits      int

	query     string // canonical query (whole table), fingerprinted
	wholeStmt string // query without token restriction
	tokenStmt string // query with the token restriction, "" in CQL mode
	args      []any  // Where or CQL bind values
	cqlMode   bool
	keyspace  string
	table     string
	keyCols   []string // primary key columns, partition key then clustering; nil in CQL mode

	probeOf []int // page columns with a writetime probe, in probe order

	mu struct {
		sync.Mutex
		schema *abi.Schema // guarded by mu; immutable once set
		layout *layout
		names  []string // result column names, probes included
		udts   []int    // page columns whose type holds a UDT (ALTER TYPE changes it in place)
	}
}

// NewCassandraSource checks spec against the schema and returns the source
// of its rows. opts supplies Consistency and Splits (defaults applied).
//
// It prepares the statement the source will run (the whole-table statement
// for one split or a CQL statement, the token-range statement for more)
// and marshals every bind value against its marker's type, so everything
// the first page would be refused for is refused here: a missing table or
// column, a Where Cassandra rejects or that needs AllowFiltering, too few
// or too many values, a value of the wrong type or out of range. Those
// problems are returned as a *SourceError (a configuration problem);
// other errors (the node unreachable, a timeout) are returned as they are.
func NewCassandraSource(ctx context.Context, s *gocql.Session, spec Spec, opts Options) (*CassandraSource, error) {
	if s == nil {
		return nil, errors.New("pager: nil session")
	}
	opts = opts.WithDefaults()
	src := &CassandraSource{session: s, consistency: opts.Consistency, splits: opts.Splits}
	if spec.CQL != "" {
		if spec.Keyspace != "" || spec.Table != "" || len(spec.Columns) > 0 || spec.Where != "" || len(spec.WhereArgs) > 0 || spec.AllowFiltering {
			return nil, &SourceError{Key: "cql", Msg: "give either CQL or keyspace/table (with columns, where and allow_filtering), not both"}
		}
		if !strings.EqualFold(firstWord(spec.CQL), "select") {
			return nil, &SourceError{Key: "cql", Msg: fmt.Sprintf("CQL must be a SELECT statement, got %q", truncateString(NormalizeCQL(spec.CQL), 60))}
		}
		src.cqlMode = true
		src.query = NormalizeCQL(spec.CQL)
		src.wholeStmt = spec.CQL
		src.args = slices.Clone(spec.Args)
		if err := src.prepare(ctx, spec); err != nil {
			return nil, err
		}
		return src, nil
	}
	if spec.Keyspace == "" || spec.Table == "" {
		return nil, &SourceError{Key: "table", Msg: "need a keyspace and a table, or a CQL statement"}
	}
	if err := checkWhere(spec.Where); err != nil {
		return nil, err
	}
	cols, err := tableColumns(ctx, s, spec.Keyspace, spec.Table)
	if err != nil {
		return nil, err
	}
	selected, err := selectColumns(cols, spec)
	if err != nil {
		return nil, err
	}
	var pk []string
	for _, c := range cols {
		if c.kind == "partition_key" {
			pk = append(pk, quoteIdent(c.name))
		}
		if c.kind == "partition_key" || c.kind == "clustering" {
			src.keyCols = append(src.keyCols, c.name) // cols is in key order
		}
	}
	var sel []string
	for i, c := range selected {
		// Tuples outside the primary key can be NULL: probe them (see capture.go).
		if c.isTuple() && c.kind != "partition_key" && c.kind != "clustering" {
			sel = append(sel, "writetime("+quoteIdent(c.name)+")")
			src.probeOf = append(src.probeOf, i)
		}
	}
	for _, c := range selected {
		sel = append(sel, quoteIdent(c.name))
	}
	from := fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(sel, ", "), quoteIdent(spec.Keyspace), quoteIdent(spec.Table))
	token := "token(" + strings.Join(pk, ", ") + ")"
	tokenCond := token + " > ? AND " + token + " <= ?"
	if w := strings.TrimSpace(spec.Where); w != "" {
		filtering := ""
		if spec.AllowFiltering {
			filtering = " ALLOW FILTERING"
		}
		src.wholeStmt = from + " WHERE " + w + filtering
		src.tokenStmt = from + " WHERE " + w + " AND " + tokenCond + filtering
	} else {
		src.wholeStmt = from
		src.tokenStmt = from + " WHERE " + tokenCond
	}
	src.query = NormalizeCQL(src.wholeStmt)
	src.args = slices.Clone(spec.WhereArgs)
	src.keyspace, src.table = spec.Keyspace, spec.Table
	if err := src.prepare(ctx, spec); err != nil {
		return nil, err
	}
	return src, nil
}

// Query returns the statement the source runs for a whole-table split (the
// canonical query that checkpoints are fingerprinted with).
func (s *CassandraSource) Query() string { return s.wholeStmt }

// KeyColumns returns the table's primary key columns by name, partition
// key then clustering columns, or nil when unknown (a CQL-mode source):
// failure reports name a row by them.
func (s *CassandraSource) KeyColumns() []string { return s.keyCols }

// TokenQuery returns the statement run for a token-range split ("" in CQL
// mode): the whole-table query restricted by token(pk) > ? AND token(pk) <= ?.
func (s *CassandraSource) TokenQuery() string { return s.tokenStmt }

// Schema returns the schema of every page the source delivers: the
// result columns of the prepared statement, in order, with their ABI
// types (probe columns, see capture.go, are not part of it). It is known
// once NewCassandraSource returns, before any row is read, so a caller can
// run each plugin chain once on an empty page of the real schema. Every
// page's schema is this very value; it is shared and must not be
// modified. A page whose result columns differ (the table was altered
// during the scan) fails with errSchemaChanged rather than changing it.
func (s *CassandraSource) Schema() *abi.Schema {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.schema
}

// Plan computes the split plan: one whole-table split in CQL mode or when
// Options.Splits is 1, else SplitRing over the ring's vnode tokens (read
// from system.local and system.peers of one coordinator). It fails if the
// partitioner is not Murmur3Partitioner and more than one split is wanted.
func (s *CassandraSource) Plan(ctx context.Context) (Plan, error) {
	splits := WholeSplit()
	if !s.cqlMode && s.splits > 1 {
		partitioner, tokens, err := RingTokens(ctx, s.session)
		if err != nil {
			return Plan{}, err
		}
		if !strings.HasSuffix(partitioner, "Murmur3Partitioner") {
			return Plan{}, fmt.Errorf("pager: %d token-range splits need the Murmur3Partitioner, the cluster uses %s: set splits = 1", s.splits, partitioner)
		}
		splits = SplitRing(tokens, s.splits)
	}
	return NewPlan(s.query, s.args, splits)
}

// RingTokens reads the partitioner and every node's tokens: system.local
// and system.peers of the same coordinator (both queries are pinned to one
// host of the pool, so the union is one node's consistent view of the
// ring). It needs the Murmur3 partitioner to parse tokens; for another
// partitioner it returns the partitioner name and no tokens.
func RingTokens(ctx context.Context, s *gocql.Session) (partitioner string, tokens []int64, err error) {
	var errs []error
	for _, h := range s.GetHosts() {
		if h.HostID() == "" || !h.IsUp() {
			continue
		}
		partitioner, tokens, err = ringTokensFrom(ctx, s, h.HostID())
		if err == nil {
			return partitioner, tokens, nil
		}
		errs = append(errs, fmt.Errorf("host %s: %w", h.ConnectAddress(), err))
	}
	// No pinnable host (or none answered): ask whichever host the policy picks.
	partitioner, tokens, err = ringTokensFrom(ctx, s, "")
	if err != nil {
		errs = append(errs, err)
		return "", nil, fmt.Errorf("pager: reading the ring's tokens: %w", errors.Join(errs...))
	}
	return partitioner, tokens, nil
}

func ringTokensFrom(ctx context.Context, s *gocql.Session, hostID string) (string, []int64, error) {
	var partitioner string
	var local []string
	q := s.Query("SELECT partitioner, tokens FROM system.local WHERE key = 'local'").WithContext(ctx).Consistency(gocql.One)
	if hostID != "" {
		q = q.SetHostID(hostID)
	}
	if err := q.Scan(&partitioner, &local); err != nil {
		return "", nil, fmt.Errorf("system.local: %w", err)
	}
	all := slices.Clone(local)
	q = s.Query("SELECT tokens FROM system.peers").WithContext(ctx).Consistency(gocql.One)
	if hostID != "" {
		q = q.SetHostID(hostID)
	}
	it := q.Iter()
	var ts []string
	for it.Scan(&ts) {
		all = append(all, ts...)
	}
	if err := it.Close(); err != nil {
		return "", nil, fmt.Errorf("system.peers: %w", err)
	}
	if !strings.HasSuffix(partitioner, "Murmur3Partitioner") {
		return partitioner, nil, nil
	}
	tokens := make([]int64, 0, len(all))
	for _, t := range all {
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return "", nil, fmt.Errorf("token %q is not a Murmur3 token: %w", t, err)
		}
		tokens = append(tokens, v)
	}
	if len(tokens) == 0 {
		return "", nil, errors.New("the ring has no tokens")
	}
	return partitioner, tokens, nil
}

// Request sends the query of one page (see Source): Query.Iter returns
// once the response frame has arrived, and its paging state is known then.
// A failed query (the driver's error, or no columns) is returned here; the
// rows are scanned by the Response's Decode.
func (s *CassandraSource) Request(ctx context.Context, req Request) (Response, error) {
	stmt, args := s.wholeStmt, s.args
	if !req.Split.Whole {
		if s.tokenStmt == "" {
			return nil, fmt.Errorf("pager: %s: a CQL-mode source has no token ranges", req.Split)
		}
		stmt = s.tokenStmt
		args = append(slices.Clip(args), req.Split.Lo, req.Split.Hi)
	}
	return s.send(ctx, stmt, args, req.Split, req.State, req.PageSize, req.Page)
}

// send runs one page of stmt bound to args, from paging state state.
func (s *CassandraSource) send(ctx context.Context, stmt string, args []any, split Split, state []byte, pageSize int, page uint64) (Response, error) {
	q := s.session.Query(stmt, args...).WithContext(ctx).
		Consistency(s.consistency).PageSize(pageSize).Idempotent(true).
		PageState(state) // disables auto-paging: one page per Iter, Scan never fetches
	it := q.Iter()
	cols := it.Columns()
	if len(cols) == 0 {
		if err := it.Close(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("pager: %s returned no columns", truncateString(s.query, 80))
	}
	schema, lay, err := s.schemaFor(cols)
	if err != nil {
		it.Close()
		return nil, err
	}
	return &cassandraResponse{it: it, schema: schema, lay: lay, split: split, page: page}, nil
}

// cassandraResponse is one page's gocql Iter, its frame received and not
// scanned yet. It belongs to one goroutine at a time (see Response).
type cassandraResponse struct {
	it     *gocql.Iter // nil once released
	schema *abi.Schema
	lay    *layout
	split  Split
	page   uint64 // for errors
}

// Next returns the paging state of the next page.
func (r *cassandraResponse) Next() []byte {
	if r.it == nil {
		return nil
	}
	return r.it.PageState()
}

// Decode scans the page's rows into b, then closes the Iter and returns
// its error: a page counts only if the driver reports none. The rows are
// in the frame already (PageState disabled auto-paging, so Scan never goes
// to the network): ctx is not needed, and one page bounds the work.
func (r *cassandraResponse) Decode(_ context.Context, b *abi.PageBuilder) error {
	it := r.it
	if it == nil {
		return errors.New("pager: page response decoded twice or after Close")
	}
	r.it = nil
	b.Reset(r.schema, 0, uint32(r.split.Index))
	sc := newScanner(r.lay, len(r.schema.Columns), b)
	for it.Scan(sc.dests...) {
		if err := b.EndRow(); err != nil {
			it.Close()
			return fmt.Errorf("pager: page %d of %s: %w", r.page, r.split, err)
		}
	}
	return it.Close()
}

// Close releases the Iter without scanning it.
func (r *cassandraResponse) Close() {
	if r.it != nil {
		r.it.Close()
		r.it = nil
	}
}

// errSchemaChanged is wrapped when the result columns change mid-scan.
var errSchemaChanged = errors.New("result columns changed during the scan")

// schemaFor returns the page schema and layout for the result columns,
// computed on the first page and checked against it on every later one.
func (s *CassandraSource) schemaFor(cols []gocql.ColumnInfo) (*abi.Schema, *layout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.schema != nil {
		if len(cols) != len(s.mu.names) {
			return nil, nil, fmt.Errorf("pager: %s: %d columns, then %d: %w", truncateString(s.query, 80), len(s.mu.names), len(cols), errSchemaChanged)
		}
		for i, c := range cols {
			if c.Name != s.mu.names[i] {
				return nil, nil, fmt.Errorf("pager: %s: column %d was %q, now %q: %w", truncateString(s.query, 80), i, s.mu.names[i], c.Name, errSchemaChanged)
			}
		}
		// A UDT altered during the scan (ALTER TYPE ... ADD) changes a
		// column's type under the same name: cells of the new shape do
		// not fit the page schema, so the scan stops rather than deliver
		// them (a rerun reads with the new type).
		for _, k := range s.mu.udts {
			c := cols[len(s.probeOf)+k]
			t, err := cqltype.FromGocql(c.TypeInfo)
			if was := s.mu.schema.Columns[k].Type; err != nil || !t.Equal(was) {
				return nil, nil, fmt.Errorf("pager: %s: column %q was %s, now %s (a user-defined type was altered): %w", truncateString(s.query, 80), c.Name, was.Describe(), t.Describe(), errSchemaChanged)
			}
		}
		return s.mu.schema, s.mu.layout, nil
	}
	np := len(s.probeOf)
	if len(cols) < np {
		return nil, nil, fmt.Errorf("pager: %s returned %d columns, expected at least %d", truncateString(s.query, 80), len(cols), np)
	}
	lay := &layout{probeOf: s.probeOf, tuples: map[int]int{}}
	lay.dests = np
	schema := &abi.Schema{Columns: make([]abi.Column, 0, len(cols)-np)}
	for i, c := range cols[np:] {
		t, err := cqltype.FromGocql(c.TypeInfo)
		if err != nil {
			return nil, nil, fmt.Errorf("pager: column %q: %w", c.Name, err)
		}
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("pager: column %q of type %v: %w", c.Name, c.TypeInfo, err)
		}
		if err := cqltype.CheckVectors(t); err != nil {
			return nil, nil, fmt.Errorf("pager: column %q: %w", c.Name, err)
		}
		schema.Columns = append(schema.Columns, abi.Column{Name: c.Name, Type: t})
		if tt, ok := c.TypeInfo.(gocql.TupleTypeInfo); ok {
			lay.tuples[i] = len(tt.Elems)
			lay.dests += len(tt.Elems)
		} else {
			lay.dests++
		}
	}
	for _, col := range s.probeOf {
		if _, ok := lay.tuples[col]; !ok {
			return nil, nil, fmt.Errorf("pager: column %q was probed as a tuple but the result says %v", schema.Columns[col].Name, schema.Columns[col].Type)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	s.mu.udts = nil
	for k, c := range schema.Columns {
		if holdsUDT(c.Type) {
			s.mu.udts = append(s.mu.udts, k)
		}
	}
	s.mu.schema, s.mu.layout, s.mu.names = schema, lay, names
	return schema, lay, nil
}

func holdsUDT(t abi.Type) bool {
	if t.ID == abi.TypeUDT {
		return true
	}
	for _, e := range t.Elems {
		if holdsUDT(e) {
			return true
		}
	}
	return false
}

// column is one row of system_schema.columns.
type column struct {
	name     string
	kind     string // partition_key, clustering, static, regular
	position int
	typ      string
}

func (c column) isTuple() bool {
	t := strings.TrimSpace(c.typ)
	for strings.HasPrefix(t, "frozen<") {
		t = strings.TrimSuffix(strings.TrimPrefix(t, "frozen<"), ">")
	}
	return strings.HasPrefix(t, "tuple<")
}

// tableColumns returns the columns of a table in SELECT * order: partition
// key and clustering columns by position, then static, then regular
// columns, each group by name.
func tableColumns(ctx context.Context, s *gocql.Session, ks, table string) ([]column, error) {
	it := s.Query("SELECT column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", ks, table).
		WithContext(ctx).Consistency(gocql.One).Iter()
	var cols []column
	var c column
	for it.Scan(&c.name, &c.kind, &c.position, &c.typ) {
		cols = append(cols, c)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("pager: reading the columns of %s.%s from system_schema.columns: %w", ks, table, err)
	}
	if len(cols) == 0 {
		return nil, &SourceError{Key: "table", Msg: fmt.Sprintf("table %s.%s does not exist (names are case-sensitive, as in system_schema)", ks, table)}
	}
	rank := map[string]int{"partition_key": 0, "clustering": 1, "static": 2, "regular": 3}
	slices.SortStableFunc(cols, func(a, b column) int {
		if d := rank[a.kind] - rank[b.kind]; d != 0 {
			return d
		}
		if a.kind == "partition_key" || a.kind == "clustering" {
			return a.position - b.position
		}
		return strings.Compare(a.name, b.name)
	})
	return cols, nil
}

func selectColumns(cols []column, spec Spec) ([]column, error) {
	if len(spec.Columns) == 0 {
		return cols, nil
	}
	by := make(map[string]column, len(cols))
	for _, c := range cols {
		by[c.name] = c
	}
	out := make([]column, 0, len(spec.Columns))
	seen := map[string]bool{}
	for _, n := range spec.Columns {
		c, ok := by[n]
		if !ok {
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = c.name
			}
			return nil, &SourceError{Key: "columns", Column: n, Msg: fmt.Sprintf("table %s.%s has no column %q (columns: %s)", spec.Keyspace, spec.Table, n, strings.Join(names, ", "))}
		}
		if seen[n] {
			return nil, &SourceError{Key: "columns", Column: n, Msg: fmt.Sprintf("column %q selected twice", n)}
		}
		seen[n] = true
		out = append(out, c)
	}
	return out, nil
}

// quoteIdent quotes a CQL identifier: "name", with embedded quotes doubled.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// checkWhere refuses a Where that carries clauses other than restrictions
// (they would end up in the middle of the generated statement).
func checkWhere(w string) error {
	words := cqlWords(w)
	for i, wd := range words {
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		switch {
		case wd == "allow" && next == "filtering",
			wd == "limit", wd == "order" && next == "by", wd == "group" && next == "by",
			wd == "per" && next == "partition", wd == "where", wd == "or":
			return &SourceError{Key: "where", Msg: fmt.Sprintf("where %q: give only restrictions joined by AND, without WHERE, OR, LIMIT, ORDER BY, GROUP BY, PER PARTITION LIMIT or ALLOW FILTERING (for ALLOW FILTERING, set allow_filtering = true in [stream.source])", w)}
		}
	}
	return nil
}

// cqlWords returns the lower-cased bare words of a CQL fragment, skipping
// string literals and quoted identifiers.
func cqlWords(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j + 1
		case c == '$' && i+1 < len(s) && s[i+1] == '$':
			end := strings.Index(s[i+2:], "$$")
			if end < 0 {
				return out
			}
			i += end + 4
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, strings.ToLower(s[i:j]))
			i = j
		default:
			i++
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func firstWord(s string) string {
	if w := cqlWords(s); len(w) > 0 {
		return w[0]
	}
	return ""
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
