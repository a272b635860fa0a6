package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/abi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is a logger that drops everything.
var quiet = slog.New(slog.DiscardHandler)

func newRuntime(t testing.TB, cfg RuntimeConfig) *Runtime {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	return r
}

// fixture returns the bytes of testdata/name.wasm.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("read fixture (run host/testdata/build.sh): %v", err)
	}
	return b
}

func compileFixture(t testing.TB, r *Runtime, name string) *Module {
	t.Helper()
	m, err := r.CompileFile(context.Background(), name, filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func instantiate(t testing.TB, m *Module, cfg InstanceConfig) *Instance {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	inst, err := m.Instantiate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("instantiate %s: %v", m.Name, err)
	}
	t.Cleanup(func() { _ = inst.Close(context.Background()) })
	return inst
}

// testSchema has 10 columns of mixed types, like a typical table.
var testSchema = abi.NewSchema(
	abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeUUID}},
	abi.Column{Name: "n", Type: abi.Type{ID: abi.TypeInt}},
	abi.Column{Name: "big", Type: abi.Type{ID: abi.TypeBigint}},
	abi.Column{Name: "name", Type: abi.Type{ID: abi.TypeVarchar}},
	abi.Column{Name: "ok", Type: abi.Type{ID: abi.TypeBoolean}},
	abi.Column{Name: "score", Type: abi.Type{ID: abi.TypeDouble}},
	abi.Column{Name: "at", Type: abi.Type{ID: abi.TypeTimestamp}},
	abi.Column{Name: "raw", Type: abi.Type{ID: abi.TypeBlob}},
	abi.Column{Name: "tags", Type: abi.ListOf(abi.Type{ID: abi.TypeVarchar})},
	abi.Column{Name: "note", Type: abi.Type{ID: abi.TypeVarchar}},
)

// makePage builds a page of nrows rows of testSchema; column "n" holds the
// row index and "note" is null on odd rows.
func makePage(t testing.TB, number uint64, nrows int) *abi.Page {
	t.Helper()
	b := abi.NewPageBuilder(testSchema, number, 0)
	var id [16]byte
	for i := range nrows {
		id[15] = byte(i)
		b.AppendCell(abi.AppendUUID(nil, id))
		b.AppendCell(abi.AppendInt(nil, int32(i)))
		b.AppendCell(abi.AppendBigint(nil, int64(i)*1_000_003))
		b.AppendCell(abi.AppendText(nil, fmt.Sprintf("user-%06d", i)))
		b.AppendCell(abi.AppendBoolean(nil, i%2 == 0))
		b.AppendCell(abi.AppendDouble(nil, float64(i)/3))
		b.AppendCell(abi.AppendTimestamp(nil, 1_700_000_000_000+int64(i)))
		b.AppendCell([]byte{1, 2, 3, 4, 5, 6, 7, 8})
		b.AppendCell(abi.AppendList(nil, [][]byte{[]byte("a"), []byte("bc")}))
		if i%2 == 1 {
			b.AppendNull()
		} else {
			b.AppendCell([]byte("some note about this row"))
		}
		if err := b.EndRow(); err != nil {
			t.Fatalf("EndRow: %v", err)
		}
	}
	return b.Page()
}

// cellInt returns column "n" of row i.
func cellInt(t testing.TB, p *abi.Page, i int) int32 {
	t.Helper()
	c, null := p.Row(i).Cell(1)
	if null {
		t.Fatalf("row %d: n is null", i)
	}
	v, err := abi.DecodeInt(c)
	if err != nil {
		t.Fatalf("row %d: %v", i, err)
	}
	return v
}

// asPluginError fails the test unless err is a *PluginError of kind want.
func asPluginError(t testing.TB, err error, want ErrorKind) *PluginError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %s error", want)
	}
	var pe *PluginError
	if !errors.As(err, &pe) {
		t.Fatalf("error is %T, not a *PluginError: %v", err, err)
	}
	if pe.Kind != want {
		t.Fatalf("kind = %s, want %s; error:\n%v", pe.Kind, want, err)
	}
	return pe
}

// recordHandler is a slog.Handler that keeps the records it receives.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		out = append(out, r.Message)
	}
	return out
}

func (h *recordHandler) bytes() int {
	n := 0
	for _, m := range h.messages() {
		n += len(m)
	}
	return n
}

func containsAll(t testing.TB, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("missing %q in:\n%s", sub, s)
		}
	}
}

var _ = bytes.Equal
