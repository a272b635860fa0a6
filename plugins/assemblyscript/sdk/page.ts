// The input page ("SLP1") and its rows.

import { PluginError } from "./error";
import { setError, setFault, currentError, takeError } from "./state";
import { Schema, Type, TypeId } from "./types";
import {
  Cell, Duration, Varint, Decimal, Elements, copyBytes, MAX_TIME, typeError, invalidCell,
  readText, readUuid, readInet, readDuration, readVarint, readDecimal,
  readList, readMap, readFields, readVector,
} from "./cell";

/** The magic of a page, "SLP1" in memory order. */
export const PAGE_MAGIC: u32 = 0x31504C53;

/**
 * One page of rows, handed to Plugin.process. It points into the input buffer,
 * which the host overwrites before the next call: copy out what must outlive it.
 *
 * The SDK validates the page's structure (header, schema, row offsets) before the
 * plugin sees it, and each cell's framing when the cell is read, so a page costs
 * nothing for the cells a plugin never reads. Reading a row's cells left to right
 * walks the row once (the page remembers where the last cell read was). A cell
 * whose framing is malformed (which the host never sends) reads as NULL and
 * records an error (see err) that fails the call whatever the plugin returns.
 */
/**
 * The row slot (ABI.md 3.1): the index of the row the plugin last took from the page
 * of the current sluice_process (Page.row stores it), -1 outside. After a trap the
 * host reads it, through the sluice_row_slot export, to name the row.
 */
export const ROW_SLOT: usize = memory.data(4);

export class Page {
  /** The 1-based page number within the stream. */
  number: u64 = 0;
  /** The split index (0 when the stream is not split). */
  split: u32 = 0;
  /** The columns. */
  schema: Schema = new Schema();
  /**
   * An id of the schema within this instance: the same while consecutive pages carry
   * the same schema, different when it changes. Key per-schema work on it.
   */
  schemaId: u32 = 0;
  /** Number of rows. */
  numRows: i32 = 0;
  /** The column count. */
  numCols: i32 = 0;
  /** Pointers to the start and end of the rows area. */
  rowsStart: usize = 0;
  rowsEnd: usize = 0;
  /** Pointer to the offsets array (numRows+1 little-endian u32). */
  offsets: usize = 0;

  /**
   * The first error recorded by a typed read, a column lookup or a row writer in this
   * call, or null. If the plugin returns null while an error is recorded, the SDK
   * reports the recorded error.
   */
  get err(): PluginError | null { return currentError(); }

  /**
   * Returns the recorded error and forgets it, for a plugin that handles it itself
   * (for example skips rows with malformed cells instead of failing).
   */
  takeErr(): PluginError | null { return takeError(); }

  /**
   * Records e as this call's error unless one is recorded already (see err):
   * how a callback that returns no error, such as the predicate of
   * Output.keepWhere, reports one.
   */
  recordErr(e: PluginError): void { setError(e); }

  /** The index of the column called name, or -1. */
  column(name: string): i32 { return this.schema.index(name); }

  /**
   * The index of the column called name; when missing, records and returns -1 with
   * the error `column "<name>" not found (columns: a, b, c)` (see err).
   */
  requireColumn(name: string): i32 {
    const i = this.schema.index(name);
    if (i < 0) setError(missingColumn(this.schema, name));
    return i;
  }

  /**
   * Row i (0 <= i < numRows). The SDK keeps one Row per index and reuses them from
   * page to page (a Row is valid only during the call), so a row loop allocates
   * nothing.
   */
  row(i: i32): Row {
    store<i32>(ROW_SLOT, i);
    if (<u32>i < <u32>this.pooled) {
      const r = changetype<Row>(load<usize>(this.poolData + (<usize>i << alignof<usize>())));
      r.index = i;
      return r;
    }
    return this.newRow(i);
  }

  // The Rows of row(): pool[i] has index i; pooled = how many, poolData = their
  // storage (kept here so row() needs no bounds-checked array access).
  private pool: StaticArray<Row> = new StaticArray<Row>(0);
  private pooled: i32 = 0;
  private poolData: usize = 0;

