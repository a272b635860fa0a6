// Tests of the AssemblyScript SDK (node --test, from plugins/assemblyscript): a test
// plugin (exerciser.ts) compiled with the pinned asc and driven through the ABI as
// the host drives it, plus the committed example builds against the README.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import asc from "assemblyscript/asc";

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- ABI encoders / decoders (little-endian framing, big-endian cell values) ----

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

// Types: { id, elems, fields, ks, name, dim }.
const T = (id, extra = {}) => ({ id, elems: [], fields: [], ks: "", name: "", dim: 0, ...extra });
const TY = {
  ascii: T(1), bigint: T(2), blob: T(3), boolean: T(4), counter: T(5), decimal: T(6), double: T(7),
  float: T(8), int: T(9), timestamp: T(0xb), uuid: T(0xc), text: T(0xd), varint: T(0xe), timeuuid: T(0xf),
  inet: T(0x10), date: T(0x11), time: T(0x12), smallint: T(0x13), tinyint: T(0x14), duration: T(0x15),
  list: (e) => T(0x20, { elems: [e] }), map: (k, v) => T(0x21, { elems: [k, v] }), set: (e) => T(0x22, { elems: [e] }),
  udt: (ks, name, fields, types) => T(0x30, { ks, name, fields, elems: types }),
  tuple: (...es) => T(0x31, { elems: es }), vector: (e, dim) => T(0x50, { elems: [e], dim }),
};

function typeDesc(w, t) {
  w.u16(t.id);
  if (t.id === 0) w.str(t.name);
  else if (t.id === 0x20 || t.id === 0x22 || t.id === 0x21) t.elems.forEach((e) => typeDesc(w, e));
  else if (t.id === 0x30) { w.str(t.ks).str(t.name).u16(t.elems.length); t.elems.forEach((e, i) => { w.str(t.fields[i]); typeDesc(w, e); }); }
  else if (t.id === 0x31) { w.u16(t.elems.length); t.elems.forEach((e) => typeDesc(w, e)); }
  else if (t.id === 0x50) { typeDesc(w, t.elems[0]); w.u32(t.dim); }
}

// A page: cols = [[name, type]], rows = [[cell]] with cell null (NULL) or bytes.
function page(cols, rows, number = 1) {
  const w = new W().u32(0x31504c53).u32(0).u64(number).u32(0).u32(cols.length).u32(rows.length);
  for (const [n, t] of cols) { w.str(n); typeDesc(w, t); }
  const data = new W();
  const offs = [0];
  for (const r of rows) {
    for (const c of r) {
      if (c === null) data.u32(0xffffffff);
      else data.u32(c.length).bytes(c);
    }
    offs.push(data.b.length);
  }
  offs.forEach((o) => w.u32(o));
  return w.bytes(data.b).done();
}

function config(pairs) {
  const w = new W().u32(0x31434c53).u32(pairs.length);
  for (const [k, v] of pairs) w.str(k).str(v);
  return w.done();
}

// Big-endian cell encoders.
const be = (n, v) => { const b = new Uint8Array(n); let x = BigInt.asUintN(n * 8, BigInt(v)); for (let i = n - 1; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; } return b; };
const C = {
  int: (v) => be(4, v), bigint: (v) => be(8, v), smallint: (v) => be(2, v), tinyint: (v) => be(1, v),
  text: (s) => enc.encode(s), float: (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v); return b; },
  double: (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v); return b; },
  bool: (v) => Uint8Array.of(v ? 1 : 0), date: (days) => be(4, days + 2 ** 31),
  coll: (elems) => { const w = new W(); w.bytes(be(4, elems.length)); for (const e of elems) w.bytes(be(4, e.length)).bytes(e); return w.done(); },
  map: (kvs) => { const w = new W(); w.bytes(be(4, kvs.length / 2)); for (const e of kvs) w.bytes(be(4, e.length)).bytes(e); return w.done(); },
  fields: (parts) => { const w = new W(); for (const e of parts) { if (e === null) w.bytes(be(4, -1)); else w.bytes(be(4, e.length)).bytes(e); } return w.done(); },
};

