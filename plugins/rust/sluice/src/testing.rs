//! Running a plugin without the host, in native unit tests (`cargo test`):
//! build pages with [`Harness::page`] (a [`PageBuilder`]), drive the plugin
//! through the same byte encodings as the host with [`Harness::process`], and
//! read what it did from the typed [`Outcome`]: the rows it kept, and the rows
//! it wrote as a [`Page`] whose cells are read by column name.
//!
//! ```ignore
//! use sluice::testing::{Harness, NULL};
//! use sluice::{Config, Schema, Type};
//!
//! #[test]
//! fn keeps_adults() {
//!     let schema = Schema::new().with("id", Type::int()).with("age", Type::int());
//!     let mut h = Harness::<Adults>::new(&Config::from_pairs([("column", "age")])).unwrap();
//!     let page = h.page(&schema).row((1, 17)).row((2, 18)).row((3, NULL));
//!     let out = h.process(&page).unwrap();
//!     assert_eq!(out.kept(), [1]);
//! }
//! ```

use crate::encode::Encode;
use crate::output::RESULT_MAGIC;
use crate::page::{Page, PAGE_MAGIC};
use crate::types::Type;
use crate::rt::Runtime;
use crate::types::Schema;
use crate::wire::{put_u32, Reader};
use crate::{Config, Error, Plugin};

/// Builds an "SLP1" page, row by row.
#[derive(Clone, Debug)]
pub struct PageBuilder {
    schema: Schema,
    number: u64,
    split: u32,
    offsets: Vec<u32>,
    data: Vec<u8>,
    col: usize,
}

impl PageBuilder {
    /// A page of `schema`, number 1, split 0.
    pub fn new(schema: Schema) -> PageBuilder {
        PageBuilder { schema, number: 1, split: 0, offsets: vec![0], data: Vec::new(), col: 0 }
    }

    /// Sets the page number and split.
    pub fn at(mut self, number: u64, split: u32) -> PageBuilder {
        self.number = number;
        self.split = split;
        self
    }

    /// Appends a cell of raw CQL bytes (`None` = null).
    pub fn raw(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            None => self.data.extend_from_slice(&(-1i32).to_le_bytes()),
            Some(b) => {
                self.data.extend_from_slice(&(b.len() as i32).to_le_bytes());
                self.data.extend_from_slice(b);
            }
        }
        self.col += 1;
        self
    }

    /// Appends a cell from a Rust value, encoded for the column's type. Panics when
    /// the value does not fit the column (a bug in the test).
    pub fn put<V: Encode>(&mut self, v: V) -> &mut Self {
        if v.is_null() {
            return self.raw(None);
        }
        let ty = &self.schema.column(self.col).ty;
        let mut b = Vec::new();
        if let Err(e) = v.encode(ty, &mut b) {
            panic!("PageBuilder: column {}: {}", self.col, e);
        }
        self.raw(Some(&b))
    }

    /// Ends the row. Panics when the row does not have one cell per column.
    pub fn end_row(&mut self) -> &mut Self {
        assert_eq!(self.col, self.schema.len(), "PageBuilder: row has {} cells, schema {} columns", self.col, self.schema.len());
        self.offsets.push(self.data.len() as u32);
        self.col = 0;
        self
    }

    /// The "SLP1" bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut b = Vec::new();
        put_u32(&mut b, PAGE_MAGIC);
        put_u32(&mut b, 0);
        b.extend_from_slice(&self.number.to_le_bytes());
        put_u32(&mut b, self.split);
        put_u32(&mut b, self.schema.len() as u32);
        put_u32(&mut b, (self.offsets.len() - 1) as u32);
        self.schema.encode_columns(&mut b);
        for o in &self.offsets {
            put_u32(&mut b, *o);
        }
        b.extend_from_slice(&self.data);
        b
    }

    /// The number of complete rows.
    pub fn num_rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Appends one row from a tuple of values, one per column, each encoded for
    /// its column's type (see [`Encode`]; [`NULL`] or `None` for null):
    /// `page.row((1, "ann", NULL))`. Panics when the values do not fit the
    /// schema (a bug in the test).
    pub fn row<C: Cells>(mut self, cells: C) -> PageBuilder {
        cells.put_cells(&mut self);
        self.end_row();
        self
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

/// A null cell for [`PageBuilder::row`], of any column type.
#[derive(Clone, Copy, Debug)]
pub struct Null;

/// A null cell: `page.row((1, NULL))`.
pub const NULL: Null = Null;

impl Encode for Null {
    fn is_null(&self) -> bool {
        true
    }
    fn encode(&self, _: &Type, _: &mut Vec<u8>) -> Result<(), Error> {
        Err(Error::new("null value encoded"))
    }
}

/// The cells of one row: a tuple of up to 16 [`Encode`] values.
pub trait Cells {
    /// Appends the cells to the builder's current row.
    fn put_cells(&self, b: &mut PageBuilder);
}

macro_rules! tuple_cells {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Encode),+> Cells for ($($t,)+) {
            fn put_cells(&self, b: &mut PageBuilder) {
                $( b.put(&self.$i); )+
            }
        }
    };
}
tuple_cells!(A 0);
tuple_cells!(A 0, B 1);
tuple_cells!(A 0, B 1, C 2);
tuple_cells!(A 0, B 1, C 2, D 3);
tuple_cells!(A 0, B 1, C 2, D 3, E 4);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);

