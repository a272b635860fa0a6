//! The sluice example plugin "filter" in Rust: it keeps the rows where a column
//! compares true to a configured value, with a SELECT bitmap (no row is copied).
//! Its behaviour is specified in plugins/examples/README.md, identically for every
//! SDK language.
//!
//! Built from plugins/ by `make rust-all` (see rust.mk for the exact flags):
//!
//!     cargo build --target wasm32-unknown-unknown --release -p filter
//!
//! then copied from target/wasm32-unknown-unknown/release/filter.wasm to
//! examples/filter/rust/filter.wasm.

use std::cmp::Ordering;

use sluice::{quote, Config, Date, Error, Output, Page, Plugin, Time, Timestamp, TypeId};

/// The accepted values of config key "op", in the order of [`Op`].
const OPS: [&str; 8] = ["==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"];

/// The configured op, parsed once (comparing strings per row would cost more
/// than the comparison itself).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    IsNull,
    NotNull,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        const ALL: [Op; 8] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::IsNull, Op::NotNull];
        OPS.iter().position(|&o| o == s).map(|i| ALL[i])
    }
}

/// The configured value, parsed for the column's type.
#[derive(Clone, Debug)]
enum Target {
    Int(i64),
    Date(u32),
    Float(f32),
    Double(f64),
    Bool(bool),
    Text(Vec<u8>),
}

/// The column and target resolved for one schema.
struct Resolved {
    col: usize,
    ty: TypeId,
    target: Option<Target>, // None for is_null / not_null
}

struct Filter {
    column: String,
    op: Op,
    value: String,
    /// Resolution for the schema id it was computed for.
    resolved: Option<(u64, Result<Resolved, Error>)>,
}

impl Plugin for Filter {
    fn init(cfg: &Config) -> Result<Self, Error> {
        let ctx = |e: Error| e.context("filter");
        cfg.unknown(&["column", "op", "value"]).map_err(ctx)?;
        cfg.single(&["column", "op", "value"]).map_err(ctx)?;
        let column = cfg.require("column").map_err(ctx)?.to_string();
        let op_name = cfg.require("op").map_err(ctx)?;
        let op = match Op::parse(op_name) {
            Some(op) => op,
            None => {
                return Err(Error::new(format!(
                    "filter: op {} is not one of ==, !=, <, <=, >, >=, is_null, not_null",
                    quote(op_name)
                )))
            }
        };
        let value = cfg.get("value");
        let null_test = op == Op::IsNull || op == Op::NotNull;
        if !null_test && value.is_none() {
            return Err(Error::new(format!("filter: op {} needs config key \"value\"", quote(op_name))));
        }
        if null_test && value.is_some() {
            return Err(Error::new(format!("filter: op {} takes no config key \"value\"", quote(op_name))));
        }
        Ok(Filter { column, op, value: value.unwrap_or("").to_string(), resolved: None })
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
        let target = match &r.target {
            None => {
                let want_null = self.op == Op::IsNull;
                return out.keep_where(page, |row| Ok(row.cell_at(r.col).is_null() == want_null));
            }
            Some(t) => t,
        };
        let op = self.op;
        out.keep_where(page, |row| matches(op, r, target, row).map_err(|e| e.context("filter")))
    }
}

impl Filter {
    /// Finds the column and parses the value for the page's schema.
    fn resolve(&self, page: &Page<'_>) -> Result<Resolved, Error> {
        let col = page.require_column(&self.column).map_err(|e| e.context("filter"))?;
        let ty = page.schema().column(col).ty.id;
        if self.op == Op::IsNull || self.op == Op::NotNull {
            return Ok(Resolved { col, ty, target: None });
        }
        let target = parse_value(ty, &self.value).map_err(|e| match e {
            ParseErr::Unsupported => Error::new(format!(
                "filter: column {} has type {}, which filter cannot compare (supported: tinyint, smallint, int, bigint, counter, float, double, boolean, ascii, text, timestamp, date, time)",
                quote(&self.column),
                ty
            )),
            ParseErr::Range => Error::new(format!(
                "filter: value {} is out of range for {}",
                quote(&self.value),
                ty
            )),
            ParseErr::Syntax => Error::new(format!(
                "filter: value {} is not a valid {}",
                quote(&self.value),
                ty
            )),
        })?;
        Ok(Resolved { col, ty, target: Some(target) })
    }
}

/// Compares one row's cell with the target. NULL and empty (non-text) cells never
/// match; a malformed cell is an error about the row.
fn matches(op: Op, r: &Resolved, target: &Target, row: &sluice::Row<'_>) -> Result<bool, Error> {
    let col = r.col;
    Ok(match target {
        Target::Text(t) => match row.cell_at(col).raw() {
            None => false,
            Some(b) => compare(op, b.cmp(t.as_slice())),
        },
        Target::Int(t) => {
            let v = match r.ty {
                TypeId::Timestamp => row.get::<Timestamp>(col)?.map(|t| t.0),
                TypeId::Time => row.get::<Time>(col)?.map(|t| t.0),
                _ => row.get::<i64>(col)?,
            };
            match v {
                None => false,
                Some(v) => compare(op, v.cmp(t)),
            }
        }
        Target::Date(t) => match row.get::<Date>(col)? {
            None => false,
            Some(d) => compare(op, d.0.cmp(t)),
        },
        Target::Bool(t) => match row.get::<bool>(col)? {
            None => false,
            Some(v) => compare(op, v.cmp(t)),
        },
        Target::Float(t) => match row.get::<f32>(col)? {
            None => false,
            Some(v) => compare_float(op, v as f64, *t as f64),
        },
        Target::Double(t) => match row.get::<f64>(col)? {
            None => false,
            Some(v) => compare_float(op, v, *t),
        },
    })
}

