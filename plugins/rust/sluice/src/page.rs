//! The input page ("SLP1") and its rows.

use crate::types::Schema;
use crate::error::quote;
use crate::value::{Cell, Fault, FromCell};
use crate::wire::{le_i32_at, le_u32_at, Reader};
use crate::Error;

/// The magic of a page, "SLP1" in memory order.
pub const PAGE_MAGIC: u32 = 0x3150_4C53;

/// One page of rows handed to [`Plugin::process`](crate::Plugin::process). It borrows
/// the input buffer, which the host overwrites before the next call: copy out
/// (`to_vec`, `to_string`) whatever must outlive the call.
///
/// The SDK validates the page's structure (header, schema, row offsets) before the
/// plugin sees it, and each cell's framing when the cell is read, so a page costs
/// nothing for the cells a plugin never reads. A cell whose framing is malformed
/// (which the host never sends) is an error from [`Row::get`] and [`Row::cell`];
/// the infallible accessors ([`Row::cell_at`], [`Row::cells`], [`Row::bytes`])
/// read it as null, and the SDK fails the call with that error whatever the plugin
/// returns.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    schema_id: u64,
    number: u64,
    split: u32,
    nrows: usize,
    schema: &'a Schema,
    offsets: &'a [u8],
    data: &'a [u8],
}

/// The parts of a page header that precede the schema, and where things are.
pub(crate) struct PageLayout {
    pub number: u64,
    pub split: u32,
    pub ncols: usize,
    pub nrows: usize,
    /// Byte range of the column descriptors.
    pub schema_start: usize,
}

impl<'a> Page<'a> {
    /// Reads the fixed header. Returns the layout; the schema comes next.
    pub(crate) fn read_header(b: &[u8]) -> Result<PageLayout, Error> {
        let mut r = Reader::new(b, "page");
        let magic = r.u32("magic")?;
        if magic != PAGE_MAGIC {
            return Err(Error::new(format!(
                "page: bad magic 0x{:08X} (want 0x{:08X} \"SLP1\")",
                magic, PAGE_MAGIC
            )));
        }
        let _flags = r.u32("flags")?;
        let number = r.u64("page number")?;
        let split = r.u32("split")?;
        let ncols = r.u32("column count")? as usize;
        let nrows = r.u32("row count")? as usize;
        Ok(PageLayout { number, split, ncols, nrows, schema_start: r.pos })
    }

