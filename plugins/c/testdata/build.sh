#!/bin/sh
# Builds sdktest.wasm, the C SDK's test plugin, without any libc.
# Usage: build.sh [output-dir]   (default: this directory)
# The committed sdktest.wasm was built by exactly this command (Debian clang 14).
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
clang --target=wasm32 -nostdlib -Wl,--no-entry -O2 -Wall -Wextra -Werror -I.. -o "$out/sdktest.wasm" sdktest.c
