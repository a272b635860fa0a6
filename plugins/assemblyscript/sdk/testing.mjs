// Native tests of an AssemblyScript plugin with node --test: load the built
// .wasm, drive it through the ABI as the sluice host does (SLC1 config, SLP1
// pages, SLR1 results), build pages from a fixture (a schema.txt and JSON
// lines, as sluice plugin test reads them) and read results by column name.
//
//   import { Harness, parseSchema } from "@sluice/sdk/testing.mjs";
//   const h = await Harness.load("plugin.wasm", { column: "email" });
//   const out = h.process(parseSchema(schemaText), jsonLines);
//   assert.deepEqual(out.kept(), [0, 2, 4]);
//   out.rows("audit")  // [{ id: 1, email: "a@b" }, ...]
//
// Cells are encoded from the JSON form of docs/json.md for the scalar types
// (integers, float, double, boolean, text, ascii, blob as base64, timestamp
// as ms or RFC 3339, date, time, uuid, varint) and list/set of them; other
// types throw, naming the type.

import { readFileSync } from "node:fs";

const enc = new TextEncoder();
const dec = new TextDecoder();

const IDS = {
  ascii: 1, bigint: 2, blob: 3, boolean: 4, counter: 5, decimal: 6, double: 7, float: 8, int: 9,
  timestamp: 0xb, uuid: 0xc, text: 0xd, varchar: 0xd, varint: 0xe, timeuuid: 0xf, inet: 0x10, date: 0x11,
  time: 0x12, smallint: 0x13, tinyint: 0x14, duration: 0x15,
};

/** Parses a CQL type: scalars, list<T>, set<T>, frozen<T>. */
export function parseType(s) {
  s = s.trim();
  const m = /^(\w+)\s*<(.*)>$/.exec(s);
  if (m) {
    const head = m[1].toLowerCase();
    if (head === "frozen") return parseType(m[2]);
    if (head === "list") return { id: 0x20, name: s, elem: parseType(m[2]) };
    if (head === "set") return { id: 0x22, name: s, elem: parseType(m[2]) };
    throw new Error(`type ${s}: the AssemblyScript test harness reads scalars, list and set`);
  }
  const id = IDS[s.toLowerCase()];
  if (id === undefined) throw new Error(`unknown type ${JSON.stringify(s)}`);
  return { id, name: s.toLowerCase() };
}

/** Parses a schema.txt: "name type" per line, # comments. */
export function parseSchema(text) {
  const cols = [];
  text.split("\n").forEach((line, i) => {
    line = line.trim();
    if (line === "" || line.startsWith("#")) return;
    const sp = line.search(/\s/);
    if (sp < 0) throw new Error(`schema line ${i + 1}: ${JSON.stringify(line)} is not "name type"`);
    cols.push([line.slice(0, sp), parseType(line.slice(sp))]);
  });
  return cols;
}

class W {
  constructor() { this.b = []; }
  u8(v) { this.b.push(v & 0xff); return this; }
  u16(v) { return this.u8(v).u8(v >> 8); }
  u32(v) { return this.u16(v & 0xffff).u16(v >>> 16); }
  u64(v) { const x = BigInt.asUintN(64, BigInt(v)); return this.u32(Number(x & 0xffffffffn)).u32(Number(x >> 32n)); }
  bytes(a) { for (const x of a) this.b.push(x); return this; }
  str(s) { const a = enc.encode(s); return this.u32(a.length).bytes(a); }
  done() { return Uint8Array.from(this.b); }
}

const be = (n, v) => { const b = new Uint8Array(n); let x = BigInt.asUintN(n * 8, BigInt(v)); for (let i = n - 1; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; } return b; };
const INT_BYTES = { 1: 0, 2: 8, 5: 8, 9: 4, 0x13: 2, 0x14: 1 };

