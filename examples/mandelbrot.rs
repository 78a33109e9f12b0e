//! The Mandelbrot set with [`Array::map_blocks`]: a user kernel (a Rust closure) over every chunk.
//!
//! Each pixel of a `size x size` image holds its escape time: how many steps of `z -> z^2 + c`
//! (from `z = 0`, `c` the pixel's point of the complex plane) stay within `|z| <= 2`, up to
//! `--iters`. `map_blocks` hands a closure one chunk at a time, and a chunk does not know where it
//! sits, so the input array holds each pixel's flat index (`row[:, None] * size + col[None, :]`,
//! lazy) and the closure turns it into `c`. The picture is then plain array code: a log-scaled
//! shade per pixel, averaged over square tiles (`reshape` + `mean_axes`: supersampling, so the
//! PNG, at most 2048 pixels wide, is anti-aliased), computed in one pass with the statistics.
//!
//! With `--device gpu` the escape-time closure still runs on CPU threads (a Rust closure cannot
//! run on a GPU; `map_blocks_wgsl` takes a WGSL body for that), and the array code around it, the
//! shading and the supersampling, runs on the GPU.
//!
//! ```text
//! cargo run --release --example mandelbrot  # 8192 x 8192, 256 iterations, target/mandelbrot
//! cargo run --release --example mandelbrot -- --x -0.7435 --y 0.1314 --width 0.004 --iters 1000
//! ```

mod common;

use clap::Parser;
use common::{AnyResult, inferno, name, stride_for, write_png};
use ndarray::{ArrayD, ArrayViewD};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;

#[derive(Parser, Debug)]
#[command(
    about = "The Mandelbrot set through tilework's map_blocks (a Rust closure per chunk)",
    after_help = "With --device gpu the escape-time closure runs on CPU threads (a Rust closure \
                  cannot run on a GPU) and the shading and supersampling on the GPU."
)]
struct Args {
    /// Image size in pixels (the image is size x size).
    #[arg(long, default_value_t = 8192)]
    size: usize,
    /// Largest number of iterations per pixel.
    #[arg(long, default_value_t = 256)]
    iters: u32,
    /// Real part of the image's centre.
    #[arg(long, default_value_t = -0.6, allow_negative_numbers = true)]
    x: f64,
    /// Imaginary part of the image's centre.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    y: f64,
    /// Width (and height) of the image in the complex plane.
    #[arg(long, default_value_t = 3.0)]
    width: f64,
    /// Chunk size along each axis.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// Largest picture width in pixels (larger images are averaged down to it).
    #[arg(long, default_value_t = 2048)]
    picture: usize,
    /// Output folder for the picture.
    #[arg(long, default_value = "target/mandelbrot")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

/// A square window of the complex plane, sampled at `size x size` pixel centres.
#[derive(Copy, Clone, Debug)]
pub(crate) struct View {
    pub(crate) centre: (f64, f64),
    pub(crate) width: f64,
    pub(crate) size: usize,
}

impl View {
    /// The point `c` at the centre of pixel `(row, col)`; row 0 is the top (largest imaginary part).
    pub(crate) fn point(&self, row: usize, col: usize) -> (f64, f64) {
        let step = self.width / self.size as f64;
        let re = self.centre.0 - self.width / 2.0 + (col as f64 + 0.5) * step;
        let im = self.centre.1 + self.width / 2.0 - (row as f64 + 0.5) * step;
        (re, im)
    }
}

/// Steps of `z -> z^2 + c` from 0 before `|z| > 2`, or `max_iter` if it never escapes.
pub(crate) fn escape_time((re, im): (f64, f64), max_iter: u32) -> u32 {
    let (mut x, mut y) = (0.0f64, 0.0f64);
    for n in 0..max_iter {
        let (x2, y2) = (x * x, y * y);
        if x2 + y2 > 4.0 {
            return n;
        }
        (x, y) = (x2 - y2 + re, 2.0 * x * y + im);
    }
    max_iter
}

/// Escape times of the whole view (lazy, u32, `chunk x chunk` chunks): the flat pixel index
/// array goes through `map_blocks`, whose closure computes each pixel's point from its index.
pub(crate) fn escape_times(
    ctx: &Context,
    view: View,
    max_iter: u32,
    chunk: usize,
) -> Result<Array> {
    let n = view.size;
    let index = ctx.arange(0.0, n as f64, 1.0, DType::I64, chunk)?;
    let flat = index.slice(&s![.., NEW_AXIS])? * n as i64 + index.slice(&s![NEW_AXIS, ..])?;
    flat.map_blocks(
        "mandelbrot",
        move |block: ArrayViewD<'_, i64>| -> ArrayD<u32> {
            block.mapv(|k| escape_time(view.point(k as usize / n, k as usize % n), max_iter))
        },
    )
}

