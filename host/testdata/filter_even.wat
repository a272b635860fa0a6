;; filter_even.wat — keeps rows 0, 2, 4... with one SELECT section on the default output.
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
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  (func $resarea (param $ptr i32) (param $len i32) (param $need i32) (result i32)
    (local $r i32)
    (local.set $r (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (call $ensure (i32.add (local.get $r) (local.get $need)))
    (local.get $r))
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $bm i32) (local $r i32)
    (local.set $n (i32.load offset=24 (local.get $ptr)))            ;; nrows
    (local.set $bm (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3)))
    (local.set $r (call $resarea (local.get $ptr) (local.get $len) (i32.add (i32.const 17) (local.get $bm))))
    (i32.store (local.get $r) (i32.const 0x31524C53))                ;; "SLR1"
    (i32.store offset=4 (local.get $r) (i32.const 1))                ;; nsections
    (i32.store8 offset=8 (local.get $r) (i32.const 1))               ;; SELECT
    (i32.store offset=9 (local.get $r) (i32.const 0))                ;; output ""
    (i32.store offset=13 (local.get $r) (local.get $n))              ;; nrows
    (memory.fill (i32.add (local.get $r) (i32.const 17)) (i32.const 0x55) (local.get $bm))
    ;; clear padding bits of the last byte
    (if (i32.and (local.get $n) (i32.const 7))
      (then
        (i32.store8 offset=16 (i32.add (local.get $r) (local.get $bm))
          (i32.and (i32.const 0x55)
                   (i32.sub (i32.shl (i32.const 1) (i32.and (local.get $n) (i32.const 7))) (i32.const 1))))))
    (call $handle (local.get $r) (i32.add (i32.const 17) (local.get $bm))))
)
