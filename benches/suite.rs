//! The benchmark runner (DESIGN.md "Benchmarks", issue 4):
//!
//! ```text
//! cargo bench --bench suite -- [--device cpu|gpu|auto] [--size small|full] [--json FILE]
//!                              [--reps N] [--only NAME,NAME...] [--keep]
//! ```
//!
//! `--size small` (the default) uses 64 MiB inputs and writes 2 GB for the out-of-core workload;
//! `--size full` takes several minutes and writes 30 GB. The written data is
//! removed afterwards unless `--keep` is given.
//!
//! It first measures the machine's roofline in this process (STREAM-style triad for bandwidth,
//! a register-only FMA loop for f32 compute, all threads), then runs each workload (one warm-up,
//! then `--reps` timed runs: median and best) and prints one row per workload with its rate and
//! its ratio to the roofline: memory-bound workloads against the triad, matmul against peak FMA.
//! Rates and ratios use the median time; the roofline uses the best pass, as STREAM does.
//! `--json FILE` writes the same figures with the machine's description.

#[path = "suite/gpu.rs"]
mod gpu;
#[path = "suite/machine.rs"]
mod machine;
#[path = "suite/ooc.rs"]
mod ooc;
#[path = "suite/roofline.rs"]
mod roofline;
#[path = "suite/workloads.rs"]
mod workloads;

use machine::{Json, Machine};
use std::path::PathBuf;
use std::process::ExitCode;
use tilework::{Context, Device};
use workloads::{Bench, Outcome, Work};

const REDUCTIONS: [&str; 5] = ["sum", "mean", "sum_axis0", "sum_axis1", "std"];
const WORKLOADS: [&str; 10] = [
    "fused_elementwise",
    "sum",
    "mean",
    "sum_axis0",
    "sum_axis1",
    "std",
    "matmul",
    "heat_step",
    "overhead_per_task",
    "ooc_mean_std",
];

struct Args {
    device: Device,
    small: bool,
    json: Option<PathBuf>,
    reps: Option<usize>,
    only: Option<Vec<String>>,
    /// Bytes of the out-of-core array (default 2 GB small, 30 GB full).
    ooc_size: Option<u64>,
    /// Host budget of the out-of-core workload.
    ooc_budget: u64,
    /// Where the out-of-core array is written.
    ooc_dir: PathBuf,
    /// Keep the out-of-core array after the run.
    keep: bool,
}

const USAGE: &str = "usage: cargo bench --bench suite -- [--device cpu|gpu|auto] \
                     [--size small|full] [--json FILE] [--reps N] [--only NAME,NAME...] \
                     [--ooc-size 2GB] [--ooc-budget 256MiB] [--ooc-dir target/ooc] [--keep]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        device: Device::Auto,
        small: true,
        json: None,
        reps: None,
        only: None,
        ooc_size: None,
        ooc_budget: 256 << 20,
        ooc_dir: PathBuf::from("target/ooc"),
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--bench" => {} // cargo bench passes it to every bench binary
            "--device" => args.device = value()?.parse().map_err(|e| format!("{e}"))?,
            "--size" => {
                args.small = match value()?.as_str() {
                    "small" => true,
                    "full" => false,
                    other => return Err(format!("--size {other}: expected small or full")),
                }
            }
            "--json" => args.json = Some(PathBuf::from(value()?)),
            "--reps" => {
                let reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?;
                args.reps = Some(reps).filter(|&r| r > 0);
            }
            "--only" => {
                let names: Vec<String> = value()?.split(',').map(str::to_string).collect();
                if let Some(bad) = names.iter().find(|n| !WORKLOADS.contains(&n.as_str())) {
                    return Err(format!(
                        "--only: unknown workload {bad:?}; the workloads are {}",
                        WORKLOADS.join(", ")
                    ));
                }
                args.only = Some(names);
            }
            "--ooc-size" => {
                args.ooc_size = Some(tilework::parse_bytes(&value()?).map_err(|e| e.to_string())?)
            }
            "--ooc-budget" => {
                args.ooc_budget = tilework::parse_bytes(&value()?).map_err(|e| e.to_string())?
            }
            "--ooc-dir" => args.ooc_dir = PathBuf::from(value()?),
            "--keep" => args.keep = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn fmt_time(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.2} us", s * 1e6),
        s => format!("{:.1} ns", s * 1e9),
    }
}

/// A measured workload with its derived figures.
struct Row {
    outcome: Outcome,
    median: f64,
    best: f64,
    rate: f64,
    unit: &'static str,
    ratio: Option<f64>,
}

