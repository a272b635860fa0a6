package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// Host test modules (WAT, committed with their build script).
func hostModule(name string) string {
	return filepath.Join("..", "..", "host", "testdata", name+".wasm")
}

func newRuntime(t *testing.T) *host.Runtime {
	t.Helper()
	rt, err := host.NewRuntime(context.Background(), host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func fixturePages(t *testing.T, n, pageSize int) []*abi.Page {
	t.Helper()
	schema, err := ParseSchema("id int, name text")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "{\"id\":%d,\"name\":\"n%d\"}\n", i, i)
	}
	pages, err := ReadFixture("f.jsonl", strings.NewReader(sb.String()), JSONL, schema, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

func render(t *testing.T, o *Output) string {
	t.Helper()
	if o == nil {
		return ""
	}
	b, err := RenderJSONL(nil, o.Pages)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunChain(t *testing.T) {
	rt := newRuntime(t)
	pages := fixturePages(t, 7, 3) // pages of 3, 3, 1 rows
	res, err := Run(context.Background(), Options{
		Runtime: rt,
		Plugins: []Plugin{
			{Path: hostModule("filter_even")}, // keeps rows 0, 2, ... of each page
			{Path: hostModule("rows_named")},  // audit: the row count it was given
			{Name: "count", Path: hostModule("counter")},
		},
		Flush: true,
	}, pages)
	if err != nil {
		t.Fatal(err)
	}
	if res.PagesIn != 3 || res.RowsIn != 7 {
		t.Errorf("in: %d pages, %d rows", res.PagesIn, res.RowsIn)
	}
	var names []string
	for _, o := range res.Outputs {
		names = append(names, fmt.Sprintf("%q:%d", o.Name, o.Rows()))
	}
	// Default: the rows the filter kept (ids 0, 2, 3, 5, 6) then the
	// counter's flush row; audit: one row per page (2, 2, 1).
	if got := strings.Join(names, " "); got != `"":6 "audit":3` {
		t.Errorf("outputs %s", got)
	}
	def := render(t, res.Output(""))
	wantDef := `{"id":0,"name":"n0"}
{"id":2,"name":"n2"}
{"id":3,"name":"n3"}
{"id":5,"name":"n5"}
{"id":6,"name":"n6"}
{"count":5}
`
	if def != wantDef {
		t.Errorf("default output:\n%s", Diff("want", []byte(wantDef), "got", []byte(def)))
	}
	if res.Output("nope") != nil {
		t.Error("Output of an unknown name is not nil")
	}

	// Without flush the counter passes the rows and emits no count.
	res, err = Run(context.Background(), Options{Runtime: rt, Plugins: []Plugin{{Path: hostModule("counter")}}}, pages)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, res.Output("")); strings.Contains(got, "count") || strings.Count(got, "\n") != 7 {
		t.Errorf("no flush: %q", got)
	}
}

func TestRunPluginError(t *testing.T) {
	rt := newRuntime(t)
	pages := fixturePages(t, 10, 2)
	res, err := Run(context.Background(), Options{
		Runtime: rt,
		Stream:  "fixture",
		Plugins: []Plugin{{Path: hostModule("trap_page3")}},
	}, pages)
	var pe *host.PluginError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *host.PluginError", err, err)
	}
	if pe.Kind != host.KindTrap || pe.Page != 3 || pe.Plugin != "trap_page3" || pe.Stream != "fixture" {
		t.Errorf("report: kind %v page %d plugin %q stream %q\n%s", pe.Kind, pe.Page, pe.Plugin, pe.Stream, pe)
	}
	if res.PagesIn != 3 || res.Output("").Rows() != 4 {
		t.Errorf("before the trap: %d pages in, %d rows out", res.PagesIn, res.Output("").Rows())
	}

	_, err = Run(context.Background(), Options{Runtime: rt, Plugins: []Plugin{{Name: "bad", Path: hostModule("error_row")}}}, fixturePages(t, 10, 5))
	if !errors.As(err, &pe) || pe.Kind != host.KindPluginReported || pe.Row != 2 || pe.Page != 1 || pe.Plugin != "bad" {
		t.Errorf("error_row: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	if _, err := Load(ctx, Options{Runtime: rt}); err == nil {
		t.Error("no plugins accepted")
	}
	if _, err := Load(ctx, Options{Plugins: []Plugin{{Path: hostModule("passthrough")}}}); err == nil {
		t.Error("nil runtime accepted")
	}
	_, err := Load(ctx, Options{Runtime: rt, Plugins: []Plugin{{Path: hostModule("passthrough")}, {Path: hostModule("command")}}})
	var pe *host.PluginError
	if !errors.As(err, &pe) || pe.Kind != host.KindLoad || pe.Plugin != "command" {
		t.Errorf("command module: %v", err)
	}
	_, err = Load(ctx, Options{Runtime: rt, Plugins: []Plugin{{Path: filepath.Join(t.TempDir(), "missing.wasm")}}})
	if err == nil || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "missing.wasm") {
		t.Errorf("missing file: %v", err)
	}
}