    /// Validates the offsets and rows that follow the schema (at byte `at`) and
    /// builds the page view.
    pub(crate) fn assemble(
        b: &'a [u8],
        layout: &PageLayout,
        at: usize,
        schema: &'a Schema,
        schema_id: u64,
    ) -> Result<Page<'a>, Error> {
        let mut r = Reader::new(b, "page");
        r.pos = at;
        let nrows = layout.nrows;
        if nrows > (r.remaining() / 4).saturating_sub(1) {
            return Err(r.err(format_args!(
                "{} rows need {} bytes of offsets, {} left",
                nrows,
                (nrows as u64 + 1) * 4,
                r.remaining()
            )));
        }
        let offsets = r.bytes((nrows + 1) * 4, "row offsets")?;
        let data = &b[r.pos..];
        let page = Page {
            schema_id,
            number: layout.number,
            split: layout.split,
            nrows,
            schema,
            offsets,
            data,
        };
        page.validate_rows()?;
        Ok(page)
    }

    /// Checks the offsets: 0 first, the rows area's length last, never decreasing
    /// (so every row lies in the rows area). Cells are checked when read.
    fn validate_rows(&self) -> Result<(), Error> {
        let n = self.nrows;
        let first = le_u32_at(self.offsets, 0);
        if first != 0 {
            return Err(Error::new(format!("page {}: offsets[0]={}, must be 0", self.number, first)));
        }
        let last = le_u32_at(self.offsets, n) as usize;
        if last != self.data.len() {
            return Err(Error::new(format!(
                "page {}: offsets[{}]={}, must equal the rows area length {}",
                self.number,
                n,
                last,
                self.data.len()
            )));
        }
        // Eight offsets per step (the host checks for timeouts on every loop
        // iteration of a plugin), then one by one from the first failing step.
        let mut prev = 0u32;
        let mut i = 0;
        for chunk in self.offsets[4..].chunks_exact(32) {
            let o = |k: usize| le_u32_at(chunk, k);
            let (o0, o1, o2, o3, o4, o5, o6, o7) = (o(0), o(1), o(2), o(3), o(4), o(5), o(6), o(7));
            let bad = (o0 < prev)
                | (o1 < o0)
                | (o2 < o1)
                | (o3 < o2)
                | (o4 < o3)
                | (o5 < o4)
                | (o6 < o5)
                | (o7 < o6);
            if bad {
                break;
            }
            prev = o7;
            i += 8;
        }
        while i < n {
            let end = le_u32_at(self.offsets, i + 1);
            if end < prev {
                return Err(Error::new(format!(
                    "page {}: offsets[{}]={} below offsets[{}]={}",
                    self.number,
                    i + 1,
                    end,
                    i,
                    prev
                )));
            }
            prev = end;
            i += 1;
        }
        Ok(())
    }

    /// The 1-based page number within the stream.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The split index (0 when the stream is not split).
    pub fn split(&self) -> u32 {
        self.split
    }

    /// The columns.
    pub fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// An id of the page's schema within this instance: it stays the same while
    /// consecutive pages carry the same schema and changes when the schema changes.
    /// Key per-schema work (resolving column names, checking types) on it.
    pub fn schema_id(&self) -> u64 {
        self.schema_id
    }

    /// The index of the column called `name`: resolve names once per page and read
    /// cells by index in the row loop.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.schema.index(name)
    }

    /// Like [`Page::column`], but a missing column is an error naming the columns
    /// the page has.
    pub fn require_column(&self, name: &str) -> Result<usize, Error> {
        self.schema.index(name).ok_or_else(|| missing_column(self.schema, name))
    }

    /// Number of rows.
    #[inline]
    pub fn num_rows(&self) -> usize {
        self.nrows
    }

    /// True when the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.nrows == 0
    }

    /// Row `i` (0-based). Panics if `i >= num_rows()`.
    #[inline]
    pub fn row(&self, i: usize) -> Row<'a> {
        assert!(i < self.nrows, "sluice: row {} of a page of {} rows", i, self.nrows);
        let start = le_u32_at(self.offsets, i) as usize;
        let end = le_u32_at(self.offsets, i + 1) as usize;
        crate::rt::ROW_SLOT.store(i as i32, core::sync::atomic::Ordering::Relaxed);
        Row { index: i, page: self.number, bytes: &self.data[start..end], schema: self.schema }
    }

    /// Iterates over the rows.
    pub fn rows(&self) -> Rows<'a> {
        Rows { page: *self, next: 0 }
    }

    /// The rows area of the page (every row's cells, in the ABI layout).
    pub fn rows_area(&self) -> &'a [u8] {
        self.data
    }
}

pub(crate) fn missing_column(schema: &Schema, name: &str) -> Error {
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name.as_str()).collect();
    Error::new(format!("column {} not found (columns: {})", quote(name), names.join(", ")))
}

/// Iterator over the rows of a [`Page`].
#[derive(Clone, Debug)]
pub struct Rows<'a> {
    page: Page<'a>,
    next: usize,
}

impl<'a> Iterator for Rows<'a> {
    type Item = Row<'a>;
    #[inline]
    fn next(&mut self) -> Option<Row<'a>> {
        if self.next >= self.page.nrows {
            return None;
        }
        self.next += 1;
        Some(self.page.row(self.next - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.page.nrows - self.next;
        (n, Some(n))
    }
}

impl<'a> ExactSizeIterator for Rows<'a> {}

/// A column given by index or by name.
pub trait ColumnRef {
    /// The column index in `schema`, or an error naming the column.
    fn resolve(&self, schema: &Schema) -> Result<usize, Error>;
}

impl ColumnRef for usize {
    #[inline]
    fn resolve(&self, schema: &Schema) -> Result<usize, Error> {
        if *self < schema.len() {
            Ok(*self)
        } else {
            Err(Error::new(format!(
                "column index {} out of range ({} columns)",
                self,
                schema.len()
            )))
        }
    }
}

impl ColumnRef for &str {
    fn resolve(&self, schema: &Schema) -> Result<usize, Error> {
        schema.index(self).ok_or_else(|| missing_column(schema, self))
    }
}

impl ColumnRef for &String {
    fn resolve(&self, schema: &Schema) -> Result<usize, Error> {
        self.as_str().resolve(schema)
    }
}

/// One row of a page: a view of its cells.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    index: usize,
    page: u64,
    bytes: &'a [u8],
    schema: &'a Schema,
}

