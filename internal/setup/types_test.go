package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
)

// TestEveryTypeRoundTripsThroughPlugins reads a table holding every CQL
// type (limits, nulls, empty values) with the pager, and runs the pages
// through the pass-through plugin and through the project example of every
// SDK language configured to copy every column into new rows. The rows that
// come out must be byte-identical to the rows that went in, null distinct
// from empty.
func TestEveryTypeRoundTripsThroughPlugins(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, fmt.Sprintf(testutil.AllTypesUDT, ks))
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".src")
	testutil.Exec(t, s, fmt.Sprintf("CREATE TABLE %s.src (%s)", ks, testutil.AllTypesColumns))
	for _, r := range testutil.AllTypesRows {
		testutil.Exec(t, s, fmt.Sprintf(testutil.AllTypesInsert, ks)+r)
	}
	roundTripThroughPlugins(t, ks, "src", len(testutil.AllTypesRows))
}

// TestEveryVectorAndCustomTypeRoundTripsThroughPlugins is
// TestEveryTypeRoundTripsThroughPlugins for a vector of every element
// type, custom types and a UDT altered after rows were written: the type
// descriptors sluice now builds for them (long custom class names, vectors
// of UDTs and frozen collections) go through every SDK.
func TestEveryVectorAndCustomTypeRoundTripsThroughPlugins(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	createVectorTable(t, s, ks)
	roundTripThroughPlugins(t, ks, "src", 3)
}

// roundTripThroughPlugins reads ks.table (rows rows) with the pager and
// runs its pages through the pass-through plugin and the project example
// of every SDK language, copying every column: the rows out must be
// byte-identical to the rows in.
func roundTripThroughPlugins(t *testing.T, ks, table string, want int) {
	ctx := context.Background()
	s := testutil.Session(t)
	opts := pager.Options{Stream: "types", PageSize: 2}.WithDefaults()
	src, err := pager.NewCassandraSource(ctx, s, pager.Spec{Keyspace: ks, Table: table}, opts)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := pager.New(src, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var pages []*abi.Page
	rows := 0
	for {
		d, err := pg.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Page.NumRows() > 0 {
			pages = append(pages, d.Page)
			rows += d.Page.NumRows()
		}
	}
	if rows != want {
		t.Fatalf("read %d rows, want %d", rows, want)
	}
	var cols []any
	for _, c := range pages[0].Schema.Columns {
		cols = append(cols, c.Name)
	}

	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	plugins := map[string]string{"passthrough": repo + "/host/testdata/passthrough.wasm"}
	for _, lang := range []string{"go", "c", "rust", "assemblyscript"} {
		plugins["project/"+lang] = filepath.Join(repo, "plugins/examples/project", lang, "project.wasm")
	}
	cfg, err := abi.FlattenConfig(map[string]any{"columns": cols})
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range plugins {
		t.Run(name, func(t *testing.T) {
			mod, err := rt.CompileFile(ctx, name, path)
			if err != nil {
				t.Fatal(err)
			}
			defer mod.Close(ctx)
			ic := host.InstanceConfig{Stream: "types", Plugin: name}
			if strings.HasPrefix(name, "project/") {
				ic.Config = cfg
			}
			inst, err := mod.Instantiate(ctx, ic)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close(ctx)
			for _, in := range pages {
				outs, err := inst.Process(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				def := outs.Default()
				if len(def) != 1 {
					t.Fatalf("page %d: %d batches on the default output, want 1", in.Number, len(def))
				}
				out := def[0].Materialize()
				if !out.Schema.Equal(in.Schema) {
					t.Fatalf("page %d: schema changed:\n got %s\nwant %s", in.Number, out.Schema, in.Schema)
				}
				if out.NumRows() != in.NumRows() {
					t.Fatalf("page %d: %d rows out, want %d", in.Number, out.NumRows(), in.NumRows())
				}
				for r := 0; r < in.NumRows(); r++ {
					for c, col := range in.Schema.Columns {
						want, wnull := in.Row(r).Cell(c)
						got, gnull := out.Row(r).Cell(c)
						if wnull != gnull || !bytes.Equal(want, got) {
							t.Errorf("page %d row %d column %s (%s): got %x (null %v), want %x (null %v)",
								in.Number, r, col.Name, col.Type, got, gnull, want, wnull)
						}
					}
				}
			}
		})
	}
}
