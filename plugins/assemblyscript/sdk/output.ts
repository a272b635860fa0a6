// What a plugin sends back: row selection, rows for outputs, and the "SLR1" result.

import { PluginError } from "./error";
import { setError, currentError, currentFault } from "./state";
import { Schema, Type, TypeId } from "./types";
import { ByteWriter } from "./wire";
import { Page, Row } from "./page";
import { MAX_TIME } from "./cell";

/** The magic of a result, "SLR1" in memory order. */
export const RESULT_MAGIC: u32 = 0x31524C53;
/** The default output: the next plugin in the chain, or the stream's default sink. */
export const DEFAULT_OUTPUT = "";
/** The most rows one ROWS section carries (the host's limit); more become several. */
export const MAX_SECTION_ROWS: i32 = 1000000;

const KIND_SELECT: u32 = 1;
const KIND_ROWS: u32 = 2;
const KIND_ERROR: u32 = 3;

class Bitmap {
  buf: ArrayBuffer = new ArrayBuffer(16);
  n: i32 = 0; // bytes in use

  reset(nrows: i32, fill: u8): void {
    const n = (nrows + 7) >> 3;
    if (n > this.buf.byteLength) this.buf = new ArrayBuffer(n);
    this.n = n;
    memory.fill(changetype<usize>(this.buf), fill, <usize>n);
    if (fill != 0 && (nrows & 7) != 0) {
      store<u8>(changetype<usize>(this.buf) + <usize>(n - 1), <u8>((<i32>1 << (nrows & 7)) - 1));
    }
  }

  @inline set(i: i32, v: bool): void {
    const p = changetype<usize>(this.buf) + <usize>(i >> 3);
    const m = <u8>(<i32>1 << (i & 7));
    store<u8>(p, v ? load<u8>(p) | m : load<u8>(p) & ~m);
  }

  @inline get(i: i32): bool {
    return (load<u8>(changetype<usize>(this.buf) + <usize>(i >> 3)) & <u8>(<i32>1 << (i & 7))) != 0;
  }

  /** The number of set bits among the first nrows; eight bytes per step. */
  count(nrows: i32): i32 {
    const p = changetype<usize>(this.buf);
    const full = <usize>(nrows >> 3);
    let c: i32 = 0;
    let i: usize = 0;
    for (; full - i >= 8; i += 8) c += <i32>popcnt<u64>(load<u64>(p + i));
    for (; i < full; i++) c += <i32>popcnt<u32>(<u32>load<u8>(p + i));
    if ((nrows & 7) != 0) c += <i32>popcnt<u32>(<u32>load<u8>(p + full) & ((<u32>1 << (nrows & 7)) - 1));
    return c;
  }
}

// Aborts on an Output call outside process or with a row out of range (a
// function of its own, so that the callers' hot paths build no strings).
function badRowIndex(op: string, i: i32, nrows: i32): void {
  if (nrows < 0) abort("sluice: Output." + op + " outside process (no input page)");
  abort("sluice: Output." + op + "(" + i.toString() + ") on a page of " + nrows.toString() + " rows");
}

// Sets the first k bits of bitmap byte g to those of b, leaving the others.
function keepBits(bits: usize, g: i32, b: u32, k: i32): void {
  const done = (<u32>1 << k) - 1;
  store<u8>(bits + <usize>g, <u8>((<u32>load<u8>(bits + <usize>g) & ~done) | b));
}

class Route {
  output: string = "";
  bits: Bitmap = new Bitmap();
}

class RowsSection {
  output: string = "";
  schema: Schema = new Schema();
  offsets: ByteWriter = new ByteWriter(64);
  data: ByteWriter = new ByteWriter(256);
  /** A row was begun and not ended or cancelled. */
  unfinished: bool = false;

  get nrows(): i32 { return (this.offsets.len >> 2) - 1; }
  offset(i: i32): u32 { return load<u32>(this.offsets.ptr + (<usize>i << 2)); }
}

