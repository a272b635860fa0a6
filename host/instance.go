package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/ianlancetaylor/demangle"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/sluicehq/sluice/abi"
)

// InstanceConfig configures one plugin instance. Zero fields take the
// defaults listed on each.
type InstanceConfig struct {
	// Stream names the stream in errors and logs.
	Stream string
	// Plugin names the plugin in errors and logs (default: Module.Name).
	Plugin string
	// Config is the plugin's configuration, passed to sluice_init in the
	// SLC1 format (abi.FlattenConfig builds it from a TOML table).
	Config []abi.KV
	// PageTimeout bounds each sluice_process, sluice_flush,
	// sluice_snapshot and sluice_restore call (default
	// DefaultPageTimeout, 10 s). When it passes, the instance is stopped
	// and the call fails with KindTimeout.
	PageTimeout time.Duration
	// InitTimeout bounds each call of the initialization (start section,
	// _initialize, sluice_abi_version, sluice_init; default
	// DefaultInitTimeout, 30 s).
	InitTimeout time.Duration
	// MemoryLimitPages is the most linear memory the instance may have, in
	// 64 KiB pages (default: the Runtime's, 1024 pages = 64 MiB; at most
	// 65536).
	MemoryLimitPages uint32
	// Logger receives the plugin's stdout (info), stderr (warn) and
	// sluice.log lines (at their level), with the attributes stream,
	// plugin and module added (default: the Runtime's logger).
	Logger *slog.Logger
	// StderrCap is how many bytes of recent output (stdout, stderr and
	// sluice.log, interleaved) are kept for error reports (default
	// DefaultStderrCap, 64 KiB).
	StderrCap int
	// KeyColumns are the primary key columns of the pages, by name (nil =
	// unknown): a failure on a row reports the row's key (PluginError.Key)
	// from those of them the page has.
	KeyColumns []string
	// ResultCap is the largest result, snapshot or state a call may
	// return, in bytes (default DefaultResultCap, 64 MiB).
	ResultCap int
	// MaxRows is the largest row count of one result section (default
	// DefaultMaxRows, 1,000,000).
	MaxRows int
	// LogBytesPerCall caps the output forwarded to Logger during one call
	// (default 64 KiB); LogBytesTotal over the instance's life (default
	// 64 MiB). Output over a cap is dropped with one warning per call; it
	// still reaches the tail kept for error reports.
	LogBytesPerCall int
	LogBytesTotal   int64
}

func (c *InstanceConfig) defaults(m *Module) {
	if c.Plugin == "" {
		c.Plugin = m.Name
	}
	if c.PageTimeout <= 0 {
		c.PageTimeout = DefaultPageTimeout
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = m.rt.cfg.MemoryLimitPages
	}
	if c.Logger == nil {
		c.Logger = m.rt.logger
	}
	if c.StderrCap <= 0 {
		c.StderrCap = DefaultStderrCap
	}
	if c.ResultCap <= 0 {
		c.ResultCap = DefaultResultCap
	}
	if c.MaxRows <= 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.LogBytesPerCall <= 0 {
		c.LogBytesPerCall = defaultLogBytesPerCall
	}
	if c.LogBytesTotal <= 0 {
		c.LogBytesTotal = defaultLogBytesTotal
	}
}

// Instance is one running instance of a plugin module: its own linear
// memory, state and output capture.
//
// An Instance is owned by exactly one goroutine (the stream worker that
// created it, or the one it was handed to): it has no locks, and its
// methods must not be called concurrently. After any call fails (trap,
// timeout, plugin-reported error, bad output...) the instance is dead:
// every later call returns an error wrapping ErrDead and the original
// *PluginError; it is never reused after a trap. Close is idempotent.
type Instance struct {
	mod *Module
	cfg InstanceConfig

	wm  api.Module
	mem api.Memory
	fn  struct {
		alloc, process, flush, snapshot, restore api.Function
	}
	stack [2]uint64

	gm  *guestMemory
	out *outputCapture
	lim abi.Limits
	abi string // declared ABI version, "1.0"

	initialized bool // Instantiate finished: calls run under PageTimeout

	page  uint64 // page of the current call (0 = none)
	split uint32
	// rowSlot is the address of the plugin's row slot (ABI.md 3.1), 0 when
	// it exports none: read only after a failed sluice_process.
	rowSlot uint32
	failed  *PluginError
	closed  bool
}

