// Package host runs sluice plugins: WebAssembly modules following ABI v1
// (abi/ABI.md), on wazero.
//
// The pieces, in the order a stream uses them:
//
//   - Runtime: one per process. The wazero runtime (compiler engine where
//     the platform supports it), the compilation cache, and the host
//     modules plugins may import (sluice.log, WASI preview 1, env.abort).
//     Safe for concurrent use.
//   - Module: Runtime.Compile validates and compiles a plugin once per
//     module version (SHA-256). Immutable, shared by every goroutine.
//   - Instance: Module.Instantiate creates a sandboxed instance with its
//     own memory and limits and initializes it. Owned by one goroutine.
//     Process runs one page; any failure kills the instance for good.
//   - Chain: the instances of one stream worker in order, with Swap, the
//     hot-swap handoff (snapshot → restore → replace → close).
//   - PluginError: every plugin failure, classified (ErrorKind) and
//     rendered as a multi-line report naming the plugin, module, ABI, page,
//     split and row, with the wasm stack and the plugin's last output.
//
// Limits, sandbox guarantees and error kinds are described in
// docs/host.md.
package host
