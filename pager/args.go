package pager

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// This file is the seam a source built on CassandraSource (follow mode,
// pager/follow) reads through: the table's columns, and pages of a
// CQL-mode statement with bind values chosen per request.

// TableColumn is one column of a table, as system_schema.columns has it.
type TableColumn struct {
	Name     string
	Kind     string // partition_key, clustering, static, regular
	Position int    // within the partition key or the clustering columns
	Type     string // CQL type, e.g. "timestamp", "frozen<list<int>>"
}

// TableColumns returns the columns of a table in SELECT * order, the order
// sluice pages them: partition key and clustering columns by position, then
// static, then regular columns, each group by name. A missing table is a
// *SourceError. Follow mode checks a table's shape with it, and `sluice
// plugin schema` writes it as a fixture schema.
func TableColumns(ctx context.Context, s *gocql.Session, ks, table string) ([]TableColumn, error) {
	cols, err := tableColumns(ctx, s, ks, table)
	if err != nil {
		return nil, err
	}
	out := make([]TableColumn, len(cols))
	for i, c := range cols {
		out[i] = TableColumn{Name: c.name, Kind: c.kind, Position: c.position, Type: c.typ}
	}
	return out, nil
}

// RequestArgs sends one page of a CQL-mode source's statement bound to
// args instead of the values the source was built with (which checked the
// statement and the types of its markers): see Source.Request for the
// contract of the Response.
func (s *CassandraSource) RequestArgs(ctx context.Context, split Split, args []any, state []byte, pageSize int, page uint64) (Response, error) {
	if !s.cqlMode {
		return nil, fmt.Errorf("pager: RequestArgs needs a CQL-mode source")
	}
	return s.send(ctx, s.wholeStmt, args, split, state, pageSize, page)
}
