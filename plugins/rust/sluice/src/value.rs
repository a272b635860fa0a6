//! Reading cells: [`Cell`], the [`FromCell`] conversions and the CQL value types.
//!
//! Cell values are the CQL native protocol v5 encoding (big-endian), exactly the
//! bytes Cassandra sent. Reading never copies unless the target type owns its data
//! (`String`, `Vec<u8>`).

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{Type, TypeId};
use crate::Error;

/// One cell: its CQL type and its bytes (`None` = null). A cell borrows the page
/// (or the collection) it came from.
#[derive(Clone, Copy, Debug)]
pub struct Cell<'a> {
    ty: &'a Type,
    raw: Option<&'a [u8]>,
}

impl<'a> Cell<'a> {
    /// A cell of type `ty` with bytes `raw` (`None` = null).
    pub fn new(ty: &'a Type, raw: Option<&'a [u8]>) -> Cell<'a> {
        Cell { ty, raw }
    }

    /// The CQL type.
    pub fn ty(&self) -> &'a Type {
        self.ty
    }

    /// True when the cell is null.
    pub fn is_null(&self) -> bool {
        self.raw.is_none()
    }

    /// True when the cell is an empty value: not null, zero bytes. CQL allows it for
    /// most types; [`Cell::get`] reads it as `None` except for text, ascii and blob.
    pub fn is_empty(&self) -> bool {
        matches!(self.raw, Some(b) if b.is_empty())
    }

    /// The raw CQL bytes (`None` = null).
    pub fn raw(&self) -> Option<&'a [u8]> {
        self.raw
    }

    /// Reads the cell as `T`. Returns `Ok(None)` for null and for an empty value of a
    /// type that has no empty form (everything but text, ascii, blob and raw bytes).
    /// Fails when the column type cannot be read as `T` or the bytes are malformed.
    ///
    /// Integer targets widen: `i64` reads tinyint, smallint, int, bigint and counter;
    /// `i32` reads tinyint, smallint and int; `f64` reads float and double.
    pub fn get<T: FromCell<'a>>(&self) -> Result<Option<T>, Error> {
        self.decode::<T>().map_err(|f| match f {
            Fault::Type => Error::new(format!("cell has type {}, want {}", self.ty, T::WANT)),
            Fault::Invalid(e) => e,
        })
    }

    pub(crate) fn decode<T: FromCell<'a>>(&self) -> Result<Option<T>, Fault> {
        let b = match self.raw {
            None => return Ok(None),
            Some(b) => b,
        };
        if !T::accepts(self.ty) {
            return Err(Fault::Type);
        }
        if b.is_empty() && !T::EMPTY_IS_VALUE && !(self.ty.is_text() || self.ty.id == TypeId::Blob)
        {
            return Ok(None);
        }
        T::from_cell(self.ty, b).map(Some).map_err(|e| {
            let detail = e.message();
            Fault::Invalid(Error::new(format!(
                "invalid {} cell of {} bytes{}{}",
                self.ty.id,
                b.len(),
                if detail.is_empty() { "" } else { ": " },
                detail
            )))
        })
    }

    /// Reads the cell as a dynamically typed [`Value`].
    pub fn value(&self) -> Result<Value<'a>, Error> {
        Ok(self.get::<Value<'a>>()?.unwrap_or(Value::Null))
    }
}

/// Why a typed read failed.
pub(crate) enum Fault {
    /// The column type cannot be read as the target.
    Type,
    /// Malformed bytes: `invalid <type> cell of <n> bytes[: <detail>]`.
    Invalid(Error),
}

/// A Rust type a cell can be read as, with [`Cell::get`] or [`Row::get`](crate::Row::get).
pub trait FromCell<'a>: Sized {
    /// The CQL types accepted, for errors: `column "x" has type bigint, want <WANT>`.
    const WANT: &'static str;
    /// True when an empty (zero-byte) value is a value of this type rather than `None`.
    const EMPTY_IS_VALUE: bool = false;
    /// Whether a column of type `ty` can be read as `Self`.
    fn accepts(ty: &Type) -> bool;
    /// Decodes non-null bytes of a column of type `ty` (`accepts(ty)` is true). On
    /// malformed bytes, return an error whose message is the detail, or empty when
    /// the length alone is wrong: the caller reports
    /// `invalid <type> cell of <n> bytes[: <detail>]`.
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Self, Error>;
}

/// A malformed cell whose length alone is wrong (the caller names type and length).
fn bad_len() -> Error {
    Error::new("")
}

fn fixed<const N: usize>(_ty: &Type, b: &[u8]) -> Result<[u8; N], Error> {
    if b.len() != N {
        return Err(bad_len());
    }
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    Ok(a)
}