  private newRow(i: i32): Row {
    if (<u32>i >= <u32>this.numRows) pageAbort(0, i, 0);
    let n = this.pool.length * 2;
    if (n < 64) n = 64;
    if (n < this.numRows) n = this.numRows;
    const pool = new StaticArray<Row>(n);
    for (let k = 0; k < n; k++) pool[k] = k < this.pooled ? this.pool[k] : new Row(this, k);
    this.pool = pool;
    this.pooled = n;
    this.poolData = changetype<usize>(pool);
    const r = pool[i];
    r.index = i;
    return r;
  }

  /** Forgets the cell cursor and takes this page's geometry (a new page is in the input buffer). */
  resetCursor(): void {
    curRow = -1;
    gPage = this;
    gRows = this.rowsStart;
    gOffs = this.offsets;
    gNumRows = this.numRows;
    gNumCols = this.numCols;
    gNumber = this.number;
    if (gTypesId == this.schemaId && gTypesId != 0) return;
    const n = this.schema.columns.length;
    let buf = gTypesBuf;
    if (buf === null || n > buf.byteLength) {
      buf = new ArrayBuffer(max(n, 16));
      gTypesBuf = buf;
    }
    gTypes = changetype<usize>(buf);
    for (let c = 0; c < n; c++) store<u8>(gTypes + <usize>c, <u8>this.schema.columns[c].type.id);
    gTypesId = this.schemaId;
  }

  /**
   * Pointer to the i32 length prefix of the cell at (row, col), after checking its
   * framing; a malformed cell gives a NULL cell and records the error.
   */
  @inline cellAt(row: i32, col: i32): usize { return cellPtr(row, col); }

  /**
   * Checks the framing of every cell of row i and that nothing follows the last
   * one; false after recording the fault.
   */
  checkRow(i: i32): bool {
    if (<u32>i >= <u32>this.numRows) pageAbort(0, i, 0);
    const end = this.rowsStart + <usize>load<u32>(this.offsets + ((<usize>i + 1) << 2));
    let after = this.rowsStart + <usize>load<u32>(this.offsets + (<usize>i << 2));
    if (this.numCols > 0) {
      const last = this.cellAt(i, this.numCols - 1);
      if (last == NULL_CELL) return false;
      const n = load<i32>(last);
      after = last + 4 + (n > 0 ? <usize>n : 0);
    }
    if (after != end) {
      setFault(new PluginError("sluice sdk: decode page: page " + this.number.toString() + ": row " + i.toString() + ": " +
        (end - after).toString() + " bytes after the last cell"));
      return false;
    }
    return true;
  }

  /** The bytes of row i in the rows-area layout (a copy; empty for a malformed row). */
  rowBytes(i: i32): Uint8Array {
    if (!this.checkRow(i)) return new Uint8Array(0);
    const a = <usize>load<u32>(this.offsets + (<usize>i << 2));
    const b = <usize>load<u32>(this.offsets + (<usize>(i + 1) << 2));
    return copyBytes(this.rowsStart + a, <i32>(b - a));
  }
}

/** A NULL cell (length -1): what a malformed cell reads as. */
const NULL_CELL: usize = memory.data<i32>([-1]);

// ---- locating cells ----------------------------------------------------------
//
// The hot paths (cellPtr and Row's scalar getters) are written to hold no managed
// reference across a call: AssemblyScript gives such a function a shadow-stack
// frame that it zero-fills on every call, which costs more than the read itself.
// So the current page's geometry and column type ids live in module globals (one
// Page per module), and everything that builds a message is in a cold function
// taking numbers.

let gPage: Page | null = null;
let gRows: usize = 0;
let gOffs: usize = 0;
let gNumRows: i32 = 0;
let gNumCols: i32 = 0;
let gNumber: u64 = 0;
// One u8 type id per column of the current schema (gTypesId: its schemaId).
let gTypesBuf: ArrayBuffer | null = null;
let gTypes: usize = 0;
let gTypesId: u32 = 0;
// The cell cursor: the last cell located (row -1: none).
let curRow: i32 = -1;
let curCol: i32 = 0;
let curPtr: usize = 0;

/** The type id of column col of the current page (col checked by cellPtr). */
@inline function colType(col: i32): i32 { return <i32>load<u8>(gTypes + <usize>col); }

/** The length prefix of cell (row, col) of the current page, checked (see Page.cellAt). */
@inline function cellPtr(row: i32, col: i32): usize {
  if (row == curRow && col == curCol) return curPtr;
  return seekCell(row, col);
}

