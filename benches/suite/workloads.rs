//! The standard workloads (DESIGN.md "Benchmarks"). Inputs are persisted before the clock starts,
//! so random generation is never timed; each timed run is preceded by one untimed warm-up run.
//!
//! Chunk sizes (chosen by measurement on the 2-core reference machine; see the bench README):
//! - 1-D: 2^22 elements (16 MiB of f32): large enough that per-task costs vanish, small enough
//!   that 2^27 elements give 32 tasks to balance over the threads.
//! - 2-D reductions: square tiles, TILES_2D per side (4096^2 at full size, 64 MiB): as fast as
//!   row blocks for sum and axis 1, and 20% faster for axis 0, whose per-chunk partial row then
//!   stays in cache.
//! - matmul: MATMUL_TILE^2 tiles.
//! - heat: HEAT_BLOCKS row blocks [side / HEAT_BLOCKS, all columns] (1024 rows at full size):
//!   halos are two rows, contiguous in memory.

use std::hint::black_box;
use std::time::Instant;
use tilework::prelude::*;

const CHUNK_1D: usize = 1 << 22;
const TILES_2D: usize = 4;
const MATMUL_TILE: usize = 2048;
const HEAT_BLOCKS: usize = 4;
const HEAT_ALPHA: f32 = 0.1;

/// How a workload's work is counted.
pub(crate) enum Work {
    /// Bytes moved per timed unit (rate in GB/s, compared with the triad).
    Bytes(f64),
    /// Flops per timed unit (rate in GFLOP/s, compared with peak FMA).
    Flops(f64),
    /// Bytes read from disk per timed unit (rate in GB/s), compared with the raw read rate of
    /// the same files measured in the same run (GB/s): the disk, not memory, is the limit.
    DiskBytes {
        /// Bytes per timed unit.
        bytes: f64,
        /// The raw read rate in GB/s.
        raw_gbps: f64,
    },
    /// Times are per task (rate in microseconds per task, no roofline).
    PerTask,
}

/// One measured workload.
pub(crate) struct Outcome {
    pub(crate) workload: &'static str,
    pub(crate) params: String,
    /// Seconds per timed unit (a run, a step or a task), one per repetition.
    pub(crate) times: Vec<f64>,
    pub(crate) work: Work,
    /// Set when a sanity check of the computed values failed.
    pub(crate) note: Option<String>,
}

/// What every workload needs.
pub(crate) struct Bench {
    pub(crate) ctx: Context,
    pub(crate) small: bool,
    pub(crate) reps: usize,
}

impl Bench {
    fn pick(&self, small: usize, full: usize) -> usize {
        if self.small { small } else { full }
    }

    /// One untimed warm-up run, then `reps` timed runs; the warm-up's value is returned.
    pub(crate) fn time<T>(&self, mut run: impl FnMut() -> Result<T>) -> Result<(Vec<f64>, T)> {
        let value = run()?;
        let mut times = Vec::with_capacity(self.reps);
        for _ in 0..self.reps {
            let t = Instant::now();
            black_box(run()?);
            times.push(t.elapsed().as_secs_f64());
        }
        Ok((times, value))
    }

    fn uniform(&self, seed: u64, shape: &[usize], chunks: impl Into<Chunks>) -> Result<Array> {
        self.ctx
            .rng(seed)
            .uniform(shape, 0.0, 1.0, DType::F32, chunks)?
            .persist()
    }
}

/// The sum of a computed array's elements in f64.
fn total(host: &HostArray) -> Result<f64> {
    Ok(host.cast(DType::F64).typed::<f64>()?.sum())
}

fn pow2(n: usize) -> String {
    format!("2^{}", n.trailing_zeros())
}

/// `Some(message)` when `got` is not within `rel` of `want`.
fn check(what: &str, got: f64, want: f64, rel: f64) -> Option<String> {
    let ok = (got - want).abs() <= rel * want.abs();
    (!ok).then(|| format!("check failed: {what} = {got}, expected {want} (rel {rel})"))
}

