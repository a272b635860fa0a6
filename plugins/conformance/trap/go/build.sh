#!/bin/sh
# Builds trap.wasm from this directory's Go source (a WASI reactor).
# Usage: build.sh [output-dir]   (default: this directory)
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o "$out/trap.wasm" .
