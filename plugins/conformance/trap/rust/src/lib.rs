//! The trap test plugin in Rust: panics on the first row whose `column`
//! equals `value` (plugins/conformance/trap/README.md).

use sluice::{quote, Config, Error, Output, Page, Plugin, Schema};

struct Trap {
    column: String,
    value: i32,
    col: usize,
}

impl Plugin for Trap {
    fn init(cfg: &Config) -> Result<Self, Error> {
        Ok(Trap { column: cfg.require("column")?.to_string(), value: cfg.parse_or("value", 0)?, col: 0 })
    }

    fn prepare(&mut self, schema: &Schema) -> Result<(), Error> {
        self.col = schema.index(&self.column).ok_or_else(|| Error::new(format!("trap: prepare: no column {}", quote(&self.column))))?;
        Ok(())
    }

    fn process(&mut self, page: &Page<'_>, _out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            check_row(row.get::<i32>(self.col)?, self.value);
        }
        Ok(())
    }
}

#[inline(never)]
fn check_row(v: Option<i32>, bad: i32) {
    if v == Some(bad) {
        panic!("trap: value {} is the bad one", bad);
    }
}

sluice::plugin!(Trap);
