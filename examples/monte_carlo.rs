//! Monte Carlo with tilework's counter-based random numbers: pi, and a European call option.
//!
//! Both estimates are means over `--samples` random draws, generated chunk by chunk (Philox
//! 4x32-10, keyed by the seed and each element's index), reduced in a fixed tree and never held
//! in memory all at once:
//! - pi is 4 times the fraction of uniform points of the unit square inside the quarter circle.
//!   The hits are counted as integers, so the estimate is bit-identical for any chunking.
//! - a European call (`S0 = 100, K = 100, r = 5 %, sigma = 20 %, T = 1 year`) is the discounted
//!   mean payoff `exp(-rT) max(S_T - K, 0)` over Black-Scholes paths
//!   `S_T = S0 exp((r - sigma^2/2) T + sigma sqrt(T) Z)`, `Z` standard normal, compared with the
//!   closed-form price. The draws are the same for any chunking; the f64 sum of the payoffs may
//!   differ in its last bits, because the reduction tree follows the chunks.
//!
//! Each estimate comes with its standard error `std / sqrt(samples)`. The default of 2 * 10^8
//! samples takes a few seconds on two cores; `--samples 1e9` is the full-size run.
//!
//! ```text
//! cargo run --release --example monte_carlo                  # 2e8 samples, seed 2024
//! cargo run --release --example monte_carlo -- --samples 1e9 --chunk 1000000
//! ```

mod common;

use clap::Parser;
use common::{AnyResult, inferno, name, write_png};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;

#[derive(Parser, Debug)]
#[command(about = "Monte Carlo pi and Black-Scholes option pricing with tilework's random numbers")]
struct Args {
    /// Number of samples per estimate (accepts 2e8).
    #[arg(long, default_value = "2e8", value_parser = parse_count)]
    samples: usize,
    /// Samples per chunk (the answers do not depend on it, up to the last bits of the option's sum).
    #[arg(long, default_value_t = 1 << 18)]
    chunk: usize,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Width of the histogram in pixels.
    #[arg(long, default_value_t = 512)]
    picture: usize,
    /// Output folder for the histogram of terminal prices.
    #[arg(long, default_value = "target/monte_carlo")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

/// Parses counts such as `200000000` or `2e8`.
fn parse_count(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<f64>() {
        Ok(v) if v >= 2.0 && v.fract() == 0.0 && v < 2f64.powi(53) => Ok(v as usize),
        _ => Err(format!("{text:?} is not a whole number of at least 2")),
    }
}

/// A Monte Carlo estimate: the sample mean and its standard error.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) value: f64,
    pub(crate) stderr: f64,
}

/// A European call option under Black-Scholes.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Call {
    pub(crate) spot: f64,
    pub(crate) strike: f64,
    pub(crate) rate: f64,
    pub(crate) sigma: f64,
    pub(crate) years: f64,
}

pub(crate) const CALL: Call = Call {
    spot: 100.0,
    strike: 100.0,
    rate: 0.05,
    sigma: 0.2,
    years: 1.0,
};

/// pi from `samples` uniform points: `4 * hits / samples`. The hits are an exact integer count.
pub(crate) fn estimate_pi(rng: &tilework::Rng, samples: usize, chunk: usize) -> Result<Estimate> {
    let x = rng.uniform(&[samples], 0.0, 1.0, DType::F32, chunk)?;
    let y = rng.uniform(&[samples], 0.0, 1.0, DType::F32, chunk)?;
    let inside = (&x * &x + &y * &y).less_equal(1.0)?;
    let hits = inside.astype(DType::I64)?.sum()?.to_scalar()?.to_f64();
    let p = hits / samples as f64;
    Ok(Estimate {
        value: 4.0 * p,
        stderr: 4.0 * (p * (1.0 - p) / samples as f64).sqrt(),
    })
}

/// Terminal prices `S_T` of Black-Scholes paths driven by standard normal draws `z` (lazy).
pub(crate) fn terminal_prices(z: &Array, c: Call) -> Result<Array> {
    let drift = (c.rate - 0.5 * c.sigma * c.sigma) * c.years;
    Ok(c.spot * (drift + c.sigma * c.years.sqrt() * z).exp()?)
}

/// The option's price as the mean discounted payoff over the paths of `z` (summed in f64), with
/// its standard error.
pub(crate) fn estimate_call(z: &Array, call: Call) -> Result<Estimate> {
    let payoff = (terminal_prices(z, call)? - call.strike).maximum(0.0)?;
    let pay = (payoff * (-call.rate * call.years).exp()).astype(DType::F64)?;
    // Two passes, so that no chunk of draws waits in memory for the second reduction: the
    // counter-based generator draws the same numbers again at no storage cost.
    let mean = pay.mean()?.to_scalar()?.to_f64();
    let std = pay.std(1)?.to_scalar()?.to_f64();
    Ok(Estimate {
        value: mean,
        stderr: std / (pay.len() as f64).sqrt(),
    })
}

