package abi

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The JSON form of CQL values. docs/json.md is the reference; in short:
//
//	null cell                    null
//	empty cell (0 bytes)         ""   (every type; for text, ascii and blob it is their empty value anyway)
//	ascii, text/varchar          string
//	int, bigint, smallint,
//	tinyint, counter             number
//	varint                       string of decimal digits: "-123"
//	decimal                      string, plain notation keeping the scale ("12.340"), or
//	                             "<unscaled>E<-scale>" when the scale is < 0 or > 1000 ("1E+3")
//	float, double                number (shortest form that reads back to the same value);
//	                             "NaN", "Infinity", "-Infinity" as strings
//	boolean                      true / false
//	blob, custom                 string, standard base64 with padding
//	uuid, timeuuid               string, lowercase 8-4-4-4-12
//	timestamp                    string "2024-01-02T03:04:05.123Z" (UTC, milliseconds) for
//	                             years 0000..9999, else number of milliseconds since the epoch
//	date                         string "2024-01-02" for years 0000..9999, else number: the raw
//	                             unsigned day count (2^31 = 1970-01-01)
//	time                         string "03:04:05.123456789" (always 9 fraction digits); a value
//	                             outside 0..86399999999999 as number of nanoseconds
//	duration                     string in Cassandra's duration syntax: "1y2mo3d4h5m6s7ms8us9ns",
//	                             "-3d", "0s"
//	inet                         string "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"
//	list, set                    array
//	vector                       array of exactly dim elements
//	map                          object when the key type is text or ascii (keys in ascending
//	                             byte order, none null); else, or when a value's keys are not
//	                             strictly ascending or include a null, array of [key, value] pairs
//	tuple                        array of one element per component
//	udt                          object of field name → value, in field order
//
// A tuple or UDT value with fewer components than its type (possible for
// values written before ALTER TYPE ... ADD) renders the missing trailing
// components as null; EncodeJSON writes every component. That, and the
// canonicalisations listed in docs/json.md (non-minimal varints and vints,
// boolean bytes other than 0x01, NaN payloads), are the only cases where
// EncodeJSON(AppendJSON(cell)) is not byte-identical to cell.

// AppendJSON appends the JSON form of a cell of type t to dst. A nil cell
// (null) is written as null. It fails, appending nothing, if the cell is not
// a valid encoding of t.
func AppendJSON(dst []byte, t Type, cell []byte) ([]byte, error) {
	return AppendJSONOf(dst, &t, cell)
}

