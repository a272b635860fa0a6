;; even.wat: a sluice plugin written by hand against the raw ABI v1
;; (abi/ABI.md), with no SDK. It keeps the rows whose first column, an int,
;; is even, drops the others (NULL and empty cells too), and at the end of
;; the stream logs how many rows it kept. Every line is commented, so this
;; file doubles as a walk-through of the ABI for a language without an SDK.
;;
;; Built (from this directory; see build.sh) with:
;;
;;   wat2wasm even.wat -o even.wasm
;;
;; (memory.copy and memory.fill are bulk-memory instructions, part of
;; WebAssembly 2.0, enabled by default in wabt and in wazero.)
;;
;; Memory map (one 64 KiB page = 65536 bytes):
;;   0x0000 - 0x03FF  constant strings (the data segments below)
;;   0x0400 - 0x04FF  scratch for the log message built at flush
;;   0x0800 - 0xFFFF  ERROR results (built here, they are small)
;;   0x10000 -        the input buffer handed out by sluice_alloc; the SELECT
;;                    result of a page is built right after the page.
(module
  ;; ---- imports ----
  ;; sluice.log(level, ptr, len): level 0 debug, 1 info, 2 warn, 3 error.
  ;; The only import: the module needs no WASI at all.
  (import "sluice" "log" (func $log (param i32 i32 i32)))

  ;; ---- memory ----
  ;; Two pages to start with; sluice_alloc grows it for big pages. The host
  ;; reads and writes guest memory through this export.
  (memory (export "memory") 2)

  ;; ---- constant strings ----
  (data (i32.const 0x0000) "even: the first column must be an int")        ;; 37 bytes
  (data (i32.const 0x0040) "even: takes no config")                        ;; 21 bytes
  (data (i32.const 0x0080) "even: invalid int cell")                       ;; 22 bytes
  (data (i32.const 0x00C0) "even: malformed page")                         ;; 20 bytes
  (data (i32.const 0x0100) "even: kept ")                                  ;; 11 bytes
  (data (i32.const 0x0110) " of ")                                         ;; 4 bytes
  (data (i32.const 0x0120) " rows")                                        ;; 5 bytes

  ;; ---- state ----
  (global $kept (mut i64) (i64.const 0))  ;; rows kept so far
  (global $seen (mut i64) (i64.const 0))  ;; rows seen so far

  ;; ---- helpers ----

  ;; Little-endian u32 at any address (ABI framing is little-endian and
  ;; unaligned: align=1 tells the engine not to assume alignment).
  (func $u32 (param $p i32) (result i32)
    (i32.load align=1 (local.get $p)))

  ;; A handle: (ptr << 32) | len, both u32, as one i64. It tells the host
  ;; where the result is; it stays valid until the next call into the module.
  (func $handle (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; Builds an SLR1 result with one ERROR section at 0x0800 and returns its
  ;; handle. An ERROR stops the stream; $row is the input row it is about,
  ;; or -1.
  (func $error (param $row i64) (param $msg i32) (param $len i32) (result i64)
    ;; u32 magic "SLR1" (0x31524C53 little-endian) and u32 nsections = 1
    (i32.store (i32.const 0x0800) (i32.const 0x31524C53))
    (i32.store (i32.const 0x0804) (i32.const 1))
    ;; u8 kind = 3 (ERROR), then i64 row, then str message (u32 len + bytes)
    (i32.store8 (i32.const 0x0808) (i32.const 3))
    (i64.store align=1 (i32.const 0x0809) (local.get $row))
    (i32.store align=1 (i32.const 0x0811) (local.get $len))
    (memory.copy (i32.const 0x0815) (local.get $msg) (local.get $len))
    (call $handle (i32.const 0x0800) (i32.add (i32.const 21) (local.get $len))))

  ;; Skips one TypeDesc starting at $p and returns the address after it.
  ;; A TypeDesc is a u16 type id, then, for composite types, more: the
  ;; element types of list/set/map, the fields of a udt or tuple, the
  ;; element type and dimensions of a vector, the class name of a custom
  ;; type. We only need to skip them to find where the rows start.
  (func $skip_type (param $p i32) (result i32)
    (local $id i32) (local $n i32)
    (local.set $id (i32.load16_u align=1 (local.get $p)))    ;; u16 id
    (local.set $p (i32.add (local.get $p) (i32.const 2)))
    ;; 0x0000 custom: str class name
    (if (i32.eqz (local.get $id))
      (then (return (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p))))))
    ;; 0x0020 list, 0x0022 set: one element type
    (if (i32.or (i32.eq (local.get $id) (i32.const 0x20)) (i32.eq (local.get $id) (i32.const 0x22)))
      (then (return (call $skip_type (local.get $p)))))
    ;; 0x0021 map: key type, value type
    (if (i32.eq (local.get $id) (i32.const 0x21))
      (then (return (call $skip_type (call $skip_type (local.get $p))))))
    ;; 0x0050 vector: element type, then u32 dimensions
    (if (i32.eq (local.get $id) (i32.const 0x50))
      (then (return (i32.add (call $skip_type (local.get $p)) (i32.const 4)))))
    ;; 0x0030 udt: str keyspace, str name, u16 n, n x (str field, TypeDesc)
    (if (i32.eq (local.get $id) (i32.const 0x30))
      (then
        (local.set $p (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p)))) ;; keyspace
        (local.set $p (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p)))) ;; name
        (local.set $n (i32.load16_u align=1 (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (block $done
          (loop $field
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $p (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p)))) ;; field name
            (local.set $p (call $skip_type (local.get $p)))                                           ;; field type
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $field)))
        (return (local.get $p))))
    ;; 0x0031 tuple: u16 n, n x TypeDesc
    (if (i32.eq (local.get $id) (i32.const 0x31))
      (then
        (local.set $n (i32.load16_u align=1 (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (block $done
          (loop $elem
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $p (call $skip_type (local.get $p)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $elem)))
        (return (local.get $p))))
    ;; every other id is a scalar: the id is the whole descriptor
    (local.get $p))

  ;; Writes $v in decimal at $dst and returns the address after it.
  (func $decimal (param $dst i32) (param $v i64) (result i32)
    (local $len i32) (local $t i64) (local $i i32)
    ;; count the digits
    (local.set $t (local.get $v))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (br_if $count (i64.ne (local.get $t) (i64.const 0))))
    ;; write them from the last one back
    (local.set $i (local.get $len))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (local.get $i)))
    (i32.add (local.get $dst) (local.get $len)))

  ;; ---- exports: the ABI ----

  ;; sluice_abi_version() -> i32: (major << 16) | minor = ABI 1.0.
  (func (export "sluice_abi_version") (result i32)
    (i32.const 0x00010000))

  ;; sluice_alloc(size) -> ptr: where the host writes the input of the next
  ;; call. We always hand out 0x10000, first growing memory so that the
  ;; input and the result built after it (at most size/32 + 64 bytes: one
  ;; bit per row, and every row has at least one 4-byte cell) both fit.
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32) (local $have i32)
    (local.set $need                             ;; bytes of memory needed
      (i32.add (i32.const 0x10000)
        (i32.add (i32.add (local.get $size) (i32.shr_u (local.get $size) (i32.const 5))) (i32.const 64))))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))   ;; pages x 65536
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        ;; grow by the missing pages, rounded up; -1 means the host's limit
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 0xFFFF)) (i32.const 16))))
          (then unreachable))))                  ;; out of memory: trap
    (i32.const 0x10000))

  ;; sluice_init(ptr, len) -> handle: the config, in SLC1:
  ;;   u32 magic "SLC1", u32 n, n x (str key, str value)
  ;; This plugin takes no config, so n must be 0. Handle 0 = success.
  (func (export "sluice_init") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.ne (call $u32 (i32.add (local.get $ptr) (i32.const 4))) (i32.const 0))
      (then (return (call $error (i64.const -1) (i32.const 0x0040) (i32.const 21)))))
    (i64.const 0))

  ;; sluice_process(ptr, len) -> handle: one page, in SLP1:
  ;;   u32 magic "SLP1", u32 flags, u64 page_no, u32 split, u32 ncols, u32 nrows,
  ;;   ncols x (str name, TypeDesc), u32 offsets[nrows+1], rows area
  ;; Each row in the rows area is, per column, an i32 length (-1 = NULL)
  ;; and that many bytes of the CQL value (big-endian, as Cassandra sends).
  ;; We answer with one SELECT section: a bitmap, 1 bit per row, 1 = keep.
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (result i64)
    (local $ncols i32) (local $nrows i32) (local $p i32) (local $i i32)
    (local $offsets i32) (local $rows i32) (local $res i32) (local $bitmap i32)
    (local $cell i32) (local $clen i32) (local $k i64)
    (if (i32.lt_u (local.get $len) (i32.const 28))           ;; shorter than the header
      (then (return (call $error (i64.const -1) (i32.const 0x00C0) (i32.const 20)))))
    (local.set $ncols (call $u32 (i32.add (local.get $ptr) (i32.const 20))))
    (local.set $nrows (call $u32 (i32.add (local.get $ptr) (i32.const 24))))
    (local.set $p (i32.add (local.get $ptr) (i32.const 28)))  ;; first column
    ;; The first column must exist and be an int (type id 0x0009): its
    ;; TypeDesc follows its name (u32 length + bytes).
    (if (i32.eqz (local.get $ncols))
      (then (return (call $error (i64.const -1) (i32.const 0x0000) (i32.const 37)))))
    (if (i32.ne (i32.load16_u align=1 (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p))))
                (i32.const 0x0009))
      (then (return (call $error (i64.const -1) (i32.const 0x0000) (i32.const 37)))))
    ;; Skip every column descriptor to find the offsets.
    (block $done
      (loop $col
        (br_if $done (i32.eq (local.get $i) (local.get $ncols)))
        (local.set $p (i32.add (i32.add (local.get $p) (i32.const 4)) (call $u32 (local.get $p)))) ;; name
        (local.set $p (call $skip_type (local.get $p)))                                           ;; type
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $col)))
    (local.set $offsets (local.get $p))
    (local.set $rows (i32.add (local.get $offsets) (i32.shl (i32.add (local.get $nrows) (i32.const 1)) (i32.const 2))))
    ;; The result goes right after the page, 8-byte aligned (sluice_alloc
    ;; made sure it fits):
    ;;   u32 magic "SLR1", u32 nsections = 1,
    ;;   u8 kind = 1 (SELECT), str output = "" (the default output),
    ;;   u32 nrows (must equal the page's), ceil(nrows/8) bitmap bytes
    (local.set $res (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (i32.store (local.get $res) (i32.const 0x31524C53))
    (i32.store offset=4 (local.get $res) (i32.const 1))
    (i32.store8 offset=8 (local.get $res) (i32.const 1))
    (i32.store offset=9 align=1 (local.get $res) (i32.const 0))
    (i32.store offset=13 align=1 (local.get $res) (local.get $nrows))
    (local.set $bitmap (i32.add (local.get $res) (i32.const 17)))
    (memory.fill (local.get $bitmap) (i32.const 0) (i32.shr_u (i32.add (local.get $nrows) (i32.const 7)) (i32.const 3)))
    ;; For each row: its first cell is at rows + offsets[i].
    (local.set $i (i32.const 0))
    (block $done
      (loop $row
        (br_if $done (i32.eq (local.get $i) (local.get $nrows)))
        (local.set $cell (i32.add (local.get $rows) (call $u32 (i32.add (local.get $offsets) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $clen (call $u32 (local.get $cell)))
        ;; -1 (NULL) and 0 (empty) are dropped; an int cell has 4 bytes; any
        ;; other length is an error about this row.
        (if (i32.and (i32.ne (local.get $clen) (i32.const -1))
                     (i32.and (i32.ne (local.get $clen) (i32.const 0)) (i32.ne (local.get $clen) (i32.const 4))))
          (then (return (call $error (i64.extend_i32_u (local.get $i)) (i32.const 0x0080) (i32.const 22)))))
        ;; The value is big-endian: its lowest byte, the last of the 4, says
        ;; whether it is even. Keep the row: set bit i (LSB-first) of the bitmap.
        (if (i32.and (i32.eq (local.get $clen) (i32.const 4))
                     (i32.eqz (i32.and (i32.load8_u offset=7 (local.get $cell)) (i32.const 1))))
          (then
            (i32.store8 (i32.add (local.get $bitmap) (i32.shr_u (local.get $i) (i32.const 3)))
              (i32.or (i32.load8_u (i32.add (local.get $bitmap) (i32.shr_u (local.get $i) (i32.const 3))))
                      (i32.shl (i32.const 1) (i32.and (local.get $i) (i32.const 7)))))
            (local.set $k (i64.add (local.get $k) (i64.const 1)))))  ;; one more kept
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))
    ;; The page is done: count it (a page that failed above is not counted).
    (global.set $kept (i64.add (global.get $kept) (local.get $k)))
    (global.set $seen (i64.add (global.get $seen) (i64.extend_i32_u (local.get $nrows))))
    (call $handle (local.get $res)
      (i32.add (i32.const 17) (i32.shr_u (i32.add (local.get $nrows) (i32.const 7)) (i32.const 3)))))

  ;; sluice_flush() -> handle: end of stream. We emit no rows (handle 0)
  ;; and log "even: kept K of N rows" at level 1 (info).
  (func (export "sluice_flush") (result i64)
    (local $p i32)
    (memory.copy (i32.const 0x0400) (i32.const 0x0100) (i32.const 11))   ;; "even: kept "
    (local.set $p (call $decimal (i32.const 0x040B) (global.get $kept)))
    (memory.copy (local.get $p) (i32.const 0x0110) (i32.const 4))        ;; " of "
    (local.set $p (call $decimal (i32.add (local.get $p) (i32.const 4)) (global.get $seen)))
    (memory.copy (local.get $p) (i32.const 0x0120) (i32.const 5))        ;; " rows"
    (call $log (i32.const 1) (i32.const 0x0400) (i32.sub (i32.add (local.get $p) (i32.const 5)) (i32.const 0x0400)))
    (i64.const 0))

  ;; No sluice_snapshot/sluice_restore: they are optional, and without them
  ;; the host knows this plugin has no state to hand over on a hot swap.
)
