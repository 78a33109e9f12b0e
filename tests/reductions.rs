//! Reductions over any set of axes (with keepdims), arg-reductions and scans, against ndarray.
mod common;

use common::{as_f64, assert_close, check, shape_and_chunks, values};
use ndarray::{ArrayD, Axis, IxDyn};
use tilework::prelude::*;

/// Reference: reduce `data` over `axes` with `f` applied to each lane's values.
fn reference(
    data: &ArrayD<f64>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(&[f64]) -> f64,
) -> ArrayD<f64> {
    let ndim = data.ndim();
    let kept: Vec<usize> = (0..ndim).filter(|a| !axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let moved = data.view().permuted_axes(perm);
    let out_shape: Vec<usize> = kept.iter().map(|&a| data.shape()[a]).collect();
    let lane: usize = axes.iter().map(|&a| data.shape()[a]).product();
    let flat = moved
        .as_standard_layout()
        .into_owned()
        .into_raw_vec_and_offset()
        .0;
    let outs: Vec<f64> = (0..out_shape.iter().product::<usize>())
        .map(|i| f(&flat[i * lane..(i + 1) * lane]))
        .collect();
    let result = ArrayD::from_shape_vec(IxDyn(&out_shape), outs).expect("shape");
    if !keepdims {
        return result;
    }
    let keep_shape: Vec<usize> = (0..ndim)
        .map(|a| {
            if axes.contains(&a) {
                1
            } else {
                data.shape()[a]
            }
        })
        .collect();
    result
        .into_shape_with_order(IxDyn(&keep_shape))
        .expect("same size")
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var(v: &[f64], ddof: usize) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - ddof as f64)
}

