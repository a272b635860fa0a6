package sluice

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/sluicehq/sluice/abi"
)

// engine turns ABI calls (bytes in, result bytes out) into calls of a
// Plugin. The wasip1 export glue drives the one engine of the module; a
// Harness drives its own. An engine is used by one goroutine at a time (the
// host calls a plugin instance from one goroutine).
type engine struct {
	plugin Plugin
	inited bool

	dec      pageDecoder
	prepared *Schema // the schema Preparer.Prepare last succeeded for
	page     Page
	out      Output

	secs []abi.Section
	res  []byte // result buffer, reused; a handle points into it until the next call
}

// rowSlot is the row slot (ABI.md 3.1): the index of the row the plugin
// last took from the page of the current Process (Page.Row and Page.Rows
// store it), -1 outside. After a trap the host reads it, through the
// sluice_row_slot export, to name the row. A panic in Process is reported
// as an error about that row.
var rowSlot int32 = -1

// errNotInited is returned by calls that come before a successful Init.
var errNotInited = errors.New("sluice sdk: called before a successful sluice_init")

// panicError is a panic of the plugin, recovered by guard.
type panicError struct{ msg string }

func (e *panicError) Error() string { return e.msg }

// guard runs f, turning a panic into an error carrying the panic value and
// the stack.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{fmt.Sprintf("panic: %v\n\n%s", r, debug.Stack())}
		}
	}()
	return f()
}

// errorResult encodes a result of one ERROR section.
func (e *engine) errorResult(err error) []byte {
	e.secs = append(e.secs[:0], abi.Section{Kind: abi.SectionError, ErrRow: rowOf(err), ErrMsg: err.Error()})
	e.res = abi.Result{Sections: e.secs}.AppendEncoded(e.res[:0])
	return e.res
}

// init decodes the config and calls Plugin.Init. A nil return is the empty
// result.
func (e *engine) init(cfg []byte) []byte {
	if e.plugin == nil {
		return e.errorResult(errors.New("sluice sdk: no plugin registered: call sluice.Register from an init function of package main"))
	}
	kvs, err := abi.DecodeConfig(cfg)
	if err != nil {
		return e.errorResult(fmt.Errorf("sluice sdk: decode config: %w", err))
	}
	if err := guard(func() error { return e.plugin.Init(Config{kvs: kvs}) }); err != nil {
		return e.errorResult(err)
	}
	e.inited = true
	return nil
}

// process decodes a page and calls Plugin.Process.
func (e *engine) process(b []byte) []byte {
	if !e.inited {
		return e.errorResult(errNotInited)
	}
	p, err := e.dec.decode(b)
	if err != nil {
		return e.errorResult(fmt.Errorf("sluice sdk: decode page: %w", err))
	}
	e.page.reset(p)
	e.out.reset(p.NumRows(), p.Schema)
	if pr, ok := e.plugin.(Preparer); ok && e.prepared != p.Schema {
		// The decoder keeps one *Schema per schema: a new pointer is a
		// new schema.
		if err := guard(func() error { return pr.Prepare(p.Schema) }); err != nil {
			return e.errorResult(err)
		}
		e.prepared = p.Schema
	}
	rowSlot = -1
	err = guard(func() error { return e.plugin.Process(&e.page, &e.out) })
	if pe, ok := err.(*panicError); ok && rowSlot >= 0 && int(rowSlot) < p.NumRows() {
		err = &RowErr{Row: int(rowSlot), Err: pe}
	}
	rowSlot = -1
	// A malformed cell the plugin read is the first problem, whatever it
	// did with the NULL it got.
	if e.page.fault != nil {
		return e.errorResult(e.page.fault)
	}
	if err != nil {
		return e.errorResult(err)
	}
	return e.encodeOutput()
}

// flush calls Plugin.Flush when the plugin is a Flusher.
func (e *engine) flush() []byte {
	if !e.inited {
		return e.errorResult(errNotInited)
	}
	f, ok := e.plugin.(Flusher)
	if !ok {
		return nil
	}
	e.out.reset(-1, nil)
	if err := guard(func() error { return f.Flush(&e.out) }); err != nil {
		return e.errorResult(err)
	}
	return e.encodeOutput()
}

// snapshot returns the plugin's state (nil for none) or an error.
func (e *engine) snapshot() ([]byte, error) {
	if !e.inited {
		return nil, errNotInited
	}
	s, ok := e.plugin.(Snapshotter)
	if !ok {
		return nil, nil
	}
	var state []byte
	err := guard(func() error {
		var err error
		state, err = s.Snapshot()
		return err
	})
	if err != nil {
		return nil, err
	}
	e.res = append(e.res[:0], state...)
	return e.res, nil
}

