//! json_doc: a sluice plugin in Rust that turns each row into one JSON
//! document, with serde and serde_json from crates.io: the example that shows
//! a plugin crate using the crate ecosystem.
//!
//! Config:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `columns` | every column, in schema order | the columns to put in the document, in this order |
//! | `name` | `doc` | the name of the output column |
//!
//! Output: one ROWS section on the default output with a single `text` column,
//! one row per input row, holding `{"<column>": <value>, ...}` in the order of
//! `columns`. Values: null → `null`; integers, float/double → numbers (NaN
//! and infinities → `null`, as serde_json writes them); boolean; ascii/text →
//! strings; blob → `"0x…"` hex; uuid, timestamp, date, time, duration, inet,
//! varint, decimal → their text form (the same as `sluice plugin test`
//! prints; varint and decimal as strings so no digit is lost); list, set,
//! vector and tuple → arrays; map → an object when its keys are text, else an
//! array of `[key, value]` pairs; udt → an object by field name.
//!
//! Built from plugins/ by `make rust-all` (see rust.mk for the exact flags):
//!
//!     cargo build --target wasm32-unknown-unknown --release -p json_doc
//!
//! then copied from target/wasm32-unknown-unknown/release/json_doc.wasm to
//! rust/examples/json_doc/json_doc.wasm.

use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use sluice::{quote, Cell, Config, Error, Output, Page, Plugin, Row, Schema, Type, Value};

/// The plugin: its config, and the resolution of its columns for the page
/// schema it was last prepared for.
pub struct JsonDoc {
    columns: Vec<String>,
    name: String,
    /// Column indices of the document, in order, for the current schema.
    cols: Vec<usize>,
    /// The output schema: `(name text)`.
    schema: Schema,
    doc: Vec<u8>,
}

impl Plugin for JsonDoc {
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("json_doc");
        cfg.unknown(&["columns", "name"]).map_err(ctx)?;
        cfg.single(&["name"]).map_err(ctx)?;
        let name = cfg.get("name").unwrap_or("doc").to_string();
        if name.is_empty() {
            return Err(Error::new("json_doc: name is empty"));
        }
        let columns: Vec<String> = cfg.all("columns").into_iter().map(String::from).collect();
        if let Some(c) = columns.iter().find(|c| c.is_empty()) {
            return Err(Error::new(format!("json_doc: columns entry {} is empty", quote(c))));
        }
        Ok(JsonDoc { columns, schema: Schema::new().with(&name, Type::text()), name, cols: Vec::new(), doc: Vec::new() })
    }

    /// Resolves the document's columns once per schema.
    fn prepare(&mut self, schema: &Schema) -> Result<(), Error> {
        self.cols.clear();
        if self.columns.is_empty() {
            self.cols.extend(0..schema.len());
            return Ok(());
        }
        for c in &self.columns {
            let i = schema.index(c).ok_or_else(|| {
                let names: Vec<&str> = schema.columns().iter().map(|c| c.name.as_str()).collect();
                Error::new(format!("json_doc: column {} not found (columns: {})", quote(c), names.join(", ")))
            })?;
            self.cols.push(i);
        }
        Ok(())
    }

    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        let mut w = out.rows("", &self.schema).map_err(|e| e.context("json_doc"))?;
        for row in page.rows() {
            self.doc.clear();
            let doc = Doc { row: &row, cols: &self.cols };
            if let Err(e) = serde_json::to_writer(&mut self.doc, &doc) {
                return Err(row.error(format!("json_doc: row {}: {}", row.index(), e)));
            }
            // serde_json writes UTF-8.
            w.put(std::str::from_utf8(&self.doc).expect("serde_json writes UTF-8"));
            w.end_row().map_err(|e| e.context("json_doc"))?;
        }
        Ok(())
    }
}

impl JsonDoc {
    /// The output column's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One row as a JSON object, in the order of `cols`.
struct Doc<'r, 'a> {
    row: &'r Row<'a>,
    cols: &'r [usize],
}

impl Serialize for Doc<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let schema = self.row.schema();
        let mut m = s.serialize_map(Some(self.cols.len()))?;
        for &i in self.cols {
            let cell = self.row.cell(i).map_err(S::Error::custom)?;
            m.serialize_entry(&schema.column(i).name, &Json(cell))?;
        }
        m.end()
    }
}

