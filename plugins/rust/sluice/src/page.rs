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
/// The SDK validates the whole page (offsets and every cell length) before the plugin
/// sees it, so walking rows and cells never fails; only typed reads can.
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
        let ncols = self.schema.len();
        let mut prev = 0usize;
        for i in 0..n {
            let end = le_u32_at(self.offsets, i + 1) as usize;
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
            let mut pos = prev;
            for c in 0..ncols {
                if end - pos < 4 {
                    return Err(Error::new(format!(
                        "page {}: row {} column {}: truncated cell length",
                        self.number, i, c
                    )));
                }
                let len = le_i32_at(self.data, pos);
                pos += 4;
                if len < -1 {
                    return Err(Error::new(format!(
                        "page {}: row {} column {}: cell length {} (must be >= -1)",
                        self.number, i, c, len
                    )));
                }
                if len > 0 {
                    if (end - pos) < len as usize {
                        return Err(Error::new(format!(
                            "page {}: row {} column {}: cell of {} bytes overruns the row ({} bytes left)",
                            self.number,
                            i,
                            c,
                            len,
                            end - pos
                        )));
                    }
                    pos += len as usize;
                }
            }
            if pos != end {
                return Err(Error::new(format!(
                    "page {}: row {}: {} bytes after the last cell",
                    self.number,
                    i,
                    end - pos
                )));
            }
            prev = end;
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
    pub fn num_rows(&self) -> usize {
        self.nrows
    }

    /// True when the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.nrows == 0
    }

    /// Row `i` (0-based). Panics if `i >= num_rows()`.
    pub fn row(&self, i: usize) -> Row<'a> {
        assert!(i < self.nrows, "sluice: row {} of a page of {} rows", i, self.nrows);
        let start = le_u32_at(self.offsets, i) as usize;
        let end = le_u32_at(self.offsets, i + 1) as usize;
        Row { index: i, bytes: &self.data[start..end], schema: self.schema }
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
    bytes: &'a [u8],
    schema: &'a Schema,
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
        Ok(self.cell_at(col.resolve(self.schema)?))
    }

    /// The cell of column `i`. Panics if `i` is out of range.
    pub fn cell_at(&self, i: usize) -> Cell<'a> {
        let ty = &self.schema.column(i).ty;
        let mut pos = 0;
        let mut c = 0;
        loop {
            // The page was validated: every read is in bounds.
            let n = le_i32_at(self.bytes, pos);
            pos += 4;
            if c == i {
                return Cell::new(ty, if n < 0 { None } else { Some(&self.bytes[pos..pos + n as usize]) });
            }
            if n > 0 {
                pos += n as usize;
            }
            c += 1;
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
        self.cell_at(i).decode::<T>().map_err(|f| match f {
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
    /// length, -1 for null, then the value bytes).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
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
    fn next(&mut self) -> Option<Cell<'a>> {
        if self.col >= self.row.schema.len() {
            return None;
        }
        let ty = &self.row.schema.column(self.col).ty;
        let n = le_i32_at(self.row.bytes, self.pos);
        self.pos += 4;
        self.col += 1;
        if n < 0 {
            return Some(Cell::new(ty, None));
        }
        let b = &self.row.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Some(Cell::new(ty, Some(b)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.row.schema.len() - self.col;
        (n, Some(n))
    }
}

impl<'a> ExactSizeIterator for RowCells<'a> {}
