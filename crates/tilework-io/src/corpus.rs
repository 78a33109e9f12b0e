//! The harness of the corrupt-file corpus tests (`npy::tests::corpus` and
//! `zarr::tests::corpus`): a seeded generator, and a runner that runs each case on a thread of
//! its own under `catch_unwind` and a watchdog, and tallies what happened.
//!
//! A case reads its input whole ([`Outcome::Read`]), is refused with an error
//! ([`Outcome::Refused`]), or fails a check of its own (the `Err` of [`CaseResult`]: an error
//! that does not name the file, a truncated file that read). The runner adds panics and hangs.
//! A corpus passes when it has none of the three.
//!
//! The seed is fixed unless `TILEWORK_CORPUS_SEED` (decimal or `0x` hex) gives another; it is
//! printed, so any campaign can be replayed. `TILEWORK_CORPUS_VERBOSE=1` names every case as it
//! starts, for the one failure that cannot be caught and reported: an abort.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tilework_core::{Error, HostArray, Region};

const SEED_VAR: &str = "TILEWORK_CORPUS_SEED";
const VERBOSE_VAR: &str = "TILEWORK_CORPUS_VERBOSE";
const DEFAULT_SEED: u64 = 0x00C0_4905_1408;

/// A case running longer than this is a hang: honest cases take milliseconds.
const WATCHDOG: Duration = Duration::from_secs(5);

/// Failures listed in full in an assertion message; the rest are counted.
const SHOWN: usize = 40;

/// SplitMix64: seedable, and the same on every machine.
pub(crate) struct Seeded(u64);

impl Seeded {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    /// A byte with a single bit set.
    pub(crate) fn bit(&mut self) -> u8 {
        1 << self.below(8)
    }

