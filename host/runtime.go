package host

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluicehq/sluice/abi"
)

// Defaults of RuntimeConfig and InstanceConfig (docs/host.md lists them).
const (
	// DefaultMemoryLimitPages is the default memory limit of one instance:
	// 1024 pages of 64 KiB = 64 MiB.
	DefaultMemoryLimitPages = 1024
	// DefaultPageTimeout bounds one sluice_process (and flush, snapshot,
	// restore) call.
	DefaultPageTimeout = 10 * time.Second
	// DefaultInitTimeout bounds instantiation: the start section,
	// _initialize, sluice_abi_version and sluice_init together.
	DefaultInitTimeout = 30 * time.Second
	// DefaultStderrCap is how many bytes of the plugin's recent
	// stdout/stderr/log output an instance keeps for error reports.
	DefaultStderrCap = 64 << 10
	// DefaultResultCap is the largest result (or snapshot) a plugin may
	// return from one call, in bytes.
	DefaultResultCap = 64 << 20
	// DefaultMaxRows is the largest row count of one result section.
	DefaultMaxRows = 1_000_000
)

// RuntimeConfig configures a Runtime. The zero value is usable.
type RuntimeConfig struct {
	// CacheDir, when set, keeps compiled machine code on disk across
	// processes (wazero.NewCompilationCacheWithDir); otherwise the cache
	// is in memory, shared by every Compile of this Runtime.
	CacheDir string
	// MemoryLimitPages is the default memory limit of an instance, in
	// 64 KiB pages (0 = DefaultMemoryLimitPages, 64 MiB). An instance may
	// lower or raise it (InstanceConfig.MemoryLimitPages), up to 65536.
	MemoryLimitPages uint32
	// Logger receives runtime-level events and is the default logger of
	// instances (nil = slog.Default()).
	Logger *slog.Logger
}

// Runtime is the one wazero runtime of a process: compiler engine where the
// platform supports it (interpreter otherwise), a compilation cache, and the
// host modules plugins may import (sluice, wasi_snapshot_preview1, env),
// instantiated once and shared by every instance.
//
// A Runtime is safe for concurrent use: Compile may be called from any
// goroutine. Close closes every module and instance compiled or created
// from it.
type Runtime struct {
	rt     wazero.Runtime
	cache  wazero.CompilationCache
	cfg    RuntimeConfig
	logger *slog.Logger

	// wasiFuncs lists the WASI preview 1 functions wazero implements, with
	// their signatures: the import allow-list of that module.
	wasiFuncs map[string]api.FunctionDefinition
	// hostFuncs lists the functions of the sluice and env host modules.
	hostFuncs map[string]map[string]api.FunctionDefinition

	instSeq atomic.Uint64 // unique instance names
	closed  atomic.Bool

	// mu guards compiled, the wazero compiled modules shared by every
	// Module of the same bytes (keyed by SHA-256).
	mu       sync.Mutex
	compiled map[string]*compiledEntry
}

type compiledEntry struct {
	cm   wazero.CompiledModule
	refs int
}

// NewRuntime creates the process's runtime. Close it when done.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("host: memory limit of %d pages is over the wasm32 maximum of 65536 pages (4 GiB)", cfg.MemoryLimitPages)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	rc := wazero.NewRuntimeConfig(). // compiler where supported, interpreter otherwise
						WithCompilationCache(cache).
						WithCloseOnContextDone(true).
						WithCoreFeatures(api.CoreFeaturesV2)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	r := &Runtime{
		rt:       rt,
		cache:    cache,
		cfg:      cfg,
		logger:   logger,
		compiled: map[string]*compiledEntry{},
	}
	if err := r.instantiateHostModules(ctx); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, err
	}
	return r, nil
}

// Close closes the runtime, every instance created from it and the
// compilation cache. It is idempotent; later calls return nil.
func (r *Runtime) Close(ctx context.Context) error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := r.rt.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("host: close runtime: %w", err)
	}
	return nil
}

// MemoryLimitPages returns the default memory limit of an instance.
func (r *Runtime) MemoryLimitPages() uint32 { return r.cfg.MemoryLimitPages }

func (r *Runtime) instantiateHostModules(ctx context.Context) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		return fmt.Errorf("host: instantiate WASI: %w", err)
	}
	r.wasiFuncs = r.rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()

	i32, f64 := api.ValueTypeI32, api.ValueTypeF64
	sl, err := r.rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("host: instantiate host module %q: %w", abi.ImportModule, err)
	}
	env, err := r.rt.NewHostModuleBuilder(abi.ImportModuleEnv).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostAbort), []api.ValueType{i32, i32, i32, i32}, nil).
		WithParameterNames("msg", "file", "line", "col").
		Export(abi.ImportEnvAbort).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostSeed), nil, []api.ValueType{f64}).
		Export(importEnvSeed).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostTrace), []api.ValueType{i32, i32, f64, f64, f64, f64, f64}, nil).
		WithParameterNames("msg", "n", "a0", "a1", "a2", "a3", "a4").
		Export(importEnvTrace).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("host: instantiate host module %q: %w", abi.ImportModuleEnv, err)
	}
	r.hostFuncs = map[string]map[string]api.FunctionDefinition{
		abi.ImportModule:    sl.ExportedFunctionDefinitions(),
		abi.ImportModuleEnv: env.ExportedFunctionDefinitions(),
	}
	return nil
}

