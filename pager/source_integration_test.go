package pager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
)

// The table of the build-time checks: a partition key, a clustering
// column, and regular columns of the types the cases bind.
const (
	checkTable = "srccheck"
	checkRows  = 40
	checkDDL   = "CREATE TABLE " + itKeyspace + "." + checkTable + ` (
	id int, c int, name text, u uuid, ti tinyint, n bigint, v int, tp tuple<int, text>,
	PRIMARY KEY (id, c))`
)

func loadCheck(t testing.TB, s *gocql.Session) {
	loadOnce(t, s, checkTable, checkDDL, checkRows, func(i int) (string, []any) {
		return "INSERT INTO " + itKeyspace + "." + checkTable + " (id, c, name, u, ti, n, v, tp) VALUES (?, ?, ?, ?, ?, ?, ?, (?, ?))",
			[]any{i / 4, i % 4, fmt.Sprintf("n%d", i), gocql.UUID{15: byte(i)}, int8(i), int64(i) << 33, i % 5, i, "t"}
	})
}

// TestIntegrationSourceRefusesAtBuild: everything the first page would be
// refused for is refused by NewCassandraSource, as a *SourceError whose
// text names the offending value, column or key (what `sluice check`
// relies on).
func TestIntegrationSourceRefusesAtBuild(t *testing.T) {
	s := itSession(t)
	loadCheck(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	tbl := itKeyspace + "." + checkTable
	cqlWhere := func(w string) string { return "SELECT * FROM " + tbl + " WHERE " + w }
	type want struct {
		key    string
		value  int    // SourceError.Value
		column string // SourceError.Column
		text   []string
	}
	cases := []struct {
		name   string
		spec   Spec
		splits int
		want   want
	}{
		// Query mode: bind values against the prepared markers.
		{"cql string for int", Spec{CQL: cqlWhere("id = ?"), Args: []any{"abc"}}, 1,
			want{"values", 1, "id", []string{`value 1 of values (the string "abc")`, `marker 1 of the cql ("id", CQL type int)`, `can not marshal string to int`}}},
		{"cql float for int", Spec{CQL: cqlWhere("id = ?"), Args: []any{1.5}}, 1,
			want{"values", 1, "id", []string{`value 1 of values (the float 1.5)`, `CQL type int`, `can not marshal float64 into int`}}},
		{"cql int for text", Spec{CQL: cqlWhere("id = ? AND name = ? ALLOW FILTERING"), Args: []any{int64(1), int64(7)}}, 1,
			want{"values", 2, "name", []string{`value 2 of values (the integer 7)`, `marker 2 of the cql ("name", CQL type text)`}}},
		{"cql bad uuid", Spec{CQL: cqlWhere("id = ? AND u = ? ALLOW FILTERING"), Args: []any{int64(1), "not-a-uuid"}}, 1,
			want{"values", 2, "u", []string{`value 2 of values (the string "not-a-uuid")`, `("u", CQL type uuid)`, `invalid UUID "not-a-uuid"`}}},
		{"cql int out of range", Spec{CQL: cqlWhere("id = ?"), Args: []any{int64(3_000_000_000)}}, 1,
			want{"values", 1, "id", []string{`value 1 of values (the integer 3000000000)`, `CQL type int`, `out of range`}}},
		{"cql tinyint out of range", Spec{CQL: cqlWhere("id = ? AND ti = ? ALLOW FILTERING"), Args: []any{int64(1), int64(300)}}, 1,
			want{"values", 2, "ti", []string{`value 2 of values (the integer 300)`, `("ti", CQL type tinyint)`, `out of range`}}},
		{"cql too few values", Spec{CQL: cqlWhere("id = ? AND c = ?"), Args: []any{int64(1)}}, 1,
			want{"values", 0, "", []string{`the cql has 2 ? marker(s) ("id" int, "c" int) but values has 1 value(s)`}}},
		{"cql too many values", Spec{CQL: cqlWhere("id = ?"), Args: []any{int64(1), int64(2)}}, 1,
			want{"values", 0, "", []string{`the cql has 1 ? marker(s) ("id" int) but values has 2 value(s)`}}},
		{"cql values without markers", Spec{CQL: "SELECT * FROM " + tbl, Args: []any{int64(1)}}, 1,
			want{"values", 0, "", []string{`the cql has 0 ? marker(s) but values has 1 value(s)`}}},
		{"cql whole tuple marker", Spec{CQL: cqlWhere("id = ? AND tp = ? ALLOW FILTERING"), Args: []any{int64(1), []any{1, "t"}}}, 1,
			want{"values", 2, "tp", []string{`marker 2 of the cql ("tp") binds a whole tuple<int, text>`, `(?, ?, ...)`}}},
		{"cql missing table", Spec{CQL: "SELECT * FROM " + itKeyspace + ".nosuch"}, 1,
			want{"cql", 0, "", []string{`Cassandra refused the cql "SELECT * FROM pager_it.nosuch"`, `nosuch does not exist`}}},
		{"cql missing column", Spec{CQL: "SELECT id, nosuch FROM " + tbl}, 1,
			want{"cql", 0, "", []string{`Cassandra refused the cql`, `Undefined column name nosuch`}}},
		{"cql missing column in where", Spec{CQL: cqlWhere("nosuch = ?"), Args: []any{int64(1)}}, 1,
			want{"cql", 0, "", []string{`Undefined column name nosuch`}}},
		{"cql needs filtering", Spec{CQL: cqlWhere("name = ?"), Args: []any{"n1"}}, 1,
			want{"cql", 0, "", []string{`it filters, so it needs ALLOW FILTERING at its end`}}},
		{"cql syntax", Spec{CQL: "SELECT FROM " + tbl}, 1,
			want{"cql", 0, "", []string{`Cassandra refused the cql "SELECT FROM pager_it.srccheck"`}}},
		{"cql with allow filtering", Spec{CQL: "SELECT * FROM " + tbl, AllowFiltering: true}, 1,
			want{"cql", 0, "", []string{`give either CQL or keyspace/table`}}},

		// Table mode.
		{"missing table", Spec{Keyspace: itKeyspace, Table: "nosuch"}, 1,
			want{"table", 0, "", []string{`table pager_it.nosuch does not exist`}}},
		{"missing keyspace", Spec{Keyspace: "pager_nosuch", Table: checkTable}, 1,
			want{"table", 0, "", []string{`table pager_nosuch.srccheck does not exist`}}},
		{"missing column in columns", Spec{Keyspace: itKeyspace, Table: checkTable, Columns: []string{"id", "nosuch"}}, 1,
			want{"columns", 0, "nosuch", []string{`table pager_it.srccheck has no column "nosuch" (columns: id, c, `}}},
		{"where missing column", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "nosuch = 1", AllowFiltering: true}, 1,
			want{"where", 0, "", []string{`with where "nosuch = 1"`, `Undefined column name nosuch`}}},
		{"where missing column, token ranges", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "nosuch = 1", AllowFiltering: true}, 4,
			want{"where", 0, "", []string{`with where "nosuch = 1"`, `token("id") > ?`, `Undefined column name nosuch`}}},
		{"where arg string for int", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = ?", WhereArgs: []any{"abc"}, AllowFiltering: true}, 1,
			want{"where", 1, "v", []string{`value 1 of the where's values (the string "abc")`, `marker 1 of where "v = ?" ("v", CQL type int)`}}},
		{"where arg string for int, token ranges", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = ?", WhereArgs: []any{"abc"}, AllowFiltering: true}, 4,
			want{"where", 1, "v", []string{`value 1 of the where's values (the string "abc")`, `("v", CQL type int)`}}},
		{"where arg out of range", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "id = ? AND ti = ?", WhereArgs: []any{int64(1), int64(300)}, AllowFiltering: true}, 4,
			want{"where", 2, "ti", []string{`value 2 of the where's values (the integer 300)`, `("ti", CQL type tinyint)`, `out of range`}}},
		{"where args too few", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = ?", AllowFiltering: true}, 4,
			want{"where", 0, "", []string{`where "v = ?" has 1 ? marker(s) ("v" int) but the where's values has 0 value(s)`}}},
		{"where args too many", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = ?", WhereArgs: []any{int64(1), int64(2)}, AllowFiltering: true}, 1,
			want{"where", 0, "", []string{`where "v = ?" has 1 ? marker(s) ("v" int) but the where's values has 2 value(s)`}}},
		{"where needs filtering", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = 1"}, 1,
			want{"allow_filtering", 0, "", []string{`where "v = 1" on pager_it.srccheck needs ALLOW FILTERING: set allow_filtering = true in [stream.source]`}}},
		{"where needs filtering, token ranges", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "c = ?", WhereArgs: []any{int64(1)}}, 4,
			want{"allow_filtering", 0, "", []string{`where "c = ?" on pager_it.srccheck needs ALLOW FILTERING: set allow_filtering = true in [stream.source]`}}},
		{"where conflicting with token ranges", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "token(id) > 0"}, 4,
			want{"where", 0, "", []string{`with where "token(id) > 0"`, `More than one restriction`}}},
		{"where with allow filtering", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "v = 1 ALLOW FILTERING"}, 1,
			want{"where", 0, "", []string{`where "v = 1 ALLOW FILTERING": give only restrictions`, `set allow_filtering = true in [stream.source]`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewCassandraSource(ctx, s, tc.spec, Options{Splits: tc.splits, Consistency: gocql.One})
			if err == nil {
				t.Fatalf("built a source for %q (token query %q)", src.Query(), src.TokenQuery())
			}
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("%v: a %T, want a *SourceError", err, err)
			}
			t.Log(err)
			for _, w := range tc.want.text {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q", w)
				}
			}
			if se.Key != tc.want.key || se.Value != tc.want.value || se.Column != tc.want.column {
				t.Errorf("Key %q, Value %d, Column %q; want %q, %d, %q", se.Key, se.Value, se.Column, tc.want.key, tc.want.value, tc.want.column)
			}
		})
	}
}