impl Row {
    fn new(outcome: Outcome, triad_gbps: f64, fma_gflops: f64) -> Row {
        let mut sorted = outcome.times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        let best = sorted.first().copied().unwrap_or(f64::NAN);
        let (rate, unit, ratio) = match outcome.work {
            Work::Bytes(b) => (
                b / median / 1e9,
                "GB/s",
                Some(b / median / 1e9 / triad_gbps),
            ),
            Work::Flops(f) => (
                f / median / 1e9,
                "GFLOP/s",
                Some(f / median / 1e9 / fma_gflops),
            ),
            Work::DiskBytes { bytes, raw_gbps } => (
                bytes / median / 1e9,
                "GB/s",
                Some(bytes / median / 1e9 / raw_gbps),
            ),
            Work::PerTask => (median * 1e6, "us/task", None),
        };
        Row {
            outcome,
            median,
            best,
            rate,
            unit,
            ratio,
        }
    }

    fn print(&self) {
        let ratio = self.ratio.map_or("-".into(), |r| format!("{r:.2}"));
        println!(
            "{:<18} {:>11} {:>11} {:>9.2} {:<8} {:>6}   {}",
            self.outcome.workload,
            fmt_time(self.median),
            fmt_time(self.best),
            self.rate,
            self.unit,
            ratio,
            self.outcome.params
        );
        if let Some(note) = &self.outcome.note {
            println!("  ^ {note}");
        }
    }

    fn to_json(&self, device: &str, size: &str) -> Json {
        Json::Obj(vec![
            ("workload", Json::str(self.outcome.workload)),
            ("device", Json::str(device)),
            ("size", Json::str(size)),
            ("median_s", Json::num(Some(self.median))),
            ("best_s", Json::num(Some(self.best))),
            ("rate", Json::num(Some(self.rate))),
            ("unit", Json::str(self.unit)),
            ("ratio_to_roofline", Json::num(self.ratio)),
            ("params", Json::str(&self.outcome.params)),
            ("reps", Json::Num(self.outcome.times.len() as f64)),
            (
                "note",
                self.outcome.note.clone().map_or(Json::Null, Json::Str),
            ),
        ])
    }
}

