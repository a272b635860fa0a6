package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluicehq/sluice/abi"
)

// Module is a validated, compiled plugin module: one per module version
// (the SHA-256 of its bytes). Compiling the same bytes again reuses the
// machine code.
//
// A Module is immutable after Compile and safe to share across goroutines:
// any number of goroutines may call Instantiate concurrently, each getting
// its own Instance. Close releases the compiled code once every Module of
// the same bytes is closed; instances already created keep running.
type Module struct {
	// Name is the plugin name given to Compile (the config's plugin name
	// or the file name); it names the plugin in errors and logs.
	Name string
	// SHA256 is the lowercase hex SHA-256 of the module bytes.
	SHA256 string
	// Path is the file the module was read from ("" when compiled from
	// bytes).
	Path string

	rt      *Runtime
	cm      wazero.CompiledModule
	exports exportSet
	minMem  uint32 // initial memory, in pages
	closed  atomic.Bool
}

// exportSet says which optional exports a module has.
type exportSet struct {
	initialize, flush, snapshot, restore bool
}

// ShortHash returns the first 12 hex digits of SHA256, the module's
// identity in logs and errors.
func (m *Module) ShortHash() string { return m.SHA256[:12] }

// HasSnapshot reports whether the module exports sluice_snapshot (and so
// sluice_restore): whether its state survives a hot swap.
func (m *Module) HasSnapshot() bool { return m.exports.snapshot }

// HasFlush reports whether the module exports sluice_flush.
func (m *Module) HasFlush() bool { return m.exports.flush }

// CompileFile reads path and compiles it like Compile, recording Path.
func (r *Runtime) CompileFile(ctx context.Context, name, path string) (*Module, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, &PluginError{Plugin: name, File: path, Row: -1, Kind: KindLoad,
			Message: fmt.Sprintf("read module: %v", err), Err: err}
	}
	return r.compile(ctx, name, path, wasm)
}

// Compile validates and compiles a plugin module. Everything that can be
// checked without running guest code is checked here, before any row is
// read: the bytes are valid WebAssembly; the module is a reactor, not a
// WASI command (_start); the required exports exist with their exact
// signatures (sluice_abi_version, sluice_alloc, sluice_init,
// sluice_process, memory) and so do the optional ones it has
// (sluice_flush, sluice_snapshot, sluice_restore, _initialize); it imports
// only sluice.log, WASI preview 1 functions wazero implements, and
// env.abort/env.seed/env.trace (AssemblyScript), each with the right
// signature. The ABI version is read by Instantiate.
//
// Errors are *PluginError of kind KindLoad naming the plugin and listing
// every problem found.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Module, error) {
	return r.compile(ctx, name, "", wasm)
}

func (r *Runtime) compile(ctx context.Context, name, path string, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	m := &Module{Name: name, SHA256: hex.EncodeToString(sum[:]), Path: path, rt: r}
	loadErr := func(msg string, err error) *PluginError {
		return &PluginError{Plugin: name, Module: m.ShortHash(), File: path, Row: -1, Kind: KindLoad, Message: msg, Err: err}
	}
	if r.closed.Load() {
		return nil, errRuntimeClosed("compile " + name)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, loadErr(fmt.Sprintf("not a WebAssembly module (%d bytes, starting %q; want the magic \"\\x00asm\")",
			len(wasm), validUTF8Prefix(string(wasm[:min(len(wasm), 8)]), 8)), nil)
	}

	cm, err := r.acquire(ctx, m.SHA256, wasm)
	if err != nil {
		return nil, loadErr(fmt.Sprintf("invalid WebAssembly: %v", err), err)
	}
	m.cm = cm
	problems, err := r.validate(m, wasm)
	if err != nil {
		r.release(ctx, m.SHA256)
		return nil, loadErr(err.Error(), err)
	}
	if len(problems) > 0 {
		r.release(ctx, m.SHA256)
		msg := problems[0]
		if len(problems) > 1 {
			msg = fmt.Sprintf("%d problems:\n  - %s", len(problems), strings.Join(problems, "\n  - "))
		}
		return nil, loadErr(msg, errInvalidModule)
	}
	return m, nil
}

// errInvalidModule is wrapped by Load errors for a module that compiled but
// does not follow the plugin contract.
var errInvalidModule = fmt.Errorf("module does not follow the sluice plugin ABI v%d", abi.Major)

// acquire compiles wasm or reuses the compiled module of the same bytes.
func (r *Runtime) acquire(ctx context.Context, sha string, wasm []byte) (wazero.CompiledModule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.compiled[sha]; ok {
		e.refs++
		return e.cm, nil
	}
	cm, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	r.compiled[sha] = &compiledEntry{cm: cm, refs: 1}
	return cm, nil
}

func (r *Runtime) release(ctx context.Context, sha string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.compiled[sha]
	if !ok {
		return
	}
	if e.refs--; e.refs == 0 {
		delete(r.compiled, sha)
		_ = e.cm.Close(ctx)
	}
}

// Close releases the module. It is idempotent. Instances created from it
// keep working until closed.
func (m *Module) Close(ctx context.Context) error {
	if m.closed.CompareAndSwap(false, true) {
		m.rt.release(ctx, m.SHA256)
	}
	return nil
}

type sig struct {
	params, results []api.ValueType
}

func (s sig) String() string {
	return fmt.Sprintf("(%s) -> (%s)", typeList(s.params), typeList(s.results))
}

