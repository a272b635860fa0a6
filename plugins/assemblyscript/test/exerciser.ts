// A test plugin that exercises the SDK, driven by sdk.test.mjs (node --test).
// config mode = prepare | dump | reject | select | write | unchecked | mismatch | copy | keepwhere | scalars.

import {
  Cell, Config, Elements, Output, Page, Plugin, PluginError, Row, Schema, Type, TypeId, register,
  formatDate, formatTimestamp, formatTime, formatUuid, hexOf, DATE_EPOCH,
  ParseStatus, parseDecimalF64, parseI64, reject,
} from "../sdk";

const DUMP = new Schema().add("row", Type.int()).add("col", Type.text()).add("value", Type.text());
const STATS = new Schema().add("pages", Type.bigint());

function renderParts(e: Elements, open: string, close: string, map: bool): string {
  let s = open;
  const step = map ? 2 : 1;
  for (let i = 0; i < e.length; i += step) {
    if (i > 0) s += ",";
    if (e.names.length > 0 && e.names[i].length > 0) s += e.names[i] + "=";
    s += render(e.at(i));
    if (map) s += ":" + render(e.at(i + 1));
  }
  return s + close;
}

function render(c: Cell): string {
  if (c.isNull) return "NULL";
  const t = c.type.id;
  if (c.isEmpty && !c.type.isText() && t != TypeId.Blob) return "EMPTY";
  switch (t) {
    case TypeId.Tinyint: case TypeId.Smallint: case TypeId.Int: return c.int().toString();
    case TypeId.Bigint: case TypeId.Counter: return c.bigint().toString();
    case TypeId.Float: return "f" + reinterpret<u32>(c.float()).toString(16);
    case TypeId.Double: return "d" + reinterpret<u64>(c.double()).toString(16);
    case TypeId.Boolean: return c.boolean() ? "true" : "false";
    case TypeId.Ascii: case TypeId.Text: { const s = c.text(); return s !== null ? "'" + s + "'" : "BAD"; }
    case TypeId.Blob: case TypeId.Custom: return "0x" + hexOf(c.ptr, c.len);
    case TypeId.Timestamp: return formatTimestamp(c.timestamp());
    case TypeId.Date: return formatDate(<i64>c.date() - DATE_EPOCH);
    case TypeId.Time: return formatTime(c.time());
    case TypeId.Uuid: case TypeId.Timeuuid: return c.uuid() !== null ? formatUuid(c.ptr) : "BAD";
    case TypeId.Inet: { const b = c.inet(); return b !== null ? hexOf(b.dataStart, b.length) : "BAD"; }
    case TypeId.Duration: { const d = c.duration(); return d !== null ? d.toString() : "BAD"; }
    case TypeId.Varint: { const v = c.varint(); return v !== null ? v.toString() : "BAD"; }
    case TypeId.Decimal: { const v = c.decimal(); return v !== null ? v.toString() : "BAD"; }
    case TypeId.List: case TypeId.Set: { const e = c.list(); return e !== null ? renderParts(e, "[", "]", false) : "BAD"; }
    case TypeId.Map: { const e = c.map(); return e !== null ? renderParts(e, "{", "}", true) : "BAD"; }
    case TypeId.Tuple: case TypeId.Udt: { const e = c.fields(); return e !== null ? renderParts(e, "(", ")", false) : "BAD"; }
    case TypeId.Vector: { const e = c.vector(); return e !== null ? renderParts(e, "<", ">", false) : "BAD"; }
  }
  return "?";
}

class Exerciser extends Plugin {
  mode: string = "";
  pages: i64 = 0;
  prepared: string[] = []; // the schemas prepare saw (mode prepare)
  age: i32 = -1;
  seen: i32 = 0; // rows keepwhere looked at without an error

  init(cfg: Config): PluginError | null {
    const e = cfg.unknown(["mode", "opt.*"]);
    if (e !== null) return e;
    const m = cfg.require("mode");
    if (m === null) return cfg.err;
    this.mode = m;
    const n = cfg.int("opt.n", 7);
    if (cfg.err !== null) return cfg.err;
    if (n != 7 && n != 42) return new PluginError("opt.n is " + n.toString());
    return null;
  }

