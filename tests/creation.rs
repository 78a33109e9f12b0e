//! Creation functions: constants, ranges, identity, host data and random numbers.
mod common;

use common::as_f64;
use ndarray::{ArrayD, IxDyn};
use tilework::prelude::*;

fn constants(ctx: &Context) -> Result<()> {
    let z = ctx.zeros(&[5, 3], DType::I32, 2)?;
    assert_eq!(z.to_ndarray::<i32>()?, ArrayD::<i32>::zeros(IxDyn(&[5, 3])));
    let o = ctx.ones(&[4], DType::F16, 3)?;
    assert!(o.to_ndarray::<f16>()?.iter().all(|v| v.to_f32() == 1.0));
    let f = ctx.full(&[2, 2], 2.5, DType::F64, Chunks::Auto)?;
    assert_eq!(f.sum()?.to_scalar()?.to_f64(), 10.0);
    let e = ctx.empty(&[0, 3], DType::U8, 1)?;
    assert_eq!(e.to_ndarray::<u8>()?.shape(), &[0, 3]);
    let like = f.ones_like()?.full_like(7)?;
    assert_eq!((like.dtype(), like.chunks()), (DType::F64, f.chunks()));
    assert_eq!(like.to_ndarray::<f64>()?[[1, 1]], 7.0);
    assert_eq!(f.zeros_like()?.max()?.to_scalar()?.to_f64(), 0.0);
    assert_eq!(f.empty_like()?.shape(), &[2, 2]);
    Ok(())
}

fn ranges(ctx: &Context) -> Result<()> {
    let a = ctx.arange(0.0, 10.0, 3.0, DType::I64, 2)?;
    assert_eq!(
        a.to_ndarray::<i64>()?.into_raw_vec_and_offset().0,
        vec![0, 3, 6, 9]
    );
    let b = ctx.arange(5.0, 0.0, -1.5, DType::F64, 3)?;
    assert_eq!(
        b.to_ndarray::<f64>()?.into_raw_vec_and_offset().0,
        vec![5.0, 3.5, 2.0, 0.5]
    );
    let l = ctx.linspace(0.0, 1.0, 5, true, DType::F32, 2)?;
    assert_eq!(
        l.to_ndarray::<f32>()?.into_raw_vec_and_offset().0,
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    let l = ctx.linspace(0.0, 1.0, 4, false, DType::F64, 3)?;
    assert_eq!(
        l.to_ndarray::<f64>()?.into_raw_vec_and_offset().0,
        vec![0.0, 0.25, 0.5, 0.75]
    );
    // The endpoint is exact even when start + i * step rounds.
    let l = ctx
        .linspace(0.1, 0.7, 7, true, DType::F64, 2)?
        .to_ndarray::<f64>()?;
    assert_eq!(l[6], 0.7);
    let e = ctx.eye(3, 4, 1, DType::F32, 2)?;
    let expected =
        ndarray::Array2::from_shape_fn((3, 4), |(i, j)| if j == i + 1 { 1.0f32 } else { 0.0 });
    assert_eq!(e.to_ndarray::<f32>()?, expected.into_dyn());
    Ok(())
}

fn host_data(ctx: &Context) -> Result<()> {
    let data = ArrayD::from_shape_fn(IxDyn(&[7, 5]), |i| (i[0] * 10 + i[1]) as i32);
    let a = ctx.from_ndarray(data.clone(), [3, 2])?;
    assert_eq!(a.chunks(), vec![vec![3, 3, 1], vec![2, 2, 1]]);
    assert_eq!(a.to_ndarray::<i32>()?, data);
    // Fortran-ordered input is accepted too.
    let f = ctx.from_ndarray(data.t().to_owned().reversed_axes().reversed_axes(), 4)?;
    assert_eq!(f.to_ndarray::<i32>()?, data.t().to_owned());
    let v = ctx.from_vec(vec![1u8, 2, 3, 4, 5, 6], &[2, 3], 1)?;
    assert_eq!(v.to_ndarray::<u8>()?[[1, 2]], 6);
    let b = ctx.from_vec(vec![true, false], &[2], 1)?;
    assert_eq!(
        b.to_ndarray::<bool>()?.into_raw_vec_and_offset().0,
        vec![true, false]
    );
    Ok(())
}

fn random_is_chunking_invariant(ctx: &Context) -> Result<()> {
    for dtype in [DType::F32, DType::F64] {
        let a = ctx.rng(42).uniform(&[37, 23], -1.0, 3.0, dtype, 5)?;
        let b = ctx.rng(42).uniform(&[37, 23], -1.0, 3.0, dtype, [37, 23])?;
        let c = ctx.rng(42).uniform(&[37, 23], -1.0, 3.0, dtype, [4, 9])?;
        let (a, b, c) = (as_f64(&a), as_f64(&b), as_f64(&c));
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.iter().all(|&v| (-1.0..3.0).contains(&v)));
    }
    let n1 = ctx
        .rng(1)
        .normal(&[1000], 0.0, 1.0, DType::F64, 7)?
        .to_ndarray::<f64>()?;
    let n2 = ctx
        .rng(1)
        .normal(&[1000], 0.0, 1.0, DType::F64, 1000)?
        .to_ndarray::<f64>()?;
    assert_eq!(n1, n2);
    let i1 = ctx
        .rng(9)
        .integers(&[500], -3, 4, DType::I32, 64)?
        .to_ndarray::<i32>()?;
    let i2 = ctx
        .rng(9)
        .integers(&[500], -3, 4, DType::I32, 3)?
        .to_ndarray::<i32>()?;
    assert_eq!(i1, i2);
    assert!(i1.iter().all(|v| (-3..4).contains(v)));
    // A different seed, and a second draw from the same generator, differ.
    let rng = ctx.rng(42);
    let first = as_f64(&rng.uniform(&[64], 0.0, 1.0, DType::F64, 8)?);
    let second = as_f64(&rng.uniform(&[64], 0.0, 1.0, DType::F64, 8)?);
    assert_ne!(first, second);
    assert_ne!(
        first,
        as_f64(&ctx.rng(43).uniform(&[64], 0.0, 1.0, DType::F64, 8)?)
    );
    Ok(())
}

