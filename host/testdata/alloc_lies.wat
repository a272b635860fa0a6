;; alloc_lies.wat — sluice_alloc returns a pointer past the end of its memory.
;; Built by host/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (memory (export "memory") 2)
  (func $handle (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 0xFFFFFF00))
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  (func (export "sluice_process") (param i32 i32) (result i64) (i64.const 0))
)
