package host

import (
	"fmt"

	"github.com/tetratelabs/wazero/experimental"
)

// wasmPageSize is the size of one WebAssembly memory page.
const wasmPageSize = 1 << 16

// guestMemory backs one instance's linear memory (wazero's experimental
// MemoryAllocator hook) and enforces the instance's memory limit.
//
// Why not only wazero's RuntimeConfig.WithMemoryLimitPages? It is one value
// for the whole runtime (we want a limit per plugin), it makes compilation
// fail for any module that merely declares a larger maximum, and a
// memory.grow refused by it never reaches the host, so a later trap could
// not be told apart from any other. Here every growth past the limit is
// refused by Reallocate, which records it: memory.grow returns -1 to the
// guest as the spec requires, and when the guest then dies (Go's runtime
// exits "out of memory", Rust aborts, C traps on a NULL write) the host
// reports KindMemoryLimit with the numbers.
//
// Owned by the Instance's owner goroutine (wazero calls Reallocate from
// memory.grow, which runs on the goroutine calling into the guest).
type guestMemory struct {
	limit   uint64 // bytes
	buf     []byte
	refused uint64 // size in bytes of the last refused growth; 0 = none
}

var _ experimental.LinearMemory = (*guestMemory)(nil)

func (g *guestMemory) allocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		g.buf = make([]byte, 0, min(capacity, g.limit))
		return g
	})
}

// Reallocate implements experimental.LinearMemory.
func (g *guestMemory) Reallocate(size uint64) []byte {
	if size > g.limit {
		g.refused = size
		return nil
	}
	if size <= uint64(cap(g.buf)) {
		// Linear memory never shrinks, so bytes past the old length were
		// never handed out: they are still zero from make.
		g.buf = g.buf[:size]
		return g.buf
	}
	newCap := max(size, 2*uint64(cap(g.buf)))
	newCap = min(newCap, g.limit)
	nb := make([]byte, size, newCap)
	copy(nb, g.buf)
	g.buf = nb
	return nb
}

// Free implements experimental.LinearMemory.
func (g *guestMemory) Free() { g.buf = nil }

// formatBytes renders n bytes as "64 MiB", "1.5 MiB", "512 KiB" or "100 B".
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