// AppendJSONOf is AppendJSON with the type passed by pointer, for loops
// over cells (a Type is 96 bytes, which every call by value copies). t is
// only read.
func AppendJSONOf(dst []byte, t *Type, cell []byte) ([]byte, error) {
	out, err := appendJSON(dst, t, cell, 1)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendJSON(dst []byte, t *Type, b []byte, depth int) ([]byte, error) {
	if b == nil {
		return append(dst, "null"...), nil
	}
	if len(b) == 0 {
		return append(dst, `""`...), nil
	}
	if depth > MaxTypeDepth {
		return dst, limitf("json: value nested deeper than %d levels", MaxTypeDepth)
	}
	switch t.ID {
	case TypeASCII, TypeVarchar:
		// One scan escapes the string and notes whether it met a byte >=
		// 0x80; only then is the cell checked (and, when invalid, the
		// string taken back), so plain ASCII text is read once.
		start := len(dst)
		out, ascii := appendJSONStringASCII(dst, b)
		if ascii {
			return out, nil
		}
		if t.ID == TypeASCII {
			_, err := DecodeASCII(b)
			return dst[:start], err
		}
		if !utf8.Valid(b) {
			return dst[:start], errf("text: not valid UTF-8")
		}
		return out, nil
	case TypeInt:
		v, err := DecodeInt(b)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case TypeBigint, TypeCounter:
		if len(b) != 8 {
			return dst, errf("%s: %d bytes, want 8", t.ID, len(b))
		}
		v, _ := DecodeBigint(b)
		return strconv.AppendInt(dst, v, 10), nil
	case TypeSmallint:
		v, err := DecodeSmallint(b)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case TypeTinyint:
		v, err := DecodeTinyint(b)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(v), 10), nil
	case TypeBoolean:
		v, err := DecodeBoolean(b)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, v), nil
	case TypeFloat:
		v, err := DecodeFloat(b)
		if err != nil {
			return dst, err
		}
		return appendJSONFloatOrString(dst, float64(v), 32), nil
	case TypeDouble:
		v, err := DecodeDouble(b)
		if err != nil {
			return dst, err
		}
		return appendJSONFloatOrString(dst, v, 64), nil
	case TypeVarint:
		dst = append(dst, '"')
		if len(b) <= 8 {
			dst = strconv.AppendInt(dst, varintInt64(b), 10)
		} else {
			v, _ := DecodeVarint(b)
			dst = v.Append(dst, 10)
		}
		return append(dst, '"'), nil
	case TypeDecimal:
		if len(b) >= 5 && len(b) <= 4+8 {
			// The unscaled value fits an int64: no math/big.
			dst = append(dst, '"')
			dst = appendDecimalInt64(dst, varintInt64(b[4:]), int32(binary.BigEndian.Uint32(b)))
			return append(dst, '"'), nil
		}
		u, scale, err := DecodeDecimal(b)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = appendDecimalText(dst, u, scale)
		return append(dst, '"'), nil
	case TypeBlob, TypeCustom:
		dst = append(dst, '"')
		dst = appendBase64(dst, b)
		return append(dst, '"'), nil
	case TypeUUID, TypeTimeUUID:
		if len(b) != 16 {
			return dst, errf("%s: %d bytes, want 16", t.ID, len(b))
		}
		dst = append(dst, '"')
		dst = appendUUIDText(dst, [16]byte(b))
		return append(dst, '"'), nil
	case TypeTimestamp:
		ms, err := DecodeTimestamp(b)
		if err != nil {
			return dst, err
		}
		if ms < minTimestampText || ms > maxTimestampText {
			return strconv.AppendInt(dst, ms, 10), nil
		}
		dst = append(dst, '"')
		dst = appendTimestampText(dst, ms)
		return append(dst, '"'), nil
	case TypeDate:
		d, err := DecodeDate(b)
		if err != nil {
			return dst, err
		}
		days := int64(d) - DateEpoch
		if days < minDateText || days > maxDateText {
			return strconv.AppendUint(dst, uint64(d), 10), nil
		}
		dst = append(dst, '"')
		dst = appendDateText(dst, days)
		return append(dst, '"'), nil
	case TypeTime:
		ns, err := DecodeTime(b)
		if err != nil {
			return dst, err
		}
		if ns < 0 || ns >= MaxTime {
			return strconv.AppendInt(dst, ns, 10), nil
		}
		dst = append(dst, '"')
		dst = appendTimeText(dst, ns)
		return append(dst, '"'), nil
	case TypeDuration:
		d, err := DecodeDuration(b)
		if err != nil {
			return dst, err
		}
		start := len(dst)
		dst = append(dst, '"')
		if dst, err = appendDurationText(dst, d); err != nil {
			return dst[:start], err
		}
		return append(dst, '"'), nil
	case TypeInet:
		a, err := DecodeInet(b)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = a.AppendTo(dst)
		return append(dst, '"'), nil
	case TypeList, TypeSet:
		if len(t.Elems) != 1 {
			return dst, errf("%s type with %d element types", t.ID, len(t.Elems))
		}
		var stack [16][]byte
		elems, err := SplitList(b, stack[:0])
		if err != nil {
			return dst, err
		}
		return appendJSONArray(dst, t.ID, elems, t.Elems, depth)
	case TypeVector:
		if len(t.Elems) != 1 {
			return dst, errf("vector type with %d element types", len(t.Elems))
		}
		var stack [16][]byte
		elems, err := SplitVector(b, t.Elems[0], t.Dim, stack[:0])
		if err != nil {
			return dst, err
		}
		return appendJSONArray(dst, t.ID, elems, t.Elems, depth)
	case TypeTuple:
		var stack [16][]byte
		elems, err := SplitTuple(b, len(t.Elems), stack[:0])
		if err != nil {
			return dst, err
		}
		for len(elems) < len(t.Elems) {
			elems = append(elems, nil)
		}
		return appendJSONArray(dst, t.ID, elems, t.Elems, depth)
	case TypeMap:
		if len(t.Elems) != 2 {
			return dst, errf("map type with %d element types", len(t.Elems))
		}
		var stack [16][]byte
		kv, err := SplitMap(b, stack[:0])
		if err != nil {
			return dst, err
		}
		if mapAsObject(t, kv) {
			dst = append(dst, '{')
			for i := 0; i < len(kv); i += 2 {
				if i > 0 {
					dst = append(dst, ',')
				}
				if dst, err = appendJSON(dst, &t.Elems[0], kv[i], depth+1); err != nil {
					return dst, prefixErr(err, "map key %d", i/2)
				}
				dst = append(dst, ':')
				if dst, err = appendJSON(dst, &t.Elems[1], kv[i+1], depth+1); err != nil {
					return dst, prefixErr(err, "map value %d", i/2)
				}
			}
			return append(dst, '}'), nil
		}
		dst = append(dst, '[')
		for i := 0; i < len(kv); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			if dst, err = appendJSON(dst, &t.Elems[0], kv[i], depth+1); err != nil {
				return dst, prefixErr(err, "map key %d", i/2)
			}
			dst = append(dst, ',')
			if dst, err = appendJSON(dst, &t.Elems[1], kv[i+1], depth+1); err != nil {
				return dst, prefixErr(err, "map value %d", i/2)
			}
			dst = append(dst, ']')
		}
		return append(dst, ']'), nil
	case TypeUDT:
		if len(t.Fields) != len(t.Elems) {
			return dst, errf("udt type with %d field names and %d field types", len(t.Fields), len(t.Elems))
		}
		var stack [16][]byte
		elems, err := SplitTuple(b, len(t.Elems), stack[:0])
		if err != nil {
			return dst, errf("udt %s: %s", t.Name, strings.TrimPrefix(msgOf(err), "tuple: "))
		}
		dst = append(dst, '{')
		for i := range t.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, []byte(t.Fields[i]))
			dst = append(dst, ':')
			var e []byte
			if i < len(elems) {
				e = elems[i]
			}
			if dst, err = appendJSON(dst, &t.Elems[i], e, depth+1); err != nil {
				return dst, prefixErr(err, "udt %s field %q", t.Name, t.Fields[i])
			}
		}
		return append(dst, '}'), nil
	}
	return dst, errf("json: unknown type id 0x%04X", uint16(t.ID))
}

// appendJSONArray appends elems as a JSON array: element i of type
// types[i] (a tuple's components), or every element of type types[0] when
// there is one type (list, set, vector).
func appendJSONArray(dst []byte, id TypeID, elems [][]byte, types []Type, depth int) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		et := &types[0]
		if len(types) > 1 {
			et = &types[i]
		}
		if dst, err = appendJSON(dst, et, e, depth+1); err != nil {
			return dst, prefixErr(err, "%s element %d", id, i)
		}
	}
	return append(dst, ']'), nil
}

// mapAsObject reports whether a map value renders as a JSON object: text or
// ascii keys, none null, in strictly ascending byte order (as Cassandra
// stores them), so that the object form loses nothing.
func mapAsObject(t *Type, kv [][]byte) bool {
	if k := t.Elems[0].ID; k != TypeVarchar && k != TypeASCII {
		return false
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == nil || i > 0 && string(kv[i-2]) >= string(kv[i]) {
			return false
		}
	}
	return true
}

