// The sluice example plugin "count_by" in AssemblyScript: it counts the rows per
// value of a column and emits (value text, count bigint) rows at the end of the
// stream; its counts survive a hot swap through snapshot/restore, in a format shared
// by every SDK language (a Go snapshot restores here and vice versa). Its behaviour
// is specified in plugins/examples/README.md.
//
// Built (from plugins/, by `make assemblyscript-all`; see assemblyscript.mk) with:
//
//   assemblyscript/node_modules/.bin/asc examples/count_by/assemblyscript/count_by.ts \
//     -o examples/count_by/assemblyscript/count_by.wasm -O3 --debug --runtime incremental \
//     --use abort=assemblyscript/sdk/runtime/sluiceAbort

import {
  Config, Output, Page, Plugin, PluginError, Schema, Type, TypeId, typeName, register,
  civilFromDays, floorDiv, formatDate, formatTimestamp, formatTime, formatUuid, hexOf, DATE_EPOCH, MAX_TIME,
} from "../../../assemblyscript/sdk";

// "SCB1" as a little-endian u32.
const SNAPSHOT_MAGIC: u32 = 0x31424353;

const OUT_SCHEMA = new Schema().add("value", Type.text()).add("count", Type.bigint());

// Keys are kept as "byte strings": one UTF-16 code unit per byte, so that string
// order is bytewise order and any bytes (text cells need not be UTF-8) survive.
function byteString(p: usize, n: i32): string {
  const s = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const d = changetype<usize>(s);
  for (let i = 0; i < n; i++) store<u16>(d + (<usize>i << 1), <u16>load<u8>(p + <usize>i));
  return s;
}

// The bytes of a byte string (or of an ASCII string).
function stringBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = <u8>s.charCodeAt(i);
  return b;
}

function supported(t: i32): bool {
  return t == TypeId.Ascii || t == TypeId.Text || t == TypeId.Tinyint || t == TypeId.Smallint ||
    t == TypeId.Int || t == TypeId.Bigint || t == TypeId.Counter || t == TypeId.Boolean ||
    t == TypeId.Timestamp || t == TypeId.Date || t == TypeId.Time || t == TypeId.Uuid ||
    t == TypeId.Timeuuid || t == TypeId.Blob;
}

// What is wrong with the last cell given to render, or null.
let renderErr: string | null = null;

function beI64(p: usize): i64 { return <i64>bswap<u64>(load<u64>(p)); }

// The text rendering of a non-NULL cell of type t (README: "Keys: the text rendering
// of a cell") as a byte string; sets renderErr on a malformed cell.
function render(t: i32, p: usize, n: i32): string {
  renderErr = null;
  if (n == 0) return t == TypeId.Blob ? "0x" : "";
  if (t == TypeId.Ascii || t == TypeId.Text) return byteString(p, n);
  if (t == TypeId.Blob) return "0x" + hexOf(p, n);
  let want = 0;
  switch (t) {
    case TypeId.Tinyint: case TypeId.Boolean: want = 1; break;
    case TypeId.Smallint: want = 2; break;
    case TypeId.Int: case TypeId.Date: want = 4; break;
    case TypeId.Uuid: case TypeId.Timeuuid: want = 16; break;
    default: want = 8;
  }
  if (n != want) {
    renderErr = "invalid " + typeName(t) + " cell of " + n.toString() + " bytes";
    return "";
  }
  switch (t) {
    case TypeId.Tinyint: return (<i32>load<i8>(p)).toString();
    case TypeId.Smallint: return (<i32><i16>bswap<u16>(load<u16>(p))).toString();
    case TypeId.Int: return (<i32>bswap<u32>(load<u32>(p))).toString();
    case TypeId.Bigint: case TypeId.Counter: return beI64(p).toString();
    case TypeId.Boolean: return load<u8>(p) != 0 ? "true" : "false";
    case TypeId.Timestamp: {
      const ms = beI64(p);
      const y = civilFromDays(floorDiv(ms, 86400000))[0];
      if (y < 0 || y > 9999) {
        renderErr = "timestamp " + ms.toString() + " is outside years 0000-9999";
        return "";
      }
      return formatTimestamp(ms);
    }
    case TypeId.Date: {
      const days = <i64>bswap<u32>(load<u32>(p)) - DATE_EPOCH;
      const y = civilFromDays(days)[0];
      if (y < 0 || y > 9999) {
        renderErr = "date " + days.toString() + " is outside years 0000-9999";
        return "";
      }
      return formatDate(days);
    }
    case TypeId.Time: {
      const ns = beI64(p);
      if (ns < 0 || ns >= MAX_TIME) {
        renderErr = "invalid time cell of 8 bytes";
        return "";
      }
      return formatTime(ns);
    }
  }
  return formatUuid(p); // uuid, timeuuid
}

