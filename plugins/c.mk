# C SDK (c/sluice.h) and the C builds of the example plugins.
# Included by plugins/Makefile; recipes run from plugins/.
#
#   c-all    rebuild examples/<name>/c/<name>.wasm and the SDK's test
#            module c/testdata/sdktest.wasm
#   c-check  rebuild each into a scratch dir and compare with the committed
#            one; also compile every example with -nostdlib (no libc) except
#            filter (which uses wasi-libc's strtod), to keep the SDK
#            freestanding
#   c-test   the SDK's tests (go test ./plugins/c: sdktest.wasm in wazero,
#            checked against abi/testdata/vectors)
#
# Each example's build.sh holds its exact command:
#   clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o NAME.wasm NAME.c

C_EXAMPLES := filter project redact count_by
C_FREESTANDING := project redact count_by

.PHONY: c-all c-check c-test

c-all:
	@set -e; for e in $(C_EXAMPLES); do echo "c: examples/$$e/c/$$e.wasm"; examples/$$e/c/build.sh; done
	@echo "c: c/testdata/sdktest.wasm"; c/testdata/build.sh
	@echo "c: conformance/trap/c/trap.wasm"; conformance/trap/c/build.sh

c-check:
	@set -e; for e in $(C_EXAMPLES); do ./check-wasm.sh examples/$$e/c/build.sh $$e.wasm; done
	@./check-wasm.sh c/testdata/build.sh sdktest.wasm
	@./check-wasm.sh conformance/trap/c/build.sh trap.wasm
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for e in $(C_FREESTANDING); do \
		clang --target=wasm32 -nostdlib -Wl,--no-entry -O2 -Wall -Wextra -Werror -Ic \
			-o $$tmp/$$e.wasm examples/$$e/c/$$e.c; \
		echo "c-check: examples/$$e/c/$$e.c builds without libc"; \
	done

c-test:
	cd .. && $(GO) test -race ./plugins/c/

ALL += c-all
CHECK += c-check
TEST += c-test
