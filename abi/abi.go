// Package abi is the Go encoding of sluice's plugin ABI v1: the page
// ("SLP1"), result ("SLR1") and config ("SLC1") byte formats, type
// descriptors, the CQL value codecs and the JSON form of every CQL type.
//
// The normative specification is ABI.md in this directory; this package is
// its reference implementation. It uses the standard library only, so the
// Go plugin SDK compiled for GOOS=wasip1 GOARCH=wasm shares the very same
// code as the host.
//
// Every decoder in this package treats its input as hostile: each length,
// count and offset is checked against the remaining bytes (and the Limits,
// where they apply) before anything is allocated. Decoders never panic on
// malformed input; they return an error that wraps ErrMalformed (and
// ErrLimit when a configured limit was exceeded).
//
// Values in this package carry no goroutine affinity: immutable values
// (Type, Schema, a decoded Page or Result) may be shared between goroutines
// as long as nobody mutates them; builders (PageBuilder) belong to one
// goroutine at a time.
package abi

import (
	"errors"
	"fmt"
	"strings"
)

// ABI version implemented by this package.
const (
	// Major is the ABI major version. A host refuses a plugin whose major
	// differs from its own.
	Major = 1
	// Minor is the ABI minor version. A host refuses a plugin whose minor is
	// greater than its own; minors only ever add optional exports.
	Minor = 0
	// Version is the value a plugin's sluice_abi_version export returns:
	// Major<<16 | Minor.
	Version = Major<<16 | Minor
)

// Magic numbers of the three framed formats, as little-endian u32 (the bytes
// in memory read "SLP1", "SLR1", "SLC1").
const (
	PageMagic   uint32 = 0x31504C53
	ResultMagic uint32 = 0x31524C53
	ConfigMagic uint32 = 0x31434C53
)

// Names of the exports a plugin module provides.
const (
	ExportABIVersion = "sluice_abi_version" // () -> i32, required
	ExportAlloc      = "sluice_alloc"       // (size i32) -> i32, required
	ExportInit       = "sluice_init"        // (cfg_ptr i32, cfg_len i32) -> i64, required
	ExportProcess    = "sluice_process"     // (page_ptr i32, page_len i32) -> i64, required
	ExportFlush      = "sluice_flush"       // () -> i64, optional
	ExportSnapshot   = "sluice_snapshot"    // () -> i64, optional
	ExportRestore    = "sluice_restore"     // (ptr i32, len i32) -> i64, required if sluice_snapshot is exported
	ExportRowSlot    = "sluice_row_slot"    // () -> i32, optional: address of the row slot (ABI.md 3.1)
	ExportInitialize = "_initialize"        // () -> (), WASI reactors
	ExportStart      = "_start"             // WASI command entry point: refused by the host
	ExportMemory     = "memory"             // the guest's linear memory, required
)

// Names of the host functions a plugin may import.
const (
	ImportModule = "sluice" // module name of the host functions
	ImportLog    = "log"    // log(level i32, ptr i32, len i32)

	ImportModuleWASI = "wasi_snapshot_preview1"
	ImportModuleEnv  = "env"
	ImportEnvAbort   = "abort" // env.abort(msg i32, file i32, line i32, col i32), AssemblyScript
	ImportEnvSeed    = "seed"  // env.seed() -> f64, AssemblyScript
	ImportEnvTrace   = "trace" // env.trace(msg i32, n i32, a0..a4 f64), AssemblyScript
)

// LogLevel is the level argument of the sluice.log import.
type LogLevel int32

// Log levels of the sluice.log import.
const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// String returns "debug", "info", "warn", "error", or "level(N)".
func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// VersionString formats an encoded ABI version (major<<16 | minor) as
// "major.minor".
func VersionString(v uint32) string {
	return fmt.Sprintf("%d.%d", v>>16, v&0xFFFF)
}

