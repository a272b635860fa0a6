package abi

import (
	"fmt"
	"unicode/utf8"
)

// SectionKind is the kind of a result section.
type SectionKind uint8

// Section kinds.
const (
	// SectionSelect keeps or drops rows of the input page without copying
	// them: a bitmap with one bit per input row (LSB-first), 1 = keep.
	SectionSelect SectionKind = 1
	// SectionRows carries new rows with their own schema.
	SectionRows SectionKind = 2
	// SectionError reports an error that stops the stream.
	SectionError SectionKind = 3
)

// String returns "SELECT", "ROWS", "ERROR" or "kind(N)".
func (k SectionKind) String() string {
	switch k {
	case SectionSelect:
		return "SELECT"
	case SectionRows:
		return "ROWS"
	case SectionError:
		return "ERROR"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DefaultOutput is the name of the default output: it feeds the next plugin
// of the chain, or the stream's default sink after the last plugin.
const DefaultOutput = ""

// Section is one section of a plugin result.
//
//	SELECT: Output, NRows (= input rows), Bitmap (BitmapLen(NRows) bytes)
//	ROWS:   Output, Rows (Schema, Offsets, Data; Number and Split are 0), NRows = Rows.NumRows()
//	ERROR:  ErrRow (-1 = not row-specific), ErrMsg
type Section struct {
	Kind   SectionKind
	Output string
	Bitmap []byte
	NRows  int
	Rows   *Page
	ErrRow int64
	ErrMsg string
}

// Result is a decoded plugin result: its sections in order. The zero Result
// (no sections, handle 0) means "pass every input row to the default output
// unchanged" for sluice_process, and "success, nothing emitted" for the
// other calls.
type Result struct {
	Sections []Section
}

// Empty reports whether the result has no sections.
func (r Result) Empty() bool { return len(r.Sections) == 0 }

// Error returns the ERROR section of the result, if any. DecodeResult stops
// at the first ERROR section, so it is always the last one.
func (r Result) Error() (Section, bool) {
	for _, s := range r.Sections {
		if s.Kind == SectionError {
			return s, true
		}
	}
	return Section{}, false
}

// Limits bound what DecodeResult accepts. A zero field takes the value of
// DefaultLimits.
type Limits struct {
	MaxBytes          int // total result size in bytes
	MaxRowsPerSection int // rows of one SELECT or ROWS section
	MaxSections       int // sections of one result
}

// DefaultLimits are the host defaults (see docs/config.md): 64 MiB per
// result, 1,000,000 rows per section, 65,536 sections.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxRowsPerSection: 1_000_000, MaxSections: 65536}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxRowsPerSection <= 0 {
		l.MaxRowsPerSection = DefaultLimits.MaxRowsPerSection
	}
	if l.MaxSections <= 0 {
		l.MaxSections = DefaultLimits.MaxSections
	}
	return l
}

// resultHeaderLen is magic + nsections.
const resultHeaderLen = 8