// Instantiate creates an instance of the module and initializes it: runs
// _initialize if exported, checks sluice_abi_version (a different major, or
// a newer minor than the host's, is refused naming both versions), then
// calls sluice_init with cfg.Config. An ERROR section returned by
// sluice_init fails with KindPluginReported.
//
// The WASI sandbox has no preopened directories, no environment variables,
// no arguments, an empty stdin and no sockets; stdout and stderr are
// captured (see InstanceConfig.Logger and StderrCap); the wall and
// monotonic clocks and random_get are the host's; sleeping returns at once.
//
// Errors are *PluginError. Each instance has a unique module name, so any
// number of instances of one Module can coexist, in any goroutines.
func (m *Module) Instantiate(ctx context.Context, cfg InstanceConfig) (*Instance, error) {
	if m.closed.Load() {
		return nil, fmt.Errorf("host: instantiate plugin %q: module: %w", m.Name, ErrClosed)
	}
	if m.rt.closed.Load() {
		return nil, errRuntimeClosed("instantiate plugin " + m.Name)
	}
	cfg.defaults(m)
	i := &Instance{mod: m, cfg: cfg}
	if cfg.MemoryLimitPages > 65536 {
		return nil, i.loadError("", fmt.Sprintf("memory limit of %d pages is over the wasm32 maximum of 65536 pages (4 GiB)", cfg.MemoryLimitPages), nil)
	}
	limit := uint64(cfg.MemoryLimitPages) * wasmPageSize
	if uint64(m.minMem)*wasmPageSize > limit {
		return nil, i.loadError("", fmt.Sprintf("the module's initial memory of %s (%d pages) is over the memory limit of %s (%d pages)",
			formatBytes(uint64(m.minMem)*wasmPageSize), m.minMem, formatBytes(limit), cfg.MemoryLimitPages), nil)
	}
	i.gm = &guestMemory{limit: limit}
	i.out = newOutputCapture(cfg.Logger.With(
		slog.String("stream", cfg.Stream), slog.String("plugin", cfg.Plugin), slog.String("module", m.ShortHash())),
		cfg.StderrCap, defaultLogLineMax, cfg.LogBytesPerCall, cfg.LogBytesTotal)
	i.lim = abi.Limits{MaxBytes: cfg.ResultCap, MaxRowsPerSection: cfg.MaxRows}

	name := fmt.Sprintf("%s#%d", m.Name, m.rt.instSeq.Add(1))
	mc := wazero.NewModuleConfig().
		WithName(name).
		WithStartFunctions(). // _initialize is called below, under a deadline
		WithStdout(i.out.stream(srcStdout)).
		WithStderr(i.out.stream(srcStderr)).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)

	// Instantiation runs the module's start section, if any: guest code,
	// so it gets a deadline and the instance in its context like any call.
	cc := i.begin(experimental.WithMemoryAllocator(ctx, i.gm.allocator()), cfg.InitTimeout)
	wm, err := m.rt.rt.InstantiateModule(cc, m.cm, mc)
	cc.end()
	i.out.endCall()
	if err != nil {
		if m.rt.closed.Load() {
			return nil, errRuntimeClosed("instantiate plugin " + m.Name)
		}
		return nil, i.classify(ctx, "start section", cfg.InitTimeout, "InitTimeout", err)
	}
	i.wm = wm
	i.mem = wm.Memory()
	i.fn.alloc = wm.ExportedFunction(abi.ExportAlloc)
	i.fn.process = wm.ExportedFunction(abi.ExportProcess)
	if m.exports.flush {
		i.fn.flush = wm.ExportedFunction(abi.ExportFlush)
	}
	if m.exports.snapshot {
		i.fn.snapshot = wm.ExportedFunction(abi.ExportSnapshot)
	}
	if m.exports.restore {
		i.fn.restore = wm.ExportedFunction(abi.ExportRestore)
	}
	if err := i.initialize(ctx); err != nil {
		_ = wm.Close(ctx)
		i.closed = true
		return nil, err
	}
	i.initialized = true
	return i, nil
}