/**
 * Collects what a plugin sends for one call.
 *
 * - Selection on the default output, without copying: keep, drop, setKept, keepAll,
 *   dropAll. A plugin that neither selects nor writes rows to the default output
 *   passes every input row on unchanged.
 * - Input rows to a named output, without copying: route.
 * - New rows with any schema to any output: rows (a RowWriter). Rows written to the
 *   default output replace the input rows, unless a selection was made too (then the
 *   selected rows come first and the written rows must have the input schema).
 *
 * An Output is valid only during the call it was given to.
 */
export class Output {
  /** Input rows (-1 in flush). */
  nrows: i32 = -1;
  input: Schema | null = null;
  private touched: bool = false;
  private bits: Bitmap = new Bitmap();
  private routes: Route[] = [];
  private nroutes: i32 = 0;
  private sections: RowsSection[] = [];
  private nsections: i32 = 0;

  /** Prepares for a call with nrows input rows of schema input (-1, null: flush). */
  reset(nrows: i32, input: Schema | null): void {
    this.nrows = nrows;
    this.input = input;
    this.touched = false;
    this.nroutes = 0;
    this.nsections = 0;
  }

  @inline private check(op: string, i: i32): void {
    if (this.nrows < 0 || <u32>i >= <u32>this.nrows) badRowIndex(op, i, this.nrows);
  }

  private touch(): void {
    if (!this.touched) {
      this.touched = true;
      this.bits.reset(this.nrows, 0xFF);
    }
  }

  /** Keeps input row i on the default output (rows are kept unless dropped). */
  keep(i: i32): void { this.setKept(i, true); }
  /** Drops input row i from the default output. */
  drop(i: i32): void { this.setKept(i, false); }
  /** Keeps (true) or drops (false) input row i. */
  setKept(i: i32, keep: bool): void {
    // The common case makes no call, so it needs no shadow-stack frame (which
    // costs more than the rest: see cellPtr in page.ts).
    if (!this.touched || <u32>i >= <u32>this.nrows) {
      this.setKeptFirst(i, keep);
      return;
    }
    this.bits.set(i, keep);
  }

  // setKept of the first row selected in this call, or of a bad row index.
  private setKeptFirst(i: i32, keep: bool): void {
    this.check("setKept", i);
    this.touch();
    this.bits.set(i, keep);
  }
  /**
   * Keeps the rows of page (this call's input page) for which keep(ctx, row)
   * returns true and drops the others, visiting them in order; stops after the
   * first row that leaves an error recorded (page.err), which the plugin then
   * returns. The same as calling setKept for each row, but it fills the
   * selection a byte (eight rows) at a time: the host checks for timeouts on
   * every loop iteration of a plugin, so a filter's row loop is cheapest written
   * this way. AssemblyScript has no closures: ctx carries the state keep needs.
   *
   *   out.keepWhere(page, this, (p: Adults, row: Row): bool => !row.isNull(p.col) && row.int(p.col) >= 18);
   *   return page.err;
   */
  keepWhere<T>(page: Page, ctx: T, keep: (ctx: T, row: Row) => bool): void {
    const n = this.nrows;
    if (n < 0) abort("sluice: Output.keepWhere outside process (no input page)");
    if (page.numRows != n) abort("sluice: Output.keepWhere with a page of another call");
    this.touch();
    const bits = changetype<usize>(this.bits.buf);
    const full = n >> 3;
    for (let g = 0; g < full; g++) {
      const base = g << 3;
      let b: u32 = 0;
      // Eight rows per iteration, written out.
      if (keep(ctx, page.row(base))) b |= 1;
      if (currentError() !== null) { keepBits(bits, g, b, 1); return; }
      if (keep(ctx, page.row(base + 1))) b |= 2;
      if (currentError() !== null) { keepBits(bits, g, b, 2); return; }
      if (keep(ctx, page.row(base + 2))) b |= 4;
      if (currentError() !== null) { keepBits(bits, g, b, 3); return; }
      if (keep(ctx, page.row(base + 3))) b |= 8;
      if (currentError() !== null) { keepBits(bits, g, b, 4); return; }
      if (keep(ctx, page.row(base + 4))) b |= 16;
      if (currentError() !== null) { keepBits(bits, g, b, 5); return; }
      if (keep(ctx, page.row(base + 5))) b |= 32;
      if (currentError() !== null) { keepBits(bits, g, b, 6); return; }
      if (keep(ctx, page.row(base + 6))) b |= 64;
      if (currentError() !== null) { keepBits(bits, g, b, 7); return; }
      if (keep(ctx, page.row(base + 7))) b |= 128;
      store<u8>(bits + <usize>g, <u8>b);
      if (currentError() !== null) return;
    }
    for (let i = full << 3; i < n; i++) {
      this.bits.set(i, keep(ctx, page.row(i)));
      if (currentError() !== null) return;
    }
  }

