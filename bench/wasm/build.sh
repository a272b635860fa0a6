#!/bin/sh
# Rebuilds the WebAssembly modules of bench/run from their text (wabt's
# wat2wasm 1.0.32 here). The .wasm files are committed next to their .wat.
#
#   sh bench/wasm/build.sh
set -eu
cd "$(dirname "$0")"
for wat in *.wat; do
	wat2wasm --debug-names "$wat" -o "${wat%.wat}.wasm"
done
