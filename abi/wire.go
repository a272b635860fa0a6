package abi

import (
	"encoding/binary"
	"unicode/utf8"
)

// reader walks a byte slice for the decoders. Every read checks the
// remaining length first; ok=false means the input ended early.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8() (uint8, bool) {
	if r.left() < 1 {
		return 0, false
	}
	v := r.b[r.off]
	r.off++
	return v, true
}

func (r *reader) u16() (uint16, bool) {
	if r.left() < 2 {
		return 0, false
	}
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v, true
}

func (r *reader) u32() (uint32, bool) {
	if r.left() < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, true
}

func (r *reader) u64() (uint64, bool) {
	if r.left() < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v, true
}

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || r.left() < n {
		return nil, false
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v, true
}

// strResult tells why str failed.
type strResult int

const (
	strOK strResult = iota
	strShortLen
	strShortBytes
	strBadUTF8
)

// str reads a "str": u32 byte length then that many UTF-8 bytes.
func (r *reader) str() (string, uint32, strResult) {
	n, ok := r.u32()
	if !ok {
		return "", 0, strShortLen
	}
	if uint64(n) > uint64(r.left()) {
		return "", n, strShortBytes
	}
	b := r.b[r.off : r.off+int(n)]
	if !utf8.Valid(b) {
		return "", n, strBadUTF8
	}
	r.off += int(n)
	return string(b), n, strOK
}

func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

func appendStr(dst []byte, s string) []byte {
	dst = appendU32(dst, uint32(len(s)))
	return append(dst, s...)
}
