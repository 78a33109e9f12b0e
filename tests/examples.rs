//! The examples' physics at tiny sizes. Each example keeps its model in plain functions; this file
//! includes the example sources as modules (their `main` and CLI go unused here) and checks what
//! the physics promises, not just that it runs. Chunk sizes that do not divide the arrays make
//! the halos, reductions and block functions cross ragged chunk borders.
//! Still to come with the GPU backend: the same checks with `Device::Gpu`, and bit-identical
//! random draws on CPU and GPU.

// Every example module includes its own copy of `examples/common` (colormaps, PNG writer).
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../examples/heat.rs"]
mod heat;
#[allow(dead_code)]
#[path = "../examples/life.rs"]
mod life;
#[allow(dead_code)]
#[path = "../examples/mandelbrot.rs"]
mod mandelbrot;
#[allow(dead_code)]
#[path = "../examples/monte_carlo.rs"]
mod monte_carlo;
#[allow(dead_code)]
#[path = "../examples/nbody.rs"]
mod nbody;
#[allow(dead_code)]
#[path = "../examples/wave.rs"]
mod wave;

use ndarray::{Array2, ArrayD};
use tilework::prelude::*;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn ctx() -> Context {
    Context::builder()
        .threads(2)
        .build()
        .expect("a CPU context always builds")
}

fn fixed_zero() -> Boundary {
    Boundary::Constant(0.0f32.into())
}

#[test]
fn heat_conserves_total_heat_on_a_torus_and_leaks_through_fixed_edges() -> TestResult {
    let u0 = heat::initial(&ctx(), 60, 25)?.persist()?;
    let (total0, max0) = (heat::total_heat(&u0)?, u0.max()?.to_scalar()?.to_f64());
    let run = |boundary| heat::simulate(u0.clone(), 150, 0.2, boundary, 7, &[], |_, _| Ok(()));
    let periodic = run(Boundary::Periodic)?;
    let drift = (heat::total_heat(&periodic)? - total0) / total0;
    assert!(
        drift.abs() < 1e-5,
        "total heat drifted by {drift:e} on a torus"
    );
    // It did diffuse: the hottest spot cooled.
    assert!(periodic.max()?.to_scalar()?.to_f64() < 0.9 * max0);
    let fixed = run(fixed_zero())?;
    assert!(
        heat::total_heat(&fixed)? < 0.99 * total0,
        "fixed edges at 0 must drain heat"
    );
    Ok(())
}

#[test]
fn wave_energy_stays_within_a_bound() -> TestResult {
    let c2 = 0.25; // Courant number 0.5
    for boundary in [Boundary::Periodic, fixed_zero()] {
        let u0 = wave::initial(&ctx(), 48, 20)?.persist()?;
        let u_prev = wave::at_rest(&u0, c2, boundary)?.persist()?;
        let e0 = wave::energy(&u_prev, &u0, c2, boundary)?;
        assert!(e0 > 0.0);
        let mut worst = 0.0f64;
        // 200 steps: the fronts travel 100 cells, so they cross the edges of the 48-cell grid.
        let (_, u) = wave::simulate(u_prev, u0.clone(), 200, c2, boundary, |_, u_prev, u| {
            let e = wave::energy(u_prev, u, c2, boundary)?;
            worst = worst.max(((e - e0) / e0).abs());
            Ok(())
        })?;
        assert!(
            worst < 1e-5,
            "{boundary:?}: energy changed by up to {worst:e}"
        );
        // The waves did move.
        let moved = (&u - &u0).abs()?.max()?.to_scalar()?.to_f64();
        assert!(
            moved > 0.1,
            "{boundary:?}: the field barely changed ({moved})"
        );
    }
    Ok(())
}

#[test]
fn life_glider_moves_one_cell_diagonally_every_four_generations() -> TestResult {
    let n = 12;
    let mut start = Array2::<u8>::zeros((n, n));
    for (i, j) in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)] {
        start[[i, j]] = 1; // a glider heading down and to the right
    }
    // Chunks of 5 (5, 5, 2): the glider crosses chunk borders and wraps around the torus.
    let mut board = ctx().from_ndarray(start.clone().into_dyn(), 5)?;
    for k in 1..=n {
        board = life::simulate(board, 4, Boundary::Periodic, |_, _| Ok(()))?;
        let expected =
            Array2::from_shape_fn((n, n), |(i, j)| start[[(i + n - k) % n, (j + n - k) % n]]);
        assert_eq!(
            board.to_ndarray::<u8>()?,
            expected.into_dyn(),
            "after {} generations",
            4 * k
        );
    }
    assert_eq!(life::population(&board)?, 5);
    // With dead cells beyond the edges, the glider runs into the corner and settles as a block.
    let corner = ctx().from_ndarray(start.into_dyn(), 5)?;
    let end = life::simulate(corner, 4 * n, Boundary::Constant(0u8.into()), |_, _| Ok(()))?;
    let block = Array2::from_shape_fn((n, n), |(i, j)| u8::from(i >= n - 2 && j >= n - 2));
    assert_eq!(end.to_ndarray::<u8>()?, block.into_dyn());
    Ok(())
}

