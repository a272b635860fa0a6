//! What a plugin sends back: row selection, rows for named outputs, and the
//! encoding of the "SLR1" result.

use crate::encode::Encode;
use crate::page::{Page, Row};
use crate::types::Schema;
use crate::wire::{put_str, put_u32};
use crate::Error;

/// The magic of a result, "SLR1" in memory order.
pub const RESULT_MAGIC: u32 = 0x3152_4C53;

const KIND_SELECT: u8 = 1;
const KIND_ROWS: u8 = 2;
const KIND_ERROR: u8 = 3;

/// The name of the default output: it feeds the next plugin in the chain, or the
/// stream's default sink after the last plugin.
pub const DEFAULT_OUTPUT: &str = "";

/// Collects what a plugin sends for one call.
///
/// * Row selection on the default output, without copying: [`Output::keep`],
///   [`Output::drop`], [`Output::keep_all`], [`Output::drop_all`]. If the plugin
///   neither selects nor writes rows to the default output, every input row passes
///   through unchanged.
/// * Input rows to a named output, without copying: [`Output::route`].
/// * New rows, with any schema, to any output: [`Output::rows`].
///
/// An `Output` belongs to the call it was passed to; the SDK reuses its buffers
/// from call to call.
#[derive(Debug, Default)]
pub struct Output {
    nrows: Option<usize>,
    touched: bool,
    bitmap: Vec<u8>,
    routes: Vec<Route>,
    nroutes: usize,
    sections: Vec<RowsSection>,
    nsections: usize,
}

#[derive(Debug, Default)]
struct Route {
    output: String,
    bitmap: Vec<u8>,
}

/// The most rows one ROWS section carries (the host's per-section limit); more rows
/// for one output are sent as several sections.
pub const MAX_SECTION_ROWS: usize = 1_000_000;

#[derive(Debug, Default)]
struct RowsSection {
    output: String,
    schema: Schema,
    offsets: Vec<u32>,
    data: Vec<u8>,
    /// A row was begun and not ended or cancelled: the section is unusable.
    unfinished: bool,
}

impl RowsSection {
    /// The number of ROWS sections this output is encoded as.
    fn chunks(&self) -> usize {
        let n = self.offsets.len() - 1;
        ((n + MAX_SECTION_ROWS - 1) / MAX_SECTION_ROWS).max(1)
    }
}

impl Output {
    /// An empty output for a call with `nrows` input rows (`None`: flush, no input).
    pub(crate) fn reset(&mut self, nrows: Option<usize>) {
        self.nrows = nrows;
        self.touched = false;
        self.bitmap.clear();
        self.nroutes = 0;
        self.nsections = 0;
    }

    /// A fresh output, for tests of plugin code that run without the host.
    pub fn new(nrows: Option<usize>) -> Output {
        let mut o = Output::default();
        o.reset(nrows);
        o
    }

    /// The number of rows of the input page (`None` in flush).
    pub fn input_rows(&self) -> Option<usize> {
        self.nrows
    }

    #[inline]
    fn check_row(&self, op: &str, row: usize) -> usize {
        match self.nrows {
            None => panic!("sluice: Output::{} outside process (no input page)", op),
            Some(n) if row >= n => panic!(
                "sluice: Output::{}({}) on a page of {} rows",
                op, row, n
            ),
            Some(n) => n,
        }
    }

    #[inline]
    fn touch(&mut self, n: usize) {
        if !self.touched {
            self.touched = true;
            self.bitmap.clear();
            self.bitmap.resize((n + 7) / 8, 0xFF);
            if n % 8 != 0 {
                let last = self.bitmap.len() - 1;
                self.bitmap[last] = (1u8 << (n % 8)) - 1;
            }
        }
    }

    /// Keeps input row `row` on the default output (rows are kept unless dropped).
    /// Panics outside process or if `row` is out of range.
    #[inline]
    pub fn keep(&mut self, row: usize) {
        let n = self.check_row("keep", row);
        self.touch(n);
        self.bitmap[row / 8] |= 1 << (row % 8);
    }

    /// Drops input row `row` from the default output. Panics outside process or if
    /// `row` is out of range.
    #[inline]
    pub fn drop(&mut self, row: usize) {
        let n = self.check_row("drop", row);
        self.touch(n);
        self.bitmap[row / 8] &= !(1 << (row % 8));
    }

