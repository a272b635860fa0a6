//go:build wasip1

package sluice

import (
	"fmt"
	"unsafe"

	"github.com/sluicehq/sluice/abi"
)

// The ABI v1 exports of the module. They drive the module's one engine with
// the plugin given to Register. The host calls them from one goroutine, one
// at a time.

var (
	mod engine

	// in is the input buffer handed out by sluice_alloc: one buffer, grown
	// when a call needs more, kept reachable here so the GC never frees it
	// while the host writes to it. Pages decoded from it alias it.
	in []byte
)

//go:wasmimport sluice log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

func logSink(level Level, msg string) {
	if len(msg) == 0 {
		return
	}
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}

// handle packs a result slice into an ABI handle; nil or empty is 0.
func handle(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	return int64(uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(uint32(len(b))))
}

// input returns the n bytes the host wrote at ptr, which must be the buffer
// sluice_alloc returned.
func input(ptr, n int32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if len(in) == 0 || uintptr(ptr) != uintptr(unsafe.Pointer(&in[0])) || n < 0 || int(n) > len(in) {
		return nil, fmt.Errorf("sluice sdk: input (ptr 0x%x, %d bytes) is not within the %d-byte buffer of the last sluice_alloc", uint32(ptr), n, len(in))
	}
	return in[:n], nil
}

// The address of the row slot (ABI.md 3.1); a global never moves.
//
//go:wasmexport sluice_row_slot
func sluiceRowSlot() int32 { return int32(uintptr(unsafe.Pointer(&rowSlot))) }

//go:wasmexport sluice_abi_version
func sluiceABIVersion() int32 { return abi.Version }

//go:wasmexport sluice_alloc
func sluiceAlloc(size int32) int32 {
	if size < 0 {
		panic(fmt.Sprintf("sluice sdk: sluice_alloc(%d)", size))
	}
	if int(size) > cap(in) || cap(in) == 0 {
		in = make([]byte, max(int(size), 2*cap(in), 64))
	}
	in = in[:cap(in)]
	return int32(uintptr(unsafe.Pointer(&in[0])))
}

//go:wasmexport sluice_init
func sluiceInit(ptr, n int32) int64 {
	mod.plugin = registered
	b, err := input(ptr, n)
	if err != nil {
		return handle(mod.errorResult(err))
	}
	return handle(mod.init(b))
}

//go:wasmexport sluice_process
func sluiceProcess(ptr, n int32) int64 {
	b, err := input(ptr, n)
	if err != nil {
		return handle(mod.errorResult(err))
	}
	return handle(mod.process(b))
}

//go:wasmexport sluice_flush
func sluiceFlush() int64 { return handle(mod.flush()) }

//go:wasmexport sluice_snapshot
func sluiceSnapshot() int64 {
	state, err := mod.snapshot()
	if err != nil {
		// sluice_snapshot has no error channel: log, then trap.
		msg := "sluice sdk: snapshot: " + err.Error()
		logSink(LevelError, msg)
		panic(msg)
	}
	return handle(state)
}

//go:wasmexport sluice_restore
func sluiceRestore(ptr, n int32) int64 {
	b, err := input(ptr, n)
	if err != nil {
		return handle(mod.errorResult(err))
	}
	return handle(mod.restore(b))
}
