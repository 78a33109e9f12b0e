//! Elementwise operations: broadcasting, every op, promotion, operators and deferred errors.
mod common;

use common::{as_f64, assert_close, values};
use ndarray::{ArrayD, IxDyn};
use tilework::prelude::*;
use tilework::{BinaryOp, UnaryOp};

fn arithmetic_broadcasts_like_numpy(ctx: &Context) -> Result<()> {
    let xa = values(&[6, 1, 5], 1);
    let ya = values(&[4, 5], 2);
    let x = ctx.from_ndarray(xa.clone(), [4, 1, 2])?;
    let y = ctx.from_ndarray(ya.clone(), [3, 3])?;
    let got = as_f64(&(&x * &y + 1.0));
    let expected = &xa * &ya + 1.0;
    assert_close(&got, &expected, 1e-12, 0.0);
    assert_eq!(got.shape(), &[6, 4, 5]);
    let got = as_f64(&(2.0 - &x / &y));
    assert_close(&got, &(2.0 - &xa / &ya), 1e-12, 0.0);
    Ok(())
}

fn unary_ops_match_std(ctx: &Context) -> Result<()> {
    let data = ArrayD::from_shape_vec(
        IxDyn(&[8]),
        vec![-2.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.7, 100.0],
    )
    .expect("shape");
    let x = ctx.from_ndarray(data.clone(), 3)?;
    type Reference = fn(f64) -> f64;
    let cases: [(UnaryOp, Reference); 12] = [
        (UnaryOp::Neg, |v| -v),
        (UnaryOp::Abs, f64::abs),
        (UnaryOp::Sqrt, f64::sqrt),
        (UnaryOp::Exp, f64::exp),
        (UnaryOp::Log, f64::ln),
        (UnaryOp::Sin, f64::sin),
        (UnaryOp::Cos, f64::cos),
        (UnaryOp::Tan, f64::tan),
        (UnaryOp::Tanh, f64::tanh),
        (UnaryOp::Floor, f64::floor),
        (UnaryOp::Ceil, f64::ceil),
        (UnaryOp::Round, f64::round_ties_even),
    ];
    for (op, f) in cases {
        let got = as_f64(&x.try_unary(op)?);
        assert_close(&got, &data.mapv(f), 1e-12, 1e-300);
    }
    let nan = ctx.from_vec(vec![1.0f32, f32::NAN, f32::INFINITY], &[3], 2)?;
    assert_eq!(
        nan.isnan()?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![false, true, false]
    );
    assert_eq!(
        nan.isfinite()?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![true, false, false]
    );
    Ok(())
}

fn binary_ops_and_comparisons(ctx: &Context) -> Result<()> {
    let a = ctx.from_vec(vec![7i32, -7, 7, -7, 0, 3], &[6], 4)?;
    let b = ctx.from_vec(vec![3i32, 3, -3, -3, 5, 3], &[6], 4)?;
    // NumPy's % takes the divisor's sign.
    assert_eq!(
        (&a % &b).to_ndarray::<i32>()?.into_raw_vec_and_offset().0,
        vec![1, 2, -2, -1, 0, 0]
    );
    assert_eq!(
        a.pow(2)?.to_ndarray::<i32>()?.into_raw_vec_and_offset().0,
        vec![49, 49, 49, 49, 0, 9]
    );
    assert_eq!(
        a.maximum(&b)?
            .to_ndarray::<i32>()?
            .into_raw_vec_and_offset()
            .0,
        vec![7, 3, 7, -3, 5, 3]
    );
    assert_eq!(
        a.minimum(0)?
            .to_ndarray::<i32>()?
            .into_raw_vec_and_offset()
            .0,
        vec![0, -7, 0, -7, 0, 0]
    );
    // Integer true division gives float64.
    let q = &a / &b;
    assert_eq!(q.dtype(), DType::F64);
    assert!((q.to_ndarray::<f64>()?[0] - 7.0 / 3.0).abs() < 1e-15);
    let checks: [(BinaryOp, [bool; 6]); 6] = [
        (BinaryOp::Eq, [false, false, false, false, false, true]),
        (BinaryOp::Ne, [true, true, true, true, true, false]),
        (BinaryOp::Lt, [false, true, false, true, true, false]),
        (BinaryOp::Le, [false, true, false, true, true, true]),
        (BinaryOp::Gt, [true, false, true, false, false, false]),
        (BinaryOp::Ge, [true, false, true, false, false, true]),
    ];
    for (op, expected) in checks {
        let got = a.try_binary(op, &b)?.to_ndarray::<bool>()?;
        assert_eq!(got.into_raw_vec_and_offset().0, expected.to_vec(), "{op:?}");
    }
    let p = a.greater(0)?;
    let q = b.greater(0)?;
    assert_eq!(
        p.logical_and(&q)?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![true, false, false, false, false, true]
    );
    assert_eq!(
        p.logical_or(&q)?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![true, true, true, false, true, true]
    );
    assert_eq!(
        p.logical_not()?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![false, true, false, true, true, false]
    );
    // Float maximum propagates NaN, as NumPy.
    let f = ctx.from_vec(vec![f64::NAN, 1.0], &[2], 1)?;
    let m = f.maximum(0.5)?.to_ndarray::<f64>()?;
    assert!(m[0].is_nan() && m[1] == 1.0);
    Ok(())
}