var (
	minTimestampText = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxTimestampText = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - 1
	minDateText      = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	maxDateText      = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400 - 1
)

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s []byte) []byte {
	dst, _ = appendJSONStringASCII(dst, s)
	return dst
}

// appendJSONStringASCII is appendJSONString, also reporting whether every
// byte of s is < 0x80.
func appendJSONStringASCII(dst []byte, s []byte) ([]byte, bool) {
	ascii := true
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none of them needs a look (most
		// text is plain ASCII): a byte < 0x20, '"', '\\' or >= 0x80.
		for i+8 <= len(s) && !needsEscape8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		ascii = false
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' || r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), ascii
}

// needsEscape8 reports whether any of the eight bytes packed in w is one
// appendJSONString must look at: < 0x20, '"', '\\' or >= 0x80 (the
// zero-byte and less-than bit tricks of "Bit Twiddling Hacks"; exact as to
// whether any byte matches, which is all the caller asks).
func needsEscape8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	lt20 := (w - lo*0x20) &^ w    // some byte < 0x20 (or >= 0x80: also wanted)
	quote := w ^ (lo * '"')       // zero byte where w has '"'
	bslash := w ^ (lo * '\\')     // zero byte where w has '\\'
	zq := (quote - lo) &^ quote   // some byte of quote is zero
	zb := (bslash - lo) &^ bslash // some byte of bslash is zero
	return (lt20|zq|zb|w)&hi != 0
}

// appendJSONFloat appends f like encoding/json does: the shortest decimal
// that reads back to the same value, exponent form only below 1e-6 or from
// 1e21 on. f must be finite.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if bits == 64 {
		if out, ok := appendShortDecimal(dst, f); ok {
			return out
		}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Pairs maps 12 bits to their two characters of standard base64, the
// first in the low byte.
var base64Pairs = func() (t [4096]uint16) {
	for i := range t {
		t[i] = uint16(base64Alphabet[i>>6]) | uint16(base64Alphabet[i&63])<<8
	}
	return t
}()

// appendBase64 appends src in standard base64 with padding: the bytes of
// base64.StdEncoding.AppendEncode, with one table look-up per two
// characters, eight characters per 64-bit load while eight source bytes
// remain, and the standard encoder for the last partial group.
func appendBase64(dst, src []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, base64.StdEncoding.EncodedLen(len(src)))
	out := dst[n : n+len(src)/3*4]
	i, o := 0, 0
	for ; i+8 <= len(src) && o+8 <= len(out); i, o = i+6, o+8 {
		x := binary.BigEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(out[o:],
			uint64(base64Pairs[x>>52])|uint64(base64Pairs[x>>40&0xfff])<<16|
				uint64(base64Pairs[x>>28&0xfff])<<32|uint64(base64Pairs[x>>16&0xfff])<<48)
	}
	for ; i+3 <= len(src); i, o = i+3, o+4 {
		x := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		binary.LittleEndian.PutUint16(out[o:], base64Pairs[x>>12])
		binary.LittleEndian.PutUint16(out[o+2:], base64Pairs[x&0xfff])
	}
	dst = dst[:n+len(out)]
	if i < len(src) {
		dst = base64.StdEncoding.AppendEncode(dst, src[i:])
	}
	return dst
}

// pow10f holds the powers of ten appendShortDecimal tries, all exact
// float64 values.
var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// appendShortDecimal is the fast path of appendJSONFloat for the doubles
// most columns hold: a value of at most 15 significant digits and at most 6
// fraction digits (prices, scores, counts). It finds the smallest k in 0..6
// and the integer m, |m| < 1e15, with m / 10^k == f, and writes m with its
// decimal point moved k places left, reporting false (appending nothing) when
// there is none, for f == -0 and for anything not finite.
//
// This is exactly strconv's shortest form ('f', -1): m and 10^k are exact
// doubles, so the IEEE division m / 10^k is the double nearest the decimal
// m·10^-k, i.e. what ParseFloat reads it as; decimals of at most 15
// significant digits never share a double (DBL_DIG), so the shortest
// decimal reading back to f, which has no more digits than m, is this one
// value; and k minimal means m has no trailing zero to drop (for k = 0
// strconv writes the integer's zeros too). 1e-6 <= |f| < 1e15 is inside the
// range where appendJSONFloat uses the 'f' format.
func appendShortDecimal(dst []byte, f float64) ([]byte, bool) {
	if !(f > -1e15 && f < 1e15) || f == 0 && math.Signbit(f) {
		return dst, false
	}
	for k, p := range pow10f {
		v := f * p
		if !(v > -1e15 && v < 1e15) {
			return dst, false
		}
		m := math.Round(v)
		if m/p != f {
			continue
		}
		n := int64(m)
		if k == 0 {
			return strconv.AppendInt(dst, n, 10), true
		}
		u := uint64(n)
		if n < 0 {
			dst = append(dst, '-')
			u = -u
		}
		div := uint64(p)
		dst = strconv.AppendUint(dst, u/div, 10)
		dst = append(dst, '.')
		frac := u % div
		var buf [8]byte
		i := len(buf)
		for range k {
			i--
			buf[i] = byte('0' + frac%10)
			frac /= 10
		}
		return append(dst, buf[i:]...), true
	}
	return dst, false
}

func appendJSONFloatOrString(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return appendJSONFloat(dst, f, bits)
}

// Canonical NaNs, as Java (and so Cassandra) writes Float.NaN and
// Double.NaN. Go's math.NaN() has another payload (0x7FF8000000000001).
const (
	canonicalNaN32 uint32 = 0x7fc00000
	canonicalNaN64 uint64 = 0x7ff8000000000000
)

// maxPlainScale is the largest decimal scale written in plain notation.
const maxPlainScale = 1000

