// Reading cells: typed accessors for every CQL type, collections, and text forms.
//
// Cell values are the CQL native protocol v5 encoding (big-endian), exactly the bytes
// Cassandra sent. A typed read of a NULL cell, or of an empty cell of a type without
// an empty form, returns the zero value (0, false, null): check isNull / isEmpty
// first when that matters. A read with the wrong column type, or of malformed bytes,
// returns the zero value and records an error (see Page.err); the SDK reports it if
// the plugin returns normally.

import { PluginError } from "./error";
import { setError } from "./state";
import { Type, TypeId, typeName } from "./types";
import { validUTF8 } from "./wire";

// ---- error reporting -------------------------------------------------------

/** Records `column "<name>" has type <type>, want <want>` (`cell has type ...` without a column). */
export function typeError(t: Type, want: string, col: string | null): void {
  const what = col !== null ? "column \"" + col + "\" has type " : "cell has type ";
  setError(new PluginError(what + t.toString() + ", want " + want));
}

/** Records `[row <i>: column "<name>": ]invalid <type> cell of <n> bytes[: detail]`. */
export function invalidCell(t: Type, len: i32, row: i32, col: string | null, detail: string = ""): void {
  let msg = "invalid " + typeName(t.id) + " cell of " + len.toString() + " bytes";
  if (detail.length > 0) msg += ": " + detail;
  if (col !== null) {
    setError(PluginError.at(row, "row " + row.toString() + ": column \"" + col + "\": " + msg));
  } else {
    setError(new PluginError(msg));
  }
}

// Whether a typed read has a value: right type, not null, not empty.
function has(t: Type, len: i32, ok: bool, want: string, col: string | null): bool {
  if (!ok) {
    typeError(t, want, col);
    return false;
  }
  return len > 0;
}

function fixed(t: Type, len: i32, n: i32, row: i32, col: string | null): bool {
  if (len == n) return true;
  invalidCell(t, len, row, col);
  return false;
}

function isInt(id: i32): bool {
  return id == TypeId.Tinyint || id == TypeId.Smallint || id == TypeId.Int;
}

function beI64(p: usize): i64 { return <i64>bswap<u64>(load<u64>(p)); }
function beI32(p: usize): i32 { return <i32>bswap<u32>(load<u32>(p)); }

// ---- typed readers on (type, ptr, len) -------------------------------------

/** Reads tinyint, smallint or int as i32. */
export function readInt(t: Type, p: usize, len: i32, row: i32, col: string | null): i32 {
  if (!has(t, len, isInt(t.id), "tinyint, smallint or int", col)) return 0;
  return <i32>readAnyInt(t, p, len, row, col);
}

/** Reads any integer column (tinyint, smallint, int, bigint, counter) as i64. */
export function readBigint(t: Type, p: usize, len: i32, row: i32, col: string | null): i64 {
  const ok = isInt(t.id) || t.id == TypeId.Bigint || t.id == TypeId.Counter;
  if (!has(t, len, ok, "tinyint, smallint, int, bigint or counter", col)) return 0;
  return readAnyInt(t, p, len, row, col);
}

function readAnyInt(t: Type, p: usize, len: i32, row: i32, col: string | null): i64 {
  switch (t.id) {
    case TypeId.Tinyint: return fixed(t, len, 1, row, col) ? <i64>load<i8>(p) : 0;
    case TypeId.Smallint: return fixed(t, len, 2, row, col) ? <i64><i16>bswap<u16>(load<u16>(p)) : 0;
    case TypeId.Int: return fixed(t, len, 4, row, col) ? <i64>beI32(p) : 0;
  }
  return fixed(t, len, 8, row, col) ? beI64(p) : 0;
}

/** Reads a float. */
export function readFloat(t: Type, p: usize, len: i32, row: i32, col: string | null): f32 {
  if (!has(t, len, t.id == TypeId.Float, "float", col)) return 0;
  return fixed(t, len, 4, row, col) ? reinterpret<f32>(bswap<u32>(load<u32>(p))) : 0;
}

/** Reads a double, or a float widened. */
export function readDouble(t: Type, p: usize, len: i32, row: i32, col: string | null): f64 {
  if (!has(t, len, t.id == TypeId.Double || t.id == TypeId.Float, "float or double", col)) return 0;
  if (t.id == TypeId.Float) return fixed(t, len, 4, row, col) ? <f64>reinterpret<f32>(bswap<u32>(load<u32>(p))) : 0;
  return fixed(t, len, 8, row, col) ? reinterpret<f64>(bswap<u64>(load<u64>(p))) : 0;
}

