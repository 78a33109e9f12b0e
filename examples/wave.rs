//! The 2-D wave equation `u_tt = c^2 (u_xx + u_yy)` with leapfrog steps and [`Array::map_overlap`].
//!
//! The field `u` (`size x size` f32, chunked) starts as a few Gaussian drops at rest. Each step is
//! `u_next = 2 u - u_prev + C^2 * L(u)`, where `L` is the five-point Laplacian written as a plain
//! Rust closure over a halo'd block (`map_overlap`, depth 1) and `C = c dt / dx` is the Courant
//! number (stable for `C <= 1/sqrt(2)`). The rest of the update is ordinary lazy array arithmetic.
//! With `--boundary fixed` the edges are walls (`u = 0` beyond them) and the drops reflect; with
//! `periodic` the waves wrap around. Leapfrog conserves a discrete energy exactly (up to f32
//! rounding), which the program prints at the start and the end.
//! Frames go to `--out` as PNGs (blue below zero, red above), plus `wave.png`, an animated PNG
//! (APNG, which browsers play) of all frames.
//!
//! ```text
//! cargo run --release --example wave        # 1024 x 1024, 2000 steps, 20 frames in target/wave
//! cargo run --release --example wave -- --size 256 --steps 500 --boundary periodic
//! ```

mod common;

use clap::Parser;
use common::{AnyResult, Edge, blue_white_red, frame_steps, name, progress_bar, stride_for};
use ndarray::{ArrayD, ArrayViewD, Ix2, Zip};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;

/// Frames wider than this are subsampled.
const MAX_FRAME: usize = 512;

