//! Conway's Game of Life on a large chunked board with [`Array::map_overlap`].
//!
//! The board (`size x size` u8 cells, 1 = alive, in `chunk x chunk` chunks) starts as random soup.
//! Each generation counts every cell's eight neighbours with a stencil (a Rust closure over a block
//! with a one-cell halo from the neighbouring chunks; `--boundary periodic` makes the board a torus)
//! and then applies the rules as lazy array expressions: a cell is alive next if it has 3
//! neighbours, or 2 and is alive now. Frames show a 512 x 512 window (the top-left corner; a
//! lazy slice, so only the chunks under it are read) at one pixel per cell, or with
//! `--view density` the whole board as the fraction of live cells per tile (`reshape` +
//! `mean_axes`, as NumPy code would).
//! A 16384 x 16384 board (256 MiB per generation) runs with `--size 16384`.
//!
//! ```text
//! cargo run --release --example life        # 4096 x 4096, 200 generations, 10 frames in target/life
//! cargo run --release --example life -- --size 16384 --steps 20 --chunk 2048
//! ```

mod common;

use clap::{Parser, ValueEnum};
use common::{AnyResult, frame_steps, inferno, name, progress_bar, stride_for, write_png};
use ndarray::{Array2, ArrayD, ArrayViewD, Ix2};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;

/// Frames are at most this many pixels wide.
const MAX_FRAME: usize = 512;

#[derive(Parser, Debug)]
#[command(about = "Conway's Game of Life on a chunked board with tilework's map_overlap")]
struct Args {
    /// Board size (the board is size x size cells).
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Number of generations.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Chunk size along each axis.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// Fraction of cells alive at the start.
    #[arg(long, default_value_t = 0.3)]
    density: f64,
    /// Seed of the random start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// What lies beyond the edges.
    #[arg(long, value_enum, default_value_t = Edge::Periodic)]
    boundary: Edge,
    /// What the frames show.
    #[arg(long, value_enum, default_value_t = View::Window)]
    view: View,
    /// Number of PNG frames, evenly spaced from the first to the last generation.
    #[arg(long, default_value_t = 10)]
    frames: usize,
    /// Output folder for the frames.
    #[arg(long, default_value = "target/life")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Edge {
    /// The board wraps around (a torus).
    Periodic,
    /// Dead cells beyond the edges.
    Dead,
}

