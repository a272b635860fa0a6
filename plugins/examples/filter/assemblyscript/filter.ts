// The sluice example plugin "filter" in AssemblyScript: it keeps the rows where a
// column compares true to a configured value, with a SELECT bitmap (no row is
// copied). Its behaviour is specified in plugins/examples/README.md, identically for
// every SDK language.
//
// Built (from plugins/, by `make assemblyscript-all`; see assemblyscript.mk) with:
//
//   assemblyscript/node_modules/.bin/asc examples/filter/assemblyscript/filter.ts \
//     -o examples/filter/assemblyscript/filter.wasm -O3 --debug --runtime incremental \
//     --use abort=assemblyscript/sdk/runtime/sluiceAbort

import {
  Config, Output, Page, Row, Plugin, PluginError, TypeId, typeName, register,
  ParseStatus, isInteger, parseI64, parseDecimalF64, daysFromCivil, DATE_EPOCH,
} from "../../../assemblyscript/sdk";

const OPS: string[] = ["==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"];
// Indexes into OPS: the op is compared as a number per row, not as a string.
const OP_EQ = 0;
const OP_NE = 1;
const OP_LT = 2;
const OP_LE = 3;
const OP_GT = 4;
const OP_IS_NULL = 6;

// The kind of the parsed target.
const T_INT = 1; // i64: integers, timestamp (ms), time (ns)
const T_DATE = 2; // u32
const T_FLOAT = 3;
const T_DOUBLE = 4;
const T_BOOL = 5;
const T_TEXT = 6;

// Parse outcomes.
const P_OK = 0;
const P_UNSUPPORTED = 1;
const P_RANGE = 2;
const P_SYNTAX = 3;

class Filter extends Plugin {
  column: string = "";
  op: string = "";
  opIndex: i32 = 0; // in OPS
  value: string = "";
  nullTest: bool = false;

  // Resolution for the schema id it was computed for (0 = none).
  schemaId: u32 = 0;
  err: PluginError | null = null;
  col: i32 = 0;
  typ: i32 = 0;
  kind: i32 = 0;
  intT: i64 = 0;
  dateT: u32 = 0;
  floatT: f32 = 0;
  doubleT: f64 = 0;
  boolT: bool = false;
  textT: Uint8Array = new Uint8Array(0);

  init(cfg: Config): PluginError | null {
    let e = cfg.unknown(["column", "op", "value"]);
    if (e !== null) return e.prefixed("filter");
    e = cfg.single(["column", "op", "value"]);
    if (e !== null) return e.prefixed("filter");
    const column = cfg.require("column");
    if (column === null) return cfg.err!.prefixed("filter");
    const op = cfg.require("op");
    if (op === null) return cfg.err!.prefixed("filter");
    this.column = column;
    this.op = op;
    this.opIndex = OPS.indexOf(op);
    if (this.opIndex < 0) {
      return new PluginError("filter: op \"" + op + "\" is not one of ==, !=, <, <=, >, >=, is_null, not_null");
    }
    const value = cfg.get("value");
    this.nullTest = op == "is_null" || op == "not_null";
    if (!this.nullTest && value === null) return new PluginError("filter: op \"" + op + "\" needs config key \"value\"");
    if (this.nullTest && value !== null) return new PluginError("filter: op \"" + op + "\" takes no config key \"value\"");
    this.value = value !== null ? value : "";
    return null;
  }

  process(page: Page, out: Output): PluginError | null {
    if (this.schemaId != page.schemaId) {
      this.schemaId = page.schemaId;
      this.err = this.resolve(page);
    }
    if (this.err !== null) return this.err;
    if (this.nullTest) {
      out.keepWhere(page, this, (f: Filter, row: Row): bool => row.isNull(f.col) == (f.opIndex == OP_IS_NULL));
      return null;
    }
    out.keepWhere(page, this, (f: Filter, row: Row): bool => f.matches(row));
    if (page.err !== null) return page.err!.prefixed("filter");
    return null;
  }