// appendDecimalText writes unscaled × 10^-scale exactly: plain notation
// ("12.340", "-0.05", "7") when 0 <= scale <= 1000, else
// "<unscaled>E<exponent>" with exponent = -scale ("1E+3", "5E-1001").
func appendDecimalText(dst []byte, u *big.Int, scale int32) []byte {
	if scale < 0 || scale > maxPlainScale {
		dst = u.Append(dst, 10)
		dst = append(dst, 'E')
		if scale < 0 {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, -int64(scale), 10)
	}
	if u.Sign() < 0 {
		dst = append(dst, '-')
	}
	digits := new(big.Int).Abs(u).Append(nil, 10)
	if scale == 0 {
		return append(dst, digits...)
	}
	s := int(scale)
	if len(digits) <= s {
		dst = append(dst, '0', '.')
		for range s - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-s]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-s:]...)
}

// appendDecimalInt64 is appendDecimalText for an unscaled value that fits
// an int64, without math/big: the same text for every scale.
func appendDecimalInt64(dst []byte, u int64, scale int32) []byte {
	if scale < 0 || scale > maxPlainScale {
		dst = strconv.AppendInt(dst, u, 10)
		dst = append(dst, 'E')
		if scale < 0 {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, -int64(scale), 10)
	}
	abs := uint64(u)
	if u < 0 {
		dst = append(dst, '-')
		abs = -abs // two's complement: also right for math.MinInt64
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], abs, 10)
	if scale == 0 {
		return append(dst, digits...)
	}
	s := int(scale)
	if len(digits) <= s {
		dst = append(dst, '0', '.')
		dst = appendZeros(dst, s-len(digits))
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-s]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-s:]...)
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

// appendZeros appends n '0' bytes.
func appendZeros(dst []byte, n int) []byte {
	for n > len(zeros64) {
		dst = append(dst, zeros64...)
		n -= len(zeros64)
	}
	return append(dst, zeros64[:n]...)
}

// varintInt64 decodes a varint of 1 to 8 bytes (big-endian two's
// complement) as an int64.
func varintInt64(b []byte) int64 {
	v := int64(int8(b[0])) // sign extension
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v
}

// ParseDecimal parses the text form of a decimal written by AppendJSON (and
// more generally [-]digits[.digits][(e|E)[+|-]digits]) into its unscaled
// value and scale, exactly: "12.340" is 12340 with scale 3, "1E+3" is 1
// with scale -3.
func ParseDecimal(s string) (*big.Int, int32, error) {
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		es := s[i+1:]
		if es == "" || es[0] == '+' && len(es) > 1 && es[1] != '-' && es[1] != '+' {
			es = strings.TrimPrefix(es, "+")
		}
		if es == "" || !isDigits(strings.TrimPrefix(es, "-")) {
			return nil, 0, errf("decimal %q: bad exponent", s)
		}
		e, err := strconv.ParseInt(es, 10, 64)
		if err != nil || e > math.MaxInt32+1 || e < -math.MaxInt32-1-1<<20 {
			return nil, 0, errf("decimal %q: exponent out of range", s)
		}
		exp = e
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if intPart == "" || !isDigits(intPart) || hasDot && (frac == "" || !isDigits(frac)) {
		return nil, 0, errf("decimal %q: want [-]digits[.digits][E[+|-]digits]", s)
	}
	scale := int64(len(frac)) - exp
	if scale < math.MinInt32 || scale > math.MaxInt32 {
		return nil, 0, errf("decimal %q: scale %d out of int32 range", s, scale)
	}
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return nil, 0, errf("decimal %q: bad digits", s)
	}
	if neg {
		u.Neg(u)
	}
	return u, int32(scale), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hexPairs maps a byte to its two lowercase hex digits, the first in the
// low byte.
var hexPairs = func() (t [256]uint16) {
	for i := range t {
		t[i] = uint16(hexDigits[i>>4]) | uint16(hexDigits[i&0xF])<<8
	}
	return t
}()

// appendUUIDText appends u as lowercase 8-4-4-4-12 hex, written in place
// into dst with one table look-up per byte.
func appendUUIDText(dst []byte, u [16]byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 36)[:n+36]
	b := dst[n : n+36]
	le := binary.LittleEndian
	le.PutUint16(b[0:], hexPairs[u[0]])
	le.PutUint16(b[2:], hexPairs[u[1]])
	le.PutUint16(b[4:], hexPairs[u[2]])
	le.PutUint16(b[6:], hexPairs[u[3]])
	b[8] = '-'
	le.PutUint16(b[9:], hexPairs[u[4]])
	le.PutUint16(b[11:], hexPairs[u[5]])
	b[13] = '-'
	le.PutUint16(b[14:], hexPairs[u[6]])
	le.PutUint16(b[16:], hexPairs[u[7]])
	b[18] = '-'
	le.PutUint16(b[19:], hexPairs[u[8]])
	le.PutUint16(b[21:], hexPairs[u[9]])
	b[23] = '-'
	for i := range 6 {
		le.PutUint16(b[24+2*i:], hexPairs[u[10+i]])
	}
	return dst
}

// FormatUUID returns u as lowercase 8-4-4-4-12 hex.
func FormatUUID(u [16]byte) string { return string(appendUUIDText(nil, u)) }

// ParseUUID parses a 36-character 8-4-4-4-12 hex UUID (either case).
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errf("uuid %q: want 8-4-4-4-12 hex digits", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, errf("uuid %q: want 8-4-4-4-12 hex digits", s)
	}
	return u, nil
}

const msPerDay = 86_400_000