fn random_moments(ctx: &Context) -> Result<()> {
    let n = 400_000;
    let u = ctx.rng(3).uniform(&[n], 2.0, 4.0, DType::F32, 65536)?;
    let mean = u.mean()?.to_scalar()?.to_f64();
    let var = u.var(0)?.to_scalar()?.to_f64();
    assert!((mean - 3.0).abs() < 0.01, "uniform mean {mean}");
    assert!((var - 4.0 / 12.0).abs() < 0.01, "uniform var {var}");
    let z = ctx.rng(4).normal(&[n], 1.0, 2.0, DType::F64, 65536)?;
    let (m, s) = (
        z.mean()?.to_scalar()?.to_f64(),
        z.std(0)?.to_scalar()?.to_f64(),
    );
    assert!(
        (m - 1.0).abs() < 0.02 && (s - 2.0).abs() < 0.02,
        "normal mean {m} std {s}"
    );
    let k = ctx.rng(5).integers(&[n], 0, 10, DType::I64, 65536)?;
    let km = k.mean()?.to_scalar()?.to_f64();
    assert!((km - 4.5).abs() < 0.05, "integers mean {km}");
    Ok(())
}

conformance!(
    constants,
    ranges,
    host_data,
    random_is_chunking_invariant,
    random_moments
);

// ---- Issue 14 item 3: random parameters outside what NumPy accepts are errors. ----

/// `Err(InvalidArgument)` of `op` whose message contains `needle`.
fn refused(result: Result<Array>, op: &str, needle: &str) {
    match result {
        Err(Error::InvalidArgument { op: got, detail }) => {
            assert_eq!(got, op, "{detail}");
            assert!(detail.contains(needle), "{op}: {detail:?} lacks {needle:?}");
        }
        Err(other) => panic!("{op}: expected an invalid argument, got {other}"),
        Ok(_) => panic!("{op}: accepted, expected an error about {needle:?}"),
    }
}

#[test]
fn integer_bounds_must_lie_in_the_dtype() -> Result<()> {
    let ctx = common::cpu();
    let rng = ctx.rng(9);
    // NumPy: "low is out of bounds for uint8", "high is out of bounds for int32".
    refused(
        rng.integers(&[4], -2, 3, DType::U8, 2),
        "integers",
        "low -2",
    );
    refused(
        rng.integers(&[4], 0, 257, DType::U8, 2),
        "integers",
        "high 257",
    );
    refused(
        rng.integers(&[4], 0, 1 << 40, DType::I32, 2),
        "integers",
        "high 1099511627776",
    );
    refused(
        rng.integers(&[4], -1, 5, DType::U32, 2),
        "integers",
        "low -1",
    );
    refused(
        rng.integers(&[4], 0, (1 << 32) + 1, DType::U32, 2),
        "integers",
        "out of bounds",
    );
    refused(
        rng.integers(&[4], i64::from(i32::MIN) - 1, 0, DType::I32, 2),
        "integers",
        "low",
    );
    refused(
        rng.integers(&[4], 5, 5, DType::I64, 2),
        "integers",
        "below high",
    );
    refused(
        rng.integers(&[4], 5, 4, DType::I64, 2),
        "integers",
        "below high",
    );
    // The full ranges are fine (high is exclusive, so it may be the maximum + 1).
    let full = |low: i64, high: i64, dtype| -> Result<Vec<f64>> {
        let x = rng.integers(&[64], low, high, dtype, 16)?;
        Ok(as_f64(&x).into_raw_vec_and_offset().0)
    };
    let (low, high) = (i64::from(i32::MIN), i64::from(i32::MAX) + 1);
    assert!(
        full(0, 256, DType::U8)?
            .iter()
            .all(|&v| (0.0..256.0).contains(&v))
    );
    assert!(
        full(low, high, DType::I32)?
            .iter()
            .all(|&v| (low as f64..high as f64).contains(&v))
    );
    assert!(full(0, 1 << 32, DType::U32)?.iter().all(|&v| v >= 0.0));
    let x = rng.integers(&[64], i64::MIN, i64::MAX, DType::I64, 16)?;
    assert!(x.to_ndarray::<i64>()?.iter().all(|&v| v < i64::MAX));
    let small = full(-2, 3, DType::I32)?;
    assert!(small.iter().all(|&v| (-2.0..3.0).contains(&v)), "{small:?}");
    Ok(())
}

