//! # sluice plugin SDK for Rust
//!
//! Write a sluice plugin (a WebAssembly module that gets one call per page of
//! Cassandra rows) by implementing [`Plugin`] and exporting it with [`plugin!`]:
//!
//! ```ignore
//! use sluice::{Config, Error, Output, Page, Plugin};
//!
//! struct Adults { age: String }
//!
//! impl Plugin for Adults {
//!     fn init(cfg: &Config) -> Result<Self, Error> {
//!         Ok(Adults { age: cfg.get("column").unwrap_or("age").to_string() })
//!     }
//!     fn process(&mut self, page: &Page, out: &mut Output) -> Result<(), Error> {
//!         let col = page.require_column(&self.age)?;
//!         for row in page.rows() {
//!             if row.get::<i32>(col)?.map_or(true, |a| a < 18) {
//!                 out.drop(row.index());
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! sluice::plugin!(Adults);
//! ```
//!
//! Build it for `wasm32-unknown-unknown` as a `cdylib` with
//! `cargo build --target wasm32-unknown-unknown --release` (see `docs/plugins.md`,
//! section Rust).
//! The module imports only `sluice.log`.
//!
//! What the SDK does for the plugin: it implements the ABI v1 exports
//! (`sluice_abi_version`, `sluice_alloc`, `sluice_init`, `sluice_process`,
//! `sluice_flush`, `sluice_snapshot`, `sluice_restore`), validates every page's
//! structure before the plugin sees it (and each cell's framing when it is read),
//! hands out typed, zero-copy views of rows and cells,
//! and encodes what the plugin selected or wrote into one result per call, reusing
//! its buffers from call to call. A panic is logged to the host at error level and
//! traps the instance.

#![warn(missing_docs)]

mod config;
mod encode;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod fixture;
mod log;
mod output;
mod page;
mod types;
mod value;
mod wire;

#[doc(hidden)]
pub mod rt;
pub mod testing;

pub use config::{Config, CONFIG_MAGIC};
pub use encode::{Encode, ListOf, MapOf};
pub use error::{quote, Error};
#[cfg(not(target_arch = "wasm32"))]
pub use log::take_logs;
pub use log::{log, Level};
pub use output::{
    Output, RowWriter, DEFAULT_OUTPUT, MAX_SECTION_ROWS, REJECTED_OUTPUT, REJECT_REASON_COLUMN, RESULT_MAGIC,
};
pub use page::{ColumnRef, Page, Row, RowCells, Rows, PAGE_MAGIC};
pub use types::{Column, Schema, Type, TypeId, MAX_TYPE_DEPTH};
pub use value::{
    civil_from_days, days_from_civil, Cell, Date, Decimal, Duration, ElemIter, Fields, FromCell, List, Map,
    MapIter, Time, Timestamp, Uuid, Value, Varint, Vector, VectorIter,
};

/// The ABI version this SDK implements: major 1, minor 0 (`major << 16 | minor`).
pub const ABI_VERSION: u32 = 0x0001_0000;

/// What a plugin author implements. The SDK calls it from the module's exports,
/// one call at a time:
///
/// 1. [`Plugin::init`] once, with the plugin's config: check it here, an error stops
///    the stream before the first page.
/// 2. [`Plugin::prepare`] before the first page of each new schema.
/// 3. [`Plugin::process`] once per page.
/// 4. [`Plugin::flush`] at the end of the stream.
///
/// [`Plugin::snapshot`] and [`Plugin::restore`] carry state across a hot swap: the
/// host snapshots the running instance and restores the bytes into its replacement
/// (maybe a newer build of the plugin) before that one's first page.
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from its config.
    fn init(config: &Config) -> Result<Self, Error>;

    /// Called before the first page of each new schema (pages of one stream share
    /// one schema, so usually once): resolve column names to indices and check
    /// their types here instead of on every page. An error fails the page, and
    /// `prepare` is called again before the next one.
    fn prepare(&mut self, schema: &Schema) -> Result<(), Error> {
        let _ = schema;
        Ok(())
    }

    /// Handles one page: select input rows and/or write rows through `out`. Doing
    /// nothing passes every row on unchanged. An error stops the stream.
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error>;

    /// End of stream: write any remaining rows (there are no input rows to select).
    fn flush(&mut self, out: &mut Output) -> Result<(), Error> {
        let _ = out;
        Ok(())
    }

    /// The plugin's state as opaque bytes (version their format), or `None` when it
    /// keeps none.
    fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }

    /// Replaces the state with a snapshot of an earlier instance (maybe an earlier
    /// version of the plugin: refuse state you cannot read).
    ///
    /// The default, for plugins that keep no state, accepts empty state and refuses
    /// any other with an error saying that the plugin cannot restore state: the host
    /// then keeps the instance that produced the state running instead of swapping
    /// (ABI.md section 5), so state is never silently lost.
    fn restore(&mut self, state: &[u8]) -> Result<(), Error> {
        if state.is_empty() {
            return Ok(());
        }
        Err(no_restore_error(state.len()))
    }
}