function seekCell(row: i32, col: i32): usize {
  if (<u32>row >= <u32>gNumRows || <u32>col >= <u32>gNumCols) pageAbort(1, row, col);
  const end = gRows + <usize>load<u32>(gOffs + ((<usize>row + 1) << 2));
  let p: usize;
  let c: i32;
  if (row == curRow && col > curCol) {
    p = curPtr;
    c = curCol;
  } else {
    p = gRows + <usize>load<u32>(gOffs + (<usize>row << 2));
    c = 0;
  }
  // Skip col - c cells, four per step. The host checks for timeouts on every loop
  // iteration of a plugin, entering a loop included: the `if` keeps the common
  // case (few cells to skip) out of the loop entirely.
  if (col - c >= 4) {
    do {
      p = skipCell(p, end, row, c);
      p = skipCell(p, end, row, c + 1);
      p = skipCell(p, end, row, c + 2);
      p = skipCell(p, end, row, c + 3);
      c += 4;
    } while (col - c >= 4);
  }
  if (col - c >= 2) {
    p = skipCell(p, end, row, c);
    p = skipCell(p, end, row, c + 1);
    c += 2;
  }
  if (col - c == 1) p = skipCell(p, end, row, c);
  p = frameCell(p, end, row, col);
  if (p == NULL_CELL) return NULL_CELL;
  curRow = row;
  curCol = col;
  curPtr = p;
  return p;
}

// Checks the framing of the cell at p (column c of row, which ends at end): p, or
// NULL_CELL after recording the fault. NULL_CELL stays NULL_CELL.
@inline function frameCell(p: usize, end: usize, row: i32, c: i32): usize {
  if (p == NULL_CELL) return p;
  if (end - p < 4) return cellFault(row, c, 0, 0, 0);
  const n = load<i32>(p);
  if (n < -1) return cellFault(row, c, 1, n, 0);
  if (n > 0 && <usize>n > end - p - 4) return cellFault(row, c, 2, n, <i32>(end - p - 4));
  return p;
}

// The cell after the one at p.
@inline function skipCell(p: usize, end: usize, row: i32, c: i32): usize {
  p = frameCell(p, end, row, c);
  if (p == NULL_CELL) return p;
  const n = load<i32>(p);
  return p + 4 + (n > 0 ? <usize>n : 0);
}

// Records a malformed cell framing (what: 0 truncated length, 1 negative length
// n, 2 n bytes overrunning the row with left bytes left); returns NULL_CELL.
function cellFault(row: i32, c: i32, what: i32, n: i32, left: i32): usize {
  let m = "truncated cell length";
  if (what == 1) m = "cell length " + n.toString() + " (must be >= -1)";
  if (what == 2) m = "cell of " + n.toString() + " bytes overruns the row (" + left.toString() + " bytes left)";
  setFault(new PluginError("sluice sdk: decode page: page " + gNumber.toString() + ": row " + row.toString() +
    " column " + c.toString() + ": " + m));
  return NULL_CELL;
}

// Aborts on a row (what 0) or cell (what 1) index out of the current page.
function pageAbort(what: i32, row: i32, col: i32): void {
  if (what == 0) abort("sluice: row " + row.toString() + " of a page of " + gNumRows.toString() + " rows");
  abort("sluice: cell (" + row.toString() + ", " + col.toString() + ") of a page of " +
    gNumRows.toString() + " rows and " + gNumCols.toString() + " columns");
}

// Records `column "<name>" has type <type>, want <want>` for column col.
function wrongType(col: i32, want: string): void {
  const c = gPage!.schema.columns[col];
  typeError(c.type, want, c.name);
}

// Records `row <i>: column "<name>": invalid <type> cell of <len> bytes`.
function badCell(row: i32, col: i32, len: i32): void {
  const c = gPage!.schema.columns[col];
  invalidCell(c.type, len, row, c.name);
}

@inline function isIntType(id: i32): bool {
  return id == TypeId.Tinyint || id == TypeId.Smallint || id == TypeId.Int;
}

