;; rows_named.wat — emits a ROWS section to output "audit" (one row: the input's row count as int) and keeps every input row with a SELECT on the default output.
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
  (func $store_be32 (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 offset=1 (local.get $at) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 offset=2 (local.get $at) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 offset=3 (local.get $at) (local.get $v)))
  ;; Result template: header, ROWS "audit" (column "rows" int, one row), SELECT "" header.
  (data (i32.const 0x1000)
    "SLR1" "\02\00\00\00"
    "\02" "\05\00\00\00" "audit" "\01\00\00\00" "\04\00\00\00" "rows" "\09\00"
    "\01\00\00\00" "\00\00\00\00" "\08\00\00\00" "\04\00\00\00" "\00\00\00\00"
    "\01" "\00\00\00\00")
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $bm i32) (local $r i32)
    (local.set $n (i32.load offset=24 (local.get $ptr)))
    (local.set $bm (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3)))
    (local.set $r (call $resarea (local.get $ptr) (local.get $len) (i32.add (i32.const 61) (local.get $bm))))
    (memory.copy (local.get $r) (i32.const 0x1000) (i32.const 57))
    (call $store_be32 (i32.add (local.get $r) (i32.const 48)) (local.get $n))
    (i32.store offset=57 (local.get $r) (local.get $n))
    (memory.fill (i32.add (local.get $r) (i32.const 61)) (i32.const 0xFF) (local.get $bm))
    (if (i32.and (local.get $n) (i32.const 7))
      (then
        (i32.store8 offset=60 (i32.add (local.get $r) (local.get $bm))
          (i32.sub (i32.shl (i32.const 1) (i32.and (local.get $n) (i32.const 7))) (i32.const 1)))))
    (call $handle (local.get $r) (i32.add (i32.const 61) (local.get $bm))))
)