func (i *Instance) initialize(ctx context.Context) error {
	t := i.cfg.InitTimeout
	if i.mod.exports.initialize {
		if err := i.invokeAlone(ctx, t, i.wm.ExportedFunction(abi.ExportInitialize), abi.ExportInitialize); err != nil {
			return err
		}
	}
	if err := i.invokeAlone(ctx, t, i.wm.ExportedFunction(abi.ExportABIVersion), abi.ExportABIVersion); err != nil {
		return err
	}
	v := api.DecodeU32(i.stack[0])
	if err := abi.CheckVersion(v, abi.Version); err != nil {
		pe := i.loadError(abi.ExportABIVersion, strings.TrimPrefix(err.Error(), "abi: "), err)
		pe.ABI = abi.VersionString(v)
		return pe
	}
	i.abi = abi.VersionString(v)
	cfgBytes := abi.EncodeConfig(i.cfg.Config)
	if err := i.callWithInput(ctx, t, i.wm.ExportedFunction(abi.ExportInit), abi.ExportInit, cfgBytes); err != nil {
		return err
	}
	if err := i.errorsOnly(abi.ExportInit, i.stack[0]); err != nil {
		return err
	}
	return i.findRowSlot(ctx, t)
}

// findRowSlot asks a plugin that exports sluice_row_slot for the address of
// its row slot. A slot that does not fit in memory is ignored, as is an
// export of another signature: the slot only adds the row to trap reports.
func (i *Instance) findRowSlot(ctx context.Context, t time.Duration) error {
	fn := i.wm.ExportedFunction(abi.ExportRowSlot)
	if fn == nil {
		return nil
	}
	d := fn.Definition()
	if len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 1 || d.ResultTypes()[0] != api.ValueTypeI32 {
		return nil
	}
	if err := i.invokeAlone(ctx, t, fn, abi.ExportRowSlot); err != nil {
		return err
	}
	addr := api.DecodeU32(i.stack[0])
	if addr != 0 && uint64(addr)+4 <= uint64(i.mem.Size()) {
		i.rowSlot = addr
	}
	return nil
}

// rowKey fills the Key of a failure on a row of page: the key columns
// the page has, as name=value in the JSON form of docs/json.md.
func (i *Instance) rowKey(err error, page *abi.Page) {
	var pe *PluginError
	if len(i.cfg.KeyColumns) == 0 || !errors.As(err, &pe) || pe.Row < 0 || pe.Row >= int64(page.NumRows()) {
		return
	}
	row := page.Row(int(pe.Row))
	var b []byte
	for _, name := range i.cfg.KeyColumns {
		c := page.Schema.Index(name)
		if c < 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, name...)
		b = append(b, '=')
		cell, null := row.Cell(c)
		if null {
			b = append(b, "null"...)
			continue
		}
		v, err := abi.AppendJSON(nil, page.Schema.Columns[c].Type, cell)
		if err != nil {
			v = []byte("<invalid>")
		}
		b = append(b, v...)
	}
	pe.Key = string(b)
}

// trapRow fills the row of a trap, timeout or memory failure of
// sluice_process from the plugin's row slot (ABI.md 3.1).
func (i *Instance) trapRow(err error, in *Batch) {
	var pe *PluginError
	if i.rowSlot == 0 || !errors.As(err, &pe) || pe.Row >= 0 {
		return
	}
	switch pe.Kind {
	case KindTrap, KindTimeout, KindMemoryLimit:
	default:
		return
	}
	v, ok := i.mem.ReadUint32Le(i.rowSlot)
	if !ok || int32(v) < 0 || int(int32(v)) >= in.rows {
		return
	}
	pe.Row = int64(in.rowIndex(int(int32(v))))
}

