//! @@NAME@@: a sluice plugin in Rust. It keeps the rows whose configured
//! column is not null and drops the others, with a selection bitmap (no row
//! is copied).
//!
//! Config (the [stream.plugin.config] table of sluice.toml; testdata/config.json
//! for `make test`):
//!
//!     column = "email"   # required: the column that must not be null
//!
//! Built by `make build`: `cargo build --target wasm32-unknown-unknown --release`.
//! Tested natively by `make unit` (`cargo test`, the tests at the bottom), and
//! as the built .wasm in the sluice host by `make test`.
//!
//! Where to go next:
//!   - typed reads by column name or index: `row.get::<i32>("age")?`,
//!     `row.get::<&str>(col)?` (None for null); `out.keep`, `out.drop`,
//!     `out.set_kept` select input rows;
//!   - `out.rows("audit", &schema)?` writes new rows to a named output that
//!     the stream routes to its own sink;
//!   - `flush` emits rows at the end of the stream, `snapshot`/`restore`
//!     carry state across a hot swap (see the `Plugin` trait);
//!   - crates from crates.io: add them to Cargo.toml (see the Makefile);
//!   - the examples in the sluice repository (plugins/examples/*/rust,
//!     plugins/rust/examples/json_doc with serde_json).

use sluice::{Config, Error, Output, Page, Plugin, Schema};

pub struct NotNull {
    column: String,
    /// The column's index in the current schema (set by `prepare`).
    col: usize,
}

impl Plugin for NotNull {
    /// Checks the config once, before any page: an error stops the stream
    /// before a row is read.
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("@@NAME@@");
        cfg.unknown(&["column"]).map_err(ctx)?;
        cfg.single(&["column"]).map_err(ctx)?;
        let column = cfg.require("column").map_err(ctx)?.to_string();
        Ok(NotNull { column, col: 0 })
    }

    /// Called before the first page of each new schema: resolve column
    /// names here, once, instead of on every page.
    fn prepare(&mut self, schema: &Schema) -> Result<(), Error> {
        self.col = schema.index(&self.column).ok_or_else(|| {
            let names: Vec<&str> = schema.columns().iter().map(|c| c.name.as_str()).collect();
            Error::new(format!("@@NAME@@: column {:?} not found (columns: {})", self.column, names.join(", ")))
        })?;
        Ok(())
    }

    /// Called once per page. Rows not dropped go on to the next plugin of
    /// the chain, or to the stream's sink.
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            // An empty value (0 bytes, e.g. '' text) is not null: it is kept.
            out.set_kept(row.index(), !row.is_null(self.col)?);
        }
        Ok(())
    }
}

sluice::plugin!(NotNull);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::testing::{Harness, NULL};
    use sluice::Type;

    fn harness() -> Harness<NotNull> {
        Harness::new(&Config::from_pairs([("column", "email")])).unwrap()
    }

    /// The fixture of `make test` (testdata/schema.txt and input.jsonl), natively.
    #[test]
    fn fixture() {
        let schema = Schema::parse(include_str!("../testdata/schema.txt")).unwrap();
        let h = &mut harness();
        let page = h.page(&schema).jsonl(include_str!("../testdata/input.jsonl")).unwrap();
        // Rows 1 (email null) and 3 (no email) are dropped; the empty email
        // of row 2 is a value, kept.
        assert_eq!(h.process(&page).unwrap().kept(), [0, 2, 4]);
    }

    #[test]
    fn keeps_rows_with_a_value() {
        let h = &mut harness();
        let schema = Schema::new().with("id", Type::int()).with("email", Type::text());
        let page = h.page(&schema).row((1, "ada@example.com")).row((2, NULL)).row((3, ""));
        let out = h.process(&page).unwrap();
        assert_eq!(out.kept(), [0, 2]);
    }

    #[test]
    fn missing_column_is_an_error() {
        let h = &mut harness();
        let schema = Schema::new().with("id", Type::int());
        let err = h.process(&h.page(&schema).row((1,))).unwrap_err();
        assert_eq!(err.message(), r#"@@NAME@@: column "email" not found (columns: id)"#);
    }

    #[test]
    fn config_needs_column() {
        let err = Harness::<NotNull>::new(&Config::default()).err().unwrap();
        assert_eq!(err.message(), r#"@@NAME@@: missing config key "column""#);
    }
}