/// Decodes any integer column (tinyint, smallint, int, bigint, counter) to i64.
fn int_any(ty: &Type, b: &[u8]) -> Result<i64, Error> {
    Ok(match ty.id {
        TypeId::Tinyint => i8::from_be_bytes(fixed::<1>(ty, b)?) as i64,
        TypeId::Smallint => i16::from_be_bytes(fixed::<2>(ty, b)?) as i64,
        TypeId::Int => i32::from_be_bytes(fixed::<4>(ty, b)?) as i64,
        _ => i64::from_be_bytes(fixed::<8>(ty, b)?),
    })
}

impl<'a> FromCell<'a> for i8 {
    const WANT: &'static str = "tinyint";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Tinyint
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<i8, Error> {
        Ok(int_any(ty, b)? as i8)
    }
}

impl<'a> FromCell<'a> for i16 {
    const WANT: &'static str = "tinyint or smallint";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::Tinyint | TypeId::Smallint)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<i16, Error> {
        Ok(int_any(ty, b)? as i16)
    }
}

impl<'a> FromCell<'a> for i32 {
    const WANT: &'static str = "tinyint, smallint or int";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::Tinyint | TypeId::Smallint | TypeId::Int)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<i32, Error> {
        Ok(int_any(ty, b)? as i32)
    }
}

impl<'a> FromCell<'a> for i64 {
    const WANT: &'static str = "tinyint, smallint, int, bigint or counter";
    fn accepts(ty: &Type) -> bool {
        matches!(
            ty.id,
            TypeId::Tinyint | TypeId::Smallint | TypeId::Int | TypeId::Bigint | TypeId::Counter
        )
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<i64, Error> {
        int_any(ty, b)
    }
}

impl<'a> FromCell<'a> for f32 {
    const WANT: &'static str = "float";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Float
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<f32, Error> {
        Ok(f32::from_be_bytes(fixed::<4>(ty, b)?))
    }
}

impl<'a> FromCell<'a> for f64 {
    const WANT: &'static str = "float or double";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::Float | TypeId::Double)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<f64, Error> {
        if ty.id == TypeId::Float {
            return Ok(f32::from_be_bytes(fixed::<4>(ty, b)?) as f64);
        }
        Ok(f64::from_be_bytes(fixed::<8>(ty, b)?))
    }
}

impl<'a> FromCell<'a> for bool {
    const WANT: &'static str = "boolean";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Boolean
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<bool, Error> {
        Ok(fixed::<1>(ty, b)?[0] != 0)
    }
}

impl<'a> FromCell<'a> for &'a str {
    const WANT: &'static str = "text or ascii";
    const EMPTY_IS_VALUE: bool = true;
    fn accepts(ty: &Type) -> bool {
        ty.is_text()
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<&'a str, Error> {
        let s = std::str::from_utf8(b)
            .map_err(|e| Error::new(format!("not valid UTF-8: {}", e)))?;
        if ty.id == TypeId::Ascii && !s.is_ascii() {
            return Err(Error::new("not ASCII"));
        }
        Ok(s)
    }
}

impl<'a> FromCell<'a> for String {
    const WANT: &'static str = "text or ascii";
    const EMPTY_IS_VALUE: bool = true;
    fn accepts(ty: &Type) -> bool {
        ty.is_text()
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<String, Error> {
        <&str>::from_cell(ty, b).map(str::to_string)
    }
}

/// Raw bytes: accepts every type (the CQL encoding as sent by Cassandra).
impl<'a> FromCell<'a> for &'a [u8] {
    const WANT: &'static str = "any type";
    const EMPTY_IS_VALUE: bool = true;
    fn accepts(_: &Type) -> bool {
        true
    }
    fn from_cell(_: &'a Type, b: &'a [u8]) -> Result<&'a [u8], Error> {
        Ok(b)
    }
}

/// Raw bytes, copied: accepts every type.
impl<'a> FromCell<'a> for Vec<u8> {
    const WANT: &'static str = "any type";
    const EMPTY_IS_VALUE: bool = true;
    fn accepts(_: &Type) -> bool {
        true
    }
    fn from_cell(_: &'a Type, b: &'a [u8]) -> Result<Vec<u8>, Error> {
        Ok(b.to_vec())
    }
}

/// A `uuid` or `timeuuid`: 16 bytes in network order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The version nibble (1 for timeuuid, 4 for random).
    pub fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// For a version 1 (time) uuid, its time as milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> Option<i64> {
        if self.version() != 1 {
            return None;
        }
        let b = &self.0;
        let ts = ((b[6] as u64 & 0x0F) << 56)
            | (b[7] as u64) << 48
            | (b[4] as u64) << 40
            | (b[5] as u64) << 32
            | (b[0] as u64) << 24
            | (b[1] as u64) << 16
            | (b[2] as u64) << 8
            | b[3] as u64;
        // 100ns intervals since 1582-10-15.
        Some((ts as i64 - 0x01B2_1DD2_1381_4000) / 10_000)
    }

    /// Parses the hyphenated form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse(s: &str) -> Result<Uuid, Error> {
        let b = s.as_bytes();
        let bad = || Error::new(format!("invalid uuid {:?}", s));
        if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        let mut j = 0;
        let mut i = 0;
        while i < 36 {
            if b[i] == b'-' {
                i += 1;
                continue;
            }
            let hi = hex_val(b[i]).ok_or_else(bad)?;
            let lo = hex_val(b[i + 1]).ok_or_else(bad)?;
            out[j] = hi << 4 | lo;
            j += 1;
            i += 2;
        }
        Ok(Uuid(out))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hyphenated form.
impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i == 4 || i == 6 || i == 8 || i == 10 {
                f.write_str("-")?;
            }
            write!(f, "{:02x}", b)?;
        }
        Ok(())
    }
}

impl<'a> FromCell<'a> for Uuid {
    const WANT: &'static str = "uuid or timeuuid";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::Uuid | TypeId::Timeuuid)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Uuid, Error> {
        Ok(Uuid(fixed::<16>(ty, b)?))
    }
}

/// A `timestamp`: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> i64 {
        self.0
    }
}

/// RFC 3339 in UTC with milliseconds: `2024-05-01T12:30:00.250Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400_000);
        let ms = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            y,
            m,
            d,
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
}

impl<'a> FromCell<'a> for Timestamp {
    const WANT: &'static str = "timestamp";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Timestamp
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Timestamp, Error> {
        Ok(Timestamp(i64::from_be_bytes(fixed::<8>(ty, b)?)))
    }
}

/// A `date`: the CQL encoding, an unsigned day number with the Unix epoch at 2^31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(pub u32);

impl Date {
    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_days_since_epoch(days: i64) -> Date {
        Date((days + (1i64 << 31)) as u32)
    }

    /// Days since 1970-01-01 (negative: before).
    pub fn days_since_epoch(&self) -> i64 {
        self.0 as i64 - (1i64 << 31)
    }

    /// Proleptic Gregorian (year, month 1-12, day 1-31).
    pub fn ymd(&self) -> (i64, u32, u32) {
        civil_from_days(self.days_since_epoch())
    }
}

/// `YYYY-MM-DD` (years outside 0..=9999 are written as they are, with a sign if negative).
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{:04}-{:02}-{:02}", y, m, d)
    }
}

impl<'a> FromCell<'a> for Date {
    const WANT: &'static str = "date";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Date
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Date, Error> {
        Ok(Date(u32::from_be_bytes(fixed::<4>(ty, b)?)))
    }
}

/// A `time`: nanoseconds since midnight (0 ..= 86_399_999_999_999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Time(pub i64);

/// `HH:MM:SS.nnnnnnnnn`.
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        write!(
            f,
            "{:02}:{:02}:{:02}.{:09}",
            n / 3_600_000_000_000,
            n / 60_000_000_000 % 60,
            n / 1_000_000_000 % 60,
            n % 1_000_000_000
        )
    }
}

impl<'a> FromCell<'a> for Time {
    const WANT: &'static str = "time";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Time
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Time, Error> {
        let n = i64::from_be_bytes(fixed::<8>(ty, b)?);
        if !(0..86_400_000_000_000).contains(&n) {
            return Err(bad_len()); // out of range: the same message, as the other SDKs
        }
        Ok(Time(n))
    }
}

/// A `duration`: months, days and nanoseconds (all three share one sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Nanoseconds.
    pub nanos: i64,
}

/// Cassandra's form: `1y2mo3d4h5m6s7ms8us9ns`, `-` first when negative, `0s` for zero.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.months == 0 && self.days == 0 && self.nanos == 0 {
            return f.write_str("0s");
        }
        if self.months < 0 || self.days < 0 || self.nanos < 0 {
            f.write_str("-")?;
        }
        let months = (self.months as i64).unsigned_abs();
        let mut parts: [(u64, &str); 10] = [
            (months / 12, "y"),
            (months % 12, "mo"),
            ((self.days as i64).unsigned_abs(), "d"),
            (0, "h"),
            (0, "m"),
            (0, "s"),
            (0, "ms"),
            (0, "us"),
            (0, "ns"),
            (0, ""),
        ];
        let mut ns = self.nanos.unsigned_abs();
        let units = [3_600_000_000_000u64, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000, 1];
        for (i, u) in units.iter().enumerate() {
            parts[3 + i].0 = ns / u;
            ns %= u;
        }
        for (v, unit) in parts.iter().take(9) {
            if *v != 0 {
                write!(f, "{}{}", v, unit)?;
            }
        }
        Ok(())
    }
}

