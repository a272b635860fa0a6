package harness

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/sink"
)

const vectors = "../../abi/testdata/vectors"

func readHex(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func readVectorFixture(t *testing.T, name string, f Format, data []byte) []*abi.Page {
	t.Helper()
	schema, err := ReadSchemaFile(filepath.Join(vectors, name+".schema.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := ReadFixture(name, bytes.NewReader(data), f, schema, DefaultPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 {
		t.Fatalf("%d pages, want 1", len(pages))
	}
	return pages
}

// TestJSONLVectors reads the shared test vectors' JSONL with their schema
// and checks that the page is, byte for byte, the vector page (rows and
// schema; the vectors' page number and split are set to match).
func TestJSONLVectors(t *testing.T) {
	for _, name := range []string{"tiny", "scalars", "collections"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(vectors, name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			got := readVectorFixture(t, name, JSONL, data)[0]
			want, err := abi.DecodePage(readHex(t, name+".page.hex"))
			if err != nil {
				t.Fatal(err)
			}
			got.Number, got.Split = want.Number, want.Split
			if enc, wantEnc := got.AppendEncoded(nil), readHex(t, name+".page.hex"); !bytes.Equal(enc, wantEnc) {
				t.Errorf("page differs from %s.page.hex:\n got %x\nwant %x", name, enc, wantEnc)
			}
			// And rendering it gives the JSONL back.
			out, err := RenderJSONL(nil, []*abi.Page{got})
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(data, out) {
				t.Errorf("%s", Diff(name+".jsonl", data, "rendered", out))
			}
		})
	}
}

// TestCSVRoundTrip writes the vector pages with the CSV sink and reads the
// CSV back: the same cells, including nulls versus empty values.
func TestCSVRoundTrip(t *testing.T) {
	for _, name := range []string{"tiny", "scalars", "collections"} {
		t.Run(name, func(t *testing.T) {
			want, err := abi.DecodePage(readHex(t, name+".page.hex"))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			s, err := sink.NewWriter("csv", &buf, sink.CSV)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), want, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := readVectorFixture(t, name, CSV, buf.Bytes())[0]
			if !bytes.Equal(got.Data, want.Data) || fmt.Sprint(got.Offsets) != fmt.Sprint(want.Offsets) {
				gj, _ := RenderJSONL(nil, []*abi.Page{got})
				wj, _ := RenderJSONL(nil, []*abi.Page{want})
				t.Errorf("CSV round trip differs:\n%s\nCSV:\n%s", Diff("want", wj, "got", gj), buf.String())
			}
		})
	}
}

