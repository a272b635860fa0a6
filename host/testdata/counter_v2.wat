;; counter_v2.wat — like counter.wat, a "new version": its flush column is "count_v2"; restore adds the saved count to its own.
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
  (global $count (mut i64) (i64.const 0))
  ;; Flush template: ROWS "" with column "count_v2" bigint and one row.
  (data (i32.const 0x1000)
    "SLR1" "\01\00\00\00"
    "\02" "\00\00\00\00" "\01\00\00\00" "\08\00\00\00" "count_v2" "\02\00"
    "\01\00\00\00" "\00\00\00\00" "\0c\00\00\00" "\08\00\00\00")
  (data (i32.const 0x2000) "restore: state must be 8 bytes")
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (result i64)
    (global.set $count (i64.add (global.get $count) (i64.extend_i32_u (i32.load offset=24 (local.get $ptr)))))
    (i64.const 0))
  (func (export "sluice_flush") (result i64)
    (local $i i32)
    ;; value: big-endian i64 after the template
    (local.set $i (i32.const 0))
    (loop $l
      (i32.store8 (i32.add (i32.const 4143) (local.get $i))
        (i32.wrap_i64 (i64.shr_u (global.get $count) (i64.extend_i32_u (i32.mul (i32.sub (i32.const 7) (local.get $i)) (i32.const 8))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (call $handle (i32.const 0x1000) (i32.const 55)))
  (func (export "sluice_snapshot") (result i64)
    (i64.store (i32.const 0x3000) (global.get $count))
    (call $handle (i32.const 0x3000) (i32.const 8)))
  (func (export "sluice_restore") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.ne (local.get $len) (i32.const 8))
      (then (return (call $error_result (i64.const -1) (i32.const 0x2000) (i32.const 30)))))
    (global.set $count (i64.add (global.get $count) (i64.load (local.get $ptr))))
    (i64.const 0))
  (func $error_result (param $row i64) (param $msg i32) (param $mlen i32) (result i64)
    (i32.store (i32.const 0x8000) (i32.const 0x31524C53))   ;; "SLR1"
    (i32.store (i32.const 0x8004) (i32.const 1))            ;; nsections
    (i32.store8 (i32.const 0x8008) (i32.const 3))           ;; ERROR
    (i64.store (i32.const 0x8009) (local.get $row))
    (i32.store (i32.const 0x8011) (local.get $mlen))
    (memory.copy (i32.const 0x8015) (local.get $msg) (local.get $mlen))
    (call $handle (i32.const 0x8000) (i32.add (i32.const 21) (local.get $mlen))))
)