// Reads an integer cell of type id at q (its length prefix), length n > 0.
@inline function anyInt(id: i32, q: usize, n: i32, row: i32, col: i32): i64 {
  const p = q + 4;
  switch (id) {
    case TypeId.Tinyint: {
      if (n != 1) { badCell(row, col, n); return 0; }
      return <i64>load<i8>(p);
    }
    case TypeId.Smallint: {
      if (n != 2) { badCell(row, col, n); return 0; }
      return <i64><i16>bswap<u16>(load<u16>(p));
    }
    case TypeId.Int: {
      if (n != 4) { badCell(row, col, n); return 0; }
      return <i64><i32>bswap<u32>(load<u32>(p));
    }
  }
  if (n != 8) { badCell(row, col, n); return 0; }
  return <i64>bswap<u64>(load<u64>(p));
}

/** The error of a missing column: `column "<name>" not found (columns: a, b, c)`. */
export function missingColumn(schema: Schema, name: string): PluginError {
  let cols = "";
  for (let i = 0; i < schema.columns.length; i++) {
    if (i > 0) cols += ", ";
    cols += schema.columns[i].name;
  }
  return new PluginError("column \"" + name + "\" not found (columns: " + cols + ")");
}

/**
 * One row of a page. Typed getters take a column index (resolve names once per page
 * with Page.column or requireColumn). They return the zero value for NULL (and for
 * an empty cell of a type without an empty form); a wrong column type or a malformed
 * cell returns the zero value and records an error (Page.err):
 *
 *   column "<name>" has type <type>, want <what>
 *   row <i>: column "<name>": invalid <type> cell of <n> bytes
 */
export class Row {
  constructor(public page: Page, public index: i32) {}

  /**
   * The index of column, given by index (i32) or by name (string): every getter
   * below takes either. A name that is not a column records
   * `column "<name>" not found (columns: a, b)` (Page.err) and gives -1.
   */
  @inline idx<C>(column: C): i32 {
    if (isString<C>()) {
      const name = changetype<string>(column);
      const i = this.page.schema.index(name);
      if (i < 0) setError(missingColumn(this.page.schema, name));
      return i;
    } else if (isInteger<C>()) {
      return <i32>column;
    } else {
      ERROR("a column is an index (i32) or a name (string)");
      return -1;
    }
  }

  @inline private q(col: i32): usize { return cellPtr(this.index, col); }
  @inline private t(col: i32): Type { return this.page.schema.columns[col].type; }
  @inline private c(col: i32): string { return this.page.schema.columns[col].name; }

  /** The cell's length: -1 for NULL, 0 for empty. */
  len<C>(column: C): i32 { const col = this.idx<C>(column); if (col < 0) return -1; return load<i32>(this.q(col)); }
  /** Pointer to the cell's bytes (valid during this call). */
  ptr<C>(column: C): usize { const col = this.idx<C>(column); if (col < 0) return 0; return this.q(col) + 4; }
  isNull<C>(column: C): bool { const col = this.idx<C>(column); if (col < 0) return true; return load<i32>(this.q(col)) < 0; }
  /** Not NULL, zero bytes. */
  isEmpty<C>(column: C): bool { const col = this.idx<C>(column); if (col < 0) return false; return load<i32>(this.q(col)) == 0; }

  /** The cell as a Cell (type, pointer, length). */
  cell(col: i32): Cell { const q = this.q(col); return new Cell(this.t(col), q + 4, load<i32>(q), this.index, this.c(col)); }
  /** A copy of the raw bytes; null for NULL. */
  bytes<C>(column: C): Uint8Array | null { const col = this.idx<C>(column); if (col < 0) return null; const q = this.q(col); const n = load<i32>(q); return n < 0 ? null : copyBytes(q + 4, n); }

  // The scalar getters below hold no managed reference across a call (see cellPtr).

