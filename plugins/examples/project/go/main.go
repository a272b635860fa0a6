// Command project is the sluice example plugin "project" in Go: it selects,
// orders and renames columns and appends one computed column (len or upper
// of a text column), emitting new rows on the default output. Its behaviour
// is specified in plugins/examples/README.md, identically for every SDK
// language.
//
// Built (from this directory; see build.sh) with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o project.wasm .
package main

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&project{}) }

func main() {}

type column struct{ source, name string }

type project struct {
	columns []column
	fn      string // "", "len" or "upper"
	fnSrc   string
	fnName  string

	// Resolution for the last input schema seen.
	schema *abi.Schema
	cols   []int // input index of each output column
	fnCol  int
	out    *abi.Schema
	err    error
}

func (p *project) Init(cfg sluice.Config) error {
	if err := cfg.Unknown("columns", "compute", "compute_as"); err != nil {
		return fmt.Errorf("project: %w", err)
	}
	if err := cfg.Single("compute", "compute_as"); err != nil {
		return fmt.Errorf("project: %w", err)
	}
	entries := cfg.All("columns")
	if len(entries) == 0 {
		return fmt.Errorf("project: missing config key \"%s\"", "columns")
	}
	for _, e := range entries {
		src, name, found := strings.Cut(e, ":")
		if !found {
			name = src
		}
		if src == "" || name == "" {
			return fmt.Errorf("project: columns entry \"%s\" is not \"source\" or \"source:name\"", e)
		}
		p.columns = append(p.columns, column{src, name})
	}
	compute, hasCompute := cfg.Get("compute")
	if hasCompute {
		fn, src, found := strings.Cut(compute, ":")
		if !found || (fn != "len" && fn != "upper") || src == "" {
			return fmt.Errorf("project: compute \"%s\" is not \"len:<column>\" or \"upper:<column>\"", compute)
		}
		p.fn, p.fnSrc, p.fnName = fn, src, src+"_"+fn
	}
	as, hasAs := cfg.Get("compute_as")
	if hasAs && !hasCompute {
		return fmt.Errorf("project: compute_as needs compute")
	}
	if hasAs {
		if as == "" {
			return fmt.Errorf("project: compute_as is empty")
		}
		p.fnName = as
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(p.columns)+1)
	for _, c := range p.columns {
		names = append(names, c.name)
	}
	if p.fn != "" {
		names = append(names, p.fnName)
	}
	for _, n := range names {
		if seen[n] {
			return fmt.Errorf("project: output column \"%s\" appears twice", n)
		}
		seen[n] = true
	}
	return nil
}

// resolve maps the output columns onto the input schema.
func (p *project) resolve(page *sluice.Page) {
	p.schema, p.err = page.Schema(), nil
	in := page.Schema()
	p.cols = p.cols[:0]
	cols := make([]abi.Column, 0, len(p.columns)+1)
	for _, c := range p.columns {
		i, err := page.Column(c.source)
		if err != nil {
			p.err = fmt.Errorf("project: %w", err)
			return
		}
		p.cols = append(p.cols, i)
		cols = append(cols, abi.Column{Name: c.name, Type: in.Columns[i].Type})
	}
	if p.fn != "" {
		i, err := page.Column(p.fnSrc)
		if err != nil {
			p.err = fmt.Errorf("project: %w", err)
			return
		}
		t := in.Columns[i].Type
		if t.ID != abi.TypeVarchar && t.ID != abi.TypeASCII {
			p.err = fmt.Errorf("project: compute source \"%s\" has type %s, want text or ascii", p.fnSrc, t.ID)
			return
		}
		p.fnCol = i
		ot := t
		if p.fn == "len" {
			ot = abi.Type{ID: abi.TypeInt}
		}
		cols = append(cols, abi.Column{Name: p.fnName, Type: ot})
	}
	p.out = abi.NewSchema(cols...)
}

func (p *project) Process(page *sluice.Page, out *sluice.Output) error {
	if page.Schema() != p.schema {
		p.resolve(page)
	}
	if p.err != nil {
		return p.err
	}
	w, err := out.Rows("", p.out)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	var upper []byte
	for row := range page.Rows() {
		for _, c := range p.cols {
			w.Copy(row, c)
		}
		if p.fn != "" {
			b, null := row.RawAt(p.fnCol)
			switch {
			case null:
				w.Null()
			case p.fn == "len":
				n := int32(0)
				for _, c := range b {
					if c < 0x80 || c > 0xBF {
						n++
					}
				}
				w.Int(n)
			default:
				upper = append(upper[:0], b...)
				for i, c := range upper {
					if c >= 'a' && c <= 'z' {
						upper[i] = c - 0x20
					}
				}
				w.Raw(upper)
			}
		}
		if err := w.End(); err != nil {
			return fmt.Errorf("project: %w", err)
		}
	}
	return nil
}
