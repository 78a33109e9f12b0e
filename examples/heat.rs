//! 2-D heat diffusion with [`Array::map_overlap_wgsl`]: a stencil over a chunked, lazy array,
//! written in WGSL for a GPU and as a Rust closure for the CPU.
//!
//! The temperature `u` (`size x size` f32 in `chunk x chunk` chunks) follows the explicit scheme
//! `u' = u + alpha * (up + down + left + right - 4 u)`. Each step is one lazy `map_overlap` with a
//! halo of depth 1 per axis: tilework hands every chunk, plus a one-cell border from its neighbours
//! (or from the boundary condition at the array's edge), to the stencil: a WGSL body reading
//! `in0(di, dj)` when a GPU runs it, else a plain Rust closure over an ndarray view; the border
//! is then trimmed off the result. Steps chain lazily and the field is `persist`ed
//! every `--persist-every` steps and at each frame, so the graph stays short. The initial field is
//! itself lazy (`arange`, `s!` with `NEW_AXIS`, broadcasting, `where_`). With periodic boundaries
//! (a torus) total heat is conserved up to f32 rounding; with fixed ones (edges held at 0) it leaks.
//! Frames go to `--out` as PNGs, at most 512 px wide (a strided slice subsamples larger fields).
//!
//! ```text
//! cargo run --release --example heat        # 1024 x 1024, 200 steps, 10 frames in target/heat
//! cargo run --release --example heat -- --size 256 --steps 1000 --boundary fixed
//! ```

mod common;

use clap::Parser;
use common::{AnyResult, Edge, frame_steps, inferno, name, progress_bar, stride_for, write_png};
use ndarray::{ArrayD, ArrayViewD, Ix2, Zip};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tilework::prelude::*;

/// Frames wider than this are subsampled.
const MAX_FRAME: usize = 512;

#[derive(Parser, Debug)]
#[command(about = "2-D heat diffusion with tilework's map_overlap")]
struct Args {
    /// Grid size (the field is size x size).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Number of time steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Chunk size along each axis.
    #[arg(long, default_value_t = 256)]
    chunk: usize,
    /// What lies beyond the edges.
    #[arg(long, value_enum, default_value_t = Edge::Periodic)]
    boundary: Edge,
    /// Number of PNG frames, evenly spaced from the first to the last step.
    #[arg(long, default_value_t = 10)]
    frames: usize,
    /// Output folder for the frames.
    #[arg(long, default_value = "target/heat")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
    /// Diffusion number alpha = D dt / dx^2 (the scheme is stable for alpha <= 0.25).
    #[arg(long, default_value_t = 0.2)]
    alpha: f32,
    /// Persist the field at least every this many steps (keeps the lazy graph short).
    #[arg(long, default_value_t = 20)]
    persist_every: usize,
}

/// The five-point update of one halo'd block. It returns only the interior (the chunk's own
/// shape), which `map_overlap` takes as already trimmed: one pass, no copy of the halo.
fn five_point(block: ArrayViewD<'_, f32>, alpha: f32) -> ArrayD<f32> {
    let b = block
        .into_dimensionality::<Ix2>()
        .expect("heat blocks are 2-D");
    // The block carries a one-cell halo on each side, so it is at least 3 x 3.
    let (h, w) = (b.nrows() - 2, b.ncols() - 2);
    let at = |i: usize, j: usize| b.slice(ndarray::s![i..i + h, j..j + w]);
    Zip::from(at(1, 1))
        .and(at(0, 1))
        .and(at(2, 1))
        .and(at(1, 0))
        .and(at(1, 2))
        .map_collect(|&c, &up, &down, &left, &right| {
            c + alpha * (up + down + left + right - 4.0 * c)
        })
        .into_dyn()
}

/// One explicit time step (lazy: nothing runs until the result is persisted or computed). The
/// stencil is written twice: in WGSL for a GPU, and as the closure above for the CPU.
pub(crate) fn step(u: &Array, alpha: f32, boundary: Boundary) -> Result<Array> {
    let kernel = WgslKernel::new(
        "heat_step",
        "    let c = in0(0, 0);\n    \
         return c + ALPHA * (in0(-1, 0) + in0(1, 0) + in0(0, -1) + in0(0, 1) - 4.0 * c);",
    )
    .helpers(&format!("const ALPHA: f32 = {alpha:?};"))
    .with_cpu(move |b| five_point(b, alpha));
    u.map_overlap_wgsl(&[1, 1], boundary, &kernel)
}

