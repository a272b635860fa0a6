;; sleeper.wat — asks WASI poll_oneoff to sleep one hour on every page, then
;; passes the page through unchanged. sluice serves no sleeping (wazero's
;; default nanosleep returns at once), so a plugin cannot hold a worker by
;; sleeping: the stream completes as fast as without the sleeps.
;; Built by test/reliability/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
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
  (func (export "sluice_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "sluice_init") (param i32 i32) (result i64) (i64.const 0))
  (func (export "sluice_process") (param i32 i32) (result i64)
    ;; One clock subscription at 0x700 (48 bytes): userdata 0, tag 0 (clock),
    ;; clock id 1 (monotonic), timeout 3600 s (relative), precision 0, flags 0.
    (memory.fill (i32.const 0x700) (i32.const 0) (i32.const 48))
    (i32.store (i32.const 0x710) (i32.const 1))
    (i64.store (i32.const 0x718) (i64.const 3600000000000))
    (if (call $poll_oneoff (i32.const 0x700) (i32.const 0x800) (i32.const 1) (i32.const 0x900))
      (then unreachable))
    (i64.const 0))
)