/** Reads a boolean (any non-zero byte is true). */
export function readBoolean(t: Type, p: usize, len: i32, row: i32, col: string | null): bool {
  if (!has(t, len, t.id == TypeId.Boolean, "boolean", col)) return false;
  return fixed(t, len, 1, row, col) ? load<u8>(p) != 0 : false;
}

/** Reads a timestamp: milliseconds since the Unix epoch. */
export function readTimestamp(t: Type, p: usize, len: i32, row: i32, col: string | null): i64 {
  if (!has(t, len, t.id == TypeId.Timestamp, "timestamp", col)) return 0;
  return fixed(t, len, 8, row, col) ? beI64(p) : 0;
}

/** Reads a date: the unsigned day number with 1970-01-01 at 2^31 (see DATE_EPOCH). */
export function readDate(t: Type, p: usize, len: i32, row: i32, col: string | null): u32 {
  if (!has(t, len, t.id == TypeId.Date, "date", col)) return 0;
  return fixed(t, len, 4, row, col) ? bswap<u32>(load<u32>(p)) : 0;
}

/** Reads a time: nanoseconds since midnight (0 .. 86399999999999). */
export function readTime(t: Type, p: usize, len: i32, row: i32, col: string | null): i64 {
  if (!has(t, len, t.id == TypeId.Time, "time", col)) return 0;
  if (!fixed(t, len, 8, row, col)) return 0;
  const v = beI64(p);
  if (v < 0 || v >= MAX_TIME) {
    invalidCell(t, len, row, col);
    return 0;
  }
  return v;
}

/** Reads text or ascii as a string; null for NULL. Invalid UTF-8 is an error. */
export function readText(t: Type, p: usize, len: i32, row: i32, col: string | null): string | null {
  if (!t.isText()) {
    typeError(t, "text or ascii", col);
    return null;
  }
  if (len < 0) return null;
  if (!validUTF8(p, <usize>len)) {
    invalidCell(t, len, row, col, "not valid UTF-8");
    return null;
  }
  if (t.id == TypeId.Ascii) {
    for (let i = 0; i < len; i++) {
      if (load<u8>(p + <usize>i) >= 0x80) {
        invalidCell(t, len, row, col, "not ASCII");
        return null;
      }
    }
  }
  return String.UTF8.decodeUnsafe(p, <usize>len);
}

/** Reads uuid or timeuuid as its 16 bytes (a copy); null for NULL or empty. */
export function readUuid(t: Type, p: usize, len: i32, row: i32, col: string | null): Uint8Array | null {
  if (!has(t, len, t.id == TypeId.Uuid || t.id == TypeId.Timeuuid, "uuid or timeuuid", col)) return null;
  if (!fixed(t, len, 16, row, col)) return null;
  return copyBytes(p, 16);
}

/** Reads an inet as its 4 or 16 bytes (a copy); null for NULL or empty. */
export function readInet(t: Type, p: usize, len: i32, row: i32, col: string | null): Uint8Array | null {
  if (!has(t, len, t.id == TypeId.Inet, "inet", col)) return null;
  if (len != 4 && len != 16) {
    invalidCell(t, len, row, col);
    return null;
  }
  return copyBytes(p, len);
}

/** A CQL duration: months, days and nanoseconds. */
export class Duration {
  constructor(public months: i32, public days: i32, public nanos: i64) {}

  /** Cassandra's form: 1y2mo3d4h5m6s7ms8us9ns, "-" first when negative, "0s" for zero. */
  toString(): string {
    if (this.months == 0 && this.days == 0 && this.nanos == 0) return "0s";
    let s = (this.months < 0 || this.days < 0 || this.nanos < 0) ? "-" : "";
    const mo = <u64>abs<i64>(<i64>this.months);
    if (mo / 12 > 0) s += (mo / 12).toString() + "y";
    if (mo % 12 > 0) s += (mo % 12).toString() + "mo";
    if (this.days != 0) s += (<u64>abs<i64>(<i64>this.days)).toString() + "d";
    let ns: u64 = this.nanos == i64.MIN_VALUE ? <u64>9223372036854775808 : <u64>abs<i64>(this.nanos);
    const units: u64[] = [3600000000000, 60000000000, 1000000000, 1000000, 1000, 1];
    const names: string[] = ["h", "m", "s", "ms", "us", "ns"];
    for (let i = 0; i < 6; i++) {
      const v = ns / units[i];
      ns %= units[i];
      if (v > 0) s += v.toString() + names[i];
    }
    return s;
  }
}