fn every_reduction_matches_reference(ctx: &Context) -> Result<()> {
    let data = values(&[5, 4, 6], 11);
    let x = ctx.from_ndarray(data.clone(), [2, 3, 4])?;
    for axes in [
        vec![0usize],
        vec![1],
        vec![2],
        vec![0, 2],
        vec![0, 1, 2],
        vec![1, 2],
    ] {
        let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        for keepdims in [false, true] {
            let r = |f: fn(&[f64]) -> f64| reference(&data, &axes, keepdims, f);
            assert_close(
                &as_f64(&x.sum_axes(&ax, keepdims)?),
                &r(|v| v.iter().sum()),
                1e-12,
                1e-12,
            );
            assert_close(
                &as_f64(&x.prod_axes(&ax, keepdims)?),
                &r(|v| v.iter().product()),
                1e-10,
                1e-300,
            );
            assert_close(
                &as_f64(&x.mean_axes(&ax, keepdims)?),
                &r(mean),
                1e-12,
                1e-12,
            );
            assert_close(
                &as_f64(&x.min_axes(&ax, keepdims)?),
                &r(|v| v.iter().copied().fold(f64::INFINITY, f64::min)),
                0.0,
                0.0,
            );
            assert_close(
                &as_f64(&x.max_axes(&ax, keepdims)?),
                &r(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                0.0,
                0.0,
            );
            assert_close(
                &as_f64(&x.var_axes(&ax, 0, keepdims)?),
                &r(|v| var(v, 0)),
                1e-10,
                1e-12,
            );
            assert_close(
                &as_f64(&x.std_axes(&ax, 1, keepdims)?),
                &r(|v| var(v, 1).sqrt()),
                1e-10,
                1e-12,
            );
            let pos = x.greater(0.0)?;
            assert_close(
                &as_f64(&pos.any_axes(&ax, keepdims)?),
                &r(|v| v.iter().any(|&x| x > 0.0) as u8 as f64),
                0.0,
                0.0,
            );
            assert_close(
                &as_f64(&pos.all_axes(&ax, keepdims)?),
                &r(|v| v.iter().all(|&x| x > 0.0) as u8 as f64),
                0.0,
                0.0,
            );
        }
    }
    Ok(())
}

fn reduction_dtypes(ctx: &Context) -> Result<()> {
    let i = ctx.arange(0.0, 100.0, 1.0, DType::I32, 7)?;
    let s = i.sum()?;
    assert_eq!(s.dtype(), DType::I64);
    assert_eq!(s.to_scalar()?, Scalar::I64(4950));
    assert_eq!(i.mean()?.dtype(), DType::F64);
    assert_eq!(i.max()?.to_scalar()?, Scalar::I32(99));
    let f = ctx.ones(&[10], DType::F32, 3)?;
    assert_eq!(f.sum()?.dtype(), DType::F32);
    assert_eq!(f.mean()?.to_scalar()?, Scalar::F32(1.0));
    let b = i.greater(49)?;
    assert_eq!(b.sum()?.to_scalar()?, Scalar::I64(50));
    assert_eq!(b.any()?.to_scalar()?, Scalar::Bool(true));
    assert_eq!(b.all()?.to_scalar()?, Scalar::Bool(false));
    // Empty reductions: sum 0, prod 1, mean NaN; min has no identity.
    let e = ctx.zeros(&[0], DType::F64, 1)?;
    assert_eq!(e.sum()?.to_scalar()?.to_f64(), 0.0);
    assert_eq!(e.prod()?.to_scalar()?.to_f64(), 1.0);
    assert!(e.mean()?.to_scalar()?.to_f64().is_nan());
    assert!(e.min().is_err());
    assert!(e.argmax().is_err());
    Ok(())
}

fn argmin_argmax(ctx: &Context) -> Result<()> {
    let data = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 9.0];
    let x = ctx.from_vec(data, &[3, 4], [2, 3])?;
    assert_eq!(x.argmin()?.to_scalar()?, Scalar::I64(1)); // first of the two 1.0s
    assert_eq!(x.argmax()?.to_scalar()?, Scalar::I64(5)); // first of the two 9.0s
    assert_eq!(
        x.argmax_axis(0)?
            .to_ndarray::<i64>()?
            .into_raw_vec_and_offset()
            .0,
        vec![1, 1, 2, 2]
    );
    assert_eq!(
        x.argmin_axis(1)?
            .to_ndarray::<i64>()?
            .into_raw_vec_and_offset()
            .0,
        vec![1, 2, 1]
    );
    assert_eq!(x.argmin_axis(-1)?.shape(), &[3]);
    let nan = ctx.from_vec(vec![1.0f32, f32::NAN, 7.0, f32::NAN], &[4], 1)?;
    assert_eq!(nan.argmax()?.to_scalar()?, Scalar::I64(1));
    assert_eq!(nan.argmin()?.to_scalar()?, Scalar::I64(1));
    assert!(nan.max()?.to_scalar()?.to_f64().is_nan());
    Ok(())
}

fn scans(ctx: &Context) -> Result<()> {
    let data = values(&[7, 5], 3);
    let x = ctx.from_ndarray(data.clone(), [3, 2])?;
    for axis in [0usize, 1] {
        let mut expected = data.clone();
        expected.accumulate_axis_inplace(Axis(axis), |&prev, cur| *cur += prev);
        assert_close(&as_f64(&x.cumsum(axis as isize)?), &expected, 1e-12, 1e-12);
        let mut expected = data.clone();
        expected.accumulate_axis_inplace(Axis(axis), |&prev, cur| *cur *= prev);
        assert_close(
            &as_f64(&x.cumprod(axis as isize)?),
            &expected,
            1e-10,
            1e-300,
        );
    }
    let i = ctx.from_vec(vec![1i32, 2, 3, 4, 5], &[5], 2)?.cumsum(0)?;
    assert_eq!(i.dtype(), DType::I64);
    assert_eq!(
        i.to_ndarray::<i64>()?.into_raw_vec_and_offset().0,
        vec![1, 3, 6, 10, 15]
    );
    Ok(())
}