// Module returns the module the instance was created from.
func (i *Instance) Module() *Module { return i.mod }

// Plugin returns the plugin name used in errors and logs.
func (i *Instance) Plugin() string { return i.cfg.Plugin }

// ABIVersion returns the ABI version the plugin declared, e.g. "1.0".
func (i *Instance) ABIVersion() string { return i.abi }

// MemorySize returns the current size of the instance's linear memory in
// bytes.
func (i *Instance) MemorySize() uint32 {
	if i.mem == nil {
		return 0
	}
	return i.mem.Size()
}

// Err returns the error that killed the instance, or nil.
func (i *Instance) Err() error {
	if i.failed == nil {
		return nil
	}
	return i.failed
}

// usable returns the error of a call on a closed or dead instance.
func (i *Instance) usable(op string) error {
	if i.closed {
		return fmt.Errorf("host: plugin %q: %s: instance: %w", i.cfg.Plugin, op, ErrClosed)
	}
	if i.failed != nil {
		return &deadError{first: i.failed}
	}
	return nil
}

// fail records err (a *PluginError) as the reason the instance is dead.
func (i *Instance) fail(err error) error {
	var pe *PluginError
	if errors.As(err, &pe) && i.failed == nil {
		i.failed = pe
	}
	return err
}

// Process runs sluice_process on one page and returns its outputs.
//
// The page is encoded straight into the guest buffer returned by
// sluice_alloc (no intermediate copy). The result is decoded as hostile
// input: the handle must lie inside guest memory and under ResultCap, the
// encoding must be valid, SELECT sections must match the page's row count,
// one output must have one schema. A SELECT section becomes a Batch over
// the input page with the plugin's bitmap (no row is copied); handle 0 (or
// a SELECT keeping every row) passes the input page through unchanged.
//
// page must stay unmodified while the returned Outputs are in use. On
// error (a *PluginError) the instance is dead.
func (i *Instance) Process(ctx context.Context, page *abi.Page) (Outputs, error) {
	return i.ProcessBatch(ctx, Batch{page: page, rows: page.NumRows()})
}

// ProcessBatch is Process for the rows of a batch (typically the output of
// the previous plugin of a chain). The plugin sees one page of exactly
// those rows, numbered like the batch's page; the selected rows are
// encoded straight into guest memory, without materializing them on the
// host. The plugin's SELECT sections are composed with the batch's
// selection, so the outputs are still views over the original page; the
// Row of a plugin-reported error is the row of the original page.
func (i *Instance) ProcessBatch(ctx context.Context, in Batch) (Outputs, error) {
	if err := i.usable(abi.ExportProcess); err != nil {
		return Outputs{}, err
	}
	page := in.page
	i.page, i.split = page.Number, page.Split
	i.out.page, i.out.split = page.Number, page.Split
	defer i.clearPage()

	n, dataLen := in.encodedLen()
	cc := i.begin(ctx, i.cfg.PageTimeout)
	defer cc.end()
	ptr, buf, err := i.allocInput(cc, abi.ExportProcess, n)
	if err != nil {
		return Outputs{}, i.fail(err)
	}
	if !in.encodeTo(buf, dataLen) {
		// abi.Page's encoding is not what EncodedLen announced: a host bug.
		return Outputs{}, i.fail(i.hostError(abi.ExportProcess, fmt.Sprintf(
			"internal error: page %d did not encode to the %d bytes its length announced", page.Number, n)))
	}
	i.stack[0], i.stack[1] = api.EncodeU32(ptr), api.EncodeU32(uint32(n))
	if err := i.invoke(cc, i.fn.process, abi.ExportProcess); err != nil {
		i.trapRow(err, &in)
		i.rowKey(err, page)
		return Outputs{}, i.fail(err)
	}
	h := i.stack[0]
	if h == 0 {
		return batchThrough(in), nil
	}
	res, err := i.decodeResult(abi.ExportProcess, h, in.rows)
	if err != nil {
		var pe *PluginError
		if errors.As(err, &pe) && pe.Kind == KindPluginReported && pe.Row >= 0 {
			pe.Row = int64(in.rowIndex(int(pe.Row)))
		}
		i.rowKey(err, page)
		return Outputs{}, i.fail(err)
	}
	if err := res.Validate(page.Schema); err != nil {
		return Outputs{}, i.fail(i.badOutput(abi.ExportProcess, err.Error(), err))
	}
	if err := abi.CheckRejected(res); err != nil {
		return Outputs{}, i.fail(i.badOutput(abi.ExportProcess, err.Error(), err))
	}
	return i.outputs(&in, res), nil
}

