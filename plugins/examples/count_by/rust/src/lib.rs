//! The sluice example plugin "count_by" in Rust: it counts the rows per value of a
//! column and emits (value text, count bigint) rows at the end of the stream; its
//! counts survive a hot swap through snapshot/restore, in a format shared by every
//! SDK language (a Go snapshot restores here and vice versa). Its behaviour is
//! specified in plugins/examples/README.md.
//!
//! Built from plugins/ by `make rust-all` (see rust.mk for the exact flags):
//!
//!     cargo build --target wasm32-unknown-unknown --release -p count_by
//!
//! then copied from target/wasm32-unknown-unknown/release/count_by.wasm to
//! examples/count_by/rust/count_by.wasm.

use std::collections::BTreeMap;
use std::fmt::Write;

use sluice::{quote, Config, Date, Error, Output, Page, Plugin, Schema, Time, Timestamp, Type, TypeId, Uuid};

/// "SCB1" as a little-endian u32.
const SNAPSHOT_MAGIC: u32 = 0x3142_4353;

struct CountBy {
    column: String,
    output: String,
    /// Counts of non-NULL keys; a BTreeMap keeps them in bytewise order.
    counts: BTreeMap<Vec<u8>, u64>,
    /// Rows whose cell is NULL.
    null_count: u64,
    /// Column index and type, for the schema id they were computed for.
    resolved: Option<(u64, Result<(usize, TypeId), Error>)>,
    key: Vec<u8>,
    schema: Schema,
}

