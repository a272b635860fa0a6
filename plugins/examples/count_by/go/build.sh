#!/bin/sh
# Builds count_by.wasm from this directory's Go source (a WASI reactor).
# Usage: build.sh [output-dir]   (default: this directory)
# The committed count_by.wasm was built by exactly this command, with the Go
# toolchain named in the module's go.mod (go1.26); -trimpath and an empty
# build id make the output independent of the checkout path.
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o "$out/count_by.wasm" .