function days(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new Error(`${JSON.stringify(s)} is not a date (YYYY-MM-DD)`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86400000;
}

/** The cell (bytes, or null) of JSON value v for type t. */
export function encodeCell(t, v) {
  if (v === null || v === undefined) return null;
  if (v === "" && t.id !== 1 && t.id !== 0xd && t.id !== 3) return new Uint8Array(0);
  const bad = () => new Error(`${JSON.stringify(v)} does not fit a ${t.name} column`);
  switch (t.id) {
    case 2: case 5: case 9: case 0x13: case 0x14: {
      if (typeof v !== "number" && typeof v !== "string") throw bad();
      const n = INT_BYTES[t.id], x = BigInt(v), lim = 1n << BigInt(n * 8 - 1);
      if (x < -lim || x >= lim) throw new Error(`${v} is out of range for ${t.name}`);
      return be(n, x);
    }
    case 0xe: { // varint: minimal two's complement
      let x = BigInt(v); const out = [];
      for (;;) { out.unshift(Number(BigInt.asUintN(8, x))); const rest = x >> 8n; if ((rest === 0n && !(out[0] & 0x80)) || (rest === -1n && out[0] & 0x80)) break; x = rest; }
      return Uint8Array.from(out);
    }
    case 7: case 8: {
      if (typeof v !== "number") throw bad();
      const b = new Uint8Array(t.id === 7 ? 8 : 4); const dv = new DataView(b.buffer);
      t.id === 7 ? dv.setFloat64(0, v) : dv.setFloat32(0, v);
      return b;
    }
    case 4: if (typeof v !== "boolean") throw bad(); return Uint8Array.of(v ? 1 : 0);
    case 1: case 0xd: if (typeof v !== "string") throw bad(); return enc.encode(v);
    case 3: if (typeof v !== "string") throw bad(); return Uint8Array.from(Buffer.from(v, "base64"));
    case 0xb: {
      const ms = typeof v === "number" ? v : Date.parse(v);
      if (!Number.isFinite(ms)) throw bad();
      return be(8, ms);
    }
    case 0x11: return be(4, days(v) + 2 ** 31);
    case 0x12: {
      const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(v);
      if (!m) throw bad();
      return be(8, ((BigInt(m[1]) * 60n + BigInt(m[2])) * 60n + BigInt(m[3])) * 1000000000n + BigInt((m[4] || "").padEnd(9, "0")));
    }
    case 0xc: case 0xf: {
      const h = String(v).replace(/-/g, "");
      if (!/^[0-9a-fA-F]{32}$/.test(h)) throw bad();
      return Uint8Array.from(Buffer.from(h, "hex"));
    }
    case 0x20: case 0x22: {
      if (!Array.isArray(v)) throw bad();
      const w = new W().bytes(be(4, v.length));
      for (const e of v) { const c = encodeCell(t.elem, e); if (c === null) w.bytes(be(4, -1)); else w.bytes(be(4, c.length)).bytes(c); }
      return w.done();
    }
  }
  throw new Error(`the AssemblyScript test harness does not encode ${t.name} cells`);
}

/** Decodes a cell of type id to a JS value (null for NULL). */
function decodeCell(id, b) {
  if (b === null) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length === 0 && id !== 1 && id !== 0xd && id !== 3) return "";
  switch (id) {
    case 0x14: return dv.getInt8(0);
    case 0x13: return dv.getInt16(0);
    case 9: return dv.getInt32(0);
    case 2: case 5: case 0xb: { const x = dv.getBigInt64(0); return Number.isSafeInteger(Number(x)) ? Number(x) : x; }
    case 8: return dv.getFloat32(0);
    case 7: return dv.getFloat64(0);
    case 4: return b[0] !== 0;
    case 1: case 0xd: return dec.decode(b);
  }
  return b; // other types: the raw bytes
}

/** An SLP1 page of cols ([[name, type]]) and JSON lines (or an array of objects). */
export function encodePage(cols, rows, number = 1) {
  if (typeof rows === "string") {
    rows = rows.split("\n").map((l, i) => [l.trim(), i + 1]).filter(([l]) => l !== "").map(([l, n]) => {
      try { return JSON.parse(l); } catch (e) { throw new Error(`JSON line ${n}: ${e.message}`); }
    });
  }
  const w = new W().u32(0x31504c53).u32(0).u64(number).u32(0).u32(cols.length).u32(rows.length);
  for (const [n, t] of cols) {
    w.str(n).u16(t.id);
    if (t.elem) w.u16(t.elem.id);
  }
  const data = new W(); const offs = [0];
  rows.forEach((obj, r) => {
    for (const k of Object.keys(obj)) if (!cols.some(([n]) => n === k)) throw new Error(`row ${r}: ${JSON.stringify(k)} is not a column`);
    for (const [n, t] of cols) {
      let c;
      try { c = encodeCell(t, obj[n]); } catch (e) { throw new Error(`row ${r}: column ${JSON.stringify(n)} (${t.name}): ${e.message}`); }
      if (c === null) data.u32(0xffffffff); else data.u32(c.length).bytes(c);
    }
    offs.push(data.b.length);
  });
  offs.forEach((o) => w.u32(o));
  return w.bytes(data.b).done();
}

/** What a plugin did with one page. */
export class Outcome {
  constructor(sections, nrows) { this.sections = sections; this.nrows = nrows; }
  /** Input rows kept on output ("" = default); every row for the empty result. */
  kept(output = "") {
    if (this.sections === null) return output === "" ? [...Array(this.nrows).keys()] : [];
    const s = this.sections.find((x) => x.kind === "select" && x.output === output);
    return s ? s.kept : [];
  }
  /** Rows written to output as objects by column name, or null. */
  rows(output = "") {
    const s = (this.sections || []).find((x) => x.kind === "rows" && x.output === output);
    return s ? s.rows.map((cells) => Object.fromEntries(s.cols.map(([n, id], i) => [n, decodeCell(id, cells[i])]))) : null;
  }
}