thread_local! {
    /// The first malformed cell framing found during the current call (see
    /// [`Page`]); the SDK reports it after the plugin returns.
    static FAULT: std::cell::RefCell<Option<Error>> = std::cell::RefCell::new(None);
}

/// Records a malformed page found while reading cells; the first one wins.
pub(crate) fn record_fault(e: &Error) {
    FAULT.with(|f| {
        let mut f = f.borrow_mut();
        if f.is_none() {
            *f = Some(e.clone());
        }
    });
}

/// Takes (and clears) the recorded fault.
pub(crate) fn take_fault() -> Option<Error> {
    FAULT.with(|f| f.borrow_mut().take())
}

/// Where one cell starts and its length (-1 = null).
#[derive(Clone, Copy)]
struct Framing {
    at: usize,
    len: i32,
}

impl<'a> Row<'a> {
    fn fault(&self, col: usize, what: std::fmt::Arguments<'_>) -> Error {
        Error::new(format!("sluice sdk: decode page: page {}: row {} column {}: {}", self.page, self.index, col, what))
    }

    /// The framing of the cell at byte `pos`, column `col`, checked against the row.
    #[inline]
    fn framing(&self, pos: usize, col: usize) -> Result<Framing, Error> {
        let b = self.bytes;
        if b.len() - pos < 4 {
            return Err(self.fault(col, format_args!("truncated cell length")));
        }
        let len = le_i32_at(b, pos);
        if len < -1 {
            return Err(self.fault(col, format_args!("cell length {} (must be >= -1)", len)));
        }
        if len > 0 && b.len() - pos - 4 < len as usize {
            return Err(self.fault(
                col,
                format_args!("cell of {} bytes overruns the row ({} bytes left)", len, b.len() - pos - 4),
            ));
        }
        Ok(Framing { at: pos + 4, len })
    }

    /// The byte after the cell at `pos` (column `col`).
    #[inline]
    fn skip(&self, pos: usize, col: usize) -> Result<usize, Error> {
        let f = self.framing(pos, col)?;
        Ok(f.at + f.len.max(0) as usize)
    }

    /// Locates cell `i` (< the schema's length), four cells per step.
    fn locate(&self, i: usize) -> Result<Cell<'a>, Error> {
        let mut pos = 0;
        let mut c = 0;
        while i - c >= 4 {
            pos = self.skip(pos, c)?;
            pos = self.skip(pos, c + 1)?;
            pos = self.skip(pos, c + 2)?;
            pos = self.skip(pos, c + 3)?;
            c += 4;
        }
        if i - c >= 2 {
            pos = self.skip(pos, c)?;
            pos = self.skip(pos, c + 1)?;
            c += 2;
        }
        if i - c == 1 {
            pos = self.skip(pos, c)?;
        }
        let f = self.framing(pos, i)?;
        let ty = &self.schema.column(i).ty;
        Ok(Cell::new(ty, if f.len < 0 { None } else { Some(&self.bytes[f.at..f.at + f.len as usize]) }))
    }

    /// Checks the framing of every cell and that nothing follows the last one.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let n = self.schema.len();
        let mut pos = 0;
        let mut c = 0;
        while n - c >= 4 {
            pos = self.skip(pos, c)?;
            pos = self.skip(pos, c + 1)?;
            pos = self.skip(pos, c + 2)?;
            pos = self.skip(pos, c + 3)?;
            c += 4;
        }
        while c < n {
            pos = self.skip(pos, c)?;
            c += 1;
        }
        if pos != self.bytes.len() {
            return Err(Error::new(format!(
                "sluice sdk: decode page: page {}: row {}: {} bytes after the last cell",
                self.page,
                self.index,
                self.bytes.len() - pos
            )));
        }
        Ok(())
    }
}

