package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testutil"
)

// TestPluginSchemaFromLiveTable writes the fixture schema of a real table
// and uses it, unchanged, as the -schema-file of sluice plugin test.
func TestPluginSchemaFromLiveTable(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".orders")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".orders (shop text, day date, id int, total decimal, tags set<text>, note text, PRIMARY KEY ((shop, day), id))")

	code, stdout, stderr := sluiceRun(t, "plugin", "schema", "-hosts", testutil.Host(), ks+".orders")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := "shop text\nday date\nid int\nnote text\ntags set<text>\ntotal decimal\n"
	if _, body, _ := strings.Cut(stdout, "\n"); body != want {
		t.Errorf("schema:\n%s\nwant (after the comment line):\n%s", stdout, want)
	}

	dir := t.TempDir()
	schema := writeFile(t, dir, "schema.txt", stdout)
	input := writeFile(t, dir, "input.jsonl", `{"shop":"a","day":"2024-01-02","id":1,"total":"1.50","tags":["x"]}`+"\n")
	code, out, stderr := sluiceRun(t, "plugin", "test", "-q", "-plugin", filepath.Join(repoRoot(t), "plugins", "examples", "filter", "rust", "filter.wasm"),
		"-config-json", `{"column":"id","op":">=","value":"1"}`, "-schema-file", schema, "-input", input)
	if code != 0 || !strings.Contains(out, `"total":"1.50"`) {
		t.Errorf("plugin test with the written schema: exit %d\n%s\n%s", code, out, stderr)
	}

	if code, _, stderr := sluiceRun(t, "plugin", "schema", "-hosts", testutil.Host(), ks+".nope"); code == 0 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("missing table: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := sluiceRun(t, "plugin", "schema", "nodot"); code == 0 || !strings.Contains(stderr, `"nodot" is not KEYSPACE.TABLE`) {
		t.Errorf("bad argument: exit %d\n%s", code, stderr)
	}
}

// A plugin that traps on a row: plugin test's report ends with the fixture
// line that row came from (blank lines and paging counted).
func TestPluginTestPrintsFixtureLineOfFailingRow(t *testing.T) {
	dir := t.TempDir()
	schema := writeFile(t, dir, "schema.txt", "id text\nn int\n")
	input := writeFile(t, dir, "input.jsonl", `{"id":"a","n":1}`+"\n\n"+`{"id":"b","n":2}`+"\n"+`{"id":"c","n":7}`+"\n"+`{"id":"d","n":8}`+"\n")
	for _, lang := range []string{"c", "rust", "go", "assemblyscript"} {
		trap := filepath.Join(repoRoot(t), "plugins", "conformance", "trap", lang, "trap.wasm")
		code, _, stderr := sluiceRun(t, "plugin", "test", "-plugin", trap, "-config-json", `{"column":"n","value":"7"}`,
			"-schema-file", schema, "-input", input, "-page-size", "2")
		if code != 1 || !strings.Contains(stderr, "failed on page 2 split 0 row 0") ||
			!strings.Contains(stderr, "fixture row: "+input+`:4: {"id":"c","n":7}`) {
			t.Errorf("%s: exit %d\n%s", lang, code, stderr)
		}
	}
}
