package sluice

import (
	"bytes"
	"encoding/binary"
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

// FuzzQuickDecode: a page whose columns are those of the previous page is
// decoded on the quick path (structure only, cells when read). After a good
// page, a mutated one must give exactly what a fresh engine (which checks
// every page fully) gives when the page is valid, and an ERROR or a result
// the host accepts when it is not. No input may make the engine panic.
func FuzzQuickDecode(f *testing.F) {
	f.Add(testPage(9).AppendEncoded(nil), uint16(60), byte(1))
	f.Add(mustVector(f, "scalars.page.hex"), uint16(700), byte(0x80))
	f.Add(mustVector(f, "collections.page.hex"), uint16(500), byte(0xff))
	f.Fuzz(func(t *testing.T, good []byte, at uint16, x byte) {
		if _, err := abi.DecodePage(good); err != nil || len(good) == 0 {
			return
		}
		bad := bytes.Clone(good)
		bad[int(at)%len(bad)] ^= x
		for _, p := range []Plugin{echoPlugin{}, emitPlugin{}, lenientPlugin{}} {
			primed := engine{plugin: p}
			primed.init(abi.EncodeConfig(nil))
			primed.process(good)
			got := bytes.Clone(primed.process(bad))
			fresh := engine{plugin: p}
			fresh.init(abi.EncodeConfig(nil))
			want := fresh.process(bad)
			if _, perr := abi.DecodePage(bad); perr == nil {
				if !bytes.Equal(got, want) {
					t.Fatalf("%T: valid page: primed engine %x, fresh %x", p, got, want)
				}
				continue
			}
			if len(got) == 0 {
				continue // every row passes
			}
			// An ERROR, or (a flaw no cell read reaches, such as bytes after
			// a row's last cell) a result the host accepts for the page.
			nrows := int(binary.LittleEndian.Uint32(bad[24:]))
			if _, err := abi.DecodeResult(got, nrows, abi.Limits{}); err != nil {
				t.Fatalf("%T: invalid page: result %x: %v", p, got, err)
			}
		}
	})
}