  /** tinyint, smallint or int. */
  int<C>(column: C): i32 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    const id = colType(col);
    if (!isIntType(id)) { wrongType(col, "tinyint, smallint or int"); return 0; }
    const n = load<i32>(q);
    return n > 0 ? <i32>anyInt(id, q, n, row, col) : 0;
  }
  /** Any integer: tinyint, smallint, int, bigint or counter. */
  bigint<C>(column: C): i64 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    const id = colType(col);
    if (!(isIntType(id) || id == TypeId.Bigint || id == TypeId.Counter)) {
      wrongType(col, "tinyint, smallint, int, bigint or counter");
      return 0;
    }
    const n = load<i32>(q);
    return n > 0 ? anyInt(id, q, n, row, col) : 0;
  }
  float<C>(column: C): f32 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    if (colType(col) != TypeId.Float) { wrongType(col, "float"); return 0; }
    const n = load<i32>(q);
    if (n <= 0) return 0;
    if (n != 4) { badCell(row, col, n); return 0; }
    return reinterpret<f32>(bswap<u32>(load<u32>(q, 4)));
  }
  /** double, or float widened. */
  double<C>(column: C): f64 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    const id = colType(col);
    if (id != TypeId.Double && id != TypeId.Float) { wrongType(col, "float or double"); return 0; }
    const n = load<i32>(q);
    if (n <= 0) return 0;
    if (id == TypeId.Float) {
      if (n != 4) { badCell(row, col, n); return 0; }
      return <f64>reinterpret<f32>(bswap<u32>(load<u32>(q, 4)));
    }
    if (n != 8) { badCell(row, col, n); return 0; }
    return reinterpret<f64>(bswap<u64>(load<u64>(q, 4)));
  }
  boolean<C>(column: C): bool { const col = this.idx<C>(column); if (col < 0) return false;
    const row = this.index;
    const q = cellPtr(row, col);
    if (colType(col) != TypeId.Boolean) { wrongType(col, "boolean"); return false; }
    const n = load<i32>(q);
    if (n <= 0) return false;
    if (n != 1) { badCell(row, col, n); return false; }
    return load<u8>(q, 4) != 0;
  }
  /** text or ascii; null for NULL. */
  text<C>(column: C): string | null { const col = this.idx<C>(column); if (col < 0) return null; return readText(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** Milliseconds since the Unix epoch. */
  timestamp<C>(column: C): i64 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    if (colType(col) != TypeId.Timestamp) { wrongType(col, "timestamp"); return 0; }
    const n = load<i32>(q);
    if (n <= 0) return 0;
    if (n != 8) { badCell(row, col, n); return 0; }
    return <i64>bswap<u64>(load<u64>(q, 4));
  }
  /** The unsigned day number (1970-01-01 = DATE_EPOCH). */
  date<C>(column: C): u32 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    if (colType(col) != TypeId.Date) { wrongType(col, "date"); return 0; }
    const n = load<i32>(q);
    if (n <= 0) return 0;
    if (n != 4) { badCell(row, col, n); return 0; }
    return bswap<u32>(load<u32>(q, 4));
  }
  /** Nanoseconds since midnight. */
  time<C>(column: C): i64 { const col = this.idx<C>(column); if (col < 0) return 0;
    const row = this.index;
    const q = cellPtr(row, col);
    if (colType(col) != TypeId.Time) { wrongType(col, "time"); return 0; }
    const n = load<i32>(q);
    if (n <= 0) return 0;
    if (n != 8) { badCell(row, col, n); return 0; }
    const v = <i64>bswap<u64>(load<u64>(q, 4));
    if (v < 0 || v >= MAX_TIME) { badCell(row, col, n); return 0; }
    return v;
  }
  /** uuid or timeuuid: 16 bytes. */
  uuid<C>(column: C): Uint8Array | null { const col = this.idx<C>(column); if (col < 0) return null; return readUuid(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** inet: 4 or 16 bytes. */
  inet<C>(column: C): Uint8Array | null { const col = this.idx<C>(column); if (col < 0) return null; return readInet(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  duration<C>(column: C): Duration | null { const col = this.idx<C>(column); if (col < 0) return null; return readDuration(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  varint<C>(column: C): Varint | null { const col = this.idx<C>(column); if (col < 0) return null; return readVarint(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  decimal<C>(column: C): Decimal | null { const col = this.idx<C>(column); if (col < 0) return null; return readDecimal(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** list or set elements. */
  list<C>(column: C): Elements | null { const col = this.idx<C>(column); if (col < 0) return null; return readList(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** map entries. */
  map<C>(column: C): Elements | null { const col = this.idx<C>(column); if (col < 0) return null; return readMap(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** tuple components or udt fields. */
  fields<C>(column: C): Elements | null { const col = this.idx<C>(column); if (col < 0) return null; return readFields(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }
  /** vector elements. */
  vector<C>(column: C): Elements | null { const col = this.idx<C>(column); if (col < 0) return null; return readVector(this.t(col), this.q(col) + 4, load<i32>(this.q(col)), this.index, this.c(col)); }

  /** An error about this row. */
  error(message: string): PluginError { return PluginError.at(this.index, message); }
}
