//! @@NAME@@: a sluice plugin in Rust. It keeps the rows whose configured
//! column is not null and drops the others, with a selection bitmap (no row
//! is copied).
//!
//! Config (the [stream.plugin.config] table of the sluice config file, or
//! -config-json for sluice plugin test):
//!
//!     column = "email"   # required: the column that must not be null
//!
//! Built by `make build` with Debian's rustc (/usr/bin/rustc, which has the
//! wasm32-unknown-unknown std): first the SDK as an rlib from the sluice
//! source tree, then this crate as a cdylib linked with --extern (no cargo,
//! no crates). The exact commands are in the Makefile.
//!
//! Where to go next:
//!   - typed reads: `row.get::<i32>(col)?`, `row.get::<&str>(col)?` (None for
//!     null); `out.keep`, `out.drop`, `out.set_kept` select input rows;
//!   - `out.rows("audit", &schema)?` writes new rows to a named output that
//!     the stream routes to its own sink;
//!   - `flush` emits rows at the end of the stream, `snapshot`/`restore`
//!     carry state across a hot swap (see the `Plugin` trait);
//!   - the examples in the sluice repository (plugins/examples/*/rust).

use sluice::{Config, Error, Output, Page, Plugin};

struct NotNull {
    column: String,
}

impl Plugin for NotNull {
    /// Checks the config once, before any page: an error stops the stream
    /// before a row is read.
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("@@NAME@@");
        cfg.unknown(&["column"]).map_err(ctx)?;
        cfg.single(&["column"]).map_err(ctx)?;
        let column = cfg.require("column").map_err(ctx)?.to_string();
        Ok(NotNull { column })
    }

    /// Called once per page. Rows not dropped go on to the next plugin of
    /// the chain, or to the stream's sink.
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        let col = page.require_column(&self.column).map_err(|e| e.context("@@NAME@@"))?;
        for row in page.rows() {
            // An empty value (0 bytes, e.g. '' text) is not null: it is kept.
            out.set_kept(row.index(), !row.is_null(col)?);
        }
        Ok(())
    }
}

sluice::plugin!(NotNull);
