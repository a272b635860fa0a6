// Package sluice is the Go SDK for sluice plugins: WebAssembly modules that
// receive pages of Cassandra rows, one call per page, and return what to do
// with them (keep or drop rows, emit new rows to named outputs, or stop the
// stream with an error). It implements ABI v1 (abi/ABI.md) so a plugin
// author writes only the plugin logic:
//
//	package main
//
//	import "github.com/sluicehq/sluice/plugins/go/sluice"
//
//	type adults struct{}
//
//	func (adults) Init(cfg sluice.Config) error { return cfg.Unknown() }
//
//	func (adults) Process(page *sluice.Page, out *sluice.Output) error {
//		for row := range page.Rows() {
//			age, null, err := row.Int("age")
//			if err != nil {
//				return err
//			}
//			out.Set(row.Index(), !null && age >= 18)
//		}
//		return nil
//	}
//
//	func init() { sluice.Register(adults{}) }
//
//	func main() {}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o adults.wasm .
//
// The module's exports (sluice_abi_version, sluice_alloc, sluice_init,
// sluice_process, sluice_flush, sluice_snapshot, sluice_restore) live in
// this package, behind the wasip1 build tag, so importing it is enough.
// Register must be called from an init function: with -buildmode=c-shared
// the Go runtime runs package initialisers from _initialize, and main.main
// is never called.
//
// # Lifecycle
//
// The host calls Init once with the plugin's config, then Process once per
// page, then, at the end of the stream, Flush if the plugin implements
// Flusher. Snapshot and Restore (Snapshotter) hand state over when a plugin
// is hot-swapped: Snapshot on the old instance, Restore on the new one,
// before its first Process.
//
// All calls come from one host goroutine, one at a time: a plugin needs no
// locking. A Page and every Row and []byte obtained from it are views of the
// host's input buffer, valid only until the call returns: copy what you keep
// (string(b), bytes.Clone(b)).
//
// # Output
//
// The default output (named "") feeds the next plugin in the chain, or the
// stream's default sink. It receives the input rows unchanged unless the
// plugin says otherwise: Keep, Drop, Set, KeepAll and DropAll select input
// rows (a bitmap; rows are not copied), and rows written with Emit or
// Output.Rows("") replace them (add KeepAll to send both). Named outputs go
// to the sinks the stream's config routes them to.
//
// # Errors
//
// An error returned from Init, Process, Flush or Restore stops the stream
// with that message. RowError (or a *CellError from a typed getter) also
// names the row. A panic is recovered and reported the same way, with its
// stack.
//
// # Testing
//
// The package builds on every platform (only the export glue is
// wasip1-specific), so a plugin's logic can be tested with go test on the
// development machine through a Harness, which drives the plugin through the
// same byte encodings the host uses.
package sluice
