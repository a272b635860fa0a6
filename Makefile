# sluice: the two commands a newcomer runs are `make run` and `make test`.
# Both install what they need (scripts/install-deps), start a local Cassandra
# if none answers (scripts/cassandra), and leave it running for the next call;
# `scripts/cassandra stop` stops it.
.PHONY: test-manifests all build plugins plugins-check plugins-test fuzz-smoke test-restart test test-go run deps cassandra kafka demo-data bench bench-smoke fmt vet clean

GO        ?= go
TESTFLAGS ?= -race -count=1 -timeout 30m
DEMO_ROWS ?= 100000
CONFIG    ?= config.toml

all: build

## build: the sluice binary at bin/sluice
build:
	$(GO) build -trimpath -o bin/sluice ./cmd/sluice

## deps: Debian and npm packages for the plugin toolchains (no-op when present)
deps:
	@scripts/install-deps

## plugins: rebuild every example plugin and SDK test module (.wasm are committed)
plugins: deps
	$(MAKE) -C plugins all

## plugins-check: rebuild the plugins and fail if a committed .wasm differs from its source
plugins-check: deps
	$(MAKE) -C plugins check

cassandra:
	@scripts/cassandra start

## kafka: one local Kafka broker (KRaft) on 127.0.0.1:9092 for the Kafka sink's tests; `scripts/kafka stop` stops it
kafka:
	@scripts/kafka start

## demo-data: create demo.events and load $(DEMO_ROWS) rows (skipped when loaded)
demo-data: cassandra
	$(GO) run ./internal/cmd/demoload -rows $(DEMO_ROWS)

## run: the main job end to end: Cassandra, demo data, plugins, then stream
#      stdout carries only the stream's JSON lines: the build steps report on stderr.
run:
	@$(MAKE) --no-print-directory deps build plugins demo-data >&2
	@bin/sluice run -config $(CONFIG)

## test: the whole suite, with integration tests against the real node
test: deps build plugins-check plugins-test cassandra kafka vet test-go test-manifests fuzz-smoke bench-smoke test-restart

vet:
	$(GO) vet ./...

# test/restart restarts the shared node, so test-restart runs it alone, last.
test-go:
	$(GO) test $(TESTFLAGS) $$($(GO) list ./... | grep -v '/test/restart$$')

## test-manifests: the Kubernetes manifests of deploy/kubernetes, decoded strictly into
#  the API types (k8s.io/api, a module of that folder's own) and checked against the config
test-manifests:
	cd deploy/kubernetes && $(GO) vet ./... && $(GO) test $(TESTFLAGS) ./...

## bench-smoke: a small run of the side-by-side benchmark, so the script keeps working
bench-smoke:
	@if [ -x bench/run ]; then bench/run --smoke; fi

## bench: the full side-by-side benchmark; writes BENCHMARKS.md
bench: deps build plugins cassandra
	bench/run

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .cache

## plugins-test: the SDKs' own unit tests (Go, C, Rust, AssemblyScript)
plugins-test: deps
	$(MAKE) -C plugins test

## fuzz-smoke: every fuzz target of the repository, briefly (FUZZTIME, default 20000x each)
fuzz-smoke:
	scripts/fuzz-smoke

## test-restart: stops and restarts the shared Cassandra node and the Kafka broker mid-stream, so it runs last and alone
test-restart: cassandra kafka
	SLUICE_RESTART_TESTS=1 $(GO) test -count=1 -timeout 20m ./test/restart