fn main() -> ExitCode {
    // `cargo test --benches` (or `--all-targets`) runs this binary without `--bench` in the
    // unoptimized test profile: timings would be meaningless and the full size slow, so skip.
    if cfg!(debug_assertions) && !std::env::args().any(|a| a == "--bench") {
        println!("suite: skipped in a debug build; run `cargo bench --bench suite`");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let ctx = match Context::builder().device(args.device).build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot create a context for {:?}: {e}", args.device);
            return ExitCode::from(2);
        }
    };
    // `auto` uses a hardware GPU when there is one: report the device that ran.
    let device = if ctx.gpu().is_some() { "gpu" } else { "cpu" };
    let size = if args.small { "small" } else { "full" };
    let wanted = |name: &str| {
        args.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|n| n == name))
    };
    let machine = Machine::detect();
    let ticks = machine::CpuTicks::now();
    println!(
        "tilework {} suite, size {size}, device {device} ({} threads) on {} ({} cores), {}",
        env!("CARGO_PKG_VERSION"),
        ctx.threads(),
        machine.cpu,
        machine.cores,
        machine::utc_now(),
    );
    let started = std::time::Instant::now();
    println!(
        "{}",
        if args.small {
            "size small: 64 MiB inputs; ooc_mean_std writes and reads 2 GB \
             (--size full: 0.5-1.5 GiB inputs and 30 GB, several minutes)"
        } else {
            "size full: 0.5-1.5 GiB inputs; several minutes on 2 cores; ooc_mean_std writes 30 GB"
        }
    );

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.threads())
        .build()
        .expect("roofline threads");
    let triad_n = if args.small { 1 << 25 } else { 1 << 26 };
    let triad = roofline::triad_gbps(&pool, triad_n, if args.small { 6 } else { 10 });
    // About 50 ms (small: 10 ms) per AVX-512 repetition at 225 GFLOP/s per core; best of 10,
    // since a shared virtual machine steals time slices.
    let iters = if args.small { 5_000_000 } else { 20_000_000 };
    // The widest ISA is the roofline; narrower ones are printed too, since a kernel library may
    // use only some of them (gemm 0.19 uses AVX-512 only with its `x86-v4` feature).
    let peaks: Vec<(&str, f64)> = roofline::fma_kernels()
        .into_iter()
        .take(2)
        .map(|(kernel, isa)| (isa, roofline::fma_gflops(&pool, kernel, iters, 10)))
        .collect();
    let (isa, fma) = peaks[0];
    drop(pool);
    let peak_text: Vec<String> = peaks.iter().map(|(i, g)| format!("{g:.1} ({i})")).collect();
    println!(
        "roofline: triad {triad:.1} GB/s (3 x 2^{} f64, best pass), peak FMA f32 GFLOP/s: {}",
        triad_n.trailing_zeros(),
        peak_text.join(", ")
    );
    // On a GPU the ratios are to the device's own copy bandwidth and FMA peak, measured now.
    let gpu_roofline = match ctx.gpu() {
        Some(name) => match gpu::roofline(args.small) {
            Ok(r) => {
                println!("gpu {name}: {}", r.describe());
                Some(r)
            }
            Err(e) => {
                eprintln!("cannot measure the GPU roofline: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let (triad, fma) = gpu_roofline
        .as_ref()
        .map_or((triad, fma), |r| (r.copy_gbps, r.fma_gflops));
    if gpu_roofline.is_some() {
        println!(
            "GPU workload times are wall times of whole computations: they include copying the \
             inputs to the device and the results back"
        );
    }
    println!();

    if args.small {
        println!("small inputs (64 MiB) may sit in the last-level cache: ratios above 1 are cache");
    }
    println!(
        "{:<18} {:>11} {:>11} {:>9} {:<8} {:>6}   params",
        "workload", "median", "best", "rate", "unit", "ratio"
    );
    let bench = |reps: usize| Bench {
        ctx: ctx.clone(),
        small: args.small,
        reps: args.reps.unwrap_or(reps),
    };
    let mut rows = Vec::new();
    let mut failed = false;
    let mut record = |name: &str, outcomes: tilework::Result<Vec<Outcome>>| match outcomes {
        Ok(outcomes) => {
            for o in outcomes {
                let row = Row::new(o, triad, fma);
                row.print();
                rows.push(row);
            }
        }
        Err(e) => {
            println!("{name}: error: {e}");
            failed = true;
        }
    };
    if wanted("fused_elementwise") {
        record(
            "fused_elementwise",
            workloads::fused_elementwise(&bench(5)).map(|o| vec![o]),
        );
    }
    let reductions: Vec<&'static str> = REDUCTIONS.into_iter().filter(|n| wanted(n)).collect();
    if !reductions.is_empty() {
        record("reductions", workloads::reductions(&bench(5), &reductions));
    }
    let heavy_reps = if args.small { 5 } else { 3 };
    if wanted("matmul") {
        record(
            "matmul",
            workloads::matmul(&bench(heavy_reps)).map(|o| vec![o]),
        );
    }
    if wanted("heat_step") {
        record(
            "heat_step",
            workloads::heat_step(&bench(heavy_reps)).map(|o| vec![o]),
        );
    }
    if wanted("overhead_per_task") {
        let outcome = workloads::overhead_per_task(&bench(heavy_reps));
        record("overhead_per_task", outcome.map(|o| vec![o]));
    }
    if wanted("ooc_mean_std") {
        let default_size = if args.small {
            2_000_000_000
        } else {
            30_000_000_000
        };
        let size = args.ooc_size.unwrap_or(default_size);
        let outcome = ooc::ooc_mean_std(
            &bench(3),
            size,
            args.ooc_budget,
            &args.ooc_dir,
            args.keep,
            triad,
        );
        record("ooc_mean_std", outcome.map(|o| vec![o]));
    }
    // Other processes on a shared machine skew every figure: say how much CPU they took.
    let others = ticks
        .zip(machine::CpuTicks::now())
        .map(|(a, b)| b.others_since(&a));
    if let Some(others) = others {
        let warn = if others > 0.2 {
            "; figures are skewed, rerun on an idle machine"
        } else {
            ""
        };
        println!(
            "other processes used {others:.2} of {} CPUs during the run{warn}",
            machine.threads
        );
    }

    if let Some(path) = &args.json {
        let skipped: Vec<Json> = Vec::new();
        let report = Json::Obj(vec![
            ("date_utc", Json::str(machine::utc_now())),
            ("machine", machine.to_json()),
            ("others_cpus", Json::num(others)),
            (
                "roofline",
                Json::Obj(vec![
                    ("triad_gbps", Json::num(Some(triad))),
                    ("fma_gflops", Json::num(Some(fma))),
                    ("fma_isa", Json::str(isa)),
                    (
                        "fma_gflops_by_isa",
                        Json::Obj(
                            peaks
                                .iter()
                                .map(|&(i, g)| (i, Json::num(Some(g))))
                                .collect(),
                        ),
                    ),
                    ("triad_bytes", Json::Num((3 * 8 * triad_n) as f64)),
                    (
                        "gpu",
                        gpu_roofline
                            .as_ref()
                            .map_or(Json::Null, gpu::GpuRoofline::to_json),
                    ),
                ]),
            ),
            (
                "results",
                Json::Arr(rows.iter().map(|r| r.to_json(device, size)).collect()),
            ),
            ("skipped", Json::Arr(skipped)),
        ]);
        if let Err(e) = std::fs::write(path, format!("{report}\n")) {
            eprintln!("cannot write {}: {e}", path.display());
            failed = true;
        } else {
            println!("\nwrote {}", path.display());
        }
    }
    println!("\nsuite took {:.0} s", started.elapsed().as_secs_f64());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
