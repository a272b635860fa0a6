//! Fixtures for native tests, in the formats of `sluice plugin test`: a schema
//! as `name type` lines (`testdata/schema.txt`) and rows as JSON lines
//! (`testdata/input.jsonl`, values in the JSON form of docs/json.md).
//!
//! Supported column types: the integers, `float`, `double`, `boolean`,
//! `text`, `ascii`, `blob` (base64), `timestamp` (milliseconds or RFC 3339),
//! `date` (`YYYY-MM-DD`), `time` (`HH:MM:SS[.fffffffff]`), `uuid`,
//! `timeuuid`, `inet`, `varint`, `decimal` (numbers or strings), and `list`,
//! `set`, `map` of those. Other types are refused with an error naming them
//! (build such rows with [`PageBuilder::raw`](crate::testing::PageBuilder::raw)).

use std::net::IpAddr;

use crate::encode::Encode;
use crate::testing::PageBuilder;
use crate::types::{Schema, Type, TypeId};
use crate::value::{days_from_civil, Date, Time, Timestamp, Uuid};
use crate::Error;

impl Schema {
    /// Parses a schema in the format of `sluice plugin test -schema-file`: one
    /// `name type` per line, CQL types (`int`, `set<text>`, `map<text, int>`,
    /// `frozen<list<int>>`), `#` comments and blank lines skipped.
    pub fn parse(text: &str) -> Result<Schema, Error> {
        let mut s = Schema::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, ty) = line
                .split_once(|c: char| c == ' ' || c == '\t')
                .ok_or_else(|| Error::new(format!("schema line {}: {:?} is not \"name type\"", n + 1, line)))?;
            let ty = parse_type(ty.trim()).map_err(|e| e.context(format_args!("schema line {}", n + 1)))?;
            s.push(name, ty);
        }
        Ok(s)
    }
}

/// Parses a CQL type.
fn parse_type(s: &str) -> Result<Type, Error> {
    let s = s.trim();
    let (head, args) = match s.find('<') {
        Some(i) if s.ends_with('>') => (s[..i].trim(), Some(&s[i + 1..s.len() - 1])),
        Some(_) => return Err(Error::new(format!("type {:?}: unbalanced <>", s))),
        None => (s, None),
    };
    let parts = |a: &str| -> Vec<String> {
        let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
        for c in a.chars() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        out.push(cur);
        out
    };
    let t = match (head.to_ascii_lowercase().as_str(), args) {
        ("frozen", Some(a)) => parse_type(a)?,
        ("list", Some(a)) => Type::list(parse_type(a)?),
        ("set", Some(a)) => Type::set(parse_type(a)?),
        ("map", Some(a)) => match parts(a).as_slice() {
            [k, v] => Type::map(parse_type(k)?, parse_type(v)?),
            _ => return Err(Error::new(format!("type {:?}: a map has two types", s))),
        },
        ("tuple", Some(a)) => Type::tuple(parts(a).iter().map(|p| parse_type(p)).collect::<Result<_, _>>()?),
        (name, None) => {
            let id = match name {
                "ascii" => TypeId::Ascii,
                "bigint" => TypeId::Bigint,
                "blob" => TypeId::Blob,
                "boolean" => TypeId::Boolean,
                "counter" => TypeId::Counter,
                "decimal" => TypeId::Decimal,
                "double" => TypeId::Double,
                "float" => TypeId::Float,
                "int" => TypeId::Int,
                "timestamp" => TypeId::Timestamp,
                "uuid" => TypeId::Uuid,
                "text" | "varchar" => TypeId::Text,
                "varint" => TypeId::Varint,
                "timeuuid" => TypeId::Timeuuid,
                "inet" => TypeId::Inet,
                "date" => TypeId::Date,
                "time" => TypeId::Time,
                "smallint" => TypeId::Smallint,
                "tinyint" => TypeId::Tinyint,
                "duration" => TypeId::Duration,
                _ => return Err(Error::new(format!("unknown type {:?}", s))),
            };
            Type::scalar(id)
        }
        _ => return Err(Error::new(format!("unknown type {:?}", s))),
    };
    Ok(t)
}

