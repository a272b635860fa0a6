package sluice

import (
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// FuzzProcess feeds arbitrary bytes to the engine behind sluice_process,
// with a plugin that reads every cell through the typed getters and echoes
// the rows. Whatever the input, the engine must not panic, and it must
// answer an undecodable page with an ERROR and a valid page with a result
// the host accepts.
func FuzzProcess(f *testing.F) {
	f.Add(testPage(3).AppendEncoded(nil))
	for _, name := range []string{"scalars.page.hex", "collections.page.hex", "tiny.page.hex"} {
		f.Add(mustVector(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := engine{plugin: echoPlugin{}}
		e.init(abi.EncodeConfig(nil))
		res := e.process(b)
		page, perr := abi.DecodePage(b)
		if perr != nil {
			r, err := abi.DecodeResult(res, 0, abi.Limits{})
			if _, isErr := r.Error(); err != nil || !isErr {
				t.Fatalf("undecodable page (%v): result %x is not an ERROR (%v)", perr, res, err)
			}
			return
		}
		if len(res) == 0 {
			t.Fatal("echo plugin returned the empty result")
		}
		r, err := abi.DecodeResult(res, page.NumRows(), abi.Limits{})
		if err != nil {
			t.Fatalf("invalid result: %v", err)
		}
		if err := r.Validate(page.Schema); err != nil {
			t.Fatalf("invalid result: %v", err)
		}
	})
}
