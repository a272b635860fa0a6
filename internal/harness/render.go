package harness

import (
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// RenderJSONL appends the rows of pages to dst as JSON lines, exactly as
// the JSONL sink writes them (abi.AppendJSONRow, one object per line, each
// line ending in \n). A cell that is not a valid encoding of its column's
// type is an error naming the page, row and column.
func RenderJSONL(dst []byte, pages []*abi.Page) ([]byte, error) {
	for _, p := range pages {
		for i := range p.NumRows() {
			var err error
			n := len(dst)
			dst, err = abi.AppendJSONRow(dst, p.Schema, p.Row(i))
			if err != nil {
				return dst[:n], fmt.Errorf("rendering output page %d row %d: %w", p.Number, i, err)
			}
			dst = append(dst, '\n')
		}
	}
	return dst, nil
}