impl<'a> FromCell<'a> for Duration {
    const WANT: &'static str = "duration";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Duration
    }
    fn from_cell(_: &'a Type, b: &'a [u8]) -> Result<Duration, Error> {
        let mut pos = 0;
        let months = read_vint(b, &mut pos).ok_or_else(|| Error::new("months"))?;
        let days = read_vint(b, &mut pos).ok_or_else(|| Error::new("days"))?;
        let nanos = read_vint(b, &mut pos).ok_or_else(|| Error::new("nanoseconds"))?;
        if pos != b.len() {
            return Err(Error::new(format!(
                "{} trailing bytes",
                b.len() - pos
            )));
        }
        let (months, days) = match (i32::try_from(months), i32::try_from(days)) {
            (Ok(m), Ok(d)) => (m, d),
            _ => return Err(Error::new("months or days out of i32 range")),
        };
        Ok(Duration { months, days, nanos })
    }
}

/// Reads a Cassandra unsigned vint: the count of leading one bits of the first byte
/// is the number of extra bytes, big-endian.
pub(crate) fn read_uvint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *b.get(*pos)?;
    let extra = first.leading_ones() as usize;
    if b.len() - *pos < 1 + extra {
        return None;
    }
    let mut v: u64 = if extra >= 8 { 0 } else { (first & (0xFFu8 >> extra)) as u64 };
    for i in 0..extra {
        v = v << 8 | b[*pos + 1 + i] as u64;
    }
    *pos += 1 + extra;
    Some(v)
}

/// Reads a Cassandra signed (zigzag) vint.
pub(crate) fn read_vint(b: &[u8], pos: &mut usize) -> Option<i64> {
    let u = read_uvint(b, pos)?;
    Some((u >> 1) as i64 ^ -((u & 1) as i64))
}

/// Appends a Cassandra unsigned vint.
pub(crate) fn put_uvint(dst: &mut Vec<u8>, v: u64) {
    let size = ((639 - (v | 1).leading_zeros() as i64 * 9) >> 6) as usize; // 1..=9 bytes
    if size == 1 {
        dst.push(v as u8);
        return;
    }
    let extra = size - 1;
    if extra == 8 {
        dst.push(0xFF);
        dst.extend_from_slice(&v.to_be_bytes());
        return;
    }
    let start = dst.len();
    dst.extend_from_slice(&v.to_be_bytes()[8 - size..]);
    dst[start] |= !(0xFFu8 >> extra);
}

/// Appends a Cassandra signed (zigzag) vint.
pub(crate) fn put_vint(dst: &mut Vec<u8>, v: i64) {
    put_uvint(dst, ((v << 1) ^ (v >> 63)) as u64);
}

impl<'a> FromCell<'a> for IpAddr {
    const WANT: &'static str = "inet";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Inet
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<IpAddr, Error> {
        match b.len() {
            4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
            16 => Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(ty, b)?))),
            _ => Err(bad_len()),
        }
    }
}

/// A `varint`: an arbitrary-precision integer as big-endian two's complement bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Varint<'a>(pub &'a [u8]);

impl<'a> Varint<'a> {
    /// The two's complement big-endian bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// True when the value is negative.
    pub fn is_negative(&self) -> bool {
        self.0.first().map_or(false, |b| b & 0x80 != 0)
    }

    /// The value, if it fits an i128.
    pub fn to_i128(&self) -> Option<i128> {
        let b = strip_sign_bytes(self.0);
        if b.len() > 16 {
            return None;
        }
        let mut v: i128 = if self.is_negative() { -1 } else { 0 };
        for &x in b {
            v = v << 8 | x as i128;
        }
        Some(v)
    }

    /// The value, if it fits an i64.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as f64 (rounded; infinite when out of range).
    pub fn to_f64(&self) -> f64 {
        if let Some(v) = self.to_i128() {
            return v as f64;
        }
        let neg = self.is_negative();
        let mag = magnitude(self.0);
        let mut v = 0f64;
        for &x in &mag {
            v = v * 256.0 + x as f64;
        }
        if neg {
            -v
        } else {
            v
        }
    }
}

/// Drops redundant leading sign bytes (0x00 before a byte < 0x80, 0xFF before a byte >= 0x80).
fn strip_sign_bytes(mut b: &[u8]) -> &[u8] {
    while b.len() > 1
        && ((b[0] == 0 && b[1] & 0x80 == 0) || (b[0] == 0xFF && b[1] & 0x80 != 0))
    {
        b = &b[1..];
    }
    b
}

/// The big-endian magnitude of a two's complement number.
fn magnitude(b: &[u8]) -> Vec<u8> {
    let mut m = b.to_vec();
    if b.first().map_or(false, |x| x & 0x80 != 0) {
        // Negate: invert and add one.
        for x in m.iter_mut() {
            *x = !*x;
        }
        for x in m.iter_mut().rev() {
            let (v, carry) = x.overflowing_add(1);
            *x = v;
            if !carry {
                break;
            }
        }
    }
    m
}

