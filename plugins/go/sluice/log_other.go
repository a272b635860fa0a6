//go:build !wasip1

package sluice

import (
	"fmt"
	"os"
	"sync"
)

// Outside WebAssembly (tests on the development machine) Log writes to
// stderr, or to the Harness that is running a call.
var logTo struct {
	sync.Mutex
	f func(Level, string) // nil: stderr
}

func logSink(level Level, msg string) {
	logTo.Lock()
	f := logTo.f
	logTo.Unlock()
	if f != nil {
		f(level, msg)
		return
	}
	fmt.Fprintf(os.Stderr, "sluice plugin log [%s]: %s\n", level, msg)
}