  /** Whether input row i is currently kept. */
  isKept(i: i32): bool {
    this.check("isKept", i);
    return !this.touched || this.bits.get(i);
  }
  /** Keeps every input row. */
  keepAll(): void {
    if (this.nrows < 0) abort("sluice: Output.keepAll outside process (no input page)");
    this.touched = true;
    this.bits.reset(this.nrows, 0xFF);
  }
  /** Drops every input row; keep selects some back. */
  dropAll(): void {
    if (this.nrows < 0) abort("sluice: Output.dropAll outside process (no input page)");
    this.touched = true;
    this.bits.reset(this.nrows, 0);
  }

  /**
   * Sends input row i, unchanged and without copying, to the named output (not the
   * default output: use keep). It does not change the default output's selection.
   */
  route(output: string, i: i32): void {
    if (output.length == 0) abort("sluice: Output.route to the default output: use keep/drop");
    this.check("route", i);
    let r: Route | null = null;
    for (let k = 0; k < this.nroutes; k++) {
      if (this.routes[k].output == output) { r = this.routes[k]; break; }
    }
    if (r === null) {
      if (this.nroutes == this.routes.length) this.routes.push(new Route());
      r = this.routes[this.nroutes++];
      r.output = output;
      r.bits.reset(this.nrows, 0);
    }
    r.bits.set(i, true);
  }

  /**
   * The writer of rows of schema to output ("" = default). All rows written to one
   * output in one call share one schema: another schema records the error
   * `output "<name>": schema (...) differs from the schema already written to it in
   * this call (...)` and returns a writer whose endRow fails.
   */
  rows(output: string, schema: Schema): RowWriter {
    for (let k = 0; k < this.nsections; k++) {
      const s = this.sections[k];
      if (s.output == output) {
        if (!s.schema.equals(schema)) {
          const e = new PluginError("output \"" + output + "\": schema (" + schema.toString() +
            ") differs from the schema already written to it in this call (" + s.schema.toString() + ")");
          setError(e);
          return new RowWriter(s, e);
        }
        return new RowWriter(s, null);
      }
    }
    const bad = schema.validate();
    if (this.nsections == this.sections.length) this.sections.push(new RowsSection());
    const s = this.sections[this.nsections++];
    s.output = output;
    s.schema = schema;
    s.offsets.reset();
    s.offsets.u32(0);
    s.data.reset();
    s.unfinished = false;
    if (bad !== null) {
      const e = new PluginError("output \"" + output + "\": " + bad);
      setError(e);
      return new RowWriter(s, e);
    }
    return new RowWriter(s, null);
  }