    /// Keeps (`true`) or drops (`false`) input row `row`.
    #[inline]
    pub fn set_kept(&mut self, row: usize, keep: bool) {
        if keep {
            self.keep(row)
        } else {
            self.drop(row)
        }
    }

    /// Keeps the rows of `page` (the call's input page) for which `keep` returns
    /// true and drops the others, visiting them in order; stops at the first
    /// error, which it returns (the call then fails). The same as calling
    /// [`Output::set_kept`] for each row, but it fills the selection a byte (eight
    /// rows) at a time: the host checks for timeouts on every loop iteration of a
    /// plugin, so a filter's row loop is cheapest written this way.
    ///
    /// ```ignore
    /// out.keep_where(page, |row| Ok(row.get::<i32>(age)?.map_or(false, |a| a >= 18)))?;
    /// ```
    pub fn keep_where<'a>(
        &mut self,
        page: &Page<'a>,
        mut keep: impl FnMut(&Row<'a>) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let n = self.nrows.expect("sluice: Output::keep_where outside process (no input page)");
        assert_eq!(page.num_rows(), n, "sluice: Output::keep_where with a page of another call");
        self.touch(n);
        let bitmap = &mut self.bitmap;
        let full = n / 8;
        for g in 0..full {
            let base = g * 8;
            let mut byte = 0u8;
            // Eight rows per iteration, written out.
            macro_rules! row {
                ($k:expr) => {
                    match keep(&page.row(base + $k)) {
                        Ok(k) => byte |= (k as u8) << $k,
                        Err(e) => {
                            let done = (1u8 << $k) - 1;
                            bitmap[g] = (bitmap[g] & !done) | byte;
                            return Err(e);
                        }
                    }
                };
            }
            row!(0);
            row!(1);
            row!(2);
            row!(3);
            row!(4);
            row!(5);
            row!(6);
            row!(7);
            bitmap[g] = byte;
        }
        for i in full * 8..n {
            let k = keep(&page.row(i))?;
            let bit = 1u8 << (i % 8);
            bitmap[i / 8] = if k { bitmap[i / 8] | bit } else { bitmap[i / 8] & !bit };
        }
        Ok(())
    }

    /// Whether input row `row` is currently kept.
    pub fn is_kept(&self, row: usize) -> bool {
        self.check_row("is_kept", row);
        !self.touched || self.bitmap[row / 8] & (1 << (row % 8)) != 0
    }

    /// Keeps every input row (undoes drops).
    pub fn keep_all(&mut self) {
        let n = self.nrows.expect("sluice: Output::keep_all outside process (no input page)");
        self.touched = false;
        self.touch(n);
    }

    /// Drops every input row from the default output; keep some back with
    /// [`Output::keep`].
    pub fn drop_all(&mut self) {
        let n = self.nrows.expect("sluice: Output::drop_all outside process (no input page)");
        self.touch(n);
        for b in self.bitmap.iter_mut() {
            *b = 0;
        }
    }

    /// Sends input row `row`, unchanged and without copying, to the named output
    /// `output` (which must not be the default output: use [`Output::keep`] for that).
    /// It does not change whether the row is kept on the default output.
    pub fn route(&mut self, output: &str, row: usize) {
        assert!(
            !output.is_empty(),
            "sluice: Output::route to the default output: use keep/drop"
        );
        let n = self.check_row("route", row);
        let i = match self.routes[..self.nroutes].iter().position(|r| r.output == output) {
            Some(i) => i,
            None => {
                if self.nroutes == self.routes.len() {
                    self.routes.push(Route::default());
                }
                let r = &mut self.routes[self.nroutes];
                r.output.clear();
                r.output.push_str(output);
                r.bitmap.clear();
                r.bitmap.resize((n + 7) / 8, 0);
                self.nroutes += 1;
                self.nroutes - 1
            }
        };
        self.routes[i].bitmap[row / 8] |= 1 << (row % 8);
    }