function decodeResult(b) {
  if (b.length === 0) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const u32 = () => { const v = dv.getUint32(o, true); o += 4; return v; };
  const str = () => { const n = u32(); const s = dec.decode(b.subarray(o, o + n)); o += n; return s; };
  assert.equal(u32(), 0x31524c53, "result magic");
  const n = u32();
  const secs = [];
  for (let k = 0; k < n; k++) {
    const kind = b[o++];
    if (kind === 1) {
      const output = str(); const nrows = u32(); const bm = b.slice(o, o + ((nrows + 7) >> 3)); o += (nrows + 7) >> 3;
      const kept = []; for (let i = 0; i < nrows; i++) if (bm[i >> 3] & (1 << (i & 7))) kept.push(i);
      secs.push({ kind: "select", output, kept });
    } else if (kind === 2) {
      const output = str(); const ncols = u32(); const cols = [];
      for (let c = 0; c < ncols; c++) { const name = str(); const id = dv.getUint16(o, true); o += 2; cols.push([name, id]); }
      const nrows = u32(); const offs = []; for (let i = 0; i <= nrows; i++) offs.push(u32());
      const base = o; const rows = [];
      for (let i = 0; i < nrows; i++) {
        let p = base + offs[i]; const cells = [];
        for (let c = 0; c < ncols; c++) { const len = dv.getInt32(p, true); p += 4; cells.push(len < 0 ? null : b.slice(p, p + len)); if (len > 0) p += len; }
        assert.equal(p, base + offs[i + 1], "row end");
        rows.push(cells);
      }
      o = base + offs[nrows];
      secs.push({ kind: "rows", output, cols, rows });
    } else if (kind === 3) {
      const row = Number(dv.getBigInt64(o, true)); o += 8;
      secs.push({ kind: "error", row, message: str() });
    } else assert.fail(`section kind ${kind}`);
  }
  assert.equal(o, b.length, "trailing result bytes");
  return secs;
}

// ---- driving a module as the host does ----

class Instance {
  constructor(wasm) {
    this.logs = [];
    const mod = new WebAssembly.Module(wasm);
    const imports = WebAssembly.Module.imports(mod);
    assert.deepEqual(imports.map((i) => `${i.module}.${i.name}`), ["sluice.log"], "the only import is sluice.log");
    this.inst = new WebAssembly.Instance(mod, {
      sluice: { log: (level, ptr, len) => this.logs.push([level, dec.decode(this.mem(ptr, len))]) },
    });
    this.x = this.inst.exports;
    assert.equal(this.x.sluice_abi_version(), 0x10000);
  }
  mem(ptr, len) { return new Uint8Array(this.x.memory.buffer, ptr, len); }
  input(bytes) {
    const p = this.x.sluice_alloc(bytes.length);
    this.mem(p, bytes.length).set(bytes);
    return [p, bytes.length];
  }
  out(h) {
    const x = BigInt.asUintN(64, h);
    const ptr = Number(x >> 32n), len = Number(x & 0xffffffffn);
    return len === 0 ? new Uint8Array(0) : this.mem(ptr, len).slice();
  }
  init(pairs) { return decodeResult(this.out(this.x.sluice_init(...this.input(config(pairs))))); }
  process(p) { return decodeResult(this.out(this.x.sluice_process(...this.input(p)))); }
  flush() { return decodeResult(this.out(this.x.sluice_flush())); }
  snapshot() { return this.out(this.x.sluice_snapshot()); }
  restore(b) { return decodeResult(this.out(this.x.sluice_restore(...this.input(b)))); }
}

let exerciserWasm;
async function exerciser() {
  if (!exerciserWasm) {
    let bin;
    const { error, stderr } = await asc.main(
      ["test/exerciser.ts", "-o", "exerciser.wasm", "-O3", "--runtime", "incremental", "--use", "abort=sdk/runtime/sluiceAbort"],
      { writeFile: (name, contents) => { if (name.endsWith(".wasm")) bin = contents; } },
    );
    assert.ifError(error, stderr.toString());
    exerciserWasm = bin;
  }
  return new Instance(exerciserWasm);
}

const text = (b) => (b === null ? null : dec.decode(b));

