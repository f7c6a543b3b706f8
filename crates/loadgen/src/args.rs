//! A small `--key value` parser: the loadgen is driven by a script, so a handful of typed
//! look-ups with clear errors is all it needs (no extra dependency).

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};

pub(crate) struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub(crate) fn parse(raw: &[String]) -> Result<Self> {
        let mut values = HashMap::new();
        let mut it = raw.iter();
        while let Some(key) = it.next() {
            let Some(name) = key.strip_prefix("--") else {
                bail!("unexpected argument {key:?} (options are --name value)");
            };
            let value = it.next().ok_or_else(|| anyhow!("--{name} needs a value"))?;
            values.insert(name.to_owned(), value.clone());
        }
        Ok(Self { values })
    }

    pub(crate) fn str(&self, name: &str) -> Result<String> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("--{name} is required"))
    }

    pub(crate) fn opt_str(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| anyhow!("--{name} {v:?}: {e}"))
                .context("bad option"),
        }
    }

    /// A comma-separated list, e.g. `--rates 1000,2000`.
    pub(crate) fn list<T: FromStr>(&self, name: &str, default: &str) -> Result<Vec<T>>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.values.get(name).map(String::as_str).unwrap_or(default);
        raw.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|e| anyhow!("--{name} item {s:?}: {e}"))
            })
            .collect()
    }
}