fn run(args: &Args) -> AnyResult<()> {
    if args.size == 0 || args.iters == 0 || args.width.is_nan() || args.width <= 0.0 {
        return Err("--size, --iters and --width must be positive".into());
    }
    // One big computation, so the library's own progress bar (over chunk tasks) is the one to show.
    let ctx = Context::builder()
        .device(args.device)
        .progress(true)
        .build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let view = View {
        centre: (args.x, args.y),
        width: args.width,
        size: args.size,
    };
    let start = Instant::now();
    let counts = escape_times(&ctx, view, args.iters, args.chunk)?;

    // Shade: log-scaled escape time in [0, 1], 0 (black) inside the set.
    let escaped = counts.less(args.iters)?;
    let log_t = (counts.astype(DType::F32)? + 1.0).log()? / f64::from(args.iters + 1).ln();
    let shade = Array::where_(&escaped, &log_t, 0.0f32)?;
    // Supersampling: average f x f tiles (`shade[:m*f, :m*f].reshape(m, f, m, f).mean(axis=(1, 3))`).
    let f = stride_for(args.size, args.picture);
    let m = (args.size / f) as isize;
    let (fi, mf) = (f as isize, m * f as isize);
    let tiles = shade
        .slice(&s![..mf, ..mf])?
        .reshape(&[m, fi, m, fi])?
        .mean_axes(&[1, 3], false)?;
    let inside = escaped.logical_not()?.astype(DType::F64)?.mean()?;
    let total = counts.astype(DType::I64)?.sum()?;
    let (results, _) = compute_all(&ctx, &[tiles, inside, total])?;
    let wall = start.elapsed().as_secs_f64();

    let picture = args.out.join("mandelbrot.png");
    let img = results[0].typed::<f32>()?;
    let rgb: Vec<u8> = img.iter().flat_map(|&t| inferno(t.powf(1.5))).collect();
    write_png(&picture, m as usize, m as usize, &rgb)?;
    let inside = results[1].get(&[]).map_or(f64::NAN, |v| v.to_f64());
    let total = results[2].get(&[]).map_or(f64::NAN, |v| v.to_f64());
    let pixels = (args.size * args.size) as f64;
    println!(
        "mandelbrot      {n} x {n} pixels, up to {} iterations, chunks {c} x {c}, centre {} {:+}i, width {}\n\
         device          {} ({} threads)\n\
         wall time       {wall:.2} s ({:.0} M pixels/s, {:.2} G iterations/s)\n\
         in the set      {:.2} % of the pixels, {:.1} iterations per pixel\n\
         picture         {} ({m} x {m}, {f} x {f} samples per pixel)",
        args.iters,
        args.x,
        args.y,
        args.width,
        name(&ctx.device()),
        ctx.threads(),
        pixels / wall / 1e6,
        total / wall / 1e9,
        100.0 * inside,
        total / pixels,
        picture.display(),
        n = args.size,
        c = args.chunk,
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("mandelbrot", run(&Args::parse()))
}
