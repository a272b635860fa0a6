//! Logging through the host's `sluice.log` import.

/// A log level of the `sluice.log` import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    /// Debug.
    Debug = 0,
    /// Info.
    Info = 1,
    /// Warn.
    Warn = 2,
    /// Error.
    Error = 3,
}

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "sluice")]
    extern "C" {
        fn log(level: i32, ptr: *const u8, len: usize);
    }

    pub(super) fn write(level: super::Level, msg: &str) {
        // SAFETY: the host reads len bytes at ptr during the call and keeps nothing.
        unsafe { log(level as i32, msg.as_ptr(), msg.len()) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    thread_local! {
        pub(super) static LOGS: RefCell<Vec<(super::Level, String)>> = RefCell::new(Vec::new());
    }

    pub(super) fn write(level: super::Level, msg: &str) {
        LOGS.with(|l| l.borrow_mut().push((level, msg.to_string())));
    }
}

/// Sends a message to the host's log. The host caps the bytes logged per page and in
/// total, so log per page or per problem, not per row.
pub fn log(level: Level, msg: &str) {
    imp::write(level, msg)
}

/// Outside wasm (native tests): takes the messages logged so far on this thread.
#[cfg(not(target_arch = "wasm32"))]
pub fn take_logs() -> Vec<(Level, String)> {
    imp::LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Logs at debug level: `sluice::debug!("page {} has {} rows", n, rows)`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log($crate::Level::Debug, &::std::format!($($arg)*)) };
}

/// Logs at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log($crate::Level::Info, &::std::format!($($arg)*)) };
}

/// Logs at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log($crate::Level::Warn, &::std::format!($($arg)*)) };
}

/// Logs at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log($crate::Level::Error, &::std::format!($($arg)*)) };
}
