// @@NAME@@: a sluice plugin in AssemblyScript. It keeps the rows whose
// configured column is not null and drops the others, with a selection bitmap
// (no row is copied).
//
// Config (the [stream.plugin.config] table of the sluice config file, or
// -config-json for sluice plugin test):
//
//   column = "email"   # required: the column that must not be null
//
// Build (see Makefile):
//
//   node_modules/.bin/asc assembly/index.ts -o @@NAME@@.wasm -O3 --debug --runtime incremental \
//     --use 'abort=~lib/@sluice/sdk/runtime/sluiceAbort'
//
// --use abort=... routes AssemblyScript's abort to the SDK, which logs it and
// traps: the module then imports only sluice.log.
//
// Where to go next:
//   - typed reads on a Row: row.int(col), row.text(col), row.timestamp(col)...
//     (check row.isNull(col) first); out.keep, out.drop, out.setKept select
//     input rows;
//   - out.rows("audit", schema) writes new rows to a named output that the
//     stream routes to its own sink;
//   - flush(out) emits rows at the end of the stream, snapshot()/restore()
//     carry state across a hot swap (see the Plugin class of the SDK);
//   - the examples in the sluice repository (plugins/examples/*/assemblyscript).

import { Config, Output, Page, Plugin, PluginError, register } from "@sluice/sdk";

class NotNull extends Plugin {
  column: string = "";

  // Checks the config once, before any page: an error stops the stream
  // before a row is read.
  init(cfg: Config): PluginError | null {
    let e = cfg.unknown(["column"]);
    if (e !== null) return e.prefixed("@@NAME@@");
    e = cfg.single(["column"]);
    if (e !== null) return e.prefixed("@@NAME@@");
    const column = cfg.require("column");
    if (column === null) return cfg.err!.prefixed("@@NAME@@");
    this.column = column;
    return null;
  }

  // Called once per page. Rows not dropped go on to the next plugin of the
  // chain, or to the stream's sink.
  process(page: Page, out: Output): PluginError | null {
    const col = page.requireColumn(this.column);
    if (col < 0) return page.err!.prefixed("@@NAME@@");
    for (let i = 0; i < page.numRows; i++) {
      // An empty value (0 bytes, e.g. '' text) is not null: it is kept.
      out.setKept(i, !page.row(i).isNull(col));
    }
    return null;
  }
}

register(new NotNull());

// The module's ABI exports (sluice_abi_version, sluice_alloc, sluice_init...).
export * from "@sluice/sdk/exports";