#[test]
fn uniform_bounds_follow_numpy() -> Result<()> {
    let ctx = common::cpu();
    let rng = ctx.rng(10);
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    // NumPy: OverflowError "Range exceeds valid bounds" for infinite or NaN bounds or ranges,
    // ValueError "high - low < 0".
    refused(
        rng.uniform(&[4], -1.0, inf, DType::F64, 2),
        "uniform",
        "high inf",
    );
    refused(
        rng.uniform(&[4], -inf, 1.0, DType::F32, 2),
        "uniform",
        "low -inf",
    );
    refused(
        rng.uniform(&[4], nan, 1.0, DType::F64, 2),
        "uniform",
        "low NaN",
    );
    refused(
        rng.uniform(&[4], 0.0, nan, DType::F64, 2),
        "uniform",
        "high NaN",
    );
    refused(
        rng.uniform(&[4], 1.0, 0.0, DType::F64, 2),
        "uniform",
        "high - low < 0",
    );
    refused(
        rng.uniform(&[4], -1e308, 1e308, DType::F64, 2),
        "uniform",
        "high - low = inf",
    );
    // Bounds and ranges beyond f32 (f16 draws in f32, then rounds) would draw infinities.
    refused(
        rng.uniform(&[4], 0.0, 1e39, DType::F32, 2),
        "uniform",
        "high 1e39",
    );
    refused(
        rng.uniform(&[4], -3e38, 3e38, DType::F32, 2),
        "uniform",
        "high - low = 6e38",
    );
    refused(
        rng.uniform(&[4], 0.0, 7e4, DType::F16, 2),
        "uniform",
        "high 70000",
    );
    // low == high is allowed and gives low everywhere, as NumPy.
    let same = rng.uniform(&[5], 2.5, 2.5, DType::F64, 2)?;
    assert!(same.to_ndarray::<f64>()?.iter().all(|&v| v == 2.5));
    let wide = rng.uniform(&[64], -3e38, 3e38, DType::F64, 16)?;
    assert!(wide.to_ndarray::<f64>()?.iter().all(|v| v.is_finite()));
    Ok(())
}

#[test]
fn normal_parameters_must_be_finite_with_a_nonnegative_std() -> Result<()> {
    let ctx = common::cpu();
    let rng = ctx.rng(11);
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    refused(
        rng.normal(&[4], 0.0, -1.0, DType::F64, 2),
        "normal",
        "std -1",
    );
    refused(
        rng.normal(&[4], 0.0, nan, DType::F64, 2),
        "normal",
        "std NaN",
    );
    refused(
        rng.normal(&[4], 0.0, inf, DType::F64, 2),
        "normal",
        "std inf",
    );
    refused(
        rng.normal(&[4], inf, 1.0, DType::F64, 2),
        "normal",
        "mean inf",
    );
    refused(
        rng.normal(&[4], nan, 1.0, DType::F32, 2),
        "normal",
        "mean NaN",
    );
    refused(
        rng.normal(&[4], 1e39, 1.0, DType::F32, 2),
        "normal",
        "mean 1e39",
    );
    // std 0 is allowed (every value is the mean), as NumPy.
    let flat = rng.normal(&[5], 3.0, 0.0, DType::F64, 2)?;
    assert!(flat.to_ndarray::<f64>()?.iter().all(|&v| v == 3.0));
    Ok(())
}

#[test]
fn arrays_and_results_print_concisely_and_as_numpy_does() -> Result<()> {
    let ctx = common::cpu();
    let x = ctx.arange(0.0, 6.0, 1.0, DType::I64, 4)?.reshape(&[2, 3])?;
    let big = ctx.zeros(&[1000, 1000], DType::F32, 300)?;
    assert_eq!(
        format!("{big:?}"),
        "tilework.Array<shape=[1000, 1000], dtype=float32, chunk=[300, 300], chunks=16, op=fill>"
    );
    assert_eq!(x.compute()?.to_string(), "[[0 1 2]\n [3 4 5]]");
    let halves = ctx.arange(0.0, 3.0, 1.0, DType::F64, 2)?;
    assert_eq!((&halves * 0.5).compute()?.to_string(), "[0.  0.5 1. ]");
    assert_eq!(x.sum()?.to_scalar()?.to_string(), "15");
    Ok(())
}
