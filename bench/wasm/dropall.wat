;; dropall.wat — the drop-all plugin of bench/run: sluice_process returns a
;; result with no section ("SLR1", nsections 0), so every row is dropped and
;; the sinks receive nothing. With it a stream does everything but render
;; rows: page every row out of Cassandra, copy each page into the plugin and
;; call it. That is the same work as the raw driver reference (read every
;; cell once), which makes it the sluice side of the single-stream goal.
;; Built by bench/wasm/build.sh (wat2wasm); do not edit the .wasm.
(module
  (memory (export "memory") 2)
  ;; The result: magic "SLR1" (0x31524C53 little-endian), u32 nsections = 0.
  (data (i32.const 16) "SLR1\00\00\00\00")
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
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (call $ensure (i32.add (i32.const 0x10000) (local.get $n)))
    (i32.const 0x10000))
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  ;; handle = (16 << 32) | 8
  (func (export "sluice_process") (param i32 i32) (result i64) (i64.const 0x0000001000000008))
)
