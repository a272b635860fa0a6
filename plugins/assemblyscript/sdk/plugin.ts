// The Plugin base class and registration.

import { Config } from "./config";
import { PluginError } from "./error";
import { Output } from "./output";
import { Page } from "./page";
import { Schema } from "./types";

/**
 * What a plugin author extends. The SDK calls it from the module's exports, one call
 * at a time: init once with the config, process once per page, flush at the end of
 * the stream; snapshot and restore carry state across a hot swap.
 *
 * Every method returns null on success or a PluginError, which stops the stream.
 */
export abstract class Plugin {
  /** Checks the config and keeps what process needs. */
  init(config: Config): PluginError | null {
    return null;
  }

  /**
   * Called before the first page of each new schema (pages of a stream share one, so
   * usually once): resolve column names to indices here instead of on every page.
   * An error fails the page, and prepare is called again before the next one.
   */
  prepare(schema: Schema): PluginError | null {
    return null;
  }

  /**
   * Handles one page: select input rows and/or write rows through out. Doing nothing
   * passes every row on unchanged.
   */
  abstract process(page: Page, out: Output): PluginError | null;

  /** End of stream: write remaining rows (there are no input rows to select). */
  flush(out: Output): PluginError | null {
    return null;
  }

  /** The state as opaque bytes (version the format), or null when there is none. */
  snapshot(): Uint8Array | null {
    return null;
  }

  /**
   * Replaces the state with a snapshot of an earlier instance (maybe an earlier
   * version of the plugin: refuse state you cannot read).
   *
   * The default, for plugins that keep no state, accepts empty state and refuses any
   * other with an error saying that the plugin cannot restore state: the host then
   * keeps the instance that produced the state running instead of swapping (ABI.md
   * section 5), so state is never silently lost.
   */
  restore(state: Uint8Array): PluginError | null {
    if (state.length == 0) return null;
    return noRestoreError(state.length);
  }
}

/**
 * The error of the default Plugin.restore for len (> 0) bytes of state. The Go and
 * Rust SDKs use the same words.
 */
function noRestoreError(len: i32): PluginError {
  return new PluginError("sluice sdk: plugin cannot restore state: it implements no restore, so the " +
    len.toString() + " bytes of state of the instance it replaces would be lost");
}

let registered: Plugin | null = null;

/** Sets the module's plugin. Call it once, at the top level of the entry file. */
export function register(p: Plugin): void {
  if (registered !== null) abort("sluice: register called twice: a module has one plugin");
  registered = p;
}

/** The registered plugin, or null. */
export function registeredPlugin(): Plugin | null {
  return registered;
}
