// The sluice example plugin "redact" in AssemblyScript: it masks the values of text
// columns, either whole ("***") or as emails ("j***@example.com"). Its behaviour is
// specified in plugins/examples/README.md, identically for every SDK language.
//
// Built (from plugins/, by `make assemblyscript-all`; see assemblyscript.mk) with:
//
//   assemblyscript/node_modules/.bin/asc examples/redact/assemblyscript/redact.ts \
//     -o examples/redact/assemblyscript/redact.wasm -O3 --debug --runtime incremental \
//     --use abort=assemblyscript/sdk/runtime/sluiceAbort

import { Config, Output, Page, Plugin, PluginError, TypeId, typeName, register } from "../../../assemblyscript/sdk";

class Redact extends Plugin {
  columns: string[] = [];
  email: bool = false;

  // Which input columns are masked, for the schema id it was computed for.
  schemaId: u32 = 0;
  err: PluginError | null = null;
  masked: bool[] = [];
  // The masked form of the last cell given to mask.
  buf: Uint8Array = new Uint8Array(64);
  bufLen: i32 = 0;

  init(cfg: Config): PluginError | null {
    let e = cfg.unknown(["columns", "mode"]);
    if (e !== null) return e.prefixed("redact");
    e = cfg.single(["mode"]);
    if (e !== null) return e.prefixed("redact");
    this.columns = cfg.all("columns");
    if (this.columns.length == 0) return new PluginError("redact: missing config key \"columns\"");
    for (let i = 0; i < this.columns.length; i++) {
      for (let j = 0; j < i; j++) {
        if (this.columns[j] == this.columns[i]) return new PluginError("redact: column \"" + this.columns[i] + "\" listed twice");
      }
    }
    const mode = cfg.string("mode", "full");
    if (mode == "email") this.email = true;
    else if (mode != "full") return new PluginError("redact: mode \"" + mode + "\" is not email or full");
    return null;
  }

  resolve(page: Page): PluginError | null {
    this.masked = new Array<bool>(page.numCols);
    for (let i = 0; i < this.columns.length; i++) {
      const c = page.requireColumn(this.columns[i]);
      if (c < 0) return page.err!.prefixed("redact");
      const t = page.schema.columns[c].type.id;
      if (t != TypeId.Text && t != TypeId.Ascii) {
        return new PluginError("redact: column \"" + this.columns[i] + "\" has type " + typeName(t) + ", want text or ascii");
      }
      this.masked[c] = true;
    }
    return null;
  }

  // Writes the masked form of n bytes at p into buf (README: redact, "Per page").
  mask(p: usize, n: i32): void {
    if (this.buf.length < n + 3) this.buf = new Uint8Array((n + 3) * 2);
    const d = this.buf.dataStart;
    let at = -1;
    if (this.email) {
      for (let k = n - 1; k >= 0; k--) {
        if (load<u8>(p + <usize>k) == 0x40) { at = k; break; }
      }
    }
    let o = 0;
    if (at >= 0 && at > 0) {
      let m = 1;
      while (m < at && load<u8>(p + <usize>m) >= 0x80 && load<u8>(p + <usize>m) <= 0xBF) m++;
      memory.copy(d, p, <usize>m);
      o = m;
    }
    store<u8>(d + <usize>o, 0x2A);
    store<u8>(d + <usize>o + 1, 0x2A);
    store<u8>(d + <usize>o + 2, 0x2A);
    o += 3;
    if (at >= 0) {
      memory.copy(d + <usize>o, p + <usize>at, <usize>(n - at));
      o += n - at;
    }
    this.bufLen = o;
  }

  process(page: Page, out: Output): PluginError | null {
    if (this.schemaId != page.schemaId) {
      this.schemaId = page.schemaId;
      this.err = this.resolve(page);
    }
    if (this.err !== null) return this.err;
    // First pass: does any cell change? If not, every row passes unchanged.
    let changed = false;
    for (let i = 0; i < page.numRows && !changed; i++) {
      const row = page.row(i);
      for (let c = 0; c < page.numCols; c++) {
        const n = row.len(c);
        if (!this.masked[c] || n < 0) continue;
        this.mask(row.ptr(c), n);
        if (this.bufLen != n || memory.compare(this.buf.dataStart, row.ptr(c), <usize>n) != 0) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) return null;
    const w = out.rows("", page.schema);
    for (let i = 0; i < page.numRows; i++) {
      const row = page.row(i);
      for (let c = 0; c < page.numCols; c++) {
        const n = row.len(c);
        if (!this.masked[c] || n < 0) {
          w.copy(row, c);
          continue;
        }
        this.mask(row.ptr(c), n);
        w.raw(this.buf.dataStart, this.bufLen);
      }
      const e = w.endRow();
      if (e !== null) return e.prefixed("redact");
    }
    return null;
  }
}

register(new Redact());

export * from "../../../assemblyscript/sdk/exports";