  /**
   * Encodes the result into w (reset first). Leaves w empty for the empty result
   * (handle 0): every input row passes unchanged, or flush wrote nothing. The
   * decisions are those of the Go SDK, so equal plugins give identical bytes.
   */
  encode(w: ByteWriter): PluginError | null {
    w.reset();
    let defaultRows = false;
    for (let k = 0; k < this.nsections; k++) {
      const s = this.sections[k];
      if (s.unfinished) return new PluginError("output \"" + s.output + "\": a row was begun and neither ended nor cancelled");
      if (s.output.length == 0) {
        defaultRows = true;
        if (this.touched && (this.input === null || !s.schema.equals(this.input!))) {
          return new PluginError("sluice sdk: rows were both selected (keep/drop) and written to the default output with another schema (" +
            s.schema.toString() + ", input " + (this.input !== null ? this.input!.toString() : "") + "); one output has one schema per call");
        }
      }
    }
    const others = this.nroutes + this.nsections;
    let select = false;
    if (this.nrows < 0) {
      if (others == 0) return null;
    } else if (this.touched) {
      const kept = this.bits.count(this.nrows);
      if (kept == this.nrows && others == 0) return null;
      select = defaultRows || kept > 0;
    } else if (others == 0) {
      return null;
    } else if (!defaultRows) {
      this.touch(); // only named outputs were written: every row passes
      select = true;
    }
    let nsec = this.nroutes + (select ? 1 : 0);
    for (let k = 0; k < this.nsections; k++) {
      const n = this.sections[k].nrows;
      nsec += n == 0 ? 1 : (n + MAX_SECTION_ROWS - 1) / MAX_SECTION_ROWS;
    }
    w.u32(RESULT_MAGIC);
    w.u32(<u32>nsec);
    if (select) putSelect(w, DEFAULT_OUTPUT, this.nrows, this.bits);
    for (let k = 0; k < this.nroutes; k++) putSelect(w, this.routes[k].output, this.nrows, this.routes[k].bits);
    for (let k = 0; k < this.nsections; k++) {
      const s = this.sections[k];
      const nrows = s.nrows;
      let first = 0;
      do {
        const last = min(first + MAX_SECTION_ROWS, nrows);
        const base = s.offset(first);
        w.u8(KIND_ROWS);
        w.str(s.output);
        w.u32(<u32>s.schema.length);
        s.schema.encodeColumns(w);
        w.u32(<u32>(last - first));
        for (let i = first; i <= last; i++) w.u32(s.offset(i) - base);
        w.bytes(s.data.ptr + <usize>base, <i32>(s.offset(last) - base));
        first = last;
      } while (first < nrows);
    }
    return null;
  }
}

function putSelect(w: ByteWriter, output: string, nrows: i32, bits: Bitmap): void {
  w.u8(KIND_SELECT);
  w.str(output);
  w.u32(<u32>nrows);
  w.bytes(changetype<usize>(bits.buf), (nrows + 7) >> 3);
}

/** Encodes a result of one ERROR section into w (reset first). */
export function encodeError(w: ByteWriter, e: PluginError): void {
  w.reset();
  w.u32(RESULT_MAGIC);
  w.u32(1);
  w.u8(KIND_ERROR);
  w.i64(e.row);
  w.str(e.message);
}

/**
 * Writes rows to one output, cell by cell in column order, then endRow:
 *
 *   const w = out.rows("counts", schema);
 *   w.text(key).bigint(n);
 *   const err = w.endRow(); if (err) return err;
 *
 * The cell methods check the column's type and return the writer, so calls chain;
 * the first problem is kept and returned by endRow, which then discards the row.
 */
export class RowWriter {
  private sec: RowsSection;
  private col: i32 = 0;
  private rowStart: i32 = 0;
  private err: PluginError | null;
  /** The schema error this writer was made with, if any: every endRow returns it. */
  private fatal: PluginError | null;
  /** The last input schema given to copyRow and whether it equals this output's. */
  private seen: Schema | null = null;
  private seenEqual: bool = false;

  constructor(sec: RowsSection, fatal: PluginError | null) {
    this.sec = sec;
    this.fatal = fatal;
    this.err = fatal;
    this.rowStart = sec.data.len;
  }

  /** The output's schema. */
  get schema(): Schema { return this.sec.schema; }
  /** Rows written to this output in this call. */
  get numRows(): i32 { return this.sec.nrows; }