/// A hot square in the middle plus three hotter discs, one at a corner so that periodic wrap-around
/// shows. Built lazily from `arange` and broadcasting, as NumPy code would.
pub(crate) fn initial(ctx: &Context, n: usize, chunk: usize) -> Result<Array> {
    let idx = ctx.arange(0.0, n as f64, 1.0, DType::F32, chunk)?;
    let (y, x) = (idx.slice(&s![.., NEW_AXIS])?, idx.slice(&s![NEW_AXIS, ..])?);
    let nf = n as f64; // scalars are weak (NumPy's rules): `f32 array - f64 scalar` stays f32
    let near = |a: &Array, c: f64, half: f64| (a - c).abs()?.less(half);
    let square = near(&y, nf / 2.0, nf / 8.0)?.logical_and(near(&x, nf / 2.0, nf / 8.0)?)?;
    let mut u = Array::where_(&square, 1.0f32, 0.0f32)?;
    for (cy, cx, r, hot) in [
        (0.25, 0.72, 0.04, 2.0),
        (0.7, 0.22, 0.03, 2.0),
        (1.0, 1.0, 0.08, 1.5),
    ] {
        let (dy, dx) = (&y - cy * nf, &x - cx * nf);
        let inside = (&dy * &dy + &dx * &dx).less((r * nf).powi(2))?;
        u = Array::where_(&inside, hot, &u)?;
    }
    u.astype(DType::F32)
}

/// Runs `steps` steps from `u`, persisting at least every `every` steps and at each step listed
/// in `frames`. After each persist (and for the initial field when 0 is in `frames`) it calls
/// `on_persist(steps_done, &u)`. Returns the final field.
pub(crate) fn simulate(
    mut u: Array,
    steps: usize,
    alpha: f32,
    boundary: Boundary,
    every: usize,
    frames: &[usize],
    mut on_persist: impl FnMut(usize, &Array) -> AnyResult<()>,
) -> AnyResult<Array> {
    if frames.contains(&0) {
        on_persist(0, &u)?;
    }
    let mut done = 0;
    while done < steps {
        let next_frame = frames.iter().copied().find(|&f| f > done).unwrap_or(steps);
        let next = (done + every.max(1)).min(next_frame).min(steps);
        for _ in done..next {
            u = step(&u, alpha, boundary)?;
        }
        u = u.persist()?;
        done = next;
        on_persist(done, &u)?;
    }
    Ok(u)
}

/// Writes `u` (values in `[0, vmax]`) as an RGB PNG, subsampled to at most `MAX_FRAME` pixels wide.
fn write_frame(u: &Array, vmax: f32, path: &Path) -> AnyResult<()> {
    let stride = stride_for(u.shape()[0].max(u.shape()[1]), MAX_FRAME) as isize;
    let img = u.slice(&s![..;stride, ..;stride])?.to_ndarray::<f32>()?;
    let rgb: Vec<u8> = img.iter().flat_map(|&v| inferno(v / vmax)).collect();
    write_png(path, img.shape()[1], img.shape()[0], &rgb)
}

/// Total heat, summed in f64.
pub(crate) fn total_heat(u: &Array) -> Result<f64> {
    Ok(u.astype(DType::F64)?.sum()?.to_scalar()?.to_f64())
}

fn run(args: &Args) -> AnyResult<()> {
    if args.size == 0 || !(args.alpha > 0.0 && args.alpha <= 0.25) {
        return Err("--size must be positive and --alpha in (0, 0.25] (stability)".into());
    }
    let ctx = Context::builder().device(args.device).build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let (n, boundary) = (args.size, args.boundary.boundary());
    let u0 = initial(&ctx, n, args.chunk)?.persist()?;
    let (heat0, vmax) = (total_heat(&u0)?, u0.max()?.to_scalar()?.to_f64() as f32);

    let bar = progress_bar(args.steps, "steps")?;
    let frames = frame_steps(args.steps, args.frames);
    let mut io = Duration::ZERO;
    let on_persist = |done: usize, u: &Array| -> AnyResult<()> {
        bar.set_position(done as u64);
        if frames.contains(&done) {
            let t = Instant::now();
            let path = args.out.join(format!("heat_{done:05}.png"));
            write_frame(u, vmax.max(f32::MIN_POSITIVE), &path)?;
            io += t.elapsed();
        }
        Ok(())
    };
    let start = Instant::now();
    let (alpha, every) = (args.alpha, args.persist_every);
    let u = simulate(u0, args.steps, alpha, boundary, every, &frames, on_persist)?;
    let wall = start.elapsed();
    bar.finish_and_clear();
    let heat1 = total_heat(&u)?;

    let drift = (heat1 - heat0) / heat0.max(f64::MIN_POSITIVE); // temperatures are >= 0
    let per_step = 1e3 * wall.saturating_sub(io).as_secs_f64() / args.steps.max(1) as f64;
    println!(
        "heat diffusion  {n} x {n} f32, {} steps, chunks {c} x {c}, {} boundary, alpha {alpha}\n\
         device          {} ({} threads)\n\
         wall time       {:.2} s ({:.2} s of it writing {} frames)\n\
         per step        {per_step:.2} ms ({:.0} M cell updates/s, frames excluded)\n\
         total heat      {heat0:.6e} -> {heat1:.6e} (relative change {:+.2e})\n\
         frames          {}",
        args.steps,
        name(&args.boundary),
        name(&ctx.device()),
        ctx.threads(),
        wall.as_secs_f64(),
        io.as_secs_f64(),
        frames.len(),
        (n * n) as f64 / per_step / 1e3,
        drift,
        args.out.display(),
        c = args.chunk,
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("heat", run(&Args::parse()))
}