// ---- tests ----

test("every CQL type reads as expected", async () => {
  const x = await exerciser();
  assert.equal(x.init([["mode", "dump"], ["opt.n", "42"]]), null);
  const udt = TY.udt("ks", "addr", ["street", "n"], [TY.text, TY.int]);
  const cols = [
    ["i", TY.int], ["b", TY.bigint], ["s", TY.smallint], ["t", TY.tinyint], ["c", TY.counter],
    ["f", TY.float], ["d", TY.double], ["bo", TY.boolean], ["tx", TY.text], ["a", TY.ascii], ["bl", TY.blob],
    ["ts", TY.timestamp], ["dt", TY.date], ["tm", TY.time], ["u", TY.uuid], ["in", TY.inet],
    ["du", TY.duration], ["vi", TY.varint], ["de", TY.decimal], ["l", TY.list(TY.int)], ["m", TY.map(TY.text, TY.bigint)],
    ["tu", TY.tuple(TY.int, TY.text)], ["ud", udt], ["vf", TY.vector(TY.float, 2)], ["vs", TY.vector(TY.smallint, 2)],
  ];
  const row = [
    C.int(-7), C.bigint(-9007199254740993n), C.smallint(-32768), C.tinyint(-1), C.bigint(5),
    C.float(1.5), C.double(-0.1), C.bool(true), C.text("Zoë"), C.text("abc"), Uint8Array.of(0xca, 0xfe),
    C.bigint(-1), C.date(19000), be(8, 3723000000005), Uint8Array.from({ length: 16 }, (_, i) => i * 17), Uint8Array.of(10, 0, 0, 1),
    Uint8Array.of(28, 6, 0x8d, 0x1a, 0x94, 0xa2, 0x00, 0x00, 0x00) /* 14mo 3d 1h+... see below */, Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    Uint8Array.of(0, 0, 0, 3, 0xfb, 0x2e), C.coll([C.int(1), C.int(2)]), C.map([C.text("a"), C.bigint(1), C.text("bb"), C.bigint(2)]),
    C.fields([C.int(1), C.text("x")]), C.fields([C.text("elm")]), Uint8Array.of(...C.float(1), ...C.float(2.5)),
    Uint8Array.of(2, 0, 3, 2, 0, 4),
  ];
  // duration: months 14 (zigzag 28), days 3 (6), nanos 3600000000123 (zigzag 7200000000246 = 0x68c_6117_04f6, 6 bytes: 0xfc prefix... built here)
  row[16] = (() => {
    const uv = (v) => { // Cassandra unsigned vint
      v = BigInt(v);
      let size = 1; while (size < 9 && v >= 1n << BigInt(7 * size)) size++;
      if (size === 9) return [0xff, ...be(8, v)];
      const bytes = Array.from(be(size, v));
      bytes[0] |= (0xff << (8 - (size - 1))) & 0xff;
      return bytes;
    };
    const zz = (v) => (BigInt(v) << 1n) ^ (BigInt(v) >> 63n);
    return Uint8Array.from([...uv(zz(14)), ...uv(zz(3)), ...uv(zz(3600000000123))]);
  })();
  const res = x.process(page(cols, [row, cols.map(() => null), cols.map(([, t]) => (t.id === 3 || t.id === 0xd || t.id === 1 ? new Uint8Array(0) : new Uint8Array(0)))]));
  assert.equal(res[0].kind, "select", `named output only: the input rows pass: ${JSON.stringify(res[0])}`);
  assert.deepEqual(res[0].kept, [0, 1, 2]);
  const dump = res[1];
  assert.equal(dump.output, "dump");
  const got = {};
  for (const [r, c, v] of dump.rows.map((cells) => [new DataView(cells[0].buffer).getInt32(0), text(cells[1]), text(cells[2])])) got[`${r}.${c}`] = v;
  const want = {
    i: "-7", b: "-9007199254740993", s: "-32768", t: "-1", c: "5", f: "f3fc00000", d: "dbfb999999999999a", bo: "true",
    tx: "'Zoë'", a: "'abc'", bl: "0xcafe", ts: "1969-12-31T23:59:59.999Z", dt: "2022-01-08", tm: "01:02:03.000000005",
    u: "00112233-4455-6677-8899-aabbccddeeff", in: "0a000001", du: "1y2mo3d1h123ns", vi: "340282366920938463463374607431768211456",
    de: "-1.234", l: "[1,2]", m: "{'a':1,'bb':2}", tu: "(1,'x')", ud: "(street='elm',n=NULL)", vf: "<f3f800000,f40200000>", vs: "<3,4>",
  };
  for (const [k, v] of Object.entries(want)) assert.equal(got[`0.${k}`], v, k);
  for (const k of Object.keys(want)) assert.equal(got[`1.${k}`], "NULL", `null ${k}`);
  assert.equal(got["2.tx"], "''");
  assert.equal(got["2.bl"], "0x");
  assert.equal(got["2.i"], "EMPTY");
});