/** Reads a Cassandra unsigned vint at p (at most `end`); returns -1 length on failure. */
export class VInt {
  value: u64 = 0;
  size: i32 = 0; // bytes used, 0 = malformed
}

export function readUVInt(p: usize, end: usize, out: VInt): bool {
  out.size = 0;
  if (p >= end) return false;
  const first = <u32>load<u8>(p);
  const extra = <i32>clz<u32>(~first & 0xFF) - 24;
  if (<usize>(1 + extra) > end - p) return false;
  let v: u64 = extra >= 8 ? 0 : <u64>(first & (0xFF >> extra));
  for (let i = 0; i < extra; i++) v = (v << 8) | <u64>load<u8>(p + 1 + <usize>i);
  out.value = v;
  out.size = 1 + extra;
  return true;
}

/** Reads a duration; null for NULL or empty. */
export function readDuration(t: Type, p: usize, len: i32, row: i32, col: string | null): Duration | null {
  if (!has(t, len, t.id == TypeId.Duration, "duration", col)) return null;
  const end = p + <usize>len;
  const v = new VInt();
  const vals = new StaticArray<i64>(3);
  let q = p;
  for (let i = 0; i < 3; i++) {
    if (!readUVInt(q, end, v)) {
      invalidCell(t, len, row, col, "truncated vint");
      return null;
    }
    q += <usize>v.size;
    vals[i] = <i64>(v.value >> 1) ^ -(<i64>(v.value & 1));
  }
  if (q != end) {
    invalidCell(t, len, row, col, (end - q).toString() + " trailing bytes");
    return null;
  }
  if (vals[0] < i32.MIN_VALUE || vals[0] > i32.MAX_VALUE || vals[1] < i32.MIN_VALUE || vals[1] > i32.MAX_VALUE) {
    invalidCell(t, len, row, col, "months or days out of i32 range");
    return null;
  }
  return new Duration(<i32>vals[0], <i32>vals[1], vals[2]);
}

/** An arbitrary-precision integer: big-endian two's complement bytes. */
export class Varint {
  constructor(public bytes: Uint8Array) {}

  isNegative(): bool { return this.bytes.length > 0 && (this.bytes[0] & 0x80) != 0; }

  /** True when the value fits an i64 (then toI64 is exact). */
  fitsI64(): bool {
    let n = this.bytes.length;
    let i = 0;
    // Skip redundant sign bytes.
    while (n - i > 8) {
      const b = this.bytes[i];
      const next = this.bytes[i + 1];
      if ((b == 0 && (next & 0x80) == 0) || (b == 0xFF && (next & 0x80) != 0)) i++;
      else break;
    }
    return n - i <= 8;
  }

  /** The value as i64 (wrapped when it does not fit: check fitsI64). */
  toI64(): i64 {
    let v: i64 = this.isNegative() ? -1 : 0;
    for (let i = 0; i < this.bytes.length; i++) v = (v << 8) | <i64>this.bytes[i];
    return v;
  }

  /** Decimal digits, any size. */
  toString(): string {
    if (this.bytes.length == 0) return "0";
    if (this.fitsI64()) return this.toI64().toString();
    const neg = this.isNegative();
    const mag = magnitude(this.bytes);
    return (neg ? "-" : "") + magnitudeDigits(mag);
  }
}

function magnitude(b: Uint8Array): Uint8Array {
  const m = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) m[i] = b[i];
  if (b.length > 0 && (b[0] & 0x80) != 0) {
    for (let i = 0; i < m.length; i++) m[i] = ~m[i];
    for (let i = m.length - 1; i >= 0; i--) {
      m[i] = m[i] + 1;
      if (m[i] != 0) break;
    }
  }
  return m;
}

