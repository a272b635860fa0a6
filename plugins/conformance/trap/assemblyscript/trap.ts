// The trap test plugin in AssemblyScript: throws (a trap) on the first row whose
// column equals value (plugins/conformance/trap/README.md). Built by
// assemblyscript.mk like the examples.
import { Config, Output, Page, Plugin, PluginError, Schema, register } from "../../../assemblyscript/sdk";
export * from "../../../assemblyscript/sdk/exports";

class Trap extends Plugin {
  column: string = "";
  value: i64 = 0;
  col: i32 = -1;

  prepare(schema: Schema): PluginError | null {
    this.col = schema.index(this.column);
    if (this.col < 0) return new PluginError("trap: prepare: no column \"" + this.column + "\"");
    return null;
  }

  init(cfg: Config): PluginError | null {
    const c = cfg.require("column");
    if (c === null) return cfg.err;
    this.column = c;
    this.value = cfg.int("value", 0);
    return cfg.err;
  }

  process(page: Page, out: Output): PluginError | null {
    for (let i = 0; i < page.numRows; i++) {
      const row = page.row(i);
      checkRow(row.isNull(this.col), row.int(this.col), this.value);
    }
    return page.err;
  }
}

function checkRow(isNull: bool, v: i32, bad: i64): void {
  if (!isNull && <i64>v == bad) throw new Error("trap: value " + bad.toString() + " is the bad one");
}

register(new Trap());
