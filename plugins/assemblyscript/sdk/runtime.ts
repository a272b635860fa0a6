// The ABI engine behind the exports: buffers, page decoding, result encoding. Internal.

import { Config } from "./config";
import { PluginError } from "./error";
import { log, Level } from "./log";
import { Output, encodeError } from "./output";
import { Page, PAGE_MAGIC, ROW_SLOT } from "./page";
import { registeredPlugin, Plugin } from "./plugin";
import { clearError, currentError, takeFault } from "./state";
import { Schema } from "./types";
import { ByteWriter, Reader } from "./wire";

/** The ABI version: major 1, minor 0. */
export const ABI_VERSION: i32 = 0x00010000;

// The input buffer handed out by sluice_alloc. Kept reachable here so the garbage
// collector never frees it while the host writes into it.
let input = new ArrayBuffer(0);
// The result buffer a handle points into, valid until the next call.
let result = new ByteWriter(1024);
// The snapshot bytes a handle points into.
let state: Uint8Array | null = null;
let inited = false;
const out = new Output();
const page = new Page();
// The schema of the last page, its raw descriptor bytes and id.
let schemaRaw = new ByteWriter(256);
let schemaCols: u32 = 0;
let schemaId: u32 = 0;
// The schema id Plugin.prepare last succeeded for (0: none).
let preparedId: u32 = 0;

function handleOf(ptr: usize, len: i32): i64 {
  if (len == 0) return 0;
  return <i64>((<u64>ptr << 32) | <u64><u32>len);
}

function resultHandle(): i64 {
  return handleOf(result.ptr, result.len);
}

function errorHandle(e: PluginError): i64 {
  encodeError(result, e);
  return resultHandle();
}

/** sluice_alloc: room for size bytes of input. */
export function alloc(size: i32): usize {
  if (size < 0) abort("sluice sdk: sluice_alloc(" + size.toString() + ")");
  if (size > input.byteLength || input.byteLength == 0) {
    let cap = input.byteLength * 2;
    if (cap < size) cap = size;
    if (cap < 64) cap = 64;
    input = new ArrayBuffer(cap);
  }
  return changetype<usize>(input);
}

/** Checks that [ptr, ptr+len) is the buffer of the last sluice_alloc. */
function checkInput(ptr: usize, len: i32): PluginError | null {
  if (len == 0) return null;
  if (len < 0 || ptr != changetype<usize>(input) || len > input.byteLength) {
    return new PluginError("sluice sdk: input (ptr 0x" + ptr.toString(16) + ", " + len.toString() +
      " bytes) is not within the " + input.byteLength.toString() + "-byte buffer of the last sluice_alloc");
  }
  return null;
}

function plugin(): Plugin | null {
  return inited ? registeredPlugin() : null;
}

function notInited(): PluginError {
  return new PluginError("sluice sdk: called before a successful sluice_init");
}

/**
 * The error to report: the one the plugin returned, else the first one the SDK
 * recorded in this call (a typed read, column lookup or row writer the plugin did
 * not check), else none.
 */
function outcome(e: PluginError | null): PluginError | null {
  return e !== null ? e : currentError();
}

export function init(ptr: usize, len: i32): i64 {
  clearError();
  result.reset();
  const bad = checkInput(ptr, len);
  if (bad !== null) return errorHandle(bad);
  const p = registeredPlugin();
  if (p === null) return errorHandle(new PluginError("sluice sdk: no plugin registered: call register(new MyPlugin()) at the top level of the entry file"));
  if (inited) return errorHandle(new PluginError("sluice sdk: sluice_init called twice"));
  const holder = new Config();
  const cfg = Config.decode(ptr, <usize>len, holder);
  if (cfg === null) return errorHandle(holder.err!.prefixed("sluice sdk: decode config"));
  const e = outcome(p.init(cfg));
  if (e !== null) return errorHandle(e);
  inited = true;
  return 0;
}

