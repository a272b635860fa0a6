package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ---- restore into a plugin without restore ------------------------------------
//
// ABI.md section 5: state saved by one version of a plugin is never
// silently dropped by a version that cannot read it. A plugin that
// implements no restore therefore refuses non-empty state (the host then
// refuses the hot swap and keeps the old instance) and accepts empty state.
//
// The Go, Rust and AssemblyScript SDKs export sluice_restore for every
// plugin; their default restore answers non-empty state with
// noRestoreMessage. The C SDK exports sluice_restore only with
// SLUICE_WITH_SNAPSHOT, which requires the plugin's own restore; without
// it the module has no sluice_restore and the host refuses the state
// itself, before calling anything.

// noRestoreMessage is the ERROR message of the Go, Rust and AssemblyScript
// SDKs for n bytes of state handed to a plugin without restore.
func noRestoreMessage(n int) string {
	return fmt.Sprintf("sluice sdk: plugin cannot restore state: it implements no restore, so the %d bytes of state of the instance it replaces would be lost", n)
}

// statelessExamples are the examples that implement no snapshot or restore
// (in any language), each with a config it accepts.
var statelessExamples = []struct {
	name   string
	config map[string]any
}{
	{"filter", map[string]any{"column": "id", "op": ">", "value": "0"}},
	{"project", map[string]any{"columns": []any{"id", "c_text"}}},
	{"redact", map[string]any{"columns": "c_email"}},
}

// TestRestoreWithoutRestore: in every language, a plugin without restore
// refuses non-empty state with the SDK's error (the host's for C), and
// accepts empty state, after which it processes pages as usual. The state
// is a real one, count_by's snapshot in the same language: what a stream
// that swaps a counting plugin for a stateless one would hand over.
func TestRestoreWithoutRestore(t *testing.T) {
	ctx := context.Background()
	pages := goodPages(t)
	for _, lang := range langs {
		cb := module(t, "count_by", lang)
		if cb == nil {
			continue
		}
		state := snapshotAfter(t, cb, flatten(t, map[string]any{"column": "c_country"}), pages[:1])
		if len(state) == 0 {
			t.Fatalf("%s: count_by snapshot is empty", lang)
		}
		for _, ex := range statelessExamples {
			mod := module(t, ex.name, lang)
			if mod == nil {
				continue
			}
			t.Run(ex.name+"/"+lang, func(t *testing.T) {
				kvs := flatten(t, ex.config)
				inst, err := mod.Instantiate(ctx, host.InstanceConfig{Stream: "conformance", Plugin: ex.name, Config: kvs})
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close(ctx)
				err = inst.Restore(ctx, state)
				var pe *host.PluginError
				if !errors.As(err, &pe) {
					t.Fatalf("restore of %d bytes: %v, want a refusal (*host.PluginError)", len(state), err)
				}
				if pe.Func != abi.ExportRestore {
					t.Errorf("refusal names export %q, want %q", pe.Func, abi.ExportRestore)
				}
				if lang == "c" {
					// No SLUICE_WITH_SNAPSHOT: no sluice_restore, the host refuses.
					if mod.HasSnapshot() {
						t.Errorf("the C build of %s exports sluice_snapshot", ex.name)
					}
					if pe.Kind != host.KindLoad || !strings.Contains(pe.Message, "does not export "+abi.ExportRestore) {
						t.Errorf("refusal: %s: %q, want the host's: the module does not export %s", pe.Kind, pe.Message, abi.ExportRestore)
					}
				} else if pe.Kind != host.KindPluginReported || pe.Row != -1 || pe.Message != noRestoreMessage(len(state)) {
					t.Errorf("refusal: %s, row %d: %q\nwant the SDK's ERROR, row -1: %q", pe.Kind, pe.Row, pe.Message, noRestoreMessage(len(state)))
				}

				// Empty state, as a stateless plugin snapshots to: accepted,
				// and the instance keeps working.
				inst, err = mod.Instantiate(ctx, host.InstanceConfig{Stream: "conformance", Plugin: ex.name, Config: kvs})
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close(ctx)
				for _, empty := range [][]byte{nil, {}} {
					if err := inst.Restore(ctx, empty); err != nil {
						t.Fatalf("restore of empty state %#v: %v", empty, err)
					}
				}
				if _, err := inst.Process(ctx, pages[0]); err != nil {
					t.Fatalf("page after restoring empty state: %v", err)
				}
				if snap, err := inst.Snapshot(ctx); err != nil || len(snap) != 0 {
					t.Errorf("snapshot of a plugin without state: %x, %v; want no state", snap, err)
				}
			})
		}
	}
}

