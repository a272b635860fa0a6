#!/bin/sh
# Builds redact.wasm from redact.c (a reactor module).
# Usage: build.sh [output-dir]   (default: this directory)
# The committed redact.wasm was built by exactly this command (Debian clang 14,
# Debian wasi-libc).
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o "$out/redact.wasm" redact.c