impl Plugin for CountBy {
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("count_by");
        cfg.unknown(&["column", "output"]).map_err(ctx)?;
        cfg.single(&["column", "output"]).map_err(ctx)?;
        let column = cfg.require("column").map_err(ctx)?.to_string();
        let output = cfg.get("output").unwrap_or("").to_string();
        Ok(CountBy {
            column,
            output,
            counts: BTreeMap::new(),
            null_count: 0,
            resolved: None,
            key: Vec::new(),
            schema: Schema::new().with("value", Type::text()).with("count", Type::bigint()),
        })
    }

    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        if self.resolved.as_ref().map(|r| r.0) != Some(page.schema_id()) {
            self.resolved = Some((page.schema_id(), self.resolve(page)));
        }
        let (col, ty) = match &self.resolved {
            Some((_, Ok(r))) => *r,
            Some((_, Err(e))) => return Err(e.clone()),
            None => unreachable!(),
        };
        for row in page.rows() {
            let b = match row.cell_at(col).raw() {
                None => {
                    self.null_count += 1;
                    continue;
                }
                Some(b) => b,
            };
            self.key.clear();
            if let Err(msg) = render(&mut self.key, ty, b) {
                return Err(Error::at_row(
                    row.index(),
                    format!("count_by: row {}: column {}: {}", row.index(), quote(&self.column), msg),
                ));
            }
            match self.counts.get_mut(self.key.as_slice()) {
                Some(n) => *n += 1,
                None => {
                    self.counts.insert(self.key.clone(), 1);
                }
            }
        }
        if self.output.is_empty() {
            out.drop_all();
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Output) -> Result<(), Error> {
        if self.null_count == 0 && self.counts.is_empty() {
            return Ok(());
        }
        let mut w = out.rows(&self.output, &self.schema).map_err(|e| e.context("count_by"))?;
        if self.null_count > 0 {
            w.null().put(self.null_count as i64).end_row().map_err(|e| e.context("count_by"))?;
        }
        for (k, n) in &self.counts {
            w.raw(Some(k)).put(*n as i64).end_row().map_err(|e| e.context("count_by"))?;
        }
        self.null_count = 0;
        self.counts.clear();
        Ok(())
    }

    /// README: "Snapshot and restore".
    fn snapshot(&self) -> Option<Vec<u8>> {
        let mut b = Vec::new();
        b.extend_from_slice(&SNAPSHOT_MAGIC.to_le_bytes());
        b.extend_from_slice(&(self.column.len() as u32).to_le_bytes());
        b.extend_from_slice(self.column.as_bytes());
        let n = self.counts.len() + (self.null_count > 0) as usize;
        b.extend_from_slice(&(n as u32).to_le_bytes());
        if self.null_count > 0 {
            b.extend_from_slice(&(-1i32).to_le_bytes());
            b.extend_from_slice(&self.null_count.to_le_bytes());
        }
        for (k, n) in &self.counts {
            b.extend_from_slice(&(k.len() as u32).to_le_bytes());
            b.extend_from_slice(k);
            b.extend_from_slice(&n.to_le_bytes());
        }
        Some(b)
    }

    /// Replaces the counts with those of a snapshot; on error they are left as they
    /// were.
    fn restore(&mut self, b: &[u8]) -> Result<(), Error> {
        let fail = |msg: String| Error::new(format!("count_by: restore: {}", msg));
        let mut off = 0usize;
        let u32_at = |off: &mut usize, what: &str| -> Result<u32, Error> {
            if b.len() - *off < 4 {
                return Err(fail(format!("{} at byte {}: truncated ({} bytes left)", what, off, b.len() - *off)));
            }
            let v = u32::from_le_bytes([b[*off], b[*off + 1], b[*off + 2], b[*off + 3]]);
            *off += 4;
            Ok(v)
        };
        let magic = u32_at(&mut off, "magic")?;
        if magic != SNAPSHOT_MAGIC {
            return Err(fail(format!("magic 0x{:08X}, want 0x{:08X} (\"SCB1\")", magic, SNAPSHOT_MAGIC)));
        }
        let clen = u32_at(&mut off, "column length")? as usize;
        if clen > b.len() - off {
            return Err(fail(format!("column length {} beyond the {} bytes left", clen, b.len() - off)));
        }
        let column = &b[off..off + clen];
        off += clen;
        let n = u32_at(&mut off, "key count")? as usize;
        // Each entry takes at least 12 bytes: bound n before allocating.
        if n.saturating_mul(12) > b.len() - off {
            return Err(fail(format!("{} keys need at least {} bytes, {} left", n, n as u64 * 12, b.len() - off)));
        }
        let mut counts = BTreeMap::new();
        let mut null_count = 0;
        let mut prev: Option<&[u8]> = None;
        for i in 0..n {
            let klen = u32_at(&mut off, &format!("key {} length", i))? as i32;
            let key = match klen {
                -1 if i != 0 => return Err(fail(format!("key {} is NULL, which must come first", i))),
                -1 => None,
                k if k < -1 => return Err(fail(format!("key {} length {}", i, k))),
                k if k as usize > b.len() - off => {
                    return Err(fail(format!("key {} length {} beyond the {} bytes left", i, k, b.len() - off)))
                }
                k => {
                    let key = &b[off..off + k as usize];
                    off += k as usize;
                    if let Some(p) = prev {
                        if p >= key {
                            return Err(fail(format!("key {} does not sort after key {}", i, i - 1)));
                        }
                    }
                    prev = Some(key);
                    Some(key)
                }
            };
            if b.len() - off < 8 {
                return Err(fail(format!("key {} count at byte {}: truncated ({} bytes left)", i, off, b.len() - off)));
            }
            let mut c = [0u8; 8];
            c.copy_from_slice(&b[off..off + 8]);
            off += 8;
            let cnt = u64::from_le_bytes(c);
            if cnt == 0 {
                return Err(fail(format!("key {} has count 0", i)));
            }
            match key {
                None => null_count = cnt,
                Some(k) => {
                    counts.insert(k.to_vec(), cnt);
                }
            }
        }
        if off != b.len() {
            return Err(fail(format!("{} trailing bytes after {} keys", b.len() - off, n)));
        }
        if column != self.column.as_bytes() {
            return Err(fail(format!(
                "snapshot counts column {}, config column is {}",
                quote(&String::from_utf8_lossy(column)),
                quote(&self.column)
            )));
        }
        self.counts = counts;
        self.null_count = null_count;
        Ok(())
    }
}

