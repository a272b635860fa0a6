package sluice

import (
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// Plugin is what a plugin author implements. Register it from an init
// function of package main.
type Plugin interface {
	// Init is called once, before the first page, with the plugin's config.
	// An error stops the stream before it starts: check the config here.
	Init(cfg Config) error
	// Process is called once per page. It selects input rows and writes
	// rows to outputs through out (doing nothing passes every row on
	// unchanged). An error stops the stream.
	Process(page *Page, out *Output) error
}

// Flusher is implemented by plugins that emit rows at the end of the
// stream (aggregates, buffers). Flush may only write rows (out.Rows, Emit);
// there are no input rows to select.
type Flusher interface {
	Flush(out *Output) error
}

// Snapshotter is implemented by plugins whose state must survive a hot
// swap: the host calls Snapshot on the running instance and Restore on its
// replacement (perhaps a newer version of the plugin) before that one's
// first page. The bytes are opaque to the host; version their format.
//
// A plugin without Snapshotter snapshots to no state (the host then skips
// the restore), and refuses non-empty state from the instance it replaces
// with an error, which makes the host keep the old instance: state is never
// silently lost.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(state []byte) error
}

// registered is the plugin of this module, set by Register.
var registered Plugin

// Register sets the plugin of this module. Call it once, from an init
// function of package main; a second call panics.
func Register(p Plugin) {
	if p == nil {
		panic("sluice: Register(nil)")
	}
	if registered != nil {
		panic(fmt.Sprintf("sluice: Register called twice (%T, then %T): a module has one plugin", registered, p))
	}
	registered = p
}

// Level is the level of a log message.
type Level = abi.LogLevel

// Log levels.
const (
	LevelDebug = abi.LogDebug
	LevelInfo  = abi.LogInfo
	LevelWarn  = abi.LogWarn
	LevelError = abi.LogError
)

// Log sends a message to the host's log, attributed to this plugin, page
// and stream. The host caps the bytes logged per page and in total, so log
// summaries rather than one line per row.
func Log(level Level, msg string) { logSink(level, msg) }

// Logf is Log with fmt.Sprintf formatting.
func Logf(level Level, format string, args ...any) { logSink(level, fmt.Sprintf(format, args...)) }
