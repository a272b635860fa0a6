//! The sluice example plugin "redact" in Rust: it masks the values of text columns,
//! either whole ("***") or as emails ("j***@example.com"). Its behaviour is
//! specified in plugins/examples/README.md, identically for every SDK language.
//!
//! Built from plugins/ by `make rust-all` (see rust.mk for the exact flags):
//!
//!     cargo build --target wasm32-unknown-unknown --release -p redact
//!
//! then copied from target/wasm32-unknown-unknown/release/redact.wasm to
//! examples/redact/rust/redact.wasm.

use sluice::{quote, Config, Error, Output, Page, Plugin, TypeId};

struct Redact {
    columns: Vec<String>,
    email: bool,
    /// Which input columns are masked, for the schema id it was computed for.
    resolved: Option<(u64, Result<Vec<bool>, Error>)>,
    buf: Vec<u8>,
}

impl Plugin for Redact {
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("redact");
        cfg.unknown(&["columns", "mode"]).map_err(ctx)?;
        cfg.single(&["mode"]).map_err(ctx)?;
        let columns: Vec<String> = cfg.all("columns").into_iter().map(String::from).collect();
        if columns.is_empty() {
            return Err(Error::new("redact: missing config key \"columns\""));
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(Error::new(format!("redact: column {} listed twice", quote(c))));
            }
        }
        let email = match cfg.get("mode").unwrap_or("full") {
            "full" => false,
            "email" => true,
            m => return Err(Error::new(format!("redact: mode {} is not email or full", quote(m)))),
        };
        Ok(Redact { columns, email, resolved: None, buf: Vec::new() })
    }

    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        if self.resolved.as_ref().map(|r| r.0) != Some(page.schema_id()) {
            self.resolved = Some((page.schema_id(), self.resolve(page)));
        }
        let masked = match &self.resolved {
            Some((_, Ok(m))) => m,
            Some((_, Err(e))) => return Err(e.clone()),
            None => unreachable!(),
        };
        // First pass: does any cell change? If not, every row passes unchanged.
        let mut changed = false;
        'rows: for row in page.rows() {
            for (col, cell) in row.cells().enumerate() {
                if let (true, Some(b)) = (masked[col], cell.raw()) {
                    mask(self.email, &mut self.buf, b);
                    if self.buf != b {
                        changed = true;
                        break 'rows;
                    }
                }
            }
        }
        if !changed {
            return Ok(());
        }
        let mut w = out.rows("", page.schema()).map_err(|e| e.context("redact"))?;
        for row in page.rows() {
            for (col, cell) in row.cells().enumerate() {
                match (masked[col], cell.raw()) {
                    (true, Some(b)) => {
                        mask(self.email, &mut self.buf, b);
                        w.raw(Some(&self.buf));
                    }
                    (_, raw) => {
                        w.raw(raw);
                    }
                }
            }
            w.end_row().map_err(|e| e.context("redact"))?;
        }
        Ok(())
    }
}

impl Redact {
    /// Marks the configured columns, checking that they are text or ascii.
    fn resolve(&self, page: &Page<'_>) -> Result<Vec<bool>, Error> {
        let mut masked = vec![false; page.schema().len()];
        for name in &self.columns {
            let i = page.require_column(name).map_err(|e| e.context("redact"))?;
            let t = page.schema().column(i).ty.id;
            if t != TypeId::Text && t != TypeId::Ascii {
                return Err(Error::new(format!(
                    "redact: column {} has type {}, want text or ascii",
                    quote(name),
                    t
                )));
            }
            masked[i] = true;
        }
        Ok(masked)
    }
}

/// Writes the masked form of `cell` into `dst` (README: redact, "Per page").
fn mask(email: bool, dst: &mut Vec<u8>, cell: &[u8]) {
    dst.clear();
    let at = match cell.iter().rposition(|&c| c == b'@') {
        Some(at) if email => at,
        _ => {
            dst.extend_from_slice(b"***");
            return;
        }
    };
    let local = &cell[..at];
    if !local.is_empty() {
        let mut n = 1;
        while n < local.len() && (0x80..=0xBF).contains(&local[n]) {
            n += 1;
        }
        dst.extend_from_slice(&local[..n]);
    }
    dst.extend_from_slice(b"***");
    dst.extend_from_slice(&cell[at..]);
}

sluice::plugin!(Redact);
