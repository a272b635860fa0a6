# Rust SDK (rust/sluice) and the Rust builds of the example plugins.
# Included by plugins/Makefile; run from plugins/ (make -C plugins ...).
#
#   rust-all    build the SDK rlib, then examples/<name>/rust/<name>.wasm
#   rust-test   native unit tests of the SDK (rustc --test)
#   rust-check  rebuild every example into a scratch dir and fail if a
#               committed .wasm differs from its rebuild
#
# Toolchain: Debian's rustc 1.63 at /usr/bin/rustc, which has the
# wasm32-unknown-unknown std (the rustup rustc on PATH has no wasm target).
# No cargo, no crates: the SDK is built as an rlib and linked with --extern.
# The exact commands (run from plugins/, $(CURDIR) = this directory):
#
#   /usr/bin/rustc --edition 2021 --target wasm32-unknown-unknown -C opt-level=s \
#     -C codegen-units=1 -C target-feature=+bulk-memory --remap-path-prefix=$(CURDIR)=plugins \
#     --crate-type rlib --crate-name sluice \
#     -o rust/target/wasm/libsluice.rlib rust/sluice/src/lib.rs
#   /usr/bin/rustc --edition 2021 --target wasm32-unknown-unknown -C opt-level=s \
#     -C codegen-units=1 -C target-feature=+bulk-memory --remap-path-prefix=$(CURDIR)=plugins \
#     --crate-type cdylib --crate-name NAME -C lto -C strip=debuginfo \
#     --extern sluice=rust/target/wasm/libsluice.rlib \
#     -o examples/NAME/rust/NAME.wasm examples/NAME/rust/NAME.rs
#
# --remap-path-prefix makes the bytes independent of the checkout path (panic
# messages carry source paths), so a rebuild anywhere gives the committed bytes.
# +bulk-memory turns memcpy/memset into single memory.copy/memory.fill
# instructions instead of loops: the host checks for timeouts on every loop
# iteration of a plugin, which makes loops dear.

RUSTC ?= /usr/bin/rustc
RUST_EXAMPLES := filter project redact count_by
RUST_TARGET := rust/target
RUST_RLIB := $(RUST_TARGET)/wasm/libsluice.rlib
RUST_SDK_SRC := $(wildcard rust/sluice/src/*.rs)
RUST_FLAGS := --edition 2021 --target wasm32-unknown-unknown -C opt-level=s \
	-C codegen-units=1 -C target-feature=+bulk-memory --remap-path-prefix=$(CURDIR)=plugins
RUST_CDYLIB_FLAGS := --crate-type cdylib -C lto -C strip=debuginfo --extern sluice=$(RUST_RLIB)

.PHONY: rust-all rust-sdk rust-test rust-check

rust-all: $(foreach e,$(RUST_EXAMPLES),examples/$(e)/rust/$(e).wasm)

rust-sdk: $(RUST_RLIB)

$(RUST_RLIB): $(RUST_SDK_SRC)
	@mkdir -p $(dir $@)
	$(RUSTC) $(RUST_FLAGS) --crate-type rlib --crate-name sluice -o $@ rust/sluice/src/lib.rs

define RUST_EXAMPLE_RULE
examples/$(1)/rust/$(1).wasm: examples/$(1)/rust/$(1).rs $$(RUST_RLIB)
	$$(RUSTC) $$(RUST_FLAGS) --crate-name $(1) $$(RUST_CDYLIB_FLAGS) -o $$@ $$<
endef
$(foreach e,$(RUST_EXAMPLES),$(eval $(call RUST_EXAMPLE_RULE,$(e))))

rust-test:
	@mkdir -p $(RUST_TARGET)/native
	$(RUSTC) --edition 2021 --test --crate-name sluice -C opt-level=1 \
		-o $(RUST_TARGET)/native/sluice-test rust/sluice/src/lib.rs
	$(RUST_TARGET)/native/sluice-test

rust-check: $(RUST_RLIB)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for e in $(RUST_EXAMPLES); do \
		$(RUSTC) $(RUST_FLAGS) --crate-name $$e $(RUST_CDYLIB_FLAGS) \
			-o $$tmp/$$e.wasm examples/$$e/rust/$$e.rs; \
		if cmp -s $$tmp/$$e.wasm examples/$$e/rust/$$e.wasm; then \
			echo "rust-check: examples/$$e/rust/$$e.wasm matches its source"; \
		else \
			echo "rust-check: examples/$$e/rust/$$e.wasm differs from a rebuild of $$e.rs: run make -C plugins rust-all and commit it" >&2; \
			exit 1; \
		fi; \
	done

ALL += rust-all
TEST += rust-test
CHECK += rust-check
