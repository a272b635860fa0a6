//! Little-endian framing readers and writers shared by the page, config and type decoders.

use crate::Error;

/// A bounds-checked little-endian reader over a byte slice. Every read names what it
/// was reading, so a truncated input reports "truncated reading <what> at byte N".
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    /// Names the structure being read ("page", "config", "snapshot"...), for errors.
    pub(crate) what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::new(format!("{}: {} at byte {}", self.what, msg, self.pos))
    }

    pub(crate) fn bytes(&mut self, n: usize, field: &str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            return Err(self.err(format_args!(
                "truncated reading {} ({} bytes needed, {} left)",
                field,
                n,
                self.remaining()
            )));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8, Error> {
        Ok(self.bytes(1, field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16, Error> {
        let b = self.bytes(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32, Error> {
        let b = self.bytes(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64, Error> {
        let b = self.bytes(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads a `str`: u32 length, then that many UTF-8 bytes.
    pub(crate) fn str(&mut self, field: &str) -> Result<&'a str, Error> {
        let n = self.u32(field)? as usize;
        let start = self.pos;
        let b = self.bytes(n, field)?;
        std::str::from_utf8(b).map_err(|_| {
            Error::new(format!(
                "{}: {} is not valid UTF-8 at byte {}",
                self.what, field, start
            ))
        })
    }
}

#[inline]
pub(crate) fn put_u16(dst: &mut Vec<u8>, v: u16) {
    dst.extend_from_slice(&v.to_le_bytes());
}

#[inline]
pub(crate) fn put_u32(dst: &mut Vec<u8>, v: u32) {
    dst.extend_from_slice(&v.to_le_bytes());
}

#[inline]
pub(crate) fn put_str(dst: &mut Vec<u8>, s: &str) {
    put_u32(dst, s.len() as u32);
    dst.extend_from_slice(s.as_bytes());
}

/// Reads the little-endian u32 at index `i` of a packed array.
#[inline]
pub(crate) fn le_u32_at(b: &[u8], i: usize) -> u32 {
    let o = i * 4;
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Reads the little-endian i32 cell length prefix at byte `pos` (caller checked bounds).
#[inline]
pub(crate) fn le_i32_at(b: &[u8], pos: usize) -> i32 {
    i32::from_le_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]])
}

/// Whether `a` starts with `b`, comparing eight bytes per step (the host checks
/// for timeouts on every loop iteration of a plugin; `[u8]::starts_with` compares
/// byte by byte on wasm32).
pub(crate) fn starts_with(a: &[u8], b: &[u8]) -> bool {
    if a.len() < b.len() {
        return false;
    }
    let a = &a[..b.len()];
    let mut x = a.chunks_exact(8);
    let mut y = b.chunks_exact(8);
    for (p, q) in (&mut x).zip(&mut y) {
        let p = u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]);
        let q = u64::from_le_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]]);
        if p != q {
            return false;
        }
    }
    x.remainder() == y.remainder()
}