// DecodeResult decodes and validates an SLR1 result written by a plugin.
// The input is hostile: every length, count and offset is checked against
// the remaining bytes and lim before anything is allocated, and errors name
// the section (numbered from 0), its kind and output, and the field, e.g.
//
//	abi: result section 2 (ROWS, output "audit"): offsets[5]=900 beyond rows area of 812 bytes
//
// inputRows is the row count of the page the plugin was given; SELECT
// sections must have exactly that many rows. inputRows < 0 means there was
// no input page (sluice_init, sluice_flush, sluice_restore): SELECT
// sections are then an error.
//
// Decoding stops after the first ERROR section: the rest of the result is
// discarded, as the stream stops. Otherwise trailing bytes after the last
// section are an error. ERROR rows must be -1 or, with an input page, a row
// of it. Output names and ERROR messages must be valid UTF-8.
//
// DecodeResult checks each section on its own and that the ROWS sections of
// one output share one schema; Result.Validate checks SELECT sections
// against the input schema. The returned Result does not alias b, so b may
// be guest memory that changes on the next call.
func DecodeResult(b []byte, inputRows int, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return Result{}, limitf("result of %d bytes exceeds the limit of %d bytes", len(b), lim.MaxBytes)
	}
	if len(b) < resultHeaderLen {
		return Result{}, errf("result: %d bytes, shorter than the %d-byte header", len(b), resultHeaderLen)
	}
	r := reader{b: b}
	magic, _ := r.u32()
	if magic != ResultMagic {
		return Result{}, errf("result: magic 0x%08X, want 0x%08X (\"SLR1\")", magic, ResultMagic)
	}
	nsec, _ := r.u32()
	if uint64(nsec) > uint64(lim.MaxSections) {
		return Result{}, limitf("result: nsections=%d exceeds the limit of %d sections", nsec, lim.MaxSections)
	}
	// The smallest section (SELECT of 0 rows to "") is 1+4+4 = 9 bytes.
	if uint64(nsec)*9 > uint64(r.left()) {
		return Result{}, errf("result: nsections=%d cannot fit in the %d bytes left", nsec, r.left())
	}
	res := Result{Sections: make([]Section, 0, nsec)}
	schemas := map[string]*Schema{}
	for i := range int(nsec) {
		s, err := decodeSection(&r, i, inputRows, lim)
		if err != nil {
			return Result{}, err
		}
		if s.Kind == SectionRows {
			if prev, ok := schemas[s.Output]; ok && !prev.Equal(s.Rows.Schema) {
				return Result{}, errf("result section %d (ROWS, output %q): schema (%s) differs from an earlier ROWS section of the same output (%s); one output has one schema per result",
					i, s.Output, s.Rows.Schema, prev)
			}
			schemas[s.Output] = s.Rows.Schema
		}
		res.Sections = append(res.Sections, s)
		if s.Kind == SectionError {
			return res, nil
		}
	}
	if r.left() != 0 {
		return Result{}, errf("result: %d trailing bytes after the last of %d sections", r.left(), nsec)
	}
	return res, nil
}