/// `sin(x)^2 + cos(y)*x - 3`, persisted (chunks stay in memory, no assembly).
pub(crate) fn fused_elementwise(b: &Bench) -> Result<Outcome> {
    let n = b.pick(1 << 24, 1 << 27);
    let (x, y) = (b.uniform(1, &[n], CHUNK_1D)?, b.uniform(2, &[n], CHUNK_1D)?);
    let expr = x.sin()?.pow(2.0)? + y.cos()? * &x - 3.0;
    let (times, out) = b.time(|| expr.persist())?;
    // Spot check the first element against f64 math.
    let (x0, y0) = (
        x.slice(&s![0..1])?.to_ndarray::<f32>()?[[0]],
        y.slice(&s![0..1])?,
    );
    let (x0, y0) = (f64::from(x0), f64::from(y0.to_ndarray::<f32>()?[[0]]));
    let want = x0.sin().powi(2) + y0.cos() * x0 - 3.0;
    let got = out.slice(&s![0..1])?.to_ndarray::<f32>()?[[0]];
    Ok(Outcome {
        workload: "fused_elementwise",
        params: format!("n={} f32, chunks {}", pow2(n), pow2(CHUNK_1D)),
        times,
        work: Work::Bytes((3 * 4 * n) as f64),
        note: check("out[0]", f64::from(got), want, 1e-5),
    })
}