function magnitudeDigits(m: Uint8Array): string {
  let digits = "";
  for (;;) {
    let rem: u32 = 0;
    let nonzero = false;
    for (let i = 0; i < m.length; i++) {
      const cur = (rem << 8) | <u32>m[i];
      m[i] = <u8>(cur / 10);
      rem = cur % 10;
      nonzero = nonzero || m[i] != 0;
    }
    digits = String.fromCharCode(0x30 + rem) + digits;
    if (!nonzero) break;
  }
  return digits;
}

/** Reads a varint; null for NULL or empty. */
export function readVarint(t: Type, p: usize, len: i32, row: i32, col: string | null): Varint | null {
  if (!has(t, len, t.id == TypeId.Varint, "varint", col)) return null;
  return new Varint(copyBytes(p, len));
}

/** A decimal: unscaled × 10^-scale. */
export class Decimal {
  constructor(public scale: i32, public unscaled: Varint) {}

  /** Plain notation, like Java's BigDecimal.toPlainString: "-12.340", "1200". */
  toString(): string {
    const neg = this.unscaled.isNegative();
    const digits = magnitudeDigits(magnitude(this.unscaled.bytes));
    let s = neg ? "-" : "";
    if (this.scale <= 0) {
      s += digits;
      if (digits != "0") s += "0".repeat(<i32>(-(<i64>this.scale)));
      return s;
    }
    const scale = this.scale;
    if (digits.length > scale) {
      return s + digits.substring(0, digits.length - scale) + "." + digits.substring(digits.length - scale);
    }
    return s + "0." + "0".repeat(scale - digits.length) + digits;
  }
}

/** Reads a decimal; null for NULL or empty. */
export function readDecimal(t: Type, p: usize, len: i32, row: i32, col: string | null): Decimal | null {
  if (!has(t, len, t.id == TypeId.Decimal, "decimal", col)) return null;
  if (len < 5) {
    invalidCell(t, len, row, col);
    return null;
  }
  return new Decimal(beI32(p), new Varint(copyBytes(p + 4, len - 4)));
}

/** A copy of len bytes at p. */
export function copyBytes(p: usize, len: i32): Uint8Array {
  const out = new Uint8Array(len);
  if (len > 0) memory.copy(changetype<usize>(out.buffer), p, <usize>len);
  return out;
}

// ---- Cell: a typed view of one value (a row's cell or a collection element) ----

/**
 * One value: its type and bytes (len -1 = NULL). A Cell points into the input page:
 * it is valid only during the call that produced it.
 */
export class Cell {
  constructor(
    public type: Type,
    public ptr: usize,
    public len: i32,
    /** The row and column name, when the cell is a row's cell (for error messages). */
    public row: i32 = -1,
    public column: string | null = null,
  ) {}

  get isNull(): bool { return this.len < 0; }
  /** Not NULL, zero bytes. */
  get isEmpty(): bool { return this.len == 0; }

  /** A copy of the raw bytes; null for NULL. */
  bytes(): Uint8Array | null { return this.len < 0 ? null : copyBytes(this.ptr, this.len); }

  int(): i32 { return readInt(this.type, this.ptr, this.len, this.row, this.column); }
  bigint(): i64 { return readBigint(this.type, this.ptr, this.len, this.row, this.column); }
  float(): f32 { return readFloat(this.type, this.ptr, this.len, this.row, this.column); }
  double(): f64 { return readDouble(this.type, this.ptr, this.len, this.row, this.column); }
  boolean(): bool { return readBoolean(this.type, this.ptr, this.len, this.row, this.column); }
  text(): string | null { return readText(this.type, this.ptr, this.len, this.row, this.column); }
  timestamp(): i64 { return readTimestamp(this.type, this.ptr, this.len, this.row, this.column); }
  date(): u32 { return readDate(this.type, this.ptr, this.len, this.row, this.column); }
  time(): i64 { return readTime(this.type, this.ptr, this.len, this.row, this.column); }
  uuid(): Uint8Array | null { return readUuid(this.type, this.ptr, this.len, this.row, this.column); }
  inet(): Uint8Array | null { return readInet(this.type, this.ptr, this.len, this.row, this.column); }
  duration(): Duration | null { return readDuration(this.type, this.ptr, this.len, this.row, this.column); }
  varint(): Varint | null { return readVarint(this.type, this.ptr, this.len, this.row, this.column); }
  decimal(): Decimal | null { return readDecimal(this.type, this.ptr, this.len, this.row, this.column); }
  /** The elements of a list or set; null for NULL or empty. */
  list(): Elements | null { return readList(this.type, this.ptr, this.len, this.row, this.column); }
  /** The entries of a map (keys at even, values at odd positions); null for NULL or empty. */
  map(): Elements | null { return readMap(this.type, this.ptr, this.len, this.row, this.column); }
  /** The components of a tuple or the fields of a udt; null for NULL or empty. */
  fields(): Elements | null { return readFields(this.type, this.ptr, this.len, this.row, this.column); }
  /** The elements of a vector; null for NULL or empty. */
  vector(): Elements | null { return readVector(this.type, this.ptr, this.len, this.row, this.column); }
}

