;; replay.wat — for fuzzing the host's handling of results: sluice_restore
;; stashes the bytes it is given, and every sluice_process returns them
;; verbatim as its result.
;; Built by host/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (memory (export "memory") 2)
  (global $stash_len (mut i32) (i32.const 0))
  (func $ensure (param $end i32)
    (local $have i32)
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 0xFFFF))
                                      (i32.const 16)))
              (i32.const -1))
          (then unreachable)))))
  ;; Input buffer at 64 KiB; the stash lives at 256 KiB.
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (call $ensure (i32.add (i32.const 0x10000) (local.get $n)))
    (i32.const 0x10000))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  (func (export "sluice_snapshot") (result i64) (i64.const 0))
  (func (export "sluice_restore") (param $ptr i32) (param $len i32) (result i64)
    (call $ensure (i32.add (i32.const 0x40000) (local.get $len)))
    (memory.copy (i32.const 0x40000) (local.get $ptr) (local.get $len))
    (global.set $stash_len (local.get $len))
    (i64.const 0))
  (func (export "sluice_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 0x40000) (i64.const 32))
            (i64.extend_i32_u (global.get $stash_len))))
)
