;; forge_log.wat — tries to forge sluice's own output: on every page it writes,
;; to stdout and through sluice.log, a text with newlines, a line that looks
;; like sluice's final summary ("sluice: stream \"forged\": rows in 1, ...")
;; and terminal escape sequences (ESC[2K erase line, ESC[31m red, BEL); then
;; it passes the page through unchanged. sluice must forward it as its own
;; log records, quoted: no line of stderr may start with the forged text and
;; no raw escape byte may reach the terminal.
;; Built by test/reliability/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "sluice" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0x400) "\0asluice: stream \22forged\22: rows in 1, rows out 1, pages 1, elapsed 1s, 1 rows/s\0a\1b[2K\1b[31mred\07\0a") ;; 93 bytes
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
    (i32.store (i32.const 0x300) (i32.const 0x400))
    (i32.store (i32.const 0x304) (i32.const 93))
    (drop (call $fd_write (i32.const 1) (i32.const 0x300) (i32.const 1) (i32.const 0x308)))
    (drop (call $fd_write (i32.const 2) (i32.const 0x300) (i32.const 1) (i32.const 0x308)))
    (call $log (i32.const 3) (i32.const 0x400) (i32.const 93))
    (i64.const 0))
)