// appendTimestampText appends ms (milliseconds since the epoch, between
// minTimestampText and maxTimestampText: years 0000..9999) in the layout
// "2006-01-02T15:04:05.000Z", UTC: the text time.Time.AppendFormat writes
// for it, without going through time.Time, written in place into dst.
func appendTimestampText(dst []byte, ms int64) []byte {
	days, rem := ms/msPerDay, ms%msPerDay
	if rem < 0 {
		days--
		rem += msPerDay
	}
	n := len(dst)
	dst = slices.Grow(dst, 24)[:n+24]
	buf := dst[n : n+24]
	putDate(buf[:10], days)
	r := uint32(rem) // 0..86_399_999: unsigned 32-bit divisions by constants
	h, m, s, milli := r/3_600_000, r/60_000%60, r/1000%60, r%1000
	buf[10] = 'T'
	buf[11], buf[12] = digitPairs[2*h], digitPairs[2*h+1]
	buf[13] = ':'
	buf[14], buf[15] = digitPairs[2*m], digitPairs[2*m+1]
	buf[16] = ':'
	buf[17], buf[18] = digitPairs[2*s], digitPairs[2*s+1]
	buf[19] = '.'
	c := milli / 10
	buf[20], buf[21], buf[22] = digitPairs[2*c], digitPairs[2*c+1], byte('0'+milli%10)
	buf[23] = 'Z'
	return dst
}

// appendDateText appends days (since 1970-01-01, between minDateText and
// maxDateText: years 0000..9999) as "2006-01-02".
func appendDateText(dst []byte, days int64) []byte {
	var buf [10]byte
	putDate(buf[:], days)
	return append(dst, buf[:]...)
}

// digitPairs holds "00" to "99", two bytes per number.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// putDate writes the proleptic Gregorian date of days since 1970-01-01,
// whose year must be in 0..9999, as "YYYY-MM-DD" into b[:10]. It is the
// computational-calendar algorithm of Neri and Schneider ("Euclidean affine
// functions and their application to calendar algorithms", Software:
// Practice and Experience 53(4), 2023, section 5), whose unsigned 32-bit
// multiplies and shifts cost less than the signed 64-bit divisions of
// Howard Hinnant's civil_from_days it replaced; TestDateFastPath checks
// every day of 0000..9999 against a walked calendar.
func putDate(b []byte, days int64) {
	const (
		eras = 82                     // 400-year eras added so that every day of years 0..9999 is positive
		k    = 719_468 + 146_097*eras // days from 0000-03-01 (less eras) to 1970-01-01
		l    = 400 * eras             // the years those eras add
	)
	n := uint32(days + k) // days since 0000-03-01 minus eras×400 years
	n1 := 4*n + 3
	c := n1 / 146_097 // century
	nc := n1 % 146_097 / 4
	p2 := 2_939_745 * uint64(4*nc+3)
	z := uint32(p2 >> 32)            // year of the century
	ny := uint32(p2) / 2_939_745 / 4 // day of the year from March 1
	n3 := 2141*ny + 197_913
	y, m, d := 100*c+z, n3>>16, (n3&0xFFFF)/2141+1
	if ny >= 306 { // January or February: of the next year
		y, m = y+1, m-12
	}
	y -= l
	_ = b[9]
	hi, lo := y/100, y%100
	b[0], b[1], b[2], b[3] = digitPairs[2*hi], digitPairs[2*hi+1], digitPairs[2*lo], digitPairs[2*lo+1]
	b[4] = '-'
	b[5], b[6] = digitPairs[2*m], digitPairs[2*m+1]
	b[7] = '-'
	b[8], b[9] = digitPairs[2*d], digitPairs[2*d+1]
}

func appendTimeText(dst []byte, ns int64) []byte {
	h := ns / 3_600_000_000_000
	m := ns / 60_000_000_000 % 60
	s := ns / 1_000_000_000 % 60
	f := ns % 1_000_000_000
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), '.')
	var buf [9]byte
	for i := 8; i >= 0; i-- {
		buf[i] = byte('0' + f%10)
		f /= 10
	}
	return append(dst, buf[:]...)
}

// FormatTime returns a time of day (nanoseconds since midnight, 0 <= ns <
// MaxTime) as "HH:MM:SS.nnnnnnnnn".
func FormatTime(ns int64) string { return string(appendTimeText(nil, ns)) }

// ParseTime parses "HH:MM:SS" with an optional fraction of 1 to 9 digits
// into nanoseconds since midnight.
func ParseTime(s string) (int64, error) {
	bad := func() (int64, error) {
		return 0, errf("time %q: want HH:MM:SS[.fffffffff] between 00:00:00 and 23:59:59.999999999", s)
	}
	if len(s) < 8 || s[2] != ':' || s[5] != ':' || !isDigits(s[0:2]) || !isDigits(s[3:5]) || !isDigits(s[6:8]) {
		return bad()
	}
	h, _ := strconv.Atoi(s[0:2])
	m, _ := strconv.Atoi(s[3:5])
	sec, _ := strconv.Atoi(s[6:8])
	if h > 23 || m > 59 || sec > 59 {
		return bad()
	}
	var frac int64
	if rest := s[8:]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 || !isDigits(rest[1:]) {
			return bad()
		}
		f, _ := strconv.ParseInt(rest[1:], 10, 64)
		for range 10 - len(rest) {
			f *= 10
		}
		frac = f
	}
	return int64(h)*3_600_000_000_000 + int64(m)*60_000_000_000 + int64(sec)*1_000_000_000 + frac, nil
}

