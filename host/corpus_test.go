package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
)

// TestWasmFixturesUpToDate checks that every committed testdata/*.wasm is
// exactly what build.sh (wat2wasm) makes of its .wat. Without wat2wasm it
// skips locally and fails under CI=true.
func TestWasmFixturesUpToDate(t *testing.T) {
	wats, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if err != nil || len(wats) == 0 {
		t.Fatalf("no testdata/*.wat: %v", err)
	}
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("wat2wasm (wabt) is not on PATH; CI must install it (apt-get install wabt)")
		}
		t.Skip("wat2wasm not on PATH; install wabt to check the committed .wasm fixtures")
	}
	dir := t.TempDir()
	for _, wat := range wats {
		base := strings.TrimSuffix(filepath.Base(wat), ".wat")
		out := filepath.Join(dir, base+".wasm")
		if b, err := exec.Command(tool, "--debug-names", wat, "-o", out).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v\n%s", wat, err, b)
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("testdata", base+".wasm"))
		if err != nil {
			t.Errorf("%s.wat has no committed .wasm (run host/testdata/build.sh): %v", base, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s.wasm is stale: run host/testdata/build.sh", base)
		}
	}
}

// TestCompileRefuses: modules refused by Compile, before any guest code
// runs, each with the message that says what is wrong.
func TestCompileRefuses(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	cases := []struct {
		name   string
		wasm   []byte // nil: testdata/<name>.wasm
		expect []string
	}{
		{name: "invalid_bytes", wasm: []byte("hello, not wasm"), expect: []string{"not a WebAssembly module", `"hello, n"`}},
		{name: "empty", wasm: []byte{}, expect: []string{"not a WebAssembly module (0 bytes"}},
		{name: "truncated", wasm: []byte("\x00asm\x01\x00\x00\x00\x01\x05"), expect: []string{"invalid WebAssembly"}},
		{name: "missing_export", expect: []string{"missing required export sluice_process (i32, i32) -> (i64)"}},
		{name: "mistyped_export", expect: []string{"export sluice_process has signature (i32) -> (i32), want (i32, i32) -> (i64)"}},
		{name: "no_memory", expect: []string{"missing required export memory"}},
		{name: "command", expect: []string{"exports _start", "reactor", "-buildmode=c-shared"}},
		{name: "import_env_foo", expect: []string{"import env.foo is not allowed", "sluice.log"}},
		{name: "import_memory", expect: []string{"import env.memory is a memory", "--import-memory"}},
		{name: "wasi_bad_signature", expect: []string{"import wasi_snapshot_preview1.fd_write has signature (i32) -> (i32), want (i32, i32, i32, i32) -> (i32)"}},
		{name: "wasi_unknown", expect: []string{"import wasi_snapshot_preview1.open_the_pod_bay_doors is not a WASI preview 1 function"}},
		{name: "snapshot_no_restore", expect: []string{"exports sluice_snapshot but not sluice_restore"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wasm := tc.wasm
			if wasm == nil {
				wasm = fixture(t, tc.name)
			}
			m, err := r.Compile(context.Background(), tc.name+".wasm", wasm)
			if err == nil {
				_ = m.Close(context.Background())
			}
			pe := asPluginError(t, err, KindLoad)
			if pe.Plugin != tc.name+".wasm" || len(pe.Module) != 12 {
				t.Errorf("error names plugin %q module %q", pe.Plugin, pe.Module)
			}
			msg := err.Error()
			containsAll(t, msg, tc.expect...)
			containsAll(t, msg, `plugin "`+tc.name+`.wasm"`, "failed to load")
		})
	}
}

// TestCompileListsEveryProblem: all problems of a module are reported at
// once.
func TestCompileListsEveryProblem(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	// A module with nothing: every required export is missing.
	_, err := r.Compile(context.Background(), "empty.wasm", []byte("\x00asm\x01\x00\x00\x00"))
	pe := asPluginError(t, err, KindLoad)
	containsAll(t, pe.Message, "5 problems", "sluice_abi_version", "sluice_alloc", "sluice_init", "sluice_process", "memory")
}

