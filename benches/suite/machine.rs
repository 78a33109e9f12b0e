//! Machine description for the JSON report, and a minimal JSON writer (the report is a handful of
//! flat records; a serializer dependency would buy nothing).

use std::fmt::{self, Write as _};
use std::process::Command;

/// A JSON value.
pub(crate) enum Json {
    Null,
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    pub(crate) fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// A number, or null when absent or not finite.
    pub(crate) fn num(v: Option<f64>) -> Json {
        v.filter(|v| v.is_finite()).map_or(Json::Null, Json::Num)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Num(v) => write!(f, "{v}"),
            Json::Str(s) => {
                f.write_char('"')?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            Json::Arr(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    let sep = if i == 0 { "\n" } else { ",\n" };
                    write!(f, "{sep}{item}")?;
                }
                f.write_str("\n]")
            }
            Json::Obj(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}: {value}", Json::str(*key))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// What the report says about the machine.
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) threads: usize,
    pub(crate) os: String,
    pub(crate) rustc: Option<String>,
    /// `git describe --always --dirty` of the source tree, when it is a checkout.
    pub(crate) git: Option<String>,
}

impl Machine {
    pub(crate) fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |line: &str, key: &str| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        };
        let cpu = cpuinfo
            .lines()
            .find_map(|l| field(l, "model name"))
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        // Physical cores: distinct (physical id, core id) pairs; logical CPUs when not listed.
        let mut ids = std::collections::BTreeSet::new();
        let mut package = String::new();
        for line in cpuinfo.lines() {
            if let Some(p) = field(line, "physical id") {
                package = p;
            } else if let Some(core) = field(line, "core id") {
                ids.insert((package.clone(), core));
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cores = if ids.is_empty() { threads } else { ids.len() };
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let pretty = os_release.lines().find_map(|l| {
            let v = l.strip_prefix("PRETTY_NAME=")?;
            Some(v.trim_matches('"').to_string())
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
        let os = [
            Some(std::env::consts::OS.to_string()),
            pretty,
            kernel.map(|k| k.trim().to_string()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let run = |program: &str, args: &[&str]| {
            let out = Command::new(program).args(args).output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !text.is_empty()).then_some(text)
        };
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let rustc = run(&rustc, &["--version"]);
        let dir = env!("CARGO_MANIFEST_DIR");
        let git = run("git", &["-C", dir, "describe", "--always", "--dirty"]);
        Machine {
            cpu,
            cores,
            threads,
            os,
            rustc,
            git,
        }
    }

    pub(crate) fn to_json(&self) -> Json {
        let versions = Json::Obj(vec![
            ("tilework", Json::str(env!("CARGO_PKG_VERSION"))),
            ("rustc", self.rustc.clone().map_or(Json::Null, Json::Str)),
            ("git", self.git.clone().map_or(Json::Null, Json::Str)),
        ]);
        Json::Obj(vec![
            ("cpu", Json::str(&self.cpu)),
            ("cores", Json::Num(self.cores as f64)),
            ("threads", Json::Num(self.threads as f64)),
            ("os", Json::str(&self.os)),
            ("versions", versions),
        ])
    }
}

/// CPU time counters, to tell how much of the machine other processes took during a run.
pub(crate) struct CpuTicks {
    busy: u64,
    total: u64,
    own: u64,
    cpus: usize,
}

impl CpuTicks {
    /// Now, from `/proc/stat` (all CPUs; steal counts as busy) and `/proc/self/stat`.
    pub(crate) fn now() -> Option<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let first = stat.lines().next()?.strip_prefix("cpu ")?;
        // user nice system idle iowait irq softirq steal
        let f: Vec<u64> = first
            .split_whitespace()
            .take(8)
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?;
        let cpus = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        // After the command name's closing parenthesis come fields 3..; utime, stime are 14, 15.
        let rest: Vec<&str> = own.rsplit_once(')')?.1.split_whitespace().collect();
        let own = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
        let total = f.iter().sum::<u64>();
        Some(CpuTicks {
            busy: total - f[3] - f[4],
            total,
            own,
            cpus,
        })
    }

    /// Average number of CPUs that other processes (and the hypervisor) kept busy since `start`.
    pub(crate) fn others_since(&self, start: &CpuTicks) -> f64 {
        let busy = self.busy.saturating_sub(start.busy) as f64;
        let own = self.own.saturating_sub(start.own) as f64;
        let total = self.total.saturating_sub(start.total).max(1) as f64;
        ((busy - own) / total * self.cpus as f64).max(0.0)
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub(crate) fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}
