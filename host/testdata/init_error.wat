;; init_error.wat — sluice_init returns an ERROR section: missing required config key.
;; Built by host/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (memory (export "memory") 2)
  ;; $ensure grows memory so that [0, $end) is addressable.
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
  ;; sluice_alloc: one input buffer at 64 KiB, grown on demand.
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (call $ensure (i32.add (i32.const 0x10000) (local.get $n)))
    (i32.const 0x10000))
  (func $handle (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (data (i32.const 0x2000) "missing required config key \"field\"")
  (func (export "sluice_init") (param i32 i32) (result i64)
    (call $error_result (i64.const -1) (i32.const 0x2000) (i32.const 36)))
  (func (export "sluice_process") (param i32 i32) (result i64) (i64.const 0))
  (func $error_result (param $row i64) (param $msg i32) (param $mlen i32) (result i64)
    (i32.store (i32.const 0x8000) (i32.const 0x31524C53))   ;; "SLR1"
    (i32.store (i32.const 0x8004) (i32.const 1))            ;; nsections
    (i32.store8 (i32.const 0x8008) (i32.const 3))           ;; ERROR
    (i64.store (i32.const 0x8009) (local.get $row))
    (i32.store (i32.const 0x8011) (local.get $mlen))
    (memory.copy (i32.const 0x8015) (local.get $msg) (local.get $mlen))
    (call $handle (i32.const 0x8000) (i32.add (i32.const 21) (local.get $mlen))))
)