/// A JSON value, numbers kept as their text.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::new(format!("invalid JSON at byte {}: {}", self.i, what))
    }
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\r' | b'\n') {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            return true;
        }
        false
    }
    fn value(&mut self, depth: usize) -> Result<Json, Error> {
        if depth > 64 {
            return Err(self.err("nested too deep"));
        }
        self.ws();
        let c = *self.b.get(self.i).ok_or_else(|| self.err("unexpected end"))?;
        match c {
            b'n' if self.eat("null") => Ok(Json::Null),
            b't' if self.eat("true") => Ok(Json::Bool(true)),
            b'f' if self.eat("false") => Ok(Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Arr(v));
                }
                loop {
                    v.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(Json::Arr(v));
                    }
                    if !self.eat(",") {
                        return Err(self.err("want , or ]"));
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Obj(v));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.err("want :"));
                    }
                    v.push((k, self.value(depth + 1)?));
                    self.ws();
                    if self.eat("}") {
                        return Ok(Json::Obj(v));
                    }
                    if !self.eat(",") {
                        return Err(self.err("want , or }"));
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.b.len() && matches!(self.b[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.i += 1;
                }
                Ok(Json::Num(String::from_utf8_lossy(&self.b[start..self.i]).into_owned()))
            }
            _ => Err(self.err("unexpected character")),
        }
    }
    fn string(&mut self) -> Result<String, Error> {
        if !self.eat("\"") {
            return Err(self.err("want a string"));
        }
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i).ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| self.err("invalid UTF-8")),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            char::from_u32(cp).ok_or_else(|| self.err("invalid \\u escape"))?
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
    fn hex4(&mut self) -> Result<u32, Error> {
        let h = self.b.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).unwrap_or("x"), 16).map_err(|_| self.err("invalid \\u escape"))
    }
}

impl PageBuilder {
    /// Appends one row per non-blank line of `lines`: a JSON object of column
    /// name to value in the JSON form of docs/json.md, as in a scaffold's
    /// `testdata/input.jsonl`; a missing column is null. Errors name the line
    /// and the column.
    pub fn jsonl(mut self, lines: &str) -> Result<PageBuilder, Error> {
        for (n, line) in lines.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |e: Error| e.context(format_args!("JSON line {}", n + 1));
            let mut p = Parser { b: line.as_bytes(), i: 0 };
            let obj = match p.value(0).map_err(at)? {
                Json::Obj(o) => o,
                _ => return Err(Error::new(format!("JSON line {}: want an object", n + 1))),
            };
            let schema = self.schema().clone();
            let mut cells: Vec<Option<Vec<u8>>> = vec![None; schema.len()];
            for (k, v) in obj {
                let i = schema.index(&k).ok_or_else(|| {
                    Error::new(format!("JSON line {}: {:?} is not a column of the schema", n + 1, k))
                })?;
                let ty = &schema.column(i).ty;
                cells[i] = cell(ty, &v).map_err(|e| e.context(format_args!("JSON line {}: column {:?} ({})", n + 1, k, ty)))?;
            }
            for c in &cells {
                self.raw(c.as_deref());
            }
            self.end_row();
        }
        Ok(self)
    }
}