// TestRestoreOwnSnapshot: a plugin with restore (count_by) accepts its own
// snapshot in every language, and the restored instance snapshots to the
// same bytes. (TestCountBySnapshot restores across languages.)
func TestRestoreOwnSnapshot(t *testing.T) {
	ctx := context.Background()
	pages := goodPages(t)
	kvs := flatten(t, map[string]any{"column": "c_text"})
	for _, lang := range langs {
		mod := module(t, "count_by", lang)
		if mod == nil {
			continue
		}
		state := snapshotAfter(t, mod, kvs, pages[:2])
		inst, err := mod.Instantiate(ctx, host.InstanceConfig{Stream: "conformance", Plugin: "count_by", Config: kvs})
		if err != nil {
			t.Fatal(err)
		}
		if err := inst.Restore(ctx, state); err != nil {
			t.Errorf("%s: restore of its own snapshot (%d bytes): %v", lang, len(state), err)
		} else if again, err := inst.Snapshot(ctx); err != nil || !bytes.Equal(again, state) {
			t.Errorf("%s: snapshot after restore: %x, %v\nwant the restored %x", lang, again, err, state)
		}
		inst.Close(ctx)
	}
}

// TestRestoreEmptyAtExport calls sluice_restore with 0 bytes directly, a
// call the host never makes (it skips the restore of empty state) but
// another host or a harness may: every SDK that exports sluice_restore
// answers handle 0 (success) for a plugin without restore. The C build of
// filter exports no sluice_restore at all.
func TestRestoreEmptyAtExport(t *testing.T) {
	kvs := flatten(t, statelessExamples[0].config)
	for _, lang := range langs {
		p := wasmPath("filter", lang)
		if _, err := os.Stat(p); err != nil {
			continue // TestBuildsPresent reports it
		}
		t.Run(lang, func(t *testing.T) {
			m := rawInstantiate(t, p)
			if res := rawCall(t, m, abi.ExportInit, abi.EncodeConfig(kvs)); res != nil {
				t.Fatalf("sluice_init: %x", res)
			}
			if m.ExportedFunction(abi.ExportRestore) == nil {
				if lang != "c" {
					t.Fatalf("the %s build exports no %s", lang, abi.ExportRestore)
				}
				return
			}
			if res := rawCall(t, m, abi.ExportRestore, []byte{}); res != nil {
				t.Errorf("sluice_restore of 0 bytes: result %x, want handle 0", res)
			}
			res := rawCall(t, m, abi.ExportRestore, []byte{1, 2, 3})
			r, err := abi.DecodeResult(res, -1, abi.Limits{})
			if err != nil || len(r.Sections) != 1 || r.Sections[0].ErrMsg != noRestoreMessage(3) {
				t.Errorf("sluice_restore of 3 bytes: %+v, %v; want one ERROR %q", r, err, noRestoreMessage(3))
			}
		})
	}
}

// rawInstantiate instantiates the build at path in a bare wazero runtime:
// WASI preview 1, a sluice.log that discards, _initialize run if exported.
func rawInstantiate(t *testing.T, path string) api.Module {
	t.Helper()
	ctx := context.Background()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wazero.NewRuntimeConfig()
	if dir := cacheDir(); dir != "" {
		// Not the host's cache: its runtime is configured differently.
		if c, err := wazero.NewCompilationCacheWithDir(dir + "-raw"); err == nil {
			t.Cleanup(func() { c.Close(ctx) })
			cfg = cfg.WithCompilationCache(c)
		}
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if _, err := r.NewHostModuleBuilder("sluice").NewFunctionBuilder().
		WithFunc(func(context.Context, int32, int32, int32) {}).Export("log").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// rawCall writes input where sluice_alloc says, calls fn(ptr, len(input))
// and returns a copy of the bytes of the handle it returns (nil for 0).
func rawCall(t *testing.T, m api.Module, fn string, input []byte) []byte {
	t.Helper()
	ctx := context.Background()
	a, err := m.ExportedFunction(abi.ExportAlloc).Call(ctx, uint64(max(len(input), 1)))
	if err != nil {
		t.Fatalf("sluice_alloc: %v", err)
	}
	if !m.Memory().Write(uint32(a[0]), input) {
		t.Fatalf("sluice_alloc returned %#x, outside memory", a[0])
	}
	r, err := m.ExportedFunction(fn).Call(ctx, a[0], uint64(len(input)))
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	if r[0] == 0 {
		return nil
	}
	ptr, n := abi.SplitHandle(r[0])
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		t.Fatalf("%s: handle %#x outside memory", fn, r[0])
	}
	return bytes.Clone(b)
}
