#!/bin/sh
# Rebuilds every test module of package host from its WebAssembly text.
# The .wasm files are committed; host's TestWasmFixturesUpToDate checks that
# each one equals what this script produces (wabt's wat2wasm 1.0.32 here).
#
#   sh host/testdata/build.sh
set -eu
cd "$(dirname "$0")"
for wat in *.wat; do
	wat2wasm --debug-names "$wat" -o "${wat%.wat}.wasm"
done
