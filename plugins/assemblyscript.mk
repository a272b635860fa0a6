# AssemblyScript SDK (assemblyscript/sdk, the in-tree package @sluice/sdk) and the
# AssemblyScript builds of the example plugins.
# Included by plugins/Makefile; recipes run from plugins/.
#
#   assemblyscript-all    build examples/<name>/assemblyscript/<name>.wasm
#   assemblyscript-check  rebuild each into a scratch dir and fail if a committed
#                         .wasm differs from its rebuild
#   assemblyscript-test   node --test: the SDK through a test plugin, and the
#                         example builds against the README's examples
#
# The compiler is the assemblyscript npm package pinned by
# assemblyscript/package-lock.json, installed with `npm ci` (scripts/install-deps
# does it; so does the rule below). The exact command, from plugins/:
#
#   assemblyscript/node_modules/.bin/asc examples/NAME/assemblyscript/NAME.ts \
#     -o examples/NAME/assemblyscript/NAME.wasm -O3 --debug --runtime incremental \
#     --use abort=assemblyscript/sdk/runtime/sluiceAbort
#
# --use abort=... routes AssemblyScript's abort to the SDK, which logs through
# sluice.log and traps: the module imports only sluice.log. Source paths in the
# module are relative to plugins/, so the bytes do not depend on the checkout path.

ASC := assemblyscript/node_modules/.bin/asc
AS_STAMP := assemblyscript/node_modules/.package-lock.json
AS_EXAMPLES := filter project redact count_by
AS_SDK_SRC := $(wildcard assemblyscript/sdk/*.ts)
AS_FLAGS := -O3 --debug --runtime incremental --use abort=assemblyscript/sdk/runtime/sluiceAbort

.PHONY: assemblyscript-all assemblyscript-deps assemblyscript-check assemblyscript-test

assemblyscript-deps: $(AS_STAMP)

$(AS_STAMP): assemblyscript/package-lock.json
	cd assemblyscript && npm ci --no-audit --no-fund --loglevel=error

# The trap test plugin of plugins/conformance (trap_test.go), built alike.
AS_TRAP := conformance/trap/assemblyscript/trap

assemblyscript-all: $(foreach e,$(AS_EXAMPLES),examples/$(e)/assemblyscript/$(e).wasm) $(AS_TRAP).wasm

$(AS_TRAP).wasm: $(AS_TRAP).ts $(AS_SDK_SRC) $(AS_STAMP)
	$(ASC) $< -o $@ $(AS_FLAGS)

define AS_EXAMPLE_RULE
examples/$(1)/assemblyscript/$(1).wasm: examples/$(1)/assemblyscript/$(1).ts $$(AS_SDK_SRC) $$(AS_STAMP)
	$$(ASC) $$< -o $$@ $$(AS_FLAGS)
endef
$(foreach e,$(AS_EXAMPLES),$(eval $(call AS_EXAMPLE_RULE,$(e))))

assemblyscript-check: $(AS_STAMP)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for e in $(AS_EXAMPLES); do \
		$(ASC) examples/$$e/assemblyscript/$$e.ts -o $$tmp/$$e.wasm $(AS_FLAGS); \
		if cmp -s $$tmp/$$e.wasm examples/$$e/assemblyscript/$$e.wasm; then \
			echo "assemblyscript-check: examples/$$e/assemblyscript/$$e.wasm matches its source"; \
		else \
			echo "assemblyscript-check: examples/$$e/assemblyscript/$$e.wasm differs from a rebuild of $$e.ts: run make -C plugins assemblyscript-all and commit it" >&2; \
			exit 1; \
		fi; \
	done
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(ASC) $(AS_TRAP).ts -o $$tmp/trap.wasm $(AS_FLAGS); \
	if cmp -s $$tmp/trap.wasm $(AS_TRAP).wasm; then echo "assemblyscript-check: $(AS_TRAP).wasm matches its source"; \
	else echo "assemblyscript-check: $(AS_TRAP).wasm differs from a rebuild of trap.ts: run make -C plugins assemblyscript-all and commit it" >&2; exit 1; fi

assemblyscript-test: $(AS_STAMP)
	cd assemblyscript && node --test test/

ALL += assemblyscript-all
CHECK += assemblyscript-check
TEST += assemblyscript-test