// TestInstantiateRefuses: modules that compile but fail while being set up.
func TestInstantiateRefuses(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	cases := []struct {
		name   string
		kind   ErrorKind
		fn     string
		expect []string
	}{
		{"big_memory", KindLoad, "", []string{"initial memory of 125 MiB (2000 pages) is over the memory limit of 64 MiB (1024 pages)"}},
		{"abi_v2", KindLoad, "sluice_abi_version", []string{"plugin ABI version 2.0, host ABI version 1.0", "ABI 2.0"}},
		{"abi_v1_1", KindLoad, "sluice_abi_version", []string{"plugin ABI version 1.1, host ABI version 1.0", "newer host"}},
		{"start_trap", KindTrap, "start section", []string{"unreachable", "wasm stack trace"}},
		{"init_trap", KindTrap, "sluice_init", []string{"failed in sluice_init", "wasm error: unreachable", "wasm stack trace"}},
		{"alloc_lies", KindBadOutput, "sluice_alloc", []string{"sluice_alloc(8) returned pointer 4294967040: [4294967040, 4294967048) reaches past the end of the plugin's memory (131072 bytes) (needed for sluice_init)"}},
		{"init_error", KindPluginReported, "sluice_init", []string{`plugin reported: missing required config key "field"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compileFixture(t, r, tc.name)
			inst, err := m.Instantiate(context.Background(), InstanceConfig{Stream: "s1", Logger: quiet})
			if err == nil {
				_ = inst.Close(context.Background())
			}
			pe := asPluginError(t, err, tc.kind)
			if pe.Func != tc.fn {
				t.Errorf("Func = %q, want %q", pe.Func, tc.fn)
			}
			containsAll(t, err.Error(), tc.expect...)
			containsAll(t, err.Error(), `stream "s1": plugin "`+tc.name+`"`, "file testdata/"+tc.name+".wasm")
		})
	}
}

// TestProcessFailures is the corpus of modules that fail on a page: each
// error is classified and reported, and the instance is never reused.
func TestProcessFailures(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	cases := []struct {
		name   string
		cfg    InstanceConfig
		page   uint64 // page number that fails (earlier pages succeed)
		kind   ErrorKind
		row    int64
		expect []string
		stack  bool // a wasm stack trace is expected
	}{
		{name: "trap_page3", page: 3, kind: KindTrap, row: -1,
			expect: []string{"failed on page 3 split 0: wasm error: unreachable"}, stack: true},
		{name: "oob", page: 1, kind: KindTrap, row: -1,
			expect: []string{"out of bounds memory access"}, stack: true},
		{name: "stack_overflow", page: 1, kind: KindTrap, row: -1,
			expect: []string{"wasm error: stack overflow"}},
		{name: "infinite_loop", cfg: InstanceConfig{PageTimeout: 200 * time.Millisecond}, page: 1, kind: KindTimeout, row: -1,
			expect: []string{"timed out: sluice_process did not return within 200ms (PageTimeout)"}},
		{name: "memory_bomb", cfg: InstanceConfig{MemoryLimitPages: 32}, page: 1, kind: KindMemoryLimit, row: -1,
			expect: []string{"memory limit of 2 MiB reached", "from 1.1 MiB to 2.1 MiB was refused", "unreachable"}, stack: true},
		{name: "exit", page: 1, kind: KindExit, row: -1,
			expect: []string{"exited with code 3 (WASI proc_exit) during sluice_process"}},
		{name: "giant_output", page: 1, kind: KindBadOutput, row: -1,
			expect: []string{"result handle [ptr=0, len=4294967280] reaches past the end of the plugin's memory (131072 bytes)"}},
		{name: "result_over_cap", cfg: InstanceConfig{ResultCap: 1 << 20}, page: 1, kind: KindBadOutput, row: -1,
			expect: []string{"result of 2 MiB (2097152 bytes) is over the cap of 1 MiB"}},
		{name: "malformed_result", page: 1, kind: KindBadOutput, row: -1,
			expect: []string{"magic 0x58585858", "SLR1"}},
		{name: "lying_ptr", page: 1, kind: KindBadOutput, row: -1,
			expect: []string{"result handle [ptr=131068, len=100] reaches past the end"}},
		{name: "select_wrong_rows", page: 1, kind: KindBadOutput, row: -1,
			expect: []string{"nrows=11, must equal the input page's 10 rows"}},
		{name: "error_row", page: 1, kind: KindPluginReported, row: 2,
			expect: []string{`failed on page 1 split 0 row 2: plugin reported: bad value in column "age"`}},
		{name: "log_bad_ptr", page: 1, kind: KindTrap, row: -1,
			expect: []string{"sluice.log: message [ptr=4294967040, len=1000] is outside the plugin's memory"}, stack: true},
		{name: "abort", page: 1, kind: KindTrap, row: -1,
			expect: []string{"abort: boom! at a.ts:7:3"}, stack: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compileFixture(t, r, tc.name)
			cfg := tc.cfg
			cfg.Stream = "users"
			inst := instantiate(t, m, cfg)
			var err error
			for n := uint64(1); n <= tc.page; n++ {
				_, err = inst.Process(context.Background(), makePage(t, n, 10))
				if n < tc.page && err != nil {
					t.Fatalf("page %d: %v", n, err)
				}
			}
			pe := asPluginError(t, err, tc.kind)
			if pe.Page != tc.page || pe.Row != tc.row || pe.Func != abi.ExportProcess {
				t.Errorf("page %d row %d func %q, want page %d row %d", pe.Page, pe.Row, pe.Func, tc.page, tc.row)
			}
			if pe.ABI != "1.0" || pe.Module != m.ShortHash() || pe.Plugin != tc.name || pe.Stream != "users" {
				t.Errorf("identity: %+v", pe)
			}
			report := err.Error()
			if !strings.HasPrefix(report, `stream "users": plugin "`+tc.name+`" (module `+m.ShortHash()+`, ABI 1.0, file testdata/`+tc.name+`.wasm) failed on page `) {
				t.Errorf("first line: %s", strings.SplitN(report, "\n", 2)[0])
			}
			containsAll(t, report, tc.expect...)
			if tc.stack != (pe.WasmStack != "") {
				t.Errorf("wasm stack = %q, want present=%v", pe.WasmStack, tc.stack)
			}
			if tc.stack {
				containsAll(t, report, "\nwasm stack trace:\n\t")
			}

			// Never reused: the next call fails with ErrDead and the original error.
			_, err2 := inst.Process(context.Background(), makePage(t, tc.page+1, 10))
			if !errors.Is(err2, ErrDead) {
				t.Fatalf("second call: %v, want ErrDead", err2)
			}
			var first *PluginError
			if !errors.As(err2, &first) || first != pe {
				t.Errorf("second call does not carry the first error: %v", err2)
			}
			if _, err := inst.Snapshot(context.Background()); !errors.Is(err, ErrDead) {
				t.Errorf("snapshot after failure: %v", err)
			}
			if !errors.Is(inst.Err(), err) && inst.Err() != error(pe) {
				t.Errorf("Err() = %v", inst.Err())
			}
		})
	}
}

// TestErrorIs: kinds map onto standard sentinels.
func TestErrorIs(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "infinite_loop"), InstanceConfig{PageTimeout: 100 * time.Millisecond})
	_, err := inst.Process(context.Background(), makePage(t, 1, 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout is not DeadlineExceeded: %v", err)
	}
	bomb := instantiate(t, compileFixture(t, r, "memory_bomb"), InstanceConfig{MemoryLimitPages: 16})
	_, err = bomb.Process(context.Background(), makePage(t, 1, 1))
	if !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("memory bomb is not ErrMemoryLimit: %v", err)
	}
}

// TestCallerCancel: the caller's context ending stops a runaway guest and is
// reported as KindCanceled, not as a page timeout.
func TestCallerCancel(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	inst := instantiate(t, compileFixture(t, r, "infinite_loop"), InstanceConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := inst.Process(ctx, makePage(t, 1, 1))
	pe := asPluginError(t, err, KindCanceled)
	containsAll(t, pe.Message, "the caller's context ended")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("not DeadlineExceeded: %v", err)
	}
}