test("malformed cells and wrong types are row and column errors", async () => {
  const x = await exerciser();
  x.init([["mode", "dump"]]);
  let res = x.process(page([["i", TY.int], ["x", TY.text]], [[C.int(1), C.text("a")], [Uint8Array.of(1, 2, 3), C.text("b")]]));
  assert.deepEqual(res, [{ kind: "error", row: 1, message: 'row 1: column "i": invalid int cell of 3 bytes' }]);
  res = x.process(page([["v", TY.vector(TY.int, 2)]], [[Uint8Array.of(1, 2, 3)]]));
  assert.deepEqual(res, [{ kind: "error", row: 0, message: 'row 0: column "v": invalid vector cell of 3 bytes' }]);
  res = x.process(page([["l", TY.list(TY.int)]], [[Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 9)]]));
  assert.equal(res[0].message, 'row 0: column "l": invalid list cell of 8 bytes: element of 9 bytes overruns the 0 bytes left');
  res = x.process(page([["tm", TY.time]], [[be(8, 86400000000000)]]));
  assert.equal(res[0].message, 'row 0: column "tm": invalid time cell of 8 bytes');

  const y = await exerciser();
  y.init([["mode", "unchecked"]]);
  res = y.process(page([["x", TY.text]], [[C.text("a")]]));
  assert.deepEqual(res, [{ kind: "error", row: -1, message: 'column "x" has type text, want tinyint, smallint or int' }]);
});

test("page validation", async () => {
  const x = await exerciser();
  x.init([["mode", "dump"]]);
  const good = page([["i", TY.int]], [[C.int(1)]]);
  const bad = good.slice(); bad[0] = 0x58;
  assert.match(x.process(bad)[0].message, /^sluice sdk: decode page: page: bad magic/);
  assert.match(x.process(good.slice(0, good.length - 1))[0].message, /must equal the rows area length/);
  const overrun = good.slice(); overrun.set(be(4, 0).reverse().map((_, i) => [5, 0, 0, 0][i]), good.length - 8);
  assert.match(x.process(overrun)[0].message, /row 0 column 0: cell of 5 bytes overruns the row/);
});

// A page of cols with the given offsets and rows area (which need not be
// well-formed).
function rawPage(cols, offs, data, number = 1) {
  const w = new W().u32(0x31504c53).u32(0).u64(number).u32(0).u32(cols.length).u32(offs.length - 1);
  for (const [n, t] of cols) { w.str(n); typeDesc(w, t); }
  offs.forEach((o) => w.u32(o));
  return w.bytes(data).done();
}
const cellBytes = (b) => new W().u32(b.length).bytes(b).done();