/**
 * The parts of a collection, tuple, udt or vector, validated when read, so that
 * reading them never fails on framing. For a map, part 2i is key i and 2i+1 value i.
 */
export class Elements {
  types: Type[] = [];
  ptrs: usize[] = [];
  lens: i32[] = [];
  /** udt field names ("" for other kinds). */
  names: string[] = [];

  get length(): i32 { return this.ptrs.length; }

  /** Part i. */
  at(i: i32): Cell { return new Cell(this.types[i], this.ptrs[i], this.lens[i]); }

  /** For a map: the number of entries. */
  get entries(): i32 { return this.ptrs.length >> 1; }
  key(i: i32): Cell { return this.at(2 * i); }
  value(i: i32): Cell { return this.at(2 * i + 1); }

  /** For a udt: the field called name, or null. */
  field(name: string): Cell | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.at(i);
    return null;
  }
}

// Reads [int n]-prefixed [int len][bytes] parts; returns false on malformed input.
function readParts(e: Elements, p: usize, len: i32, per: i32, types: Type[]): string | null {
  const end = p + <usize>len;
  if (len < 4) return "truncated element count";
  const n = beI32(p);
  let q = p + 4;
  if (n < 0 || <i64>n * per * 4 > <i64>(len - 4)) return "element count " + n.toString() + " for " + (len - 4).toString() + " bytes";
  for (let i = 0; i < n * per; i++) {
    if (end - q < 4) return "truncated length at byte " + (<i32>(q - p)).toString();
    const l = beI32(q);
    q += 4;
    if (l > 0 && <usize>l > end - q) return "element of " + l.toString() + " bytes overruns the " + (<i32>(end - q)).toString() + " bytes left";
    e.types.push(types[i % per]);
    e.ptrs.push(q);
    e.lens.push(l < 0 ? -1 : l);
    if (l > 0) q += <usize>l;
  }
  if (q != end) return (<i32>(end - q)).toString() + " trailing bytes";
  return null;
}

export function readList(t: Type, p: usize, len: i32, row: i32, col: string | null): Elements | null {
  if (!has(t, len, t.id == TypeId.List || t.id == TypeId.Set, "list or set", col)) return null;
  const e = new Elements();
  const err = readParts(e, p, len, 1, t.elems);
  if (err !== null) { invalidCell(t, len, row, col, err); return null; }
  return e;
}

export function readMap(t: Type, p: usize, len: i32, row: i32, col: string | null): Elements | null {
  if (!has(t, len, t.id == TypeId.Map, "map", col)) return null;
  const e = new Elements();
  const err = readParts(e, p, len, 2, t.elems);
  if (err !== null) { invalidCell(t, len, row, col, err); return null; }
  return e;
}

/** Tuple and udt values: one [int len][bytes] per component; missing trailing ones are NULL. */
export function readFields(t: Type, p: usize, len: i32, row: i32, col: string | null): Elements | null {
  if (!has(t, len, t.id == TypeId.Tuple || t.id == TypeId.Udt, "tuple or udt", col)) return null;
  const e = new Elements();
  const end = p + <usize>len;
  let q = p;
  let i = 0;
  while (q < end) {
    if (i == t.elems.length) { invalidCell(t, len, row, col, (<i32>(end - q)).toString() + " trailing bytes after " + i.toString() + " components"); return null; }
    if (end - q < 4) { invalidCell(t, len, row, col, "truncated length at byte " + (<i32>(q - p)).toString()); return null; }
    const l = beI32(q);
    q += 4;
    if (l > 0 && <usize>l > end - q) { invalidCell(t, len, row, col, "component " + i.toString() + " overruns the value"); return null; }
    e.types.push(t.elems[i]);
    e.ptrs.push(q);
    e.lens.push(l < 0 ? -1 : l);
    if (l > 0) q += <usize>l;
    i++;
  }
  for (; i < t.elems.length; i++) {
    e.types.push(t.elems[i]);
    e.ptrs.push(0);
    e.lens.push(-1);
  }
  for (let j = 0; j < t.elems.length; j++) e.names.push(j < t.fields.length ? t.fields[j] : "");
  return e;
}