func (i *Instance) clearPage() {
	i.page, i.split = 0, 0
	i.out.page, i.out.split = 0, 0
}

// Flush calls sluice_flush, if the module exports it, at the end of the
// stream: its ROWS sections are returned as outputs (pages numbered 0). A
// module without sluice_flush returns empty Outputs.
func (i *Instance) Flush(ctx context.Context) (Outputs, error) {
	if err := i.usable(abi.ExportFlush); err != nil {
		return Outputs{}, err
	}
	if i.fn.flush == nil {
		return Outputs{}, nil
	}
	if err := i.invokeAlone(ctx, i.cfg.PageTimeout, i.fn.flush, abi.ExportFlush); err != nil {
		return Outputs{}, i.fail(err)
	}
	h := i.stack[0]
	if h == 0 {
		return Outputs{}, nil
	}
	res, err := i.decodeResult(abi.ExportFlush, h, -1)
	if err != nil {
		return Outputs{}, i.fail(err)
	}
	return i.outputs(nil, res), nil
}

// Snapshot returns the plugin's state (sluice_snapshot), a copy the caller
// owns, or nil, nil when the module does not export sluice_snapshot or its
// state is empty.
func (i *Instance) Snapshot(ctx context.Context) ([]byte, error) {
	if err := i.usable(abi.ExportSnapshot); err != nil {
		return nil, err
	}
	if i.fn.snapshot == nil {
		return nil, nil
	}
	if err := i.invokeAlone(ctx, i.cfg.PageTimeout, i.fn.snapshot, abi.ExportSnapshot); err != nil {
		return nil, i.fail(err)
	}
	h := i.stack[0]
	if h == 0 {
		return nil, nil
	}
	b, err := i.readHandle(abi.ExportSnapshot, h)
	if err != nil {
		return nil, i.fail(err)
	}
	return append([]byte(nil), b...), nil
}

// Restore hands state from a snapshot of an earlier instance (maybe of an
// earlier module version) to sluice_restore. Empty state is a no-op.
// Non-empty state for a module without sluice_restore is an error
// (KindLoad): its state would be lost.
func (i *Instance) Restore(ctx context.Context, state []byte) error {
	if err := i.usable(abi.ExportRestore); err != nil {
		return err
	}
	if len(state) == 0 {
		return nil
	}
	if i.fn.restore == nil {
		return i.fail(i.loadError(abi.ExportRestore, fmt.Sprintf(
			"cannot restore %d bytes of state: the module does not export %s", len(state), abi.ExportRestore), nil))
	}
	if err := i.callWithInput(ctx, i.cfg.PageTimeout, i.fn.restore, abi.ExportRestore, state); err != nil {
		return i.fail(err)
	}
	return i.fail(i.errorsOnly(abi.ExportRestore, i.stack[0]))
}

// Close closes the instance and frees its memory. It is idempotent.
func (i *Instance) Close(ctx context.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	if i.wm == nil {
		return nil
	}
	if err := i.wm.Close(ctx); err != nil && !i.mod.rt.closed.Load() {
		return fmt.Errorf("host: close plugin %q: %w", i.cfg.Plugin, err)
	}
	return nil
}