test("offsets are checked up front, cells when read", async () => {
  const cols = [["i", TY.int], ["s", TY.text]];
  const row0 = [...cellBytes(C.int(1)), ...cellBytes(C.text("a"))]; // 13 bytes
  const row1 = [...cellBytes(C.int(2)), ...cellBytes(C.text("bc"))]; // 14 bytes
  const good = rawPage(cols, [0, 13, 27, 40], [...row0, ...row1, ...row0]);
  // 20 rows, row 12 ending before it starts: offsets are checked 8 rows at a
  // time, then one by one.
  const offs = Array.from({ length: 21 }, (_, i) => 13 * i);
  offs[13] = offs[12] - 1;
  const decreasing = rawPage(cols, offs, Array(20).fill(row0).flat());
  const truncated = rawPage(cols, [0, 13, 21, 34], [...row0, ...cellBytes(C.int(2)), ...row0]);
  const trailing = rawPage(cols, [0, 13, 28, 41], [...row0, ...row1, 0, ...row0]);
  for (const mode of ["dump", "copy"]) {
    const x = await exerciser();
    x.init([["mode", mode]]);
    assert.notEqual(x.process(good)[0].kind, "error", mode);
    assert.deepEqual(x.process(decreasing), [{ kind: "error", row: -1, message: "sluice sdk: decode page: page 1: offsets[13]=155 below offsets[12]=156" }], mode);
    assert.deepEqual(x.process(truncated), [{ kind: "error", row: -1, message: "sluice sdk: decode page: page 1: row 1 column 1: truncated cell length" }], mode);
    assert.notEqual(x.process(good)[0].kind, "error", mode);
  }
  // Bytes after a row's last cell: found by a walk over the whole row.
  const x = await exerciser();
  x.init([["mode", "copy"]]);
  assert.deepEqual(x.process(trailing), [{ kind: "error", row: -1, message: "sluice sdk: decode page: page 1: row 1: 1 bytes after the last cell" }]);
  // Rows copied whole come out as they went in, across schema changes.
  const other = page([["a", TY.bigint], ["b", TY.text], ["c", TY.int]], [[C.bigint(1), null, C.int(3)], [null, C.text(""), null]]);
  for (const p of [good, other, good, good, other]) {
    const res = x.process(p);
    assert.equal(res.length, 1);
    assert.equal(res[0].kind, "rows");
  }
  assert.deepEqual(x.process(other)[0].rows.map((r) => r.map((c) => (c === null ? null : Array.from(c)))),
    [[[0, 0, 0, 0, 0, 0, 0, 1], null, [0, 0, 0, 3]], [null, [], null]]);
});

test("reject sends rows to the dead-letter output with the reason", async () => {
  const x = await exerciser();
  x.init([["mode", "reject"]]);
  const cols = [["id", TY.int], ["name", TY.text]];
  const rows = [[C.int(0), C.text("a")], [C.int(1), null], [C.int(2), C.text("c")], [C.int(3), C.text("d")]];
  for (let round = 0; round < 2; round++) {
    const res = x.process(page(cols, rows));
    assert.equal(res.length, 2, JSON.stringify(res));
    assert.equal(res[0].kind, "select");
    assert.deepEqual(res[0].kept, [0, 2]);
    assert.equal(res[1].kind, "rows");
    assert.equal(res[1].output, "sluice.rejected");
    assert.deepEqual(res[1].cols, [["id", 9], ["name", 0xd], ["sluice_reject_reason", 0xd]]);
    assert.deepEqual(res[1].rows.map((r) => r.map((c) => (c === null ? null : Array.from(c)))),
      [[Array.from(C.int(1)), null, Array.from(new TextEncoder().encode("odd row 1"))],
       [Array.from(C.int(3)), Array.from(C.text("d")), Array.from(new TextEncoder().encode("odd row 3"))]]);
  }
});

test("keepWhere selects like setKept, eight rows at a time", async () => {
  const x = await exerciser();
  x.init([["mode", "keepwhere"]]);
  for (const n of [1, 7, 8, 9, 16, 21, 64, 67]) {
    const rows = Array.from({ length: n }, (_, i) => [i % 5 === 4 ? null : C.int(i)]);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 4 && i % 3 !== 0);
    const res = x.process(page([["i", TY.int]], rows));
    assert.deepEqual(res, kept.length ? [{ kind: "select", output: "", kept }] : [], `${n} rows`);
  }
  for (const bad of [2, 8, 13, 17]) {
    const rows = Array.from({ length: 19 }, (_, i) => [C.int(i === bad || i === 18 ? -1 : i)]);
    assert.deepEqual(x.process(page([["i", TY.int]], rows)), [{ kind: "error", row: bad, message: "minus one" }]);
  }
});

