//! Matrix products: 2-D, batched with broadcasting, vectors, and tensordot.
mod common;

use common::{as_f64, assert_close, values};
use ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};
use tilework::prelude::*;

fn naive(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.dot(b)
}

fn matmul_2d_ragged_chunks(ctx: &Context) -> Result<()> {
    let (a, b) = (values(&[13, 11], 1), values(&[11, 7], 2));
    let ta = ctx.from_ndarray(a.clone(), [5, 4])?;
    let tb = ctx.from_ndarray(b.clone(), [3, 3])?; // k chunks differ: b is rechunked
    let got = as_f64(&ta.matmul(&tb)?);
    let expected = naive(
        &a.into_dimensionality::<Ix2>().expect("2-D"),
        &b.into_dimensionality::<Ix2>().expect("2-D"),
    );
    assert_close(&got, &expected.into_dyn(), 1e-12, 1e-12);
    // f32 and integer paths.
    let fa = ctx
        .from_ndarray(values(&[6, 5], 3), 4)?
        .astype(DType::F32)?;
    let fb = ctx
        .from_ndarray(values(&[5, 4], 4), 2)?
        .astype(DType::F32)?;
    let got = as_f64(&fa.matmul(&fb)?);
    let expected = as_f64(&fa.astype(DType::F64)?.matmul(&fb.astype(DType::F64)?)?);
    assert_close(&got, &expected, 1e-5, 1e-4);
    let ia = ctx.from_vec((0..12).collect::<Vec<i32>>(), &[3, 4], 2)?;
    let ib = ctx.from_vec((0..8).collect::<Vec<i32>>(), &[4, 2], 3)?;
    let got = ia.matmul(&ib)?.to_ndarray::<i32>()?;
    let nd_a = Array2::from_shape_vec((3, 4), (0..12).collect::<Vec<i32>>()).expect("shape");
    let nd_b = Array2::from_shape_vec((4, 2), (0..8).collect::<Vec<i32>>()).expect("shape");
    assert_eq!(got, nd_a.dot(&nd_b).into_dyn());
    Ok(())
}

fn batched_and_vectors(ctx: &Context) -> Result<()> {
    let a = values(&[3, 4, 5], 5);
    let b = values(&[5, 2], 6);
    let ta = ctx.from_ndarray(a.clone(), [2, 3, 2])?;
    let tb = ctx.from_ndarray(b.clone(), 2)?;
    let got = as_f64(&ta.matmul(&tb)?);
    assert_eq!(got.shape(), &[3, 4, 2]);
    let b2 = b.clone().into_dimensionality::<Ix2>().expect("2-D");
    for i in 0..3 {
        let ai = a
            .index_axis(Axis(0), i)
            .to_owned()
            .into_dimensionality::<Ix2>()
            .expect("2-D");
        assert_close(
            &got.index_axis(Axis(0), i).to_owned(),
            &naive(&ai, &b2).into_dyn(),
            1e-12,
            1e-12,
        );
    }
    // Batch broadcasting: (2, 1, 3, 4) @ (5, 4, 2) -> (2, 5, 3, 2).
    let c = ctx.from_ndarray(values(&[2, 1, 3, 4], 7), 2)?;
    let d = ctx.from_ndarray(values(&[5, 4, 2], 8), 3)?;
    let cd = c.matmul(&d)?;
    assert_eq!(cd.shape(), &[2, 5, 3, 2]);
    let full = as_f64(&cd);
    let c0 = as_f64(&c.index_axis(0, 1)?.index_axis(0, 0)?)
        .into_dimensionality::<Ix2>()
        .expect("2-D");
    let d3 = as_f64(&d.index_axis(0, 3)?)
        .into_dimensionality::<Ix2>()
        .expect("2-D");
    assert_close(
        &full
            .index_axis(Axis(0), 1)
            .index_axis(Axis(0), 3)
            .to_owned(),
        &naive(&c0, &d3).into_dyn(),
        1e-12,
        1e-12,
    );
    // Vectors: (5,) @ (5, 2) -> (2,), (3, 4, 5) @ (5,) -> (3, 4), (5,) @ (5,) -> ().
    let v = ctx.from_ndarray(values(&[5], 9), 2)?;
    assert_eq!(v.matmul(&tb)?.shape(), &[2]);
    assert_eq!(ta.matmul(&v)?.shape(), &[3, 4]);
    let dot = v.matmul(&v)?;
    assert_eq!(dot.shape(), &[] as &[usize]);
    let vv = values(&[5], 9);
    let expected: f64 = vv.iter().map(|v| v * v).sum();
    assert!((dot.to_scalar()?.to_f64() - expected).abs() < 1e-9);
    Ok(())
}

fn tensordot_matches_reference(ctx: &Context) -> Result<()> {
    let a = values(&[3, 4, 5], 10);
    let b = values(&[4, 3, 2], 11);
    let ta = ctx.from_ndarray(a.clone(), 2)?;
    let tb = ctx.from_ndarray(b.clone(), 3)?;
    let got = as_f64(&ta.tensordot(&tb, &[1, 0], &[0, 1])?);
    assert_eq!(got.shape(), &[5, 2]);
    let expected = ArrayD::from_shape_fn(IxDyn(&[5, 2]), |i| {
        let mut s = 0.0;
        for p in 0..4 {
            for q in 0..3 {
                s += a[[q, p, i[0]]] * b[[p, q, i[1]]];
            }
        }
        s
    });
    assert_close(&got, &expected, 1e-12, 1e-12);
    Ok(())
}

fn matmul_errors(ctx: &Context) -> Result<()> {
    let a = ctx.ones(&[3, 4], DType::F32, 2)?;
    let b = ctx.ones(&[5, 2], DType::F32, 2)?;
    assert!(matches!(
        a.matmul(&b),
        Err(Error::ShapeMismatch { op: "matmul", .. })
    ));
    let s = ctx.ones(&[], DType::F32, 1)?;
    assert!(a.matmul(&s).is_err());
    assert!(a.tensordot(&b, &[1], &[0]).is_err());
    Ok(())
}

conformance!(
    matmul_2d_ragged_chunks,
    batched_and_vectors,
    tensordot_matches_reference,
    matmul_errors
);
