;; sandbox_probe.wat — tries to leave the WASI sandbox on every page, through
;; the raw WASI preview 1 calls (no libc in between), over file descriptors
;; 0 to 15. Any attempt that succeeds stops the stream with an ERROR section
;; "sandbox escape: probe PP on fd FF" (probe numbers below). When every
;; attempt is refused it passes the page through unchanged, and on the
;; first page it logs "sandbox probe: 14 kinds of escape tried on fds 0-15,
;; all refused" through sluice.log, so a test can tell that it ran.
;;
;; Probes (each must fail, i.e. return a non-zero errno, unless said):
;;   01 fd_prestat_get(fd)                       (a preopened directory) fds 3-15
;;   02 path_open(fd, "etc/passwd")
;;   03 path_open(fd, "/etc/passwd")
;;   04 path_open(fd, "../../../../../../etc/passwd")
;;   05 sock_accept(fd)
;;   06 sock_recv(fd)
;;   07 sock_send(fd)
;;   08 fd_write(fd)                             fds 3-15 (1 and 2 are captured)
;;   09 fd_read(0) must read 0 bytes             (stdin is empty)
;;   10 environ_sizes_get must report 0 variables and 0 bytes
;;   11 args_sizes_get must report 0 arguments
;;   12 path_create_directory(fd, "sluice-escape")
;;   13 fd_readdir(fd)                           fds 3-15
;;   14 path_filestat_get(fd, "etc/passwd")
;;
;; Built by test/reliability/testdata/build.sh (wat2wasm); do not edit the .wasm.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "sluice" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (global $logged (mut i32) (i32.const 0))

  ;; Paths.
  (data (i32.const 0x400) "etc/passwd")                     ;; 10 bytes
  (data (i32.const 0x420) "/etc/passwd")                    ;; 11 bytes
  (data (i32.const 0x440) "../../../../../../etc/passwd")   ;; 28 bytes
  (data (i32.const 0x460) "sluice-escape")                  ;; 13 bytes
  ;; The log line.
  (data (i32.const 0x500) "sandbox probe: 14 kinds of escape tried on fds 0-15, all refused") ;; 64 bytes
  ;; The ERROR result: "SLR1", 1 section, kind 3, row -1, message of 33 bytes.
  (data (i32.const 0x1000) "SLR1\01\00\00\00\03\ff\ff\ff\ff\ff\ff\ff\ff\21\00\00\00sandbox escape: probe 00 on fd 00")
  ;; Scratch: iovec at 0x600 -> 64 bytes at 0x800; outputs at 0x700.

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

  ;; $escape returns the ERROR result naming the probe and the fd.
  (func $escape (param $probe i32) (param $fd i32) (result i64)
    ;; message starts at 0x1000 + 21; "probe " digits at +22, fd digits at +31
    (i32.store8 (i32.const 0x102B) (i32.add (i32.const 48) (i32.div_u (local.get $probe) (i32.const 10))))
    (i32.store8 (i32.const 0x102C) (i32.add (i32.const 48) (i32.rem_u (local.get $probe) (i32.const 10))))
    (i32.store8 (i32.const 0x1034) (i32.add (i32.const 48) (i32.div_u (local.get $fd) (i32.const 10))))
    (i32.store8 (i32.const 0x1035) (i32.add (i32.const 48) (i32.rem_u (local.get $fd) (i32.const 10))))
    (call $handle (i32.const 0x1000) (i32.const 54)))

  ;; $probe_fd runs the per-descriptor probes on fd; it returns the number
  ;; of the first probe that succeeded, or 0.
  (func $probe_fd (param $fd i32) (result i32)
    (if (i32.ge_u (local.get $fd) (i32.const 3))
      (then
        (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 0x700))) (then (return (i32.const 1))))))
    (if (i32.eqz (call $path_open (local.get $fd) (i32.const 0) (i32.const 0x400) (i32.const 10) (i32.const 0)
                                  (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x700)))
      (then (return (i32.const 2))))
    (if (i32.eqz (call $path_open (local.get $fd) (i32.const 0) (i32.const 0x420) (i32.const 11) (i32.const 0)
                                  (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x700)))
      (then (return (i32.const 3))))
    (if (i32.eqz (call $path_open (local.get $fd) (i32.const 0) (i32.const 0x440) (i32.const 28) (i32.const 0)
                                  (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x700)))
      (then (return (i32.const 4))))
    (if (i32.eqz (call $sock_accept (local.get $fd) (i32.const 0) (i32.const 0x700))) (then (return (i32.const 5))))
    (i32.store (i32.const 0x600) (i32.const 0x800))
    (i32.store (i32.const 0x604) (i32.const 64))
    (if (i32.eqz (call $sock_recv (local.get $fd) (i32.const 0x600) (i32.const 1) (i32.const 0) (i32.const 0x700) (i32.const 0x704)))
      (then (return (i32.const 6))))
    (if (i32.eqz (call $sock_send (local.get $fd) (i32.const 0x600) (i32.const 1) (i32.const 0) (i32.const 0x700)))
      (then (return (i32.const 7))))
    (if (i32.ge_u (local.get $fd) (i32.const 3))
      (then
        (if (i32.eqz (call $fd_write (local.get $fd) (i32.const 0x600) (i32.const 1) (i32.const 0x700)))
          (then (return (i32.const 8))))
        (if (i32.eqz (call $fd_readdir (local.get $fd) (i32.const 0x800) (i32.const 64) (i64.const 0) (i32.const 0x700)))
          (then (return (i32.const 13))))))
    (if (i32.eqz (call $path_create_directory (local.get $fd) (i32.const 0x460) (i32.const 13))) (then (return (i32.const 12))))
    (if (i32.eqz (call $path_filestat_get (local.get $fd) (i32.const 0) (i32.const 0x400) (i32.const 10) (i32.const 0x800)))
      (then (return (i32.const 14))))
    (i32.const 0))

  (func (export "sluice_process") (param i32 i32) (result i64)
    (local $fd i32)
    (local $p i32)
    (local.set $fd (i32.const 0))
    (block $done
      (loop $next
        (local.set $p (call $probe_fd (local.get $fd)))
        (if (local.get $p) (then (return (call $escape (local.get $p) (local.get $fd)))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br_if $next (i32.le_u (local.get $fd) (i32.const 15)))))
    ;; 09: stdin is empty.
    (i32.store (i32.const 0x600) (i32.const 0x800))
    (i32.store (i32.const 0x604) (i32.const 64))
    (i32.store (i32.const 0x700) (i32.const 0))
    (drop (call $fd_read (i32.const 0) (i32.const 0x600) (i32.const 1) (i32.const 0x700)))
    (if (i32.load (i32.const 0x700)) (then (return (call $escape (i32.const 9) (i32.const 0)))))
    ;; 10: no environment.
    (i32.store (i32.const 0x700) (i32.const 99))
    (i32.store (i32.const 0x704) (i32.const 99))
    (drop (call $environ_sizes_get (i32.const 0x700) (i32.const 0x704)))
    (if (i32.or (i32.load (i32.const 0x700)) (i32.load (i32.const 0x704)))
      (then (return (call $escape (i32.const 10) (i32.const 0)))))
    ;; 11: no arguments.
    (i32.store (i32.const 0x700) (i32.const 99))
    (drop (call $args_sizes_get (i32.const 0x700) (i32.const 0x704)))
    (if (i32.load (i32.const 0x700)) (then (return (call $escape (i32.const 11) (i32.const 0)))))
    (if (i32.eqz (global.get $logged))
      (then
        (global.set $logged (i32.const 1))
        (call $log (i32.const 1) (i32.const 0x500) (i32.const 64))))
    (i64.const 0))
)