func typeList(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

func sigOf(d api.FunctionDefinition) sig { return sig{d.ParamTypes(), d.ResultTypes()} }

func (s sig) equal(o sig) bool {
	if len(s.params) != len(o.params) || len(s.results) != len(o.results) {
		return false
	}
	for i := range s.params {
		if s.params[i] != o.params[i] {
			return false
		}
	}
	for i := range s.results {
		if s.results[i] != o.results[i] {
			return false
		}
	}
	return true
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// exportSpecs lists the function exports of ABI v1.
var exportSpecs = []struct {
	name     string
	sig      sig
	required bool
}{
	{abi.ExportABIVersion, sig{nil, []api.ValueType{i32}}, true},
	{abi.ExportAlloc, sig{[]api.ValueType{i32}, []api.ValueType{i32}}, true},
	{abi.ExportInit, sig{[]api.ValueType{i32, i32}, []api.ValueType{i64}}, true},
	{abi.ExportProcess, sig{[]api.ValueType{i32, i32}, []api.ValueType{i64}}, true},
	{abi.ExportFlush, sig{nil, []api.ValueType{i64}}, false},
	{abi.ExportSnapshot, sig{nil, []api.ValueType{i64}}, false},
	{abi.ExportRestore, sig{[]api.ValueType{i32, i32}, []api.ValueType{i64}}, false},
	{abi.ExportInitialize, sig{nil, nil}, false},
}

const exportProcessName = abi.ExportProcess

// validate checks exports and imports against the ABI and returns every
// problem found. err is for an unexpected failure reading the module.
func (r *Runtime) validate(m *Module, wasm []byte) (problems []string, err error) {
	exports := m.cm.ExportedFunctions()
	if _, ok := exports[abi.ExportStart]; ok {
		problems = append(problems, "exports _start: this is a WASI command (a program with main), but a plugin must be a reactor (a library) — "+
			"build it as one: Go: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared; TinyGo: -buildmode=c-shared; "+
			"Rust: crate-type = [\"cdylib\"]; clang/wasi-libc: -mexec-model=reactor; AssemblyScript: without --exportStart")
	}
	for _, spec := range exportSpecs {
		d, ok := exports[spec.name]
		if !ok {
			if spec.required {
				problems = append(problems, fmt.Sprintf("missing required export %s %s", spec.name, spec.sig))
			}
			continue
		}
		if got := sigOf(d); !got.equal(spec.sig) {
			problems = append(problems, fmt.Sprintf("export %s has signature %s, want %s", spec.name, got, spec.sig))
			continue
		}
		switch spec.name {
		case abi.ExportFlush:
			m.exports.flush = true
		case abi.ExportSnapshot:
			m.exports.snapshot = true
		case abi.ExportRestore:
			m.exports.restore = true
		case abi.ExportInitialize:
			m.exports.initialize = true
		}
	}
	if m.exports.snapshot && !m.exports.restore {
		if _, ok := exports[abi.ExportRestore]; !ok {
			problems = append(problems, fmt.Sprintf("exports %s but not %s %s: state that can be saved must be restorable",
				abi.ExportSnapshot, abi.ExportRestore, exportSpecs[6].sig))
		}
	}
	mems := m.cm.ExportedMemories()
	if md, ok := mems[abi.ExportMemory]; !ok {
		if _, isFunc := exports[abi.ExportMemory]; isFunc {
			problems = append(problems, "export memory is a function; it must be the module's linear memory")
		} else {
			problems = append(problems, "missing required export memory (the module's linear memory)")
		}
	} else {
		m.minMem = md.Min()
	}

	imports, err := parseImports(wasm)
	if err != nil {
		return nil, fmt.Errorf("read import section: %w", err)
	}
	funcs := map[[2]string]api.FunctionDefinition{}
	for _, d := range m.cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		funcs[[2]string{mod, name}] = d
	}
	for _, im := range imports {
		if p := r.checkImport(im, funcs); p != "" {
			problems = append(problems, p)
		}
	}
	return problems, nil
}

const allowedImports = "sluice.log, wasi_snapshot_preview1.* and, for AssemblyScript, env.abort, env.seed, env.trace"

func (r *Runtime) checkImport(im importEntry, funcs map[[2]string]api.FunctionDefinition) string {
	full := im.Module + "." + im.Name
	if im.Kind != 0 {
		hint := ""
		if im.Kind == 2 {
			hint = " (build without --import-memory: the plugin must define and export its own memory)"
		}
		return fmt.Sprintf("import %s is a %s; a plugin may import only functions (%s)%s", full, im.kindName(), allowedImports, hint)
	}
	var want api.FunctionDefinition
	switch im.Module {
	case abi.ImportModuleWASI:
		d, ok := r.wasiFuncs[im.Name]
		if !ok {
			return fmt.Sprintf("import %s is not a WASI preview 1 function this host implements", full)
		}
		want = d
	case abi.ImportModule, abi.ImportModuleEnv:
		d, ok := r.hostFuncs[im.Module][im.Name]
		if !ok {
			return fmt.Sprintf("import %s is not allowed: a plugin may import only %s", full, allowedImports)
		}
		want = d
	default:
		return fmt.Sprintf("import %s is not allowed: a plugin may import only %s", full, allowedImports)
	}
	got, ok := funcs[[2]string{im.Module, im.Name}]
	if !ok {
		return ""
	}
	if gs, ws := sigOf(got), sigOf(want); !gs.equal(ws) {
		return fmt.Sprintf("import %s has signature %s, want %s", full, gs, ws)
	}
	return ""
}