fn property_sum_mean_max_vs_ndarray(ctx: &Context) -> Result<()> {
    check("reductions", 48, shape_and_chunks(), |(shape, chunks)| {
        let data = values(&shape, shape.iter().product::<usize>() as u64);
        let x = ctx
            .from_ndarray(data.clone(), chunks.as_slice())
            .expect("valid chunks");
        for (axis, &len) in shape.iter().enumerate() {
            let got = as_f64(&x.sum_axes(&[axis as isize], false).expect("sum"));
            assert_close(&got, &data.sum_axis(Axis(axis)), 1e-12, 1e-12);
            if len > 0 {
                let got = as_f64(&x.max_axes(&[axis as isize], true).expect("max"));
                let expected = data
                    .fold_axis(Axis(axis), f64::NEG_INFINITY, |&a, &b| a.max(b))
                    .insert_axis(Axis(axis));
                assert_close(&got, &expected, 0.0, 0.0);
            }
        }
        let total = x.sum().expect("sum").to_scalar().expect("scalar").to_f64();
        assert!((total - data.sum()).abs() <= 1e-9 * (1.0 + data.sum().abs()));
    });
    Ok(())
}

conformance!(
    every_reduction_matches_reference,
    reduction_dtypes,
    argmin_argmax,
    scans,
    property_sum_mean_max_vs_ndarray
);

// ---- Issue 14 item 3: mean/var/std follow NumPy for infinities, NaN and `ddof >= n`. ----

/// The CPU context and, where an adapter exists, the GPU one.
fn devices() -> Vec<Context> {
    std::iter::once(common::cpu())
        .chain(common::gpu())
        .collect()
}

/// `f(x)` as f64 values for `data` of `shape` in every chunking of `chunkings`.
fn over_chunkings(
    ctx: &Context,
    data: &[f64],
    shape: &[usize],
    chunkings: &[&[usize]],
    f: impl Fn(&Array) -> Result<Array>,
) -> Result<Vec<(Vec<usize>, Vec<f64>)>> {
    chunkings
        .iter()
        .map(|&chunks| {
            let x = ctx.from_vec(data.to_vec(), shape, chunks)?;
            let got = as_f64(&f(&x)?).into_raw_vec_and_offset().0;
            Ok((chunks.to_vec(), got))
        })
        .collect()
}

/// Bitwise equality, every NaN equal to every NaN.
fn same(got: &[f64], expected: &[f64]) -> bool {
    got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(a, b)| (a.is_nan() && b.is_nan()) || a == b)
}