impl<'a> Row<'a> {
    /// The row's index in its page (what [`Output::keep`](crate::Output::keep) and
    /// [`Error::at_row`] take).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The page's schema.
    pub fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// The cell of column `col` (index or name). Reading by index is faster: a name
    /// is looked up in the schema on every call.
    pub fn cell(&self, col: impl ColumnRef) -> Result<Cell<'a>, Error> {
        let i = col.resolve(self.schema)?;
        self.locate(i).map_err(|e| {
            record_fault(&e);
            e
        })
    }

    /// The cell of column `i`. Panics if `i` is out of range. A malformed cell (see
    /// [`Page`]) reads as null.
    pub fn cell_at(&self, i: usize) -> Cell<'a> {
        let ty = &self.schema.column(i).ty;
        match self.locate(i) {
            Ok(c) => c,
            Err(e) => {
                record_fault(&e);
                Cell::new(ty, None)
            }
        }
    }

    /// Reads column `col` as `T`: `Ok(None)` for null (and for an empty value of a
    /// type without an empty form). See [`Cell::get`] for the conversions. Errors, with
    /// the same words as the other SDKs:
    ///
    /// * `column "<name>" not found (columns: a, b)`
    /// * `column "<name>" has type <type>, want <what T reads>`
    /// * `row <i>: column "<name>": invalid <type> cell of <n> bytes[: <detail>]`, an
    ///   error about row `i`.
    pub fn get<T: FromCell<'a>>(&self, col: impl ColumnRef) -> Result<Option<T>, Error> {
        let i = col.resolve(self.schema)?;
        let c = self.schema.column(i);
        let cell = self.locate(i).map_err(|e| {
            record_fault(&e);
            e
        })?;
        cell.decode::<T>().map_err(|f| match f {
            Fault::Type => Error::new(format!(
                "column {} has type {}, want {}",
                quote(&c.name),
                c.ty,
                T::WANT
            )),
            Fault::Invalid(e) => Error::at_row(
                self.index,
                format!("row {}: column {}: {}", self.index, quote(&c.name), e.message()),
            ),
        })
    }

    /// True when column `col` is null.
    pub fn is_null(&self, col: impl ColumnRef) -> Result<bool, Error> {
        Ok(self.cell(col)?.is_null())
    }

    /// Iterates over the cells in column order.
    pub fn cells(&self) -> RowCells<'a> {
        RowCells { row: *self, pos: 0, col: 0 }
    }

    /// The row's bytes in the ABI rows-area layout (each cell an i32 little-endian
    /// length, -1 for null, then the value bytes). A row whose framing is malformed
    /// (see [`Page`]) gives no bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.checked_bytes().unwrap_or(&[])
    }

    /// The row's bytes after checking their framing, or the fault (also recorded).
    pub(crate) fn checked_bytes(&self) -> Result<&'a [u8], Error> {
        self.check().map(|()| self.bytes).map_err(|e| {
            record_fault(&e);
            e
        })
    }

    /// An error about this row.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::at_row(self.index, message)
    }
}

/// Iterator over the cells of a [`Row`].
#[derive(Clone, Debug)]
pub struct RowCells<'a> {
    row: Row<'a>,
    pos: usize,
    col: usize,
}

impl<'a> Iterator for RowCells<'a> {
    type Item = Cell<'a>;
    /// The next cell; after a malformed one (see [`Page`]), nulls.
    fn next(&mut self) -> Option<Cell<'a>> {
        let ncols = self.row.schema.len();
        if self.col >= ncols {
            return None;
        }
        let ty = &self.row.schema.column(self.col).ty;
        let col = self.col;
        self.col += 1;
        if self.pos == usize::MAX {
            return Some(Cell::new(ty, None)); // after a fault
        }
        let f = match self.row.framing(self.pos, col) {
            Ok(f) => f,
            Err(e) => {
                record_fault(&e);
                self.pos = usize::MAX;
                return Some(Cell::new(ty, None));
            }
        };
        self.pos = f.at + f.len.max(0) as usize;
        if self.col == ncols && self.pos != self.row.bytes.len() {
            record_fault(&Error::new(format!(
                "sluice sdk: decode page: page {}: row {}: {} bytes after the last cell",
                self.row.page,
                self.row.index,
                self.row.bytes.len() - self.pos
            )));
        }
        if f.len < 0 {
            return Some(Cell::new(ty, None));
        }
        Some(Cell::new(ty, Some(&self.row.bytes[f.at..f.at + f.len as usize])))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.row.schema.len() - self.col;
        (n, Some(n))
    }
}

impl<'a> ExactSizeIterator for RowCells<'a> {}