/// The error of the default [`Plugin::restore`] for `len` (> 0) bytes of state. The Go
/// and AssemblyScript SDKs use the same words.
pub(crate) fn no_restore_error(len: usize) -> Error {
    Error::new(format!(
        "sluice sdk: plugin cannot restore state: it implements no restore, so the {} bytes of state of the instance it replaces would be lost",
        len
    ))
}

/// Exports a [`Plugin`] type as the module's plugin: `sluice::plugin!(MyPlugin);`
/// at the top level of the `cdylib` crate. It defines the ABI v1 exports; use it once
/// per module.
#[macro_export]
macro_rules! plugin {
    ($ty:ty) => {
        #[doc(hidden)]
        static mut __SLUICE_PLUGIN: ::core::option::Option<$ty> = ::core::option::Option::None;

        /// ABI export: the ABI version.
        #[no_mangle]
        pub extern "C" fn sluice_abi_version() -> i32 {
            $crate::ABI_VERSION as i32
        }

        /// ABI export: room for the next call's input.
        #[no_mangle]
        pub extern "C" fn sluice_alloc(size: i32) -> i32 {
            $crate::rt::alloc(size)
        }

        /// ABI export: the address of the row slot (ABI.md 3.1).
        #[no_mangle]
        pub extern "C" fn sluice_row_slot() -> i32 {
            $crate::rt::row_slot()
        }

        /// ABI export: config.
        #[no_mangle]
        pub extern "C" fn sluice_init(ptr: i32, len: i32) -> i64 {
            // SAFETY: the host calls one export at a time.
            unsafe { $crate::rt::init(&mut *::core::ptr::addr_of_mut!(__SLUICE_PLUGIN), ptr, len) }
        }

        /// ABI export: one page.
        #[no_mangle]
        pub extern "C" fn sluice_process(ptr: i32, len: i32) -> i64 {
            // SAFETY: as above.
            unsafe { $crate::rt::process(&mut *::core::ptr::addr_of_mut!(__SLUICE_PLUGIN), ptr, len) }
        }

        /// ABI export: end of stream.
        #[no_mangle]
        pub extern "C" fn sluice_flush() -> i64 {
            // SAFETY: as above.
            unsafe { $crate::rt::flush(&mut *::core::ptr::addr_of_mut!(__SLUICE_PLUGIN)) }
        }

        /// ABI export: state for a hot swap.
        #[no_mangle]
        pub extern "C" fn sluice_snapshot() -> i64 {
            // SAFETY: as above.
            unsafe { $crate::rt::snapshot(&mut *::core::ptr::addr_of_mut!(__SLUICE_PLUGIN)) }
        }

        /// ABI export: state from a previous instance.
        #[no_mangle]
        pub extern "C" fn sluice_restore(ptr: i32, len: i32) -> i64 {
            // SAFETY: as above.
            unsafe { $crate::rt::restore(&mut *::core::ptr::addr_of_mut!(__SLUICE_PLUGIN), ptr, len) }
        }
    };
}

#[cfg(test)]
mod tests;
