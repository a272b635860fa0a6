package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

func TestPassThroughNoCopy(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "passthrough"), InstanceConfig{})
	page := makePage(t, 1, 100)
	out, err := inst.Process(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	def := out.Default()
	if len(def) != 1 || def[0].Page() != page || !def[0].All() || def[0].Rows() != 100 {
		t.Fatalf("default output = %+v, want the input page itself", def)
	}
	if def[0].Materialize() != page {
		t.Error("Materialize of a full batch copied the page")
	}
	if names := out.Names(); !slices.Equal(names, []string{""}) {
		t.Errorf("names = %q", names)
	}
}

func TestFilterEvenSelect(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "filter_even"), InstanceConfig{})
	for _, n := range []int{1, 7, 8, 9, 100, 1001} {
		page := makePage(t, uint64(n), n)
		out, err := inst.Process(context.Background(), page)
		if err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
		def := out.Default()
		want := (n + 1) / 2
		if n == 1 {
			// Row 0 alone is every row: a pass-through, no selection.
			if len(def) != 1 || !def[0].All() || def[0].Page() != page {
				t.Fatalf("1 row: %+v", def)
			}
			continue
		}
		if len(def) != 1 || def[0].Page() != page || def[0].All() {
			t.Fatalf("%d rows: want a selection over the input page, got %+v", n, def)
		}
		b := def[0]
		if b.Rows() != want || out.Rows("") != want {
			t.Errorf("%d rows: Rows() = %d, want %d", n, b.Rows(), want)
		}
		var idx []int
		for i := range b.Indexes() {
			idx = append(idx, i)
		}
		if len(idx) != want || idx[0] != 0 || idx[len(idx)-1] != 2*(want-1) {
			t.Errorf("%d rows: indexes %v", n, idx)
		}
		for i, row := range b.Each() {
			if i%2 != 0 || string(row.Bytes()) != string(page.Row(i).Bytes()) {
				t.Errorf("row %d selected", i)
			}
		}
		m := b.Materialize()
		if m == page || m.NumRows() != want || m.Number != page.Number {
			t.Fatalf("%d rows: materialized %d rows", n, m.NumRows())
		}
		for k := range m.NumRows() {
			if got := cellInt(t, m, k); got != int32(2*k) {
				t.Errorf("materialized row %d has n=%d", k, got)
			}
		}
	}
}

func TestRowsToNamedOutput(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "rows_named"), InstanceConfig{})
	page := makePage(t, 4, 13)
	out, err := inst.Process(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if names := out.Names(); !slices.Equal(names, []string{"", "audit"}) {
		t.Fatalf("names = %q", names)
	}
	if def := out.Default(); len(def) != 1 || def[0].Page() != page || !def[0].All() {
		t.Errorf("an all-ones SELECT must pass the page through: %+v", def)
	}
	audit := out.Get("audit")
	if len(audit) != 1 || audit[0].Rows() != 1 {
		t.Fatalf("audit = %+v", audit)
	}
	p := audit[0].Page()
	if p.Number != 4 || p.Schema.Columns[0].Name != "rows" || p.Schema.Columns[0].Type.ID != abi.TypeInt {
		t.Errorf("audit page %d schema %s", p.Number, p.Schema)
	}
	c, _ := p.Row(0).Cell(0)
	if v, _ := abi.DecodeInt(c); v != 13 {
		t.Errorf("audit value = %d, want 13", v)
	}
}