test("prepare runs once per schema, again after a failure; rows read by name", async () => {
  const x = await exerciser();
  assert.equal(x.init([["mode", "prepare"]]), null);
  const s1 = [["id", TY.int], ["age", TY.int]];
  const res = x.process(page(s1, [[C.int(1), C.int(17)]]));
  assert.deepEqual(res, [{ kind: "error", row: -1, message: 'column "nope" not found (columns: id, age)' }]);
  x.process(page(s1, []));
  assert.deepEqual(x.process(page([["bad", TY.int]], [[C.int(1)]])), [{ kind: "error", row: -1, message: "prepare: bad schema" }]);
  assert.deepEqual(x.process(page([["bad", TY.int]], [])), [{ kind: "error", row: -1, message: "prepare: bad schema" }]);
  const out = x.process(page([["age", TY.int]], []));
  const rowsSec = out.find((sec) => sec.kind === "rows");
  assert.ok(rowsSec, JSON.stringify(out));
  assert.equal(rowsSec.rows.length, 0);
  const res2 = x.process(page([["age", TY.int]], [[C.int(30)], [C.int(5)]]));
  const got = res2.find((sec) => sec.kind === "rows").rows.map((r) => `${text(r[0])} ${new DataView(r[1].buffer).getInt32(0)} ${new DataView(r[2].buffer).getInt32(0)}`);
  assert.deepEqual(got, ["id,age|bad|bad|age 30 30", "id,age|bad|bad|age 5 5"]);
});

test("scalar getters, NULL and empty cells", async () => {
  const x = await exerciser();
  x.init([["mode", "scalars"]]);
  const cols = [["t", TY.tinyint], ["s", TY.smallint], ["i", TY.int], ["b", TY.bigint], ["f", TY.float], ["d", TY.double],
    ["o", TY.boolean], ["ts", TY.timestamp], ["dt", TY.date], ["tm", TY.time]];
  const values = [C.tinyint(-2), C.smallint(-300), C.int(-70000), C.bigint(-(2n ** 40n)), C.float(1.5), C.double(-0.25),
    C.bool(true), C.bigint(-1), C.date(3), C.bigint(5)];
  const res = x.process(page(cols, [values, values.map(() => null), values.map(() => new Uint8Array(0))]));
  const rowsSec = res.find((sec) => sec.kind === "rows");
  assert.ok(rowsSec, JSON.stringify(res));
  const got = rowsSec.rows.map((r) => `${text(r[0]) === null ? "" : new DataView(r[0].buffer).getInt32(0)}:${text(r[1])}=${text(r[2])}`);
  const want = [];
  const shown = ["-2", "-300", "-70000", "-1099511627776", "f3fc00000", "dbfd0000000000000", "true", "-1", String(2 ** 31 + 3), "5"];
  for (let i = 0; i < 3; i++) {
    for (let c = cols.length - 1; c >= 0; c--) {
      const zero = cols[c][1] === TY.float ? "f0" : cols[c][1] === TY.double ? "d0" : cols[c][1] === TY.boolean ? "false" : "0";
      want.push(`${i}:${cols[c][0]}=${i === 0 ? shown[c] : i === 1 ? "NULL" : "EMPTY:" + zero}`);
    }
  }
  assert.deepEqual(got, want);
});

test("selection, routes, rows, flush, snapshot and restore", async () => {
  const x = await exerciser();
  assert.equal(x.init([["mode", "select"]]), null);
  const rows = [0, 1, 2, 3, 4].map((i) => [C.int(i)]);
  const res = x.process(page([["i", TY.int]], rows));
  assert.deepEqual(res, [
    { kind: "select", output: "", kept: [0, 2, 4] },
    { kind: "select", output: "audit", kept: [0, 3] },
  ]);
  assert.equal(x.process(page([["i", TY.int]], [])), null, "0 rows: pass through");
  const snap = x.snapshot();
  assert.deepEqual(Array.from(snap), [2, 0, 0, 0, 0, 0, 0, 0]);
  const y = await exerciser();
  y.init([["mode", "select"]]);
  assert.equal(y.restore(snap), null);
  assert.deepEqual(y.restore(Uint8Array.of(1)), [{ kind: "error", row: -1, message: "bad state of 1 bytes" }]);
  const f = y.flush();
  assert.equal(f[0].output, "stats");
  assert.deepEqual(Array.from(f[0].rows[0][0]), [0, 0, 0, 0, 0, 0, 0, 2]);
});