// FormatDuration writes d in Cassandra's duration syntax, as
// org.apache.cassandra.cql3.Duration.toString does: an optional '-', then
// years (y), months (mo), days (d), hours (h), minutes (m), seconds (s),
// milliseconds (ms), microseconds (us) and nanoseconds (ns), each only when
// non-zero ("1y2mo", "-3d4h", "1h30m"); the zero duration is "0s". A
// duration whose fields have different signs has no such form: an error.
func FormatDuration(d Duration) (string, error) {
	b, err := appendDurationText(nil, d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// appendDurationText appends the FormatDuration text of d to dst; on error
// it appends nothing.
func appendDurationText(dst []byte, d Duration) ([]byte, error) {
	neg := d.Months < 0 || d.Days < 0 || d.Nanos < 0
	if neg && (d.Months > 0 || d.Days > 0 || d.Nanos > 0) {
		return dst, errf("duration: months %d, days %d and nanoseconds %d have different signs", d.Months, d.Days, d.Nanos)
	}
	if d == (Duration{}) {
		return append(dst, "0s"...), nil
	}
	if neg {
		dst = append(dst, '-')
	}
	months := absUint64(int64(d.Months))
	dst = appendDurationUnit(dst, months/12, "y")
	dst = appendDurationUnit(dst, months%12, "mo")
	dst = appendDurationUnit(dst, absUint64(int64(d.Days)), "d")
	ns := absUint64(d.Nanos)
	for _, u := range [...]struct {
		div  uint64
		unit string
	}{{3_600_000_000_000, "h"}, {60_000_000_000, "m"}, {1_000_000_000, "s"}, {1_000_000, "ms"}, {1_000, "us"}, {1, "ns"}} {
		dst = appendDurationUnit(dst, ns/u.div, u.unit)
		ns %= u.div
	}
	return dst, nil
}

// appendDurationUnit appends n and its unit, nothing when n is 0.
func appendDurationUnit(dst []byte, n uint64, unit string) []byte {
	if n == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, unit...)
}

// absUint64 returns |v|, also for math.MinInt64.
func absUint64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// ParseDuration parses Cassandra's duration syntax: an optional '-', then
// one or more <digits><unit> with units y, mo, w, d, h, m, s, ms, us (or
// µs), ns in that order, each at most once, case-insensitive. Years and
// months make the months field, weeks and days the days field, the rest the
// nanoseconds field; each must fit its field.
func ParseDuration(s string) (Duration, error) {
	bad := func(why string) (Duration, error) {
		return Duration{}, errf("duration %q: %s", s, why)
	}
	rest := strings.ToLower(s)
	neg := strings.HasPrefix(rest, "-")
	rest = strings.TrimPrefix(rest, "-")
	if rest == "" {
		return bad("empty")
	}
	units := []struct {
		name string
		mul  uint64
		fld  int // 0 months, 1 days, 2 nanos
	}{
		{"y", 12, 0}, {"mo", 1, 0}, {"w", 7, 1}, {"d", 1, 1}, {"h", 3_600_000_000_000, 2},
		{"m", 60_000_000_000, 2}, {"s", 1_000_000_000, 2}, {"ms", 1_000_000, 2},
		{"us", 1_000, 2}, {"µs", 1_000, 2}, {"ns", 1, 2},
	}
	var f [3]uint64
	next := 0
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad("want <digits><unit>, e.g. 1h30m")
		}
		n, err := strconv.ParseUint(rest[:i], 10, 64)
		if err != nil {
			return bad("number out of range")
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		k := next
		for k < len(units) && units[k].name != unit {
			k++
		}
		if k == len(units) {
			return bad(fmt.Sprintf("unknown or out-of-order unit %q (units: y mo w d h m s ms us ns, largest first, each once)", unit))
		}
		next = k + 1
		if units[k].name == "us" {
			next++ // "us" and "µs" are one unit
		}
		hi, lo := bits.Mul64(n, units[k].mul)
		sum, carry := bits.Add64(f[units[k].fld], lo, 0)
		if hi != 0 || carry != 0 {
			return bad("out of range")
		}
		f[units[k].fld] = sum
	}
	lim := [3]uint64{math.MaxInt32, math.MaxInt32, math.MaxInt64}
	if neg {
		lim = [3]uint64{math.MaxInt32 + 1, math.MaxInt32 + 1, math.MaxInt64 + 1}
	}
	for i := range f {
		if f[i] > lim[i] {
			return bad("out of range")
		}
	}
	if neg {
		return Duration{Months: int32(-int64(f[0])), Days: int32(-int64(f[1])), Nanos: int64(-f[2])}, nil
	}
	return Duration{Months: int32(f[0]), Days: int32(f[1]), Nanos: int64(f[2])}, nil
}