/// What a plugin did with one page (or at flush), decoded and typed.
#[derive(Clone, Debug)]
pub struct Outcome {
    input_rows: usize,
    /// `None` for the empty result: every input row passes unchanged.
    sections: Option<Vec<Section>>,
    /// Each ROWS section re-encoded as a page, so its rows read like input rows.
    pages: Vec<(String, Schema, Vec<u8>)>,
}

impl Outcome {
    fn new(sections: Option<Vec<Section>>, input_rows: usize) -> Outcome {
        let mut pages = Vec::new();
        for s in sections.iter().flatten() {
            if let Section::Rows { output, schema, rows } = s {
                let mut b = PageBuilder::new(schema.clone());
                for r in rows {
                    for c in r {
                        b.raw(c.as_deref());
                    }
                    b.end_row();
                }
                pages.push((output.clone(), schema.clone(), b.build()));
            }
        }
        Outcome { input_rows, sections, pages }
    }

    /// The sections, in order; empty for the empty result (see
    /// [`Outcome::is_pass_through`]).
    pub fn sections(&self) -> &[Section] {
        self.sections.as_deref().unwrap_or(&[])
    }

    /// True for the empty result: every input row goes on unchanged.
    pub fn is_pass_through(&self) -> bool {
        self.sections.is_none()
    }

    /// The indices of the input rows kept on the default output.
    pub fn kept(&self) -> Vec<usize> {
        self.kept_on("")
    }

    /// The indices of the input rows kept on `output` ("" = default): every row
    /// for the empty result on the default output, none when the plugin did not
    /// select for that output.
    pub fn kept_on(&self, output: &str) -> Vec<usize> {
        match &self.sections {
            None if output.is_empty() => (0..self.input_rows).collect(),
            None => Vec::new(),
            Some(secs) => secs
                .iter()
                .find(|s| matches!(s, Section::Select { output: o, .. } if o == output))
                .map(Section::kept)
                .unwrap_or_default(),
        }
    }

    /// The rows written to `output` ("" = default), as a page: read them with
    /// [`Page::rows`] and [`Row::get`](crate::Row::get) by column name. `None`
    /// when the plugin wrote no rows there.
    pub fn rows(&self, output: &str) -> Option<Page<'_>> {
        let (_, schema, b) = self.pages.iter().find(|p| p.0 == output)?;
        let layout = Page::read_header(b).expect("re-encoded page");
        let mut r = Reader::new(b, "page");
        r.pos = layout.schema_start;
        Schema::read_columns(&mut r, layout.ncols).expect("re-encoded schema");
        Some(Page::assemble(b, &layout, r.pos, schema, 1).expect("re-encoded page"))
    }
}

/// One decoded section of a result.
#[derive(Clone, Debug, PartialEq)]
pub enum Section {
    /// SELECT: input rows kept on `output` (bit i, LSB first, = row i).
    Select {
        /// Output name ("" = default).
        output: String,
        /// Number of rows the bitmap covers.
        nrows: usize,
        /// The bitmap.
        bitmap: Vec<u8>,
    },
    /// ROWS: new rows for `output`.
    Rows {
        /// Output name ("" = default).
        output: String,
        /// The rows' schema.
        schema: Schema,
        /// Each row's cells (`None` = null).
        rows: Vec<Vec<Option<Vec<u8>>>>,
    },
    /// ERROR.
    Error {
        /// The row, or -1.
        row: i64,
        /// The message.
        message: String,
    },
}

