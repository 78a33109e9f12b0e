//! User kernels: map_blocks and map_overlap with every boundary, against direct references.
mod common;

use common::{as_f64, values};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use tilework::prelude::*;

/// 1-D three-point sum of a halo'd block (keeps the block's shape; edges copied).
fn three_point(b: ArrayViewD<'_, f64>) -> ArrayD<f64> {
    let mut out = b.to_owned();
    let n = b.len_of(Axis(0));
    for i in 1..n.saturating_sub(1) {
        out[[i]] = b[[i - 1]] + b[[i]] + b[[i + 1]];
    }
    out
}

fn map_blocks_runs_per_chunk(ctx: &Context) -> Result<()> {
    let x = ctx.arange(0.0, 10.0, 1.0, DType::F64, 4)?;
    let y = x.map_blocks("square", |b: ArrayViewD<f64>| b.mapv(|v| v * v))?;
    assert_eq!(
        y.to_ndarray::<f64>()?.into_raw_vec_and_offset().0,
        (0..10).map(|v| (v * v) as f64).collect::<Vec<_>>()
    );
    // Blocks see chunk shapes; output dtype may differ.
    let sizes = x.map_blocks("len", |b: ArrayViewD<f64>| b.mapv(|_| b.len() as i32))?;
    assert_eq!(
        sizes.to_ndarray::<i32>()?.into_raw_vec_and_offset().0,
        vec![4, 4, 4, 4, 4, 4, 4, 4, 2, 2]
    );
    // A block of the wrong shape is a clear error at compute time.
    let bad = x.map_blocks("bad", |b: ArrayViewD<f64>| {
        b.slice_axis(Axis(0), Slice::from(..1)).to_owned()
    })?;
    let err = bad.compute().expect_err("wrong block shape");
    assert!(err.to_string().contains("bad"), "{err}");
    assert!(matches!(
        x.map_blocks("typed", |b: ArrayViewD<f32>| b.to_owned()),
        Err(Error::DTypeMismatch { .. })
    ));
    Ok(())
}

fn map_overlap_boundaries(ctx: &Context) -> Result<()> {
    let data: Vec<f64> = (1..=10).map(|v| v as f64).collect();
    let x = ctx.from_vec(data.clone(), &[10], 3)?;
    let n = data.len();
    let at = |i: isize, boundary: &str| -> f64 {
        match boundary {
            "periodic" => data[i.rem_euclid(n as isize) as usize],
            "reflect" if i < 0 => data[(-1 - i) as usize],
            "reflect" if i >= n as isize => data[2 * n - 1 - i as usize],
            "constant" if i < 0 || i >= n as isize => -1.0,
            _ => data[i as usize],
        }
    };
    for (boundary, name) in [
        (Boundary::Periodic, "periodic"),
        (Boundary::Reflect, "reflect"),
        (Boundary::Constant(Scalar::F64(-1.0)), "constant"),
    ] {
        let y = x.map_overlap("three", &[1], boundary, three_point)?;
        let got = y.to_ndarray::<f64>()?.into_raw_vec_and_offset().0;
        let expected: Vec<f64> = (0..n as isize)
            .map(|i| at(i - 1, name) + at(i, name) + at(i + 1, name))
            .collect();
        assert_eq!(got, expected, "{name}");
    }
    // Boundary::None: edge blocks get no halo, so the first and last element keep their value.
    let y = x
        .map_overlap("three", &[1], Boundary::None, three_point)?
        .to_ndarray::<f64>()?;
    assert_eq!(y[0], 1.0);
    assert_eq!(y[9], 10.0);
    assert_eq!(y[3], 3.0 + 4.0 + 5.0);
    Ok(())
}

fn map_overlap_2d_periodic_laplacian(ctx: &Context) -> Result<()> {
    let data = values(&[9, 8], 4);
    let x = ctx.from_ndarray(data.clone(), [4, 3])?;
    let lap = |b: ArrayViewD<'_, f64>| {
        let mut out = b.to_owned();
        let (r, c) = (b.shape()[0], b.shape()[1]);
        for i in 1..r - 1 {
            for j in 1..c - 1 {
                out[[i, j]] =
                    b[[i - 1, j]] + b[[i + 1, j]] + b[[i, j - 1]] + b[[i, j + 1]] - 4.0 * b[[i, j]];
            }
        }
        out
    };
    // Fused producer: (2x + 1) feeds the stencil.
    let y = (&x * 2.0 + 1.0).map_overlap("laplacian", &[1, 1], Boundary::Periodic, lap)?;
    let got = as_f64(&y);
    let src = data.mapv(|v| 2.0 * v + 1.0);
    let expected = ArrayD::from_shape_fn(IxDyn(&[9, 8]), |i| {
        let at = |di: isize, dj: isize| {
            src[[
                (i[0] as isize + di).rem_euclid(9) as usize,
                (i[1] as isize + dj).rem_euclid(8) as usize,
            ]]
        };
        at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * at(0, 0)
    });
    common::assert_close(&got, &expected, 1e-12, 1e-12);
    // Periodic depth larger than the axis is rejected up front.
    assert!(
        x.map_overlap("lap", &[10, 1], Boundary::Periodic, lap)
            .is_err()
    );
    assert!(x.map_overlap("lap", &[1], Boundary::Periodic, lap).is_err());
    Ok(())
}

fn map_overlap_interior_results_are_not_trimmed_again(ctx: &Context) -> Result<()> {
    let data: Vec<f64> = (0..10).map(|v| v as f64).collect();
    let x = ctx.from_vec(data.clone(), &[10], 4)?;
    // The closure returns only the interior (the chunk's shape): neighbours' mean, periodic.
    let interior = |b: ArrayViewD<'_, f64>| {
        let n = b.len() - 2;
        ArrayD::from_shape_fn(IxDyn(&[n]), |i| (b[[i[0]]] + b[[i[0] + 2]]) / 2.0)
    };
    let got = x
        .map_overlap("mean2", &[1], Boundary::Periodic, interior)?
        .to_ndarray::<f64>()?;
    let expected: Vec<f64> = (0..10)
        .map(|i| (data[(i + 9) % 10] + data[(i + 1) % 10]) / 2.0)
        .collect();
    assert_eq!(got.into_raw_vec_and_offset().0, expected);
    // Any other shape is an error naming the function.
    let wrong = x.map_overlap(
        "wrong",
        &[1],
        Boundary::Periodic,
        |b: ArrayViewD<'_, f64>| b.slice_axis(Axis(0), Slice::from(..1)).to_owned(),
    )?;
    let err = wrong.compute().expect_err("wrong shape");
    assert!(err.to_string().contains("wrong"), "{err}");
    Ok(())
}

conformance!(
    map_overlap_interior_results_are_not_trimmed_again,
    map_blocks_runs_per_chunk,
    map_overlap_boundaries,
    map_overlap_2d_periodic_laplacian
);
