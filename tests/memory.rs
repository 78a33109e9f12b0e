//! Memory budgets measured from outside: child processes stream the mean and standard deviation
//! of a 256 MiB array (four times the largest budget) from generated data, a Zarr store and a
//! `.npy` file, and each child's peak resident set (VmHWM) must stay within its host budget plus
//! 64 MiB of fixed overhead (the program, thread stacks, what the allocator keeps of freed chunks,
//! a store's decode buffers). A GPU driver that a context loads to look for a GPU comes on top;
//! the `Device::Auto` child measures it and says how large it was.
mod common;

use std::path::Path;
use std::process::Command;
use tilework::prelude::*;

const ROWS: usize = 16384;
const COLUMNS: usize = 4096; // 16384 x 4096 f32 = 256 MiB
const CHUNK: [usize; 2] = [256, COLUMNS]; // 4 MiB
const SLACK: u64 = 64 << 20;
const CHILD_ENV: &str = "TILEWORK_TEST_MEMORY_CHILD";
const DATA_ENV: &str = "TILEWORK_TEST_MEMORY_DATA";

fn generated(ctx: &Context) -> Result<Array> {
    ctx.rng(17)
        .normal(&[ROWS, COLUMNS], 5.0, 3.0, DType::F32, CHUNK)
}

/// Peak resident set of this process in bytes, from `/proc/self/status`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The array a child streams: `source` is `generated`, `zarr` or `npy` (the same values).
fn source(ctx: &Context, source: &str, data: &Path) -> Result<Array> {
    match source {
        "zarr" => ctx.from_zarr(data.join("x.zarr")),
        // The file's own chunks are larger than the smallest budget: read it on smaller ones.
        "npy" => ctx.from_npy(data.join("x.npy"))?.rechunk(CHUNK),
        _ => generated(ctx),
    }
}

/// Run only as a child of `peak_rss_stays_within_the_budget_plus_64_mib`.
#[test]
#[ignore = "child process of peak_rss_stays_within_the_budget_plus_64_mib"]
fn child_computes_statistics_under_a_budget() -> Result<()> {
    let (Ok(setup), Ok(data)) = (std::env::var(CHILD_ENV), std::env::var(DATA_ENV)) else {
        return Err(Error::invalid("test", "run by the parent test only"));
    };
    let mut fields = setup.split_whitespace();
    let (Some(from), Some(budget), Some(device)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(Error::invalid("test", format!("bad child setup {setup:?}")));
    };
    let budget: u64 = budget
        .parse()
        .map_err(|_| Error::invalid("test", "bad budget"))?;
    let device = if device == "auto" {
        Device::Auto
    } else {
        Device::Cpu
    };
    let before = peak_rss().unwrap_or(0);
    let ctx = Context::builder()
        .threads(2)
        .device(device)
        .host_memory(budget)
        .build()?;
    let context_rss = peak_rss().unwrap_or(0);
    let x = source(&ctx, from, Path::new(&data))?;
    let (stats, report) = compute_all(&ctx, &[x.mean()?, x.std(0)?])?;
    let bits = |i: usize| stats[i].get(&[]).map_or(u64::MAX, |s| s.to_f64().to_bits());
    println!(
        "RESULT peak_rss={} context={} peak_host={} spilled={} mean={} std={}",
        peak_rss().unwrap_or(0),
        context_rss.saturating_sub(before),
        report.peak_host_bytes,
        report.bytes_spilled,
        bits(0),
        bits(1)
    );
    Ok(())
}

/// Runs one child and returns its RESULT fields.
fn run_child(setup: &str, data: &Path) -> Vec<(String, u64)> {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_computes_statistics_under_a_budget",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, setup)
        .env(DATA_ENV, data)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {setup} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, fields)| fields))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{stdout}"));
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
        .collect()
}

#[test]
fn peak_rss_stays_within_the_budget_plus_64_mib() -> Result<()> {
    if peak_rss().is_none() {
        eprintln!("skipping: /proc/self/status has no VmHWM on this system");
        return Ok(());
    }
    let data = tempfile::tempdir().expect("tempdir");
    let roomy = Context::builder().threads(2).device(Device::Cpu).build()?;
    let x = generated(&roomy)?;
    x.to_zarr(
        data.path().join("x.zarr"),
        &tilework::ZarrWriteOptions::default(),
    )?;
    x.to_npy(data.path().join("x.npy"))?;
    let want = [x.mean()?, x.std(0)?].map(|s| s.to_scalar().map(|v| v.to_f64().to_bits()));
    let mut runs = vec![];
    for from in ["generated", "zarr", "npy"] {
        for budget in [9u64 << 20, 16 << 20, 64 << 20] {
            runs.push((from, budget, "cpu"));
        }
    }
    runs.push(("zarr", 16 << 20, "auto"));
    for (from, budget, device) in runs {
        let fields = run_child(&format!("{from} {budget} {device}"), data.path());
        let field = |name: &str| -> u64 {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
        };
        // With `Device::Auto` the context looks for a GPU; a driver it loads stays mapped.
        let driver = if device == "auto" {
            field("context")
        } else {
            0
        };
        let rss = field("peak_rss");
        eprintln!(
            "{from:>9} budget {:>2} MiB {device:>4}: peak RSS {:>3} MiB (peak held {:>2} MiB; \
             context {:>2} MiB)",
            budget >> 20,
            rss >> 20,
            field("peak_host") >> 20,
            field("context") >> 20
        );
        assert!(
            rss <= budget + SLACK + driver,
            "{from} under {budget} bytes ({device}): peak RSS {rss} exceeds the budget + 64 MiB \
             (+ {driver} bytes of GPU driver)"
        );
        assert!(field("peak_host") <= budget);
        assert_eq!(
            field("spilled"),
            0,
            "{from} {budget}: a streaming reduction spilled"
        );
        // Every source holds the same values in the same chunks: the same reduction trees.
        assert_eq!(
            [Ok(field("mean")), Ok(field("std"))],
            want.clone(),
            "{from} {budget}"
        );
    }
    Ok(())
}
