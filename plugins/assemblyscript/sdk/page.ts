// The input page ("SLP1") and its rows.

import { PluginError } from "./error";
import { setError, currentError, takeError } from "./state";
import { Schema, Type } from "./types";
import {
  Cell, Duration, Varint, Decimal, Elements, copyBytes,
  readInt, readBigint, readFloat, readDouble, readBoolean, readText, readTimestamp,
  readDate, readTime, readUuid, readInet, readDuration, readVarint, readDecimal,
  readList, readMap, readFields, readVector,
} from "./cell";

/** The magic of a page, "SLP1" in memory order. */
export const PAGE_MAGIC: u32 = 0x31504C53;

/**
 * One page of rows, handed to Plugin.process. It points into the input buffer,
 * which the host overwrites before the next call: copy out what must outlive it.
 *
 * The SDK validates the whole page (offsets and every cell length) before the
 * plugin sees it, and indexes every cell, so reading any cell is O(1).
 */
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
  /** Pointer to the cell index: numRows × numCols u32 pointers to each cell's length. */
  cells: usize = 0;
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

  /** Row i (0 <= i < numRows). */
  row(i: i32): Row {
    if (<u32>i >= <u32>this.numRows) {
      abort("sluice: row " + i.toString() + " of a page of " + this.numRows.toString() + " rows");
    }
    return new Row(this, i);
  }

  /** Pointer to the i32 length prefix of the cell at (row, col). */
  @inline cellAt(row: i32, col: i32): usize {
    return <usize>load<u32>(this.cells + ((<usize>row * <usize>this.numCols + <usize>col) << 2));
  }

  /** The bytes of row i in the rows-area layout (a copy). */
  rowBytes(i: i32): Uint8Array {
    const a = <usize>load<u32>(this.offsets + (<usize>i << 2));
    const b = <usize>load<u32>(this.offsets + (<usize>(i + 1) << 2));
    return copyBytes(this.rowsStart + a, <i32>(b - a));
  }
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

  @inline private p(col: i32): usize { return this.page.cellAt(this.index, col) + 4; }
  @inline private n(col: i32): i32 { return load<i32>(this.page.cellAt(this.index, col)); }
  @inline private t(col: i32): Type { return this.page.schema.columns[col].type; }
  @inline private c(col: i32): string { return this.page.schema.columns[col].name; }

  /** The cell's length: -1 for NULL, 0 for empty. */
  len(col: i32): i32 { return this.n(col); }
  /** Pointer to the cell's bytes (valid during this call). */
  ptr(col: i32): usize { return this.p(col); }
  isNull(col: i32): bool { return this.n(col) < 0; }
  /** Not NULL, zero bytes. */
  isEmpty(col: i32): bool { return this.n(col) == 0; }

  /** The cell as a Cell (type, pointer, length). */
  cell(col: i32): Cell { return new Cell(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** A copy of the raw bytes; null for NULL. */
  bytes(col: i32): Uint8Array | null { const n = this.n(col); return n < 0 ? null : copyBytes(this.p(col), n); }

  /** tinyint, smallint or int. */
  int(col: i32): i32 { return readInt(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** Any integer: tinyint, smallint, int, bigint or counter. */
  bigint(col: i32): i64 { return readBigint(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  float(col: i32): f32 { return readFloat(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** double, or float widened. */
  double(col: i32): f64 { return readDouble(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  boolean(col: i32): bool { return readBoolean(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** text or ascii; null for NULL. */
  text(col: i32): string | null { return readText(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** Milliseconds since the Unix epoch. */
  timestamp(col: i32): i64 { return readTimestamp(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** The unsigned day number (1970-01-01 = DATE_EPOCH). */
  date(col: i32): u32 { return readDate(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** Nanoseconds since midnight. */
  time(col: i32): i64 { return readTime(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** uuid or timeuuid: 16 bytes. */
  uuid(col: i32): Uint8Array | null { return readUuid(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** inet: 4 or 16 bytes. */
  inet(col: i32): Uint8Array | null { return readInet(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  duration(col: i32): Duration | null { return readDuration(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  varint(col: i32): Varint | null { return readVarint(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  decimal(col: i32): Decimal | null { return readDecimal(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** list or set elements. */
  list(col: i32): Elements | null { return readList(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** map entries. */
  map(col: i32): Elements | null { return readMap(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** tuple components or udt fields. */
  fields(col: i32): Elements | null { return readFields(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }
  /** vector elements. */
  vector(col: i32): Elements | null { return readVector(this.t(col), this.p(col), this.n(col), this.index, this.c(col)); }

  /** An error about this row. */
  error(message: string): PluginError { return PluginError.at(this.index, message); }
}
