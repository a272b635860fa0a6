//! The error type every fallible SDK call returns.

use std::fmt;

/// An error reported by a plugin or found by the SDK.
///
/// Returning an `Err` from [`Plugin::init`](crate::Plugin::init),
/// [`Plugin::process`](crate::Plugin::process), [`Plugin::flush`](crate::Plugin::flush)
/// or [`Plugin::restore`](crate::Plugin::restore) sends one ERROR section to the host,
/// which stops the stream and reports the message (and the row, when set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: String,
    row: Option<u32>,
}

impl Error {
    /// An error that is not about one row.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            row: None,
        }
    }

    /// An error about row `row` (0-based index in the input page).
    pub fn at_row(row: usize, message: impl Into<String>) -> Error {
        Error::new(message).with_row(row)
    }

    /// Sets the row this error is about, unless one is already set.
    pub fn with_row(mut self, row: usize) -> Error {
        if self.row.is_none() {
            self.row = Some(row as u32);
        }
        self
    }

    /// Prefixes the message with `context` and ": ", like Go's `fmt.Errorf("context: %w")`.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{}: {}", context, self.message);
        self
    }

    /// The message (what the host reports; the row travels separately).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The row the error is about, if any.
    pub fn row(&self) -> Option<usize> {
        self.row.map(|r| r as usize)
    }
}

/// The message. The row is not repeated: messages about a row say so themselves
/// (`row 3: column "x": ...`), like the other SDKs' errors.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error::new(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Error {
        Error::new(s)
    }
}

/// Returns early with an [`Error`] built from a format string:
/// `sluice::bail!("bad value {}", v)`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::new(::std::format!($($arg)*)))
    };
}

/// Wraps `s` in double quotes, without escaping anything: the convention of every
/// sluice SDK's messages (`column "<name>" not found`), so that the same plugin
/// reports the same bytes in every language. A `"` inside `s` appears as is.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    out.push_str(s);
    out.push('"');
    out
}