/// Decimal digits of a big-endian magnitude (no sign).
fn magnitude_digits(mag: &[u8]) -> String {
    let mut m: Vec<u8> = mag.to_vec();
    let mut digits = Vec::new();
    loop {
        let mut rem: u32 = 0;
        let mut nonzero = false;
        for x in m.iter_mut() {
            let cur = rem << 8 | *x as u32;
            *x = (cur / 10) as u8;
            rem = cur % 10;
            nonzero |= *x != 0;
        }
        digits.push(b'0' + rem as u8);
        if !nonzero {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Decimal form, any size.
impl fmt::Display for Varint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.to_i128() {
            return write!(f, "{}", v);
        }
        if self.is_negative() {
            f.write_str("-")?;
        }
        f.write_str(&magnitude_digits(&magnitude(self.0)))
    }
}

impl<'a> FromCell<'a> for Varint<'a> {
    const WANT: &'static str = "varint";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Varint
    }
    fn from_cell(_: &'a Type, b: &'a [u8]) -> Result<Varint<'a>, Error> {
        Ok(Varint(b))
    }
}

/// A `decimal`: `unscaled × 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal<'a> {
    /// The power of ten to divide by.
    pub scale: i32,
    /// The unscaled value.
    pub unscaled: Varint<'a>,
}

impl Decimal<'_> {
    /// The value as f64 (rounded).
    pub fn to_f64(&self) -> f64 {
        format!("{}", self).parse().unwrap_or(f64::NAN)
    }

    /// Compares the values exactly: `1.50` equals `1.5`, any scale, any size.
    pub fn cmp_value(&self, other: &Decimal<'_>) -> Ordering {
        Num::of_decimal(self).cmp(&Num::of_decimal(other))
    }

    /// Compares the value exactly with a number written in decimal:
    /// `[+-]digits[.digits][e[+-]digits]` (`12.50`, `-3`, `1e-9`).
    pub fn cmp_text(&self, text: &str) -> Result<Ordering, Error> {
        Ok(Num::of_decimal(self).cmp(&Num::parse(text)?))
    }
}

impl Varint<'_> {
    /// Compares the values exactly, any size.
    pub fn cmp_value(&self, other: &Varint<'_>) -> Ordering {
        Num::of_varint(self).cmp(&Num::of_varint(other))
    }

    /// Compares the value exactly with a number written in decimal (as for
    /// [`Decimal::cmp_text`]; `10` equals `1e1`).
    pub fn cmp_text(&self, text: &str) -> Result<Ordering, Error> {
        Ok(Num::of_varint(self).cmp(&Num::parse(text)?))
    }
}

/// An exact decimal number for comparisons: sign, significant digits (ASCII,
/// no leading or trailing zeros; empty for zero) and the exponent `exp` such
/// that the value is `0.d1d2d3... × 10^exp`.
#[derive(Debug, PartialEq, Eq)]
struct Num {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Num {
    /// From the digits of the magnitude, the sign and a power of ten to divide by.
    fn new(neg: bool, digits: &[u8], scale: i64) -> Num {
        let start = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
        let end = digits.iter().rposition(|&d| d != b'0').map_or(start, |i| i + 1);
        if start == end {
            return Num { neg: false, digits: Vec::new(), exp: 0 };
        }
        // digits[start..] × 10^-scale = 0.digits[start..] × 10^(len - start - scale)
        let exp = (digits.len() - start) as i64 - scale;
        Num { neg, digits: digits[start..end].to_vec(), exp }
    }

    fn of_varint(v: &Varint<'_>) -> Num {
        Num::new(v.is_negative(), magnitude_digits(&magnitude(v.0)).as_bytes(), 0)
    }

    fn of_decimal(d: &Decimal<'_>) -> Num {
        Num::new(d.unscaled.is_negative(), magnitude_digits(&magnitude(d.unscaled.0)).as_bytes(), d.scale as i64)
    }