/** Decodes the page at ptr into `page`; returns the problem or null. */
function decodePage(ptr: usize, len: i32): string | null {
  const r = new Reader(ptr, <usize>len, "page");
  const magic = r.u32("magic");
  if (!r.failed && magic != PAGE_MAGIC) {
    return "page: bad magic 0x" + magic.toString(16) + " (want 0x31504c53 \"SLP1\")";
  }
  r.u32("flags");
  const number = r.u64("page number");
  const split = r.u32("split");
  const ncols = r.u32("column count");
  const nrows = r.u32("row count");
  if (r.failed) return r.err;
  // Pages of one stream share a schema: reuse the decoded one when the descriptor
  // bytes are identical (the decoder is deterministic).
  const start = r.ptr;
  const rawLen = <usize>schemaRaw.len;
  if (!(schemaId > 0 && ncols == schemaCols && rawLen <= r.remaining && sameBytes(start, schemaRaw.ptr, rawLen))) {
    const s = Schema.readColumns(r, ncols);
    if (r.failed) return r.err;
    schemaRaw.reset();
    schemaRaw.bytes(start, <i32>(r.ptr - start));
    schemaCols = ncols;
    schemaId++;
    page.schema = s;
  } else {
    r.ptr = start + rawLen;
  }
  if (<u64>nrows + 1 > <u64>(r.remaining / 4)) {
    return "page: " + nrows.toString() + " rows need " + ((<u64>nrows + 1) * 4).toString() + " bytes of offsets, " + r.remaining.toString() + " left";
  }
  const offs = r.ptr;
  const data = offs + (<usize>nrows + 1) * 4;
  const dataLen = r.end - data;
  page.number = number;
  page.split = split;
  page.schemaId = schemaId;
  page.numRows = <i32>nrows;
  page.numCols = <i32>ncols;
  page.offsets = offs;
  page.rowsStart = data;
  page.rowsEnd = r.end;
  page.resetCursor();
  // The offsets: 0 first, the rows area's length last, never decreasing (so every
  // row lies in the rows area). Cells are checked when read (Page.cellAt).
  const pn = number.toString();
  if (load<u32>(offs) != 0) return "page " + pn + ": offsets[0]=" + load<u32>(offs).toString() + ", must be 0";
  const last = load<u32>(offs + <usize>nrows * 4);
  if (<usize>last != dataLen) {
    return "page " + pn + ": offsets[" + nrows.toString() + "]=" + last.toString() + ", must equal the rows area length " + dataLen.toString();
  }
  // Eight offsets per step (the host checks for timeouts on every loop iteration
  // of a plugin), then one by one from the first step that fails.
  let prev: u32 = 0;
  let i: u32 = 0;
  while (nrows - i >= 8) {
    const p = offs + (<usize>i + 1) * 4;
    const o0 = load<u32>(p), o1 = load<u32>(p, 4), o2 = load<u32>(p, 8), o3 = load<u32>(p, 12);
    const o4 = load<u32>(p, 16), o5 = load<u32>(p, 20), o6 = load<u32>(p, 24), o7 = load<u32>(p, 28);
    const bad = (o0 < prev) | (o1 < o0) | (o2 < o1) | (o3 < o2) | (o4 < o3) | (o5 < o4) | (o6 < o5) | (o7 < o6);
    if (bad) break;
    prev = o7;
    i += 8;
  }
  for (; i < nrows; i++) {
    const end = load<u32>(offs + (<usize>i + 1) * 4);
    if (end < prev) return "page " + pn + ": offsets[" + (i + 1).toString() + "]=" + end.toString() + " below offsets[" + i.toString() + "]=" + prev.toString();
    prev = end;
  }
  return null;
}

/** Whether [a, a+n) and [b, b+n) hold the same bytes; eight per step. */
function sameBytes(a: usize, b: usize, n: usize): bool {
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}

export function process(ptr: usize, len: i32): i64 {
  clearError();
  result.reset();
  const bad = checkInput(ptr, len);
  if (bad !== null) return errorHandle(bad);
  const p = plugin();
  if (p === null) return errorHandle(notInited());
  const perr = decodePage(ptr, len);
  if (perr !== null) return errorHandle(new PluginError("sluice sdk: decode page: " + perr));
  out.reset(page.numRows, page.schema);
  if (preparedId != page.schemaId) {
    // Once per new schema; again on the next page after a failure.
    const prep = outcome(p.prepare(page.schema));
    if (prep !== null) return errorHandle(prep);
    preparedId = page.schemaId;
  }
  takeFault();
  store<i32>(ROW_SLOT, -1);
  const pe = p.process(page, out);
  store<i32>(ROW_SLOT, -1);
  // A malformed cell the plugin read is the first problem, whatever it did with
  // the NULL it got.
  const f = takeFault();
  if (f !== null) return errorHandle(f);
  const e = outcome(pe);
  if (e !== null) return errorHandle(e);
  const ee = out.encode(result);
  if (ee !== null) return errorHandle(ee);
  return resultHandle();
}

export function flush(): i64 {
  clearError();
  result.reset();
  const p = plugin();
  if (p === null) return errorHandle(notInited());
  out.reset(-1, null);
  const e = outcome(p.flush(out));
  if (e !== null) return errorHandle(e);
  const ee = out.encode(result);
  if (ee !== null) return errorHandle(ee);
  return resultHandle();
}

export function snapshot(): i64 {
  clearError();
  const p = plugin();
  if (p === null) {
    // sluice_snapshot has no error channel: log, then trap.
    log(Level.Error, "sluice sdk: snapshot: " + notInited().message);
    unreachable();
  }
  state = p!.snapshot();
  const s = state;
  if (s === null) return 0;
  return handleOf(s.dataStart, s.length);
}

export function restore(ptr: usize, len: i32): i64 {
  clearError();
  result.reset();
  const bad = checkInput(ptr, len);
  if (bad !== null) return errorHandle(bad);
  const p = plugin();
  if (p === null) return errorHandle(notInited());
  const b = new Uint8Array(len);
  if (len > 0) memory.copy(b.dataStart, ptr, <usize>len);
  const e = outcome(p.restore(b));
  if (e !== null) return errorHandle(e);
  return 0;
}

/**
 * The module's abort (compile with --use abort=<sdk>/runtime/sluiceAbort): logs the
 * message and location at error level through sluice.log, then traps. It replaces
 * the env.abort import, so the module imports only sluice.log.
 */
export function sluiceAbort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let m = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) m += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(Level.Error, m);
  unreachable();
}