/// The five reductions of one persisted `side x side` input, in the order of `names`.
pub(crate) fn reductions(b: &Bench, names: &[&'static str]) -> Result<Vec<Outcome>> {
    let side = b.pick(4096, 16384);
    let tile = side / TILES_2D;
    let x = b.uniform(3, &[side, side], tile)?;
    let n = (side * side) as f64;
    let mut out = Vec::new();
    for &name in names {
        let expr = match name {
            "sum" => x.sum()?,
            "mean" => x.mean()?,
            "sum_axis0" => x.sum_axes(&[0], false)?,
            "sum_axis1" => x.sum_axes(&[1], false)?,
            "std" => x.std(0)?,
            other => unreachable!("unknown reduction {other}"),
        };
        let (times, value) = b.time(|| expr.compute())?;
        // Uniform [0, 1): mean 1/2, std sqrt(1/12). Axis sums are checked through their total.
        let value = total(&value)?;
        let note = match name {
            "sum" | "sum_axis0" | "sum_axis1" => check(name, value, n / 2.0, 1e-3),
            "mean" => check(name, value, 0.5, 1e-3),
            _ => check(name, value, (1.0f64 / 12.0).sqrt(), 1e-3),
        };
        out.push(Outcome {
            workload: name,
            params: format!("{side}^2 f32, tiles {tile}"),
            times,
            work: Work::Bytes(n * 4.0),
            note,
        });
    }
    Ok(out)
}

/// `a @ b` for square f32 matrices, persisted.
pub(crate) fn matmul(b: &Bench) -> Result<Outcome> {
    let n = b.pick(1024, 4096);
    let tile = MATMUL_TILE.min(n);
    let (x, y) = (b.uniform(4, &[n, n], tile)?, b.uniform(5, &[n, n], tile)?);
    let expr = x.matmul(&y)?;
    let (times, out) = b.time(|| expr.persist())?;
    let row = x.slice(&s![0..1, ..])?.to_ndarray::<f32>()?;
    let col = y.slice(&s![.., 0..1])?.to_ndarray::<f32>()?;
    let want: f64 = row.iter().zip(&col).map(|(a, b)| f64::from(a * b)).sum();
    let got = out.slice(&s![0..1, 0..1])?.to_ndarray::<f32>()?;
    Ok(Outcome {
        workload: "matmul",
        params: format!("{n}^3 f32, tiles {tile}"),
        times,
        work: Work::Flops(2.0 * (n as f64).powi(3)),
        note: check("c[0,0]", f64::from(got[[0, 0]]), want, 1e-4),
    })
}

/// One explicit step of `u + alpha * (laplacian u)` on a block with a one-cell halo, returning
/// only the interior (the chunk's shape: `map_overlap` then skips its trimming copy). Rows are
/// built from shifted slices, so the loop has no per-element indexing and vectorizes.
fn five_point(block: ndarray::ArrayViewD<'_, f32>, alpha: f32) -> ndarray::ArrayD<f32> {
    let block = block.as_standard_layout();
    let (rows, cols) = (block.shape()[0], block.shape()[1]);
    let data = block.as_slice().expect("standard layout");
    let mut out = Vec::with_capacity((rows - 2) * (cols - 2));
    for i in 1..rows - 1 {
        let (up, row, down) = (
            &data[(i - 1) * cols + 1..i * cols - 1],
            &data[i * cols..(i + 1) * cols],
            &data[(i + 1) * cols + 1..(i + 2) * cols - 1],
        );
        let (left, centre, right) = (&row[..cols - 2], &row[1..cols - 1], &row[2..]);
        let taps = centre.iter().zip(up).zip(down).zip(left).zip(right);
        out.extend(taps.map(|((((&c, &u), &d), &l), &r)| c + alpha * (u + d + l + r - 4.0 * c)));
    }
    ndarray::ArrayD::from_shape_vec(vec![rows - 2, cols - 2], out).expect("interior shape")
}

/// 2-D heat diffusion with periodic boundaries, persisted after every step; times are per step.
pub(crate) fn heat_step(b: &Bench) -> Result<Outcome> {
    let (side, steps) = (b.pick(1024, 4096), b.pick(10, 50));
    let rows = side / HEAT_BLOCKS;
    let u0 = b.uniform(6, &[side, side], [rows, side])?;
    // The GPU runs the WGSL body, the CPU the closure.
    let kernel = WgslKernel::new(
        "heat",
        "    let c = in0(0, 0);\n    \
         return c + ALPHA * (in0(-1, 0) + in0(1, 0) + in0(0, -1) + in0(0, 1) - 4.0 * c);",
    )
    .helpers(&format!("const ALPHA: f32 = {HEAT_ALPHA:?};"))
    .with_cpu(|blk| five_point(blk, HEAT_ALPHA));
    let run = || -> Result<Array> {
        let mut u = u0.clone();
        for _ in 0..steps {
            u = u
                .map_overlap_wgsl(&[1, 1], Boundary::Periodic, &kernel)?
                .persist()?;
        }
        Ok(u)
    };
    let (times, u) = b.time(run)?;
    // A periodic explicit step conserves the total heat.
    let (before, after) = (u0.sum()?.to_scalar()?, u.sum()?.to_scalar()?);
    Ok(Outcome {
        workload: "heat_step",
        params: format!("{side}^2 f32 x {steps} steps, chunks [{rows}, {side}]"),
        times: times.iter().map(|t| t / steps as f64).collect(),
        work: Work::Bytes((2 * 4 * side * side) as f64),
        note: check("total heat", after.to_f64(), before.to_f64(), 1e-4),
    })
}

/// Sum of ones in chunks of 100: time per executed task.
pub(crate) fn overhead_per_task(b: &Bench) -> Result<Outcome> {
    let n = b.pick(1_000_000, 10_000_000);
    let x = b.ctx.ones(&[n], DType::F32, 100)?;
    let expr = x.sum()?;
    let mut per_task = Vec::new();
    let (_, (value, report)) = b.time(|| {
        let t = Instant::now();
        let out = expr.compute_with_report()?;
        per_task.push(t.elapsed().as_secs_f64() / out.1.tasks_run.max(1) as f64);
        Ok(out)
    })?;
    per_task.remove(0); // the warm-up
    let value = total(&value)?;
    Ok(Outcome {
        workload: "overhead_per_task",
        params: format!(
            "n=10^{} ones, chunks 100, {} tasks",
            n.ilog10(),
            report.tasks_run
        ),
        times: per_task,
        work: Work::PerTask,
        note: check("sum", value, n as f64, 0.0),
    })
}