/// The cell of a JSON value for a column of type `ty` (`None` = null).
fn cell(ty: &Type, v: &Json) -> Result<Option<Vec<u8>>, Error> {
    let mut b = Vec::new();
    let put = |e: &dyn Encode, b: &mut Vec<u8>| e.encode(ty, b);
    match (ty.id, v) {
        (_, Json::Null) => return Ok(None),
        (_, Json::Str(s)) if s.is_empty() && !ty.is_text() && ty.id != TypeId::Blob => return Ok(Some(Vec::new())),
        (TypeId::Tinyint | TypeId::Smallint | TypeId::Int | TypeId::Bigint | TypeId::Counter, Json::Num(n)) => {
            let i: i64 = n.parse().map_err(|_| Error::new(format!("{} is not an integer", n)))?;
            put(&i, &mut b)?
        }
        (TypeId::Float | TypeId::Double, Json::Num(n)) => {
            let f: f64 = n.parse().map_err(|_| Error::new(format!("{} is not a number", n)))?;
            if ty.id == TypeId::Float {
                put(&(f as f32), &mut b)?
            } else {
                put(&f, &mut b)?
            }
        }
        (TypeId::Boolean, Json::Bool(x)) => put(x, &mut b)?,
        (TypeId::Text | TypeId::Ascii, Json::Str(s)) => put(s, &mut b)?,
        (TypeId::Blob, Json::Str(s)) => b = base64(s)?,
        (TypeId::Timestamp, Json::Num(n)) => {
            put(&Timestamp(n.parse().map_err(|_| Error::new(format!("{} is not milliseconds", n)))?), &mut b)?
        }
        (TypeId::Timestamp, Json::Str(s)) => put(&Timestamp(rfc3339_millis(s)?), &mut b)?,
        (TypeId::Date, Json::Str(s)) => {
            let (y, m, d) = ymd(s)?;
            put(&Date::from_days_since_epoch(days_from_civil(y, m, d)), &mut b)?
        }
        (TypeId::Time, Json::Str(s)) => put(&Time(hms_nanos(s)?), &mut b)?,
        (TypeId::Uuid | TypeId::Timeuuid, Json::Str(s)) => put(&Uuid::parse(s)?, &mut b)?,
        (TypeId::Inet, Json::Str(s)) => {
            put(&s.parse::<IpAddr>().map_err(|_| Error::new(format!("{:?} is not an IP address", s)))?, &mut b)?
        }
        (TypeId::Varint, Json::Num(n) | Json::Str(n)) => b = varint_of_decimal(n, 0)?.0,
        (TypeId::Decimal, Json::Num(n) | Json::Str(n)) => {
            let (u, scale) = varint_of_decimal(n, 1)?;
            b.extend_from_slice(&scale.to_be_bytes());
            b.extend_from_slice(&u);
        }
        (TypeId::List | TypeId::Set, Json::Arr(items)) => {
            let et = &ty.elems[0];
            b.extend_from_slice(&(items.len() as i32).to_be_bytes());
            for it in items {
                frame(&mut b, cell(et, it)?);
            }
        }
        (TypeId::Map, Json::Obj(kv)) => {
            b.extend_from_slice(&(kv.len() as i32).to_be_bytes());
            for (k, v) in kv {
                frame(&mut b, cell(&ty.elems[0], &Json::Str(k.clone()))?);
                frame(&mut b, cell(&ty.elems[1], v)?);
            }
        }
        (TypeId::Map, Json::Arr(pairs)) => {
            b.extend_from_slice(&(pairs.len() as i32).to_be_bytes());
            for p in pairs {
                match p {
                    Json::Arr(kv) if kv.len() == 2 => {
                        frame(&mut b, cell(&ty.elems[0], &kv[0])?);
                        frame(&mut b, cell(&ty.elems[1], &kv[1])?);
                    }
                    _ => return Err(Error::new("a map as an array holds [key, value] pairs")),
                }
            }
        }
        (TypeId::Duration | TypeId::Tuple | TypeId::Udt | TypeId::Vector | TypeId::Custom, _) => {
            return Err(Error::new(format!(
                "the Rust test harness does not read {} from JSON yet: build the cell with PageBuilder::raw",
                ty
            )))
        }
        _ => return Err(Error::new(format!("a JSON {} does not fit", json_kind(v)))),
    }
    Ok(Some(b))
}

fn frame(b: &mut Vec<u8>, c: Option<Vec<u8>>) {
    match c {
        None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(c) => {
            b.extend_from_slice(&(c.len() as i32).to_be_bytes());
            b.extend_from_slice(&c);
        }
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Num(_) => "number",
        Json::Str(_) => "string",
        Json::Arr(_) => "array",
        Json::Obj(_) => "object",
    }
}

fn base64(s: &str) -> Result<Vec<u8>, Error> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let t = s.trim_end_matches('=');
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for &c in t.as_bytes() {
        acc = acc << 6 | val(c).ok_or_else(|| Error::new(format!("{:?} is not base64", s)))?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

fn num(s: &str, what: &str) -> Result<i64, Error> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::new(format!("{:?} is not a valid {}", s, what)));
    }
    s.parse().map_err(|_| Error::new(format!("{:?} is not a valid {}", s, what)))
}