// TestIntegrationSourceAccepts: what is valid builds, AllowFiltering is
// honoured (and only it adds ALLOW FILTERING), and Schema is the schema
// of the pages, known before the first one.
func TestIntegrationSourceAccepts(t *testing.T) {
	s := itSession(t)
	loadCheck(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	tbl := itKeyspace + "." + checkTable
	cases := []struct {
		name     string
		spec     Spec
		splits   int
		rows     int
		cols     []string // Schema().Columns names
		types    []string // and their CQL types
		noFilter bool     // the statements carry no ALLOW FILTERING
	}{
		{"where on the partition key without filtering", Spec{Keyspace: itKeyspace, Table: checkTable, Where: "id = ?", WhereArgs: []any{3}}, 4, 4,
			[]string{"id", "c", "n", "name", "ti", "tp", "u", "v"}, []string{"int", "int", "bigint", "text", "tinyint", "tuple<int, text>", "uuid", "int"}, true},
		{"where on a regular column with allow_filtering", Spec{Keyspace: itKeyspace, Table: checkTable, Columns: []string{"v", "name"}, Where: "v = ?", WhereArgs: []any{int64(2)}, AllowFiltering: true}, 4, checkRows / 5,
			[]string{"v", "name"}, []string{"int", "text"}, false},
		{"where on a clustering column with allow_filtering, one split", Spec{Keyspace: itKeyspace, Table: checkTable, Columns: []string{"tp", "id"}, Where: "c = 1", AllowFiltering: true}, 1, checkRows / 4,
			[]string{"tp", "id"}, []string{"tuple<int, text>", "int"}, false},
		{"allow_filtering without where changes nothing", Spec{Keyspace: itKeyspace, Table: checkTable, Columns: []string{"id"}, AllowFiltering: true}, 4, checkRows,
			[]string{"id"}, []string{"int"}, true},
		{"cql with values of TOML kinds", Spec{CQL: "SELECT ti, u, n FROM " + tbl + " WHERE id = ? AND c = ? AND ti = ? ALLOW FILTERING", Args: []any{int64(2), "1", int64(9)}}, 1, 1,
			[]string{"ti", "u", "n"}, []string{"tinyint", "uuid", "bigint"}, false},
		{"cql in list", Spec{CQL: "SELECT id FROM " + tbl + " WHERE id IN ?", Args: []any{[]any{int64(0), int64(1)}}}, 1, 8,
			[]string{"id"}, []string{"int"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Stream: "accepts", PageSize: 3, Splits: tc.splits, Consistency: gocql.One}
			src, err := NewCassandraSource(ctx, s, tc.spec, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noFilter == (strings.Contains(src.Query(), "ALLOW FILTERING") || strings.Contains(src.TokenQuery(), "ALLOW FILTERING")) {
				t.Errorf("ALLOW FILTERING in %q / %q, want it: %t", src.Query(), src.TokenQuery(), !tc.noFilter)
			}
			schema := src.Schema()
			var names, types []string
			for _, c := range schema.Columns {
				names = append(names, c.Name)
				types = append(types, c.Type.String())
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.cols) || fmt.Sprint(types) != fmt.Sprint(tc.types) {
				t.Fatalf("Schema: %v %v, want %v %v", names, types, tc.cols, tc.types)
			}
			var pages []*abi.Page
			rows := 0
			scanSpec(t, s, tc.spec, opts, nil, func(d Delivery) {
				pages = append(pages, d.Page)
				rows += d.Page.NumRows()
			})
			if rows != tc.rows {
				t.Fatalf("%d rows, want %d", rows, tc.rows)
			}
			for _, p := range pages {
				if fmt.Sprint(p.Schema.Columns) != fmt.Sprint(schema.Columns) {
					t.Fatalf("page %d schema %v, Schema() %v", p.Number, p.Schema.Columns, schema.Columns)
				}
			}
			// A page of the source carries the very Schema value.
			plan, err := src.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := src.Request(ctx, Request{Split: plan.Splits[0], PageSize: 1, Page: 1})
			if err != nil {
				t.Fatal(err)
			}
			b := abi.NewPageBuilder(nil, 0, 0)
			if err := resp.Decode(ctx, b); err != nil {
				t.Fatal(err)
			}
			if b.Page().Schema != schema {
				t.Fatal("a page's schema is not the source's Schema()")
			}
		})
	}
}

// A prepare that fails for another reason than the statement (no
// connection, a timeout) is not a configuration problem.
func TestRefusedOnlyClassifiesCassandraRefusals(t *testing.T) {
	src := &CassandraSource{wholeStmt: "SELECT * FROM ks.t", query: "SELECT * FROM ks.t"}
	for _, cause := range []error{gocql.ErrNoConnections, context.DeadlineExceeded, &gocql.RequestErrReadTimeout{}} {
		err := src.refused(Spec{Keyspace: "ks", Table: "t"}, src.wholeStmt, cause)
		var se *SourceError
		if errors.As(err, &se) || !errors.Is(err, cause) {
			t.Errorf("%v: got %v (%T), want it wrapped, not a *SourceError", cause, err, err)
		}
	}
}