    fn parse(text: &str) -> Result<Num, Error> {
        let bad = || Error::new(format!("{} is not a decimal number", crate::quote(text)));
        let b = text.as_bytes();
        let (neg, rest) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let (mant, exp) = match rest.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mant.iter().position(|&c| c == b'.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, &mant[..0]),
        };
        if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let mut e: i64 = 0;
        if let Some(x) = exp {
            let x = std::str::from_utf8(x).map_err(|_| bad())?;
            let digits = x.strip_prefix(['+', '-'].as_ref()).unwrap_or(x);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            e = x.parse::<i64>().ok().filter(|v| v.abs() <= 1 << 40).ok_or_else(bad)?;
        }
        let mut digits = int.to_vec();
        digits.extend_from_slice(frac);
        Ok(Num::new(neg, &digits, frac.len() as i64 - e))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Num) -> Ordering {
        let sign = |n: &Num| if n.digits.is_empty() { 0 } else if n.neg { -1 } else { 1 };
        let (a, b) = (sign(self), sign(other));
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        // Same sign, both non-zero: compare magnitudes, then flip for negatives.
        let mag = self.exp.cmp(&other.exp).then_with(|| self.digits.cmp(&other.digits));
        if a < 0 {
            mag.reverse()
        } else {
            mag
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Num) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Plain notation like Java's `BigDecimal.toPlainString`: `-12.340`, `1200`.
impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.unscaled.is_negative();
        let digits = magnitude_digits(&magnitude(self.unscaled.0));
        if neg {
            f.write_str("-")?;
        }
        if self.scale <= 0 {
            f.write_str(&digits)?;
            if digits != "0" {
                for _ in 0..(-(self.scale as i64)) {
                    f.write_str("0")?;
                }
            }
            return Ok(());
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{}.{}", int, frac)
        } else {
            f.write_str("0.")?;
            for _ in 0..scale - digits.len() {
                f.write_str("0")?;
            }
            f.write_str(&digits)
        }
    }
}

impl<'a> FromCell<'a> for Decimal<'a> {
    const WANT: &'static str = "decimal";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Decimal
    }
    fn from_cell(_: &'a Type, b: &'a [u8]) -> Result<Decimal<'a>, Error> {
        if b.len() < 5 {
            return Err(bad_len());
        }
        Ok(Decimal {
            scale: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            unscaled: Varint(&b[4..]),
        })
    }
}

/// Reads one `[int len][bytes]` element (len < 0 = null) of a collection, tuple or udt.
fn read_elem<'a>(b: &'a [u8], pos: &mut usize, what: &str) -> Result<Option<&'a [u8]>, Error> {
    if b.len() - *pos < 4 {
        return Err(Error::new(format!("{}: truncated length at byte {}", what, *pos)));
    }
    let n = i32::from_be_bytes([b[*pos], b[*pos + 1], b[*pos + 2], b[*pos + 3]]);
    *pos += 4;
    if n < 0 {
        return Ok(None);
    }
    let n = n as usize;
    if b.len() - *pos < n {
        return Err(Error::new(format!(
            "{}: element of {} bytes at byte {} overruns the {} bytes left",
            what,
            n,
            *pos,
            b.len() - *pos
        )));
    }
    let e = &b[*pos..*pos + n];
    *pos += n;
    Ok(Some(e))
}

/// Reads the `[int n]` count of a collection, checking it against the bytes left.
fn read_count(b: &[u8], pos: &mut usize, per: usize, what: &str) -> Result<usize, Error> {
    if b.len() < 4 {
        return Err(Error::new(format!("{}: truncated element count", what)));
    }
    let n = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    *pos = 4;
    if n < 0 || (n as usize).saturating_mul(per) > b.len() - 4 {
        return Err(Error::new(format!(
            "{}: element count {} for {} bytes",
            what,
            n,
            b.len() - 4
        )));
    }
    Ok(n as usize)
}

/// A `list` or `set` value: its elements, in order. Validated when read, so
/// iterating never fails.
#[derive(Clone, Copy, Debug)]
pub struct List<'a> {
    elem: &'a Type,
    n: usize,
    body: &'a [u8],
}

impl<'a> List<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The element type.
    pub fn elem_type(&self) -> &'a Type {
        self.elem
    }

    /// Iterates over the elements.
    pub fn iter(&self) -> ElemIter<'a> {
        ElemIter { ty: self.elem, body: self.body, pos: 0, left: self.n }
    }
}

impl<'a> IntoIterator for List<'a> {
    type Item = Cell<'a>;
    type IntoIter = ElemIter<'a>;
    fn into_iter(self) -> ElemIter<'a> {
        self.iter()
    }
}

/// Iterator over the elements of a [`List`].
#[derive(Clone, Debug)]
pub struct ElemIter<'a> {
    ty: &'a Type,
    body: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for ElemIter<'a> {
    type Item = Cell<'a>;
    fn next(&mut self) -> Option<Cell<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated at construction.
        let raw = read_elem(self.body, &mut self.pos, "").ok()?;
        Some(Cell::new(self.ty, raw))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> ExactSizeIterator for ElemIter<'a> {}

impl<'a> FromCell<'a> for List<'a> {
    const WANT: &'static str = "list or set";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::List | TypeId::Set)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<List<'a>, Error> {
        let what = ty.id.name();
        let mut pos = 0;
        let n = read_count(b, &mut pos, 4, what)?;
        for _ in 0..n {
            read_elem(b, &mut pos, what)?;
        }
        if pos != b.len() {
            return Err(Error::new(format!("{}: {} trailing bytes", what, b.len() - pos)));
        }
        Ok(List { elem: &ty.elems[0], n, body: &b[4..] })
    }
}

/// A `map` value: its entries, in order. Validated when read.
#[derive(Clone, Copy, Debug)]
pub struct Map<'a> {
    key: &'a Type,
    value: &'a Type,
    n: usize,
    body: &'a [u8],
}

