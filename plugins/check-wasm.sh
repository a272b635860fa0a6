#!/bin/sh
# check-wasm.sh BUILD_SCRIPT WASM_NAME
#
# Runs BUILD_SCRIPT with a scratch output directory, then compares the
# WASM_NAME it wrote with the committed WASM_NAME next to BUILD_SCRIPT.
# Fails, naming the file and the command to run, when they differ.
set -eu
build="$1"
name="$2"
committed="$(dirname "$build")/$name"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$build" "$tmp"
if [ ! -f "$committed" ]; then
	echo "check-wasm: $committed is missing: run $build (or make -C plugins all) and commit it" >&2
	exit 1
fi
if ! cmp -s "$tmp/$name" "$committed"; then
	echo "check-wasm: $committed differs from a rebuild of its source: run $build (or make -C plugins all) and commit it" >&2
	exit 1
fi
echo "check-wasm: $committed matches its source"
