package abi

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"net/netip"
	"unicode/utf8"
)

// CQL value codecs. Cells hold the CQL native protocol v5 value encoding
// (native_protocol_v5.spec section 6), which is big-endian, unlike the ABI
// framing. The typed decoders take the cell bytes (without the i32 length
// prefix of the rows area) of a non-null cell; an empty cell makes them
// return an error wrapping ErrEmptyValue. The Append functions append the
// encoding of a value to dst and return it.

func sizeErr(typ string, want string, got int) error {
	if got == 0 {
		return &DecodeError{Msg: typ + ": empty value", Empty: true}
	}
	return errf("%s: %d bytes, want %s", typ, got, want)
}

// DecodeInt decodes an int: 4 bytes, two's complement.
func DecodeInt(b []byte) (int32, error) {
	if len(b) != 4 {
		return 0, sizeErr("int", "4", len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// AppendInt appends the encoding of an int.
func AppendInt(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }

// DecodeBigint decodes a bigint (and a counter): 8 bytes, two's complement.
func DecodeBigint(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, sizeErr("bigint", "8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// AppendBigint appends the encoding of a bigint or counter.
func AppendBigint(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

// DecodeCounter decodes a counter (same encoding as bigint).
func DecodeCounter(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, sizeErr("counter", "8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// DecodeSmallint decodes a smallint: 2 bytes, two's complement.
func DecodeSmallint(b []byte) (int16, error) {
	if len(b) != 2 {
		return 0, sizeErr("smallint", "2", len(b))
	}
	return int16(binary.BigEndian.Uint16(b)), nil
}

// AppendSmallint appends the encoding of a smallint.
func AppendSmallint(dst []byte, v int16) []byte {
	return binary.BigEndian.AppendUint16(dst, uint16(v))
}

// DecodeTinyint decodes a tinyint: 1 byte, two's complement.
func DecodeTinyint(b []byte) (int8, error) {
	if len(b) != 1 {
		return 0, sizeErr("tinyint", "1", len(b))
	}
	return int8(b[0]), nil
}

// AppendTinyint appends the encoding of a tinyint.
func AppendTinyint(dst []byte, v int8) []byte { return append(dst, byte(v)) }

// DecodeBoolean decodes a boolean: 1 byte, 0 = false, anything else = true
// (as Cassandra reads it).
func DecodeBoolean(b []byte) (bool, error) {
	if len(b) != 1 {
		return false, sizeErr("boolean", "1", len(b))
	}
	return b[0] != 0, nil
}

// AppendBoolean appends the encoding of a boolean (0x00 or 0x01).
func AppendBoolean(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// DecodeFloat decodes a float: 4 bytes, IEEE 754 binary32.
func DecodeFloat(b []byte) (float32, error) {
	if len(b) != 4 {
		return 0, sizeErr("float", "4", len(b))
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// AppendFloat appends the encoding of a float.
func AppendFloat(dst []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(dst, math.Float32bits(v))
}

// DecodeDouble decodes a double: 8 bytes, IEEE 754 binary64.
func DecodeDouble(b []byte) (float64, error) {
	if len(b) != 8 {
		return 0, sizeErr("double", "8", len(b))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// AppendDouble appends the encoding of a double.
func AppendDouble(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// DecodeText decodes a text (varchar): the UTF-8 bytes, validated. An empty
// cell is the empty string (no error).
func DecodeText(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errf("text: not valid UTF-8")
	}
	return string(b), nil
}

// DecodeASCII decodes an ascii: bytes 0x00..0x7F. An empty cell is the
// empty string (no error).
func DecodeASCII(b []byte) (string, error) {
	for i, c := range b {
		if c >= 0x80 {
			return "", errf("ascii: byte %d is 0x%02X, not ASCII", i, c)
		}
	}
	return string(b), nil
}

// AppendText appends the encoding of a text, varchar or ascii value (its
// bytes).
func AppendText(dst []byte, s string) []byte { return append(dst, s...) }

// DecodeVarint decodes a varint: big-endian two's complement of any length
// >= 1 (non-minimal encodings are accepted).
func DecodeVarint(b []byte) (*big.Int, error) {
	if len(b) == 0 {
		return nil, sizeErr("varint", ">= 1", 0)
	}
	return decodeTwos(b), nil
}

func decodeTwos(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return v
}

// AppendVarint appends the minimal two's complement encoding of v (one
// byte for 0), as Java's BigInteger.toByteArray writes it.
func AppendVarint(dst []byte, v *big.Int) []byte {
	switch v.Sign() {
	case 0:
		return append(dst, 0)
	case 1:
		b := v.Bytes()
		if b[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		return append(dst, b...)
	}
	// Negative: two's complement of |v| in n bytes, where n is the
	// smallest length whose range holds v: -2^(8n-1) <= v.
	abs := new(big.Int).Neg(v)
	n := (new(big.Int).Sub(abs, big.NewInt(1)).BitLen())/8 + 1
	t := new(big.Int).Lsh(big.NewInt(1), uint(n)*8)
	t.Sub(t, abs)
	b := t.Bytes()
	for len(b) < n {
		dst = append(dst, 0xFF) // cannot happen for n chosen above, kept for safety
		n--
	}
	return append(dst, b...)
}

// appendVarintInt64 is AppendVarint for an int64 without allocating.
func appendVarintInt64(dst []byte, v int64) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	i := 0
	for i < 7 && (buf[i] == 0 && buf[i+1]&0x80 == 0 || buf[i] == 0xFF && buf[i+1]&0x80 != 0) {
		i++
	}
	return append(dst, buf[i:]...)
}

// DecodeDecimal decodes a decimal: a 4-byte big-endian scale then the
// unscaled value as a varint (at least 1 byte). The value is unscaled ×
// 10^-scale.
func DecodeDecimal(b []byte) (unscaled *big.Int, scale int32, err error) {
	if len(b) < 5 {
		return nil, 0, sizeErr("decimal", ">= 5", len(b))
	}
	return decodeTwos(b[4:]), int32(binary.BigEndian.Uint32(b)), nil
}

// AppendDecimal appends the encoding of unscaled × 10^-scale.
func AppendDecimal(dst []byte, unscaled *big.Int, scale int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(scale))
	return AppendVarint(dst, unscaled)
}

// DecodeUUID decodes a uuid or timeuuid: 16 bytes.
func DecodeUUID(b []byte) ([16]byte, error) {
	if len(b) != 16 {
		return [16]byte{}, sizeErr("uuid", "16", len(b))
	}
	return [16]byte(b), nil
}

// AppendUUID appends the encoding of a uuid or timeuuid.
func AppendUUID(dst []byte, u [16]byte) []byte { return append(dst, u[:]...) }

// DecodeTimestamp decodes a timestamp: 8 bytes, milliseconds since
// 1970-01-01T00:00:00Z.
func DecodeTimestamp(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, sizeErr("timestamp", "8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// AppendTimestamp appends the encoding of a timestamp (milliseconds since
// the Unix epoch).
func AppendTimestamp(dst []byte, ms int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(ms))
}

// DateEpoch is the encoded date of 1970-01-01: dates are unsigned days with
// the epoch at the centre of the range, 2^31.
const DateEpoch = 1 << 31

// DecodeDate decodes a date: 4 bytes, unsigned days where DateEpoch (2^31)
// is 1970-01-01.
func DecodeDate(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, sizeErr("date", "4", len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

// AppendDate appends the encoding of a date (unsigned days, DateEpoch =
// 1970-01-01).
func AppendDate(dst []byte, days uint32) []byte { return binary.BigEndian.AppendUint32(dst, days) }

// MaxTime is one more than the largest valid time of day: 24h in
// nanoseconds.
const MaxTime = 86_400_000_000_000

// DecodeTime decodes a time: 8 bytes, nanoseconds since midnight
// (0..MaxTime-1; other values are returned as they are, Cassandra never
// writes them).
func DecodeTime(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, sizeErr("time", "8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// AppendTime appends the encoding of a time (nanoseconds since midnight).
func AppendTime(dst []byte, ns int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(ns)) }

// Duration is a CQL duration: months, days and nanoseconds, which
// Cassandra requires to be all >= 0 or all <= 0.
type Duration struct {
	Months int32
	Days   int32
	Nanos  int64
}

// DecodeDuration decodes a duration: three signed vints (zigzag-encoded,
// then written as Cassandra's unsigned vint) for months, days and
// nanoseconds. Months and days must fit an int32; the cell must end after
// the third. Mixed signs are returned as they are (Cassandra rejects them
// on write).
func DecodeDuration(b []byte) (Duration, error) {
	if len(b) == 0 {
		return Duration{}, sizeErr("duration", ">= 3", 0)
	}
	m, n1, err := DecodeVInt(b)
	if err != nil {
		return Duration{}, prefixErr(err, "duration months")
	}
	d, n2, err := DecodeVInt(b[n1:])
	if err != nil {
		return Duration{}, prefixErr(err, "duration days")
	}
	ns, n3, err := DecodeVInt(b[n1+n2:])
	if err != nil {
		return Duration{}, prefixErr(err, "duration nanoseconds")
	}
	if n := n1 + n2 + n3; n != len(b) {
		return Duration{}, errf("duration: %d trailing bytes after the three vints", len(b)-n)
	}
	if m != int64(int32(m)) {
		return Duration{}, errf("duration: months %d out of int32 range", m)
	}
	if d != int64(int32(d)) {
		return Duration{}, errf("duration: days %d out of int32 range", d)
	}
	return Duration{Months: int32(m), Days: int32(d), Nanos: ns}, nil
}

// AppendDuration appends the encoding of a duration.
func AppendDuration(dst []byte, d Duration) []byte {
	dst = AppendVInt(dst, int64(d.Months))
	dst = AppendVInt(dst, int64(d.Days))
	return AppendVInt(dst, d.Nanos)
}

// DecodeUnsignedVInt decodes Cassandra's unsigned vint from the start of b
// (native_protocol_v5.spec section 3, [unsigned vint]): the number of
// leading 1 bits of the first byte is the number of extra bytes (0..8); the
// rest of the first byte and the extra bytes are the value, big-endian. It
// returns the value and the number of bytes used. Non-minimal encodings are
// refused: Cassandra always writes the minimal one, and its vector reader
// relies on it.
func DecodeUnsignedVInt(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errf("vint: no bytes")
	}
	first := b[0]
	extra := bits.LeadingZeros8(^first)
	if extra == 0 {
		return uint64(first), 1, nil
	}
	if len(b) < 1+extra {
		return 0, 0, errf("vint: needs %d bytes, %d left", 1+extra, len(b))
	}
	var v uint64
	if extra < 8 {
		v = uint64(first & (0xFF >> extra))
	}
	for _, c := range b[1 : 1+extra] {
		v = v<<8 | uint64(c)
	}
	if UnsignedVIntLen(v) != 1+extra {
		return 0, 0, errf("vint: value %d in %d bytes, not the minimal %d (Cassandra always writes the minimal form)", v, 1+extra, UnsignedVIntLen(v))
	}
	return v, 1 + extra, nil
}

// UnsignedVIntLen returns the number of bytes AppendUnsignedVInt writes for
// v (1..9).
func UnsignedVIntLen(v uint64) int {
	// Each extra byte adds 7 bits of capacity (8 value bits minus the
	// length bit taken from the first byte); 9 bytes hold 64 bits.
	n := 64 - bits.LeadingZeros64(v|1)
	if n > 56 {
		return 9
	}
	return (n + 6) / 7
}

// AppendUnsignedVInt appends v in Cassandra's unsigned vint encoding,
// minimal length (as Cassandra writes it).
func AppendUnsignedVInt(dst []byte, v uint64) []byte {
	size := UnsignedVIntLen(v)
	if size == 1 {
		return append(dst, byte(v))
	}
	var buf [9]byte
	extra := size - 1
	for i := extra; i >= 0; i-- {
		buf[i] = byte(v)
		v >>= 8
	}
	buf[0] |= ^byte(0xFF >> extra)
	return append(dst, buf[:size]...)
}

// DecodeVInt decodes a signed vint: an unsigned vint holding the zigzag
// encoding of the value ((n << 1) ^ (n >> 63)).
func DecodeVInt(b []byte) (int64, int, error) {
	u, n, err := DecodeUnsignedVInt(b)
	if err != nil {
		return 0, 0, err
	}
	return int64(u>>1) ^ -int64(u&1), n, nil
}

// AppendVInt appends v as a signed (zigzag) vint.
func AppendVInt(dst []byte, v int64) []byte {
	return AppendUnsignedVInt(dst, uint64(v<<1)^uint64(v>>63))
}

// DecodeInet decodes an inet: 4 bytes (IPv4) or 16 bytes (IPv6; an
// IPv4-mapped IPv6 address stays a 16-byte address).
func DecodeInet(b []byte) (netip.Addr, error) {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b)), nil
	case 16:
		return netip.AddrFrom16([16]byte(b)), nil
	}
	return netip.Addr{}, sizeErr("inet", "4 or 16", len(b))
}

// AppendInet appends the encoding of an inet: 4 bytes for an IPv4 address,
// 16 for an IPv6 one (zones are dropped). An invalid Addr appends nothing.
func AppendInet(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append(dst, b[:]...)
	}
	if a.Is6() {
		b := a.As16()
		return append(dst, b[:]...)
	}
	return dst
}

// Collections, tuples and UDTs. Elements are framed by a big-endian i32
// length ([bytes] in the protocol spec: -1 = null, 0 = empty).

// SplitList splits a list or set cell — an i32 element count, then that
// many [bytes] elements — and appends the elements to dst (nil for a null
// element). The cell must end exactly after the last element. With a reused
// dst it does not allocate.
func SplitList(b []byte, dst [][]byte) ([][]byte, error) {
	return splitCounted(b, dst, 1, "list")
}

// SplitMap splits a map cell — an i32 pair count, then that many pairs of
// [bytes] key and value — and appends key0, value0, key1, value1, ... to
// dst (nil for null).
func SplitMap(b []byte, dst [][]byte) ([][]byte, error) {
	return splitCounted(b, dst, 2, "map")
}

func splitCounted(b []byte, dst [][]byte, per int, what string) ([][]byte, error) {
	if len(b) == 0 {
		return dst, sizeErr(what, ">= 4", 0)
	}
	if len(b) < 4 {
		return dst, errf("%s: %d bytes, shorter than the 4-byte count", what, len(b))
	}
	n := int32(binary.BigEndian.Uint32(b))
	if n < 0 {
		return dst, errf("%s: negative element count %d", what, n)
	}
	total := int64(n) * int64(per)
	if total*4 > int64(len(b)-4) {
		return dst, errf("%s: count %d needs at least %d bytes, %d left", what, n, total*4, len(b)-4)
	}
	off := 4
	for i := int64(0); i < total; i++ {
		e, next, msg := splitElem(b, off)
		if msg != "" {
			return dst, errf("%s: element %d: %s", what, i, msg)
		}
		dst = append(dst, e)
		off = next
	}
	if off != len(b) {
		return dst, errf("%s: %d trailing bytes after %d elements", what, len(b)-off, total)
	}
	return dst, nil
}

// splitElem reads one [bytes] element at off.
func splitElem(b []byte, off int) ([]byte, int, string) {
	if len(b)-off < 4 {
		return nil, 0, fmt.Sprintf("truncated length at byte %d", off)
	}
	l := int32(binary.BigEndian.Uint32(b[off:]))
	off += 4
	if l < 0 {
		if l < -1 {
			// Protocol v5: any negative length is null; only -1 is
			// written. Accepting others would break re-encoding.
			return nil, 0, fmt.Sprintf("length %d (must be >= -1)", l)
		}
		return nil, off, ""
	}
	if int64(l) > int64(len(b)-off) {
		return nil, 0, fmt.Sprintf("length %d beyond the %d bytes left", l, len(b)-off)
	}
	return b[off : off+int(l) : off+int(l)], off + int(l), ""
}

// SplitTuple splits a tuple or UDT cell — [bytes] components one after the
// other, no count — and appends them to dst (nil for null). A value may have
// fewer components than its type (n): Cassandra writes none for fields
// added to a UDT after the value was written; the missing trailing
// components read as null. More than n components is an error.
func SplitTuple(b []byte, n int, dst [][]byte) ([][]byte, error) {
	off := 0
	for i := 0; off < len(b); i++ {
		if i >= n {
			return dst, errf("tuple: more than %d components (%d bytes left)", n, len(b)-off)
		}
		e, next, msg := splitElem(b, off)
		if msg != "" {
			return dst, errf("tuple: component %d: %s", i, msg)
		}
		dst = append(dst, e)
		off = next
	}
	return dst, nil
}

// SplitVector splits a vector cell of dim elements of type elem and appends
// them to dst. Cassandra's VectorType serialization: when elem has a fixed
// length (Type.FixedLen), the elements are concatenated without framing;
// otherwise each element is prefixed by its length as an unsigned vint.
// Vector elements are never null.
func SplitVector(b []byte, elem Type, dim int, dst [][]byte) ([][]byte, error) {
	if len(b) == 0 {
		return dst, sizeErr("vector", "> 0", 0)
	}
	if fl := elem.FixedLen(); fl >= 0 {
		if int64(fl)*int64(dim) != int64(len(b)) {
			return dst, errf("vector<%s, %d>: %d bytes, want %d", elem, dim, len(b), int64(fl)*int64(dim))
		}
		for i := range dim {
			dst = append(dst, b[i*fl:(i+1)*fl:(i+1)*fl])
		}
		return dst, nil
	}
	if dim > len(b) {
		return dst, errf("vector<%s, %d>: %d bytes cannot hold %d elements", elem, dim, len(b), dim)
	}
	off := 0
	for i := range dim {
		l, n, err := DecodeUnsignedVInt(b[off:])
		if err != nil {
			return dst, prefixErr(err, "vector element %d length", i)
		}
		off += n
		if l > uint64(len(b)-off) {
			return dst, errf("vector element %d: length %d beyond the %d bytes left", i, l, len(b)-off)
		}
		dst = append(dst, b[off:off+int(l):off+int(l)])
		off += int(l)
	}
	if off != len(b) {
		return dst, errf("vector: %d trailing bytes after %d elements", len(b)-off, dim)
	}
	return dst, nil
}

// AppendElem appends one [bytes] element (big-endian i32 length then the
// bytes; nil = null, written as length -1) of a collection, tuple or UDT.
func AppendElem(dst []byte, e []byte) []byte {
	if e == nil {
		return binary.BigEndian.AppendUint32(dst, 0xFFFFFFFF)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e)))
	return append(dst, e...)
}

// AppendList appends a list or set cell: the element count then each
// element (nil = null).
func AppendList(dst []byte, elems [][]byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(elems)))
	for _, e := range elems {
		dst = AppendElem(dst, e)
	}
	return dst
}

// AppendMap appends a map cell from keys and values interleaved (key0,
// value0, key1, value1, ...). It panics if len(kv) is odd.
func AppendMap(dst []byte, kv [][]byte) []byte {
	if len(kv)%2 != 0 {
		panic("abi: AppendMap: odd number of keys and values")
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(kv)/2))
	for _, e := range kv {
		dst = AppendElem(dst, e)
	}
	return dst
}

// AppendTuple appends a tuple or UDT cell: each component (nil = null),
// without a count.
func AppendTuple(dst []byte, elems [][]byte) []byte {
	for _, e := range elems {
		dst = AppendElem(dst, e)
	}
	return dst
}

// AppendVector appends a vector cell of the given elements of type elem:
// concatenated when elem has a fixed length (each element must have exactly
// that length), else each prefixed by its unsigned vint length. Null
// elements are an error.
func AppendVector(dst []byte, elem Type, elems [][]byte) ([]byte, error) {
	fl := elem.FixedLen()
	for i, e := range elems {
		if e == nil {
			return dst, fmt.Errorf("abi: vector element %d is null; vectors cannot hold nulls", i)
		}
		if fl >= 0 {
			if len(e) != fl {
				return dst, fmt.Errorf("abi: vector element %d of type %s has %d bytes, want %d", i, elem, len(e), fl)
			}
		} else {
			dst = AppendUnsignedVInt(dst, uint64(len(e)))
		}
		dst = append(dst, e...)
	}
	return dst, nil
}

// ValidateValue checks that cell is a valid encoding of type t, recursing
// into collections, tuples, UDTs and vectors: lengths, counts, UTF-8 of
// text, ASCII of ascii, the duration vints. An empty cell (zero bytes, not
// null) is valid for every type, as in Cassandra. A nil cell (null) is
// valid.
func ValidateValue(t Type, cell []byte) error {
	if cell == nil || len(cell) == 0 {
		return nil
	}
	return validateValue(t, cell, 1)
}

func validateValue(t Type, b []byte, depth int) error {
	if depth > MaxTypeDepth {
		return limitf("value nested deeper than %d levels", MaxTypeDepth)
	}
	if len(b) == 0 {
		return nil
	}
	var err error
	switch t.ID {
	case TypeASCII:
		_, err = DecodeASCII(b)
	case TypeVarchar:
		_, err = DecodeText(b)
	case TypeBigint, TypeCounter, TypeTimestamp, TypeTime, TypeDouble:
		if len(b) != 8 {
			err = errf("%s: %d bytes, want 8", t.ID, len(b))
		}
	case TypeInt, TypeFloat, TypeDate:
		if len(b) != 4 {
			err = errf("%s: %d bytes, want 4", t.ID, len(b))
		}
	case TypeSmallint:
		_, err = DecodeSmallint(b)
	case TypeTinyint:
		_, err = DecodeTinyint(b)
	case TypeBoolean:
		_, err = DecodeBoolean(b)
	case TypeUUID, TypeTimeUUID:
		if len(b) != 16 {
			err = errf("%s: %d bytes, want 16", t.ID, len(b))
		}
	case TypeDecimal:
		if len(b) < 5 {
			err = errf("decimal: %d bytes, want >= 5", len(b))
		}
	case TypeInet:
		_, err = DecodeInet(b)
	case TypeDuration:
		_, err = DecodeDuration(b)
	case TypeBlob, TypeVarint, TypeCustom:
	case TypeList, TypeSet, TypeMap:
		var elems [][]byte
		if t.ID == TypeMap {
			elems, err = SplitMap(b, nil)
		} else {
			elems, err = SplitList(b, nil)
		}
		if err != nil {
			return err
		}
		for i, e := range elems {
			et := t.Elems[0]
			if t.ID == TypeMap {
				et = t.Elems[i%2]
			}
			if e != nil {
				if err := validateValue(et, e, depth+1); err != nil {
					return prefixErr(err, "%s element %d", t.ID, i)
				}
			}
		}
	case TypeTuple, TypeUDT:
		elems, err := SplitTuple(b, len(t.Elems), nil)
		if err != nil {
			return err
		}
		for i, e := range elems {
			if e != nil {
				if err := validateValue(t.Elems[i], e, depth+1); err != nil {
					return prefixErr(err, "%s component %d", t.ID, i)
				}
			}
		}
	case TypeVector:
		elems, err := SplitVector(b, t.Elems[0], t.Dim, nil)
		if err != nil {
			return err
		}
		for i, e := range elems {
			if err := validateValue(t.Elems[0], e, depth+1); err != nil {
				return prefixErr(err, "vector element %d", i)
			}
		}
	default:
		err = errf("unknown type id 0x%04X", uint16(t.ID))
	}
	return err
}