fn where_clip_astype(ctx: &Context) -> Result<()> {
    let x = ctx.arange(-3.0, 4.0, 1.0, DType::F32, 3)?;
    let w = Array::where_(&x.less(0)?, 0.0, &x)?;
    assert_eq!(
        w.to_ndarray::<f32>()?.into_raw_vec_and_offset().0,
        vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    );
    let c = x.clip(-1.0, 2.0)?;
    assert_eq!(
        c.to_ndarray::<f32>()?.into_raw_vec_and_offset().0,
        vec![-1.0, -1.0, -1.0, 0.0, 1.0, 2.0, 2.0]
    );
    let f = ctx.from_vec(vec![-1.7f64, 2.9, 300.0, 0.0], &[4], 3)?;
    assert_eq!(
        f.astype(DType::I32)?
            .to_ndarray::<i32>()?
            .into_raw_vec_and_offset()
            .0,
        vec![-1, 2, 300, 0]
    );
    assert_eq!(
        f.astype(DType::U8)?
            .to_ndarray::<u8>()?
            .into_raw_vec_and_offset()
            .0,
        vec![255, 2, 44, 0]
    );
    assert_eq!(
        f.astype(DType::Bool)?
            .to_ndarray::<bool>()?
            .into_raw_vec_and_offset()
            .0,
        vec![true, true, true, false]
    );
    let h = f.astype(DType::F16)?.to_ndarray::<f16>()?;
    assert_eq!(h[1], f16::from_f64(2.9));
    Ok(())
}

fn promotion_follows_numpy(ctx: &Context) -> Result<()> {
    let of = |d: DType| ctx.zeros(&[2], d, 1);
    let cases = [
        (DType::U8, DType::I32, DType::I32),
        (DType::U32, DType::I32, DType::I64),
        (DType::I32, DType::F32, DType::F64),
        (DType::U8, DType::F16, DType::F16),
        (DType::F16, DType::F32, DType::F32),
        (DType::Bool, DType::U8, DType::U8),
        (DType::I64, DType::F16, DType::F64),
    ];
    for (a, b, expected) in cases {
        assert_eq!((&of(a)? + &of(b)?).dtype(), expected, "{a} + {b}");
        assert_eq!(DType::promote(a, b), expected);
    }
    // Python-style weak scalars keep the array's dtype within a kind.
    assert_eq!((&of(DType::F32)? * 2.0).dtype(), DType::F32);
    assert_eq!((&of(DType::I32)? + 1).dtype(), DType::I32);
    assert_eq!((&of(DType::I32)? * 2.5).dtype(), DType::F64);
    assert_eq!(of(DType::U8)?.sqrt()?.dtype(), DType::F16);
    assert_eq!(of(DType::I32)?.exp()?.dtype(), DType::F64);
    // bool + bool is logical or, as NumPy.
    let t = ctx.from_vec(vec![true, false], &[2], 1)?;
    let s = &t + &t;
    assert_eq!(s.dtype(), DType::Bool);
    // Mixed int and float compute in the promoted type.
    let i = ctx.from_vec(vec![1i32, 2], &[2], 1)?;
    let f = ctx.from_vec(vec![0.5f32, 0.25], &[2], 1)?;
    assert_eq!(
        (&i + &f).to_ndarray::<f64>()?.into_raw_vec_and_offset().0,
        vec![1.5, 2.25]
    );
    Ok(())
}

