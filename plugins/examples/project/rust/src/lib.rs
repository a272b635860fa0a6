//! The sluice example plugin "project" in Rust: it selects, orders and renames
//! columns and appends one computed column (len or upper of a text column),
//! emitting new rows on the default output. Its behaviour is specified in
//! plugins/examples/README.md, identically for every SDK language.
//!
//! Built from plugins/ by `make rust-all` (see rust.mk for the exact flags):
//!
//!     cargo build --target wasm32-unknown-unknown --release -p project
//!
//! then copied from target/wasm32-unknown-unknown/release/project.wasm to
//! examples/project/rust/project.wasm.

use std::collections::HashSet;

use sluice::{quote, Config, Error, Output, Page, Plugin, Schema, Type, TypeId};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Func {
    Len,
    Upper,
}

struct Project {
    /// (source, output name) per `columns` entry.
    columns: Vec<(String, String)>,
    /// The computed column: function, source and output name.
    compute: Option<(Func, String, String)>,
    /// Resolution for the schema id it was computed for.
    resolved: Option<(u64, Result<Resolved, Error>)>,
    upper: Vec<u8>,
}

/// The output schema and where its cells come from, for one input schema.
struct Resolved {
    cols: Vec<usize>,
    compute_col: usize,
    schema: Schema,
}

impl Plugin for Project {
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("project");
        cfg.unknown(&["columns", "compute", "compute_as"]).map_err(ctx)?;
        cfg.single(&["compute", "compute_as"]).map_err(ctx)?;
        let entries = cfg.all("columns");
        if entries.is_empty() {
            return Err(Error::new("project: missing config key \"columns\""));
        }
        let mut columns = Vec::new();
        for e in entries {
            let (src, name) = match e.split_once(':') {
                Some((s, n)) => (s, n),
                None => (e, e),
            };
            if src.is_empty() || name.is_empty() {
                return Err(Error::new(format!(
                    "project: columns entry {} is not \"source\" or \"source:name\"",
                    quote(e)
                )));
            }
            columns.push((src.to_string(), name.to_string()));
        }
        let mut compute = None;
        if let Some(c) = cfg.get("compute") {
            let f = match c.split_once(':') {
                Some(("len", src)) if !src.is_empty() => (Func::Len, src, "len"),
                Some(("upper", src)) if !src.is_empty() => (Func::Upper, src, "upper"),
                _ => {
                    return Err(Error::new(format!(
                        "project: compute {} is not \"len:<column>\" or \"upper:<column>\"",
                        quote(c)
                    )))
                }
            };
            compute = Some((f.0, f.1.to_string(), format!("{}_{}", f.1, f.2)));
        }
        if let Some(name) = cfg.get("compute_as") {
            match compute.as_mut() {
                None => return Err(Error::new("project: compute_as needs compute")),
                Some(_) if name.is_empty() => return Err(Error::new("project: compute_as is empty")),
                Some(c) => c.2 = name.to_string(),
            }
        }
        let mut seen = HashSet::new();
        let names = columns.iter().map(|c| &c.1).chain(compute.iter().map(|c| &c.2));
        for n in names {
            if !seen.insert(n.as_str()) {
                return Err(Error::new(format!("project: output column {} appears twice", quote(n))));
            }
        }
        Ok(Project { columns, compute, resolved: None, upper: Vec::new() })
    }

    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        if self.resolved.as_ref().map(|r| r.0) != Some(page.schema_id()) {
            self.resolved = Some((page.schema_id(), self.resolve(page)));
        }
        let r = match &self.resolved {
            Some((_, Ok(r))) => r,
            Some((_, Err(e))) => return Err(e.clone()),
            None => unreachable!(),
        };
        let mut w = out.rows("", &r.schema).map_err(|e| e.context("project"))?;
        for row in page.rows() {
            for &c in &r.cols {
                w.raw(row.cell_at(c).raw());
            }
            if let Some((f, _, _)) = &self.compute {
                match row.cell_at(r.compute_col).raw() {
                    None => {
                        w.null();
                    }
                    Some(b) if *f == Func::Len => {
                        let n = b.iter().filter(|&&c| !(0x80..=0xBF).contains(&c)).count();
                        w.raw(Some(&(n as i32).to_be_bytes()));
                    }
                    Some(b) => {
                        self.upper.clear();
                        self.upper.extend(b.iter().map(|c| c.to_ascii_uppercase()));
                        w.raw(Some(&self.upper));
                    }
                }
            }
            w.end_row().map_err(|e| e.context("project"))?;
        }
        Ok(())
    }
}

impl Project {
    /// Maps the output columns onto the page's schema.
    fn resolve(&self, page: &Page<'_>) -> Result<Resolved, Error> {
        let input = page.schema();
        let mut schema = Schema::new();
        let mut cols = Vec::with_capacity(self.columns.len());
        for (src, name) in &self.columns {
            let i = page.require_column(src).map_err(|e| e.context("project"))?;
            cols.push(i);
            schema.push(name, input.column(i).ty.clone());
        }
        let mut compute_col = 0;
        if let Some((f, src, name)) = &self.compute {
            let i = page.require_column(src).map_err(|e| e.context("project"))?;
            let t = &input.column(i).ty;
            if t.id != TypeId::Text && t.id != TypeId::Ascii {
                return Err(Error::new(format!(
                    "project: compute source {} has type {}, want text or ascii",
                    quote(src),
                    t.id
                )));
            }
            compute_col = i;
            schema.push(name, if *f == Func::Len { Type::int() } else { t.clone() });
        }
        Ok(Resolved { cols, compute_col, schema })
    }
}

sluice::plugin!(Project);