/** Vector values: dim elements, fixed-size ones back to back, others with a vint length. */
export function readVector(t: Type, p: usize, len: i32, row: i32, col: string | null): Elements | null {
  if (!has(t, len, t.id == TypeId.Vector, "vector", col)) return null;
  const e = new Elements();
  const et = t.elems[0];
  const dim = <i32>t.dim;
  const fl = et.vectorFixedLen();
  if (fl >= 0) {
    if (<i64>len != <i64>fl * dim) { invalidCell(t, len, row, col); return null; }
    for (let i = 0; i < dim; i++) {
      e.types.push(et);
      e.ptrs.push(p + <usize>(i * fl));
      e.lens.push(fl);
    }
    return e;
  }
  const end = p + <usize>len;
  let q = p;
  const v = new VInt();
  for (let i = 0; i < dim; i++) {
    if (!readUVInt(q, end, v)) { invalidCell(t, len, row, col, "truncated length of element " + i.toString()); return null; }
    q += <usize>v.size;
    if (v.value > <u64>(end - q)) { invalidCell(t, len, row, col, "element " + i.toString() + " overruns the value"); return null; }
    e.types.push(et);
    e.ptrs.push(q);
    e.lens.push(<i32>v.value);
    q += <usize>v.value;
  }
  if (q != end) { invalidCell(t, len, row, col, (<i32>(end - q)).toString() + " trailing bytes"); return null; }
  return e;
}

// ---- text forms --------------------------------------------------------------

/** The encoded date of 1970-01-01 (dates are unsigned days with the epoch at 2^31). */
export const DATE_EPOCH: i64 = 2147483648;
/** One more than the largest time of day in nanoseconds. */
export const MAX_TIME: i64 = 86400000000000;

/** Proleptic Gregorian [year, month, day] of days since 1970-01-01 (H. Hinnant). */
export function civilFromDays(z: i64): StaticArray<i64> {
  z += 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  const out = new StaticArray<i64>(3);
  out[0] = y; out[1] = m; out[2] = d;
  return out;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
export function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  if (m <= 2) y--;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = (153 * mp + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/** Floor division (rounds toward negative infinity). */
export function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/** v in decimal, zero-padded to width digits (v >= 0). */
export function pad(v: i64, width: i32): string {
  const s = v.toString();
  return s.length >= width ? s : "0".repeat(width - s.length) + s;
}

/** "YYYY-MM-DD" of days since 1970-01-01. */
export function formatDate(days: i64): string {
  const c = civilFromDays(days);
  return pad(c[0], 4) + "-" + pad(c[1], 2) + "-" + pad(c[2], 2);
}

/** "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) of milliseconds since the epoch. */
export function formatTimestamp(ms: i64): string {
  const days = floorDiv(ms, 86400000);
  const rem = ms - days * 86400000;
  return formatDate(days) + "T" + pad(rem / 3600000, 2) + ":" + pad(rem / 60000 % 60, 2) + ":" +
    pad(rem / 1000 % 60, 2) + "." + pad(rem % 1000, 3) + "Z";
}

/** "HH:MM:SS.nnnnnnnnn" of nanoseconds since midnight. */
export function formatTime(ns: i64): string {
  return pad(ns / 3600000000000, 2) + ":" + pad(ns / 60000000000 % 60, 2) + ":" +
    pad(ns / 1000000000 % 60, 2) + "." + pad(ns % 1000000000, 9);
}

const hexDigits = "0123456789abcdef";

/** Lower-case hex of len bytes at p. */
export function hexOf(p: usize, len: i32): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    s += hexDigits.charAt(b >> 4) + hexDigits.charAt(b & 0xF);
  }
  return s;
}

/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of 16 bytes at p. */
export function formatUuid(p: usize): string {
  return hexOf(p, 4) + "-" + hexOf(p + 4, 2) + "-" + hexOf(p + 6, 2) + "-" + hexOf(p + 8, 2) + "-" + hexOf(p + 10, 6);
}
