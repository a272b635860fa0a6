package pager

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"net"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"gopkg.in/inf.v0"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/testutil"
)

// Every CQL type is read back byte-identical: each cell the pager captures
// equals (1) the bytes gocql's Marshal produces for the value inserted and
// (2) the bytes the driver hands to a plain Iter.Scan of the same row.

const typesDDL = `CREATE TABLE ` + itKeyspace + `.types (
	id int PRIMARY KEY,
	a ascii, t text, vc varchar, i int, bi bigint, si smallint, ti tinyint, vi varint, dec decimal,
	f float, d double, bo boolean, bl blob, u uuid, tu timeuuid, ts timestamp, dt date, tm time,
	du duration, ip inet,
	l list<int>, s set<text>, m map<text, int>,
	fl frozen<list<frozen<set<int>>>>, fm frozen<map<text, frozen<list<int>>>>,
	lm list<frozen<map<int, text>>>, mt map<int, frozen<tuple<int, text>>>,
	tp tuple<int, text, frozen<list<int>>>,
	ud frozen<addr>, un addr,
	vf vector<float, 3>, vt vector<text, 2>,
	el frozen<list<int>>
)`

// cqlMap encodes a map value from its entries, in Cassandra's order (the
// caller gives them sorted by key), since Go maps have no order.
func cqlMap(t testing.TB, kt, vt gocql.TypeInfo, kvs ...any) []byte {
	t.Helper()
	out := binary.BigEndian.AppendUint32(nil, uint32(len(kvs)/2))
	for i, v := range kvs {
		ti := kt
		if i%2 == 1 {
			ti = vt
		}
		b, err := gocql.Marshal(ti, v)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			out = binary.BigEndian.AppendUint32(out, math.MaxUint32)
			continue
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out
}

func mustMarshal(t testing.TB, ti gocql.TypeInfo, v any) []byte {
	t.Helper()
	b, err := gocql.Marshal(ti, v)
	if err != nil {
		t.Fatalf("marshal %v as %v: %v", v, ti, err)
	}
	return b
}

// rawCells reads one row with a plain Iter.Scan into raw destinations (no
// pager): the second path. Tuple columns are skipped (Iter.Scan expands
// them into one destination per component; a nil destination would skip
// only one, so they get discarding ones).
func rawCells(t testing.TB, s *gocql.Session, id int) map[string][]byte {
	t.Helper()
	it := s.Query("SELECT * FROM "+itKeyspace+".types WHERE id = ?", id).Iter()
	cols := it.Columns()
	out := map[string][]byte{}
	var dests []any
	for _, c := range cols {
		if tt, ok := c.TypeInfo.(gocql.TupleTypeInfo); ok {
			for range tt.Elems {
				dests = append(dests, discard{})
			}
			continue
		}
		dests = append(dests, &rawDest{name: c.Name, out: out})
	}
	if !it.Scan(dests...) {
		t.Fatalf("row %d not found: %v", id, it.Close())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

type discard struct{}

func (discard) UnmarshalCQL(gocql.TypeInfo, []byte) error { return nil }

type rawDest struct {
	name string
	out  map[string][]byte
}

func (d *rawDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	if data != nil {
		data = bytes.Clone(data)
	}
	d.out[d.name] = data
	return nil
}

func TestIntegrationEveryTypeByteIdentical(t *testing.T) {
	s := itSession(t)
	defer leakCheck(t)()
	itSetup.Lock()
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+itKeyspace+".types")
	testutil.Exec(t, s, "DROP TYPE IF EXISTS "+itKeyspace+".addr")
	testutil.Exec(t, s, "CREATE TYPE "+itKeyspace+".addr (street text, zip int, tags frozen<set<text>>, loc frozen<tuple<double, double>>)")
	testutil.Exec(t, s, typesDDL)
	itSetup.Unlock()

	// Column types as the driver sees them.
	it := s.Query("SELECT * FROM " + itKeyspace + ".types").Iter()
	ti := map[string]gocql.TypeInfo{}
	for _, c := range it.Columns() {
		ti[c.Name] = c.TypeInfo
	}
	it.Close()

	uuid, _ := gocql.ParseUUID("3f6a1c2e-9b1d-4c8e-8f00-112233445566")
	tuuid, _ := gocql.ParseUUID("e1b3a3d0-1dd2-11ef-9262-0242ac120002")
	ts := time.UnixMilli(1717171717171).UTC()
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	addr := map[string]any{"street": "1 Main St", "zip": 12345, "tags": []string{"a", "b"}, "loc": []any{1.5, -2.25}}
	values := map[string]any{
		"a": "ascii", "t": "téxt ✓", "vc": "varchar", "i": int32(-42), "bi": int64(math.MinInt64), "si": int16(-300), "ti": int8(-7),
		"vi": new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 100)), "dec": inf.NewDec(-123456789, 4),
		"f": float32(3.25), "d": math.Pi, "bo": true, "bl": []byte{0, 1, 2, 0xFF}, "u": uuid, "tu": tuuid, "ts": ts,
		"dt": day, "tm": 13*time.Hour + 14*time.Minute + 15*time.Second + 16, "du": gocql.Duration{Months: -14, Days: -3, Nanoseconds: -1_500_000_001},
		"ip": net.ParseIP("10.1.2.3").To4(),
		"l":  []int{3, 1, 2}, "s": []string{"alpha", "beta"},
		"fl": [][]int{{1, 2}, {}, {3}}, "lm": []map[int]string{{1: "one"}},
		"ud": addr,
		"vf": []float32{1, -2.5, 3}, "vt": []string{"x", "yz"},
		"el": []int{},
	}
	insert := func(id int, cols []string, extra string, extraVals ...any) {
		stmt := "INSERT INTO " + itKeyspace + ".types (id"
		marks := "?"
		args := []any{id}
		for _, c := range cols {
			stmt += ", " + c
			marks += ", ?"
			args = append(args, values[c])
		}
		if extra != "" {
			stmt += ", " + extra
		}
		stmt += ") VALUES (" + marks
		if extra != "" {
			stmt += ", " + extraVals[0].(string)
			args = append(args, extraVals[1:]...)
		}
		testutil.Exec(t, s, stmt+")", args...)
	}
	var all []string
	for c := range values {
		all = append(all, c)
	}
	// Row 1: every column set (m, fm, mt and tp are bound component-wise or as literals).
	// gocql v2.1.2 panics marshalling a nil tuple field of a UDT: un is a literal.
	insert(1, all, "m, fm, mt, un, tp", "{'k1': 1, 'k2': 2}, {'a': [1], 'b': []}, {1: (10, 'ten'), 2: (20, null)}, {street: '2 Side St', zip: null}, (?, ?, ?)",
		int32(7), "x", []int{1, 2})
	// Row 2: only the key: every other column NULL.
	testutil.Exec(t, s, "INSERT INTO "+itKeyspace+".types (id) VALUES (2)")
	// Row 3: empty values (not NULL), and a tuple of NULLs.
	testutil.Exec(t, s, "INSERT INTO "+itKeyspace+".types (id, a, t, vc, bl, i, bi, el, tp) VALUES (3, '', '', '', 0x, blobAsInt(0x), blobAsBigint(0x), [], (null, null, null))")
	// Row 4: other extremes, and a tuple with some NULLs.
	testutil.Exec(t, s, "INSERT INTO "+itKeyspace+".types (id, i, ip, vi, dec, f, d, tp) VALUES (4, ?, ?, ?, ?, ?, ?, (1, null, null))",
		int32(math.MaxInt32), net.ParseIP("2001:db8::1"), big.NewInt(0), inf.NewDec(0, 0), float32(math.Inf(-1)), math.NaN())

	tupleBytes := func(elems ...[]byte) []byte {
		var out []byte
		for _, e := range elems {
			if e == nil {
				out = binary.BigEndian.AppendUint32(out, math.MaxUint32)
				continue
			}
			out = binary.BigEndian.AppendUint32(out, uint32(len(e)))
			out = append(out, e...)
		}
		return out
	}
	tpT := ti["tp"].(gocql.TupleTypeInfo)
	want := map[int]map[string][]byte{1: {}, 2: {}, 3: {}, 4: {}}
	for c, v := range values {
		want[1][c] = mustMarshal(t, ti[c], v)
	}
	mT := ti["m"].(gocql.CollectionType)
	want[1]["m"] = cqlMap(t, mT.Key, mT.Elem, "k1", 1, "k2", 2)
	fmT := ti["fm"].(gocql.CollectionType)
	want[1]["fm"] = cqlMap(t, fmT.Key, fmT.Elem, "a", []int{1}, "b", []int{})
	mtT := ti["mt"].(gocql.CollectionType)
	want[1]["mt"] = cqlMap(t, mtT.Key, mtT.Elem, 1, []any{10, "ten"}, 2, []any{20, nil})
	want[1]["un"] = tupleBytes([]byte("2 Side St"), nil, nil, nil) // a UDT value is encoded like a tuple
	want[1]["tp"] = tupleBytes(mustMarshal(t, tpT.Elems[0], 7), mustMarshal(t, tpT.Elems[1], "x"), mustMarshal(t, tpT.Elems[2], []int{1, 2}))
	for c := range ti {
		if c != "id" {
			want[2][c] = nil
		}
	}
	for c := range want[2] {
		want[3][c], want[4][c] = nil, nil
	}
	for _, c := range []string{"a", "t", "vc", "bl", "i", "bi"} {
		want[3][c] = []byte{}
	}
	want[3]["el"] = mustMarshal(t, ti["el"], []int{})
	want[3]["tp"] = tupleBytes(nil, nil, nil)
	want[4]["i"] = mustMarshal(t, ti["i"], int32(math.MaxInt32))
	want[4]["ip"] = mustMarshal(t, ti["ip"], net.ParseIP("2001:db8::1"))
	want[4]["vi"] = mustMarshal(t, ti["vi"], big.NewInt(0))
	want[4]["dec"] = mustMarshal(t, ti["dec"], inf.NewDec(0, 0))
	want[4]["f"] = mustMarshal(t, ti["f"], float32(math.Inf(-1)))
	want[4]["d"] = mustMarshal(t, ti["d"], math.NaN())
	want[4]["tp"] = tupleBytes(mustMarshal(t, tpT.Elems[0], 1), nil, nil)

	// The rows through the pager (table mode, 3 splits, page size 1 so
	// every row is its own page).
	rows := map[int]abi.Row{}
	var schema *abi.Schema
	res, p := runScanPages(t, s, Spec{Keyspace: itKeyspace, Table: "types"}, Options{Stream: "types", PageSize: 1, Splits: 3, Consistency: gocql.One})
	for _, pg := range res {
		if err := pg.Validate(); err != nil {
			t.Fatal(err)
		}
		dec, err := abi.DecodePage(pg.AppendEncoded(nil))
		if err != nil {
			t.Fatalf("page does not survive the ABI encoding: %v", err)
		}
		schema = dec.Schema
		for _, r := range dec.Rows() {
			idc, _ := r.Cell(0)
			rows[int(int32(binary.BigEndian.Uint32(idc)))] = r
		}
	}
	_ = p
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for id := 1; id <= 4; id++ {
		raw := rawCells(t, s, id)
		for col, w := range want[id] {
			ci := schema.Index(col)
			if ci < 0 {
				t.Fatalf("column %s missing from the page schema %v", col, schema)
			}
			got, null := rows[id].Cell(ci)
			if null != (w == nil) || !bytes.Equal(got, w) {
				t.Errorf("row %d column %s (%s): got %x (null %v), want %x (null %v)", id, col, schema.Columns[ci].Type, got, null, w, w == nil)
			}
			if r, ok := raw[col]; ok && (null != (r == nil) || !bytes.Equal(got, r)) {
				t.Errorf("row %d column %s: pager %x, plain Iter.Scan %x", id, col, got, r)
			}
		}
	}
	// Types as the ABI sees them.
	udt := abi.UDTOf(itKeyspace, "addr", []string{"street", "zip", "tags", "loc"},
		[]abi.Type{{ID: abi.TypeVarchar}, {ID: abi.TypeInt}, abi.SetOf(abi.Type{ID: abi.TypeVarchar}), abi.TupleOf(abi.Type{ID: abi.TypeDouble}, abi.Type{ID: abi.TypeDouble})})
	for col, wt := range map[string]abi.Type{
		"vf": abi.VectorOf(abi.Type{ID: abi.TypeFloat}, 3),
		"vt": abi.VectorOf(abi.Type{ID: abi.TypeVarchar}, 2),
		"fl": abi.ListOf(abi.SetOf(abi.Type{ID: abi.TypeInt})),
		"mt": abi.MapOf(abi.Type{ID: abi.TypeInt}, abi.TupleOf(abi.Type{ID: abi.TypeInt}, abi.Type{ID: abi.TypeVarchar})),
		"tp": abi.TupleOf(abi.Type{ID: abi.TypeInt}, abi.Type{ID: abi.TypeVarchar}, abi.ListOf(abi.Type{ID: abi.TypeInt})),
		"ud": udt, "un": udt, "du": {ID: abi.TypeDuration}, "tu": {ID: abi.TypeTimeUUID}, "vc": {ID: abi.TypeVarchar}, "a": {ID: abi.TypeASCII},
	} {
		if got := schema.Columns[schema.Index(col)].Type; !got.Equal(wt) {
			t.Errorf("column %s: type %v, want %v", col, got, wt)
		}
	}

	// CQL mode cannot probe tuples: a tuple of NULLs reads as NULL there.
	cqlPages, _ := runScanPages(t, s, Spec{CQL: "SELECT id, tp FROM " + itKeyspace + ".types"}, Options{Stream: "types-cql", PageSize: 10, Consistency: gocql.One})
	for _, pg := range cqlPages {
		for _, r := range pg.Rows() {
			idc, _ := r.Cell(0)
			id := int(int32(binary.BigEndian.Uint32(idc)))
			got, null := r.Cell(1)
			w := want[id]["tp"]
			if id == 3 {
				w = nil // documented: (null, null, null) is indistinguishable from NULL through Iter.Scan
			}
			if null != (w == nil) || !bytes.Equal(got, w) {
				t.Errorf("CQL mode row %d tp: got %x (null %v), want %x", id, got, null, w)
			}
		}
	}
}

