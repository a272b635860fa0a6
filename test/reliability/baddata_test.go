package reliability

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
)

// Awkward data streamed to a file sink through a plugin and compared, row
// by row and cell by cell, with what CQL returns for the same rows: very
// large cells (10 MB blobs), wide rows (200 columns), deeply nested frozen
// collections. The expected JSON is built here from gocql's values by the
// rules of docs/json.md, independently of sluice's renderer.

// dataVersion changes when the content of these tables changes.
const dataVersion = 1

// runTable runs sluice over ks.table (page size ps, through the
// passthrough plugin, with the plugin memory limit mem) to a JSONL file and
// returns the file's content.
func runTable(t *testing.T, table string, ps int, mem string) []byte {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	path := cfg{Streams: []streamCfg{{Name: table, Table: table, PageSize: ps,
		Plugins: []pluginCfg{{Path: fixture("passthrough"), MemoryLimit: mem}},
		Sinks:   []sinkCfg{{Format: "jsonl", Path: out}}}}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	return readFile(t, out)
}

// streamTable is runTable with the rows decoded and keyed by their "id".
func streamTable(t *testing.T, table string, ps int, mem string) map[int]map[string]any {
	t.Helper()
	rows := map[int]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(runTable(t, table, ps, mem)))
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var row map[string]any
		if err := d.Decode(&row); err != nil {
			t.Fatalf("output line does not parse: %v: %.200s", err, sc.Text())
		}
		id, err := row["id"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("id %v: %v", row["id"], err)
		}
		if _, dup := rows[int(id)]; dup {
			t.Fatalf("row %d written twice", id)
		}
		rows[int(id)] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// normalize turns a Go value into what its JSON decodes to with UseNumber,
// for comparison with sluice's output.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func compareRow(t *testing.T, id int, got map[string]any, want map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("row %d: %d columns, want %d", id, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("row %d: column %s missing", id, k)
			continue
		}
		if !reflect.DeepEqual(g, normalize(t, w)) {
			gs, _ := json.Marshal(g)
			ws, _ := json.Marshal(w)
			t.Errorf("row %d column %s:\n got %.300s\nwant %.300s", id, k, gs, ws)
		}
	}
}