// EncodeJSON is the inverse of AppendJSON: it encodes v, a value decoded by
// encoding/json with UseNumber (nil, bool, json.Number, string, []any,
// map[string]any), as a cell of type t. nil returns a nil cell (null); the
// string "" returns an empty, non-nil cell for every type. Besides the
// forms AppendJSON writes it accepts: numbers as float64 or Go integers
// (integral values only for integer types), a date or timestamp as a
// number, a decimal or varint as a JSON number, a time as a number of
// nanoseconds, uuids in upper case, RFC 3339 timestamps with any offset
// and up to millisecond precision, a map of any key type as an array of
// [key, value] pairs, a tuple array shorter than the type (missing trailing
// components are null) and a UDT object without some fields (null).
func EncodeJSON(t Type, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	out, err := encodeJSON(make([]byte, 0, 16), t, v, 1)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// encodeJSON appends the cell bytes of v (not null: the caller handles nil).
func encodeJSON(dst []byte, t Type, v any, depth int) ([]byte, error) {
	if s, ok := v.(string); ok && s == "" {
		return dst, nil
	}
	if depth > MaxTypeDepth {
		return dst, errf("json: value nested deeper than %d levels", MaxTypeDepth)
	}
	bad := func(want string) ([]byte, error) {
		return dst, errf("json %s: got %s, want %s", t.ID, describeJSON(v), want)
	}
	switch t.ID {
	case TypeASCII:
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if _, err := DecodeASCII([]byte(s)); err != nil {
			return dst, err
		}
		return append(dst, s...), nil
	case TypeVarchar:
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if !utf8.ValidString(s) {
			return dst, errf("json text: not valid UTF-8")
		}
		return append(dst, s...), nil
	case TypeInt, TypeBigint, TypeCounter, TypeSmallint, TypeTinyint:
		n, ok := jsonInt(v)
		if !ok {
			return bad("an integer number")
		}
		switch t.ID {
		case TypeInt:
			if n != int64(int32(n)) {
				return bad("an int in -2147483648..2147483647")
			}
			return AppendInt(dst, int32(n)), nil
		case TypeSmallint:
			if n != int64(int16(n)) {
				return bad("a smallint in -32768..32767")
			}
			return AppendSmallint(dst, int16(n)), nil
		case TypeTinyint:
			if n != int64(int8(n)) {
				return bad("a tinyint in -128..127")
			}
			return AppendTinyint(dst, int8(n)), nil
		}
		return AppendBigint(dst, n), nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return bad("true or false")
		}
		return AppendBoolean(dst, b), nil
	case TypeFloat, TypeDouble:
		bitSize := 64
		if t.ID == TypeFloat {
			bitSize = 32
		}
		var f float64
		switch x := v.(type) {
		case string:
			switch x {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return bad(`a number, "NaN", "Infinity" or "-Infinity"`)
			}
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(x), bitSize); err != nil {
				return bad("a number in range")
			}
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			n, ok := jsonInt(v)
			if !ok {
				return bad("a number")
			}
			f = float64(n)
		}
		if t.ID == TypeFloat {
			if f != f {
				return binary.BigEndian.AppendUint32(dst, canonicalNaN32), nil
			}
			return AppendFloat(dst, float32(f)), nil
		}
		if f != f {
			return binary.BigEndian.AppendUint64(dst, canonicalNaN64), nil
		}
		return AppendDouble(dst, f), nil
	case TypeVarint:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = string(x)
		default:
			n, ok := jsonInt(v)
			if !ok {
				return bad("a string of decimal digits")
			}
			return appendVarintInt64(dst, n), nil
		}
		if !isDigits(strings.TrimPrefix(s, "-")) {
			return bad("a string of decimal digits")
		}
		n, _ := new(big.Int).SetString(s, 10)
		return AppendVarint(dst, n), nil
	case TypeDecimal:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = string(x)
		default:
			n, ok := jsonInt(v)
			if !ok {
				return bad("a decimal string")
			}
			s = strconv.FormatInt(n, 10)
		}
		u, scale, err := ParseDecimal(s)
		if err != nil {
			return dst, err
		}
		return AppendDecimal(dst, u, scale), nil
	case TypeBlob, TypeCustom:
		s, ok := v.(string)
		if !ok {
			return bad("a base64 string")
		}
		out, err := base64.StdEncoding.Strict().AppendDecode(dst, []byte(s))
		if err != nil {
			return dst, errf("json %s: %q is not standard base64: %s", t.ID, truncate(s, 40), err)
		}
		return out, nil
	case TypeUUID, TypeTimeUUID:
		s, ok := v.(string)
		if !ok {
			return bad("a uuid string")
		}
		u, err := ParseUUID(s)
		if err != nil {
			return dst, err
		}
		return AppendUUID(dst, u), nil
	case TypeTimestamp:
		if s, ok := v.(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return dst, errf("json timestamp %q: want RFC 3339 like 2024-01-02T03:04:05.123Z", s)
			}
			if tm.Nanosecond()%1_000_000 != 0 {
				return dst, errf("json timestamp %q: finer than a millisecond, a timestamp cannot hold it", s)
			}
			return AppendTimestamp(dst, tm.UnixMilli()), nil
		}
		n, ok := jsonInt(v)
		if !ok {
			return bad("an RFC 3339 string or milliseconds since the epoch")
		}
		return AppendTimestamp(dst, n), nil
	case TypeDate:
		if s, ok := v.(string); ok {
			tm, err := time.Parse("2006-01-02", s)
			if err != nil {
				return dst, errf("json date %q: want YYYY-MM-DD", s)
			}
			return AppendDate(dst, uint32(tm.Unix()/86400+DateEpoch)), nil
		}
		n, ok := jsonInt(v)
		if !ok || n < 0 || n > math.MaxUint32 {
			return bad(`"YYYY-MM-DD" or a day number in 0..4294967295 (2147483648 = 1970-01-01)`)
		}
		return AppendDate(dst, uint32(n)), nil
	case TypeTime:
		if s, ok := v.(string); ok {
			ns, err := ParseTime(s)
			if err != nil {
				return dst, err
			}
			return AppendTime(dst, ns), nil
		}
		n, ok := jsonInt(v)
		if !ok {
			return bad(`"HH:MM:SS.nnnnnnnnn" or nanoseconds since midnight`)
		}
		return AppendTime(dst, n), nil
	case TypeDuration:
		s, ok := v.(string)
		if !ok {
			return bad(`a duration string like "1h30m"`)
		}
		d, err := ParseDuration(s)
		if err != nil {
			return dst, err
		}
		return AppendDuration(dst, d), nil
	case TypeInet:
		s, ok := v.(string)
		if !ok {
			return bad("an IP address string")
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return dst, errf("json inet %q: want an IPv4 or IPv6 address without zone", s)
		}
		return AppendInet(dst, a), nil
	case TypeList, TypeSet, TypeVector:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		if len(t.Elems) != 1 {
			return dst, errf("json: %s type with %d element types", t.ID, len(t.Elems))
		}
		if t.ID == TypeVector {
			if len(arr) != t.Dim {
				return dst, errf("json vector<%s, %d>: %d elements, want %d", t.Elems[0], t.Dim, len(arr), t.Dim)
			}
			fixed := t.Elems[0].FixedLen() >= 0
			for i, e := range arr {
				if e == nil {
					return dst, errf("json vector element %d is null; vectors cannot hold nulls", i)
				}
				var err error
				if fixed {
					start := len(dst)
					if dst, err = encodeJSON(dst, t.Elems[0], e, depth+1); err != nil {
						return dst, prefixErr(err, "vector element %d", i)
					}
					if len(dst)-start != t.Elems[0].FixedLen() {
						return dst, errf("json vector element %d: empty value in a vector of %s", i, t.Elems[0])
					}
					continue
				}
				elem, err := encodeJSON(nil, t.Elems[0], e, depth+1)
				if err != nil {
					return dst, prefixErr(err, "vector element %d", i)
				}
				dst = AppendUnsignedVInt(dst, uint64(len(elem)))
				dst = append(dst, elem...)
			}
			return dst, nil
		}
		dst = appendBE32(dst, uint32(len(arr)))
		for i, e := range arr {
			var err error
			if dst, err = encodeElem(dst, t.Elems[0], e, depth); err != nil {
				return dst, prefixErr(err, "%s element %d", t.ID, i)
			}
		}
		return dst, nil
	case TypeTuple:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		if len(arr) > len(t.Elems) {
			return dst, errf("json tuple: %d components, the type has %d", len(arr), len(t.Elems))
		}
		for i := range t.Elems {
			var e any
			if i < len(arr) {
				e = arr[i]
			}
			var err error
			if dst, err = encodeElem(dst, t.Elems[i], e, depth); err != nil {
				return dst, prefixErr(err, "tuple component %d", i)
			}
		}
		return dst, nil
	case TypeUDT:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		if len(t.Fields) != len(t.Elems) {
			return dst, errf("json: udt type with %d field names and %d field types", len(t.Fields), len(t.Elems))
		}
		for k := range obj {
			if !slices.Contains(t.Fields, k) {
				return dst, errf("json udt %s: unknown field %q (fields: %s)", t.Name, k, strings.Join(t.Fields, ", "))
			}
		}
		for i, f := range t.Fields {
			var err error
			if dst, err = encodeElem(dst, t.Elems[i], obj[f], depth); err != nil {
				return dst, prefixErr(err, "udt %s field %q", t.Name, f)
			}
		}
		return dst, nil
	case TypeMap:
		if len(t.Elems) != 2 {
			return dst, errf("json: map type with %d element types", len(t.Elems))
		}
		switch x := v.(type) {
		case map[string]any:
			if k := t.Elems[0].ID; k != TypeVarchar && k != TypeASCII {
				return bad("an array of [key, value] pairs (object form is for text and ascii keys)")
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			dst = appendBE32(dst, uint32(len(keys)))
			for _, k := range keys {
				var err error
				if dst, err = encodeElem(dst, t.Elems[0], k, depth); err != nil {
					return dst, prefixErr(err, "map key %q", truncate(k, 40))
				}
				if dst, err = encodeElem(dst, t.Elems[1], x[k], depth); err != nil {
					return dst, prefixErr(err, "map value of key %q", truncate(k, 40))
				}
			}
			return dst, nil
		case []any:
			dst = appendBE32(dst, uint32(len(x)))
			for i, p := range x {
				pair, ok := p.([]any)
				if !ok || len(pair) != 2 {
					return dst, errf("json map entry %d: got %s, want a [key, value] array", i, describeJSON(p))
				}
				var err error
				if dst, err = encodeElem(dst, t.Elems[0], pair[0], depth); err != nil {
					return dst, prefixErr(err, "map key %d", i)
				}
				if dst, err = encodeElem(dst, t.Elems[1], pair[1], depth); err != nil {
					return dst, prefixErr(err, "map value %d", i)
				}
			}
			return dst, nil
		}
		return bad("an object or an array of [key, value] pairs")
	}
	return dst, errf("json: unknown type id 0x%04X", uint16(t.ID))
}