fn ymd(s: &str) -> Result<(i64, u32, u32), Error> {
    let p: Vec<&str> = s.split('-').collect();
    match p.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let (m, d) = (num(m, "date")? as u32, num(d, "date")? as u32);
            if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                return Err(Error::new(format!("{:?} is not a valid date", s)));
            }
            Ok((num(y, "date")?, m, d))
        }
        _ => Err(Error::new(format!("{:?} is not a date (YYYY-MM-DD)", s))),
    }
}

/// Nanoseconds since midnight of `HH:MM:SS[.fffffffff]`.
fn hms_nanos(s: &str) -> Result<i64, Error> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let p: Vec<&str> = hms.split(':').collect();
    if p.len() != 3 || frac.len() > 9 || p.iter().any(|x| x.len() != 2) {
        return Err(Error::new(format!("{:?} is not a time (HH:MM:SS[.f])", s)));
    }
    let (h, m, sec) = (num(p[0], "time")?, num(p[1], "time")?, num(p[2], "time")?);
    if h > 23 || m > 59 || sec > 59 {
        return Err(Error::new(format!("{:?} is not a valid time", s)));
    }
    let f = if frac.is_empty() { 0 } else { num(frac, "time")? * 10i64.pow(9 - frac.len() as u32) };
    Ok(((h * 60 + m) * 60 + sec) * 1_000_000_000 + f)
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`.
fn rfc3339_millis(s: &str) -> Result<i64, Error> {
    let bad = || Error::new(format!("{:?} is not an RFC 3339 timestamp", s));
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let (y, m, d) = ymd(date)?;
    let (clock, off) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else {
        let i = rest.rfind(|c| c == '+' || c == '-').ok_or_else(bad)?;
        let (hh, mm) = rest[i + 1..].split_once(':').ok_or_else(bad)?;
        let o = (num(hh, "offset")? * 60 + num(mm, "offset")?) * 60_000;
        (&rest[..i], if &rest[i..i + 1] == "-" { -o } else { o })
    };
    let ns = hms_nanos(clock)?;
    Ok(days_from_civil(y, m, d) * 86_400_000 + ns / 1_000_000 - off)
}

/// The two's complement big-endian bytes of a decimal number scaled to an
/// integer, and the scale (`allow_scale` 0: the number must be an integer).
fn varint_of_decimal(text: &str, allow_scale: i32) -> Result<(Vec<u8>, i32), Error> {
    let bad = || Error::new(format!("{:?} is not a {}", text, if allow_scale == 0 { "varint" } else { "decimal" }));
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mant, exp) = match rest.split_once(|c| c == 'e' || c == 'E') {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| bad())?),
        None => (rest, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits: String = format!("{}{}", int, frac);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let mut scale = frac.len() as i32 - exp;
    let mut digits = digits.into_bytes();
    if scale < 0 {
        digits.extend(std::iter::repeat(b'0').take((-scale) as usize));
        scale = 0;
    }
    if allow_scale == 0 && scale > 0 {
        let cut = digits.len().saturating_sub(scale as usize);
        if digits[cut..].iter().any(|&c| c != b'0') {
            return Err(bad());
        }
        digits.truncate(cut);
        scale = 0;
    }
    // Decimal digits to a big-endian magnitude, by repeated multiply-add.
    let mut mag: Vec<u8> = vec![0];
    for &c in &digits {
        let mut carry = (c - b'0') as u32;
        for byte in mag.iter_mut().rev() {
            let v = *byte as u32 * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    // Two's complement, minimal length.
    if neg && mag.iter().any(|&x| x != 0) {
        let mut carry = 1u16;
        for byte in mag.iter_mut().rev() {
            let v = (!*byte) as u16 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if mag[0] & 0x80 == 0 {
            mag.insert(0, 0xFF);
        }
        while mag.len() > 1 && mag[0] == 0xFF && mag[1] & 0x80 != 0 {
            mag.remove(0);
        }
    } else {
        if mag[0] & 0x80 != 0 {
            mag.insert(0, 0);
        }
        while mag.len() > 1 && mag[0] == 0 && mag[1] & 0x80 == 0 {
            mag.remove(0);
        }
    }
    Ok((mag, scale))
}