// Bytewise comparison of two byte strings.
function cmp(a: string, b: string): i32 {
  return a < b ? -1 : (a > b ? 1 : 0);
}

class CountBy extends Plugin {
  column: string = "";
  output: string = "";
  counts: Map<string, u64> = new Map();
  nullCount: u64 = 0;

  // Resolution for the schema id it was computed for (0 = none).
  schemaId: u32 = 0;
  err: PluginError | null = null;
  col: i32 = 0;
  typ: i32 = 0;

  init(cfg: Config): PluginError | null {
    let e = cfg.unknown(["column", "output"]);
    if (e !== null) return e.prefixed("count_by");
    e = cfg.single(["column", "output"]);
    if (e !== null) return e.prefixed("count_by");
    const column = cfg.require("column");
    if (column === null) return cfg.err!.prefixed("count_by");
    this.column = column;
    this.output = cfg.string("output", "");
    return null;
  }

  resolve(page: Page): PluginError | null {
    const c = page.requireColumn(this.column);
    if (c < 0) return page.err!.prefixed("count_by");
    this.col = c;
    this.typ = page.schema.columns[c].type.id;
    if (!supported(this.typ)) {
      return new PluginError("count_by: column \"" + this.column + "\" has type " + typeName(this.typ) +
        ", which count_by cannot count (supported: ascii, text, tinyint, smallint, int, bigint, counter, boolean, timestamp, date, time, uuid, timeuuid, blob)");
    }
    return null;
  }

  process(page: Page, out: Output): PluginError | null {
    if (this.schemaId != page.schemaId) {
      this.schemaId = page.schemaId;
      this.err = this.resolve(page);
    }
    if (this.err !== null) return this.err;
    for (let i = 0; i < page.numRows; i++) {
      const row = page.row(i);
      const n = row.len(this.col);
      if (n < 0) {
        this.nullCount++;
        continue;
      }
      const key = render(this.typ, row.ptr(this.col), n);
      if (renderErr !== null) {
        return PluginError.at(i, "count_by: row " + i.toString() + ": column \"" + this.column + "\": " + renderErr!);
      }
      this.counts.set(key, this.counts.has(key) ? this.counts.get(key) + 1 : 1);
    }
    if (this.output.length == 0) out.dropAll();
    return null;
  }

  sortedKeys(): string[] {
    const keys = this.counts.keys();
    keys.sort((a: string, b: string): i32 => cmp(a, b));
    return keys;
  }

  flush(out: Output): PluginError | null {
    if (this.nullCount == 0 && this.counts.size == 0) return null;
    const w = out.rows(this.output, OUT_SCHEMA);
    if (this.nullCount > 0) {
      const e = w.null().bigint(<i64>this.nullCount).endRow();
      if (e !== null) return e.prefixed("count_by");
    }
    const keys = this.sortedKeys();
    for (let i = 0; i < keys.length; i++) {
      const e = w.rawBytes(stringBytes(keys[i])).bigint(<i64>this.counts.get(keys[i])).endRow();
      if (e !== null) return e.prefixed("count_by");
    }
    this.nullCount = 0;
    this.counts.clear();
    return null;
  }