impl CountBy {
    fn resolve(&self, page: &Page<'_>) -> Result<(usize, TypeId), Error> {
        let col = page.require_column(&self.column).map_err(|e| e.context("count_by"))?;
        let ty = page.schema().column(col).ty.id;
        use TypeId::*;
        match ty {
            Ascii | Text | Tinyint | Smallint | Int | Bigint | Counter | Boolean | Timestamp | Date
            | Time | Uuid | Timeuuid | Blob => Ok((col, ty)),
            _ => Err(Error::new(format!(
                "count_by: column {} has type {}, which count_by cannot count (supported: ascii, text, tinyint, smallint, int, bigint, counter, boolean, timestamp, date, time, uuid, timeuuid, blob)",
                quote(&self.column),
                ty
            ))),
        }
    }
}

/// Appends the text rendering of a non-NULL cell of type `ty` to `dst` (README:
/// "Keys: the text rendering of a cell"), or returns what is wrong with it.
fn render(dst: &mut Vec<u8>, ty: TypeId, b: &[u8]) -> Result<(), String> {
    if b.is_empty() {
        if ty == TypeId::Blob {
            dst.extend_from_slice(b"0x");
        }
        return Ok(());
    }
    let bad = || format!("invalid {} cell of {} bytes", ty, b.len());
    let fixed = |n: usize| if b.len() == n { Ok(()) } else { Err(bad()) };
    let mut s = String::new();
    match ty {
        TypeId::Ascii | TypeId::Text => {
            dst.extend_from_slice(b);
            return Ok(());
        }
        TypeId::Blob => {
            s.push_str("0x");
            for x in b {
                let _ = write!(s, "{:02x}", x);
            }
        }
        TypeId::Tinyint => {
            fixed(1)?;
            let _ = write!(s, "{}", b[0] as i8);
        }
        TypeId::Smallint => {
            fixed(2)?;
            let _ = write!(s, "{}", i16::from_be_bytes([b[0], b[1]]));
        }
        TypeId::Int => {
            fixed(4)?;
            let _ = write!(s, "{}", i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        }
        TypeId::Bigint | TypeId::Counter => {
            fixed(8)?;
            let _ = write!(s, "{}", be_i64(b));
        }
        TypeId::Boolean => {
            fixed(1)?;
            s.push_str(if b[0] != 0 { "true" } else { "false" });
        }
        TypeId::Timestamp => {
            fixed(8)?;
            let ms = be_i64(b);
            let y = sluice::civil_from_days(ms.div_euclid(86_400_000)).0;
            if !(0..=9999).contains(&y) {
                return Err(format!("timestamp {} is outside years 0000-9999", ms));
            }
            let _ = write!(s, "{}", Timestamp(ms));
        }
        TypeId::Date => {
            fixed(4)?;
            let d = Date(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let y = d.ymd().0;
            if !(0..=9999).contains(&y) {
                return Err(format!("date {} is outside years 0000-9999", d.days_since_epoch()));
            }
            let _ = write!(s, "{}", d);
        }
        TypeId::Time => {
            fixed(8)?;
            let ns = be_i64(b);
            if !(0..86_400_000_000_000).contains(&ns) {
                return Err(bad());
            }
            let _ = write!(s, "{}", Time(ns));
        }
        TypeId::Uuid | TypeId::Timeuuid => {
            fixed(16)?;
            let mut u = [0u8; 16];
            u.copy_from_slice(b);
            let _ = write!(s, "{}", Uuid(u));
        }
        _ => return Err(format!("internal error: render of type {}", ty)),
    }
    dst.extend_from_slice(s.as_bytes());
    Ok(())
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    i64::from_be_bytes(a)
}

sluice::plugin!(CountBy);