func TestPaging(t *testing.T) {
	schema, err := ParseSchema("id int, name text")
	if err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&in, "{\"id\":%d,\"name\":\"n%d\"}\n", i, i)
		if i == 10 {
			in.WriteString("\n   \n") // blank lines are skipped
		}
	}
	pages, err := ReadFixture("in.jsonl", strings.NewReader(in.String()), JSONL, schema, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := int32(0)
	for i, p := range pages {
		if p.Number != uint64(i+1) || p.Split != 0 {
			t.Errorf("page %d: number %d split %d", i, p.Number, p.Split)
		}
		sizes = append(sizes, p.NumRows())
		for r := range p.NumRows() {
			c, _ := p.Row(r).Cell(0)
			if v, _ := abi.DecodeInt(c); v != next {
				t.Fatalf("page %d row %d: id %d, want %d", p.Number, r, v, next)
			}
			next++
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("page sizes %v", sizes)
	}
	if pages, err := ReadFixture("empty.jsonl", strings.NewReader(""), JSONL, schema, 10); err != nil || len(pages) != 0 {
		t.Errorf("empty fixture: %d pages, %v", len(pages), err)
	}
	if _, err := ReadFixture("x", strings.NewReader(""), JSONL, schema, 0); err == nil {
		t.Error("page size 0 accepted")
	}
}

func TestFixtureErrors(t *testing.T) {
	schema, err := ParseSchema("id int, name text, tags set<text>")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, format, in string
		want             string // the whole error
	}{
		{"bad json", "jsonl", "{\"id\":1}\n{\"id\":2,\n", `in:2: invalid JSON: the line ends inside the object`},
		{"not an object", "jsonl", "[1,2]\n", `in:1: want a JSON object per line, got an array`},
		{"trailing data", "jsonl", "{\"id\":1} {\"id\":2}\n", `in:1: invalid JSON: data after the object (one object per line)`},
		{"unknown column", "jsonl", "{\"id\":1}\n\n{\"idd\":1}\n", `in:3: column "idd": not a column of the schema (id int, name text, tags set<text>)`},
		{"wrong type", "jsonl", "{\"id\":\"one\"}\n", `in:1: column "id" (int): `},
		{"out of range", "jsonl", "{\"id\":2147483648}\n", `in:1: column "id" (int): `},
		{"element type", "jsonl", "{\"tags\":[\"a\",1]}\n", `in:1: column "tags" (set<text>): `},
		{"duplicate key", "jsonl", "{\"id\":1,\"id\":2}\n", `in:1: column "id" (int): appears twice in the object`},
		{"csv unknown header", "csv", "id,nom\n1,x\n", `in:1: column "nom": header: not a column of the schema (id int, name text, tags set<text>)`},
		{"csv duplicate header", "csv", "id,id\n", `in:1: column "id": header: column appears twice`},
		{"csv field count", "csv", "id,name\n1,a\n2\n", `in:3: 1 fields, the header has 2`},
		{"csv bad int", "csv", "id,name\n1,a\nx,b\n", `in:3: column "id" (int): `},
		{"csv line after multiline field", "csv", "name,id\n\"a\nb\",1\n\"c\",z\n", `in:4: column "id" (int): `},
		{"csv bad json", "csv", "id,tags\n1,\"[\"\"a\"\"\"\n", `in:2: column "tags" (set<text>): field "[\"a\"" is not the JSON form of a set`},
		{"csv bare quote", "csv", "id,name\n1,a\"b\n", `in:2: CSV: field 2: a quote inside an unquoted field`},
		{"csv unterminated", "csv", "id,name\n1,\"ab\n", `in:2: CSV: unterminated quoted field at end of file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFixture("in", strings.NewReader(tt.in), Format(tt.format), schema, 10)
			var fe *FixtureError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FixtureError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n %s\nwant prefix\n %s", err, tt.want)
			}
		})
	}
}

func TestCSVCells(t *testing.T) {
	schema, err := ParseSchema("id int, name text, ok boolean, d double, at timestamp, tags list<int>, b blob")
	if err != nil {
		t.Fatal(err)
	}
	in := "id,name,ok,d,at,tags,b\r\n" +
		"1,,true,NaN,2024-01-02T03:04:05.678Z,\"[1,2]\",yv4=\r\n" +
		"2,\"\",false,-1.5e3,1700000000000,[],\"\"\r\n" +
		"\r\n" +
		",\"a,\"\"b\"\"\nc\",,,,,\n"
	pages, err := ReadFixture("in.csv", strings.NewReader(in), CSV, schema, 10)
	if err != nil {
		t.Fatal(err)
	}
	out, err := RenderJSONL(nil, pages)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"name":null,"ok":true,"d":"NaN","at":"2024-01-02T03:04:05.678Z","tags":[1,2],"b":"yv4="}
{"id":2,"name":"","ok":false,"d":-1500,"at":"2023-11-14T22:13:20.000Z","tags":[],"b":""}
{"id":null,"name":"a,\"b\"\nc","ok":null,"d":null,"at":null,"tags":null,"b":null}
`
	if string(out) != want {
		t.Errorf("%s", Diff("want", []byte(want), "got", out))
	}
	// A header alone, and columns left out of the header, are fine.
	pages, err = ReadFixture("in.csv", strings.NewReader("name\nx\n"), CSV, schema, 10)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = RenderJSONL(nil, pages)
	if want := `{"id":null,"name":"x","ok":null,"d":null,"at":null,"tags":null,"b":null}` + "\n"; string(out) != want {
		t.Errorf("got %s", out)
	}
}

func TestParseSchema(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "id int", want: "id int"},
		{in: " id int , name text,tags set<text>", want: "id int, name text, tags set<text>"},
		{in: "m map<text, frozen<list<int>>>, v vector<float, 3>", want: "m map<text, frozen<list<int>>>, v vector<float, 3>"},
		{in: `addr ks.address{street text, zip int}, "Odd ""name"", yes" text`, want: `addr ks.address{street text, zip int}, Odd "name", yes text`},
		{in: "", err: "schema: column definition 1 is empty"},
		{in: "id int,", err: "schema: column definition 2 is empty"},
		{in: "id", err: `schema: column "id" has no type`},
		{in: "id integer", err: `schema: column "id": type "integer": `},
		{in: "id int, id text", err: `schema: column "id" defined twice (columns 1 and 2)`},
		{in: "m map<text, int", err: "schema: unbalanced brackets"},
		{in: `"id int`, err: "unterminated"},
	}
	for _, tt := range tests {
		s, err := ParseSchema(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSchema(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchema(%q): %v", tt.in, err)
			continue
		}
		if got := columnList(s); got != tt.want {
			t.Errorf("ParseSchema(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestReadSchemaFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := ReadSchemaFile(write("ok.txt", "# comment\nid\tint\n\nname text, age int\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := columnList(s); got != "id int, name text, age int" {
		t.Errorf("got %s", got)
	}
	p := write("dup.txt", "id int\nname text\nid bigint\n")
	if _, err := ReadSchemaFile(p); err == nil || err.Error() != p+`:3: column "id": schema: column "id" defined twice (columns 1 and 3)` {
		t.Errorf("duplicate: %v", err)
	}
	p = write("bad.txt", "id int\nname txt\n")
	if _, err := ReadSchemaFile(p); err == nil || !strings.HasPrefix(err.Error(), p+`:2: schema: column "name": type "txt"`) {
		t.Errorf("bad type: %v", err)
	}
	p = write("empty.txt", "# nothing\n")
	if _, err := ReadSchemaFile(p); err == nil || err.Error() != p+": no columns" {
		t.Errorf("empty: %v", err)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.jsonl": JSONL, "a.JSON": JSONL, "x/y.ndjson": JSONL, "a.csv": CSV, "a.txt": ""} {
		if got, _ := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}