test("a plugin without restore accepts empty state and refuses any other", () => {
  // filter implements no restore: the SDK's default answers (ABI.md section 5).
  const fl = new Instance(readFileSync("../examples/filter/assemblyscript/filter.wasm"));
  assert.equal(fl.init([["column", "age"], ["op", "is_null"]]), null);
  assert.equal(fl.snapshot().length, 0, "no state");
  assert.equal(fl.restore(new Uint8Array(0)), null);
  assert.deepEqual(fl.restore(Uint8Array.of(1, 2, 3)), [{ kind: "error", row: -1,
    message: "sluice sdk: plugin cannot restore state: it implements no restore, so the 3 bytes of state of the instance it replaces would be lost" }]);
  assert.deepEqual(fl.logs, []);
});

test("row writer encodes every type and keeps errors to endRow", async () => {
  const x = await exerciser();
  x.init([["mode", "write"]]);
  const res = x.process(page([["i", TY.int]], [[C.int(0)]]));
  assert.equal(res.length, 1);
  assert.equal(res[0].kind, "rows");
  assert.equal(res[0].output, "");
  assert.equal(res[0].rows.length, 1);
  const r = res[0].rows[0].map((c) => (c === null ? null : Array.from(c)));
  assert.deepEqual(r, [
    [255, 255, 255, 254], [255, 255, 255, 255, 255, 255, 255, 253], [255, 252], [251], Array.from(C.float(1.5)),
    Array.from(C.double(-2.25)), [1], [0xc3, 0xa9], [0xca, 0xfe], [255, 255, 255, 255, 255, 255, 255, 255],
    [128, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], Array.from({ length: 16 }, (_, i) => i), null, [0, 0, 0, 0, 0, 0, 0, 9],
  ]);
  const m = await exerciser();
  m.init([["mode", "mismatch"]]);
  assert.match(m.process(page([["i", TY.int]], [[C.int(0)]]))[0].message, /^sluice sdk: rows were both selected/);
});

test("config and lifecycle errors", async () => {
  let x = await exerciser();
  assert.deepEqual(x.init([["mode", "dump"], ["zz", "1"]]), [{ kind: "error", row: -1, message: 'unknown config key "zz"' }]);
  x = await exerciser();
  assert.deepEqual(x.init([["mode", "a"], ["mode", "b"]]), [{ kind: "error", row: -1, message: 'config key "mode" must have one value, got 2' }]);
  x = await exerciser();
  assert.deepEqual(x.init([]), [{ kind: "error", row: -1, message: 'missing config key "mode"' }]);
  x = await exerciser();
  assert.deepEqual(x.init([["mode", "dump"], ["opt.n", "x"]]), [{ kind: "error", row: -1, message: 'config key "opt.n": "x" is not an integer' }]);
  x = await exerciser();
  assert.deepEqual(x.process(page([], [])), [{ kind: "error", row: -1, message: "sluice sdk: called before a successful sluice_init" }]);
  assert.equal(x.init([["mode", "dump"]]), null);
  assert.deepEqual(x.init([["mode", "dump"]]), [{ kind: "error", row: -1, message: "sluice sdk: sluice_init called twice" }]);
});