// begin starts a guest operation (one or more calls, e.g. sluice_alloc
// then sluice_process for one page) under one deadline of limit. The
// caller must call end on the result.
func (i *Instance) begin(ctx context.Context, limit time.Duration) *callContext {
	tctx, cancel := context.WithTimeout(ctx, limit)
	name := "InitTimeout"
	if i.initialized {
		name = "PageTimeout"
	}
	return &callContext{Context: tctx, inst: i, parent: ctx, limit: limit, limitName: name, cancel: cancel}
}

// invoke calls fn with i.stack in the operation cc; results are left in
// i.stack.
func (i *Instance) invoke(cc *callContext, fn api.Function, name string) error {
	i.gm.refused = 0
	err := fn.CallWithStack(cc, i.stack[:])
	i.out.endCall()
	if err != nil {
		return i.classify(cc.parent, name, cc.limit, cc.limitName, err)
	}
	return nil
}

// invokeAlone is invoke in an operation of its own.
func (i *Instance) invokeAlone(ctx context.Context, limit time.Duration, fn api.Function, name string) error {
	cc := i.begin(ctx, limit)
	defer cc.end()
	return i.invoke(cc, fn, name)
}

// allocInput calls sluice_alloc(n) and returns the guest pointer and the
// n-byte guest memory slice it designates, after checking it is in bounds.
func (i *Instance) allocInput(cc *callContext, fname string, n int) (uint32, []byte, error) {
	if n > math.MaxInt32 {
		return 0, nil, i.hostError(fname, fmt.Sprintf("input of %d bytes does not fit a wasm32 call", n))
	}
	i.stack[0] = api.EncodeU32(uint32(n))
	if err := i.invoke(cc, i.fn.alloc, abi.ExportAlloc); err != nil {
		return 0, nil, err
	}
	ptr := api.DecodeU32(i.stack[0])
	size := i.mem.Size()
	if uint64(ptr)+uint64(n) > uint64(size) {
		return 0, nil, i.badOutput(abi.ExportAlloc, fmt.Sprintf(
			"%s(%d) returned pointer %d: [%d, %d) reaches past the end of the plugin's memory (%d bytes) (needed for %s)",
			abi.ExportAlloc, n, ptr, ptr, uint64(ptr)+uint64(n), size, fname), nil)
	}
	buf, _ := i.mem.Read(ptr, uint32(n))
	return ptr, buf, nil
}

// callWithInput copies input into a sluice_alloc buffer and calls fn(ptr,
// len); the result handle is left in i.stack[0].
func (i *Instance) callWithInput(ctx context.Context, limit time.Duration, fn api.Function, name string, input []byte) error {
	cc := i.begin(ctx, limit)
	defer cc.end()
	ptr, buf, err := i.allocInput(cc, name, len(input))
	if err != nil {
		return err
	}
	copy(buf, input)
	i.stack[0], i.stack[1] = api.EncodeU32(ptr), api.EncodeU32(uint32(len(input)))
	return i.invoke(cc, fn, name)
}

// readHandle returns the guest memory a result handle designates (not a
// copy: valid until the next call into the guest).
func (i *Instance) readHandle(fname string, h uint64) ([]byte, error) {
	ptr, n := abi.SplitHandle(h)
	size := i.mem.Size()
	if uint64(ptr)+uint64(n) > uint64(size) {
		return nil, i.badOutput(fname, fmt.Sprintf(
			"result handle [ptr=%d, len=%d] reaches past the end of the plugin's memory (%d bytes)", ptr, n, size), nil)
	}
	if int64(n) > int64(i.cfg.ResultCap) {
		return nil, i.badOutput(fname, fmt.Sprintf(
			"result of %s (%d bytes) is over the cap of %s (ResultCap)", formatBytes(uint64(n)), n, formatBytes(uint64(i.cfg.ResultCap))), nil)
	}
	b, _ := i.mem.Read(ptr, n)
	return b, nil
}

