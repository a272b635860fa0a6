# Rust SDK (rust/sluice), the Rust builds of the example plugins and the
# Rust-only example rust/examples/json_doc (serde_json from crates.io): one
# cargo workspace, plugins/Cargo.toml. Included by plugins/Makefile; run from
# plugins/ (make -C plugins ...).
#
#   rust-all    cargo build the workspace for wasm32-unknown-unknown, then copy
#               each plugin to examples/<name>/rust/<name>.wasm
#               (rust/examples/json_doc/json_doc.wasm)
#   rust-test   cargo test of the workspace (the SDK's and the plugins' native
#               tests), then `sluice plugin new -lang rust` in a temporary
#               directory outside the repository, whose make unit (cargo test)
#               and make test (cargo build, sluice plugin test) must pass
#   rust-check  rebuild every plugin into a scratch target dir and fail if a
#               committed .wasm differs from its rebuild
#
# Toolchain: Debian's cargo 0.66 and rustc 1.63 (/usr/bin), the toolchain here
# that has the wasm32-unknown-unknown std (package libstd-rust-dev-wasm32).
# The rustup cargo and rustc on PATH have no wasm32 target, and rustup's cargo
# cannot drive rustc 1.63, so CARGO, RUSTC and RUSTDOC are set explicitly and
# /usr/bin goes first on PATH for everything cargo starts. Crates come from
# rust/vendor (.cargo/config.toml), filled by scripts/install-deps from the
# versions Cargo.lock pins; --offline --locked never reaches for the network.
#
# The exact build command (from plugins/, $(CURDIR) = this directory):
#
#   RUSTFLAGS="-C target-feature=+bulk-memory --remap-path-prefix=$(CURDIR)=plugins" \
#     /usr/bin/cargo build --offline --locked --target wasm32-unknown-unknown --release
#
# with [profile.release] of Cargo.toml (opt-level s, LTO, one codegen unit,
# strip debuginfo, panic abort). --remap-path-prefix makes the bytes
# independent of the checkout path (panic messages carry source paths), so a
# rebuild anywhere gives the committed bytes. +bulk-memory turns
# memcpy/memset into single memory.copy/memory.fill instructions instead of
# loops: the host checks for timeouts on every loop iteration of a plugin.

CARGO ?= /usr/bin/cargo
RUSTC ?= /usr/bin/rustc
RUSTDOC ?= /usr/bin/rustdoc
RUST_EXAMPLES := filter project redact count_by
# name:committed path of every plugin the workspace builds
RUST_WASMS := $(foreach e,$(RUST_EXAMPLES),$(e):examples/$(e)/rust/$(e).wasm) json_doc:rust/examples/json_doc/json_doc.wasm \
	trap:conformance/trap/rust/trap.wasm
RUST_ENV := PATH=/usr/bin:$$PATH RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) \
	RUSTFLAGS="-C target-feature=+bulk-memory --remap-path-prefix=$(CURDIR)=plugins"
RUST_BUILD := $(CARGO) build --offline --locked --target wasm32-unknown-unknown --release
RUST_VENDOR := rust/vendor/.sluice-vendored

.PHONY: rust-all rust-test rust-check rust-vendor

# The vendored crates: scripts/install-deps (rustup's cargo vendor) fills them.
rust-vendor: $(RUST_VENDOR)

$(RUST_VENDOR): Cargo.lock
	../scripts/install-deps --rust-vendor

rust-all: $(RUST_VENDOR)
	$(RUST_ENV) $(RUST_BUILD)
	@set -e; for w in $(RUST_WASMS); do \
		cp target/wasm32-unknown-unknown/release/$${w%%:*}.wasm $${w#*:}; echo "rust: $${w#*:}"; \
	done

rust-test: $(RUST_VENDOR)
	env -u RUSTFLAGS PATH=/usr/bin:$$PATH RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) $(CARGO) test --offline --locked
	cd .. && $(GO) test -count=1 -run 'TestPluginNewScaffoldsBuildAndPass/rust' ./cmd/sluice

rust-check: $(RUST_VENDOR)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(RUST_ENV) CARGO_TARGET_DIR=$$tmp $(RUST_BUILD); \
	for w in $(RUST_WASMS); do \
		if cmp -s $$tmp/wasm32-unknown-unknown/release/$${w%%:*}.wasm $${w#*:}; then \
			echo "rust-check: $${w#*:} matches its source"; \
		else \
			echo "rust-check: $${w#*:} differs from a rebuild of its crate: run make -C plugins rust-all and commit it" >&2; \
			exit 1; \
		fi; \
	done

ALL += rust-all
TEST += rust-test
CHECK += rust-check