func decodeSection(r *reader, i, inputRows int, lim Limits) (Section, error) {
	at := r.off
	k, ok := r.u8()
	if !ok {
		return Section{}, errf("result section %d at byte %d: truncated kind", i, at)
	}
	s := Section{Kind: SectionKind(k)}
	if s.Kind != SectionSelect && s.Kind != SectionRows && s.Kind != SectionError {
		return Section{}, errf("result section %d at byte %d: unknown kind %d (want 1 SELECT, 2 ROWS or 3 ERROR)", i, at, k)
	}
	if s.Kind == SectionError {
		row, ok := r.u64()
		if !ok {
			return Section{}, errf("result section %d (ERROR): truncated row (%d bytes left, need 8)", i, r.left())
		}
		s.ErrRow = int64(row)
		mat := r.off
		msg, n, res := r.str()
		switch res {
		case strShortLen:
			return Section{}, errf("result section %d (ERROR): message at byte %d: truncated length", i, mat)
		case strShortBytes:
			return Section{}, errf("result section %d (ERROR): message at byte %d: length %d beyond the %d bytes left", i, mat, n, r.left())
		case strBadUTF8:
			return Section{}, errf("result section %d (ERROR): message at byte %d: not valid UTF-8", i, mat)
		}
		s.ErrMsg = msg
		if s.ErrRow < -1 {
			return Section{}, errf("result section %d (ERROR, message %q): row %d (must be -1 or a row index)", i, truncate(msg, 200), s.ErrRow)
		}
		if inputRows >= 0 && s.ErrRow >= int64(inputRows) {
			return Section{}, errf("result section %d (ERROR, message %q): row %d out of range -1..%d", i, truncate(msg, 200), s.ErrRow, inputRows-1)
		}
		return s, nil
	}
	oat := r.off
	out, n, res := r.str()
	switch res {
	case strShortLen:
		return Section{}, errf("result section %d (%s): output name at byte %d: truncated length", i, s.Kind, oat)
	case strShortBytes:
		return Section{}, errf("result section %d (%s): output name at byte %d: length %d beyond the %d bytes left", i, s.Kind, oat, n, r.left())
	case strBadUTF8:
		return Section{}, errf("result section %d (%s): output name at byte %d: not valid UTF-8", i, s.Kind, oat)
	}
	s.Output = out
	where := fmt.Sprintf("result section %d (%s, output %q)", i, s.Kind, out)
	nat := r.off
	switch s.Kind {
	case SectionSelect:
		nrows, ok := r.u32()
		if !ok {
			return Section{}, errf("%s: truncated nrows at byte %d", where, nat)
		}
		if inputRows < 0 {
			return Section{}, errf("%s: SELECT is only allowed in the result of sluice_process", where)
		}
		if uint64(nrows) > uint64(lim.MaxRowsPerSection) {
			return Section{}, limitf("%s: nrows=%d exceeds the limit of %d rows per section", where, nrows, lim.MaxRowsPerSection)
		}
		if int64(nrows) != int64(inputRows) {
			return Section{}, errf("%s: nrows=%d, must equal the input page's %d rows", where, nrows, inputRows)
		}
		bl := BitmapLen(int(nrows))
		bm, ok := r.bytes(bl)
		if !ok {
			return Section{}, errf("%s: bitmap of %d bytes beyond the %d bytes left", where, bl, r.left())
		}
		if rem := int(nrows) % 8; rem != 0 && bm[bl-1]>>rem != 0 {
			return Section{}, errf("%s: bitmap byte %d has bits set beyond row %d (padding bits must be 0)", where, bl-1, nrows-1)
		}
		s.NRows = int(nrows)
		s.Bitmap = append([]byte(nil), bm...)
	case SectionRows:
		ncols, ok := r.u32()
		if !ok {
			return Section{}, errf("%s: truncated ncols at byte %d", where, nat)
		}
		schema, err := decodeColumns(r, ncols)
		if err != nil {
			return Section{}, prefixErr(err, "%s", where)
		}
		rat := r.off
		nrows, ok := r.u32()
		if !ok {
			return Section{}, errf("%s: truncated nrows at byte %d", where, rat)
		}
		if uint64(nrows) > uint64(lim.MaxRowsPerSection) {
			return Section{}, limitf("%s: nrows=%d exceeds the limit of %d rows per section", where, nrows, lim.MaxRowsPerSection)
		}
		offs, data, msg := decodeRows(r, nrows, len(schema.Columns), nil, lim.MaxRowsPerSection)
		if msg != "" {
			return Section{}, errf("%s: %s", where, msg)
		}
		s.NRows = int(nrows)
		s.Rows = &Page{Schema: schema, Offsets: offs, Data: append([]byte(nil), data...)}
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// EncodedLen returns the length of the result's SLR1 encoding.
func (r Result) EncodedLen() int {
	n := resultHeaderLen
	for i := range r.Sections {
		s := &r.Sections[i]
		n++
		switch s.Kind {
		case SectionSelect:
			n += 4 + len(s.Output) + 4 + BitmapLen(s.NRows)
		case SectionRows:
			n += 4 + len(s.Output) + 4 + schemaDescLen(s.Rows.Schema) + 4 + 4*(s.Rows.NumRows()+1) + len(s.Rows.Data)
		case SectionError:
			n += 8 + 4 + len(s.ErrMsg)
		}
	}
	return n
}

// AppendEncoded appends the result's SLR1 encoding to dst:
//
//	u32 magic "SLR1", u32 nsections, then per section u8 kind and
//	SELECT: str output, u32 nrows, BitmapLen(nrows) bitmap bytes
//	ROWS:   str output, u32 ncols, ncols × (str name, TypeDesc), u32 nrows,
//	        u32 offsets[nrows+1], rows area
//	ERROR:  i64 row, str message
//
// A SELECT section's bitmap is written as BitmapLen(NRows) bytes (padded
// with zeros or cut to that length, padding bits cleared). A ROWS section
// takes its rows from Rows; NRows is ignored. It panics on a section of
// unknown kind or a ROWS section with a nil Rows or a column type that
// fails Type.Validate (programming errors).
func (r Result) AppendEncoded(dst []byte) []byte {
	if need := r.EncodedLen(); cap(dst)-len(dst) < need {
		nd := make([]byte, len(dst), len(dst)+need)
		copy(nd, dst)
		dst = nd
	}
	dst = appendU32(dst, ResultMagic)
	dst = appendU32(dst, uint32(len(r.Sections)))
	for i := range r.Sections {
		s := &r.Sections[i]
		dst = append(dst, byte(s.Kind))
		switch s.Kind {
		case SectionSelect:
			dst = appendStr(dst, s.Output)
			dst = appendU32(dst, uint32(s.NRows))
			bl := BitmapLen(s.NRows)
			start := len(dst)
			if len(s.Bitmap) >= bl {
				dst = append(dst, s.Bitmap[:bl]...)
			} else {
				dst = append(dst, s.Bitmap...)
				dst = append(dst, make([]byte, bl-len(s.Bitmap))...)
			}
			if rem := s.NRows % 8; rem != 0 {
				dst[start+bl-1] &= byte(1<<rem) - 1
			}
		case SectionRows:
			if s.Rows == nil {
				panic(fmt.Sprintf("abi: Result.AppendEncoded: section %d (ROWS, output %q) has nil Rows", i, s.Output))
			}
			dst = appendStr(dst, s.Output)
			dst = appendU32(dst, uint32(s.Rows.NumCols()))
			dst = appendColumns(dst, s.Rows.Schema)
			dst = appendU32(dst, uint32(s.Rows.NumRows()))
			dst = appendOffsets(dst, s.Rows.Offsets)
			dst = append(dst, s.Rows.Data...)
		case SectionError:
			dst = appendU64(dst, uint64(s.ErrRow))
			dst = appendStr(dst, s.ErrMsg)
		default:
			panic(fmt.Sprintf("abi: Result.AppendEncoded: section %d has unknown kind %d", i, s.Kind))
		}
	}
	return dst
}

// Validate checks the rules that span sections and need the input schema:
// all sections of one output share one schema, where a SELECT section
// carries the input schema. input is the schema of the page the plugin was
// given, or nil when there was none (then SELECT sections are an error).
// DecodeResult already checked each section and the ROWS-versus-ROWS rule;
// Validate adds SELECT-versus-ROWS.
func (r Result) Validate(input *Schema) error {
	type first struct {
		schema *Schema
		sec    int
		kind   SectionKind
	}
	seen := map[string]first{}
	for i, s := range r.Sections {
		var sch *Schema
		switch s.Kind {
		case SectionSelect:
			if input == nil {
				return errf("result section %d (SELECT, output %q): SELECT without an input page", i, s.Output)
			}
			sch = input
		case SectionRows:
			if s.Rows == nil || s.Rows.Schema == nil {
				return errf("result section %d (ROWS, output %q): no rows or schema", i, s.Output)
			}
			sch = s.Rows.Schema
		default:
			continue
		}
		if f, ok := seen[s.Output]; ok {
			if !f.schema.Equal(sch) {
				return errf("result section %d (%s, output %q): schema (%s) differs from section %d (%s) of the same output (%s); one output has one schema per result",
					i, s.Kind, s.Output, sch, f.sec, f.kind, f.schema)
			}
			continue
		}
		seen[s.Output] = first{sch, i, s.Kind}
	}
	return nil
}
