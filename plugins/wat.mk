# The hand-written WAT plugin (wat/even.wat), built with wabt's wat2wasm.
# Included by plugins/Makefile; recipes run from plugins/.

.PHONY: wat-all wat-check

wat-all:
	wat/build.sh

wat-check:
	./check-wasm.sh wat/build.sh even.wasm

ALL += wat-all
CHECK += wat-check
