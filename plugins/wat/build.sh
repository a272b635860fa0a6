#!/bin/sh
# Builds even.wasm from even.wat (wabt's wat2wasm; no SDK, no libc).
# Usage: build.sh [output-dir]   (default: this directory)
# The committed even.wasm was built by exactly this command (wabt 1.0.32).
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
wat2wasm even.wat -o "$out/even.wasm"