  prepare(schema: Schema): PluginError | null {
    if (this.mode != "prepare") return null;
    let names = "";
    for (let c = 0; c < schema.columns.length; c++) names += (c > 0 ? "," : "") + schema.columns[c].name;
    this.prepared.push(names);
    if (schema.index("bad") >= 0) return new PluginError("prepare: bad schema");
    this.age = schema.index("age");
    return null;
  }

  process(page: Page, out: Output): PluginError | null {
    this.pages++;
    if (this.mode == "prepare") {
      // Rows by prepared index and by name agree; the prepare log is the output.
      const w = out.rows("", new Schema().add("prepared", Type.text()).add("age", Type.int()).add("by_name", Type.int()));
      for (let i = 0; i < page.numRows; i++) {
        const row = page.row(i);
        const e = w.text(this.prepared.join("|")).int(row.int(this.age)).int(row.int("age")).endRow();
        if (e !== null) return e;
      }
      if (page.numRows == 1) page.row(0).int("nope"); // records: column "nope" not found
      return null;
    }
    if (this.mode == "dump") {
      const w = out.rows("dump", DUMP);
      for (let i = 0; i < page.numRows; i++) {
        const row = page.row(i);
        for (let c = 0; c < page.numCols; c++) {
          const s = render(row.cell(c));
          if (page.err !== null) return page.err;
          const e = w.int(i).text(page.schema.columns[c].name).text(s).endRow();
          if (e !== null) return e;
        }
      }
      return null;
    }
    if (this.mode == "reject") {
      for (let i = 1; i < page.numRows; i += 2) {
        const e = reject(out, page.row(i), "odd row " + i.toString());
        if (e !== null) return e;
      }
      return null;
    }
    if (this.mode == "select") {
      for (let i = 0; i < page.numRows; i++) {
        if (i % 2 == 1) out.drop(i);
        if (i % 3 == 0) out.route("audit", i);
      }
      return null;
    }
    if (this.mode == "write") {
      const s = new Schema()
        .add("i", Type.int()).add("b", Type.bigint()).add("s", Type.smallint()).add("t", Type.tinyint())
        .add("f", Type.float()).add("d", Type.double()).add("bo", Type.boolean()).add("tx", Type.text())
        .add("bl", Type.blob()).add("ts", Type.timestamp()).add("dt", Type.date()).add("tm", Type.time())
        .add("u", Type.uuid()).add("n", Type.int()).add("c", Type.counter());
      const u = new Uint8Array(16);
      for (let k = 0; k < 16; k++) u[k] = <u8>k;
      const bl = new Uint8Array(2);
      bl[0] = 0xCA; bl[1] = 0xFE;
      const w = out.rows("", s);
      w.int(-2).bigint(-3).smallint(-4).tinyint(-5).float(1.5).double(-2.25).boolean(true).text("é")
        .blob(bl).timestamp(-1).date(<u32>DATE_EPOCH).time(1).uuid(u).null().bigint(9);
      let e = w.endRow();
      if (e !== null) return e;
      // Errors are kept until endRow, which discards the row.
      e = w.int(1).text("x").endRow();
      if (e === null) return new PluginError("expected a type error");
      e = w.int(1).endRow();
      if (e === null) return new PluginError("expected a short-row error");
      // Only the first row was kept, but both errors were recorded: report nothing
      // but what the plugin returns.
      return null;
    }
    if (this.mode == "unchecked") {
      // A typed read of the wrong type, not checked by the plugin: the SDK reports it.
      if (page.numRows > 0) page.row(0).int(0);
      return null;
    }
    if (this.mode == "mismatch") {
      out.keep(0);
      const w = out.rows("", new Schema().add("x", Type.int()));
      w.int(1).endRow();
      return null;
    }
    if (this.mode == "copy") {
      // Every row copied whole; then the last cell of each row read backwards
      // and forwards (the cell cursor must find the same cells).
      const w = out.rows("", page.schema);
      for (let i = 0; i < page.numRows; i++) {
        const e = w.copyRow(page.row(i)).endRow();
        if (e !== null) return e;
      }
      for (let i = 0; i < page.numRows && page.numCols > 0; i++) {
        const row = page.row(i);
        const last = row.ptr(page.numCols - 1);
        for (let c = page.numCols - 1; c >= 0; c--) row.len(c);
        for (let c = 0; c < page.numCols; c++) {
          if (row.ptr(c) != row.ptr(c) || row.len(c) != row.len(c)) return row.error("cell read twice differs");
        }
        if (row.ptr(page.numCols - 1) != last) return row.error("last cell differs");
      }
      return null;
    }
    if (this.mode == "keepwhere") {
      // Keeps the rows whose int column 0 is not a multiple of 3; -1 is an error.
      out.keepWhere(page, this, (x: Exerciser, row: Row): bool => {
        const v = row.int(0);
        if (v == -1) {
          row.page.recordErr(row.error("minus one"));
          return false;
        }
        x.seen++;
        return !row.isNull(0) && v % 3 != 0;
      });
      return page.err;
    }
    if (this.mode == "scalars") {
      // Column i: every scalar getter on every row, rendered as text.
      const w = out.rows("dump", DUMP);
      for (let i = 0; i < page.numRows; i++) {
        const row = page.row(i);
        for (let c = page.numCols - 1; c >= 0; c--) {
          let s = "";
          switch (page.schema.columns[c].type.id) {
            case TypeId.Tinyint: case TypeId.Smallint: case TypeId.Int: s = row.int(c).toString(); break;
            case TypeId.Bigint: case TypeId.Counter: s = row.bigint(c).toString(); break;
            case TypeId.Float: s = "f" + reinterpret<u32>(row.float(c)).toString(16); break;
            case TypeId.Double: s = "d" + reinterpret<u64>(row.double(c)).toString(16); break;
            case TypeId.Boolean: s = row.boolean(c) ? "true" : "false"; break;
            case TypeId.Timestamp: s = row.timestamp(c).toString(); break;
            case TypeId.Date: s = row.date(c).toString(); break;
            case TypeId.Time: s = row.time(c).toString(); break;
          }
          if (row.isNull(c)) s = "NULL";
          else if (row.isEmpty(c)) s = "EMPTY:" + s;
          if (page.err !== null) return page.err;
          const e = w.int(i).text(page.schema.columns[c].name).text(s).endRow();
          if (e !== null) return e;
        }
      }
      return null;
    }
    return new PluginError("unknown mode " + this.mode);
  }

