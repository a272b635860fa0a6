package conformance

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// TestTrapNamesRow crashes the trap plugin of every language (trap/README.md)
// on row 3 of a page and checks the report: the row, its primary key (from
// the instance's key columns) and where in the plugin it crashed.
func TestTrapNamesRow(t *testing.T) {
	schema := abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeVarchar}}, abi.Column{Name: "n", Type: abi.Type{ID: abi.TypeInt}})
	b := abi.NewPageBuilder(schema, 4, 0)
	for i, n := range []int32{1, 2, 3, 7, 8} {
		b.AppendCell([]byte{'k', byte('0' + i)})
		b.AppendCell(abi.AppendInt(nil, n))
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	page := b.Page()
	// Where each language's report says it crashed.
	where := map[string]func(pe *host.PluginError) bool{
		"go": func(pe *host.PluginError) bool { // the recovered panic's Go stack
			return strings.Contains(pe.Message, "main.checkRow(") && strings.Contains(pe.Message, "trap/go/main.go:62")
		},
		"c": func(pe *host.PluginError) bool { // the name section
			return strings.Contains(pe.WasmStack, ".check_row(")
		},
		"rust": func(pe *host.PluginError) bool { // demangled frames, the panic hook's location
			return strings.Contains(pe.WasmStack, ".trap::check_row(") && !strings.Contains(pe.WasmStack, "_ZN") &&
				strings.Contains(pe.StderrTail, "conformance/trap/rust/src/lib.rs:33:9")
		},
		"assemblyscript": func(pe *host.PluginError) bool { // names kept (--debug), the abort location
			return strings.Contains(pe.WasmStack, "Plugin#process") && !strings.Contains(pe.WasmStack, ".$") &&
				strings.Contains(pe.StderrTail, "conformance/trap/assemblyscript/trap.ts:36:")
		},
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			p := filepath.Join("trap", lang, "trap.wasm")
			m, err := rt.CompileFile(context.Background(), "trap-"+lang, p)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(context.Background())
			inst, err := m.Instantiate(context.Background(), host.InstanceConfig{
				Plugin: "trap", KeyColumns: []string{"id"}, Logger: slog.New(slog.DiscardHandler),
				Config: []abi.KV{{Key: "column", Value: "n"}, {Key: "value", Value: "7"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close(context.Background())
			_, err = inst.Process(context.Background(), page)
			var pe *host.PluginError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *host.PluginError", err)
			}
			t.Logf("report:\n%s", pe.Error())
			if pe.Row != 3 || pe.Key != `id="k3"` {
				t.Errorf("Row, Key = %d, %s; want 3, id=\"k3\"", pe.Row, pe.Key)
			}
			if !strings.Contains(pe.Error(), `failed on page 4 split 0 row 3 (key id="k3")`) {
				t.Errorf("the report's first line does not name the row and key")
			}
			if !where[lang](pe) {
				t.Errorf("the report does not say where the %s plugin crashed", lang)
			}
		})
	}
}

// TestPrepareEveryLanguage: the trap plugins resolve their column in the
// prepare hook of their SDK. A page without the column fails with
// prepare's error, on every page of that schema (prepare runs again after
// a failure); a fresh instance then works on a page of another schema.
func TestPrepareEveryLanguage(t *testing.T) {
	noN := abi.NewSchema(abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeVarchar}})
	b := abi.NewPageBuilder(noN, 1, 0)
	b.AppendCell([]byte("k"))
	if err := b.EndRow(); err != nil {
		t.Fatal(err)
	}
	bad := b.Page()
	withN := abi.NewSchema(abi.Column{Name: "x", Type: abi.Type{ID: abi.TypeBoolean}}, abi.Column{Name: "n", Type: abi.Type{ID: abi.TypeInt}})
	g := abi.NewPageBuilder(withN, 1, 0)
	for _, n := range []int32{1, 2} {
		g.AppendCell([]byte{1})
		g.AppendCell(abi.AppendInt(nil, n))
		if err := g.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	good := g.Page()
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m, err := rt.CompileFile(context.Background(), "trap-"+lang, filepath.Join("trap", lang, "trap.wasm"))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(context.Background())
			cfg := host.InstanceConfig{Plugin: "trap", Logger: slog.New(slog.DiscardHandler),
				Config: []abi.KV{{Key: "column", Value: "n"}, {Key: "value", Value: "7"}}}
			inst, err := m.Instantiate(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close(context.Background())
			_, err = inst.Process(context.Background(), bad)
			var pe *host.PluginError
			if !errors.As(err, &pe) || pe.Kind != host.KindPluginReported || pe.Message != `trap: prepare: no column "n"` {
				t.Fatalf("page without the column: %v", err)
			}
			// The instance is dead after a failure (host rule); a new one
			// prepares for the good schema, whose n is column 1.
			inst2, err := m.Instantiate(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer inst2.Close(context.Background())
			for range 2 {
				if _, err := inst2.Process(context.Background(), good); err != nil {
					t.Fatalf("good page: %v", err)
				}
			}
		})
	}
}
