//! Writing cells: the [`Encode`] trait and the collection wrappers.

use std::net::IpAddr;

use crate::types::{Type, TypeId};
use crate::value::{put_vint, Cell, Date, Decimal, Duration, Time, Timestamp, Uuid, Varint};
use crate::Error;

/// A Rust value that can be written as a cell of a CQL type with
/// [`RowWriter::put`](crate::RowWriter::put).
///
/// Each implementation checks the column type and the value's range and fails with
/// an error naming both instead of writing bytes Cassandra would reject.
pub trait Encode {
    /// True when the value is null (`None`).
    fn is_null(&self) -> bool {
        false
    }
    /// Appends the CQL encoding (big-endian, without a length prefix) of the value as
    /// type `ty`.
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error>;
}

fn mismatch(what: &str, ty: &Type) -> Error {
    Error::new(format!("cannot write {} to a {} column", what, ty))
}

impl<T: Encode + ?Sized> Encode for &T {
    fn is_null(&self) -> bool {
        (**self).is_null()
    }
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        (**self).encode(ty, dst)
    }
}

/// `None` writes null.
impl<T: Encode> Encode for Option<T> {
    fn is_null(&self) -> bool {
        match self {
            None => true,
            Some(v) => v.is_null(),
        }
    }
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            None => Err(Error::new("null value encoded")),
            Some(v) => v.encode(ty, dst),
        }
    }
}

/// Writes an integer to any integer column (tinyint, smallint, int, bigint, counter,
/// varint), failing when it does not fit.
fn encode_int(v: i128, what: &str, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
    let range = |lo: i128, hi: i128| {
        if v < lo || v > hi {
            Err(Error::new(format!("{} {} out of range for a {} column", what, v, ty)))
        } else {
            Ok(())
        }
    };
    match ty.id {
        TypeId::Tinyint => {
            range(i8::MIN as i128, i8::MAX as i128)?;
            dst.push(v as i8 as u8);
        }
        TypeId::Smallint => {
            range(i16::MIN as i128, i16::MAX as i128)?;
            dst.extend_from_slice(&(v as i16).to_be_bytes());
        }
        TypeId::Int => {
            range(i32::MIN as i128, i32::MAX as i128)?;
            dst.extend_from_slice(&(v as i32).to_be_bytes());
        }
        TypeId::Bigint | TypeId::Counter => {
            range(i64::MIN as i128, i64::MAX as i128)?;
            dst.extend_from_slice(&(v as i64).to_be_bytes());
        }
        TypeId::Varint => {
            let b = v.to_be_bytes();
            let mut s = &b[..];
            while s.len() > 1
                && ((s[0] == 0 && s[1] & 0x80 == 0) || (s[0] == 0xFF && s[1] & 0x80 != 0))
            {
                s = &s[1..];
            }
            dst.extend_from_slice(s);
        }
        _ => return Err(mismatch(what, ty)),
    }
    Ok(())
}

macro_rules! int_encode {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
                encode_int(*self as i128, stringify!($t), ty, dst)
            }
        }
    )*};
}
int_encode!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

/// Writes to a float column, or widened to a double column.
impl Encode for f32 {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        match ty.id {
            TypeId::Float => dst.extend_from_slice(&self.to_be_bytes()),
            TypeId::Double => dst.extend_from_slice(&(*self as f64).to_be_bytes()),
            _ => return Err(mismatch("f32", ty)),
        }
        Ok(())
    }
}

/// Writes to a double column (a float column would lose precision: convert to f32
/// explicitly).
impl Encode for f64 {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        match ty.id {
            TypeId::Double => dst.extend_from_slice(&self.to_be_bytes()),
            _ => return Err(mismatch("f64", ty)),
        }
        Ok(())
    }
}

impl Encode for bool {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Boolean {
            return Err(mismatch("bool", ty));
        }
        dst.push(*self as u8);
        Ok(())
    }
}

/// Writes to a text column, or to an ascii column when the string is ASCII.
impl Encode for str {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        match ty.id {
            TypeId::Text => {}
            TypeId::Ascii if self.is_ascii() => {}
            TypeId::Ascii => return Err(Error::new("cannot write a non-ASCII string to an ascii column")),
            _ => return Err(mismatch("a string", ty)),
        }
        dst.extend_from_slice(self.as_bytes());
        Ok(())
    }
}

impl Encode for String {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        self.as_str().encode(ty, dst)
    }
}

/// Writes to a blob column. To write the raw encoding of any type, use
/// [`RowWriter::raw`](crate::RowWriter::raw).
impl Encode for [u8] {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Blob {
            return Err(mismatch("bytes", ty));
        }
        dst.extend_from_slice(self);
        Ok(())
    }
}

impl Encode for Vec<u8> {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        self.as_slice().encode(ty, dst)
    }
}