#[derive(Parser, Debug)]
#[command(about = "2-D wave equation (leapfrog) with tilework's map_overlap")]
struct Args {
    /// Grid size (the field is size x size).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Number of time steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Chunk size along each axis.
    #[arg(long, default_value_t = 256)]
    chunk: usize,
    /// What lies beyond the edges.
    #[arg(long, value_enum, default_value_t = Edge::Fixed)]
    boundary: Edge,
    /// Courant number C = c dt / dx (stable for C <= 0.707).
    #[arg(long, default_value_t = 0.5)]
    courant: f32,
    /// Number of frames, evenly spaced from the first to the last step.
    #[arg(long, default_value_t = 20)]
    frames: usize,
    /// Output folder for the frames.
    #[arg(long, default_value = "target/wave")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

/// The five-point Laplacian of one halo'd block. tilework trims the one-cell border afterwards,
/// so the border of the result is never read.
fn five_point(block: ArrayViewD<'_, f32>) -> ArrayD<f32> {
    let b = block
        .into_dimensionality::<Ix2>()
        .expect("wave blocks are 2-D");
    let mut out = ndarray::Array2::zeros(b.raw_dim());
    let (h, w) = (b.nrows() - 2, b.ncols() - 2); // the halo makes every block at least 3 x 3
    let at = |i: usize, j: usize| b.slice(ndarray::s![i..i + h, j..j + w]);
    Zip::from(out.slice_mut(ndarray::s![1..1 + h, 1..1 + w]))
        .and(at(1, 1))
        .and(at(0, 1))
        .and(at(2, 1))
        .and(at(1, 0))
        .and(at(1, 2))
        .for_each(|o, &c, &up, &down, &left, &right| *o = up + down + left + right - 4.0 * c);
    out.into_dyn()
}

/// `L(u)`, lazily.
pub(crate) fn laplacian(u: &Array, boundary: Boundary) -> Result<Array> {
    u.map_overlap("laplacian", &[1, 1], boundary, five_point)
}

/// One leapfrog step: `u_next = 2 u - u_prev + C^2 L(u)` (lazy).
pub(crate) fn step(u: &Array, u_prev: &Array, c2: f32, boundary: Boundary) -> Result<Array> {
    Ok(2.0 * u - u_prev + f64::from(c2) * &laplacian(u, boundary)?)
}

/// The field one step before `u` for a start at rest (second order: `u_prev = u + C^2/2 L(u)`,
/// so that the first step is symmetric in time).
pub(crate) fn at_rest(u: &Array, c2: f32, boundary: Boundary) -> Result<Array> {
    Ok(u + 0.5 * f64::from(c2) * &laplacian(u, boundary)?)
}

/// Leapfrog's conserved energy between levels `u` and `u_next`, in grid units:
/// `E = 1/2 sum((u_next - u)^2) - C^2/2 sum(u_next * L(u))`. Summed in f64.
pub(crate) fn energy(u: &Array, u_next: &Array, c2: f32, boundary: Boundary) -> Result<f64> {
    let du = u_next - u;
    let density = 0.5 * (&du * &du) - 0.5 * f64::from(c2) * (u_next * &laplacian(u, boundary)?);
    Ok(density.astype(DType::F64)?.sum()?.to_scalar()?.to_f64())
}

/// A few Gaussian drops of different widths and signs, built lazily from `arange` and
/// broadcasting (coordinates in units of the grid size).
pub(crate) fn initial(ctx: &Context, n: usize, chunk: usize) -> Result<Array> {
    let coord = ctx.arange(0.5, n as f64, 1.0, DType::F32, chunk)? / n as f64;
    let (y, x) = (
        coord.slice(&s![.., NEW_AXIS])?,
        coord.slice(&s![NEW_AXIS, ..])?,
    );
    let mut u = ctx.zeros(&[n, n], DType::F32, chunk)?;
    for (cy, cx, width, height) in [
        (0.3, 0.35, 0.012, 1.0),
        (0.62, 0.7, 0.02, -0.8),
        (0.8, 0.25, 0.008, 0.6),
    ] {
        let r2 = (&y - cy).pow(2.0)? + (&x - cx).pow(2.0)?;
        u = u + height * (r2 / (-2.0 * width * width)).exp()?;
    }
    Ok(u)
}

/// Runs `steps` leapfrog steps from `(u_prev, u)` and calls `on_step(steps_done, &u_prev, &u)`
/// after each one. Returns the last two levels `(u_prev, u)`.
pub(crate) fn simulate(
    mut u_prev: Array,
    mut u: Array,
    steps: usize,
    c2: f32,
    boundary: Boundary,
    mut on_step: impl FnMut(usize, &Array, &Array) -> AnyResult<()>,
) -> AnyResult<(Array, Array)> {
    for done in 1..=steps {
        // Leapfrog reads two time levels; persisting each new level keeps the graph one step deep.
        let next = step(&u, &u_prev, c2, boundary)?.persist()?;
        (u_prev, u) = (u, next);
        on_step(done, &u_prev, &u)?;
    }
    Ok((u_prev, u))
}

/// The field as RGB pixels (subsampled to at most `MAX_FRAME` wide), `vmax` mapping to full colour.
fn frame(u: &Array, vmax: f32) -> Result<(usize, usize, Vec<u8>)> {
    let stride = stride_for(u.shape()[0].max(u.shape()[1]), MAX_FRAME) as isize;
    let img = u.slice(&s![..;stride, ..;stride])?.to_ndarray::<f32>()?;
    let rgb = img.iter().flat_map(|&v| blue_white_red(v / vmax)).collect();
    Ok((img.shape()[1], img.shape()[0], rgb))
}

fn run(args: &Args) -> AnyResult<()> {
    if args.size < 3 || !(args.courant > 0.0 && args.courant <= std::f32::consts::FRAC_1_SQRT_2) {
        return Err("--size must be at least 3 and --courant in (0, 0.707] (stability)".into());
    }
    let ctx = Context::builder().device(args.device).build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let (n, c2, boundary) = (
        args.size,
        args.courant * args.courant,
        args.boundary.boundary(),
    );
    let u0 = initial(&ctx, n, args.chunk)?.persist()?;
    let u_prev = at_rest(&u0, c2, boundary)?.persist()?;
    let energy0 = energy(&u_prev, &u0, c2, boundary)?;

    let bar = progress_bar(args.steps, "steps")?;
    let frames = frame_steps(args.steps, args.frames);
    let mut pictures = Vec::new();
    let start = Instant::now();
    let mut on_step = |done: usize, _: &Array, u: &Array| -> AnyResult<()> {
        bar.set_position(done as u64);
        if frames.contains(&done) {
            let (w, h, rgb) = frame(u, 0.12)?;
            common::write_png(&args.out.join(format!("wave_{done:05}.png")), w, h, &rgb)?;
            pictures.push((w, h, rgb));
        }
        Ok(())
    };
    on_step(0, &u_prev, &u0)?;
    let (u_prev, u) = simulate(u_prev, u0, args.steps, c2, boundary, &mut on_step)?;
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let energy1 = energy(&u_prev, &u, c2, boundary)?;
    let animation = args.out.join("wave_animation.png");
    common::write_apng(&animation, &pictures, 100)?;

    let updates = (n * n * args.steps) as f64 / wall;
    println!(
        "wave equation   {n} x {n} f32, {} steps, chunks {c} x {c}, {} boundary, Courant {}\n\
         device          {} ({} threads)\n\
         wall time       {wall:.2} s ({:.2} ms per step, {:.0} M cell updates/s, frames included)\n\
         energy          {energy0:.6e} -> {energy1:.6e} (relative change {:+.2e})\n\
         frames          {} PNGs in {}, animation {}",
        args.steps,
        name(&args.boundary),
        args.courant,
        name(&ctx.device()),
        ctx.threads(),
        1e3 * wall / args.steps.max(1) as f64,
        updates / 1e6,
        (energy1 - energy0) / energy0,
        pictures.len(),
        args.out.display(),
        animation.display(),
        c = args.chunk,
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("wave", run(&Args::parse()))
}
