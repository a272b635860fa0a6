// The ABI v1 exports. A plugin's entry file re-exports them in one line:
//
//   export * from "<path to>/sdk/exports";

import { ABI_VERSION, alloc, init, process, flush, snapshot, restore } from "./runtime";
import { ROW_SLOT } from "./page";

/** ABI version: (major << 16) | minor. */
export function sluice_abi_version(): i32 { return ABI_VERSION; }
/** Room for the next call's input. */
export function sluice_alloc(size: i32): usize { return alloc(size); }
/** Config (SLC1); a result handle (errors only). */
export function sluice_init(ptr: usize, len: i32): i64 { return init(ptr, len); }
/** One page (SLP1); a result handle. */
export function sluice_process(ptr: usize, len: i32): i64 { return process(ptr, len); }
/** End of stream; a result handle (ROWS only). */
export function sluice_flush(): i64 { return flush(); }
/** State for a hot swap; a handle of opaque bytes. */
export function sluice_snapshot(): i64 { return snapshot(); }
/** State of a previous instance; a result handle (errors only). */
export function sluice_restore(ptr: usize, len: i32): i64 { return restore(ptr, len); }
/** The address of the row slot (ABI.md 3.1): the row a trap happened on. */
export function sluice_row_slot(): usize { return ROW_SLOT; }
