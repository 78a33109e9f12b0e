//! Memory budgets measured from outside: a child process computes statistics of an array four
//! times larger than its host budget, and its peak resident set (VmHWM) must stay near the budget.
mod common;

use std::process::Command;
use tilework::prelude::*;

const BUDGET: u64 = 64 << 20;
const ROWS: usize = 16384;
const COLUMNS: usize = 4096; // 16384 x 4096 f32 = 256 MiB, four times the budget
const CHILD_ENV: &str = "TILEWORK_TEST_MEMORY_CHILD";

fn generated(ctx: &Context) -> Result<Array> {
    ctx.rng(17)
        .normal(&[ROWS, COLUMNS], 5.0, 3.0, DType::F32, [256, COLUMNS])
}

/// Peak resident set of this process in bytes, from `/proc/self/status`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Mean and standard deviation in f64, two passes over row blocks (never the whole array).
fn streaming_reference(x: &Array) -> Result<(f64, f64)> {
    let blocks = (0..ROWS).step_by(1024);
    let mut sum = 0.0;
    for start in blocks.clone() {
        let block = x.slice(&s![start..start + 1024, ..])?.to_ndarray::<f32>()?;
        sum += block.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let n = (ROWS * COLUMNS) as f64;
    let mean = sum / n;
    let mut squares = 0.0;
    for start in blocks {
        let block = x.slice(&s![start..start + 1024, ..])?.to_ndarray::<f32>()?;
        squares += block
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>();
    }
    Ok((mean, (squares / n).sqrt()))
}

/// Run only as the child of `statistics_of_an_array_4x_the_budget_stay_within_it`.
#[test]
#[ignore = "child process of statistics_of_an_array_4x_the_budget_stay_within_it"]
fn child_computes_statistics_under_a_budget() -> Result<()> {
    if std::env::var(CHILD_ENV).is_err() {
        return Err(Error::invalid("test", "run by the parent test only"));
    }
    let ctx = Context::builder().threads(2).host_memory(BUDGET).build()?;
    let x = generated(&ctx)?;
    let (stats, report) = compute_all(&ctx, &[x.mean()?, x.std(0)?])?;
    let rss = peak_rss().unwrap_or(0);
    let (mean, std) = streaming_reference(&x)?;
    let got_mean = stats[0].get(&[]).map_or(f64::NAN, |s| s.to_f64());
    let got_std = stats[1].get(&[]).map_or(f64::NAN, |s| s.to_f64());
    println!(
        "RESULT peak_rss={rss} peak_host={} mean={got_mean} std={got_std} ref_mean={mean} ref_std={std}",
        report.peak_host_bytes
    );
    Ok(())
}

#[test]
fn statistics_of_an_array_4x_the_budget_stay_within_it() {
    if peak_rss().is_none() {
        eprintln!("skipping: /proc/self/status has no VmHWM on this system");
        return;
    }
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_computes_statistics_under_a_budget",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, fields)| fields))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{stdout}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    eprintln!("{line}");
    let rss = field("peak_rss");
    assert!(
        rss <= (BUDGET + (64 << 20)) as f64,
        "peak RSS {rss} bytes exceeds the {BUDGET}-byte budget + 64 MiB"
    );
    assert!(field("peak_host") <= BUDGET as f64);
    // The statistics of f32 data are f32: equal to the f64 reference up to that rounding.
    let tolerance = 2.0 * f64::from(f32::EPSILON);
    assert!((field("mean") - field("ref_mean")).abs() <= tolerance * field("ref_mean").abs());
    assert!((field("std") - field("ref_std")).abs() <= tolerance * field("ref_std"));
}
