#!/bin/sh
# Rebuilds the WebAssembly test modules of test/reliability from their text
# (wabt's wat2wasm). The .wasm files are committed; TestFixturesUpToDate
# checks each one against its .wat. (goprobe/ is built by TestSandboxGo
# itself, against the current Go SDK.)
#
#   sh test/reliability/testdata/build.sh
set -eu
cd "$(dirname "$0")"
for wat in *.wat; do
	wat2wasm --debug-names "$wat" -o "${wat%.wat}.wasm"
done