/// Writes to a uuid column, or to a timeuuid column when it is a version 1 uuid.
impl Encode for Uuid {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        match ty.id {
            TypeId::Uuid => {}
            TypeId::Timeuuid if self.version() == 1 => {}
            TypeId::Timeuuid => {
                return Err(Error::new(format!(
                    "cannot write a version {} uuid to a timeuuid column",
                    self.version()
                )))
            }
            _ => return Err(mismatch("a uuid", ty)),
        }
        dst.extend_from_slice(&self.0);
        Ok(())
    }
}

impl Encode for Timestamp {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Timestamp {
            return Err(mismatch("a timestamp", ty));
        }
        dst.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Encode for Date {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Date {
            return Err(mismatch("a date", ty));
        }
        dst.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Encode for Time {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Time {
            return Err(mismatch("a time", ty));
        }
        if !(0..86_400_000_000_000).contains(&self.0) {
            return Err(Error::new(format!("time {} ns is not within a day", self.0)));
        }
        dst.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Encode for Duration {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Duration {
            return Err(mismatch("a duration", ty));
        }
        let neg = self.months < 0 || self.days < 0 || self.nanos < 0;
        let pos = self.months > 0 || self.days > 0 || self.nanos > 0;
        if neg && pos {
            return Err(Error::new("duration months, days and nanoseconds must share one sign"));
        }
        put_vint(dst, self.months as i64);
        put_vint(dst, self.days as i64);
        put_vint(dst, self.nanos);
        Ok(())
    }
}

impl Encode for IpAddr {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Inet {
            return Err(mismatch("an IP address", ty));
        }
        match self {
            IpAddr::V4(a) => dst.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => dst.extend_from_slice(&a.octets()),
        }
        Ok(())
    }
}

impl Encode for Varint<'_> {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Varint {
            return Err(mismatch("a varint", ty));
        }
        dst.extend_from_slice(self.0);
        Ok(())
    }
}

impl Encode for Decimal<'_> {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Decimal {
            return Err(mismatch("a decimal", ty));
        }
        dst.extend_from_slice(&self.scale.to_be_bytes());
        dst.extend_from_slice(self.unscaled.0);
        Ok(())
    }
}

/// Copies a cell of an input page (its raw bytes). The column type must be the
/// cell's type.
impl Encode for Cell<'_> {
    fn is_null(&self) -> bool {
        Cell::is_null(self)
    }
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if self.ty() != ty {
            return Err(Error::new(format!(
                "cannot copy a {} cell to a {} column",
                self.ty(),
                ty
            )));
        }
        dst.extend_from_slice(self.raw().unwrap_or(&[]));
        Ok(())
    }
}

/// Appends one collection element: BE i32 length, then the value. Collections
/// cannot hold nulls.
fn put_elem<T: Encode + ?Sized>(v: &T, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
    if v.is_null() {
        return Err(Error::new("collections cannot hold null elements"));
    }
    let at = dst.len();
    dst.extend_from_slice(&[0; 4]);
    v.encode(ty, dst)?;
    let n = (dst.len() - at - 4) as i32;
    dst[at..at + 4].copy_from_slice(&n.to_be_bytes());
    Ok(())
}

/// A list or set value to write: `w.put(ListOf(&[1, 2, 3]))`.
#[derive(Clone, Copy, Debug)]
pub struct ListOf<'a, T>(pub &'a [T]);

impl<T: Encode> Encode for ListOf<'_, T> {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if !matches!(ty.id, TypeId::List | TypeId::Set) {
            return Err(mismatch("a list", ty));
        }
        dst.extend_from_slice(&(self.0.len() as i32).to_be_bytes());
        for (i, v) in self.0.iter().enumerate() {
            put_elem(v, &ty.elems[0], dst).map_err(|e| e.context(format_args!("element {}", i)))?;
        }
        Ok(())
    }
}

/// A map value to write: `w.put(MapOf(&[("a", 1), ("b", 2)]))`.
#[derive(Clone, Copy, Debug)]
pub struct MapOf<'a, K, V>(pub &'a [(K, V)]);

impl<K: Encode, V: Encode> Encode for MapOf<'_, K, V> {
    fn encode(&self, ty: &Type, dst: &mut Vec<u8>) -> Result<(), Error> {
        if ty.id != TypeId::Map {
            return Err(mismatch("a map", ty));
        }
        dst.extend_from_slice(&(self.0.len() as i32).to_be_bytes());
        for (i, (k, v)) in self.0.iter().enumerate() {
            put_elem(k, &ty.elems[0], dst).map_err(|e| e.context(format_args!("key {}", i)))?;
            put_elem(v, &ty.elems[1], dst).map_err(|e| e.context(format_args!("value {}", i)))?;
        }
        Ok(())
    }
}