impl Edge {
    fn boundary(self) -> Boundary {
        match self {
            Edge::Periodic => Boundary::Periodic,
            Edge::Dead => Boundary::Constant(0u8.into()),
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum View {
    /// The top-left 512 x 512 cells, one pixel per cell.
    Window,
    /// The whole board: the fraction of live cells per tile.
    Density,
}

/// Live neighbours of every cell of one halo'd block (tilework trims the one-cell border).
fn count_neighbours(block: ArrayViewD<'_, u8>) -> ArrayD<u8> {
    let b = block
        .into_dimensionality::<Ix2>()
        .expect("life blocks are 2-D");
    let mut out = Array2::zeros(b.raw_dim());
    let (h, w) = (b.nrows() - 2, b.ncols() - 2); // the halo makes every block at least 3 x 3
    let mut inner = out.slice_mut(ndarray::s![1..1 + h, 1..1 + w]);
    // Eight whole-block additions of shifted views: simple loops that the compiler vectorizes.
    let around = (0..3).flat_map(|i| (0..3).map(move |j| (i, j)));
    for (i, j) in around.filter(|&ij| ij != (1, 1)) {
        inner += &b.slice(ndarray::s![i..i + h, j..j + w]);
    }
    out.into_dyn()
}

/// One generation (lazy): the stencil counts neighbours, array expressions apply the rules.
pub(crate) fn step(board: &Array, boundary: Boundary) -> Result<Array> {
    let n = board.map_overlap("neighbours", &[1, 1], boundary, count_neighbours)?;
    let born_or_survives = n
        .equal(3)?
        .logical_or(n.equal(2)?.logical_and(board.equal(1)?)?)?;
    Array::where_(&born_or_survives, 1u8, 0u8)
}

/// Random soup: each cell alive with probability `density` (counter-based, so the same seed gives
/// the same board for any chunking).
pub(crate) fn soup(
    ctx: &Context,
    n: usize,
    density: f64,
    seed: u64,
    chunk: usize,
) -> Result<Array> {
    let r = ctx
        .rng(seed)
        .uniform(&[n, n], 0.0, 1.0, DType::F32, chunk)?;
    r.less(density)?.astype(DType::U8)
}

/// Runs `steps` generations, persisting each one, and calls `on_step(generation, &board)`.
pub(crate) fn simulate(
    mut board: Array,
    steps: usize,
    boundary: Boundary,
    mut on_step: impl FnMut(usize, &Array) -> AnyResult<()>,
) -> AnyResult<Array> {
    for done in 1..=steps {
        board = step(&board, boundary)?.persist()?;
        on_step(done, &board)?;
    }
    Ok(board)
}

/// Number of live cells.
pub(crate) fn population(board: &Array) -> Result<i64> {
    Ok(board.astype(DType::I64)?.sum()?.to_scalar()?.to_f64() as i64)
}

/// Writes a frame: live cells of the top-left window, or the density of live cells over `f x f`
/// tiles (`board[:m*f, :m*f].reshape(m, f, m, f).mean(axis=(1, 3))` in NumPy).
fn write_frame(board: &Array, view: View, path: &std::path::Path) -> AnyResult<()> {
    let img = match view {
        View::Window => board
            .slice(&s![..MAX_FRAME, ..MAX_FRAME])?
            .astype(DType::F32)?,
        View::Density => {
            let f = stride_for(board.shape()[0], MAX_FRAME);
            let m = (board.shape()[0] / f) as isize;
            let tiles = board.slice(&s![..m * f as isize, ..m * f as isize])?;
            let tiles = tiles
                .astype(DType::F32)?
                .reshape(&[m, f as isize, m, f as isize])?;
            tiles.mean_axes(&[1, 3], false)? * 2.5 // soup is about 1/3 alive: make that bright
        }
    };
    let img = img.to_ndarray::<f32>()?;
    let rgb: Vec<u8> = img.iter().flat_map(|&d| inferno(0.9 * d)).collect();
    write_png(path, img.shape()[1], img.shape()[0], &rgb)
}

fn run(args: &Args) -> AnyResult<()> {
    if args.size < 3 || !(0.0..=1.0).contains(&args.density) {
        return Err("--size must be at least 3 and --density in [0, 1]".into());
    }
    let ctx = Context::builder().device(args.device).build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let (n, boundary) = (args.size, args.boundary.boundary());
    let board = soup(&ctx, n, args.density, args.seed, args.chunk)?.persist()?;
    let alive0 = population(&board)?;

    let bar = progress_bar(args.steps, "generations")?;
    let frames = frame_steps(args.steps, args.frames);
    let start = Instant::now();
    let on_step = |done: usize, board: &Array| -> AnyResult<()> {
        bar.set_position(done as u64);
        if frames.contains(&done) {
            write_frame(
                board,
                args.view,
                &args.out.join(format!("life_{done:05}.png")),
            )?;
        }
        Ok(())
    };
    on_step(0, &board)?;
    let board = simulate(board, args.steps, boundary, &on_step)?;
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let alive1 = population(&board)?;

    println!(
        "game of life    {n} x {n} u8, {} generations, chunks {c} x {c}, {} boundary\n\
         device          {} ({} threads)\n\
         wall time       {wall:.2} s ({:.2} ms per generation, {:.0} M cell updates/s, frames included)\n\
         population      {alive0} -> {alive1}\n\
         frames          {} PNGs in {}",
        args.steps,
        name(&args.boundary),
        name(&ctx.device()),
        ctx.threads(),
        1e3 * wall / args.steps.max(1) as f64,
        (n * n * args.steps) as f64 / wall / 1e6,
        frames.len(),
        args.out.display(),
        c = args.chunk,
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("life", run(&Args::parse()))
}
