package host

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"unsafe"

	"github.com/sluicehq/sluice/abi"
)

// Batch is a run of rows for one output: a page and, optionally, a
// selection of its rows. A SELECT section of a plugin becomes a Batch over
// the page the plugin was given with the plugin's bitmap: no row is copied.
// A Batch can be fed to the next plugin as is (Instance.ProcessBatch), so a
// chain of filters never copies a row on the host side.
//
// A Batch is an immutable view; its page must stay unmodified while the
// Batch is in use. It may be sent to another goroutine (with its page) and
// read there.
type Batch struct {
	page *abi.Page
	sel  []byte // nil: every row of page
	rows int
}

// NewBatch returns a batch of the rows of page selected by sel: bit i
// (LSB-first) of sel keeps row i; nil keeps every row. sel must not be
// modified afterwards.
func NewBatch(page *abi.Page, sel []byte) Batch {
	return selectBatch(page, sel)
}

// selectBatch builds the batch of a SELECT: a selection keeping every row
// becomes a plain pass-through of the page.
func selectBatch(page *abi.Page, sel []byte) Batch {
	n := page.NumRows()
	if sel == nil {
		return Batch{page: page, rows: n}
	}
	c := countBits(sel, n)
	if c == n {
		return Batch{page: page, rows: n}
	}
	return Batch{page: page, sel: sel, rows: c}
}

// countBits counts the set bits among the first n bits of bitmap.
func countBits(bitmap []byte, n int) int {
	full := n / 8
	if full > len(bitmap) {
		full = len(bitmap)
	}
	c := 0
	b := bitmap[:full]
	for len(b) >= 8 {
		c += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		c += bits.OnesCount8(x)
	}
	if rem := n % 8; rem != 0 && full < len(bitmap) {
		c += bits.OnesCount8(bitmap[full] & (1<<rem - 1))
	}
	return c
}

// Page returns the page the batch's rows are in.
func (b Batch) Page() *abi.Page { return b.page }

// Selection returns the selection bitmap over Page (bit i, LSB-first, set
// when row i belongs to the batch), or nil when every row does. It must
// not be modified.
func (b Batch) Selection() []byte { return b.sel }

// Rows returns the number of rows in the batch.
func (b Batch) Rows() int { return b.rows }

// All reports whether the batch is every row of its page (no selection).
func (b Batch) All() bool { return b.sel == nil }

// Indexes iterates over the indexes (in Page) of the batch's rows, in
// order.
func (b Batch) Indexes() iter.Seq[int] {
	return func(yield func(int) bool) {
		n := b.page.NumRows()
		if b.sel == nil {
			for i := range n {
				if !yield(i) {
					return
				}
			}
			return
		}
		for k, x := range b.sel {
			for x != 0 {
				i := k*8 + bits.TrailingZeros8(x)
				if i >= n {
					return
				}
				if !yield(i) {
					return
				}
				x &= x - 1
			}
		}
	}
}

// Each iterates over the batch's rows, with their index in Page.
func (b Batch) Each() iter.Seq2[int, abi.Row] {
	return func(yield func(int, abi.Row) bool) {
		for i := range b.Indexes() {
			if !yield(i, b.page.Row(i)) {
				return
			}
		}
	}
}

// Materialize returns a page holding exactly the batch's rows: Page itself
// when every row is kept (no copy), else a new page (abi.Page.Select).
func (b Batch) Materialize() *abi.Page {
	if b.sel == nil {
		return b.page
	}
	return b.page.Select(b.sel)
}

// rowIndex returns the index in Page of the k-th row of the batch, or -1.
func (b Batch) rowIndex(k int) int {
	if b.sel == nil {
		if k < b.rows {
			return k
		}
		return -1
	}
	for i := range b.Indexes() {
		if k == 0 {
			return i
		}
		k--
	}
	return -1
}

// compose returns the batch of the rows of b that bitmap keeps, where bit k
// of bitmap stands for the k-th row of b (a SELECT by a plugin that was
// given b).
func (b Batch) compose(bitmap []byte) Batch {
	if b.sel == nil {
		return selectBatch(b.page, bitmap)
	}
	nb := make([]byte, len(b.sel))
	k := 0
	for i := range b.Indexes() {
		if bitmap[k>>3]&(1<<(k&7)) != 0 {
			nb[i>>3] |= 1 << (i & 7)
		}
		k++
	}
	return selectBatch(b.page, nb)
}

// encodedLen returns the length of the SLP1 encoding of the batch's rows
// as one page, and the length of their rows area.
func (b Batch) encodedLen() (total, data int) {
	p := b.page
	if b.sel == nil {
		return p.EncodedLen(), len(p.Data)
	}
	for i := range b.Indexes() {
		data += int(p.Offsets[i+1] - p.Offsets[i])
	}
	empty := abi.Page{Number: p.Number, Split: p.Split, Schema: p.Schema}
	return empty.EncodedLen() + 4*b.rows + data, data
}

