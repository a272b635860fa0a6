// Little-endian framing: a bounds-checked reader over guest memory and a growable
// byte writer. Internal to the SDK.

/** Reads little-endian values from [ptr, end); the first failure is kept in `err`. */
export class Reader {
  base: usize;
  ptr: usize;
  end: usize;
  /** Names the structure read ("page", "config"...), for errors. */
  what: string;
  err: string | null = null;

  constructor(ptr: usize, len: usize, what: string) {
    this.base = ptr;
    this.ptr = ptr;
    this.end = ptr + len;
    this.what = what;
  }

  get pos(): i32 { return <i32>(this.ptr - this.base); }
  get remaining(): usize { return this.end - this.ptr; }
  get failed(): bool { return this.err !== null; }

  fail(msg: string): void {
    if (this.err === null) this.err = this.what + ": " + msg + " at byte " + this.pos.toString();
  }

  need(n: usize, field: string): bool {
    if (this.err !== null) return false;
    if (n > this.remaining) {
      this.fail("truncated reading " + field + " (" + n.toString() + " bytes needed, " + this.remaining.toString() + " left)");
      return false;
    }
    return true;
  }

  u8(field: string): u32 {
    if (!this.need(1, field)) return 0;
    const v = <u32>load<u8>(this.ptr);
    this.ptr += 1;
    return v;
  }

  u16(field: string): u32 {
    if (!this.need(2, field)) return 0;
    const v = <u32>load<u16>(this.ptr);
    this.ptr += 2;
    return v;
  }

  u32(field: string): u32 {
    if (!this.need(4, field)) return 0;
    const v = load<u32>(this.ptr);
    this.ptr += 4;
    return v;
  }

  u64(field: string): u64 {
    if (!this.need(8, field)) return 0;
    const v = load<u64>(this.ptr);
    this.ptr += 8;
    return v;
  }

  /** Skips a `str` and returns the pointer to its bytes; its length is in `lastLen`. */
  lastLen: u32 = 0;
  strPtr(field: string): usize {
    const n = this.u32(field);
    if (!this.need(<usize>n, field)) return 0;
    const p = this.ptr;
    this.ptr += <usize>n;
    this.lastLen = n;
    return p;
  }

  /** Reads a `str` (u32 length + UTF-8). Invalid UTF-8 is an error. */
  str(field: string): string {
    const at = this.pos;
    const p = this.strPtr(field);
    if (this.err !== null) return "";
    if (!validUTF8(p, <usize>this.lastLen)) {
      if (this.err === null) this.err = this.what + ": " + field + " is not valid UTF-8 at byte " + at.toString();
      return "";
    }
    return String.UTF8.decodeUnsafe(p, <usize>this.lastLen);
  }
}

/** Reports whether [ptr, ptr+len) is valid UTF-8. */
export function validUTF8(ptr: usize, len: usize): bool {
  const end = ptr + len;
  while (ptr < end) {
    const c = <u32>load<u8>(ptr);
    if (c < 0x80) { ptr++; continue; }
    let n: usize = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    if (end - ptr <= n) return false;
    for (let i: usize = 1; i <= n; i++) {
      const d = <u32>load<u8>(ptr + i);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    ptr += n + 1;
  }
  return true;
}

/** A growable byte buffer. The bytes live at `ptr` until the next growth. */
export class ByteWriter {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(cap: i32 = 256) {
    this.buf = new ArrayBuffer(cap);
  }

  get ptr(): usize { return changetype<usize>(this.buf); }

  reset(): void { this.len = 0; }

  /** Makes room for n more bytes and returns where they go. */
  grow(n: i32): usize {
    const need = this.len + n;
    if (need > this.buf.byteLength) {
      let cap = this.buf.byteLength * 2;
      if (cap < need) cap = need;
      const nb = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(nb), changetype<usize>(this.buf), <usize>this.len);
      this.buf = nb;
    }
    const p = changetype<usize>(this.buf) + <usize>this.len;
    this.len = need;
    return p;
  }

  u8(v: u32): void { store<u8>(this.grow(1), <u8>v); }
  u16(v: u32): void { store<u16>(this.grow(2), <u16>v); }
  u32(v: u32): void { store<u32>(this.grow(4), v); }
  i32(v: i32): void { store<i32>(this.grow(4), v); }
  u64(v: u64): void { store<u64>(this.grow(8), v); }
  i64(v: i64): void { store<i64>(this.grow(8), v); }
  /** Big-endian, for CQL values. */
  be16(v: u32): void { store<u16>(this.grow(2), bswap<u16>(<u16>v)); }
  be32(v: u32): void { store<u32>(this.grow(4), bswap<u32>(v)); }
  be64(v: u64): void { store<u64>(this.grow(8), bswap<u64>(v)); }

  bytes(ptr: usize, n: i32): void {
    if (n <= 0) return;
    const d = this.grow(n);
    memory.copy(d, ptr, <usize>n);
  }

  /** Appends the UTF-8 bytes of s. */
  utf8(s: string): void {
    const n = String.UTF8.byteLength(s);
    const d = this.grow(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, d);
  }

  /** Appends a `str`: u32 length + UTF-8. */
  str(s: string): void {
    this.u32(<u32>String.UTF8.byteLength(s));
    this.utf8(s);
  }

  /** Overwrites the little-endian i32 at byte offset `at`. */
  patchI32(at: i32, v: i32): void { store<i32>(changetype<usize>(this.buf) + <usize>at, v); }
  /** Overwrites the big-endian i32 at byte offset `at`. */
  patchBE32(at: i32, v: i32): void { store<u32>(changetype<usize>(this.buf) + <usize>at, bswap<u32>(<u32>v)); }

  /** A copy of the bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    memory.copy(changetype<usize>(out.buffer), changetype<usize>(this.buf), <usize>this.len);
    return out;
  }
}
