package sluice

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/sluicehq/sluice/abi"
)

// The cost model behind this file: the host runs plugins with a timeout
// check on every loop iteration of the guest (tens of nanoseconds each), and
// Go's WebAssembly code turns every taken jump into one (a function is one
// loop around a jump table). A decoder that validates every cell of every
// row before the plugin runs spends far more than a filter does, so the
// SDK validates the page's structure up front and each cell's framing when
// the cell is read.

// pageHeaderLen is the size of the fixed SLP1 header (ABI.md section 7).
const pageHeaderLen = 28

// pageDecoder decodes the pages of a stream for the engine.
//
// The first page of each schema goes through abi.PageDecoder, which checks
// everything: header, column descriptors, offsets and every cell of every
// row. A following page whose column descriptors have the same bytes gets
// the same schema and only a structural check here (header, offsets from 0
// to the rows area's end, never decreasing); Row checks a cell's framing
// when it reads it. Whenever the quick check fails, abi.PageDecoder decodes
// the page again, so a malformed page is reported with its message.
//
// A pageDecoder belongs to the engine's goroutine.
type pageDecoder struct {
	full     abi.PageDecoder
	schema   *Schema // of the last page abi.PageDecoder accepted; nil: none
	colBytes []byte  // its column descriptors
	page     abi.Page
	offs     []uint32 // page.Offsets, reused
}

// decode decodes b; the page (and its Offsets) is overwritten by the next
// call, its Data aliases b.
func (d *pageDecoder) decode(b []byte) (*abi.Page, error) {
	if p := d.quick(b); p != nil {
		return p, nil
	}
	p, err := d.full.Decode(b)
	if err != nil {
		return nil, err
	}
	colLen := len(b) - pageHeaderLen - 4*len(p.Offsets) - len(p.Data)
	d.schema = p.Schema
	d.colBytes = append(d.colBytes[:0], b[pageHeaderLen:pageHeaderLen+colLen]...)
	return p, nil
}

// quick decodes b when its columns are those of the last fully checked
// page and its structure is sound; nil otherwise.
func (d *pageDecoder) quick(b []byte) *abi.Page {
	le := binary.LittleEndian
	if d.schema == nil || len(b) < pageHeaderLen || le.Uint32(b) != abi.PageMagic || le.Uint32(b[4:]) != 0 {
		return nil
	}
	ncols, nrows := uint64(le.Uint32(b[20:])), uint64(le.Uint32(b[24:]))
	rest := b[pageHeaderLen:]
	if ncols != uint64(len(d.schema.Columns)) || len(rest) < len(d.colBytes) || string(rest[:len(d.colBytes)]) != string(d.colBytes) {
		return nil
	}
	rest = rest[len(d.colBytes):]
	need := (nrows + 1) * 4
	if need > uint64(len(rest)) {
		return nil
	}
	offb, data := rest[:need], rest[need:]
	n := int(nrows)
	// What abi.PageDecoder checks of the rows area before its cells.
	if le.Uint32(offb) != 0 || uint64(le.Uint32(offb[4*n:])) != uint64(len(data)) ||
		(ncols == 0 && len(data) != 0) || nrows*ncols*4 > uint64(len(data)) || !nonDecreasing(offb, n) {
		return nil
	}
	d.offs = appendOffsets(d.offs[:0], offb)
	d.page = abi.Page{Number: le.Uint64(b[8:]), Split: le.Uint32(b[16:]), Schema: d.schema, Offsets: d.offs, Data: data[:len(data):len(data)]}
	return &d.page
}

// littleEndian: the offsets are copied with one memmove when the machine's
// byte order is the ABI's (always, on wasm).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// appendOffsets appends the little-endian u32s of b to dst.
func appendOffsets(dst []uint32, b []byte) []uint32 {
	n := len(b) / 4
	if cap(dst)-len(dst) < n {
		dst = append(make([]uint32, 0, len(dst)+n), dst...)
	}
	at := len(dst)
	dst = dst[:at+n]
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst[at:]))), 4*n), b)
		return dst
	}
	for i := range n {
		dst[at+i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return dst
}

// nonDecreasing reports whether the nrows+1 little-endian u32 offsets in b
// never decrease, checking eight per loop iteration.
func nonDecreasing(b []byte, nrows int) bool {
	le := binary.LittleEndian
	prev := le.Uint32(b)
	i := 0
	for ; nrows-i >= 8; i += 8 {
		c := b[4*(i+1) : 4*(i+9)]
		o0, o1, o2, o3 := le.Uint32(c), le.Uint32(c[4:]), le.Uint32(c[8:]), le.Uint32(c[12:])
		o4, o5, o6, o7 := le.Uint32(c[16:]), le.Uint32(c[20:]), le.Uint32(c[24:]), le.Uint32(c[28:])
		if lt(o0, prev)|lt(o1, o0)|lt(o2, o1)|lt(o3, o2)|lt(o4, o3)|lt(o5, o4)|lt(o6, o5)|lt(o7, o6) != 0 {
			return false
		}
		prev = o7
	}
	for ; i < nrows; i++ {
		o := le.Uint32(b[4*(i+1):])
		if o < prev {
			return false
		}
		prev = o
	}
	return true
}

// lt is a < b as 0 or 1, without a branch.
func lt(a, b uint32) uint32 { return uint32((uint64(a) - uint64(b)) >> 63) }

// walk returns where cell col of row i (bytes b, from offset at of the rows
// area) starts and its length (-1: null), checking the framing of every
// cell up to it; on a malformed row it returns the fault, with the message
// abi.PageDecoder gives the same row.
func walk(b []byte, at uint32, i, col int) (off int, n int32, fault string) {
	for c := 0; ; c++ {
		if len(b)-off < 4 {
			return 0, -1, fmt.Sprintf("row %d (offsets %d..%d): cell %d: truncated length (%d bytes left in the row, need 4)", i, at, int(at)+len(b), c, len(b)-off)
		}
		n = int32(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if n < -1 {
			return 0, -1, fmt.Sprintf("row %d: cell %d: length %d (must be >= -1)", i, c, n)
		}
		if n > 0 && int64(n) > int64(len(b)-off) {
			return 0, -1, fmt.Sprintf("row %d (offsets %d..%d): cell %d: length %d beyond the %d bytes left in the row", i, at, int(at)+len(b), c, n, len(b)-off)
		}
		if c == col {
			return off, n, ""
		}
		if n > 0 {
			off += int(n)
		}
	}
}

// checkRow checks the framing of every cell of row i (bytes b, from offset
// at) and that the last one ends the row; "" when sound.
func checkRow(b []byte, at uint32, i, ncols int) string {
	if ncols == 0 {
		if len(b) != 0 {
			return fmt.Sprintf("row %d (offsets %d..%d): %d cells end at byte %d of the row, %d bytes left over", i, at, int(at)+len(b), ncols, 0, len(b))
		}
		return ""
	}
	off, n, fault := walk(b, at, i, ncols-1)
	if fault != "" {
		return fault
	}
	if n > 0 {
		off += int(n)
	}
	if off != len(b) {
		return fmt.Sprintf("row %d (offsets %d..%d): %d cells end at byte %d of the row, %d bytes left over", i, at, int(at)+len(b), ncols, off, len(b)-off)
	}
	return ""
}