#[test]
fn nbody_energy_drift_stays_small_and_momentum_is_conserved() -> TestResult {
    let (n, eps, dt) = (256, 0.05, 0.02);
    let bodies = nbody::two_discs(&ctx(), n, 7, 100)?;
    let momentum = |b: &nbody::Bodies| -> tilework::Result<Vec<f64>> {
        let p = |v: &Array| (v * &b.mass).astype(DType::F64)?.sum()?.to_scalar();
        b.vel.iter().map(|v| Ok(p(v)?.to_f64())).collect()
    };
    let (e0, p0) = (nbody::energy(&bodies, eps)?, momentum(&bodies)?);
    let acc = nbody::accelerations(&bodies.pos, &bodies.mass, eps)?;
    let (end, _) = nbody::simulate(bodies.clone(), acc, 60, dt, eps, |_, _| Ok(()))?;
    let drift = (nbody::energy(&end, eps)? - e0) / e0.abs();
    assert!(drift.abs() < 2e-3, "energy drifted by {drift:e}");
    for (k, (a, b)) in p0.iter().zip(momentum(&end)?).enumerate() {
        assert!((a - b).abs() < 1e-5, "momentum component {k}: {a} -> {b}");
    }
    // The bodies moved: the discs fell towards each other.
    let moved = (&end.pos[0] - &bodies.pos[0])
        .abs()?
        .mean()?
        .to_scalar()?
        .to_f64();
    assert!(moved > 0.05, "bodies moved only {moved} on average");
    Ok(())
}

#[test]
fn mandelbrot_escape_times_match_a_direct_scalar_loop() -> TestResult {
    assert_eq!(mandelbrot::escape_time((1.0, 0.0), 100), 3); // 0, 1, 2, 5: |5| > 2 at step 3
    assert_eq!(mandelbrot::escape_time((-1.0, 0.0), 100), 100); // 0, -1, 0, -1, ...: bounded
    let (size, max_iter, centre, width) = (37, 60, (-0.6, 0.1), 2.8);
    let view = mandelbrot::View {
        centre,
        width,
        size,
    };
    let counts = mandelbrot::escape_times(&ctx(), view, max_iter, 10)?.to_ndarray::<u32>()?;
    let direct = ArrayD::from_shape_fn(vec![size, size], |ij| {
        let (i, j) = (ij[0] as f64, ij[1] as f64);
        let step = width / size as f64;
        let c_re = centre.0 - width / 2.0 + (j + 0.5) * step;
        let c_im = centre.1 + width / 2.0 - (i + 0.5) * step;
        let (mut z_re, mut z_im) = (0.0f64, 0.0f64);
        let mut n = 0;
        while n < max_iter && z_re * z_re + z_im * z_im <= 4.0 {
            (z_re, z_im) = (z_re * z_re - z_im * z_im + c_re, 2.0 * z_re * z_im + c_im);
            n += 1;
        }
        n
    });
    assert_eq!(counts, direct);
    // The grid spans the set's boundary: some pixels are inside, some escape at once.
    assert!(counts.iter().any(|&c| c == max_iter) && counts.iter().any(|&c| c <= 1));
    Ok(())
}

#[test]
fn monte_carlo_matches_black_scholes_and_does_not_depend_on_chunks() -> TestResult {
    let exact = monte_carlo::black_scholes(monte_carlo::CALL);
    assert!(
        (exact - 10.450_583_572_185_565).abs() < 1e-5,
        "closed form {exact}"
    );
    let (samples, seed) = (1 << 20, 11);
    let estimates = |chunk: usize| -> tilework::Result<_> {
        let rng = ctx().rng(seed);
        let pi = monte_carlo::estimate_pi(&rng, samples, chunk)?;
        let z = rng.normal(&[samples], 0.0, 1.0, DType::F32, chunk)?;
        Ok((
            pi,
            monte_carlo::estimate_call(&z, monte_carlo::CALL)?,
            z.to_ndarray::<f32>()?,
        ))
    };
    let (pi, call, draws) = estimates(1 << 16)?;
    let sigmas = |e: monte_carlo::Estimate, truth: f64| (e.value - truth).abs() / e.stderr;
    assert!(sigmas(pi, std::f64::consts::PI) < 4.0, "pi {pi:?}");
    assert!(sigmas(call, exact) < 4.0, "call {call:?} vs {exact}");
    // Another chunking (ragged: 100000 does not divide 2^20): the same draws bit for bit, the same
    // pi (an integer count), and the option's f64 sum equal up to summation order.
    let (pi2, call2, draws2) = estimates(100_000)?;
    assert!(draws == draws2, "the random draws depend on the chunking");
    assert_eq!(pi, pi2);
    assert!(
        (call.value - call2.value).abs() < 1e-12 * call.value,
        "{call:?} vs {call2:?}"
    );
    Ok(())
}
