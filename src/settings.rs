//! The settings of a [`crate::Context`], from its builder or the environment, checked when the
//! context is built: a value that would make every computation fail (a budget of 0 bytes), or
//! that overflows (a thread count of `usize::MAX`), is an error naming the builder method or the
//! environment variable and the value, never a context that fails later.

use std::path::Path;
use tilework_core::{Error, Result};

/// The most compute threads a context starts, and the most I/O threads (each).
pub const MAX_THREADS: usize = 4096;

/// The most source chunks a context reads ahead of their consumers.
pub const MAX_PREFETCH: usize = 1 << 20;

/// Reads an environment variable: `None` when unset or empty. The process environment in
/// `build`; a table in tests, which must not change the environment other tests read.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`Env`].
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A setting given to the builder as `method(value)` or in the environment as `var=value`.
pub(crate) struct Setting {
    /// The builder method.
    pub(crate) method: &'static str,
    /// The environment variable (`None`: the builder only).
    pub(crate) var: Option<&'static str>,
}

impl Setting {
    /// The builder's value if given, else the environment's read with `parse`; then `check`ed.
    /// Errors say `method(value): why` or `VAR=text: why`.
    pub(crate) fn resolve<T: std::fmt::Debug>(
        &self,
        env: Env<'_>,
        given: Option<T>,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
        check: impl Fn(&T) -> std::result::Result<(), String>,
    ) -> Result<Option<T>> {
        if let Some(value) = given {
            check(&value).map_err(|why| bad(format!("{}({value:?}): {why}", self.method)))?;
            return Ok(Some(value));
        }
        let Some((var, text)) = self.var.and_then(|var| Some((var, env(var)?))) else {
            return Ok(None);
        };
        let value = parse(text.trim())
            .and_then(|v| check(&v).map(|()| v))
            .map_err(|why| bad(format!("{var}={text}: {why}")))?;
        Ok(Some(value))
    }
}

/// A setting that the context cannot use.
fn bad(detail: String) -> Error {
    Error::invalid("context", detail)
}

/// A count in `min..=max` (`what` names the unit).
pub(crate) fn count(
    min: usize,
    max: usize,
    what: &'static str,
) -> impl Fn(&usize) -> std::result::Result<(), String> {
    move |&n| {
        if (min..=max).contains(&n) {
            Ok(())
        } else {
            Err(format!("must be between {min} and {max} {what}"))
        }
    }
}

/// A whole number (the environment form of a count).
pub(crate) fn whole(text: &str) -> std::result::Result<usize, String> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number"));
    }
    text.parse().map_err(|_| format!("{text:?} is too large"))
}

/// A memory budget: at least one byte (a budget of 0 bytes holds no chunk, so every
/// computation would fail).
pub(crate) fn budget(bytes: &u64) -> std::result::Result<(), String> {
    if *bytes == 0 {
        return Err("a memory budget of 0 bytes cannot hold any chunk (give e.g. 512MiB)".into());
    }
    Ok(())
}

/// A spill directory: one that exists must be a directory (a missing one is made on the first
/// spill).
pub(crate) fn spill_dir(dir: &Path) -> std::result::Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    Ok(())
}

/// Parses sizes such as `"256MiB"`, `"1.5GB"`, `"4096"` into bytes (binary and decimal units,
/// case-insensitive; space between number and unit allowed). Fractions of a unit round to the
/// nearest byte (`"0.5GiB"`, `"1.5KB"`); a size in bytes must be whole (`"0.5"` is an error).
///
/// # Errors
/// [`Error::InvalidArgument`] for anything else: an empty string, a sign, NaN, infinity,
/// exponents, an unknown unit, a nonzero size that rounds to 0 bytes, or more than `u64::MAX`
/// bytes.
pub fn parse_bytes(text: &str) -> Result<u64> {
    bytes(text).map_err(|why| Error::invalid("parse_bytes", why))
}

/// [`parse_bytes`] with the reason as text.
pub(crate) fn bytes(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(format!("{text:?} is not a size like 256MiB"));
    }
    let scale: u128 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(format!("unknown unit in {text:?} (B, KB..TB, KiB..TiB)")),
    };
    let too_large = || format!("{text:?} is more than {} bytes", u64::MAX);
    let digits = |s: &str| {
        s.bytes().try_fold(0u128, |acc, d| {
            acc.checked_mul(10)?.checked_add(u128::from(d - b'0'))
        })
    };
    let whole = digits(int)
        .and_then(|w| w.checked_mul(scale))
        .ok_or_else(too_large)?;
    // 24 decimals keep `frac * scale` within u128; later ones change the size by less than
    // 10^-11 bytes.
    let kept = &frac[..frac.len().min(24)];
    let denominator = 10u128.pow(kept.len() as u32);
    let part = digits(kept).expect("24 decimal digits fit in u128") * scale;
    let fractional = frac.bytes().any(|d| d != b'0');
    if fractional && scale == 1 {
        return Err(format!(
            "{text:?} is a fraction of a byte (give whole bytes, or a unit as in 0.5GiB)"
        ));
    }
    let total = whole
        .checked_add((part + denominator / 2) / denominator)
        .ok_or_else(too_large)?;
    if total == 0 && (fractional || int.bytes().any(|d| d != b'0')) {
        return Err(format!("{text:?} rounds to 0 bytes"));
    }
    u64::try_from(total).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes(" 1.5 kb ").unwrap(), 1500);
        assert_eq!(parse_bytes("0.5GiB").unwrap(), 1 << 29);
        assert_eq!(parse_bytes(".5KiB").unwrap(), 512);
        assert_eq!(parse_bytes("3.").unwrap(), 3);
        assert_eq!(parse_bytes("0").unwrap(), 0);
        assert_eq!(parse_bytes("0.0MB").unwrap(), 0);
        assert_eq!(
            parse_bytes("1.0000000000000000000000000001TiB").unwrap(),
            1 << 40
        );
        assert_eq!(parse_bytes("18446744073709551615").unwrap(), u64::MAX);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn sizes_that_are_not_sizes_are_errors() {
        for text in [
            "",
            " ",
            ".",
            "1.2.3",
            "-1",
            "-1GiB",
            "+5",
            "NaN",
            "inf",
            "1e9",
            "5 apples",
            "0.5",
            "0.5B",
            "0.0001KB",
            "18446744073709551616",
            "99999999999999999999999TiB",
            "9999999999999999999999999999999999999999999",
        ] {
            let err = parse_bytes(text).expect_err(text).to_string();
            assert!(err.starts_with("parse_bytes: "), "{text:?}: {err}");
        }
        let err = parse_bytes("99999999999999999999999TiB").unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        let err = parse_bytes("0.5").unwrap_err();
        assert!(err.to_string().contains("fraction of a byte"), "{err}");
    }
}