#[test]
fn mean_of_infinities_over_chunks_is_numpys() -> Result<()> {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    // (data, np.mean(data)): an infinity over several chunks used to give inf - inf = NaN.
    let cases: [(&[f64], f64); 7] = [
        (&[-inf, 1.0, 2.0, 3.0], -inf),
        (&[1.0, 2.0, 3.0, inf], inf),
        (&[inf, -inf], nan),
        (&[inf, 1.0, inf, 2.0], inf),
        (&[1.0, nan, 2.0, 3.0], nan),
        (&[-inf, nan, 1.0, 2.0], nan),
        // Finite means whose difference overflows: NumPy's sum is 0.
        (&[-1e308, 1e308], 0.0),
    ];
    for ctx in devices() {
        for (data, expected) in cases {
            let n = data.len();
            for (chunks, got) in
                over_chunkings(&ctx, data, &[n], &[&[1], &[2], &[3], &[n]], |x| x.mean())?
            {
                assert!(
                    same(&got, &[expected]),
                    "{:?}: mean of {data:?} in chunks {chunks:?} is {got:?}, NumPy {expected}",
                    ctx.device()
                );
            }
            // np.var / np.std of data with an infinity or a NaN is NaN (inf - inf).
            if data.iter().any(|v| !v.is_finite()) {
                for f in [|x: &Array| x.var(0), |x: &Array| x.std(1)] {
                    for (chunks, got) in over_chunkings(&ctx, data, &[n], &[&[1], &[2], &[n]], f)? {
                        assert!(
                            got[0].is_nan(),
                            "var/std of {data:?} in {chunks:?}: {got:?}"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn mean_of_infinities_along_axes_is_numpys() -> Result<()> {
    let inf = f64::INFINITY;
    // [[-inf, 1], [2, 3], [1e308, inf]]: rows fold in one by one (Welford) inside a chunk and
    // merge across chunks.
    let data = [-inf, 1.0, 2.0, 3.0, 1e308, inf];
    let chunkings: [&[usize]; 4] = [&[3, 2], &[1, 2], &[1, 1], &[2, 1]];
    for ctx in devices() {
        let axis0 = over_chunkings(&ctx, &data, &[3, 2], &chunkings, |x| {
            x.mean_axes(&[0], false)
        })?;
        for (chunks, got) in axis0 {
            assert!(same(&got, &[-inf, inf]), "axis 0 in {chunks:?}: {got:?}");
        }
        let axis1 = over_chunkings(&ctx, &data, &[3, 2], &chunkings, |x| {
            x.mean_axes(&[1], false)
        })?;
        for (chunks, got) in axis1 {
            assert!(
                same(&got, &[-inf, 2.5, inf]),
                "axis 1 in {chunks:?}: {got:?}"
            );
        }
        let var0 = over_chunkings(&ctx, &data, &[3, 2], &chunkings, |x| {
            x.var_axes(&[0], 0, false)
        })?;
        for (chunks, got) in var0 {
            assert!(
                got.iter().all(|v| v.is_nan()),
                "var axis 0 in {chunks:?}: {got:?}"
            );
        }
        // Overflowing differences between finite means, row by row: NumPy's mean is 0.
        let wide = over_chunkings(&ctx, &[-1e308, 1e308], &[2, 1], &[&[2, 1], &[1, 1]], |x| {
            x.mean_axes(&[0], false)
        })?;
        for (chunks, got) in wide {
            assert!(same(&got, &[0.0]), "wide in {chunks:?}: {got:?}");
        }
    }
    Ok(())
}

#[test]
fn variance_with_ddof_at_or_above_the_count_is_numpys() -> Result<()> {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    for ctx in devices() {
        // NumPy divides by max(n - ddof, 0): spread data gives inf, constant data 0/0 = NaN.
        let x = [1.0, 2.0, 3.0, 4.0];
        for ddof in [4, 5, 1000] {
            for (chunks, got) in
                over_chunkings(&ctx, &x, &[4], &[&[1], &[3], &[4]], |a| a.var(ddof))?
            {
                assert!(same(&got, &[inf]), "var ddof {ddof} in {chunks:?}: {got:?}");
            }
            for (chunks, got) in over_chunkings(&ctx, &x, &[4], &[&[2], &[4]], |a| a.std(ddof))? {
                assert!(same(&got, &[inf]), "std ddof {ddof} in {chunks:?}: {got:?}");
            }
        }
        let constant = over_chunkings(&ctx, &[2.0; 3], &[3], &[&[1], &[3]], |a| a.var(3))?;
        for (chunks, got) in constant {
            assert!(same(&got, &[nan]), "constant in {chunks:?}: {got:?}");
        }
        // Along an axis: rows [1, 2], [3, 3], [5, 9] with ddof 2 give [inf, nan, inf]; ddof 1 is
        // still finite.
        let rows = [1.0, 2.0, 3.0, 3.0, 5.0, 9.0];
        let chunkings: [&[usize]; 3] = [&[3, 2], &[1, 1], &[2, 1]];
        for (chunks, got) in over_chunkings(&ctx, &rows, &[3, 2], &chunkings, |a| {
            a.var_axes(&[1], 2, false)
        })? {
            assert!(
                same(&got, &[inf, nan, inf]),
                "var axis 1 in {chunks:?}: {got:?}"
            );
        }
        for (chunks, got) in over_chunkings(&ctx, &rows, &[3, 2], &chunkings, |a| {
            a.std_axes(&[1], 1, true)
        })? {
            let expected = [0.5f64.sqrt(), 0.0, 8.0f64.sqrt()];
            assert_close(
                &ArrayD::from_shape_vec(IxDyn(&[3]), got.clone()).expect("3 values"),
                &ArrayD::from_shape_vec(IxDyn(&[3]), expected.to_vec()).expect("3 values"),
                1e-15,
                0.0,
            );
            assert_eq!(got.len(), 3, "{chunks:?}");
        }
        // No elements: NaN for every ddof (0/0), as NumPy.
        let empty = ctx.zeros(&[0], DType::F64, 1)?;
        for ddof in [0, 1] {
            assert!(empty.var(ddof)?.to_scalar()?.to_f64().is_nan());
        }
    }
    Ok(())
}
