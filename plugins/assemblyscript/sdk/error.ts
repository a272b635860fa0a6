// PluginError: what a plugin (or the SDK on its behalf) reports to the host.

/** An error reported to the host as one ERROR section, which stops the stream. */
export class PluginError {
  /** The message (exactly what the host reports). */
  message: string;
  /** The 0-based input row the error is about, or -1. */
  row: i64;

  constructor(message: string, row: i64 = -1) {
    this.message = message;
    this.row = row;
  }

  /** An error about input row `row`. */
  static at(row: i32, message: string): PluginError {
    return new PluginError(message, <i64>row);
  }

  /** A copy with `prefix + ": "` before the message (the row is kept). */
  prefixed(prefix: string): PluginError {
    return new PluginError(prefix + ": " + this.message, this.row);
  }

  toString(): string {
    return this.message;
  }
}

/**
 * Wraps `s` in double quotes without escaping anything: the convention of every
 * sluice SDK's messages (`column "<name>" not found`), so the same plugin reports
 * the same bytes in every language.
 */
export function quote(s: string): string {
  return "\"" + s + "\"";
}