// encodeElem appends v as a [bytes] element: i32 length (big-endian), -1 for
// nil, then the encoding.
func encodeElem(dst []byte, t Type, v any, depth int) ([]byte, error) {
	if v == nil {
		return appendBE32(dst, 0xFFFFFFFF), nil
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := encodeJSON(dst, t, v, depth+1)
	if err != nil {
		return dst, err
	}
	n := len(dst) - start - 4
	if n > math.MaxInt32 {
		return dst, errf("json: element of %d bytes exceeds the i32 length limit", n)
	}
	putBE32(dst[start:], uint32(n))
	return dst, nil
}

func appendBE32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func putBE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// jsonInt returns v as an int64 if it is an integral number.
func jsonInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case float64:
		if x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
			return 0, false
		}
		return int64(x), true
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

func describeJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return "number " + string(x)
	case string:
		return "string " + strconv.Quote(truncate(x, 40))
	case []any:
		return fmt.Sprintf("array of %d", len(x))
	case map[string]any:
		return fmt.Sprintf("object of %d keys", len(x))
	}
	return fmt.Sprintf("%T", v)
}

// AppendJSONRow appends a row of a page as one JSON object: the columns in
// schema order, each "name": value in the form of AppendJSON. It is the
// line format of the JSONL sink (without the newline).
func AppendJSONRow(dst []byte, s *Schema, r Row) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '{')
	var err error
	for i, c := range r.Cells() {
		if i > 0 {
			dst = append(dst, ',')
		}
		col := &s.Columns[i]
		dst = appendJSONString(dst, []byte(col.Name))
		dst = append(dst, ':')
		if dst, err = appendJSON(dst, &col.Type, c, 1); err != nil {
			return dst[:start], &DecodeError{Msg: fmt.Sprintf("column %q (%s): %s", col.Name, col.Type, msgOf(err)), Limit: errors.Is(err, ErrLimit)}
		}
	}
	return append(dst, '}'), nil
}

// AppendJSONRow appends one row to the page from a JSON object decoded with
// UseNumber: each schema column takes the value of the key of its name
// (EncodeJSON; a missing key is null). Keys that are not columns are an
// error. On error nothing is appended.
func (b *PageBuilder) AppendJSONRow(obj map[string]any) error {
	for k := range obj {
		if b.schema.Index(k) < 0 {
			return errf("json row: key %q is not a column of the schema (%s)", k, b.schema)
		}
	}
	for _, col := range b.schema.Columns {
		cell, err := EncodeJSON(col.Type, obj[col.Name])
		if err != nil {
			b.DiscardRow()
			return prefixErr(err, "json row: column %q (%s)", col.Name, col.Type)
		}
		b.AppendCell(cell)
	}
	return b.EndRow()
}
