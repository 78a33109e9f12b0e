//! What the examples share besides tilework itself: colormaps, a PNG writer, the progress bar and
//! the frame schedule. Not an example of its own (Cargo only builds `examples/*.rs` and
//! `examples/*/main.rs`); each example includes it with `mod common;`.

// Each example uses a different subset of these helpers.
#![allow(dead_code)]

use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Errors of the examples themselves (tilework, PNG, I/O, arguments).
pub(crate) type AnyResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// matplotlib's "inferno" (black, purple, crimson, orange, pale yellow) as 8 evenly spaced
/// control colours (`0xRRGGBB`, viridisLite's `inferno(8)`), linearly interpolated.
const INFERNO: [u32; 8] = [
    0x000004, 0x280b54, 0x65156e, 0x9f2a63, 0xd44842, 0xf57d15, 0xfac127, 0xfcffa4,
];

/// ColorBrewer's "RdBu" reversed (blue for negative, white at zero, red for positive), 9 colours.
const BLUE_WHITE_RED: [u32; 9] = [
    0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b,
];

/// Maps `t` in `[0, 1]` (clamped; NaN maps to 0) onto a table of evenly spaced colours.
fn lerp_table(table: &[u32], t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) } * (table.len() - 1) as f32;
    let i = (t as usize).min(table.len() - 2);
    let (lo, hi) = (table[i].to_be_bytes(), table[i + 1].to_be_bytes()); // [0, r, g, b]
    let lerp = |c: usize| f32::from(lo[c]) + (t - i as f32) * (f32::from(hi[c]) - f32::from(lo[c]));
    std::array::from_fn(|c| lerp(c + 1).round() as u8)
}

/// A sequential colormap for `t` in `[0, 1]`: black (0) to pale yellow (1).
pub(crate) fn inferno(t: f32) -> [u8; 3] {
    lerp_table(&INFERNO, t)
}

/// A diverging colormap for `t` in `[-1, 1]`: blue (-1), white (0), red (1).
pub(crate) fn blue_white_red(t: f32) -> [u8; 3] {
    lerp_table(&BLUE_WHITE_RED, 0.5 + 0.5 * t)
}

/// Writes `rgb` (`width * height * 3` bytes, row-major) as an 8-bit RGB PNG.
pub(crate) fn write_png(path: &Path, width: usize, height: usize, rgb: &[u8]) -> AnyResult<()> {
    write_apng(path, &[(width, height, rgb.to_vec())], 0)
}

/// Writes `frames` (`(width, height, rgb)`, all the same size) as an animated PNG (APNG: browsers
/// play it, other viewers show the first frame) with `delay_ms` between frames, looping forever.
/// A single frame gives a plain PNG.
pub(crate) fn write_apng(
    path: &Path,
    frames: &[(usize, usize, Vec<u8>)],
    delay_ms: u16,
) -> AnyResult<()> {
    let write = || -> AnyResult<()> {
        let Some(&(width, height, _)) = frames.first() else {
            return Err("no frames to write".into());
        };
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, u32::try_from(width)?, u32::try_from(height)?);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        if frames.len() > 1 {
            encoder.set_animated(u32::try_from(frames.len())?, 0)?;
            encoder.set_frame_delay(delay_ms, 1000)?;
        }
        let mut writer = encoder.write_header()?;
        for (w, h, rgb) in frames {
            if (*w, *h) != (width, height) {
                return Err("animation frames differ in size".into());
            }
            writer.write_image_data(rgb)?;
        }
        Ok(writer.finish()?)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

/// The step (stride) that brings `len` pixels down to at most `max`.
pub(crate) fn stride_for(len: usize, max: usize) -> usize {
    len.div_ceil(max.max(1)).max(1)
}

/// The steps at which frames are written: evenly spaced from 0 to `steps` (just the end for one).
pub(crate) fn frame_steps(steps: usize, frames: usize) -> Vec<usize> {
    let mut at: Vec<usize> = (0..frames)
        .map(|i| (i * steps).checked_div(frames - 1).unwrap_or(steps))
        .collect();
    at.dedup();
    at
}

/// A progress bar over `len` `unit`s (hidden when stderr is not a terminal).
pub(crate) fn progress_bar(len: usize, unit: &str) -> AnyResult<ProgressBar> {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(ProgressStyle::with_template(&format!(
        "{{bar:40}} {{pos}}/{{len}} {unit} [{{elapsed_precise}}, eta {{eta}}] {{msg}}"
    ))?);
    Ok(bar)
}

/// Makes Ctrl-C cancel the context's computations: running tasks finish, spill files are
/// removed, any store being written keeps only complete chunks, and the example exits with
/// "cancelled". A second Ctrl-C is not needed.
pub(crate) fn cancel_on_ctrl_c(ctx: &tilework::Context) {
    let token = ctx.cancel_token().clone();
    if let Err(e) = ctrlc::set_handler(move || token.cancel()) {
        eprintln!("Ctrl-C will not cancel cleanly: {e}");
    }
}

/// Lower-case name of a `Debug` value (`Device::Auto` -> "auto").
pub(crate) fn name(value: &dyn std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

/// The process exit status of an example run: success, or the error printed with the example's
/// name and a failure status.
pub(crate) fn exit_status(example: &str, result: AnyResult<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{example}: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What lies beyond the grid's edges in the stencil examples (`--boundary`).
#[derive(Copy, Clone, Debug, clap::ValueEnum)]
pub(crate) enum Edge {
    /// The field wraps around (a torus).
    Periodic,
    /// The field is held at 0 beyond the edges.
    Fixed,
}

impl Edge {
    /// The `map_overlap` boundary for this edge.
    pub(crate) fn boundary(self) -> tilework::Boundary {
        match self {
            Edge::Periodic => tilework::Boundary::Periodic,
            Edge::Fixed => tilework::Boundary::Constant(0.0f32.into()),
        }
    }
}
