package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies a PluginError: what went wrong, independent of the
// plugin's own words.
type ErrorKind int

// Error kinds. The zero value is KindUnknown; every error this package
// builds sets one of the others.
const (
	// KindUnknown is the zero value; never set by this package.
	KindUnknown ErrorKind = iota
	// KindLoad: the module failed validation (bytes, exports, imports,
	// ABI version, initial memory) or a host-side precondition of a call
	// (e.g. restoring state into a module without sluice_restore). Fix the
	// plugin build or the configuration; retrying does not help.
	KindLoad
	// KindTrap: the guest trapped (unreachable, out-of-bounds memory
	// access, stack overflow, integer divide by zero, AssemblyScript abort,
	// bad pointer passed to a host function...). WasmStack holds the trace.
	KindTrap
	// KindTimeout: a call did not return within its time limit and the
	// instance was stopped. errors.Is(err, context.DeadlineExceeded) holds.
	KindTimeout
	// KindCanceled: the caller's context ended during a call; the instance
	// was stopped. errors.Is(err, context.Canceled) or DeadlineExceeded
	// (whichever the caller's context reported) holds.
	KindCanceled
	// KindMemoryLimit: the guest asked for more linear memory than its
	// limit allows and then failed (trapped, exited or reported OOM).
	KindMemoryLimit
	// KindExit: the guest called WASI proc_exit (Go's runtime does so on a
	// fatal error). Message holds the exit code.
	KindExit
	// KindPluginReported: the plugin returned an ERROR section. Row and
	// Message are the plugin's.
	KindPluginReported
	// KindBadOutput: the plugin returned something the host refuses: a
	// handle outside its memory, a result over the size cap, a malformed
	// encoding, a SELECT of the wrong length, mixed schemas on one output.
	KindBadOutput
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindLoad:           "load",
	KindTrap:           "trap",
	KindTimeout:        "timeout",
	KindCanceled:       "canceled",
	KindMemoryLimit:    "memory limit",
	KindExit:           "exit",
	KindPluginReported: "plugin error",
	KindBadOutput:      "bad output",
}

// String returns the kind's lowercase name ("trap", "memory limit", ...).
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// PluginError is the error every failing operation of this package returns
// for a problem attributable to a plugin (as opposed to a misuse of the
// API). It carries everything an operator needs to find the fault: which
// stream, plugin, module build and ABI, which page/split/row, what kind of
// failure, the guest's wasm stack and the tail of its stdout/stderr/log.
//
// Error renders a multi-line report; the first line is self-contained:
//
//	plugin "filter" (module 3f2a9c1b7d4e, ABI 1.0) failed on page 17 split 3 row 42: wasm error: unreachable
//
// Resume is left empty by this package: the stream that owns the position
// fills it in (e.g. "split 3, page state 0a1b…") before reporting.
type PluginError struct {
	Stream string // stream name, from InstanceConfig.Stream ("" when unknown)
	Plugin string // plugin name (InstanceConfig.Plugin, else Module.Name)
	Module string // module short hash (12 hex digits of the SHA-256)
	ABI    string // ABI version the plugin declared ("1.0"); "" before it was read
	File   string // module file path, when known
	Func   string // export being called ("sluice_process", "sluice_init", ...); "" at load
	Page   uint64 // page number (1-based); 0 = not page-specific
	Split  uint32 // split index of Page
	Row    int64  // row within Page; -1 = unknown / not row-specific
	// Key is the primary key of Row, as name=value pairs in the JSON form
	// (`id=42, day="2024-01-02"`), when the stream knows the key columns
	// (InstanceConfig.KeyColumns) and the page has them; "" otherwise.
	Key  string
	Kind ErrorKind
	// Message is the one-line description (a trap, the plugin's own
	// message, what the host refused and which limit applied).
	Message string
	// WasmStack is the guest stack trace wazero reported, one frame per
	// line, or "".
	WasmStack string
	// StderrTail is the last bytes the plugin wrote to stdout/stderr or
	// logged through sluice.log, or "".
	StderrTail string
	// Resume tells the operator where a rerun would resume; set by the
	// caller.
	Resume string
	// Err is the underlying error (wazero's, abi's...), or nil.
	Err error
}

