package harness

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadFixture feeds arbitrary bytes to both fixture readers: they must
// not panic, must return *FixtureError for bad input, and every page they
// return must render (its cells are valid encodings of their types).
func FuzzReadFixture(f *testing.F) {
	f.Add([]byte("{\"id\":1,\"name\":\"a\",\"tags\":[\"x\"]}\n{\"id\":null}\n"), false)
	f.Add([]byte("id,name,tags\n1,a,\"[\"\"x\"\"]\"\n2,\"\",\n"), true)
	f.Add([]byte("name\n\"a\nb\",\n"), true)
	f.Add([]byte("{\"id\":\"\"}\n[]\n"), false)
	schema, err := ParseSchema("id int, name text, tags set<text>, m map<text, int>, at timestamp")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := JSONL
		if csv {
			format = CSV
		}
		pages, err := ReadFixture("fuzz", bytes.NewReader(data), format, schema, 3)
		if err != nil {
			var fe *FixtureError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FixtureError", err, err)
			}
			return
		}
		if _, err := RenderJSONL(nil, pages); err != nil {
			t.Fatalf("accepted a fixture whose pages do not render: %v", err)
		}
	})
}
