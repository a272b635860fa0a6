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

// The first malformed cell framing found while reading cells in this call (the
// host never sends one); the SDK reports it whatever the plugin returns.
let fault: PluginError | null = null;

/** Records a malformed page found while reading cells, and records it as the error. */
export function setFault(e: PluginError): void {
  if (fault === null) fault = e;
  setError(e);
}

/** Returns the recorded fault and forgets it. */
export function takeFault(): PluginError | null {
  const e = fault;
  fault = null;
  return e;
}

/** The recorded fault, kept. */
export function currentFault(): PluginError | null {
  return fault;
}