impl<'a> Map<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Iterates over (key, value) pairs.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter { key: self.key, value: self.value, body: self.body, pos: 0, left: self.n }
    }
}

impl<'a> IntoIterator for Map<'a> {
    type Item = (Cell<'a>, Cell<'a>);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

/// Iterator over the entries of a [`Map`].
#[derive(Clone, Debug)]
pub struct MapIter<'a> {
    key: &'a Type,
    value: &'a Type,
    body: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (Cell<'a>, Cell<'a>);
    fn next(&mut self) -> Option<(Cell<'a>, Cell<'a>)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let k = read_elem(self.body, &mut self.pos, "").ok()?;
        let v = read_elem(self.body, &mut self.pos, "").ok()?;
        Some((Cell::new(self.key, k), Cell::new(self.value, v)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> ExactSizeIterator for MapIter<'a> {}

impl<'a> FromCell<'a> for Map<'a> {
    const WANT: &'static str = "map";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Map
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Map<'a>, Error> {
        let mut pos = 0;
        let n = read_count(b, &mut pos, 8, "map")?;
        for _ in 0..n {
            read_elem(b, &mut pos, "map")?;
            read_elem(b, &mut pos, "map")?;
        }
        if pos != b.len() {
            return Err(Error::new(format!("map: {} trailing bytes", b.len() - pos)));
        }
        Ok(Map { key: &ty.elems[0], value: &ty.elems[1], n, body: &b[4..] })
    }
}

/// A `tuple` or user-defined type value: one cell per component or field, in type
/// order. Components missing at the end of the value read as null (Cassandra writes
/// short values after fields are added to a udt).
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    ty: &'a Type,
    cells: Vec<Option<&'a [u8]>>,
}

impl<'a> Fields<'a> {
    /// Number of components (the type's, not the value's).
    pub fn len(&self) -> usize {
        self.ty.elems.len()
    }

    /// True for a type without components.
    pub fn is_empty(&self) -> bool {
        self.ty.elems.is_empty()
    }

    /// Component `i`, or `None` when out of range.
    pub fn get(&self, i: usize) -> Option<Cell<'a>> {
        let ty = self.ty.elems.get(i)?;
        Some(Cell::new(ty, self.cells.get(i).copied().flatten()))
    }

    /// The udt field called `name`, or `None` (also for tuples).
    pub fn field(&self, name: &str) -> Option<Cell<'a>> {
        let i = self.ty.fields.iter().position(|f| f == name)?;
        self.get(i)
    }

    /// Iterates over the components with their udt field names ("" for tuples).
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Cell<'a>)> + '_ {
        let ty = self.ty;
        (0..ty.elems.len()).map(move |i| {
            let name = ty.fields.get(i).map_or("", |s| s.as_str());
            (name, Cell::new(&ty.elems[i], self.cells.get(i).copied().flatten()))
        })
    }
}

impl<'a> FromCell<'a> for Fields<'a> {
    const WANT: &'static str = "tuple or udt";
    fn accepts(ty: &Type) -> bool {
        matches!(ty.id, TypeId::Tuple | TypeId::Udt)
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Fields<'a>, Error> {
        let what = ty.id.name();
        let mut pos = 0;
        let mut cells = Vec::with_capacity(ty.elems.len());
        while pos < b.len() {
            if cells.len() == ty.elems.len() {
                return Err(Error::new(format!(
                    "{}: {} trailing bytes after {} components",
                    what,
                    b.len() - pos,
                    cells.len()
                )));
            }
            cells.push(read_elem(b, &mut pos, what)?);
        }
        Ok(Fields { ty, cells })
    }
}

/// A `vector` value: exactly `dim` elements. Validated when read.
#[derive(Clone, Copy, Debug)]
pub struct Vector<'a> {
    ty: &'a Type,
    body: &'a [u8],
}

impl<'a> Vector<'a> {
    /// Number of elements (the dimensions).
    pub fn len(&self) -> usize {
        self.ty.dim as usize
    }

