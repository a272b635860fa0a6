# Go SDK (go/sluice) and the Go builds of the example plugins.
# Included by plugins/Makefile; recipes run from plugins/.
#
#   go-all    rebuild examples/<name>/go/<name>.wasm
#   go-check  rebuild each into a scratch dir and compare with the committed one
#   go-test   the SDK's native unit tests (-race)
#
# Each example's build.sh holds its exact command:
#   GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o NAME.wasm .
# -trimpath and the empty build id make the bytes independent of the
# checkout path; the Go version is the one go.mod names.

GO ?= go
GO_EXAMPLES := filter project redact count_by
GO_BUILDS := $(foreach e,$(GO_EXAMPLES),examples/$(e)/go/build.sh)
# The trap test plugin of plugins/conformance (trap_test.go).
GO_TRAP := conformance/trap/go/build.sh

.PHONY: go-all go-check go-test

go-all:
	@set -e; for e in $(GO_EXAMPLES); do echo "go: examples/$$e/go/$$e.wasm"; examples/$$e/go/build.sh; done
	@echo "go: conformance/trap/go/trap.wasm"; $(GO_TRAP)

go-check:
	@set -e; for e in $(GO_EXAMPLES); do ./check-wasm.sh examples/$$e/go/build.sh $$e.wasm; done
	@./check-wasm.sh $(GO_TRAP) trap.wasm

go-test:
	cd .. && $(GO) test -race ./plugins/go/... ./plugins/examples/...

ALL += go-all
CHECK += go-check
TEST += go-test
