// Command redact is the sluice example plugin "redact" in Go: it masks the
// values of text columns, either whole ("***") or as emails
// ("j***@example.com"). Its behaviour is specified in
// plugins/examples/README.md, identically for every SDK language.
//
// Built (from this directory; see build.sh) with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o redact.wasm .
package main

import (
	"bytes"
	"fmt"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&redact{}) }

func main() {}

type redact struct {
	columns []string
	email   bool

	// Resolution for the last input schema seen.
	schema *abi.Schema
	masked []bool // per input column
	err    error

	buf []byte
}

func (r *redact) Init(cfg sluice.Config) error {
	if err := cfg.Unknown("columns", "mode"); err != nil {
		return fmt.Errorf("redact: %w", err)
	}
	if err := cfg.Single("mode"); err != nil {
		return fmt.Errorf("redact: %w", err)
	}
	r.columns = cfg.All("columns")
	if len(r.columns) == 0 {
		return fmt.Errorf("redact: missing config key \"%s\"", "columns")
	}
	for i, c := range r.columns {
		for _, d := range r.columns[:i] {
			if c == d {
				return fmt.Errorf("redact: column \"%s\" listed twice", c)
			}
		}
	}
	mode, err := cfg.String("mode", "full")
	if err != nil {
		return fmt.Errorf("redact: %w", err)
	}
	switch mode {
	case "full":
	case "email":
		r.email = true
	default:
		return fmt.Errorf("redact: mode \"%s\" is not email or full", mode)
	}
	return nil
}

func (r *redact) resolve(page *sluice.Page) {
	r.schema, r.err = page.Schema(), nil
	r.masked = make([]bool, len(page.Schema().Columns))
	for _, name := range r.columns {
		i, err := page.Column(name)
		if err != nil {
			r.err = fmt.Errorf("redact: %w", err)
			return
		}
		if t := page.Schema().Columns[i].Type.ID; t != abi.TypeVarchar && t != abi.TypeASCII {
			r.err = fmt.Errorf("redact: column \"%s\" has type %s, want text or ascii", name, t)
			return
		}
		r.masked[i] = true
	}
}

var stars = []byte("***")

// mask appends the masked form of cell to dst.
func (r *redact) mask(dst, cell []byte) []byte {
	if !r.email {
		return append(dst, stars...)
	}
	at := bytes.LastIndexByte(cell, '@')
	if at < 0 {
		return append(dst, stars...)
	}
	local := cell[:at]
	if len(local) > 0 {
		n := 1
		for n < len(local) && local[n] >= 0x80 && local[n] <= 0xBF {
			n++
		}
		dst = append(dst, local[:n]...)
	}
	dst = append(dst, stars...)
	return append(dst, cell[at:]...)
}

func (r *redact) Process(page *sluice.Page, out *sluice.Output) error {
	if page.Schema() != r.schema {
		r.resolve(page)
	}
	if r.err != nil {
		return r.err
	}
	// First pass: does any cell change? If not, pass the page unchanged.
	changed := false
	for row := range page.Rows() {
		for col, m := range r.masked {
			if !m {
				continue
			}
			b, null := row.RawAt(col)
			if null {
				continue
			}
			r.buf = r.mask(r.buf[:0], b)
			if !bytes.Equal(r.buf, b) {
				changed = true
				break
			}
		}
		if changed {
			break
		}
	}
	if !changed {
		return nil
	}
	w, err := out.Rows("", page.Schema())
	if err != nil {
		return fmt.Errorf("redact: %w", err)
	}
	for row := range page.Rows() {
		for col, m := range r.masked {
			b, null := row.RawAt(col)
			if !m || null {
				w.Copy(row, col)
				continue
			}
			r.buf = r.mask(r.buf[:0], b)
			w.Raw(r.buf)
		}
		if err := w.End(); err != nil {
			return fmt.Errorf("redact: %w", err)
		}
	}
	return nil
}