// restore hands state to Plugin.Restore.
func (e *engine) restore(state []byte) []byte {
	if !e.inited {
		return e.errorResult(errNotInited)
	}
	s, ok := e.plugin.(Snapshotter)
	if !ok {
		if len(state) > 0 {
			// As for a module without sluice_restore (ABI.md section 5):
			// refuse the swap rather than lose the state.
			return e.errorResult(noRestoreError(len(state)))
		}
		return nil
	}
	if err := guard(func() error { return s.Restore(state) }); err != nil {
		return e.errorResult(err)
	}
	return nil
}

// noRestoreError is the error of a plugin that is not a Snapshotter handed
// n (> 0) bytes of state. The Rust and AssemblyScript SDKs, whose default
// restore refuses state the same way, use the same words, so every build
// of a plugin reports the same message.
func noRestoreError(n int) error {
	return fmt.Errorf("sluice sdk: plugin cannot restore state: it implements no restore, so the %d bytes of state of the instance it replaces would be lost", n)
}

// encodeOutput encodes what the plugin wrote to e.out; nil is the empty
// result (every input row passes unchanged). Outputs come in the order the
// call first used them; on the default output the selection comes before
// the written rows.
func (e *engine) encodeOutput() []byte {
	o := &e.out
	e.secs = e.secs[:0]

	// Where the default output's sections go: at its first use.
	defaultRows := false
	defaultSeq := -1
	if o.selSet {
		defaultSeq = o.selSeq
	}
	for _, w := range o.writers[:o.nw] {
		if w.output != abi.DefaultOutput {
			continue
		}
		defaultRows = true
		if defaultSeq < 0 || w.seq < defaultSeq {
			defaultSeq = w.seq
		}
		if o.selSet && !w.schema.Equal(o.input) {
			return e.errorResult(fmt.Errorf("sluice sdk: rows were both selected (Keep/Drop) and written to the default output with another schema (%s, input %s); one output has one schema per call", w.schema, o.input))
		}
	}
	for _, r := range o.routes[:o.nr] {
		for _, w := range o.writers[:o.nw] {
			if w.output == r.output && !w.schema.Equal(o.input) {
				return e.errorResult(fmt.Errorf("sluice sdk: output \"%s\" got both routed input rows and written rows of another schema (%s, input %s); one output has one schema per call", r.output, w.schema, o.input))
			}
		}
	}

	// The default output's SELECT, if any.
	var defSel *abi.Section
	if o.nrows >= 0 {
		switch {
		case o.selSet:
			kept := bitmapCount(o.sel, o.nrows)
			if kept == o.nrows && o.nw == 0 && o.nr == 0 {
				return nil
			}
			if defaultRows || kept > 0 {
				defSel = &abi.Section{Kind: abi.SectionSelect, Output: abi.DefaultOutput, NRows: o.nrows, Bitmap: o.sel}
			}
		case o.nw == 0 && o.nr == 0:
			return nil
		case !defaultRows:
			// Only named outputs were used: the input rows still pass.
			defSel = &abi.Section{Kind: abi.SectionSelect, Output: abi.DefaultOutput, NRows: o.nrows, Bitmap: o.selection()}
			defaultSeq = -1 // first
		}
	} else if o.nw == 0 {
		return nil
	}

	// Everything else in first-use order: a merge of the routes and the
	// writers, both already in first-use order.
	if defSel != nil && defaultSeq < 0 {
		e.secs = append(e.secs, *defSel)
		defSel = nil
	}
	ri, wi := 0, 0
	for ri < o.nr || wi < o.nw {
		var seq int
		useRoute := wi >= o.nw || (ri < o.nr && o.routes[ri].seq < o.writers[wi].seq)
		if useRoute {
			seq = o.routes[ri].seq
		} else {
			seq = o.writers[wi].seq
		}
		if defSel != nil && defaultSeq <= seq {
			e.secs = append(e.secs, *defSel)
			defSel = nil
		}
		if useRoute {
			r := o.routes[ri]
			ri++
			if bitmapCount(r.bitmap, o.nrows) > 0 {
				e.secs = append(e.secs, abi.Section{Kind: abi.SectionSelect, Output: r.output, NRows: o.nrows, Bitmap: r.bitmap})
			}
			continue
		}
		w := o.writers[wi]
		wi++
		for _, p := range w.pages() {
			e.secs = append(e.secs, abi.Section{Kind: abi.SectionRows, Output: w.output, NRows: p.NumRows(), Rows: p})
		}
	}
	if defSel != nil {
		e.secs = append(e.secs, *defSel)
	}
	e.res = abi.Result{Sections: e.secs}.AppendEncoded(e.res[:0])
	return e.res
}
