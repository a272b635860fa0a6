//! The plugin's configuration ("SLC1").

use std::str::FromStr;

use crate::error::quote;
use crate::wire::{put_str, put_u32, Reader};
use crate::Error;

/// The magic of a config, "SLC1" in memory order.
pub const CONFIG_MAGIC: u32 = 0x3143_4C53;

/// The plugin's `config` table from the sluice TOML, flattened to key/value strings:
/// nested tables give dotted keys (`rename.old`), arrays give one pair per element
/// with the same key, numbers are decimal text, booleans `true`/`false`, datetimes
/// RFC 3339. Keys are sorted; only arrays repeat a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Decodes the "SLC1" bytes the host passes to `sluice_init`.
    pub fn decode(b: &[u8]) -> Result<Config, Error> {
        if b.is_empty() {
            return Ok(Config::default());
        }
        let mut r = Reader::new(b, "config");
        let magic = r.u32("magic")?;
        if magic != CONFIG_MAGIC {
            return Err(Error::new(format!(
                "config: bad magic 0x{:08X} (want 0x{:08X} \"SLC1\")",
                magic, CONFIG_MAGIC
            )));
        }
        let n = r.u32("pair count")? as usize;
        if n.saturating_mul(8) > r.remaining() {
            return Err(r.err(format_args!(
                "{} pairs need at least {} bytes, {} left",
                n,
                n.saturating_mul(8),
                r.remaining()
            )));
        }
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.str("key")?.to_string();
            let v = r.str("value")?.to_string();
            pairs.push((k, v));
        }
        if r.remaining() != 0 {
            return Err(r.err(format_args!("{} trailing bytes", r.remaining())));
        }
        Ok(Config { pairs })
    }

    /// A config from pairs, for tests.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Config {
        Config { pairs: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The "SLC1" encoding, for tests.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        put_u32(&mut b, CONFIG_MAGIC);
        put_u32(&mut b, self.pairs.len() as u32);
        for (k, v) in &self.pairs {
            put_str(&mut b, k);
            put_str(&mut b, v);
        }
        b
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the plugin has no config.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// True when `key` is set (Go `Has`, AssemblyScript `has`, C `sluice_config_has`).
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// The former name of [`Config::has`].
    pub fn contains(&self, key: &str) -> bool {
        self.has(key)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order (an array gives several, a scalar one; Go
    /// `All`, AssemblyScript `all`, C `sluice_config_count` + `sluice_config_at`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The former name of [`Config::all`].
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.all(key)
    }

    /// The single value of `key`: `Ok(None)` when absent; when it has several
    /// values (a TOML array was given) fails with
    /// `config key "<key>" must have one value, got <n>`.
    pub fn one(&self, key: &str) -> Result<Option<&str>, Error> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == key);
        let first = it.next().map(|(_, v)| v.as_str());
        let more = it.count();
        if more > 0 {
            return Err(Error::new(format!(
                "config key {} must have one value, got {}",
                quote(key),
                more + 1
            )));
        }
        Ok(first)
    }

    /// The single value of `key`; fails with `missing config key "<key>"` when absent
    /// and as [`Config::one`] when repeated.
    pub fn require(&self, key: &str) -> Result<&str, Error> {
        self.one(key)?
            .ok_or_else(|| Error::new(format!("missing config key {}", quote(key))))
    }

    /// Checks that each of `keys` has at most one value, in the order given, failing
    /// as [`Config::one`] for the first that has more.
    pub fn single(&self, keys: &[&str]) -> Result<(), Error> {
        for k in keys {
            self.one(k)?;
        }
        Ok(())
    }

    /// The single value of `key` parsed as `T` (`bool` takes `true`/`false`, numbers
    /// decimal text). `Ok(None)` when absent; the error names the key and value.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.one(key)? {
            None => Ok(None),
            Some(v) => v.parse::<T>().map(Some).map_err(|e| {
                Error::new(format!(
                    "config key {}: invalid value {}: {}",
                    quote(key),
                    quote(v),
                    e
                ))
            }),
        }
    }

    /// [`Config::parse`] with a default for an absent key.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    /// Every value of `key` parsed as `T`.
    pub fn parse_all<T: FromStr>(&self, key: &str) -> Result<Vec<T>, Error>
    where
        T::Err: std::fmt::Display,
    {
        self.get_all(key)
            .into_iter()
            .map(|v| {
                v.parse::<T>().map_err(|e| {
                    Error::new(format!("config key {}: invalid value {}: {}", quote(key), quote(v), e))
                })
            })
            .collect()
    }

    /// The former name of [`Config::sub`].
    pub fn table(&self, prefix: &str) -> Vec<(&str, &str)> {
        self.sub(prefix)
    }

    /// The pairs of a nested table: keys `prefix.rest` returned as `(rest, value)`
    /// (Go `Sub`, AssemblyScript `sub`).
    pub fn sub(&self, prefix: &str) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('.'))
                    .map(|r| (r, v.as_str()))
            })
            .collect()
    }

    /// Checks every key against `known`, in the order the pairs arrived, and fails
    /// with `unknown config key "<key>"` for the first key that is not known. A known
    /// entry `"name.*"` accepts every key under table `name`. Call it first in init so
    /// that a typo stops the stream instead of being ignored.
    pub fn unknown(&self, known: &[&str]) -> Result<(), Error> {
        for (k, _) in &self.pairs {
            let ok = known.iter().any(|p| match p.strip_suffix(".*") {
                Some(t) => k.strip_prefix(t).map_or(false, |r| r.starts_with('.')),
                None => k == p,
            });
            if !ok {
                return Err(Error::new(format!("unknown config key {}", quote(k))));
            }
        }
        Ok(())
    }
}