// An empty value that is the last cell of the response frame is still
// empty, not NULL (the driver slices it out of the frame buffer).
func TestIntegrationEmptyLastCell(t *testing.T) {
	s := itSession(t)
	defer leakCheck(t)()
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+itKeyspace+".lastcell (id int PRIMARY KEY, z blob)")
	testutil.Exec(t, s, "INSERT INTO "+itKeyspace+".lastcell (id, z) VALUES (1, 0x)")
	pages, _ := runScanPages(t, s, Spec{CQL: "SELECT id, z FROM " + itKeyspace + ".lastcell WHERE id = ?", Args: []any{1}}, Options{Stream: "lastcell", Consistency: gocql.One})
	if len(pages) != 1 || pages[0].NumRows() != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	if c, null := pages[0].Row(0).Cell(1); null || len(c) != 0 {
		t.Fatalf("last cell %x (null %v), want empty, not null", c, null)
	}
}

func TestIntegrationCounter(t *testing.T) {
	s := itSession(t)
	defer leakCheck(t)()
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+itKeyspace+".counters (id int PRIMARY KEY, c counter)")
	testutil.Exec(t, s, "TRUNCATE "+itKeyspace+".counters")
	testutil.Exec(t, s, "UPDATE "+itKeyspace+".counters SET c = c + 5 WHERE id = 1")
	testutil.Exec(t, s, "UPDATE "+itKeyspace+".counters SET c = c - 9 WHERE id = 1")
	pages, _ := runScanPages(t, s, Spec{Keyspace: itKeyspace, Table: "counters"}, Options{Stream: "counters", Consistency: gocql.One})
	var got []byte
	for _, pg := range pages {
		if pg.Schema.Columns[1].Type.ID != abi.TypeCounter {
			t.Fatalf("counter column typed %v", pg.Schema.Columns[1].Type)
		}
		for _, r := range pg.Rows() {
			got, _ = r.Cell(1)
		}
	}
	if want := mustMarshal(t, gocql.NewNativeType(4, gocql.TypeBigInt, ""), int64(-4)); !bytes.Equal(got, want) {
		t.Fatalf("counter cell %x, want %x", got, want)
	}
}

// runScanPages pages a spec to the end and returns its pages.
func runScanPages(t *testing.T, s *gocql.Session, spec Spec, opts Options) ([]*abi.Page, *Pager) {
	t.Helper()
	var out []*abi.Page
	p := scanSpec(t, s, spec, opts, nil, func(d Delivery) { out = append(out, d.Page) })
	return out, p
}
