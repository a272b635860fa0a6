// @sluice/sdk: the sluice plugin SDK for AssemblyScript (ABI v1).
//
// A plugin extends Plugin, registers one instance, and re-exports the ABI glue:
//
//   import { Plugin, Page, Output, PluginError, register } from "<path to>/sdk";
//   class Adults extends Plugin {
//     process(page: Page, out: Output): PluginError | null {
//       const col = page.requireColumn("age");
//       if (col < 0) return page.err;
//       for (let i = 0; i < page.numRows; i++) {
//         const row = page.row(i);
//         if (row.isNull(col) || row.int(col) < 18) out.drop(i);
//       }
//       return null;
//     }
//   }
//   register(new Adults());
//   export * from "<path to>/sdk/exports";
//
// Build with asc -O3 --debug --runtime incremental --use abort=<path to>/sdk/runtime/sluiceAbort
// (see docs/plugins.md, section AssemblyScript); the module then imports only sluice.log.

export { PluginError, quote } from "./error";
export { Level, log, logDebug, logInfo, logWarn, logError } from "./log";
export { TypeId, typeName, Type, Column, Schema, MAX_TYPE_DEPTH } from "./types";
export {
  Cell, Elements, Duration, Varint, Decimal, DATE_EPOCH, MAX_TIME,
  civilFromDays, daysFromCivil, floorDiv, pad, formatDate, formatTimestamp, formatTime, formatUuid, hexOf,
} from "./cell";
export { Page, Row, PAGE_MAGIC } from "./page";
export { Output, RowWriter, DEFAULT_OUTPUT, MAX_SECTION_ROWS, RESULT_MAGIC, reject } from "./output";
export { Config, CONFIG_MAGIC } from "./config";
export { ParseStatus, isInteger, isDecimalFloat, parseI64, parseDecimalF64 } from "./number";
export { Plugin, register } from "./plugin";
export { ABI_VERSION } from "./runtime";
