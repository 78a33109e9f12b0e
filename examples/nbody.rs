//! All-pairs gravitational N-body in f32 with broadcasting and reductions, integrated with leapfrog.
//!
//! Two rotating discs of stars (`--n` bodies in all, unit total mass, `G = 1`) fall into each other. The
//! accelerations are NumPy-style array code: `dx = x[None, :] - x[:, None]` (an `n x n` lazy array,
//! chunked into `chunk x chunk` tiles that are never all in memory at once), the softened
//! `r^2 = dx^2 + dy^2 + dz^2 + eps^2`, and `a_x = sum(m[None, :] * dx / r^3, axis=1)`. tilework
//! fuses each sum with the elementwise work in front of it and runs it tile by tile. Integration is
//! kick-drift-kick leapfrog (symplectic: the energy error stays bounded instead of drifting), and
//! the energy (kinetic plus the same pairwise sum for the potential) is checked every
//! `--energy-every` steps. The end state goes to `--out` as a PNG: the bodies seen from above,
//! coloured by how many fall on each pixel.
//!
//! ```text
//! cargo run --release --example nbody       # 4096 bodies, 100 steps, picture in target/nbody
//! cargo run --release --example nbody -- --n 16384 --steps 20 --energy-every 20
//! ```

mod common;

use clap::Parser;
use common::{AnyResult, inferno, name, progress_bar, write_png};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;

/// Half-width of the region the picture shows.
const VIEW: f32 = 1.5;