    /// Starts (or continues) writing rows of `schema` to `output` (`""` = default).
    /// All rows written to one output in one call must share one schema. Rows written
    /// to the default output replace the pass-through: combine them with
    /// [`Output::keep`] only when `schema` is the input page's schema.
    pub fn rows(&mut self, output: &str, schema: &Schema) -> Result<RowWriter<'_>, Error> {
        let active = &self.sections[..self.nsections];
        let i = match active.iter().position(|s| s.output == output) {
            Some(i) => {
                if self.sections[i].schema != *schema {
                    return Err(Error::new(format!(
                        "output {:?}: rows of schema ({}) after rows of schema ({}) in one result",
                        output, schema, self.sections[i].schema
                    )));
                }
                i
            }
            None => {
                schema
                    .validate()
                    .map_err(|e| e.context(format_args!("output {:?}: schema", output)))?;
                if schema.is_empty() {
                    return Err(Error::new(format!("output {:?}: schema without columns", output)));
                }
                if self.nsections == self.sections.len() {
                    self.sections.push(RowsSection::default());
                }
                let s = &mut self.sections[self.nsections];
                s.output.clear();
                s.output.push_str(output);
                if s.schema != *schema {
                    s.schema = schema.clone();
                }
                s.offsets.clear();
                s.offsets.push(0);
                s.data.clear();
                s.unfinished = false;
                self.nsections += 1;
                self.nsections - 1
            }
        };
        let sec = &mut self.sections[i];
        Ok(RowWriter { row_start: sec.data.len(), col: 0, err: None, same_schema: None, sec })
    }

    /// Appends the "SLR1" encoding of this output to `dst` (cleared first). Leaves
    /// `dst` empty when every input row passes through unchanged (the host's
    /// handle 0) or, in flush, when nothing was written.
    pub(crate) fn encode(&mut self, input: Option<&Schema>, dst: &mut Vec<u8>) -> Result<(), Error> {
        dst.clear();
        let nsections = self.nsections;
        if self.touched {
            if let Some(s) = self.sections[..nsections].iter().find(|s| s.output.is_empty()) {
                if input != Some(&s.schema) {
                    return Err(Error::new(format!(
                        "sluice sdk: rows were both selected (keep/drop) and written to the default output with another schema ({}, input {}); one output has one schema per call",
                        s.schema,
                        input.map(|i| i.to_string()).unwrap_or_default()
                    )));
                }
            }
        }
        if let Some(s) = self.sections[..nsections].iter().find(|s| s.unfinished) {
            return Err(Error::new(format!(
                "output {:?}: a row was begun and neither ended nor cancelled",
                s.output
            )));
        }
        let default_rows = self.sections[..nsections].iter().any(|s| s.output.is_empty());
        let others = self.nroutes + nsections;
        let n = self.nrows.unwrap_or(0);
        // Whether the default output gets a SELECT section. The same decisions as the
        // Go SDK, so that equal plugins give byte-identical results.
        let select = match self.nrows {
            None => {
                if others == 0 {
                    return Ok(()); // flush wrote nothing: handle 0
                }
                false
            }
            Some(_) if self.touched => {
                if others == 0 && bitmap_all(&self.bitmap, n, true) {
                    return Ok(()); // every row passes through: handle 0
                }
                // Without a section the default output gets nothing, which is what an
                // all-clear bitmap says.
                default_rows || !bitmap_all(&self.bitmap, n, false)
            }
            Some(_) if others == 0 => return Ok(()), // pass through: handle 0
            Some(_) if default_rows => false,
            Some(_) => {
                self.touch(n); // only named outputs were written: every row passes
                true
            }
        };
        let nsec = self.nroutes
            + self.sections[..nsections].iter().map(|s| s.chunks()).sum::<usize>()
            + select as usize;
        put_u32(dst, RESULT_MAGIC);
        put_u32(dst, nsec as u32);
        if select {
            put_select(dst, DEFAULT_OUTPUT, n, &self.bitmap);
        }
        for r in &self.routes[..self.nroutes] {
            put_select(dst, &r.output, n, &r.bitmap);
        }
        for s in &self.sections[..nsections] {
            let nrows = s.offsets.len() - 1;
            let mut first = 0;
            // One section per MAX_SECTION_ROWS rows (the host's per-section limit);
            // the host concatenates sections of one output.
            loop {
                let last = (first + MAX_SECTION_ROWS).min(nrows);
                let base = s.offsets[first];
                dst.push(KIND_ROWS);
                put_str(dst, &s.output);
                put_u32(dst, s.schema.len() as u32);
                s.schema.encode_columns(dst);
                put_u32(dst, (last - first) as u32);
                let body = &s.data[base as usize..s.offsets[last] as usize];
                dst.reserve((last - first + 1) * 4 + body.len());
                for o in &s.offsets[first..=last] {
                    put_u32(dst, *o - base);
                }
                dst.extend_from_slice(body);
                first = last;
                if first >= nrows {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Whether the first `n` bits of `bm` are all `set`; eight bytes per step (the
/// host checks for timeouts on every loop iteration of a plugin).
fn bitmap_all(bm: &[u8], n: usize, set: bool) -> bool {
    let full = &bm[..n / 8];
    let word = if set { u64::MAX } else { 0 };
    let mut chunks = full.chunks_exact(8);
    for c in &mut chunks {
        if u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) != word {
            return false;
        }
    }
    if !chunks.remainder().iter().all(|&b| b == word as u8) {
        return false;
    }
    if n % 8 == 0 {
        return true;
    }
    let mask = (1u8 << (n % 8)) - 1;
    bm[n / 8] & mask == if set { mask } else { 0 }
}

fn put_select(dst: &mut Vec<u8>, output: &str, n: usize, bm: &[u8]) {
    dst.push(KIND_SELECT);
    put_str(dst, output);
    put_u32(dst, n as u32);
    dst.extend_from_slice(bm);
}

/// Appends the "SLR1" encoding of a result made of one ERROR section to `dst`
/// (cleared first).
pub(crate) fn encode_error(dst: &mut Vec<u8>, e: &Error) {
    dst.clear();
    put_u32(dst, RESULT_MAGIC);
    put_u32(dst, 1);
    dst.push(KIND_ERROR);
    let row: i64 = e.row().map_or(-1, |r| r as i64);
    dst.extend_from_slice(&row.to_le_bytes());
    put_str(dst, e.message());
}

/// Writes rows to one output, cell by cell, in column order:
///
/// ```ignore
/// let mut w = out.rows("counts", &schema)?;
/// w.put(key).put(count).end_row()?;
/// ```
///
/// `put` never fails on the spot: the first problem (wrong type, value out of range,
/// too many cells) is kept and returned by [`RowWriter::end_row`], which then
/// discards the row.
pub struct RowWriter<'o> {
    sec: &'o mut RowsSection,
    row_start: usize,
    col: usize,
    err: Option<Error>,
    /// The last input schema given to `row` and whether it equals this output's.
    same_schema: Option<(*const Schema, bool)>,
}

impl<'o> RowWriter<'o> {
    fn begin_cell(&mut self) -> Option<usize> {
        if self.err.is_some() {
            return None;
        }
        self.sec.unfinished = true;
        if self.col >= self.sec.schema.len() {
            self.err = Some(Error::new(format!(
                "output {:?}: more cells than the {} columns of its schema",
                self.sec.output,
                self.sec.schema.len()
            )));
            return None;
        }
        Some(self.col)
    }

    /// Writes the next cell from a Rust value (see [`Encode`]); a `None` writes null.
    pub fn put<V: Encode>(&mut self, v: V) -> &mut Self {
        let col = match self.begin_cell() {
            Some(c) => c,
            None => return self,
        };
        let data = &mut self.sec.data;
        if v.is_null() {
            data.extend_from_slice(&(-1i32).to_le_bytes());
        } else {
            let at = data.len();
            data.extend_from_slice(&[0; 4]);
            let column = &self.sec.schema.columns()[col];
            if let Err(e) = v.encode(&column.ty, data) {
                self.err = Some(e.context(format_args!(
                    "output {:?} column {:?}",
                    self.sec.output, column.name
                )));
                return self;
            }
            let n = (data.len() - at - 4) as i32;
            data[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        self.col += 1;
        self
    }

    /// Writes a null cell.
    pub fn null(&mut self) -> &mut Self {
        if self.begin_cell().is_some() {
            self.sec.data.extend_from_slice(&(-1i32).to_le_bytes());
            self.col += 1;
        }
        self
    }

    /// Writes the next cell from raw CQL bytes (`None` = null), unchecked: the bytes
    /// must be a valid encoding of the column's type.
    pub fn raw(&mut self, b: Option<&[u8]>) -> &mut Self {
        if self.begin_cell().is_some() {
            let data = &mut self.sec.data;
            match b {
                None => data.extend_from_slice(&(-1i32).to_le_bytes()),
                Some(b) => {
                    data.extend_from_slice(&(b.len() as i32).to_le_bytes());
                    data.extend_from_slice(b);
                }
            }
            self.col += 1;
        }
        self
    }

    /// Copies every cell of an input row, which must have this output's schema (or at
    /// least as many columns left to fill, of the same types).
    pub fn row(&mut self, row: &Row<'_>) -> &mut Self {
        let same = match self.same_schema {
            Some((p, eq)) if std::ptr::eq(p, row.schema()) => eq,
            _ => {
                let eq = *row.schema() == self.sec.schema;
                self.same_schema = Some((row.schema() as *const Schema, eq));
                eq
            }
        };
        if self.err.is_none() && self.col == 0 && same {
            match row.checked_bytes() {
                Ok(b) => self.sec.data.extend_from_slice(b),
                Err(e) => {
                    self.sec.unfinished = true;
                    self.err = Some(e);
                    return self;
                }
            }
            self.sec.unfinished = true;
            self.col = self.sec.schema.len();
            return self;
        }
        for c in row.cells() {
            self.put(c);
        }
        self
    }

    /// Ends the row. Fails with the first error of its cells, or when the row has
    /// fewer cells than the schema has columns; the row is then discarded.
    pub fn end_row(&mut self) -> Result<(), Error> {
        if self.err.is_none() && self.col != self.sec.schema.len() {
            self.err = Some(Error::new(format!(
                "output {:?}: row has {} cells, its schema {} columns",
                self.sec.output,
                self.col,
                self.sec.schema.len()
            )));
        }
        if let Some(e) = self.err.take() {
            self.cancel_row();
            return Err(e);
        }
        if self.sec.data.len() > u32::MAX as usize {
            self.cancel_row();
            return Err(Error::new(format!(
                "output {:?}: rows area larger than 4 GiB",
                self.sec.output
            )));
        }
        self.sec.offsets.push(self.sec.data.len() as u32);
        self.sec.unfinished = false;
        self.row_start = self.sec.data.len();
        self.col = 0;
        Ok(())
    }

    /// Discards the row being written.
    pub fn cancel_row(&mut self) {
        self.sec.data.truncate(self.row_start);
        self.sec.unfinished = false;
        self.col = 0;
        self.err = None;
    }

    /// The number of rows written to this output so far in this call.
    pub fn len(&self) -> usize {
        self.sec.offsets.len() - 1
    }

    /// True when no row was written to this output in this call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The output's schema.
    pub fn schema(&self) -> &Schema {
        &self.sec.schema
    }
}


/// The dead-letter output (ABI.md, "Dead-letter output"): see [`Output::reject`].
pub const REJECTED_OUTPUT: &str = "sluice.rejected";

/// The last column of every dead-letter row: why the plugin rejected it (text).
pub const REJECT_REASON_COLUMN: &str = "sluice_reject_reason";

// Kept at the end of the file: panic locations carry line numbers, so code
// added above would change every committed example .wasm.
impl Output {
    /// Sends input row `row` to the dead-letter output [`REJECTED_OUTPUT`] with
    /// `reason`, and drops it from the default output: the row's cells unchanged,
    /// then the text column [`REJECT_REASON_COLUMN`]. The one way a stream goes on
    /// past a bad row, by the plugin's choice, counted by the host; the stream must
    /// route `"sluice.rejected"` to a sink. Panics outside process.
    pub fn reject(&mut self, row: &Row<'_>, reason: &str) -> Result<(), Error> {
        let idx = row.index();
        self.check_row("reject", idx);
        let mut schema = row.schema().clone();
        schema.push(REJECT_REASON_COLUMN, crate::types::Type::text());
        {
            let mut w = self.rows(REJECTED_OUTPUT, &schema)?;
            w.row(row).put(reason);
            w.end_row()?;
        }
        self.drop(idx);
        Ok(())
    }
}