// decodeResult reads and decodes the result a handle designates.
// inputRows is the row count of the input page, or -1 without one.
func (i *Instance) decodeResult(fname string, h uint64, inputRows int) (abi.Result, error) {
	b, err := i.readHandle(fname, h)
	if err != nil {
		return abi.Result{}, err
	}
	res, err := abi.DecodeResult(b, inputRows, i.lim)
	if err != nil {
		return abi.Result{}, i.badOutput(fname, err.Error(), err)
	}
	// An ERROR section stops the stream; the rest of the result is
	// discarded (DecodeResult stops at the first one).
	for _, sec := range res.Sections {
		if sec.Kind == abi.SectionError {
			return abi.Result{}, i.reported(fname, sec)
		}
	}
	return res, nil
}

// errorsOnly checks the result of init or restore: success, or an ERROR.
func (i *Instance) errorsOnly(fname string, h uint64) error {
	if h == 0 {
		return nil
	}
	res, err := i.decodeResult(fname, h, -1)
	if err != nil {
		return err
	}
	if len(res.Sections) > 0 {
		s := res.Sections[0]
		return i.badOutput(fname, fmt.Sprintf("%s may return only ERROR sections; section 0 is %s (output %q)",
			fname, s.Kind, s.Output), nil)
	}
	return nil
}

// newError returns a PluginError with the instance's identity and the
// current page filled in.
func (i *Instance) newError(fname string, kind ErrorKind, msg string, err error) *PluginError {
	return &PluginError{
		Stream:  i.cfg.Stream,
		Plugin:  i.cfg.Plugin,
		Module:  i.mod.ShortHash(),
		ABI:     i.abi,
		File:    i.mod.Path,
		Func:    fname,
		Page:    i.page,
		Split:   i.split,
		Row:     -1,
		Kind:    kind,
		Message: msg,
		Err:     err,
	}
}

func (i *Instance) loadError(fname, msg string, err error) *PluginError {
	return i.newError(fname, KindLoad, msg, err)
}

func (i *Instance) badOutput(fname, msg string, err error) *PluginError {
	pe := i.newError(fname, KindBadOutput, msg, err)
	pe.StderrTail = i.out.tail.String()
	return pe
}

func (i *Instance) hostError(fname, msg string) *PluginError {
	return i.newError(fname, KindLoad, msg, nil)
}

func (i *Instance) reported(fname string, sec abi.Section) *PluginError {
	pe := i.newError(fname, KindPluginReported, sec.ErrMsg, errPluginReported)
	pe.Row = sec.ErrRow
	pe.StderrTail = i.out.tail.String()
	return pe
}

// errPluginReported is the Err of a KindPluginReported PluginError.
var errPluginReported = errors.New("plugin returned an ERROR section")

// classify turns an error of a call into the guest into a PluginError.
// ctx is the caller's context (without the call's own deadline).
func (i *Instance) classify(ctx context.Context, fname string, limit time.Duration, limitName string, err error) *PluginError {
	pe := i.newError(fname, KindTrap, "", err)
	var exit *sys.ExitError
	var hce *hostCallError
	text := err.Error()
	switch {
	case errors.As(err, &exit):
		switch code := exit.ExitCode(); {
		case code == sys.ExitCodeDeadlineExceeded && ctx.Err() == nil:
			pe.Kind = KindTimeout
			pe.Message = fmt.Sprintf("timed out: %s did not return within %s (%s); the instance was stopped",
				fname, limit, limitName)
		case code == sys.ExitCodeDeadlineExceeded || code == sys.ExitCodeContextCanceled:
			pe.Kind = KindCanceled
			cause := ctx.Err()
			if cause == nil {
				cause = context.Canceled
			}
			pe.Message = fmt.Sprintf("stopped during %s: the caller's context ended (%v)", fname, cause)
			pe.Err = errors.Join(cause, err)
		default:
			pe.Kind = KindExit
			pe.Message = fmt.Sprintf("the plugin exited with code %d (WASI proc_exit) during %s", code, fname)
		}
	case errors.As(err, &hce):
		pe.Kind = hce.kind
		pe.Message, pe.WasmStack = splitStack(text)
		pe.Message = strings.TrimSuffix(pe.Message, " (recovered by wazero)")
	case text == "stack overflow":
		// wazero does not unwind an overflowed stack, so there is no trace.
		pe.Message = "wasm error: stack overflow (too deep recursion; wazero records no stack trace for this trap)"
	default:
		pe.Message, pe.WasmStack = splitStack(text)
	}
	pe.WasmStack = demangleStack(pe.WasmStack)
	pe.StderrTail = i.out.tail.String()
	if pe.Kind == KindTrap || pe.Kind == KindExit {
		i.classifyMemory(pe)
	}
	return pe
}