test("decimal parsing is correctly rounded (oracle: V8's Number)", async () => {
  const x = await exerciser();
  const parse = (s) => x.x.test_parse_f64(...x.input(enc.encode(s)));
  const cases = ["0.1", "1e23", "2.2250738585072011e-308", "4.9e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
    "9007199254740993", "0.1000000000000000055511151231257827021181583404541015625", "123456789012345678901234567890e-10",
    "1." + "0".repeat(900) + "1", "9".repeat(400) + "e-400", ".5", "5.", "-0", "+12e+3"];
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 3000; i++) {
    const digits = Array.from({ length: 1 + Math.floor(rnd() * 25) }, () => Math.floor(rnd() * 10)).join("");
    const dot = Math.floor(rnd() * (digits.length + 1));
    cases.push(`${digits.slice(0, dot)}.${digits.slice(dot)}e${Math.floor(rnd() * 660) - 340}`);
  }
  for (const s of cases) {
    const want = Number(s);
    const got = parse(s);
    if (Number.isFinite(want)) assert.ok(Object.is(got, want), `${s}: got ${got}, want ${want}`);
    else assert.equal(got, Infinity, s);
  }
  for (const s of ["", ".", "e5", "1e", "inf", "0x10", "1_0", " 1"]) assert.ok(Number.isNaN(parse(s)), s);
  const parseI = (s) => [x.x.test_parse_i64(...x.input(enc.encode(s))), x.x.parsedI64.value];
  assert.deepEqual(parseI("-9223372036854775808"), [1, -9223372036854775808n]);
  assert.deepEqual(parseI("+0009223372036854775807"), [1, 9223372036854775807n]);
  assert.deepEqual(parseI("9223372036854775808")[0], 2);
  assert.deepEqual(parseI("1.0")[0], 0);
});

test("example builds follow the README examples", () => {
  const load = (name) => new Instance(readFileSync(`../examples/${name}/assemblyscript/${name}.wasm`));
  // count_by: README example, snapshot bytes included.
  const cb = load("count_by");
  assert.equal(cb.init([["column", "country"]]), null);
  const countries = page([["country", TY.text]], [[C.text("FR")], [C.text("DE")], [null], [C.text("FR")]]);
  assert.deepEqual(cb.process(countries), []);
  assert.equal(Buffer.from(cb.snapshot()).toString("hex"),
    "53434231" + "07000000" + "636f756e747279" + "03000000" + "ffffffff" + "0100000000000000" +
    "02000000" + "4445" + "0100000000000000" + "02000000" + "4652" + "0200000000000000");
  const f = cb.flush()[0];
  assert.deepEqual(f.rows.map((r) => [text(r[0]), Number(new DataView(r[1].buffer).getBigInt64(0))]), [[null, 1], ["DE", 1], ["FR", 2]]);
  // redact: README email table.
  const rd = load("redact");
  assert.equal(rd.init([["columns", "e"], ["mode", "email"]]), null);
  const cells = ["john.doe@example.com", "élodie@exemple.fr", "a@b@c.org", "@example.com", "not-an-email", "", "j***@example.com"];
  const out = rd.process(page([["e", TY.text]], [...cells.map((c) => [C.text(c)]), [null]]));
  assert.deepEqual(out[0].rows.map((r) => text(r[0])),
    ["j***@example.com", "é***@exemple.fr", "a***@c.org", "***@example.com", "***", "***", "j***@example.com", null]);
  // filter: README examples.
  const fl = load("filter");
  assert.equal(fl.init([["column", "age"], ["op", ">="], ["value", "18"]]), null);
  assert.deepEqual(fl.process(page([["age", TY.int]], [[C.int(17)], [C.int(18)], [null], [new Uint8Array(0)]])), [{ kind: "select", output: "", kept: [1] }]);
  const ft = load("filter");
  ft.init([["column", "age"], ["op", "=="], ["value", "200"]]);
  assert.deepEqual(ft.process(page([["age", TY.tinyint]], [])), [{ kind: "error", row: -1, message: 'filter: value "200" is out of range for tinyint' }]);
  // project: README example.
  const pr = load("project");
  assert.equal(pr.init([["columns", "id"], ["columns", "email:contact"], ["compute", "len:name"]]), null);
  const p = pr.process(page([["id", TY.int], ["name", TY.text], ["email", TY.text]], [[C.int(1), C.text("Zoë"), C.text("z@x")], [C.int(2), null, null]]));
  assert.deepEqual(p[0].cols, [["id", 9], ["contact", 0xd], ["name_len", 9]]);
  assert.deepEqual(p[0].rows.map((r) => r.map((c) => (c === null ? null : Array.from(c)))), [[[0, 0, 0, 1], [122, 64, 120], [0, 0, 0, 3]], [[0, 0, 0, 2], null, null]]);
});