/// Applies op to a three-way comparison.
fn compare(op: Op, c: Ordering) -> bool {
    match op {
        Op::Eq => c == Ordering::Equal,
        Op::Ne => c != Ordering::Equal,
        Op::Lt => c == Ordering::Less,
        Op::Le => c != Ordering::Greater,
        Op::Gt => c == Ordering::Greater,
        _ => c != Ordering::Less, // >=
    }
}

/// Applies op with IEEE 754 semantics (NaN compares false except with !=).
fn compare_float(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        _ => a >= b,
    }
}

enum ParseErr {
    Unsupported,
    Range,
    Syntax,
}

/// Parses the configured value for a column of type `ty` (README: "Value grammar").
fn parse_value(ty: TypeId, s: &str) -> Result<Target, ParseErr> {
    Ok(match ty {
        TypeId::Tinyint => Target::Int(parse_int(s, i8::MIN as i64, i8::MAX as i64)?),
        TypeId::Smallint => Target::Int(parse_int(s, i16::MIN as i64, i16::MAX as i64)?),
        TypeId::Int => Target::Int(parse_int(s, i32::MIN as i64, i32::MAX as i64)?),
        TypeId::Bigint | TypeId::Counter => Target::Int(parse_int(s, i64::MIN, i64::MAX)?),
        TypeId::Double | TypeId::Float => {
            if !is_decimal_float(s) {
                return Err(ParseErr::Syntax);
            }
            // Rust's parse is correctly rounded (nearest, ties to even), as Go's.
            let d: f64 = s.parse().map_err(|_| ParseErr::Syntax)?;
            if d.is_infinite() {
                return Err(ParseErr::Range);
            }
            if ty == TypeId::Double {
                Target::Double(d)
            } else {
                let f = d as f32; // nearest float, ties to even
                if f.is_infinite() {
                    return Err(ParseErr::Range);
                }
                Target::Float(f)
            }
        }
        TypeId::Boolean => match s {
            "true" => Target::Bool(true),
            "false" => Target::Bool(false),
            _ => return Err(ParseErr::Syntax),
        },
        TypeId::Ascii | TypeId::Text => Target::Text(s.as_bytes().to_vec()),
        TypeId::Timestamp => {
            if is_integer(s) {
                Target::Int(parse_int(s, i64::MIN, i64::MAX)?)
            } else {
                Target::Int(parse_rfc3339(s).ok_or(ParseErr::Syntax)?)
            }
        }
        TypeId::Date => {
            let days = parse_date(s).ok_or(ParseErr::Syntax)?;
            Target::Date(Date::from_days_since_epoch(days).0)
        }
        TypeId::Time => match parse_clock(s) {
            Some((ns, "")) => Target::Int(ns),
            _ => return Err(ParseErr::Syntax),
        },
        _ => return Err(ParseErr::Unsupported),
    })
}

fn digits_only(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

/// Matches `[+-]?[0-9]+`.
fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(|c| c == '+' || c == '-').unwrap_or(s);
    !d.is_empty() && digits_only(d)
}

fn parse_int(s: &str, lo: i64, hi: i64) -> Result<i64, ParseErr> {
    if !is_integer(s) {
        return Err(ParseErr::Syntax);
    }
    match s.parse::<i64>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(ParseErr::Range),
    }
}

/// Matches `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`.
fn is_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - fs;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let es = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == es {
            return false;
        }
    }
    i == b.len()
}

/// Parses exactly `n` digits of `s` at `i`.
fn num(s: &str, i: usize, n: usize) -> Option<i64> {
    let d = s.get(i..i + n)?;
    if !digits_only(d) {
        return None;
    }
    d.parse().ok()
}

fn days_in(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DD` (exactly) into days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(s, 0, 4)?, num(s, 5, 2)?, num(s, 8, 2)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in(y, m) {
        return None;
    }
    Some(sluice::days_from_civil(y, m as u32, d as u32))
}

/// Parses `HH:MM:SS[.F]` (F 1 to 9 digits) at the start of `s` into nanoseconds and
/// returns the rest of `s`.
fn parse_clock(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (num(s, 0, 2)?, num(s, 3, 2)?, num(s, 6, 2)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let mut ns = ((h * 60 + m) * 60 + sec) * 1_000_000_000;
    let mut i = 8;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let nd = i - fs;
        if !(1..=9).contains(&nd) {
            return None;
        }
        let mut frac: i64 = s[fs..i].parse().ok()?;
        for _ in nd..9 {
            frac *= 10;
        }
        ns += frac;
    }
    Some((ns, &s[i..]))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.F](Z|±HH:MM)` into milliseconds since the epoch;
/// digits of F past the third are ignored.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let days = parse_date(s.get(..10)?)?;
    let (ns, rest) = parse_clock(s.get(11..)?)?;
    let rb = rest.as_bytes();
    let off = if rest == "Z" {
        0
    } else if rb.len() == 6 && (rb[0] == b'+' || rb[0] == b'-') && rb[3] == b':' {
        let (oh, om) = (num(rest, 1, 2)?, num(rest, 4, 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        let off = (oh * 60 + om) * 60;
        if rb[0] == b'-' {
            -off
        } else {
            off
        }
    } else {
        return None;
    };
    let secs = days * 86_400 + ns / 1_000_000_000 - off;
    Some(secs * 1000 + (ns % 1_000_000_000) / 1_000_000)
}

sluice::plugin!(Filter);
