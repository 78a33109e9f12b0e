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
