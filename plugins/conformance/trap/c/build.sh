#!/bin/sh
# Builds trap.wasm from trap.c (a reactor module, no libc needed).
# Usage: build.sh [output-dir]   (default: this directory)
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o "$out/trap.wasm" trap.c