function decodeResult(b) {
  if (b.length === 0) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const u32 = () => { const v = dv.getUint32(o, true); o += 4; return v; };
  const str = () => { const n = u32(); const s = dec.decode(b.subarray(o, o + n)); o += n; return s; };
  const skipType = () => { const id = dv.getUint16(o, true); o += 2; if (id === 0x20 || id === 0x22) skipType(); else if (id === 0x21) { skipType(); skipType(); } else if (id !== 0 && id >= 0x30) throw new Error("result: nested types other than list/set/map are not decoded"); return id; };
  if (u32() !== 0x31524c53) throw new Error("result: bad magic");
  const secs = [];
  for (let k = 0, n = u32(); k < n; k++) {
    const kind = b[o++];
    if (kind === 1) {
      const output = str(); const nrows = u32(); const bm = b.slice(o, o + ((nrows + 7) >> 3)); o += (nrows + 7) >> 3;
      const kept = []; for (let i = 0; i < nrows; i++) if (bm[i >> 3] & (1 << (i & 7))) kept.push(i);
      secs.push({ kind: "select", output, kept });
    } else if (kind === 2) {
      const output = str(); const cols = [];
      for (let c = 0, ncols = u32(); c < ncols; c++) { const name = str(); cols.push([name, skipType()]); }
      const nrows = u32(); const offs = []; for (let i = 0; i <= nrows; i++) offs.push(u32());
      const base = o; const rows = [];
      for (let i = 0; i < nrows; i++) {
        let p = base + offs[i]; const cells = [];
        for (let c = 0; c < cols.length; c++) { const len = dv.getInt32(p, true); p += 4; cells.push(len < 0 ? null : b.slice(p, p + len)); if (len > 0) p += len; }
        rows.push(cells);
      }
      o = base + offs[nrows];
      secs.push({ kind: "rows", output, cols, rows });
    } else if (kind === 3) {
      const row = Number(dv.getBigInt64(o, true)); o += 8;
      secs.push({ kind: "error", row, message: str() });
    } else throw new Error(`result: section kind ${kind}`);
  }
  return secs;
}

/** A plugin error (an ERROR section), with its row (-1: none). */
export class PluginError extends Error {
  constructor(row, message) { super(row >= 0 ? `row ${row}: ${message}` : message); this.row = row; this.pluginMessage = message; }
}

function check(secs) {
  const e = (secs || []).find((s) => s.kind === "error");
  if (e) throw new PluginError(e.row, e.message);
  return secs;
}

/** A plugin instance driven as the host drives it. */
export class Harness {
  /** Loads path (a .wasm) and calls sluice_init with config (an object of strings or arrays of strings). */
  static async load(path, config = {}) {
    const h = new Harness(readFileSync(path));
    h.init(config);
    return h;
  }
  constructor(wasm) {
    this.logs = [];
    this.pages = 0;
    const mod = new WebAssembly.Module(wasm);
    this.x = new WebAssembly.Instance(mod, {
      sluice: { log: (level, ptr, len) => this.logs.push([level, dec.decode(this.mem(ptr, len))]) },
    }).exports;
  }
  mem(ptr, len) { return new Uint8Array(this.x.memory.buffer, ptr, len); }
  input(bytes) { const p = this.x.sluice_alloc(bytes.length); this.mem(p, bytes.length).set(bytes); return [p, bytes.length]; }
  out(h) { const x = BigInt.asUintN(64, h); const len = Number(x & 0xffffffffn); return len === 0 ? new Uint8Array(0) : this.mem(Number(x >> 32n), len).slice(); }
  init(config) {
    const pairs = Object.keys(config).sort().flatMap((k) => [].concat(config[k]).map((v) => [k, String(v)]));
    const w = new W().u32(0x31434c53).u32(pairs.length);
    for (const [k, v] of pairs) w.str(k).str(v);
    check(decodeResult(this.out(this.x.sluice_init(...this.input(w.done())))));
  }
  /** Runs sluice_process on a page of cols (parseSchema) and rows (JSON lines or objects). */
  process(cols, rows) {
    const page = encodePage(cols, rows, ++this.pages);
    const nrows = new DataView(page.buffer).getUint32(24, true);
    return new Outcome(check(decodeResult(this.out(this.x.sluice_process(...this.input(page))))), nrows);
  }
  /** Runs sluice_flush. */
  flush() { return new Outcome(check(decodeResult(this.out(this.x.sluice_flush()))), 0); }
}
