package follow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
)

// Table names the table a follow source reads and the columns it selects.
type Table struct {
	Keyspace, Table string
	Columns         []string // "" = every column
}

// ShapeError is a table that does not have the declared shape (a
// configuration problem): Key names the follow setting at fault.
type ShapeError struct {
	Key string
	Msg string
}

func (e *ShapeError) Error() string { return e.Msg }

// CassandraQuerier runs a follow source's bucket queries on a gocql
// session. It is safe for concurrent use.
type CassandraQuerier struct {
	src   *pager.CassandraSource
	cql   string
	shard bool
	conv  []func(any) any // per bucket column: the value as the column's type wants it
}

// Resolved is what NewCassandra learned from the table: the statement,
// the type of the time column and the primary key columns.
type Resolved struct {
	Query      string
	TimeKind   TimeKind
	KeyColumns []string
}

// NewCassandra checks that the table has the shape spec declares and
// prepares its bucket query:
//
//   - the partition key is exactly the bucket columns (and the shard
//     column, if any), each of a type its format can fill;
//   - the time column is the first clustering column, a timestamp or a
//     timeuuid;
//   - every selected column exists and every primary key column is
//     selected.
//
// The statement is SELECT <columns> FROM <ks>.<table> WHERE <bucket
// columns> = ? [AND <shard> = ?] AND <time> > ? AND <time> <= ? (for a
// timeuuid, the bounds are maxTimeuuid(?) of the millisecond bounds). Shape
// problems are *ShapeError; those Cassandra reports on preparing are
// *pager.SourceError.
func NewCassandra(ctx context.Context, s *gocql.Session, t Table, b Buckets, timeColumn string, opts pager.Options) (*CassandraQuerier, Resolved, error) {
	var res Resolved
	fmts, _, err := b.compile()
	if err != nil {
		return nil, res, &ShapeError{Key: "bucket_columns", Msg: "follow: " + err.Error()}
	}
	cols, err := pager.TableColumns(ctx, s, t.Keyspace, t.Table)
	if err != nil {
		return nil, res, err
	}
	byName := map[string]pager.TableColumn{}
	var pk, ck []pager.TableColumn
	for _, c := range cols {
		byName[c.Name] = c
		switch c.Kind {
		case "partition_key":
			pk = append(pk, c)
		case "clustering":
			ck = append(ck, c)
		}
	}
	table := t.Keyspace + "." + t.Table
	var probs []error
	shape := func(key, format string, args ...any) {
		probs = append(probs, &ShapeError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	// The partition key is the bucket columns plus the shard column.
	want := map[string]bool{}
	for _, c := range b.Columns {
		want[c.Name] = true
	}
	if b.ShardColumn != "" {
		want[b.ShardColumn] = true
	}
	var have []string
	for _, c := range pk {
		have = append(have, c.Name)
		if !want[c.Name] {
			shape("bucket_columns", "follow: %s: partition key column %q is neither a bucket column nor the shard column: the partition key (%s) must be the bucket columns and the shard column", table, c.Name, strings.Join(names(pk), ", "))
		}
	}
	conv := make([]func(any) any, len(b.Columns))
	for i, bc := range b.Columns {
		c, ok := byName[bc.Name]
		switch {
		case !ok:
			shape("bucket_columns", "follow: %s has no column %q (bucket column)", table, bc.Name)
			continue
		case c.Kind != "partition_key":
			shape("bucket_columns", "follow: %s: bucket column %q is a %s column, not part of the partition key (%s)", table, bc.Name, c.Kind, strings.Join(names(pk), ", "))
			continue
		}
		f, err := converter(fmts[i], bc, c.Type)
		if err != nil {
			shape("bucket_formats", "follow: %s: %v", table, err)
		}
		conv[i] = f
	}
	if b.ShardColumn != "" {
		c, ok := byName[b.ShardColumn]
		switch {
		case !ok:
			shape("shard_column", "follow: %s has no column %q (shard column)", table, b.ShardColumn)
		case c.Kind != "partition_key":
			shape("shard_column", "follow: %s: shard column %q is not part of the partition key (%s)", table, b.ShardColumn, strings.Join(names(pk), ", "))
		case !slices.Contains([]string{"int", "smallint", "tinyint", "bigint"}, c.Type):
			shape("shard_column", "follow: %s: shard column %q is a %s, want an integer (int, smallint, tinyint, bigint)", table, b.ShardColumn, c.Type)
		}
	}
	// The time column orders the events: the first clustering column.
	tc, ok := byName[timeColumn]
	switch {
	case !ok:
		shape("time_column", "follow: %s has no column %q (time column)", table, timeColumn)
	case tc.Kind != "clustering" || tc.Position != 0:
		shape("time_column", "follow: %s: time column %q must be the first clustering column (the clustering columns are: %s)", table, timeColumn, strings.Join(names(ck), ", "))
	case tc.Type == "timestamp":
		res.TimeKind = TimeTimestamp
	case tc.Type == "timeuuid":
		res.TimeKind = TimeTimeUUID
	default:
		shape("time_column", "follow: %s: time column %q is a %s, want a timestamp or a timeuuid", table, timeColumn, tc.Type)
	}
	// The selected columns hold the primary key.
	for _, c := range append(slices.Clone(pk), ck...) {
		res.KeyColumns = append(res.KeyColumns, c.Name)
		if len(t.Columns) > 0 && !slices.Contains(t.Columns, c.Name) {
			shape("columns", "follow: %s: columns must include every primary key column (follow mode tells rows apart by it): %q is missing", table, c.Name)
		}
	}
	for _, c := range t.Columns {
		if _, ok := byName[c]; !ok {
			shape("columns", "follow: %s has no column %q", table, c)
		}
	}
	if len(probs) > 0 {
		return nil, res, errors.Join(probs...)
	}
	sel := "*"
	if len(t.Columns) > 0 {
		q := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			q[i] = quote(c)
		}
		sel = strings.Join(q, ", ")
	}
	var where []string
	for _, c := range b.Columns {
		where = append(where, quote(c.Name)+" = ?")
	}
	if b.ShardColumn != "" {
		where = append(where, quote(b.ShardColumn)+" = ?")
	}
	tq := quote(timeColumn)
	if res.TimeKind == TimeTimeUUID {
		where = append(where, tq+" > maxTimeuuid(?)", tq+" <= maxTimeuuid(?)")
	} else {
		where = append(where, tq+" > ?", tq+" <= ?")
	}
	res.Query = fmt.Sprintf("SELECT %s FROM %s.%s WHERE %s", sel, quote(t.Keyspace), quote(t.Table), strings.Join(where, " AND "))
	cq := &CassandraQuerier{cql: res.Query, shard: b.ShardColumn != "", conv: conv}
	// Prepare with the values of the bucket of now: the node checks the
	// statement, the driver every value against its marker's type.
	now := time.Now()
	sample := cq.args(Query{Bucket: bucketValues(fmts, now), Shard: 0, After: now.UnixMilli() - 1, Until: now.UnixMilli()})
	src, err := pager.NewCassandraSource(ctx, s, pager.Spec{CQL: res.Query, Args: sample}, opts)
	if err != nil {
		return nil, res, err
	}
	cq.src = src
	return cq, res, nil
}

func bucketValues(fmts []fmtKind, t time.Time) []any {
	v := make([]any, len(fmts))
	for i, f := range fmts {
		v[i] = f.value(t)
	}
	return v
}

func names(cs []pager.TableColumn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// converter checks that a bucket column's type can hold its format and
// returns the conversion of the format's value to what the driver binds.
func converter(f fmtKind, bc BucketColumn, typ string) (func(any) any, error) {
	id := func(v any) any { return v }
	ints := []string{"int", "bigint"}
	switch f.kind {
	case FormatEpoch:
		if slices.Contains(ints, typ) {
			return id, nil
		}
		return nil, fmt.Errorf("bucket column %q is a %s: format %q needs an int or a bigint", bc.Name, typ, bc.Format)
	case FormatTimestamp:
		if typ == "timestamp" {
			return id, nil
		}
		return nil, fmt.Errorf("bucket column %q is a %s: format %q needs a timestamp", bc.Name, typ, bc.Format)
	case FormatDate:
		if typ == "date" {
			return id, nil
		}
		return nil, fmt.Errorf("bucket column %q is a %s: format %q needs a date", bc.Name, typ, bc.Format)
	}
	switch {
	case typ == "text" || typ == "ascii" || typ == "varchar":
		return id, nil
	case slices.Contains(ints, typ) && Numeric(bc.Format):
		return func(v any) any {
			n, _ := strconv.ParseInt(v.(string), 10, 64) // Numeric: only digits
			return n
		}, nil
	case slices.Contains(ints, typ):
		return nil, fmt.Errorf("bucket column %q is a %s: pattern %q renders more than digits (a text column takes it)", bc.Name, typ, bc.Format)
	}
	return nil, fmt.Errorf("bucket column %q is a %s: pattern %q needs a text, ascii, int or bigint column", bc.Name, typ, bc.Format)
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Schema implements Querier.
func (q *CassandraQuerier) Schema() *abi.Schema { return q.src.Schema() }

// Statement returns the bucket query.
func (q *CassandraQuerier) Statement() string { return q.cql }

func (q *CassandraQuerier) args(x Query) []any {
	args := make([]any, 0, len(x.Bucket)+3)
	for i, v := range x.Bucket {
		if q.conv != nil && q.conv[i] != nil {
			v = q.conv[i](v)
		}
		args = append(args, v)
	}
	if q.shard {
		args = append(args, x.Shard)
	}
	return append(args, time.UnixMilli(x.After).UTC(), time.UnixMilli(x.Until).UTC())
}

// Query implements Querier.
func (q *CassandraQuerier) Query(ctx context.Context, x Query) (pager.Response, error) {
	return q.src.RequestArgs(ctx, pager.Split{Index: 0, Whole: true}, q.args(x), x.State, x.PageSize, 0)
}
