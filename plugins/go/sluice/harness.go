//go:build !wasip1

package sluice

import (
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// Harness runs a Plugin on the development machine, through the same byte
// encodings as the host: pages are encoded to SLP1 and results decoded from
// SLR1 with the host's validation. Use it to unit-test a plugin's logic
// with go test; test the built .wasm with the host (sluice plugin test).
//
// A Harness belongs to one goroutine. Calls of different harnesses are
// serialised (they share the package's log capture).
type Harness struct {
	e     engine
	buf   []byte
	logs  []LogRecord
	pages uint64 // pages built by Page
}

// LogRecord is one message a plugin logged through a Harness.
type LogRecord struct {
	Level Level
	Msg   string
}

// ResultError is an ERROR section returned by a plugin.
type ResultError struct {
	Row     int64 // -1 when not row-specific
	Message string
}

// Error returns the message, with the row when there is one.
func (e *ResultError) Error() string {
	if e.Row >= 0 {
		return fmt.Sprintf("plugin error at row %d: %s", e.Row, e.Message)
	}
	return "plugin error: " + e.Message
}

// harnessMu serialises harness calls, which redirect the package's log.
var harnessMu = make(chan struct{}, 1)

// call runs f with Log captured into h.
func (h *Harness) call(f func()) {
	harnessMu <- struct{}{}
	defer func() { <-harnessMu }()
	logTo.Lock()
	logTo.f = func(l Level, m string) { h.logs = append(h.logs, LogRecord{l, m}) }
	logTo.Unlock()
	defer func() {
		logTo.Lock()
		logTo.f = nil
		logTo.Unlock()
	}()
	f()
}

// NewHarness initialises p with the given config pairs (in the order
// given; the host sends them sorted by key). An ERROR returned by Init is a
// *ResultError.
func NewHarness(p Plugin, cfg ...ConfigPair) (*Harness, error) {
	h := &Harness{e: engine{plugin: p}}
	var res []byte
	h.call(func() { res = h.e.init(h.input(abi.EncodeConfig(cfg))) })
	if _, err := h.decode(res, -1, nil); err != nil {
		return nil, err
	}
	return h, nil
}

// input copies b into the harness's input buffer, as the host copies into
// guest memory (so the plugin cannot alias the caller's bytes).
func (h *Harness) input(b []byte) []byte {
	h.buf = append(h.buf[:0], b...)
	return h.buf
}

// decode decodes and validates a result as the host does. An ERROR
// section is returned both in the Result and as a *ResultError.
func (h *Harness) decode(b []byte, inputRows int, input *Schema) (abi.Result, error) {
	if len(b) == 0 {
		return abi.Result{}, nil
	}
	r, err := abi.DecodeResult(b, inputRows, abi.Limits{})
	if err != nil {
		return abi.Result{}, fmt.Errorf("sluice harness: plugin returned an invalid result: %w", err)
	}
	if s, ok := r.Error(); ok {
		return r, &ResultError{Row: s.ErrRow, Message: s.ErrMsg}
	}
	if err := r.Validate(input); err != nil {
		return r, fmt.Errorf("sluice harness: plugin returned an invalid result: %w", err)
	}
	return r, nil
}

// Process runs the plugin on page. When the plugin answers with the empty
// result (handle 0: every row passes unchanged), Process returns the
// equivalent Result of one SELECT section keeping every row on the default
// output, so that a Result without sections always means "every row was
// dropped".
func (h *Harness) Process(page *abi.Page) (abi.Result, error) {
	var res []byte
	h.call(func() { res = h.e.process(h.input(page.AppendEncoded(nil))) })
	if len(res) == 0 {
		all := make([]byte, abi.BitmapLen(page.NumRows()))
		for i := range page.NumRows() {
			abi.BitmapSet(all, i)
		}
		return abi.Result{Sections: []abi.Section{{Kind: abi.SectionSelect, Output: abi.DefaultOutput, NRows: page.NumRows(), Bitmap: all}}}, nil
	}
	return h.decode(res, page.NumRows(), page.Schema)
}

// Flush runs the plugin's Flush (the empty Result when it is not a
// Flusher).
func (h *Harness) Flush() (abi.Result, error) {
	var res []byte
	h.call(func() { res = h.e.flush() })
	return h.decode(res, -1, nil)
}

// Snapshot returns a copy of the plugin's snapshot (nil when it is not a
// Snapshotter).
func (h *Harness) Snapshot() ([]byte, error) {
	var state []byte
	var err error
	h.call(func() { state, err = h.e.snapshot() })
	if err != nil {
		return nil, err
	}
	if state == nil {
		return nil, nil
	}
	return append([]byte(nil), state...), nil
}

// Restore hands state to the plugin's Restore.
func (h *Harness) Restore(state []byte) error {
	var res []byte
	h.call(func() { res = h.e.restore(h.input(state)) })
	_, err := h.decode(res, -1, nil)
	return err
}

// Logs returns the messages the plugin logged so far.
func (h *Harness) Logs() []LogRecord { return h.logs }