/// The closed-form Black-Scholes price of a European call.
pub(crate) fn black_scholes(c: Call) -> f64 {
    let vol = c.sigma * c.years.sqrt();
    let d1 = ((c.spot / c.strike).ln() + (c.rate + 0.5 * c.sigma * c.sigma) * c.years) / vol;
    c.spot * normal_cdf(d1) - c.strike * (-c.rate * c.years).exp() * normal_cdf(d1 - vol)
}

/// The standard normal CDF, `erfc(-x / sqrt 2) / 2`.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7,
/// far below any Monte Carlo standard error here).
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    #[rustfmt::skip]
    let poly = [-1.265_512_23, 1.000_023_68, 0.374_091_96, 0.096_784_18, -0.186_288_06,
        0.278_868_07, -1.135_203_98, 1.488_515_87, -0.822_152_23, 0.170_872_77];
    let sum = poly.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    let y = t * (-x * x + sum).exp();
    if x >= 0.0 { y } else { 2.0 - y }
}

/// A histogram of terminal prices (one column per price bin; the bins above the strike, where
/// the option pays, in orange) with the Black-Scholes log-normal density as a pale curve.
fn write_histogram(prices: &[f32], call: Call, width: usize, path: &Path) -> AnyResult<()> {
    let (w, h) = (width.max(2), width.max(2) * 5 / 8);
    let (lo, hi) = (0.4 * call.spot, 2.0 * call.spot);
    let bin = (hi - lo) / w as f64;
    let mut counts = vec![0u32; w];
    for &p in prices {
        let i = ((f64::from(p) - lo) / bin).floor();
        if (0.0..w as f64).contains(&i) {
            counts[i as usize] += 1;
        }
    }
    // The expected count per bin: samples * bin width * log-normal density at the bin's centre.
    let (mu, s) = (
        call.spot.ln() + (call.rate - 0.5 * call.sigma.powi(2)) * call.years,
        call.sigma * call.years.sqrt(),
    );
    let expected = |x: f64| {
        let z = (x.ln() - mu) / s;
        prices.len() as f64 * bin * (-0.5 * z * z).exp()
            / (x * s * (2.0 * std::f64::consts::PI).sqrt())
    };
    let top = f64::from(counts.iter().copied().max().unwrap_or(1).max(1)) * 1.1;
    let row_of = |v: f64| h as f64 * (1.0 - v / top); // rows grow downwards
    let mut rgb = vec![0u8; w * h * 3];
    for (col, &count) in counts.iter().enumerate() {
        let x = lo + (col as f64 + 0.5) * bin;
        let bar = inferno(if x > call.strike { 0.75 } else { 0.4 });
        let curve = row_of(expected(x)) as usize;
        for row in 0..h {
            let colour = if row.abs_diff(curve) <= 1 {
                inferno(0.98)
            } else if row as f64 >= row_of(f64::from(count)) {
                bar
            } else {
                continue;
            };
            rgb[3 * (row * w + col)..][..3].copy_from_slice(&colour);
        }
    }
    write_png(path, w, h, &rgb)
}

fn run(args: &Args) -> AnyResult<()> {
    // Each estimate is one big computation: the library's progress bar (over chunk tasks) shows it.
    let ctx = Context::builder()
        .device(args.device)
        .progress(true)
        .build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let (n, chunk) = (args.samples, args.chunk);
    let rng = ctx.rng(args.seed);

    let start = Instant::now();
    let pi = estimate_pi(&rng, n, chunk)?;
    let pi_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let z = rng.normal(&[n], 0.0, 1.0, DType::F32, chunk)?;
    let call = estimate_call(&z, CALL)?;
    let call_s = start.elapsed().as_secs_f64();
    let exact = black_scholes(CALL);
    // The first million paths again (a lazy slice: only the chunks under it are drawn).
    let some = terminal_prices(&z.slice(&s![..n.min(1 << 20)])?, CALL)?.to_ndarray::<f32>()?;
    let picture = args.out.join("monte_carlo.png");
    write_histogram(
        some.as_slice().unwrap_or_default(),
        CALL,
        args.picture,
        &picture,
    )?;

    let rate = |seconds: f64| n as f64 / seconds / 1e6;
    let sigmas = |e: Estimate, truth: f64| (e.value - truth) / e.stderr;
    println!(
        "monte carlo     {n} samples per estimate, chunks of {chunk}, seed {}\n\
         device          {} ({} threads)\n\
         pi              {:.6} +- {:.6} (true {:.6}: {:+.2} standard errors) in {pi_s:.2} s, {:.0} M samples/s\n\
         call option     {:.4} +- {:.4} (Black-Scholes {exact:.4}: {:+.2} standard errors) in {call_s:.2} s, {:.0} M samples/s\n\
         histogram       {} (terminal prices of the first {} paths)",
        args.seed,
        name(&ctx.device()),
        ctx.threads(),
        pi.value,
        pi.stderr,
        std::f64::consts::PI,
        sigmas(pi, std::f64::consts::PI),
        rate(pi_s),
        call.value,
        call.stderr,
        sigmas(call, exact),
        rate(call_s),
        picture.display(),
        some.len(),
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("monte_carlo", run(&Args::parse()))
}