  flush(out: Output): PluginError | null {
    return out.rows("stats", STATS).bigint(this.pages).endRow();
  }

  snapshot(): Uint8Array | null {
    const b = new Uint8Array(8);
    store<i64>(b.dataStart, this.pages);
    return b;
  }

  restore(state: Uint8Array): PluginError | null {
    if (state.length != 8) return new PluginError("bad state of " + state.length.toString() + " bytes");
    this.pages = load<i64>(state.dataStart);
    return null;
  }
}

register(new Exerciser());

export * from "../sdk/exports";

/** Test helper: parses the UTF-8 string at ptr as a decimal float; NaN on syntax error. */
export function test_parse_f64(ptr: usize, len: i32): f64 {
  const st = new ParseStatus();
  const v = parseDecimalF64(String.UTF8.decodeUnsafe(ptr, <usize>len), st);
  if (!st.ok && !st.range) return NaN;
  return v;
}

/** Test helper: parses an integer; returns 1 ok, 2 range, 0 syntax, and the value in a global. */
export let parsedI64: i64 = 0;
export function test_parse_i64(ptr: usize, len: i32): i32 {
  const st = new ParseStatus();
  parsedI64 = parseI64(String.UTF8.decodeUnsafe(ptr, <usize>len), st);
  return st.ok ? 1 : (st.range ? 2 : 0);
}