  // Finds the column and parses the value for the page's schema.
  resolve(page: Page): PluginError | null {
    const col = page.requireColumn(this.column);
    if (col < 0) return page.err!.prefixed("filter");
    this.col = col;
    this.typ = page.schema.columns[col].type.id;
    if (this.nullTest) return null;
    const st = this.parseValue(this.typ, this.value);
    const t = typeName(this.typ);
    if (st == P_UNSUPPORTED) {
      return new PluginError("filter: column \"" + this.column + "\" has type " + t +
        ", which filter cannot compare (supported: tinyint, smallint, int, bigint, counter, float, double, boolean, ascii, text, timestamp, date, time)");
    }
    if (st == P_RANGE) return new PluginError("filter: value \"" + this.value + "\" is out of range for " + t);
    if (st == P_SYNTAX) return new PluginError("filter: value \"" + this.value + "\" is not a valid " + t);
    return null;
  }

  // Compares row i's cell with the target. NULL and empty (non-text) cells never
  // match; a malformed cell records an error (page.err).
  matches(row: Row): bool {
    const col = this.col;
    const n = row.len(col);
    if (n < 0) return false;
    const op = this.opIndex;
    switch (this.kind) {
      case T_TEXT: {
        const t = this.textT;
        const m = min(n, t.length);
        let c = memory.compare(row.ptr(col), t.dataStart, <usize>m);
        if (c == 0) c = n < t.length ? -1 : (n > t.length ? 1 : 0);
        return compare(op, c);
      }
      case T_INT: {
        let v: i64 = 0;
        if (this.typ == TypeId.Timestamp) v = row.timestamp(col);
        else if (this.typ == TypeId.Time) v = row.time(col);
        else v = row.bigint(col);
        if (n == 0 || row.page.err !== null) return false;
        return compare(op, v < this.intT ? -1 : (v > this.intT ? 1 : 0));
      }
      case T_DATE: {
        const v = row.date(col);
        if (n == 0 || row.page.err !== null) return false;
        return compare(op, v < this.dateT ? -1 : (v > this.dateT ? 1 : 0));
      }
      case T_BOOL: {
        const v = row.boolean(col);
        if (n == 0 || row.page.err !== null) return false;
        const a = v ? 1 : 0;
        const b = this.boolT ? 1 : 0;
        return compare(op, a - b);
      }
      case T_FLOAT: {
        const v = row.float(col);
        if (n == 0 || row.page.err !== null) return false;
        return compareFloat(op, <f64>v, <f64>this.floatT);
      }
      case T_DOUBLE: {
        const v = row.double(col);
        if (n == 0 || row.page.err !== null) return false;
        return compareFloat(op, v, this.doubleT);
      }
    }
    return false;
  }

  // Parses the configured value for a column of type id (README: "Value grammar").
  parseValue(id: i32, s: string): i32 {
    const st = new ParseStatus();
    switch (id) {
      case TypeId.Tinyint: return this.setInt(s, -128, 127);
      case TypeId.Smallint: return this.setInt(s, -32768, 32767);
      case TypeId.Int: return this.setInt(s, -2147483648, 2147483647);
      case TypeId.Bigint: case TypeId.Counter: return this.setInt(s, i64.MIN_VALUE, i64.MAX_VALUE);
      case TypeId.Double: case TypeId.Float: {
        const d = parseDecimalF64(s, st);
        if (!st.ok) return st.range ? P_RANGE : P_SYNTAX;
        if (id == TypeId.Double) {
          this.kind = T_DOUBLE;
          this.doubleT = d;
          return P_OK;
        }
        const f = <f32>d; // nearest float, ties to even
        if (!isFinite(f)) return P_RANGE;
        this.kind = T_FLOAT;
        this.floatT = f;
        return P_OK;
      }
      case TypeId.Boolean: {
        if (s != "true" && s != "false") return P_SYNTAX;
        this.kind = T_BOOL;
        this.boolT = s == "true";
        return P_OK;
      }
      case TypeId.Ascii: case TypeId.Text: {
        this.kind = T_TEXT;
        this.textT = Uint8Array.wrap(String.UTF8.encode(s));
        return P_OK;
      }
      case TypeId.Timestamp: {
        if (isInteger(s)) return this.setInt(s, i64.MIN_VALUE, i64.MAX_VALUE);
        const ms = parseRFC3339(s);
        if (!parsed) return P_SYNTAX;
        this.kind = T_INT;
        this.intT = ms;
        return P_OK;
      }
      case TypeId.Date: {
        const days = parseDate(s);
        if (!parsed) return P_SYNTAX;
        this.kind = T_DATE;
        this.dateT = <u32>(days + DATE_EPOCH);
        return P_OK;
      }
      case TypeId.Time: {
        const ns = parseClock(s);
        if (!parsed || rest != s.length) return P_SYNTAX;
        this.kind = T_INT;
        this.intT = ns;
        return P_OK;
      }
    }
    return P_UNSUPPORTED;
  }