  private next(what: string, ok: bool, want: string): bool {
    if (this.err !== null) return false;
    this.sec.unfinished = true;
    const cols = this.sec.schema.columns;
    if (this.col >= cols.length) {
      this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() + ": " + what +
        " for column " + (this.col + 1).toString() + ", but the schema has " + cols.length.toString() + " columns");
      return false;
    }
    if (!ok) {
      const c = cols[this.col];
      this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() + ": " + what +
        ": column \"" + c.name + "\" has type " + c.type.toString() + ", want " + want);
      return false;
    }
    return true;
  }

  @inline private ty(): i32 { return this.sec.schema.columns[this.col].type.id; }

  private cellLen(n: i32): void {
    this.sec.data.i32(n);
    this.col++;
  }

  /** A NULL cell (any type). */
  null(): RowWriter {
    if (this.next("null", true, "")) this.cellLen(-1);
    return this;
  }

  /** Raw cell bytes (len -1 = NULL): the CQL encoding of the column's type, unchecked. */
  raw(ptr: usize, len: i32): RowWriter {
    if (!this.next("raw", true, "")) return this;
    this.sec.data.i32(len);
    if (len > 0) this.sec.data.bytes(ptr, len);
    this.col++;
    return this;
  }

  /** Raw cell bytes from an array (null = NULL), unchecked. */
  rawBytes(b: Uint8Array | null): RowWriter {
    if (b === null) return this.null();
    return this.raw(b.dataStart, b.length);
  }

  /** Copies the cell of column col of an input row, as it is (types not compared). */
  copy(row: Row, col: i32): RowWriter {
    return this.raw(row.ptr(col), row.len(col));
  }

  /** Copies every cell of an input row (its schema must be this output's). */
  copyRow(row: Row): RowWriter {
    const s = row.page.schema;
    if (s !== this.seen) {
      this.seen = s;
      this.seenEqual = s.equals(this.sec.schema);
    }
    if (this.col == 0 && this.err === null && this.seenEqual) {
      if (!row.page.checkRow(row.index)) {
        this.sec.unfinished = true;
        this.err = currentFault();
        return this;
      }
      const a = <usize>load<u32>(row.page.offsets + (<usize>row.index << 2));
      const b = <usize>load<u32>(row.page.offsets + (<usize>(row.index + 1) << 2));
      this.sec.unfinished = true;
      this.sec.data.bytes(row.page.rowsStart + a, <i32>(b - a));
      this.col = this.sec.schema.length;
      return this;
    }
    for (let c = 0; c < row.page.numCols; c++) this.copy(row, c);
    return this;
  }

  int(v: i32): RowWriter {
    if (this.next("int", this.ty() == TypeId.Int, "int")) { this.cellLen(4); this.sec.data.be32(<u32>v); }
    return this;
  }
  /** bigint or counter. */
  bigint(v: i64): RowWriter {
    if (this.next("bigint", this.ty() == TypeId.Bigint || this.ty() == TypeId.Counter, "bigint or counter")) { this.cellLen(8); this.sec.data.be64(<u64>v); }
    return this;
  }
  smallint(v: i16): RowWriter {
    if (this.next("smallint", this.ty() == TypeId.Smallint, "smallint")) { this.cellLen(2); this.sec.data.be16(<u32><u16>v); }
    return this;
  }
  tinyint(v: i8): RowWriter {
    if (this.next("tinyint", this.ty() == TypeId.Tinyint, "tinyint")) { this.cellLen(1); this.sec.data.u8(<u32><u8>v); }
    return this;
  }
  float(v: f32): RowWriter {
    if (this.next("float", this.ty() == TypeId.Float, "float")) { this.cellLen(4); this.sec.data.be32(reinterpret<u32>(v)); }
    return this;
  }
  double(v: f64): RowWriter {
    if (this.next("double", this.ty() == TypeId.Double, "double")) { this.cellLen(8); this.sec.data.be64(reinterpret<u64>(v)); }
    return this;
  }
  boolean(v: bool): RowWriter {
    if (this.next("boolean", this.ty() == TypeId.Boolean, "boolean")) { this.cellLen(1); this.sec.data.u8(v ? 1 : 0); }
    return this;
  }
  /** text, or ascii when s is ASCII. */
  text(s: string): RowWriter {
    if (!this.next("text", this.ty() == TypeId.Text || this.ty() == TypeId.Ascii, "text or ascii")) return this;
    if (this.ty() == TypeId.Ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() +
            ": column \"" + this.sec.schema.columns[this.col].name + "\" is ascii, the value is not");
          return this;
        }
      }
    }
    this.cellLen(String.UTF8.byteLength(s));
    this.sec.data.utf8(s);
    return this;
  }
  /** blob (null = NULL). */
  blob(b: Uint8Array | null): RowWriter {
    if (b === null) return this.null();
    if (this.next("blob", this.ty() == TypeId.Blob, "blob")) { this.cellLen(b.length); this.sec.data.bytes(b.dataStart, b.length); }
    return this;
  }
  /** Milliseconds since the Unix epoch. */
  timestamp(ms: i64): RowWriter {
    if (this.next("timestamp", this.ty() == TypeId.Timestamp, "timestamp")) { this.cellLen(8); this.sec.data.be64(<u64>ms); }
    return this;
  }
  /** The unsigned day number (1970-01-01 = DATE_EPOCH). */
  date(days: u32): RowWriter {
    if (this.next("date", this.ty() == TypeId.Date, "date")) { this.cellLen(4); this.sec.data.be32(days); }
    return this;
  }
  /** Nanoseconds since midnight, 0 .. 86399999999999. */
  time(ns: i64): RowWriter {
    if (!this.next("time", this.ty() == TypeId.Time, "time")) return this;
    if (ns < 0 || ns >= MAX_TIME) {
      this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() +
        ": column \"" + this.sec.schema.columns[this.col].name + "\": time of day " + ns.toString() + " ns out of range");
      return this;
    }
    this.cellLen(8);
    this.sec.data.be64(<u64>ns);
    return this;
  }
  /** uuid or timeuuid: 16 bytes (null = NULL). */
  uuid(b: Uint8Array | null): RowWriter {
    if (b === null) return this.null();
    if (!this.next("uuid", this.ty() == TypeId.Uuid || this.ty() == TypeId.Timeuuid, "uuid or timeuuid")) return this;
    if (b.length != 16) {
      this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() + ": uuid of " + b.length.toString() + " bytes");
      return this;
    }
    this.cellLen(16);
    this.sec.data.bytes(b.dataStart, 16);
    return this;
  }

  /**
   * Ends the row. Fails (and discards the row) with the first error of its cells, or
   * when it has fewer cells than the schema has columns.
   */
  endRow(): PluginError | null {
    const cols = this.sec.schema.length;
    if (this.err === null && this.col != cols) {
      this.err = new PluginError("output \"" + this.sec.output + "\": row " + this.sec.nrows.toString() + " has " +
        this.col.toString() + " cells, the schema has " + cols.toString() + " columns");
    }
    const e = this.err;
    if (e !== null) {
      this.cancelRow();
      return e;
    }
    this.sec.offsets.u32(<u32>this.sec.data.len);
    this.sec.unfinished = false;
    this.rowStart = this.sec.data.len;
    this.col = 0;
    return null;
  }

  /** Discards the row being written. */
  cancelRow(): void {
    this.sec.data.len = this.rowStart;
    this.sec.unfinished = false;
    this.col = 0;
    this.err = this.fatal;
  }
}

// ---- dead-letter output (ABI.md, "Dead-letter output") ----
// Kept at the end of the file: abort messages carry source positions, so code
// added above would change the committed example .wasm.


/**
 * Sends input row `row` to the dead-letter output "sluice.rejected" with `reason`,
 * and drops it from the default output: the row's cells unchanged, then the text
 * column sluice_reject_reason. The one way a stream goes on past a bad row, by the
 * plugin's choice, counted by the host; the stream must route "sluice.rejected" to
 * a sink. Only in process.
 */
export function reject(out: Output, row: Row, reason: string): PluginError | null {
  const input = row.page.schema;
  const schema = new Schema();
  for (let c = 0; c < input.columns.length; c++) schema.add(input.columns[c].name, input.columns[c].type);
  schema.add("sluice_reject_reason", Type.text());
  const e = out.rows("sluice.rejected", schema).copyRow(row).text(reason).endRow();
  if (e !== null) return e;
  out.drop(row.index);
  return null;
}
