// The SDK's error slot for the current call. Internal.

import { PluginError } from "./error";

let first: PluginError | null = null;

/** Records e unless an error was already recorded in this call. */
export function setError(e: PluginError): void {
  if (first === null) first = e;
}

/** The first error recorded in this call, or null. */
export function currentError(): PluginError | null {
  return first;
}

/** Forgets the recorded error (at the start of every ABI call). */
export function clearError(): void {
  first = null;
}

/** Returns the recorded error and forgets it. */
export function takeError(): PluginError | null {
  const e = first;
  first = null;
  return e;
}