fn operator_errors_are_deferred(ctx: &Context) -> Result<()> {
    let a = ctx.ones(&[3, 4], DType::F32, 2)?;
    let b = ctx.ones(&[5], DType::F32, 2)?;
    let bad = &a + &b; // must not panic
    let err = bad.compute().expect_err("mismatched shapes");
    let text = err.to_string();
    assert!(
        text.contains("add") && text.contains("[3, 4]") && text.contains("[5]"),
        "{text}"
    );
    // The error flows through later operations and reductions.
    let later = (&bad * 2.0).sum();
    assert!(later.is_err() || later.and_then(|s| s.compute()).is_err());
    // try_ methods report at once.
    assert!(matches!(
        a.try_add(&b),
        Err(Error::ShapeMismatch { op: "add", .. })
    ));
    let bools = ctx.ones(&[2], DType::Bool, 1)?;
    assert!(bools.try_sub(&bools).is_err());
    assert!(bools.try_neg().is_err());
    Ok(())
}

fn f16_and_integer_paths(ctx: &Context) -> Result<()> {
    let h = ctx.from_vec(vec![f16::from_f32(1.5), f16::from_f32(-2.0)], &[2], 1)?;
    let r = (&h * &h + 1.0).to_ndarray::<f16>()?;
    assert_eq!(
        r.into_raw_vec_and_offset().0,
        vec![f16::from_f32(3.25), f16::from_f32(5.0)]
    );
    let u = ctx.from_vec(vec![250u8, 10], &[2], 1)?;
    // uint8 arithmetic wraps, as NumPy.
    assert_eq!(
        (&u + 10).to_ndarray::<u8>()?.into_raw_vec_and_offset().0,
        vec![4, 20]
    );
    let big = ctx.from_vec(vec![i64::MAX, 1], &[2], 1)?;
    assert_eq!((&big + 1).to_ndarray::<i64>()?[0], i64::MIN);
    Ok(())
}

fn property_broadcast_vs_ndarray(ctx: &Context) -> Result<()> {
    use proptest::prelude::*;
    let strategy = common::shape_and_chunks().prop_flat_map(|(shape, chunks)| {
        let mask = proptest::collection::vec(any::<bool>(), shape.len());
        (Just(shape), Just(chunks), mask, 1usize..4)
    });
    common::check(
        "broadcast",
        48,
        strategy,
        |(shape, chunks, mask, ychunk)| {
            let yshape: Vec<usize> = shape
                .iter()
                .zip(&mask)
                .map(|(&n, &m)| if m { 1 } else { n })
                .collect();
            let (xa, ya) = (values(&shape, 1), values(&yshape, 2));
            let x = ctx
                .from_ndarray(xa.clone(), chunks.as_slice())
                .expect("chunks");
            let y = ctx.from_ndarray(ya.clone(), ychunk).expect("chunks");
            let got = as_f64(&((&x * &y - 2.0).maximum(&x).expect("maximum")));
            let expected = (&xa * &ya - 2.0).to_owned();
            let expected = ndarray::Zip::from(&expected)
                .and(&xa)
                .map_collect(|&a, &b| a.max(b));
            assert_close(&got, &expected, 1e-12, 0.0);
        },
    );
    Ok(())
}

conformance!(
    property_broadcast_vs_ndarray,
    arithmetic_broadcasts_like_numpy,
    unary_ops_match_std,
    binary_ops_and_comparisons,
    where_clip_astype,
    promotion_follows_numpy,
    operator_errors_are_deferred,
    f16_and_integer_paths,
);