  // README: "Snapshot and restore".
  snapshot(): Uint8Array | null {
    const keys = this.sortedKeys();
    const col = Uint8Array.wrap(String.UTF8.encode(this.column));
    let size = 12 + col.length + (this.nullCount > 0 ? 12 : 0);
    for (let i = 0; i < keys.length; i++) size += 12 + keys[i].length;
    const b = new Uint8Array(size);
    let p = b.dataStart;
    store<u32>(p, SNAPSHOT_MAGIC); p += 4;
    store<u32>(p, <u32>col.length); p += 4;
    memory.copy(p, col.dataStart, <usize>col.length); p += <usize>col.length;
    store<u32>(p, <u32>(keys.length + (this.nullCount > 0 ? 1 : 0))); p += 4;
    if (this.nullCount > 0) {
      store<i32>(p, -1); p += 4;
      store<u64>(p, this.nullCount); p += 8;
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      store<u32>(p, <u32>k.length); p += 4;
      for (let j = 0; j < k.length; j++) store<u8>(p + <usize>j, <u8>k.charCodeAt(j));
      p += <usize>k.length;
      store<u64>(p, this.counts.get(k)); p += 8;
    }
    return b;
  }

  // Replaces the counts with those of a snapshot; on error they are left as they were.
  restore(b: Uint8Array): PluginError | null {
    const base = b.dataStart;
    const len = b.length;
    let off = 0;
    if (len - off < 4) return fail("magic at byte " + off.toString() + ": truncated (" + (len - off).toString() + " bytes left)");
    const magic = load<u32>(base + <usize>off); off += 4;
    if (magic != SNAPSHOT_MAGIC) return fail("magic 0x" + hex8(magic) + ", want 0x31424353 (\"SCB1\")");
    if (len - off < 4) return fail("column length at byte " + off.toString() + ": truncated (" + (len - off).toString() + " bytes left)");
    const clen = load<u32>(base + <usize>off); off += 4;
    if (<u64>clen > <u64>(len - off)) return fail("column length " + clen.toString() + " beyond the " + (len - off).toString() + " bytes left");
    const column = String.UTF8.decodeUnsafe(base + <usize>off, <usize>clen);
    off += <i32>clen;
    if (len - off < 4) return fail("key count at byte " + off.toString() + ": truncated (" + (len - off).toString() + " bytes left)");
    const n = load<u32>(base + <usize>off); off += 4;
    if (<u64>n * 12 > <u64>(len - off)) return fail(n.toString() + " keys need at least " + (<u64>n * 12).toString() + " bytes, " + (len - off).toString() + " left");
    const counts = new Map<string, u64>();
    let nullCount: u64 = 0;
    let prev: string | null = null;
    for (let i: u32 = 0; i < n; i++) {
      if (len - off < 4) return fail("key " + i.toString() + " length at byte " + off.toString() + ": truncated (" + (len - off).toString() + " bytes left)");
      const klen = load<i32>(base + <usize>off); off += 4;
      let key: string | null = null;
      if (klen == -1) {
        if (i != 0) return fail("key " + i.toString() + " is NULL, which must come first");
      } else if (klen < -1) {
        return fail("key " + i.toString() + " length " + klen.toString());
      } else if (klen > len - off) {
        return fail("key " + i.toString() + " length " + klen.toString() + " beyond the " + (len - off).toString() + " bytes left");
      } else {
        key = byteString(base + <usize>off, klen);
        off += klen;
        if (prev !== null && cmp(prev, key) >= 0) return fail("key " + i.toString() + " does not sort after key " + (i - 1).toString());
        prev = key;
      }
      if (len - off < 8) return fail("key " + i.toString() + " count at byte " + off.toString() + ": truncated (" + (len - off).toString() + " bytes left)");
      const cnt = load<u64>(base + <usize>off); off += 8;
      if (cnt == 0) return fail("key " + i.toString() + " has count 0");
      if (key === null) nullCount = cnt;
      else counts.set(key, cnt);
    }
    if (off != len) return fail((len - off).toString() + " trailing bytes after " + n.toString() + " keys");
    if (column != this.column) {
      return fail("snapshot counts column \"" + column + "\", config column is \"" + this.column + "\"");
    }
    this.counts = counts;
    this.nullCount = nullCount;
    return null;
  }
}

function fail(msg: string): PluginError {
  return new PluginError("count_by: restore: " + msg);
}

function hex8(v: u32): string {
  const h = "0123456789ABCDEF";
  let s = "";
  for (let k = 28; k >= 0; k -= 4) s += h.charAt(<i32>((v >> <u32>k) & 0xF));
  return s;
}

register(new CountBy());

export * from "../../../assemblyscript/sdk/exports";