func TestSnapshotRestoreAndFlush(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	m := compileFixture(t, r, "counter")
	if !m.HasSnapshot() || !m.HasFlush() {
		t.Fatal("counter must export snapshot and flush")
	}
	a := instantiate(t, m, InstanceConfig{})
	for n := uint64(1); n <= 3; n++ {
		if _, err := a.Process(context.Background(), makePage(t, n, 10)); err != nil {
			t.Fatal(err)
		}
	}
	state, err := a.Snapshot(context.Background())
	if err != nil || len(state) != 8 || binary.LittleEndian.Uint64(state) != 30 {
		t.Fatalf("snapshot = %x, %v", state, err)
	}
	b := instantiate(t, m, InstanceConfig{})
	if err := b.Restore(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	out, err := b.Flush(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := flushCount(t, out, "count"); got != 30 {
		t.Errorf("flushed count = %d, want 30", got)
	}
	// Malformed state is refused by the plugin: a plugin-reported error.
	c := instantiate(t, m, InstanceConfig{})
	err = c.Restore(context.Background(), []byte("abc"))
	pe := asPluginError(t, err, KindPluginReported)
	if pe.Func != abi.ExportRestore || !strings.Contains(err.Error(), "restore: state must be 8 bytes") {
		t.Errorf("restore error: %v", err)
	}
}

// flushCount returns the single bigint of a counter flush output.
func flushCount(t *testing.T, out Outputs, col string) int64 {
	t.Helper()
	def := out.Default()
	if len(def) != 1 || def[0].Rows() != 1 {
		t.Fatalf("flush output = %+v", out.All())
	}
	p := def[0].Page()
	if p.Schema.Columns[0].Name != col {
		t.Fatalf("flush column %q, want %q", p.Schema.Columns[0].Name, col)
	}
	c, _ := p.Row(0).Cell(0)
	v, err := abi.DecodeBigint(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSnapshotAbsent(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "passthrough"), InstanceConfig{})
	state, err := inst.Snapshot(context.Background())
	if state != nil || err != nil {
		t.Fatalf("snapshot of a module without sluice_snapshot = %v, %v", state, err)
	}
	if err := inst.Restore(context.Background(), nil); err != nil {
		t.Fatalf("restoring empty state: %v", err)
	}
	out, err := inst.Flush(context.Background())
	if err != nil || !out.Empty() {
		t.Fatalf("flush without sluice_flush = %v, %v", out, err)
	}
	err = inst.Restore(context.Background(), []byte{1})
	pe := asPluginError(t, err, KindLoad)
	containsAll(t, pe.Message, "cannot restore 1 bytes of state: the module does not export sluice_restore")
}

func TestConfigAndInitialize(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	kvs := []abi.KV{{Key: "field", Value: "age"}, {Key: "rename.old", Value: "new"}, {Key: "tags", Value: "a"}, {Key: "tags", Value: "b"}}
	inst := instantiate(t, compileFixture(t, r, "config_echo"), InstanceConfig{Config: kvs})
	state, err := inst.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := abi.DecodeConfig(state)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, kvs) {
		t.Errorf("plugin saw config %v, want %v", got, kvs)
	}
}

// TestWASISandbox: a plugin cannot open files or sockets, write to other
// descriptors, see environment or arguments, or read stdin.
func TestWASISandbox(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "wasi_probe"), InstanceConfig{})
	if _, err := inst.Process(context.Background(), makePage(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	b, ok := inst.mem.Read(0x100, 7*4)
	if !ok {
		t.Fatal("read probe results")
	}
	const ebadf = 8 // WASI errno
	want := []struct {
		what string
		v    uint32
	}{
		{"path_open errno", ebadf},
		{"sock_accept errno", ebadf},
		{"fd_write(fd 7) errno", ebadf},
		{"environment variables", 0},
		{"arguments", 0},
		{"bytes read from stdin", 0},
		{"fd_prestat_get(3) errno (no preopened directory)", ebadf},
	}
	for k, w := range want {
		if got := binary.LittleEndian.Uint32(b[4*k:]); got != w.v {
			t.Errorf("%s = %d, want %d", w.what, got, w.v)
		}
	}
}

func TestLogForwarding(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	h := &recordHandler{}
	inst := instantiate(t, compileFixture(t, r, "logger"), InstanceConfig{Logger: slog.New(h), Stream: "s"})
	for n := uint64(1); n <= 2; n++ {
		if _, err := inst.Process(context.Background(), makePage(t, n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := h.messages()
	if !slices.Equal(msgs, []string{"page seen", "stdout line", "page seen", "stdout line"}) {
		t.Errorf("forwarded %q", msgs)
	}
	rec := h.records[0]
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	if rec.Level != slog.LevelInfo || attrs["source"] != "sluice.log" || attrs["page"] != "1" {
		t.Errorf("record %v %v", rec.Level, attrs)
	}
	tail := inst.out.tail.String()
	if !strings.Contains(tail, "[info] page seen\nstdout line\n") {
		t.Errorf("tail = %q", tail)
	}
}

func TestAssemblyScriptImports(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	h := &recordHandler{}
	inst := instantiate(t, compileFixture(t, r, "as_imports"), InstanceConfig{Logger: slog.New(h)})
	if _, err := inst.Process(context.Background(), makePage(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if msgs := h.messages(); !slices.Equal(msgs, []string{"hi 1.5 2.5"}) {
		t.Errorf("trace forwarded %q", msgs)
	}
	if h.records[0].Level != slog.LevelDebug {
		t.Errorf("trace level %v", h.records[0].Level)
	}
	seed, _ := inst.mem.ReadFloat64Le(0x100)
	if seed <= 0 {
		t.Errorf("seed() = %v", seed)
	}
}

// TestOutputFloodsAreCapped: a plugin writing megabytes per page costs the
// host a bounded amount of logging and memory.
func TestOutputFloodsAreCapped(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	for _, name := range []string{"log_flood", "stdout_flood"} {
		t.Run(name, func(t *testing.T) {
			h := &recordHandler{}
			inst := instantiate(t, compileFixture(t, r, name), InstanceConfig{Logger: slog.New(h), StderrCap: 8 << 10,
				LogBytesPerCall: 16 << 10, LogBytesTotal: 40 << 10})
			for n := uint64(1); n <= 4; n++ {
				if _, err := inst.Process(context.Background(), makePage(t, n, 1)); err != nil {
					t.Fatal(err)
				}
			}
			forwarded, warnings := 0, 0
			for _, m := range h.messages() {
				if strings.HasPrefix(m, "plugin output over") {
					warnings++
					continue
				}
				forwarded += len(m)
			}
			// 4 pages × 10 MB written; 16 KiB per call, 40 KiB in all forwarded.
			if forwarded > 40<<10 || forwarded < 30<<10 {
				t.Errorf("forwarded %d bytes, want between 30 KiB and the 40 KiB cap", forwarded)
			}
			if warnings < 1 || warnings > 4 {
				t.Errorf("%d cap warnings, want one per page until the total cap, then one", warnings)
			}
			if n := len(inst.out.tail.buf); n > 8<<10 {
				t.Errorf("tail holds %d bytes, cap 8 KiB", n)
			}
			tail := inst.out.tail.String()
			if !strings.HasPrefix(tail, "[") || !strings.Contains(tail, "earlier bytes not kept]") {
				t.Errorf("tail does not say output was dropped: %.100q", tail)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(10)
	tb.Write([]byte("abc"))
	if tb.String() != "abc" {
		t.Fatalf("%q", tb.String())
	}
	tb.Write([]byte("defghijk\nlm"))
	// Kept "efghijk\nlm" (10 bytes), cut to the first full line.
	if got := tb.String(); got != "[12 earlier bytes not kept]\nlm" {
		t.Errorf("%q", got)
	}
	tb.Write([]byte(strings.Repeat("z", 25)))
	if len(tb.buf) != 10 || tb.total != 39 {
		t.Errorf("len %d total %d", len(tb.buf), tb.total)
	}
	small := newTailBuffer(4)
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		small.Write([]byte(s))
	}
	if got := small.String(); got != "[2 earlier bytes not kept]\ncdef" {
		t.Errorf("%q", got)
	}
}

func TestChainRouting(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	chain := NewChain(
		instantiate(t, compileFixture(t, r, "filter_even"), InstanceConfig{}),
		instantiate(t, compileFixture(t, r, "rows_named"), InstanceConfig{}),
		instantiate(t, compileFixture(t, r, "passthrough"), InstanceConfig{}),
	)
	defer chain.Close(context.Background())
	page := makePage(t, 9, 20)
	out, err := chain.Process(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if names := out.Names(); !slices.Equal(names, []string{"", "audit"}) {
		t.Fatalf("names %q", names)
	}
	def := out.Default()
	if len(def) != 1 || def[0].Rows() != 10 || def[0].Page().Number != 9 {
		t.Fatalf("default = %+v", def)
	}
	for k := range 10 {
		if got := cellInt(t, def[0].Materialize(), k); got != int32(2*k) {
			t.Errorf("row %d: n=%d", k, got)
		}
	}
	audit := out.Get("audit")
	c, _ := audit[0].Page().Row(0).Cell(0)
	if v, _ := abi.DecodeInt(c); v != 10 {
		t.Errorf("rows_named saw %d rows, want the 10 filter_even kept", v)
	}
}

// TestChainSkipsAfterEmpty: when a plugin's default output is empty the
// rest of the chain is not called for that page.
func TestChainSkipsAfterEmpty(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	counter := instantiate(t, compileFixture(t, r, "counter"), InstanceConfig{})
	chain := NewChain(instantiate(t, compileFixture(t, r, "rows_named"), InstanceConfig{}), counter)
	defer chain.Close(context.Background())
	out, err := chain.Process(context.Background(), makePage(t, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Empty() && len(out.Default()) != 0 {
		t.Errorf("default output of an empty page: %+v", out.Default())
	}
	if out.Rows("audit") != 1 {
		t.Errorf("named output of the first plugin is still collected: %+v", out.All())
	}
	state, _ := counter.Snapshot(context.Background())
	if binary.LittleEndian.Uint64(state) != 0 {
		t.Errorf("counter was called with an empty page")
	}
}

func TestChainFlush(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	chain := NewChain(
		instantiate(t, compileFixture(t, r, "counter"), InstanceConfig{}),
		instantiate(t, compileFixture(t, r, "rows_named"), InstanceConfig{}),
	)
	defer chain.Close(context.Background())
	for n := uint64(1); n <= 3; n++ {
		if _, err := chain.Process(context.Background(), makePage(t, n, 5)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := chain.Flush(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// counter's flush row went through rows_named (audit: 1 row seen).
	if got := flushCount(t, out, "count"); got != 15 {
		t.Errorf("count = %d", got)
	}
	if out.Default()[0].Page().Number != 3 {
		t.Errorf("flush page numbered %d, want the last page 3", out.Default()[0].Page().Number)
	}
	if out.Rows("audit") != 1 {
		t.Errorf("audit = %+v", out.Get("audit"))
	}
}

func TestSwapCarriesState(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	v1 := instantiate(t, compileFixture(t, r, "counter"), InstanceConfig{})
	chain := NewChain(instantiate(t, compileFixture(t, r, "passthrough"), InstanceConfig{}), v1)
	defer chain.Close(context.Background())
	for n := uint64(1); n <= 3; n++ {
		if _, err := chain.Process(context.Background(), makePage(t, n, 7)); err != nil {
			t.Fatal(err)
		}
	}
	v2m := compileFixture(t, r, "counter_v2")
	v2, err := v2m.Instantiate(context.Background(), InstanceConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := chain.Swap(context.Background(), 1, v2); err != nil {
		t.Fatal(err)
	}
	if chain.Instance(1) != v2 {
		t.Fatal("not swapped")
	}
	if _, err := v1.Process(context.Background(), makePage(t, 9, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("old instance not closed: %v", err)
	}
	if _, err := chain.Process(context.Background(), makePage(t, 4, 7)); err != nil {
		t.Fatal(err)
	}
	out, err := chain.Flush(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := flushCount(t, out, "count_v2"); got != 28 {
		t.Errorf("count after swap = %d, want 21 carried + 7", got)
	}
}

func TestSwapFailingRestoreKeepsOld(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	old := instantiate(t, compileFixture(t, r, "counter"), InstanceConfig{Plugin: "count"})
	chain := NewChain(old)
	defer chain.Close(context.Background())
	if _, err := chain.Process(context.Background(), makePage(t, 1, 4)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"restore_fails", "passthrough"} {
		next, err := compileFixture(t, r, name).Instantiate(context.Background(), InstanceConfig{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		err = chain.Swap(context.Background(), 0, next)
		if err == nil {
			t.Fatalf("%s: swap succeeded", name)
		}
		var pe *PluginError
		if !errors.As(err, &pe) || pe.Func != abi.ExportRestore {
			t.Fatalf("%s: %v", name, err)
		}
		containsAll(t, err.Error(), `swap plugin "count": restoring 8 bytes of state into module `+next.Module().ShortHash()+" failed; still running module "+old.Module().ShortHash())
		if chain.Instance(0) != old {
			t.Fatalf("%s: old instance replaced", name)
		}
		if !next.closed {
			t.Errorf("%s: rejected instance not closed", name)
		}
	}
	if _, err := chain.Process(context.Background(), makePage(t, 2, 4)); err != nil {
		t.Fatalf("old instance no longer works: %v", err)
	}
	out, err := chain.Flush(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := flushCount(t, out, "count"); got != 8 {
		t.Errorf("count = %d, want 8", got)
	}
	if err := chain.Swap(context.Background(), 5, old); err == nil {
		t.Error("swap of an out-of-range index succeeded")
	}
}

// TestConcurrentInstances: 8 goroutines, each with its own instances of one
// shared Module, process pages at once (run with -race).
func TestConcurrentInstances(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	filter := compileFixture(t, r, "filter_even")
	counter := compileFixture(t, r, "counter")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			f, err := filter.Instantiate(ctx, InstanceConfig{Logger: quiet})
			if err != nil {
				errs <- err
				return
			}
			c, err := counter.Instantiate(ctx, InstanceConfig{Logger: quiet})
			if err != nil {
				_ = f.Close(ctx)
				errs <- err
				return
			}
			chain := NewChain(f, c)
			defer chain.Close(ctx)
			b := abi.NewPageBuilder(testSchema, 0, uint32(g))
			total := 0
			for n := 1; n <= 40; n++ {
				rows := 10 + g + n
				page := buildPage(b, uint64(n), rows)
				out, err := chain.Process(ctx, page)
				if err != nil {
					errs <- err
					return
				}
				if got, want := out.Rows(""), (rows+1)/2; got != want {
					errs <- fmt.Errorf("goroutine %d page %d: %d rows, want %d", g, n, got, want)
					return
				}
				total += (rows + 1) / 2
			}
			state, err := c.Snapshot(ctx)
			if err != nil {
				errs <- err
				return
			}
			if got := binary.LittleEndian.Uint64(state); got != uint64(total) {
				errs <- fmt.Errorf("goroutine %d: counted %d, want %d", g, got, total)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// buildPage builds a page of testSchema with b (no testing.TB: usable from
// goroutines).
func buildPage(b *abi.PageBuilder, number uint64, nrows int) *abi.Page {
	b.Reset(testSchema, number, 0)
	var id [16]byte
	for i := range nrows {
		id[15] = byte(i)
		b.AppendCell(abi.AppendUUID(nil, id))
		b.AppendCell(abi.AppendInt(nil, int32(i)))
		b.AppendCell(abi.AppendBigint(nil, int64(i)))
		b.AppendCell([]byte("name"))
		b.AppendCell(abi.AppendBoolean(nil, true))
		b.AppendCell(abi.AppendDouble(nil, 1.5))
		b.AppendCell(abi.AppendTimestamp(nil, 1_700_000_000_000))
		b.AppendCell([]byte{1, 2})
		b.AppendCell(abi.AppendList(nil, [][]byte{[]byte("a")}))
		b.AppendNull()
		_ = b.EndRow()
	}
	return b.Page()
}

func TestCloseIdempotent(t *testing.T) {
	ctx := context.Background()
	r, err := NewRuntime(ctx, RuntimeConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.CompileFile(ctx, "p", "testdata/passthrough.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := m.Instantiate(ctx, InstanceConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	chain := NewChain(inst)
	for range 2 {
		if err := chain.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := inst.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inst.Process(ctx, makePage(t, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("process after close: %v", err)
	}
	if _, err := chain.Process(ctx, makePage(t, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("chain process after close: %v", err)
	}
	// A live instance when the runtime closes: closing it later is fine.
	inst2, err := m.Instantiate(ctx, InstanceConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Instantiate(ctx, InstanceConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("instantiate after module close: %v", err)
	}
	for range 2 {
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := inst2.Close(ctx); err != nil {
		t.Errorf("instance close after runtime close: %v", err)
	}
	if _, err := r.Compile(ctx, "p", fixture(t, "passthrough")); !errors.Is(err, ErrClosed) {
		t.Errorf("compile after close: %v", err)
	}
}

func TestCompileShared(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, RuntimeConfig{CacheDir: t.TempDir()})
	wasm := fixture(t, "filter_even")
	a, err := r.Compile(ctx, "a", wasm)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Compile(ctx, "b", wasm)
	if err != nil {
		t.Fatal(err)
	}
	if a.cm != b.cm || a.SHA256 != b.SHA256 || a.ShortHash() != a.SHA256[:12] || len(a.SHA256) != 64 {
		t.Fatalf("same bytes compiled twice: %v %v", a.SHA256, b.SHA256)
	}
	_ = a.Close(ctx)
	// b still works after a is closed.
	inst := instantiate(t, b, InstanceConfig{})
	if _, err := inst.Process(ctx, makePage(t, 1, 3)); err != nil {
		t.Fatal(err)
	}
	_ = b.Close(ctx)
	r.mu.Lock()
	n := len(r.compiled)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d compiled modules left after every Module closed", n)
	}
}

func TestMemoryLimitConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := NewRuntime(ctx, RuntimeConfig{MemoryLimitPages: 70000}); err == nil {
		t.Error("a limit over 4 GiB accepted")
	}
	r := newRuntime(t, RuntimeConfig{MemoryLimitPages: 2500})
	// big_memory needs 2000 pages: fine under this runtime's limit...
	inst := instantiate(t, compileFixture(t, r, "big_memory"), InstanceConfig{})
	if inst.MemorySize() != 2000*wasmPageSize {
		t.Errorf("memory %d", inst.MemorySize())
	}
	// ...but not under a lower per-instance limit.
	_, err := compileFixture(t, r, "big_memory").Instantiate(ctx, InstanceConfig{MemoryLimitPages: 100, Logger: quiet})
	asPluginError(t, err, KindLoad)
}

func TestErrorReport(t *testing.T) {
	pe := &PluginError{
		Stream: "users", Plugin: "filter", Module: "3f2a9c1b7d4e", ABI: "1.0",
		Func: abi.ExportProcess, Page: 17, Split: 3, Row: 42, Kind: KindTrap,
		Message:    "wasm error: unreachable",
		WasmStack:  ".filter.process(i32,i32) i64\n\t0x1a2: filter.go:12:3\n.sluice_process(i32,i32) i64",
		StderrTail: "panic: bad row\n",
		Resume:     "split 3 at page state 0a1b2c",
	}
	want := `stream "users": plugin "filter" (module 3f2a9c1b7d4e, ABI 1.0) failed on page 17 split 3 row 42: wasm error: unreachable
wasm stack trace:
	.filter.process(i32,i32) i64
	0x1a2: filter.go:12:3
	.sluice_process(i32,i32) i64
plugin output (tail):
	| panic: bad row
resume from: split 3 at page state 0a1b2c`
	if got := pe.Error(); got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	load := &PluginError{Plugin: "x", Module: "aaaaaaaaaaaa", File: "x.wasm", Row: -1, Kind: KindLoad, Message: "missing export"}
	if got := load.Error(); got != `plugin "x" (module aaaaaaaaaaaa, file x.wasm) failed to load: missing export` {
		t.Errorf("load report: %s", got)
	}
	inInit := &PluginError{Plugin: "x", Module: "aaaaaaaaaaaa", ABI: "1.0", Func: "sluice_init", Row: -1, Kind: KindPluginReported, Message: "bad config"}
	if got := inInit.Error(); got != `plugin "x" (module aaaaaaaaaaaa, ABI 1.0) failed in sluice_init: plugin reported: bad config` {
		t.Errorf("init report: %s", got)
	}
	if KindMemoryLimit.String() != "memory limit" || ErrorKind(99).String() != "kind(99)" {
		t.Error("kind names")
	}
}

func TestCountBits(t *testing.T) {
	for n := range 200 {
		bm := make([]byte, abi.BitmapLen(n)+1)
		for i := range bm {
			bm[i] = byte(i*37 + 11)
		}
		if got, want := countBits(bm, n), abi.BitmapCount(bm, n); got != want {
			t.Fatalf("n=%d: %d, want %d", n, got, want)
		}
	}
}

// TestCompileHammer: Compile, Instantiate and Close of modules of the same
// bytes from many goroutines at once (the Runtime's compiled-module table
// is its only lock).
func TestCompileHammer(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	wasm := fixture(t, "filter_even")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			b := abi.NewPageBuilder(testSchema, 0, 0)
			for n := range 25 {
				m, err := r.Compile(ctx, fmt.Sprintf("f%d", g), wasm)
				if err != nil {
					errs <- err
					return
				}
				inst, err := m.Instantiate(ctx, InstanceConfig{Logger: quiet})
				if err != nil {
					errs <- err
					return
				}
				_ = m.Close(ctx) // the instance keeps working
				if _, err := inst.Process(ctx, buildPage(b, uint64(n+1), 9)); err != nil {
					errs <- err
				}
				_ = inst.Close(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.compiled) != 0 {
		t.Errorf("%d compiled modules leaked", len(r.compiled))
	}
}