// ErrVersion is wrapped by the error CheckVersion returns. The caller should
// refuse to load the plugin and show the error, which names both versions.
var ErrVersion = errors.New("incompatible ABI version")

// CheckVersion reports whether a plugin built against ABI version plugin
// (the value its sluice_abi_version export returned) can run on a host that
// implements version host. It refuses a different major and a plugin minor
// greater than the host's minor. The error names both versions and wraps
// ErrVersion.
func CheckVersion(plugin, host uint32) error {
	pMaj, pMin := plugin>>16, plugin&0xFFFF
	hMaj, hMin := host>>16, host&0xFFFF
	switch {
	case pMaj != hMaj:
		return fmt.Errorf("abi: plugin ABI version %s, host ABI version %s: a different major version is not supported (rebuild the plugin against ABI %d.x): %w",
			VersionString(plugin), VersionString(host), hMaj, ErrVersion)
	case pMin > hMin:
		return fmt.Errorf("abi: plugin ABI version %s, host ABI version %s: the plugin needs a newer host (upgrade sluice to one implementing ABI %d.%d or later): %w",
			VersionString(plugin), VersionString(host), pMaj, pMin, ErrVersion)
	}
	return nil
}

// MakeHandle packs a guest pointer and length into the i64 handle returned by
// sluice_init, sluice_process, sluice_flush, sluice_snapshot and
// sluice_restore: ptr<<32 | len.
func MakeHandle(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// SplitHandle unpacks a handle into its guest pointer and length.
func SplitHandle(h uint64) (ptr, length uint32) { return uint32(h >> 32), uint32(h) }

// ErrMalformed is wrapped by every error a decoder of this package returns
// for input that does not follow the format. For plugin output the caller
// should fail the stream and report the plugin as faulty, quoting the error.
var ErrMalformed = errors.New("malformed")

// ErrLimit is wrapped (in addition to ErrMalformed) by decode errors caused by
// a configured limit (Limits, the type nesting depth) rather than by a
// structural defect. The caller should report which limit to raise.
var ErrLimit = errors.New("limit exceeded")

// ErrEmptyValue is wrapped by the typed value decoders (DecodeInt, ...) when
// the cell is empty (zero bytes, not null): CQL allows an empty value for
// most types, and it has no Go value of that type.
var ErrEmptyValue = errors.New("empty value")

// DecodeError is the error type of every decoder in this package. Its
// message starts with "abi: " and says what is wrong and where.
type DecodeError struct {
	Msg   string // without the "abi: " prefix
	Limit bool   // a configured limit was exceeded
	Empty bool   // the value was empty (see ErrEmptyValue)
}

func (e *DecodeError) Error() string { return "abi: " + e.Msg }

// Is makes errors.Is match ErrMalformed for every DecodeError, ErrLimit for
// limit violations and ErrEmptyValue for empty values.
func (e *DecodeError) Is(target error) bool {
	switch target {
	case ErrMalformed:
		return true
	case ErrLimit:
		return e.Limit
	case ErrEmptyValue:
		return e.Empty
	}
	return false
}

func errf(format string, args ...any) error {
	return &DecodeError{Msg: fmt.Sprintf(format, args...)}
}

func limitf(format string, args ...any) error {
	return &DecodeError{Msg: fmt.Sprintf(format, args...), Limit: true}
}

// msgOf returns the message of err without the "abi: " prefix, for nesting
// one error's message in another's.
func msgOf(err error) string {
	if de, ok := err.(*DecodeError); ok {
		return de.Msg
	}
	return strings.TrimPrefix(err.Error(), "abi: ")
}

// prefixErr returns err's message prefixed with the formatted context,
// keeping its Limit and Empty flags.
func prefixErr(err error, format string, args ...any) error {
	de := &DecodeError{Msg: fmt.Sprintf(format, args...) + ": " + msgOf(err)}
	if d, ok := err.(*DecodeError); ok {
		de.Limit, de.Empty = d.Limit, d.Empty
	}
	return de
}