impl Section {
    /// For a SELECT: the indices of the kept rows.
    pub fn kept(&self) -> Vec<usize> {
        match self {
            Section::Select { nrows, bitmap, .. } => {
                (0..*nrows).filter(|i| bitmap[i / 8] & (1 << (i % 8)) != 0).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Decodes an "SLR1" result; an empty slice (handle 0) is `Ok(None)`.
pub fn decode_result(b: &[u8], input_rows: usize) -> Result<Option<Vec<Section>>, Error> {
    if b.is_empty() {
        return Ok(None);
    }
    let mut r = Reader::new(b, "result");
    let magic = r.u32("magic")?;
    if magic != RESULT_MAGIC {
        return Err(Error::new(format!("result: bad magic 0x{:08X}", magic)));
    }
    let n = r.u32("section count")?;
    let mut out = Vec::new();
    for _ in 0..n {
        let kind = r.u8("section kind")?;
        match kind {
            1 => {
                let output = r.str("output")?.to_string();
                let nrows = r.u32("nrows")? as usize;
                if nrows != input_rows {
                    return Err(Error::new(format!("result: SELECT of {} rows for an input of {}", nrows, input_rows)));
                }
                let bitmap = r.bytes((nrows + 7) / 8, "bitmap")?.to_vec();
                out.push(Section::Select { output, nrows, bitmap });
            }
            2 => {
                let output = r.str("output")?.to_string();
                let ncols = r.u32("ncols")? as usize;
                let schema = Schema::read_columns(&mut r, ncols)?;
                let nrows = r.u32("nrows")? as usize;
                let mut offs = Vec::with_capacity(nrows + 1);
                for _ in 0..=nrows {
                    offs.push(r.u32("offset")? as usize);
                }
                let area = r.bytes(*offs.last().unwrap_or(&0), "rows area")?;
                let mut rows = Vec::with_capacity(nrows);
                for i in 0..nrows {
                    let row = area
                        .get(offs[i]..offs[i + 1])
                        .ok_or_else(|| Error::new(format!("result: bad offsets at row {}", i)))?;
                    let mut rr = Reader::new(row, "result row");
                    let mut cells = Vec::with_capacity(ncols);
                    for _ in 0..ncols {
                        let len = rr.u32("cell length")? as i32;
                        cells.push(if len < 0 { None } else { Some(rr.bytes(len as usize, "cell")?.to_vec()) });
                    }
                    if rr.remaining() != 0 {
                        return Err(Error::new(format!("result: row {} has trailing bytes", i)));
                    }
                    rows.push(cells);
                }
                out.push(Section::Rows { output, schema, rows });
            }
            3 => {
                let row = r.u64("error row")? as i64;
                let message = r.str("error message")?.to_string();
                out.push(Section::Error { row, message });
            }
            k => return Err(Error::new(format!("result: unknown section kind {}", k))),
        }
    }
    if r.remaining() != 0 {
        return Err(Error::new(format!("result: {} trailing bytes", r.remaining())));
    }
    Ok(Some(out))
}

/// Runs a plugin natively through the ABI byte encodings, as the host would.
pub struct Harness<P: Plugin> {
    rt: Runtime,
    plugin: Option<P>,
    pages: std::cell::Cell<u64>,
}

/// The outcome of a call: `Ok(None)` for the empty result (handle 0), the sections
/// otherwise; an ERROR section is returned as `Err`.
pub type CallResult = Result<Option<Vec<Section>>, Error>;

fn check_error(res: Option<Vec<Section>>) -> CallResult {
    if let Some(secs) = &res {
        for s in secs {
            if let Section::Error { row, message } = s {
                let e = Error::new(message.clone());
                return Err(if *row >= 0 { e.with_row(*row as usize) } else { e });
            }
        }
    }
    Ok(res)
}

impl<P: Plugin> Harness<P> {
    /// Initialises the plugin with `config` (as `sluice_init`).
    pub fn new(config: &Config) -> Result<Harness<P>, Error> {
        let mut h = Harness { rt: Runtime::default(), plugin: None, pages: std::cell::Cell::new(0) };
        let res = h.rt.init(&mut h.plugin, &config.encode()).to_vec();
        check_error(decode_result(&res, 0)?)?;
        Ok(h)
    }

    /// Runs `sluice_process` on an encoded page and returns the raw sections.
    pub fn process_bytes(&mut self, page: &[u8]) -> CallResult {
        let nrows = Reader::new(page, "page")
            .bytes(28, "header")
            .map(|h| u32::from_le_bytes([h[24], h[25], h[26], h[27]]) as usize)
            .unwrap_or(0);
        let res = self.rt.process(&mut self.plugin, page).to_vec();
        check_error(decode_result(&res, nrows)?)
    }

    /// An empty page of `schema`, numbered after the pages built before it.
    pub fn page(&self, schema: &Schema) -> PageBuilder {
        self.pages.set(self.pages.get() + 1);
        PageBuilder::new(schema.clone()).at(self.pages.get(), 0)
    }

    /// Runs `sluice_process` on `page`. A plugin error (an ERROR section) is
    /// the `Err`, with its row when it names one.
    pub fn process(&mut self, page: &PageBuilder) -> Result<Outcome, Error> {
        let res = self.process_bytes(&page.build())?;
        Ok(Outcome::new(res, page.num_rows()))
    }

    /// Runs `sluice_flush`; the rows it writes are in the [`Outcome`].
    pub fn flush(&mut self) -> Result<Outcome, Error> {
        Ok(Outcome::new(self.flush_sections()?, 0))
    }

    /// Runs `sluice_flush` and returns the raw sections.
    pub fn flush_sections(&mut self) -> CallResult {
        let res = self.rt.flush(&mut self.plugin).to_vec();
        check_error(decode_result(&res, 0)?)
    }

    /// Runs `sluice_snapshot`.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, Error> {
        self.rt.snapshot(&mut self.plugin).map(|b| b.to_vec())
    }

    /// Runs `sluice_restore`.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), Error> {
        let res = self.rt.restore(&mut self.plugin, state).to_vec();
        check_error(decode_result(&res, 0)?).map(|_| ())
    }

    /// The plugin.
    pub fn plugin(&mut self) -> Option<&mut P> {
        self.plugin.as_mut()
    }
}
