package host

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// FuzzProcessResult feeds arbitrary bytes to the host as a plugin result
// (testdata/replay.wasm returns whatever it was restored with). The host
// must never panic: either the outputs are consistent views of the input
// page, or the error is a BadOutput or PluginReported *PluginError.
//
//	go test -run '^$' -fuzz FuzzProcessResult -fuzztime 60s ./host/
func FuzzProcessResult(f *testing.F) {
	page := makePage(f, 3, 10)
	bm := []byte{0x55, 0x01}
	rows := makePage(f, 0, 2)
	seeds := []abi.Result{
		{Sections: []abi.Section{{Kind: abi.SectionSelect, Output: "", NRows: 10, Bitmap: bm}}},
		{Sections: []abi.Section{{Kind: abi.SectionRows, Output: "x", NRows: 2, Rows: rows}}},
		{Sections: []abi.Section{
			{Kind: abi.SectionSelect, Output: "", NRows: 10, Bitmap: bm},
			{Kind: abi.SectionRows, Output: "", NRows: 2, Rows: rows},
			{Kind: abi.SectionSelect, Output: "y", NRows: 10, Bitmap: []byte{0xff, 0x03}},
		}},
		{Sections: []abi.Section{{Kind: abi.SectionError, ErrRow: 4, ErrMsg: "bad"}}},
	}
	for _, s := range seeds {
		f.Add(s.AppendEncoded(nil))
	}
	f.Add([]byte("SLR1\x00\x00\x00\x00"))
	f.Add([]byte("SLR1\xff\xff\xff\xff"))
	f.Add([]byte{})

	r := newRuntime(f, RuntimeConfig{})
	m := compileFixture(f, r, "replay")
	f.Fuzz(func(t *testing.T, result []byte) {
		ctx := context.Background()
		inst, err := m.Instantiate(ctx, InstanceConfig{Logger: quiet, ResultCap: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		if err := inst.Restore(ctx, result); err != nil {
			t.Fatal(err)
		}
		out, err := inst.Process(ctx, page)
		if err != nil {
			var pe *PluginError
			if !errors.As(err, &pe) || (pe.Kind != KindBadOutput && pe.Kind != KindPluginReported) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for _, o := range out.All() {
			for _, b := range o.Batches {
				n := 0
				for i := range b.Indexes() {
					if i < 0 || i >= b.Page().NumRows() {
						t.Fatalf("index %d out of page of %d rows", i, b.Page().NumRows())
					}
					n++
				}
				if n != b.Rows() || n == 0 {
					t.Fatalf("batch claims %d rows, iterates %d", b.Rows(), n)
				}
				if err := b.Materialize().Validate(); err != nil {
					t.Fatalf("materialized batch invalid: %v", err)
				}
			}
		}
	})
}
