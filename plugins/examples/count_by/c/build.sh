#!/bin/sh
# Builds count_by.wasm from count_by.c (a reactor module).
# Usage: build.sh [output-dir]   (default: this directory)
# The committed count_by.wasm was built by exactly this command (Debian clang 14,
# Debian wasi-libc).
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o "$out/count_by.wasm" count_by.c
