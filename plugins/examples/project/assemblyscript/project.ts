// The sluice example plugin "project" in AssemblyScript: it selects, orders and
// renames columns and appends one computed column (len or upper of a text column),
// emitting new rows on the default output. Its behaviour is specified in
// plugins/examples/README.md, identically for every SDK language.
//
// Built (from plugins/, by `make assemblyscript-all`; see assemblyscript.mk) with:
//
//   assemblyscript/node_modules/.bin/asc examples/project/assemblyscript/project.ts \
//     -o examples/project/assemblyscript/project.wasm -O3 --debug --runtime incremental \
//     --use abort=assemblyscript/sdk/runtime/sluiceAbort

import { Config, Output, Page, Plugin, PluginError, Schema, Type, TypeId, typeName, register } from "../../../assemblyscript/sdk";

const FN_NONE = 0;
const FN_LEN = 1;
const FN_UPPER = 2;

class Project extends Plugin {
  sources: string[] = [];
  names: string[] = [];
  fn: i32 = FN_NONE;
  fnSrc: string = "";
  fnName: string = "";

  // Resolution for the schema id it was computed for (0 = none).
  schemaId: u32 = 0;
  err: PluginError | null = null;
  cols: i32[] = [];
  fnCol: i32 = 0;
  out: Schema = new Schema();
  upper: Uint8Array = new Uint8Array(64);

  init(cfg: Config): PluginError | null {
    let e = cfg.unknown(["columns", "compute", "compute_as"]);
    if (e !== null) return e.prefixed("project");
    e = cfg.single(["compute", "compute_as"]);
    if (e !== null) return e.prefixed("project");
    const entries = cfg.all("columns");
    if (entries.length == 0) return new PluginError("project: missing config key \"columns\"");
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const at = entry.indexOf(":");
      const src = at < 0 ? entry : entry.substring(0, at);
      const name = at < 0 ? entry : entry.substring(at + 1);
      if (src.length == 0 || name.length == 0) {
        return new PluginError("project: columns entry \"" + entry + "\" is not \"source\" or \"source:name\"");
      }
      this.sources.push(src);
      this.names.push(name);
    }
    const compute = cfg.get("compute");
    if (compute !== null) {
      const at = compute.indexOf(":");
      const fn = at < 0 ? compute : compute.substring(0, at);
      const src = at < 0 ? "" : compute.substring(at + 1);
      if (at < 0 || (fn != "len" && fn != "upper") || src.length == 0) {
        return new PluginError("project: compute \"" + compute + "\" is not \"len:<column>\" or \"upper:<column>\"");
      }
      this.fn = fn == "len" ? FN_LEN : FN_UPPER;
      this.fnSrc = src;
      this.fnName = src + "_" + fn;
    }
    const as = cfg.get("compute_as");
    if (as !== null) {
      if (compute === null) return new PluginError("project: compute_as needs compute");
      if (as.length == 0) return new PluginError("project: compute_as is empty");
      this.fnName = as;
    }
    const all = this.names.slice(0);
    if (this.fn != FN_NONE) all.push(this.fnName);
    for (let i = 0; i < all.length; i++) {
      for (let j = 0; j < i; j++) {
        if (all[j] == all[i]) return new PluginError("project: output column \"" + all[i] + "\" appears twice");
      }
    }
    return null;
  }

  // Maps the output columns onto the page's schema.
  resolve(page: Page): PluginError | null {
    const input = page.schema;
    this.cols = [];
    const s = new Schema();
    for (let i = 0; i < this.sources.length; i++) {
      const c = page.requireColumn(this.sources[i]);
      if (c < 0) return page.err!.prefixed("project");
      this.cols.push(c);
      s.add(this.names[i], input.columns[c].type);
    }
    if (this.fn != FN_NONE) {
      const c = page.requireColumn(this.fnSrc);
      if (c < 0) return page.err!.prefixed("project");
      const t = input.columns[c].type;
      if (t.id != TypeId.Text && t.id != TypeId.Ascii) {
        return new PluginError("project: compute source \"" + this.fnSrc + "\" has type " + typeName(t.id) + ", want text or ascii");
      }
      this.fnCol = c;
      s.add(this.fnName, this.fn == FN_LEN ? Type.int() : t);
    }
    this.out = s;
    return null;
  }

  process(page: Page, out: Output): PluginError | null {
    if (this.schemaId != page.schemaId) {
      this.schemaId = page.schemaId;
      this.err = this.resolve(page);
    }
    if (this.err !== null) return this.err;
    const w = out.rows("", this.out);
    for (let i = 0; i < page.numRows; i++) {
      const row = page.row(i);
      for (let k = 0; k < this.cols.length; k++) w.copy(row, this.cols[k]);
      if (this.fn != FN_NONE) {
        const n = row.len(this.fnCol);
        const p = row.ptr(this.fnCol);
        if (n < 0) {
          w.null();
        } else if (this.fn == FN_LEN) {
          let count = 0;
          for (let k = 0; k < n; k++) {
            const c = load<u8>(p + <usize>k);
            if (c < 0x80 || c > 0xBF) count++;
          }
          w.int(count);
        } else {
          if (this.upper.length < n) this.upper = new Uint8Array(n * 2);
          const d = this.upper.dataStart;
          for (let k = 0; k < n; k++) {
            const c = load<u8>(p + <usize>k);
            store<u8>(d + <usize>k, c >= 0x61 && c <= 0x7A ? c - 0x20 : c);
          }
          w.raw(d, n);
        }
      }
      const e = w.endRow();
      if (e !== null) return e.prefixed("project");
    }
    return null;
  }
}

register(new Project());

export * from "../../../assemblyscript/sdk/exports";
