;; row_slot.wat — keeps the row slot (ABI.md 3.1) at address 0x100 and traps
;; (unreachable) on row 3 of every page of 4 rows or more; passes smaller pages.
;; Built by host/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (memory (export "memory") 2)
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 0x10000)) (then unreachable))
    (i32.const 0x10000))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_init") (param i32 i32) (result i64)
    (i32.store (i32.const 0x100) (i32.const -1))
    (i64.const 0))
  (func (export "sluice_row_slot") (result i32) (i32.const 0x100))
  ;; The page header: magic, flags, number (u64), split, ncols, nrows at +24.
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $n i32)
    (local.set $n (i32.load offset=24 (local.get $ptr)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.const 0x100) (local.get $i))
        (if (i32.eq (local.get $i) (i32.const 3)) (then unreachable))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (i32.store (i32.const 0x100) (i32.const -1))
    (i64.const 0))
)
