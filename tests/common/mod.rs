//! Shared helpers for the integration tests: contexts per device, comparisons, seeded proptest.
#![allow(dead_code, unreachable_pub)]

use ndarray::ArrayD;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tilework::prelude::*;

/// The devices conformance tests run on. The CPU backend is the oracle.
pub fn cpu() -> Context {
    Context::builder()
        .threads(2)
        .build()
        .expect("a CPU context always builds")
}

/// A context on the GPU (`Device::Gpu`: everything the GPU can run runs there, the rest on the
/// CPU), or `None` with the reason printed when no adapter exists. Under `TILEWORK_REQUIRE_GPU=1`
/// (set by CI, which installs Mesa's software Vulkan driver) a missing GPU fails the test instead.
pub fn gpu() -> Option<Context> {
    match Context::builder().threads(2).device(Device::Gpu).build() {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            assert!(
                std::env::var("TILEWORK_REQUIRE_GPU").as_deref() != Ok("1"),
                "TILEWORK_REQUIRE_GPU=1, but no GPU context: {e}"
            );
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// Stamps one conformance test `fn(&Context) -> Result<()>` for every device.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod cpu {
            $(
                #[test]
                fn $name() -> tilework::Result<()> {
                    super::$name(&$crate::common::cpu())
                }
            )*
        }
        #[cfg(feature = "gpu")]
        mod gpu {
            $(
                #[test]
                fn $name() -> tilework::Result<()> {
                    match $crate::common::gpu() {
                        Some(ctx) => super::$name(&ctx),
                        None => Ok(()),
                    }
                }
            )*
        }
    };
}

/// Asserts two float arrays agree within `rtol * |expected| + atol` elementwise (NaN matches NaN).
pub fn assert_close(actual: &ArrayD<f64>, expected: &ArrayD<f64>, rtol: f64, atol: f64) {
    assert_eq!(actual.shape(), expected.shape(), "shapes differ");
    for ((i, a), e) in actual.indexed_iter().zip(expected.iter()) {
        let ok = (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= atol + rtol * e.abs();
        assert!(ok, "at {i:?}: got {a}, expected {e}");
    }
}

/// Computes an array of any dtype as f64 values.
pub fn as_f64(array: &Array) -> ArrayD<f64> {
    array
        .astype(DType::F64)
        .and_then(|a| a.to_ndarray::<f64>())
        .expect("compute succeeds")
}

/// The seed of a property test: `TILEWORK_SEED` or a fixed default. Printed so a failure can be
/// reproduced.
pub fn seed() -> u64 {
    let seed = std::env::var("TILEWORK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    eprintln!("property test seed: {seed} (set TILEWORK_SEED to reproduce)");
    seed
}

/// Runs `cases` cases of a seeded property test.
pub fn check<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value)) {
    let seed = seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        rng,
    );
    for case in 0..cases {
        let value = strategy
            .new_tree(&mut runner)
            .expect("strategy generates")
            .current();
        let text = format!("{value:?}");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(value)));
        if let Err(panic) = result {
            eprintln!("{name}: case {case} failed with seed {seed}: {text}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// A shape of rank 1..=3 with axes of length 0..=7 (including size-0 and size-1 axes).
pub fn shapes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..8, 1..=3)
}

/// A shape together with a chunk size per axis (ragged edges included).
pub fn shape_and_chunks() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shapes().prop_flat_map(|shape| {
        let chunks: Vec<_> = shape.iter().map(|&n| 1usize..=n.max(1)).collect();
        (proptest::strategy::Just(shape), chunks)
    })
}

/// Deterministic pseudo-random f64 values for a shape (no NaN), from a seed.
pub fn values(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ArrayD::from_shape_fn(ndarray::IxDyn(shape), |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 20.0 - 10.0
    })
}
