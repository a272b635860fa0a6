package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/cqltype"
	"github.com/sluicehq/sluice/internal/testutil"
)

// rawCapture captures a cell's bytes as the server sent them.
type rawCapture struct{ b []byte }

func (r *rawCapture) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	if data == nil {
		r.b = nil
	} else {
		r.b = append([]byte{}, data...)
	}
	return nil
}

// readRaw reads a query's rows as a page of raw cells, with the schema from
// the result metadata. gocql's Scan explodes a top-level tuple column into
// one destination per component, so a tuple cell is put back together from
// its components (a null tuple therefore reads as a tuple of nulls; the
// sink itself writes a null tuple as null, see TestCassandraSinkNullTuple).
func readRaw(t *testing.T, s *gocql.Session, stmt string) *abi.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	iter := s.Query(stmt).WithContext(ctx).Iter()
	var (
		cols  []abi.Column
		width []int // destinations per column
		dests []any
	)
	for _, c := range iter.Columns() {
		typ, err := cqltype.FromGocql(c.TypeInfo)
		if err != nil {
			t.Fatalf("column %s: %v", c.Name, err)
		}
		cols = append(cols, abi.Column{Name: c.Name, Type: typ})
		n := 1
		if typ.ID == abi.TypeTuple {
			n = len(typ.Elems)
		}
		width = append(width, n)
		for range n {
			dests = append(dests, &rawCapture{})
		}
	}
	b := abi.NewPageBuilder(abi.NewSchema(cols...), 1, 0)
	for iter.Scan(dests...) {
		d := 0
		for c := range cols {
			if cols[c].Type.ID != abi.TypeTuple {
				b.AppendCell(dests[d].(*rawCapture).b)
				d++
				continue
			}
			cell := []byte{}
			for range width[c] {
				e := dests[d].(*rawCapture).b
				d++
				if e == nil {
					cell = append(cell, 0xff, 0xff, 0xff, 0xff)
					continue
				}
				cell = binary.BigEndian.AppendUint32(cell, uint32(len(e)))
				cell = append(cell, e...)
			}
			b.AppendCell(cell)
		}
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	return b.Page()
}

// TestCassandraSinkNullTuple checks that a null tuple, a tuple of nulls and
// an empty value are written as such (read back with SELECT JSON, which
// tells them apart).
func TestCassandraSinkNullTuple(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, fmt.Sprintf("DROP TABLE IF EXISTS %s.tt", ks))
	testutil.Exec(t, s, fmt.Sprintf("CREATE TABLE %s.tt (k int PRIMARY KEY, tup tuple<int, text>, i int)", ks))
	ctx := context.Background()
	sk, err := NewCassandra(ctx, "n/tt", s, ks, "tt", CassandraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	schema := abi.NewSchema(col("k", tInt), col("tup", abi.TupleOf(tInt, tText)), col("i", tInt))
	nulls := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	p := page(t, 1, schema,
		[][]byte{abi.AppendInt(nil, 1), nil, nil},
		[][]byte{abi.AppendInt(nil, 2), nulls, []byte{}},
	)
	if err := sk.Write(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := sk.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{1: `{"k": 1, "tup": null, "i": null}`, 2: `{"k": 2, "tup": [null, null], "i": ""}`}
	for k, w := range want {
		var got string
		if err := s.Query(fmt.Sprintf("SELECT JSON k, tup, i FROM %s.tt WHERE k = ?", ks), k).WithContext(ctx).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("row %d: %s, want %s", k, got, w)
		}
	}
}