    /// Always false: vectors have at least one dimension.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Iterates over the elements.
    pub fn iter(&self) -> VectorIter<'a> {
        VectorIter {
            elem: &self.ty.elems[0],
            fixed: self.ty.elems[0].vector_fixed_len(),
            body: self.body,
            pos: 0,
            left: self.ty.dim as usize,
        }
    }

    /// The elements as f32, for `vector<float, n>`: the common embedding case.
    pub fn to_f32s(&self) -> Result<Vec<f32>, Error> {
        if self.ty.elems[0].id != TypeId::Float {
            return Err(Error::new(format!("{} is not a vector of float", self.ty)));
        }
        Ok(self
            .body
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

impl<'a> IntoIterator for Vector<'a> {
    type Item = Cell<'a>;
    type IntoIter = VectorIter<'a>;
    fn into_iter(self) -> VectorIter<'a> {
        self.iter()
    }
}

/// Iterator over the elements of a [`Vector`].
#[derive(Clone, Debug)]
pub struct VectorIter<'a> {
    elem: &'a Type,
    fixed: Option<usize>,
    body: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for VectorIter<'a> {
    type Item = Cell<'a>;
    fn next(&mut self) -> Option<Cell<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = match self.fixed {
            Some(n) => n,
            None => read_uvint(self.body, &mut self.pos)? as usize,
        };
        let e = self.body.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(Cell::new(self.elem, Some(e)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> ExactSizeIterator for VectorIter<'a> {}

impl<'a> FromCell<'a> for Vector<'a> {
    const WANT: &'static str = "vector";
    fn accepts(ty: &Type) -> bool {
        ty.id == TypeId::Vector
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Vector<'a>, Error> {
        let dim = ty.dim as usize;
        match ty.elems[0].vector_fixed_len() {
            Some(n) => {
                if b.len() != n.saturating_mul(dim) {
                    return Err(bad_len());
                }
            }
            None => {
                let mut pos = 0;
                for i in 0..dim {
                    let n = read_uvint(b, &mut pos).ok_or_else(|| {
                        Error::new(format!("truncated length of element {}", i))
                    })?;
                    if ((b.len() - pos) as u64) < n {
                        return Err(Error::new(format!(
                            "element {} of {} bytes overruns the {} bytes left",
                            i,
                            n,
                            b.len() - pos
                        )));
                    }
                    pos += n as usize;
                }
                if pos != b.len() {
                    return Err(Error::new(format!("{} trailing bytes", b.len() - pos)));
                }
            }
        }
        Ok(Vector { ty, body: b })
    }
}

/// A dynamically typed cell value, for plugins that handle any column type.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Null, or an empty value of a type without an empty form.
    Null,
    /// ascii or text.
    Text(&'a str),
    /// tinyint, smallint, int, bigint or counter.
    Int(i64),
    /// float or double.
    Float(f64),
    /// boolean.
    Boolean(bool),
    /// blob, or a custom type's raw bytes.
    Blob(&'a [u8]),
    /// uuid or timeuuid.
    Uuid(Uuid),
    /// timestamp.
    Timestamp(Timestamp),
    /// date.
    Date(Date),
    /// time.
    Time(Time),
    /// duration.
    Duration(Duration),
    /// inet.
    Inet(IpAddr),
    /// varint.
    Varint(Varint<'a>),
    /// decimal.
    Decimal(Decimal<'a>),
    /// list or set.
    List(List<'a>),
    /// map.
    Map(Map<'a>),
    /// tuple or udt.
    Fields(Fields<'a>),
    /// vector.
    Vector(Vector<'a>),
}

impl<'a> FromCell<'a> for Value<'a> {
    const WANT: &'static str = "any type";
    fn accepts(_: &Type) -> bool {
        true
    }
    fn from_cell(ty: &'a Type, b: &'a [u8]) -> Result<Value<'a>, Error> {
        Ok(match ty.id {
            TypeId::Ascii | TypeId::Text => Value::Text(<&str>::from_cell(ty, b)?),
            TypeId::Tinyint | TypeId::Smallint | TypeId::Int | TypeId::Bigint | TypeId::Counter => {
                Value::Int(int_any(ty, b)?)
            }
            TypeId::Float | TypeId::Double => Value::Float(f64::from_cell(ty, b)?),
            TypeId::Boolean => Value::Boolean(bool::from_cell(ty, b)?),
            TypeId::Blob | TypeId::Custom => Value::Blob(b),
            TypeId::Uuid | TypeId::Timeuuid => Value::Uuid(Uuid::from_cell(ty, b)?),
            TypeId::Timestamp => Value::Timestamp(Timestamp::from_cell(ty, b)?),
            TypeId::Date => Value::Date(Date::from_cell(ty, b)?),
            TypeId::Time => Value::Time(Time::from_cell(ty, b)?),
            TypeId::Duration => Value::Duration(Duration::from_cell(ty, b)?),
            TypeId::Inet => Value::Inet(IpAddr::from_cell(ty, b)?),
            TypeId::Varint => Value::Varint(Varint(b)),
            TypeId::Decimal => Value::Decimal(Decimal::from_cell(ty, b)?),
            TypeId::List | TypeId::Set => Value::List(List::from_cell(ty, b)?),
            TypeId::Map => Value::Map(Map::from_cell(ty, b)?),
            TypeId::Tuple | TypeId::Udt => Value::Fields(Fields::from_cell(ty, b)?),
            TypeId::Vector => Value::Vector(Vector::from_cell(ty, b)?),
        })
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Converts a proleptic Gregorian date to days since 1970-01-01
/// (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