    /// Up to `count` distinct positions in `range`, ascending: all of them when the range is
    /// no longer, else always its two ends and a seeded draw of the rest.
    pub(crate) fn positions(&mut self, range: Range<usize>, count: usize) -> Vec<usize> {
        if range.len() <= count {
            return range.collect();
        }
        let mut picked = std::collections::BTreeSet::from([range.start, range.end - 1]);
        while picked.len() < count {
            picked.insert(range.start + self.below(range.len()));
        }
        picked.into_iter().collect()
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// How a case ended, when every check passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Opened and read whole.
    Read,
    /// Refused with a clear error (at open or at a read), quoted.
    Refused(String),
}

/// A case's outcome, or the check it failed.
pub(crate) type CaseResult = Result<Outcome, String>;

/// Checks that `err` names `location` (an [`Error::Io`] about that path with a message, or any
/// other error whose text contains it), contains every one of `all_of` and, unless it is
/// empty, at least one of `any_of`.
pub(crate) fn check_error(
    err: &Error,
    location: &str,
    all_of: &[&str],
    any_of: &[&str],
) -> Result<(), String> {
    let text = err.to_string();
    let names_location = match err {
        Error::Io { path, message } => path == location && !message.trim().is_empty(),
        _ => text.contains(location),
    };
    if !names_location {
        return Err(format!("the error does not name {location}: {err:?}"));
    }
    if let Some(missing) = all_of.iter().find(|needle| !text.contains(*needle)) {
        return Err(format!("the error lacks {missing:?}: {text}"));
    }
    if !any_of.is_empty() && !any_of.iter().any(|needle| text.contains(needle)) {
        return Err(format!("the error names none of {any_of:?}: {text}"));
    }
    Ok(())
}

/// A read that succeeded must have the region's shape and the file's dtype.
pub(crate) fn check_read_shape(
    part: &Region,
    read: &HostArray,
    dtype: tilework_core::DType,
) -> Result<(), String> {
    if read.shape() == part.shape && read.dtype() == dtype {
        return Ok(());
    }
    Err(format!(
        "region {:?}+{:?} read as {} {:?}",
        part.start,
        part.shape,
        read.dtype(),
        read.shape()
    ))
}

/// A corpus being run: the seeded generator its cases are drawn from, and the tally.
pub(crate) struct Corpus {
    format: &'static str,
    seed: u64,
    rng: Seeded,
    verbose: bool,
    started: Instant,
    cases: usize,
    read: usize,
    refused: usize,
    failed_checks: Vec<String>,
    panics: Vec<String>,
    hangs: Vec<String>,
    slowest: (Duration, String),
}

impl Corpus {
    /// A corpus of `format` files, seeded from `TILEWORK_CORPUS_SEED` or the fixed default.
    pub(crate) fn new(format: &'static str) -> Corpus {
        let seed = std::env::var(SEED_VAR)
            .ok()
            .and_then(|text| {
                let text = text.trim();
                match text.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => text.parse().ok(),
                }
            })
            .unwrap_or(DEFAULT_SEED);
        eprintln!("{format} corpus: seed {seed:#x} (replay with {SEED_VAR}={seed:#x})");
        // Each format draws its own stream, so adding cases to one leaves the other unchanged.
        let stream = format
            .bytes()
            .fold(seed, |acc, byte| acc.rotate_left(8) ^ u64::from(byte));
        Corpus {
            format,
            seed,
            rng: Seeded(stream),
            verbose: std::env::var(VERBOSE_VAR).is_ok_and(|value| value == "1"),
            started: Instant::now(),
            cases: 0,
            read: 0,
            refused: 0,
            failed_checks: Vec::new(),
            panics: Vec::new(),
            hangs: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Seeded {
        &mut self.rng
    }

    /// Runs `case` on a thread of its own under `catch_unwind`, waiting at most the watchdog's
    /// time for it; a case still running then is a hang (its thread is left behind).
    pub(crate) fn run(
        &mut self,
        name: impl Into<String>,
        case: impl FnOnce() -> CaseResult + Send + 'static,
    ) {
        let name = name.into();
        self.cases += 1;
        if self.verbose {
            eprintln!("{} case {}: {name}", self.format, self.cases);
        }
        let (done, result) = mpsc::channel();
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .name(format!("corpus-{}", self.cases))
            .spawn(move || {
                let _ = done.send(catch_unwind(AssertUnwindSafe(case)));
            });
        let Ok(thread) = spawned else {
            self.failed_checks
                .push(format!("{name}: cannot spawn its thread"));
            return;
        };
        let result = result.recv_timeout(WATCHDOG);
        if self.verbose {
            let shown = match &result {
                Ok(Ok(Ok(outcome))) => format!("{outcome:?}"),
                Ok(Ok(Err(why))) => format!("failed check: {why}"),
                Ok(Err(_)) => "panic".into(),
                Err(_) => "hang".into(),
            };
            eprintln!("  -> {shown}");
        }
        match result {
            Ok(Ok(Ok(Outcome::Read))) => self.read += 1,
            Ok(Ok(Ok(Outcome::Refused(_)))) => self.refused += 1,
            Ok(Ok(Err(why))) => self.failed_checks.push(format!("{name}: {why}")),
            Ok(Err(payload)) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_default();
                self.panics.push(format!("{name}: panicked: {message}"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.hangs
                    .push(format!("{name}: still running after {WATCHDOG:?}"));
                return;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.panics
                    .push(format!("{name}: its thread ended without a result"));
            }
        }
        let _ = thread.join();
        let took = started.elapsed();
        if took > self.slowest.0 {
            self.slowest = (took, name);
        }
    }

    /// Prints the tally and fails the test on any panic, hang or failed check, listing them.
    pub(crate) fn finish(self) {
        let elapsed = self.started.elapsed();
        eprintln!(
            "{} corpus: {} cases in {elapsed:.2?}: {} read, {} refused, {} panics, {} hangs, \
             {} failed checks; slowest case {:.2?} ({})",
            self.format,
            self.cases,
            self.read,
            self.refused,
            self.panics.len(),
            self.hangs.len(),
            self.failed_checks.len(),
            self.slowest.0,
            self.slowest.1,
        );
        let bad: Vec<&String> = self
            .panics
            .iter()
            .chain(&self.hangs)
            .chain(&self.failed_checks)
            .collect();
        let shown: Vec<&&String> = bad.iter().take(SHOWN).collect();
        assert!(
            bad.is_empty(),
            "{} corpus (seed {:#x}): {} panics, {} hangs and {} failed checks in {} cases \
             (first {}):\n{shown:#?}",
            self.format,
            self.seed,
            self.panics.len(),
            self.hangs.len(),
            self.failed_checks.len(),
            self.cases,
            shown.len(),
        );
    }
}