// rustSymbol matches a mangled Rust symbol in a stack frame: the legacy
// scheme (_ZN...E, with a hash segment) and v0 (_R...).
var rustSymbol = regexp.MustCompile(`_ZN[0-9A-Za-z_$.]+E|_R[0-9A-Za-z_]+`)

// demangleStack rewrites the mangled Rust symbols of a wasm stack trace
// as Rust paths without the hash (_ZN4core9panicking9panic_fmt17h…E →
// core::panicking::panic_fmt); anything else is left as it is.
func demangleStack(stack string) string {
	if !strings.Contains(stack, "_ZN") && !strings.Contains(stack, "_R") {
		return stack
	}
	return rustSymbol.ReplaceAllStringFunc(stack, func(sym string) string {
		return demangle.Filter(sym, demangle.NoParams)
	})
}

// classifyMemory turns a trap or exit that followed a refused memory.grow
// (or that the plugin itself blamed on memory) into KindMemoryLimit.
func (i *Instance) classifyMemory(pe *PluginError) {
	limit := i.gm.limit
	var size uint64
	if i.mem != nil {
		size = uint64(i.mem.Size())
	}
	switch {
	case i.gm.refused > 0:
		pe.Message = fmt.Sprintf("memory limit of %s reached: growing the plugin's memory from %s to %s was refused, then: %s",
			formatBytes(limit), formatBytes(size), formatBytes(i.gm.refused), pe.Message)
	case strings.Contains(strings.ToLower(pe.StderrTail), "out of memory"):
		pe.Message = fmt.Sprintf("the plugin ran out of memory at %s (limit %s): %s",
			formatBytes(size), formatBytes(limit), pe.Message)
	default:
		return
	}
	pe.Kind = KindMemoryLimit
}

// splitStack splits a wazero error into its first line(s) and the wasm
// stack trace that follows "wasm stack trace:".
func splitStack(s string) (msg, stack string) {
	const marker = "\nwasm stack trace:\n"
	if i := strings.Index(s, marker); i >= 0 {
		msg, stack = s[:i], s[i+len(marker):]
		// A Go runtime error in a host function is followed by a Go trace
		// after a blank line; keep only the wasm frames.
		if j := strings.Index(stack, "\n\n"); j >= 0 {
			stack = stack[:j]
		}
		return msg, stack
	}
	return s, ""
}

// outputs builds the Outputs of a decoded result. in is the input batch
// (nil for flush).
func (i *Instance) outputs(in *Batch, res abi.Result) Outputs {
	var o Outputs
	for _, s := range res.Sections {
		switch s.Kind {
		case abi.SectionSelect:
			if in != nil { // DecodeResult refuses SELECT without an input
				o.add(s.Output, in.compose(s.Bitmap))
			}
		case abi.SectionRows:
			p := s.Rows
			if in != nil {
				p.Number, p.Split = in.page.Number, in.page.Split
			}
			o.add(s.Output, Batch{page: p, rows: p.NumRows()})
		}
	}
	return o
}