// Error renders the multi-line report described on the type.
func (e *PluginError) Error() string {
	var b strings.Builder
	if e.Stream != "" {
		fmt.Fprintf(&b, "stream %q: ", e.Stream)
	}
	fmt.Fprintf(&b, "plugin %q (module %s", e.Plugin, orUnknown(e.Module))
	if e.ABI != "" {
		fmt.Fprintf(&b, ", ABI %s", e.ABI)
	}
	if e.File != "" {
		fmt.Fprintf(&b, ", file %s", e.File)
	}
	b.WriteString(") failed")
	switch {
	case e.Page != 0:
		fmt.Fprintf(&b, " on page %d split %d", e.Page, e.Split)
		if e.Row >= 0 {
			fmt.Fprintf(&b, " row %d", e.Row)
			if e.Key != "" {
				fmt.Fprintf(&b, " (key %s)", e.Key)
			}
		}
		if e.Func != "" && e.Func != exportProcessName {
			fmt.Fprintf(&b, " in %s", e.Func)
		}
	case e.Func != "":
		fmt.Fprintf(&b, " in %s", e.Func)
		if e.Row >= 0 {
			fmt.Fprintf(&b, " row %d", e.Row)
		}
	case e.Kind == KindLoad:
		b.WriteString(" to load")
	}
	b.WriteString(": ")
	switch {
	case e.Kind == KindPluginReported:
		b.WriteString("plugin reported: ")
	case e.Message == "":
		b.WriteString(e.Kind.String())
	}
	b.WriteString(e.Message)
	if e.WasmStack != "" {
		b.WriteString("\nwasm stack trace:")
		for _, l := range strings.Split(strings.TrimRight(e.WasmStack, "\n"), "\n") {
			b.WriteString("\n\t")
			b.WriteString(strings.TrimLeft(l, "\t"))
		}
	}
	if e.StderrTail != "" {
		b.WriteString("\nplugin output (tail):")
		lines := strings.Split(strings.TrimRight(e.StderrTail, "\n"), "\n")
		if len(lines) > 2*reportTailLines {
			// Keep the start (where Go and Rust put the panic message) and
			// the end; the field keeps everything.
			omitted := len(lines) - 2*reportTailLines
			lines = append(append(lines[:reportTailLines:reportTailLines],
				fmt.Sprintf("[… %d lines omitted; PluginError.StderrTail has them …]", omitted)),
				lines[len(lines)-reportTailLines:]...)
		}
		for _, l := range lines {
			b.WriteString("\n\t| ")
			b.WriteString(l)
		}
	}
	if e.Resume != "" {
		b.WriteString("\nresume from: ")
		b.WriteString(e.Resume)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *PluginError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, context.DeadlineExceeded) hold for KindTimeout,
// and errors.Is(err, ErrMemoryLimit) for KindMemoryLimit.
func (e *PluginError) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Kind == KindTimeout
	case ErrMemoryLimit:
		return e.Kind == KindMemoryLimit
	}
	return false
}

// reportTailLines is how many lines of the start and of the end of
// StderrTail Error renders.
const reportTailLines = 20

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ErrClosed is returned (wrapped) by every call on a closed Runtime, Module,
// Instance or Chain. It is a programming error in the caller: nothing to
// retry.
var ErrClosed = errors.New("host: closed")

// ErrDead is wrapped by the error an Instance returns when it is called
// again after an earlier call failed: a trapped or failed instance is never
// reused. The same error also wraps the original *PluginError (errors.As
// finds it). The caller should report the original error and build a new
// instance if it wants to go on.
var ErrDead = errors.New("host: instance failed earlier and cannot be reused")

// ErrMemoryLimit is matched by errors.Is for a PluginError of kind
// KindMemoryLimit. Raise the plugin's memory limit or make it use less.
var ErrMemoryLimit = errors.New("host: plugin memory limit reached")

// deadError is returned by calls on an instance that failed before.
type deadError struct {
	first *PluginError
}

func (e *deadError) Error() string {
	return fmt.Sprintf("plugin %q (module %s): instance failed earlier (%s: %s) and cannot be reused",
		e.first.Plugin, e.first.Module, e.first.Kind, e.first.Message)
}

func (e *deadError) Unwrap() []error { return []error{ErrDead, e.first} }