// AssemblyScript imports besides env.abort, allowed as a convenience:
// env.seed seeds Math.random, env.trace is the trace() builtin.
const (
	importEnvSeed  = "seed"
	importEnvTrace = "trace"
)

// instanceKey is the context key under which a call's *Instance travels to
// the host functions (which wazero shares between all instances).
type instanceKey struct{}

// callContext is the context of one guest operation (a page: sluice_alloc
// then sluice_process; or one call): the caller's context with the
// operation's deadline, and the calling Instance for host functions.
// Immutable once built (wazero's close-on-done goroutine may still read it
// after the call returned); a fresh one per operation.
type callContext struct {
	context.Context
	inst   *Instance
	parent context.Context // the caller's context, without the deadline
	limit  time.Duration
	// limitName names the setting behind limit, for timeout messages.
	limitName string
	cancel    context.CancelFunc
}

// end releases the operation's deadline timer.
func (c *callContext) end() { c.cancel() }

func (c *callContext) Value(key any) any {
	if key == (instanceKey{}) {
		return c.inst
	}
	return c.Context.Value(key)
}

func instanceFrom(ctx context.Context) *Instance {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	return inst
}

// hostCallError is what a host function panics with when the guest passed
// it something invalid; wazero turns the panic into an error of the call
// (with the wasm stack), and the Instance classifies it by kind.
type hostCallError struct {
	kind ErrorKind
	msg  string
}

func (e *hostCallError) Error() string { return e.msg }

// maxLogMessage bounds what one sluice.log call may pass; longer messages
// are cut to it before being read, so a hostile length costs nothing.
const maxLogMessage = 64 << 10

// hostLog implements sluice.log(level i32, ptr i32, len i32).
func hostLog(ctx context.Context, m api.Module, stack []uint64) {
	inst := instanceFrom(ctx)
	level := api.DecodeI32(stack[0])
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if inst == nil {
		return
	}
	readN := min(n, maxLogMessage)
	msg, ok := m.Memory().Read(ptr, readN)
	if !ok || uint64(ptr)+uint64(n) > uint64(m.Memory().Size()) {
		panic(&hostCallError{kind: KindTrap, msg: fmt.Sprintf(
			"sluice.log: message [ptr=%d, len=%d] is outside the plugin's memory of %d bytes", ptr, n, m.Memory().Size())})
	}
	inst.out.logMessage(level, msg)
}

// maxAbortString bounds the AssemblyScript strings read by env.abort/trace.
const maxAbortString = 4 << 10

// hostAbort implements AssemblyScript's env.abort(msg, file, line, col): it
// stops the call with a trap carrying the decoded message.
func hostAbort(ctx context.Context, m api.Module, stack []uint64) {
	msg := readASString(m.Memory(), api.DecodeU32(stack[0]))
	file := readASString(m.Memory(), api.DecodeU32(stack[1]))
	line, col := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if msg == "" {
		msg = "(no message)"
	}
	text := "abort: " + msg
	if file != "" {
		text += fmt.Sprintf(" at %s:%d:%d", file, line, col)
	}
	if inst := instanceFrom(ctx); inst != nil {
		inst.out.tail.Write([]byte(text + "\n"))
	}
	panic(&hostCallError{kind: KindTrap, msg: text})
}

// hostSeed implements AssemblyScript's env.seed() -> f64.
func hostSeed(_ context.Context, _ api.Module, stack []uint64) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	stack[0] = api.EncodeF64(float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53) * math.MaxInt32)
}

// hostTrace implements AssemblyScript's env.trace(msg, n, a0..a4): a debug
// log line.
func hostTrace(ctx context.Context, m api.Module, stack []uint64) {
	inst := instanceFrom(ctx)
	if inst == nil {
		return
	}
	text := readASString(m.Memory(), api.DecodeU32(stack[0]))
	n := int(api.DecodeI32(stack[1]))
	for i := 0; i < n && i < 5; i++ {
		text += fmt.Sprintf(" %g", api.DecodeF64(stack[2+i]))
	}
	inst.out.logMessage(0, []byte(text))
}

// readASString decodes an AssemblyScript string: UTF-16LE code units at
// ptr, byte length in the u32 at ptr-4 (the object header's rtSize). It
// returns "" for a null or out-of-bounds pointer and cuts long strings.
func readASString(mem api.Memory, ptr uint32) string {
	if ptr < 4 {
		return ""
	}
	n, ok := mem.ReadUint32Le(ptr - 4)
	if !ok {
		return ""
	}
	n = min(n, maxAbortString) &^ 1
	b, ok := mem.Read(ptr, n)
	if !ok {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// errRuntimeClosed reports a call on a closed Runtime.
func errRuntimeClosed(op string) error {
	return fmt.Errorf("host: %s: runtime: %w", op, ErrClosed)
}
