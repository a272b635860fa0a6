// Command trap is the trap test plugin in Go: it panics on the first row
// whose column equals value (plugins/conformance/trap/README.md).
//
// Built by build.sh:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o trap.wasm .
package main

import (
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&trap{}) }

func main() {}

type trap struct {
	column string
	value  int32
	col    int
}

func (t *trap) Prepare(s *sluice.Schema) error {
	t.col = s.Index(t.column)
	if t.col < 0 {
		return fmt.Errorf("trap: prepare: no column %q", t.column)
	}
	return nil
}

func (t *trap) Init(cfg sluice.Config) error {
	c, err := cfg.Require("column")
	if err != nil {
		return err
	}
	s, _ := cfg.Get("value")
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	t.column, t.value = c, int32(v)
	return nil
}

func (t *trap) Process(page *sluice.Page, out *sluice.Output) error {
	for row := range page.Rows() {
		v, null, err := row.IntAt(t.col)
		if err != nil {
			return err
		}
		checkRow(v, null, t.value)
	}
	return nil
}

//go:noinline
func checkRow(v int32, null bool, bad int32) {
	if !null && v == bad {
		panic(fmt.Sprintf("trap: value %d is the bad one", bad))
	}
}