// encodeTo writes the SLP1 encoding of the batch's rows into dst, which
// must have exactly the length encodedLen returned. It returns false if
// abi's encoding did not have the expected layout (a host bug).
func (b Batch) encodeTo(dst []byte, dataLen int) bool {
	p := b.page
	if b.sel == nil {
		enc := p.AppendEncoded(dst[:0:len(dst)])
		return len(enc) == len(dst) && unsafe.SliceData(enc) == unsafe.SliceData(dst)
	}
	// Header, columns and offsets[0] = 0 of an empty page with the same
	// number, split and schema; then patch nrows (byte 24 of the header,
	// ABI v1) and append the offsets and rows of the selection.
	empty := abi.Page{Number: p.Number, Split: p.Split, Schema: p.Schema}
	enc := empty.AppendEncoded(dst[:0:len(dst)])
	if unsafe.SliceData(enc) != unsafe.SliceData(dst) || len(enc) < 28 {
		return false
	}
	binary.LittleEndian.PutUint32(enc[24:], uint32(b.rows))
	offs := enc[len(enc) : len(enc)+4*b.rows]
	data := dst[len(enc)+4*b.rows:]
	if len(data) != dataLen {
		return false
	}
	w, k := 0, 0
	runStart, runEnd := -1, -1 // a run of consecutive rows is copied at once
	for i := range b.Indexes() {
		lo, hi := int(p.Offsets[i]), int(p.Offsets[i+1])
		if lo != runEnd {
			if runStart >= 0 {
				w += copy(data[w:], p.Data[runStart:runEnd])
			}
			runStart = lo
		}
		runEnd = hi
		binary.LittleEndian.PutUint32(offs[4*k:], uint32(w+runEnd-runStart))
		k++
	}
	if runStart >= 0 {
		w += copy(data[w:], p.Data[runStart:runEnd])
	}
	return w == dataLen
}

// Output is the batches of one output, in the order they were produced.
type Output struct {
	Name    string // "" is the default output
	Batches []Batch
}

// Rows returns the number of rows over all batches.
func (o Output) Rows() int {
	n := 0
	for _, b := range o.Batches {
		n += b.rows
	}
	return n
}

// Outputs are the results of one call (or one chain run), by output name:
// the default output "" first, then named outputs in the order they first
// appeared. Batches with no rows are left out, and so is an output with no
// batches. The zero value is empty.
type Outputs struct {
	list []Output
}

// passThrough is the Outputs of handle 0: the input page, unchanged, on
// the default output.
func passThrough(page *abi.Page) Outputs {
	if page.NumRows() == 0 {
		return Outputs{}
	}
	return batchThrough(Batch{page: page, rows: page.NumRows()})
}

// batchThrough is the Outputs of handle 0 for a batch: the batch itself on
// the default output.
func batchThrough(b Batch) Outputs {
	if b.rows == 0 {
		return Outputs{}
	}
	return Outputs{list: []Output{{Name: abi.DefaultOutput, Batches: []Batch{b}}}}
}

// add appends b to output name (dropping empty batches).
func (o *Outputs) add(name string, b Batch) {
	if b.rows == 0 {
		return
	}
	for k := range o.list {
		if o.list[k].Name == name {
			o.list[k].Batches = append(o.list[k].Batches, b)
			return
		}
	}
	out := Output{Name: name, Batches: []Batch{b}}
	if name == abi.DefaultOutput {
		o.list = append(o.list, Output{})
		copy(o.list[1:], o.list)
		o.list[0] = out
		return
	}
	o.list = append(o.list, out)
}

// addNamed appends every named (non-default) output of other to o.
func (o *Outputs) addNamed(other Outputs) {
	for _, out := range other.list {
		if out.Name == abi.DefaultOutput {
			continue
		}
		for _, b := range out.Batches {
			o.add(out.Name, b)
		}
	}
}

// Default returns the batches of the default output, or nil.
func (o Outputs) Default() []Batch { return o.Get(abi.DefaultOutput) }

// Get returns the batches of the named output, or nil.
func (o Outputs) Get(name string) []Batch {
	for _, out := range o.list {
		if out.Name == name {
			return out.Batches
		}
	}
	return nil
}

// All returns every output, the default one first. The slice must not be
// modified.
func (o Outputs) All() []Output { return o.list }

// Names returns the output names, "" (default) first when present.
func (o Outputs) Names() []string {
	names := make([]string, len(o.list))
	for k, out := range o.list {
		names[k] = out.Name
	}
	return names
}

// Rows returns the number of rows of the named output.
func (o Outputs) Rows(name string) int {
	for _, out := range o.list {
		if out.Name == name {
			return out.Rows()
		}
	}
	return 0
}

// Empty reports whether there are no rows on any output.
func (o Outputs) Empty() bool { return len(o.list) == 0 }

// concat returns one batch holding the rows of batches (which share one
// schema), numbered like number/split: a single batch is returned as is
// (no copy), several are copied into one new page.
func concat(batches []Batch, number uint64, split uint32) Batch {
	if len(batches) == 1 {
		b := batches[0]
		if b.page.Number != number || b.page.Split != split {
			// Do not renumber a page someone else may hold: shallow copy.
			cp := *b.page
			cp.Number, cp.Split = number, split
			b.page = &cp
		}
		return b
	}
	rows, size := 0, 0
	for _, b := range batches {
		rows += b.rows
		_, d := b.encodedLen()
		size += d
	}
	out := &abi.Page{Number: number, Split: split, Schema: batches[0].page.Schema,
		Offsets: make([]uint32, 1, rows+1), Data: make([]byte, 0, size)}
	for _, b := range batches {
		p := b.page
		if b.sel == nil {
			base := uint32(len(out.Data))
			out.Data = append(out.Data, p.Data...)
			for _, off := range p.Offsets[1:] {
				out.Offsets = append(out.Offsets, base+off)
			}
			continue
		}
		for i := range b.Indexes() {
			out.Data = append(out.Data, p.Data[p.Offsets[i]:p.Offsets[i+1]]...)
			out.Offsets = append(out.Offsets, uint32(len(out.Data)))
		}
	}
	return Batch{page: out, rows: rows}
}