  setInt(s: string, lo: i64, hi: i64): i32 {
    const st = new ParseStatus();
    if (!isInteger(s)) return P_SYNTAX;
    const v = parseI64(s, st);
    if (!st.ok || v < lo || v > hi) return P_RANGE;
    this.kind = T_INT;
    this.intT = v;
    return P_OK;
  }
}

// Applies op to a three-way comparison.
function compare(op: i32, c: i32): bool {
  switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
  }
  return c >= 0; // >=
}

// Applies op with IEEE 754 semantics (NaN compares false except with !=).
function compareFloat(op: i32, a: f64, b: f64): bool {
  switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
  }
  return a >= b;
}

// Outcome of the last parseDate/parseClock/parseRFC3339 call (no tuples in AS).
let parsed = false;
// parseClock: the index just past what it parsed.
let rest = 0;

// Parses exactly n ASCII digits of s at i; -1 when they are not digits.
function num(s: string, i: i32, n: i32): i64 {
  if (i + n > s.length) return -1;
  let v: i64 = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}

function daysIn(y: i64, m: i64): i64 {
  if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
  if (m == 4 || m == 6 || m == 9 || m == 11) return 30;
  return 31;
}

// Parses YYYY-MM-DD (exactly) into days since 1970-01-01; sets parsed.
function parseDate(s: string): i64 {
  parsed = false;
  if (s.length != 10 || s.charCodeAt(4) != 0x2D || s.charCodeAt(7) != 0x2D) return 0;
  const y = num(s, 0, 4);
  const m = num(s, 5, 2);
  const d = num(s, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return 0;
  parsed = true;
  return daysFromCivil(y, m, d);
}

// Parses HH:MM:SS[.F] (F 1 to 9 digits) at the start of s into nanoseconds; sets
// parsed and rest (the index after it).
function parseClock(s: string): i64 {
  parsed = false;
  if (s.length < 8 || s.charCodeAt(2) != 0x3A || s.charCodeAt(5) != 0x3A) return 0;
  const h = num(s, 0, 2);
  const m = num(s, 3, 2);
  const sec = num(s, 6, 2);
  if (h < 0 || m < 0 || sec < 0 || h > 23 || m > 59 || sec > 59) return 0;
  let ns = ((h * 60 + m) * 60 + sec) * 1000000000;
  let i = 8;
  if (i < s.length && s.charCodeAt(i) == 0x2E) {
    i++;
    const fs = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    const nd = i - fs;
    if (nd < 1 || nd > 9) return 0;
    let frac = num(s, fs, nd);
    for (let k = nd; k < 9; k++) frac *= 10;
    ns += frac;
  }
  parsed = true;
  rest = i;
  return ns;
}

// Parses YYYY-MM-DDTHH:MM:SS[.F](Z|±HH:MM) into milliseconds since the epoch; digits
// of F past the third are ignored. Sets parsed.
function parseRFC3339(s: string): i64 {
  if (s.length < 20 || s.charCodeAt(10) != 0x54) { parsed = false; return 0; }
  const days = parseDate(s.substring(0, 10));
  if (!parsed) return 0;
  const tail = s.substring(11);
  const ns = parseClock(tail);
  if (!parsed) return 0;
  parsed = false;
  const r = tail.substring(rest);
  let off: i64 = 0;
  if (r == "Z") {
    off = 0;
  } else if (r.length == 6 && (r.charCodeAt(0) == 0x2B || r.charCodeAt(0) == 0x2D) && r.charCodeAt(3) == 0x3A) {
    const oh = num(r, 1, 2);
    const om = num(r, 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return 0;
    off = (oh * 60 + om) * 60;
    if (r.charCodeAt(0) == 0x2D) off = -off;
  } else {
    return 0;
  }
  parsed = true;
  const secs = days * 86400 + ns / 1000000000 - off;
  return secs * 1000 + (ns % 1000000000) / 1000000;
}

register(new Filter());

export * from "../../../assemblyscript/sdk/exports";