// TestCassandraSinkRoundTrip writes every CQL type through the sink and
// checks that the target table holds byte-identical cells.
func TestCassandraSinkRoundTrip(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, fmt.Sprintf(testutil.AllTypesUDT, ks))
	for _, tb := range []string{"src", "dst"} {
		testutil.Exec(t, s, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s", ks, tb))
		testutil.Exec(t, s, fmt.Sprintf("CREATE TABLE %s.%s (%s)", ks, tb, testutil.AllTypesColumns))
	}
	for _, r := range testutil.AllTypesRows {
		testutil.Exec(t, s, fmt.Sprintf(testutil.AllTypesInsert, ks)+r)
	}

	src := readRaw(t, s, fmt.Sprintf("SELECT * FROM %s.src", ks))
	if src.NumRows() != len(testutil.AllTypesRows) {
		t.Fatalf("read %d rows, want %d", src.NumRows(), len(testutil.AllTypesRows))
	}
	ctx := context.Background()
	sk, err := NewCassandra(ctx, "rt/copy", s, ks, "dst", CassandraOptions{Concurrency: 3, Consistency: gocql.One})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	if err := sk.Restore(nil); err != nil {
		t.Fatal(err)
	}
	if err := sk.Write(ctx, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := sk.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if sk.Position() != nil {
		t.Errorf("Position = %x", sk.Position())
	}

	dst := readRaw(t, s, fmt.Sprintf("SELECT * FROM %s.dst", ks))
	if !src.Schema.Equal(dst.Schema) {
		t.Fatalf("schemas differ:\n%s\n%s", src.Schema, dst.Schema)
	}
	if got, want := rowsByID(t, dst), rowsByID(t, src); len(got) != len(want) {
		t.Fatalf("dst has %d rows, src %d", len(got), len(want))
	} else {
		for id, w := range want {
			g := got[id]
			for c := range w {
				if (g[c] == nil) != (w[c] == nil) || !bytes.Equal(g[c], w[c]) {
					t.Errorf("row %d, column %s: got %x (null %v), want %x (null %v)", id, src.Schema.Columns[c].Name, g[c], g[c] == nil, w[c], w[c] == nil)
				}
			}
		}
	}

	// abiType converted every column's type.
	want := "id int, a ascii, bi bigint, bl blob, bo boolean, da date, db double, de decimal, du duration, fl float, " +
		"fz list<frozen<map<int, text>>>, i int, ip inet, l list<int>, m map<text, bigint>, " +
		"nested map<text, frozen<list<frozen<KS.addr>>>>, s set<text>, si smallint, ti time, tn tinyint, ts timestamp, " +
		"tu timeuuid, tup tuple<int, text, frozen<list<double>>>, tx text, u uuid, ud KS.addr, udn KS.addr, " +
		"vf vector<float, 3>, vi varint, vt vector<text, 2>"
	if got, want := src.Schema.String(), strings.ReplaceAll(want, "KS", ks); got != want {
		t.Errorf("schema:\n%s\nwant:\n%s", got, want)
	}
}

func rowsByID(t *testing.T, p *abi.Page) map[int32][][]byte {
	t.Helper()
	out := map[int32][][]byte{}
	for i := range p.NumRows() {
		cells := p.Row(i).AppendCells(nil)
		id, err := abi.DecodeInt(cells[0])
		if err != nil {
			t.Fatal(err)
		}
		out[id] = cells
	}
	return out
}

// TestCassandraSinkErrors checks the errors of a misconfigured or failing
// cassandra sink: each names the table and, for failed rows, the row.
func TestCassandraSinkErrors(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, fmt.Sprintf("DROP TABLE IF EXISTS %s.kv", ks))
	testutil.Exec(t, s, fmt.Sprintf("CREATE TABLE %s.kv (k int PRIMARY KEY, v text)", ks))
	ctx := context.Background()

	if _, err := NewCassandra(ctx, "e/missing", s, ks, "nope", CassandraOptions{}); err == nil || !strings.Contains(err.Error(), "reading the columns of "+ks+".nope") {
		t.Errorf("missing table: %v", err)
	}

	for _, tc := range []struct {
		schema *abi.Schema
		row    [][]byte
		want   string
	}{
		{abi.NewSchema(col("k", tInt), col("extra", tText)), [][]byte{abi.AppendInt(nil, 1), []byte("x")}, `table ` + ks + `.kv has no column "extra"`},
		{abi.NewSchema(col("k", tInt), col("v", tBigint)), [][]byte{abi.AppendInt(nil, 1), abi.AppendBigint(nil, 1)}, `column "v" is text in ` + ks + `.kv but bigint in the output`},
		{abi.NewSchema(col("k", tInt), col("v", tText)), [][]byte{abi.AppendInt(nil, 1), {0xff, 0xfe}}, `INSERT INTO ` + ks + `.kv, page 9, row 1:`},
	} {
		sk, err := NewCassandra(ctx, "e/kv", s, ks, "kv", CassandraOptions{Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		p := page(t, 9, tc.schema, [][]byte{abi.AppendInt(nil, 0), nil}, tc.row)
		err = sk.Write(ctx, p, nil)
		if err == nil {
			err = sk.Flush(ctx)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error = %v, want it to contain %q", err, tc.want)
		}
		// The sink is broken from now on.
		if err := sk.Flush(ctx); err == nil {
			t.Error("Flush after a failure succeeded")
		}
		if err := sk.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCassandraSinkConcurrency writes many rows with a selection through a
// few in-flight INSERTs and checks the table holds exactly the selected
// rows.
func TestCassandraSinkConcurrency(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, fmt.Sprintf("DROP TABLE IF EXISTS %s.kv", ks))
	testutil.Exec(t, s, fmt.Sprintf("CREATE TABLE %s.kv (k int PRIMARY KEY, v text)", ks))
	ctx := context.Background()
	sk, err := NewCassandra(ctx, "c/kv", s, ks, "kv", CassandraOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	schema := abi.NewSchema(col("k", tInt), col("v", tText))
	const pages, perPage = 4, 250
	for n := range pages {
		var rows [][][]byte
		sel := make([]byte, abi.BitmapLen(perPage))
		for i := range perPage {
			k := n*perPage + i
			rows = append(rows, [][]byte{abi.AppendInt(nil, int32(k)), []byte(fmt.Sprint("v", k))})
			if k%2 == 0 {
				abi.BitmapSet(sel, i)
			}
		}
		if err := sk.Write(ctx, page(t, uint64(n+1), schema, rows...), sel); err != nil {
			t.Fatal(err)
		}
	}
	if err := sk.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	got := readRaw(t, s, fmt.Sprintf("SELECT k, v FROM %s.kv", ks))
	if got.NumRows() != pages*perPage/2 {
		t.Fatalf("table has %d rows, want %d", got.NumRows(), pages*perPage/2)
	}
	for k, cells := range rowsByID(t, got) {
		if k%2 != 0 || string(cells[1]) != fmt.Sprint("v", k) {
			t.Errorf("row %d = %q", k, cells[1])
		}
	}
}

// TestCassandraSinkStaticOnlyAndCounter: a static-only partition (a scan
// returns it with null clustering columns) is written as an INSERT of its
// key and static columns, next to ordinary rows, as the Python driver
// reads back; a counter table is refused when the sink opens.
func TestCassandraSinkStaticOnlyAndCounter(t *testing.T) {
	ctx := context.Background()
	s := testutil.Session(t)
	py := testutil.Python(t)
	ks := testutil.Keyspace(t, s)
	for _, tb := range []string{"st_src", "st_dst", "cnt"} {
		testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+"."+tb)
	}
	for _, tb := range []string{"st_src", "st_dst"} {
		testutil.Exec(t, s, "CREATE TABLE "+ks+"."+tb+" (pk int, ck int, st text static, v text, PRIMARY KEY (pk, ck))")
	}
	testutil.Exec(t, s, "INSERT INTO "+ks+".st_src (pk, st) VALUES (1, 'only static')")
	testutil.Exec(t, s, "INSERT INTO "+ks+".st_src (pk, ck, st, v) VALUES (2, 1, 'two', 'a')")
	testutil.Exec(t, s, "INSERT INTO "+ks+".st_src (pk, ck, v) VALUES (2, 2, 'b')")
	sk, err := NewCassandra(ctx, "st/copy", s, ks, "st_dst", CassandraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	p := readRaw(t, s, "SELECT pk, ck, st, v FROM "+ks+".st_src")
	if err := sk.(*cassandraSink).CheckSchema(ctx, p.Schema); err != nil {
		t.Fatal(err)
	}
	if err := sk.Write(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := sk.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(table string) string {
		out, err := exec.Command(py, "../setup/testdata/readback.py", testutil.Host(), ks, table).CombinedOutput()
		if err != nil {
			t.Fatalf("readback %s: %v\n%s", table, err, out)
		}
		return string(out)
	}
	src, dst := read("st_src"), read("st_dst")
	if !strings.Contains(src, `"only static"`) || src != dst {
		t.Fatalf("copy differs from the source (Python driver):\nsource:\n%s\ncopy:\n%s", src, dst)
	}

	// A static-only row that sets a regular column is refused, naming it.
	b := abi.NewPageBuilder(p.Schema, 9, 0)
	b.AppendCell([]byte{0, 0, 0, 4})
	b.AppendNull()
	b.AppendCell([]byte("s"))
	b.AppendCell([]byte("v"))
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	sk2, err := NewCassandra(ctx, "st/bad", s, ks, "st_dst", CassandraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sk2.Close()
	if err := sk2.Write(ctx, b.Page(), nil); err == nil || !strings.Contains(err.Error(), `regular column "v"`) {
		t.Fatalf("static-only row with a regular value: got %v", err)
	}

	testutil.Exec(t, s, "CREATE TABLE "+ks+".cnt (k int PRIMARY KEY, c counter)")
	if _, err := NewCassandra(ctx, "c/cnt", s, ks, "cnt", CassandraOptions{}); err == nil || !strings.Contains(err.Error(), "counter table") {
		t.Fatalf("counter table: got %v, want a refusal", err)
	}
}
