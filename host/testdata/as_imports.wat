;; as_imports.wat — uses AssemblyScript's env.trace and env.seed: traces
;; "hi" with 2 numbers on every page and stores seed() (f64) at 0x100.
;; Built by host/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (import "env" "trace" (func $trace (param i32 i32 f64 f64 f64 f64 f64)))
  (import "env" "seed" (func $seed (result f64)))
  (memory (export "memory") 2)
  ;; AssemblyScript string "hi": u32 byte length at ptr-4, UTF-16LE at ptr.
  (data (i32.const 0x1FC) "\04\00\00\00" "h\00i\00")
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 0x400))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  (func (export "sluice_process") (param i32 i32) (result i64)
    (call $trace (i32.const 0x200) (i32.const 2) (f64.const 1.5) (f64.const 2.5) (f64.const 0) (f64.const 0) (f64.const 0))
    (f64.store (i32.const 0x100) (call $seed))
    (i64.const 0))
)
