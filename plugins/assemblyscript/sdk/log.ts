// Logging through the host's sluice.log import.

// @ts-ignore: decorator
@external("sluice", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

/** Log levels of the sluice.log import. */
export const enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/**
 * Sends a message to the host's log. The host caps the bytes logged per page and in
 * total: log per page or per problem, not per row.
 */
export function log(level: Level, msg: string): void {
  if (msg.length == 0) return;
  const b = String.UTF8.encode(msg);
  hostLog(<i32>level, changetype<usize>(b), <usize>b.byteLength);
}

/** Logs at debug level. */
export function logDebug(msg: string): void { log(Level.Debug, msg); }
/** Logs at info level. */
export function logInfo(msg: string): void { log(Level.Info, msg); }
/** Logs at warn level. */
export function logWarn(msg: string): void { log(Level.Warn, msg); }
/** Logs at error level. */
export function logError(msg: string): void { log(Level.Error, msg); }