#[derive(Parser, Debug)]
#[command(
    about = "All-pairs gravitational N-body (f32) with tilework's broadcasting and reductions"
)]
struct Args {
    /// Number of bodies.
    #[arg(long, default_value_t = 4096)]
    n: usize,
    /// Number of leapfrog steps.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Time step.
    #[arg(long, default_value_t = 0.02)]
    dt: f32,
    /// Softening length (keeps close encounters finite).
    #[arg(long, default_value_t = 0.05)]
    eps: f32,
    /// Chunk (tile) size of the bodies' axis; the pair arrays are tiled chunk x chunk.
    #[arg(long, default_value_t = 512)]
    chunk: usize,
    /// Compute the total energy every this many steps (each costs about one step).
    #[arg(long, default_value_t = 25)]
    energy_every: usize,
    /// Seed of the initial conditions.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Side of the picture in pixels.
    #[arg(long, default_value_t = 512)]
    picture: usize,
    /// Output folder for the picture.
    #[arg(long, default_value = "target/nbody")]
    out: PathBuf,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

/// Positions and velocities (x, y, z components, each of shape `[n]`) and masses.
#[derive(Clone)]
pub(crate) struct Bodies {
    pub(crate) pos: [Array; 3],
    pub(crate) vel: [Array; 3],
    pub(crate) mass: Array,
}

/// `q[None, :] - q[:, None]`: entry `(i, j)` is `q_j - q_i` (lazy, `n x n`).
fn pairwise_diff(q: &Array) -> Result<Array> {
    Ok(q.slice(&s![NEW_AXIS, ..])? - q.slice(&s![.., NEW_AXIS])?)
}

/// Softened squared distances of all pairs, and the three coordinate differences.
fn pairs(pos: &[Array; 3], eps: f32) -> Result<(Array, [Array; 3])> {
    let [dx, dy, dz] = [
        pairwise_diff(&pos[0])?,
        pairwise_diff(&pos[1])?,
        pairwise_diff(&pos[2])?,
    ];
    let r2 = &dx * &dx + &dy * &dy + &dz * &dz + f64::from(eps * eps);
    Ok((r2, [dx, dy, dz]))
}

/// Accelerations `a_i = sum_j m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2)`, computed now
/// (persisted: each is one pass over the tiles of pairs).
pub(crate) fn accelerations(pos: &[Array; 3], mass: &Array, eps: f32) -> Result<[Array; 3]> {
    let (r2, d) = pairs(pos, eps)?;
    let w = mass.slice(&s![NEW_AXIS, ..])? / (&r2 * &r2.sqrt()?); // m_j / r^3
    let a = |d: &Array| (d * &w).sum_axes(&[1], false)?.persist();
    Ok([a(&d[0])?, a(&d[1])?, a(&d[2])?])
}

/// Total energy: kinetic `1/2 sum m v^2` plus potential `-1/2 sum_{i != j} m_i m_j / r_ij`
/// (softened; the `i = j` terms of the full pair sum are `m_i^2 / eps` and are taken out).
pub(crate) fn energy(b: &Bodies, eps: f32) -> Result<f64> {
    let sum = |a: Array| -> Result<f64> { Ok(a.astype(DType::F64)?.sum()?.to_scalar()?.to_f64()) };
    let [vx, vy, vz] = &b.vel;
    let kinetic = 0.5 * sum(&b.mass * (vx * vx + vy * vy + vz * vz))?;
    let (r2, _) = pairs(&b.pos, eps)?;
    let m = &b.mass;
    let mm = m.slice(&s![.., NEW_AXIS])? * m.slice(&s![NEW_AXIS, ..])?;
    let all_pairs = sum(mm / r2.sqrt()?)?;
    let self_pairs = sum(m * m)? / f64::from(eps);
    Ok(kinetic - 0.5 * (all_pairs - self_pairs))
}

/// Two cold, rotating discs of `n / 2` bodies each (Gaussian profile in the x-y plane, thin in z),
/// approaching each other slightly off centre. Each body starts on a circular orbit around its
/// disc's centre, with the speed set by the mass inside its radius. Drawn with tilework's
/// counter-based generator, so the seed fixes them for any chunking.
pub(crate) fn two_discs(ctx: &Context, n: usize, seed: u64, chunk: usize) -> Result<Bodies> {
    const WIDTH: f64 = 0.2; // of each disc's Gaussian profile
    let rng = ctx.rng(seed);
    let first = ctx
        .arange(0.0, n as f64, 1.0, DType::F32, chunk)?
        .less((n / 2) as f64)?;
    let side = |a: f32, b: f32| Array::where_(&first, a, b); // f32 scalars: an f32 result
    let gauss = |std| rng.normal(&[n], 0.0, std, DType::F32, chunk);
    let (dx, dy, z) = (gauss(WIDTH)?, gauss(WIDTH)?, gauss(0.1 * WIDTH)?);
    // Circular speed over radius, sqrt(G M(<r) / r^3), with M(<r) = 1/2 (1 - exp(-r^2 / 2 w^2)).
    let r2 = &dx * &dx + &dy * &dy + 1e-4;
    let inside = 0.5 * (1.0 - (&r2 / (-2.0 * WIDTH * WIDTH)).exp()?);
    let omega = (inside / (&r2 * &r2.sqrt()?)).sqrt()?;
    let pos = [side(-0.6, 0.6)? + &dx, side(-0.2, 0.2)? + &dy, z];
    let vel = [
        side(0.25, -0.25)? - &omega * &dy,
        &omega * &dx,
        ctx.zeros(&[n], DType::F32, chunk)?,
    ];
    Ok(Bodies {
        pos: persist3(pos)?,
        vel: persist3(vel)?,
        mass: ctx.full(&[n], 1.0 / n as f64, DType::F32, chunk)?,
    })
}

/// Computes three arrays and keeps them in memory.
fn persist3([a, b, c]: [Array; 3]) -> Result<[Array; 3]> {
    Ok([a.persist()?, b.persist()?, c.persist()?])
}

/// Runs `steps` kick-drift-kick steps from `b` with accelerations `acc` (those of `b.pos`) and
/// calls `on_step(steps_done, &bodies)` after each. Returns the bodies and their accelerations.
pub(crate) fn simulate(
    mut b: Bodies,
    mut acc: [Array; 3],
    steps: usize,
    dt: f32,
    eps: f32,
    mut on_step: impl FnMut(usize, &Bodies) -> AnyResult<()>,
) -> AnyResult<(Bodies, [Array; 3])> {
    let half = f64::from(dt) / 2.0;
    for done in 1..=steps {
        let kick = |v: &[Array; 3], a: &[Array; 3]| [0, 1, 2].map(|k| &v[k] + half * &a[k]);
        let v_half = persist3(kick(&b.vel, &acc))?;
        b.pos = persist3([0, 1, 2].map(|k| &b.pos[k] + f64::from(dt) * &v_half[k]))?;
        acc = accelerations(&b.pos, &b.mass, eps)?;
        b.vel = persist3(kick(&v_half, &acc))?;
        on_step(done, &b)?;
    }
    Ok((b, acc))
}

/// The bodies seen from above: each body adds a small 3 x 3 splat, shown on a log scale.
fn write_picture(b: &Bodies, side: usize, path: &std::path::Path) -> AnyResult<()> {
    let (x, y) = (b.pos[0].to_ndarray::<f32>()?, b.pos[1].to_ndarray::<f32>()?);
    let mut light = vec![0f32; side * side];
    let pixel = |q: f32| ((q / VIEW + 1.0) * 0.5 * side as f32) as isize;
    for (&x, &y) in x.iter().zip(&y) {
        let (i, j) = (pixel(-y), pixel(x)); // rows grow downwards
        for (di, dj) in (-1..=1).flat_map(|di| (-1..=1).map(move |dj| (di, dj))) {
            let (i, j) = (i + di, j + dj);
            if (0..side as isize).contains(&i) && (0..side as isize).contains(&j) {
                light[i as usize * side + j as usize] +=
                    0.5f32.powi(di.abs() as i32 + dj.abs() as i32);
            }
        }
    }
    let top = (1.0 + light.iter().copied().fold(0.0, f32::max)).ln();
    let rgb: Vec<u8> = light
        .iter()
        .flat_map(|&l| inferno((1.0 + l).ln() / top))
        .collect();
    write_png(path, side, side, &rgb)
}

fn run(args: &Args) -> AnyResult<()> {
    if args.n < 2 || args.eps <= 0.0 || args.dt <= 0.0 {
        return Err("--n must be at least 2, --eps and --dt positive".into());
    }
    let ctx = Context::builder().device(args.device).build()?;
    common::cancel_on_ctrl_c(&ctx);
    std::fs::create_dir_all(&args.out)?;
    let b = two_discs(&ctx, args.n, args.seed, args.chunk)?;
    let energy0 = energy(&b, args.eps)?;

    let bar = progress_bar(args.steps, "steps")?;
    let mut worst = 0.0f64; // largest relative energy error seen
    let start = Instant::now();
    let acc = accelerations(&b.pos, &b.mass, args.eps)?;
    let on_step = |done: usize, b: &Bodies| -> AnyResult<()> {
        bar.set_position(done as u64);
        if done.is_multiple_of(args.energy_every.max(1)) || done == args.steps {
            let drift = (energy(b, args.eps)? - energy0) / energy0.abs();
            worst = worst.max(drift.abs());
            bar.set_message(format!("energy drift {drift:+.2e}"));
        }
        Ok(())
    };
    let (b, _) = simulate(b, acc, args.steps, args.dt, args.eps, on_step)?;
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let energy1 = energy(&b, args.eps)?;
    let picture = args.out.join("nbody.png");
    write_picture(&b, args.picture, &picture)?;

    let pairs = (args.n * args.n * args.steps) as f64 / wall;
    println!(
        "n-body          {n} bodies f32, {} steps of dt {}, softening {}, tiles {c} x {c}\n\
         device          {} ({} threads)\n\
         wall time       {wall:.2} s ({:.1} ms per step, {:.0} M pair interactions/s, energy checks included)\n\
         energy          {energy0:.6} -> {energy1:.6} (relative change {:+.2e}, largest {worst:.2e})\n\
         picture         {}",
        args.steps,
        args.dt,
        args.eps,
        name(&ctx.device()),
        ctx.threads(),
        1e3 * wall / args.steps.max(1) as f64,
        pairs / 1e6,
        (energy1 - energy0) / energy0.abs(),
        picture.display(),
        n = args.n,
        c = args.chunk,
    );
    Ok(())
}

fn main() -> ExitCode {
    common::exit_status("nbody", run(&Args::parse()))
}