// TestBigCells: three 10 MB blobs (and an empty and a null one), two per
// page, so pages of 20 MB cross the plugin boundary.
func TestBigCells(t *testing.T) {
	s := session(t)
	const table = "big_blobs"
	const n = 3
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+ks+"."+table+" (id int PRIMARY KEY, b blob, size int)")
	if loaded(t, table) != [2]int{n + 2, dataVersion} {
		testutil.Exec(t, s, "TRUNCATE "+ks+"."+table)
		for i := range n {
			b := make([]byte, 10<<20)
			x := uint32(i*7919 + 1)
			for k := range b {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				b[k] = byte(x)
			}
			testutil.Exec(t, s, "INSERT INTO "+ks+"."+table+" (id, b, size) VALUES (?, ?, ?)", i, b, len(b))
		}
		testutil.Exec(t, s, "INSERT INTO "+ks+"."+table+" (id, b, size) VALUES (?, ?, ?)", n, []byte{}, 0)
		testutil.Exec(t, s, "INSERT INTO "+ks+"."+table+" (id, size) VALUES (?, ?)", n+1, -1)
		markLoaded(t, table, n+2, dataVersion)
	}
	// The lines are compared byte for byte with the JSON built from CQL's
	// values (columns in Cassandra's order: id, then b, size), which is
	// cheaper than decoding 13 MB strings and stricter.
	out := runTable(t, table, 2, "128MiB")
	lines := map[string][]byte{}
	for _, l := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		id, _, _ := bytes.Cut(l, []byte(","))
		lines[string(id)] = l
	}
	if len(lines) != n+2 {
		t.Fatalf("%d rows in the output, want %d", len(lines), n+2)
	}
	iter := s.Query("SELECT id, b, size FROM " + ks + "." + table).Iter()
	var (
		id, size int
		b        []byte
	)
	for iter.Scan(&id, &b, &size) {
		cell := "null"
		if size >= 0 {
			if len(b) != size {
				t.Fatalf("CQL returned %d bytes for row %d, want %d", len(b), id, size)
			}
			cell = `"` + base64.StdEncoding.EncodeToString(b) + `"`
		}
		key := fmt.Sprintf(`{"id":%d`, id)
		want := fmt.Sprintf(`%s,"b":%s,"size":%d}`, key, cell, size)
		got := lines[key]
		if string(got) != want {
			t.Errorf("row %d: the line (%d bytes, sha %s) differs from CQL's value (%d bytes, sha %s); starts %.80q", id, len(got), sum(got), len(want), sum([]byte(want)), got)
		}
		b = nil
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWideRows: 200 columns of seven types, some null.
func TestWideRows(t *testing.T) {
	s := session(t)
	const table = "wide_rows"
	const rows, cols = 500, 200
	types := []string{"int", "text", "double", "boolean", "bigint", "timestamp", "blob"}
	var defs, names []string
	for c := range cols {
		names = append(names, fmt.Sprintf("c%03d", c))
		defs = append(defs, fmt.Sprintf("c%03d %s", c, types[c%len(types)]))
	}
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+ks+"."+table+" (id int PRIMARY KEY, "+strings.Join(defs, ", ")+")")
	value := func(r, c int) any {
		if (r+c)%13 == 0 {
			return nil
		}
		switch types[c%len(types)] {
		case "int":
			return int32(r*c - 5000)
		case "text":
			return fmt.Sprintf("r%d c%d \"q\" ✓", r, c)
		case "double":
			return float64(r) / float64(c+1)
		case "boolean":
			return (r+c)%2 == 0
		case "bigint":
			return int64(r) << (c % 40)
		case "timestamp":
			return time.UnixMilli(int64(r)*86_400_000 + int64(c)).UTC()
		default:
			return []byte(fmt.Sprintf("%d/%d", r, c))
		}
	}
	if loaded(t, table) != [2]int{rows, dataVersion} {
		testutil.Exec(t, s, "TRUNCATE "+ks+"."+table)
		stmt := "INSERT INTO " + ks + "." + table + " (id, " + strings.Join(names, ", ") + ") VALUES (?" + strings.Repeat(", ?", cols) + ")"
		parallel(t, rows, func(r int) error {
			args := []any{r}
			for c := range cols {
				args = append(args, value(r, c))
			}
			return s.Query(stmt, args...).Exec()
		})
		markLoaded(t, table, rows, dataVersion)
	}
	got := streamTable(t, table, 50, "")
	if len(got) != rows {
		t.Fatalf("%d rows in the output, want %d", len(got), rows)
	}
	iter := s.Query("SELECT * FROM " + ks + "." + table).Iter()
	for {
		m := map[string]any{}
		if !iter.MapScan(m) {
			break
		}
		id := m["id"].(int)
		want := map[string]any{"id": id}
		for c, name := range names {
			v := m[name]
			switch x := v.(type) {
			case []byte:
				v = base64.StdEncoding.EncodeToString(x)
			case time.Time:
				v = x.UTC().Format("2006-01-02T15:04:05.000Z")
			}
			if value(id, c) == nil {
				v = nil
			}
			want[name] = v
		}
		compareRow(t, id, got[id], want)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNestedCollections: frozen<list<frozen<map<text, frozen<set<int>>>>>>,
// with empty collections at every level and a null cell.
func TestNestedCollections(t *testing.T) {
	s := session(t)
	const table = "nested"
	const rows = 400
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+ks+"."+table+" (id int PRIMARY KEY, v frozen<list<frozen<map<text, frozen<set<int>>>>>>)")
	value := func(r int) []map[string][]int {
		if r%37 == 0 {
			return nil
		}
		l := make([]map[string][]int, r%5)
		for i := range l {
			m := map[string][]int{}
			for k := range (r + i) % 4 {
				set := []int{}
				for e := range (r + k) % 6 {
					set = append(set, (r*31+e*e*7)%1000-500)
				}
				m[fmt.Sprintf("k%d-%s", k, strings.Repeat("é", k))] = set
			}
			l[i] = m
		}
		return l
	}
	if loaded(t, table) != [2]int{rows, dataVersion} {
		testutil.Exec(t, s, "TRUNCATE "+ks+"."+table)
		parallel(t, rows, func(r int) error {
			v := value(r)
			if v == nil {
				return s.Query("INSERT INTO "+ks+"."+table+" (id) VALUES (?)", r).Exec()
			}
			return s.Query("INSERT INTO "+ks+"."+table+" (id, v) VALUES (?, ?)", r, v).Exec()
		})
		markLoaded(t, table, rows, dataVersion)
	}
	got := streamTable(t, table, 64, "")
	if len(got) != rows {
		t.Fatalf("%d rows in the output, want %d", len(got), rows)
	}
	iter := s.Query("SELECT id, v FROM " + ks + "." + table).Iter()
	var (
		id    int
		v     []map[string][]int
		empty int
	)
	for iter.Scan(&id, &v) {
		var want any = v
		switch {
		case id%37 == 0:
			want = nil
		case len(v) == 0:
			want = []any{} // a frozen empty list is an empty value, not null
			empty++
		}
		compareRow(t, id, got[id], map[string]any{"id": id, "v": want})
		v = nil
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows compared with CQL (%d empty lists)", rows, empty)
}