/// A cell as a JSON value.
struct Json<'a>(Cell<'a>);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0.value().map_err(S::Error::custom)?;
        match v {
            Value::Null => s.serialize_none(),
            Value::Text(t) => s.serialize_str(t),
            Value::Int(i) => s.serialize_i64(i),
            Value::Float(f) => s.serialize_f64(f),
            Value::Boolean(b) => s.serialize_bool(b),
            Value::Blob(b) => {
                let mut hex = String::with_capacity(2 + 2 * b.len());
                hex.push_str("0x");
                for x in b {
                    hex.push_str(&format!("{:02x}", x));
                }
                s.serialize_str(&hex)
            }
            Value::Uuid(u) => s.collect_str(&u),
            Value::Timestamp(t) => s.collect_str(&t),
            Value::Date(d) => s.collect_str(&d),
            Value::Time(t) => s.collect_str(&t),
            Value::Duration(d) => s.collect_str(&d),
            Value::Inet(a) => s.collect_str(&a),
            Value::Varint(v) => s.collect_str(&v),
            Value::Decimal(d) => s.collect_str(&d),
            Value::List(l) => {
                let mut q = s.serialize_seq(Some(l.len()))?;
                for c in l.iter() {
                    q.serialize_element(&Json(c))?;
                }
                q.end()
            }
            Value::Vector(v) => {
                let mut q = s.serialize_seq(Some(v.len()))?;
                for c in v.iter() {
                    q.serialize_element(&Json(c))?;
                }
                q.end()
            }
            Value::Map(m) => {
                if m.iter().next().map_or(true, |(k, _)| k.ty().is_text()) {
                    let mut o = s.serialize_map(Some(m.len()))?;
                    for (k, v) in m.iter() {
                        match k.value().map_err(S::Error::custom)? {
                            Value::Text(k) => o.serialize_entry(k, &Json(v))?,
                            _ => o.serialize_entry("", &Json(v))?, // a null key
                        }
                    }
                    o.end()
                } else {
                    let mut q = s.serialize_seq(Some(m.len()))?;
                    for (k, v) in m.iter() {
                        q.serialize_element(&(Json(k), Json(v)))?;
                    }
                    q.end()
                }
            }
            Value::Fields(f) => {
                if self.0.ty().id == sluice::TypeId::Udt {
                    let mut o = s.serialize_map(Some(f.len()))?;
                    for (name, c) in f.iter() {
                        o.serialize_entry(name, &Json(c))?;
                    }
                    o.end()
                } else {
                    let mut q = s.serialize_seq(Some(f.len()))?;
                    for (_, c) in f.iter() {
                        q.serialize_element(&Json(c))?;
                    }
                    q.end()
                }
            }
        }
    }
}

sluice::plugin!(JsonDoc);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::testing::{Harness, NULL};
    use sluice::ListOf;

    #[test]
    fn rows_become_documents_in_column_order() {
        let schema = Schema::new()
            .with("id", Type::int())
            .with("name", Type::text())
            .with("tags", Type::list(Type::text()))
            .with("score", Type::double());
        let mut h = Harness::<JsonDoc>::new(&Config::from_pairs([("columns", "name"), ("columns", "id"), ("columns", "tags"), ("columns", "score")])).unwrap();
        let page = h
            .page(&schema)
            .row((1, "ann", ListOf(&["a", "b"]), 0.5))
            .row((2, NULL, NULL, f64::NAN));
        let res = h.process(&page).unwrap();
        let rows = res.rows("").expect("rows on the default output");
        let docs: Vec<&str> = rows.rows().map(|r| r.get::<&str>("doc").unwrap().unwrap()).collect();
        assert_eq!(
            docs,
            [r#"{"name":"ann","id":1,"tags":["a","b"],"score":0.5}"#, r#"{"name":null,"id":2,"tags":null,"score":null}"#]
        );
    }

    #[test]
    fn unknown_column_is_reported() {
        let schema = Schema::new().with("id", Type::int());
        let mut h = Harness::<JsonDoc>::new(&Config::from_pairs([("columns", "nope")])).unwrap();
        let page = h.page(&schema).row((1,));
        let err = h.process(&page).unwrap_err();
        assert_eq!(err.message(), r#"json_doc: column "nope" not found (columns: id)"#);
    }
}
