//! Checked sizes: shapes, chunk grids, slices and halos built from user input never wrap, panic or
//! allocate past the budget; every such input is a clear `Err` (issue 14, items 2, 4 and 5).
mod common;

use ndarray::{ArrayD, ArrayViewD};
use tilework::prelude::*;

fn ctx() -> Context {
    common::cpu()
}

fn values(x: &Array) -> Result<Vec<i32>> {
    Ok(x.to_ndarray::<i32>()?.into_raw_vec_and_offset().0)
}

fn range(n: i32) -> Vec<i32> {
    (0..n).collect()
}

#[test]
fn explicit_chunks_whose_sum_wraps_are_refused() -> Result<()> {
    let ctx = ctx();
    // usize::MAX + 7 wraps to 6.
    let wraps = Chunks::Explicit(vec![vec![usize::MAX, 7]]);
    let err = ctx.ones(&[6], DType::F32, wraps.clone()).unwrap_err();
    assert!(matches!(err, Error::BadChunks { .. }), "{err}");
    let x = ctx.ones(&[6], DType::F32, 2)?;
    assert!(matches!(x.rechunk(wraps), Err(Error::BadChunks { .. })));
    Ok(())
}

#[test]
fn every_grid_caps_its_chunk_count() {
    let ctx = ctx();
    // 2^38 automatic chunks (aborted allocating the grid).
    let err = ctx
        .zeros(&[1 << 62], DType::Bool, Chunks::Auto)
        .unwrap_err();
    assert!(matches!(err, Error::BadChunks { .. }), "{err}");
    // 2^28 automatic chunks (took seconds to plan a division).
    let err = ctx
        .full(&[6, 110, 1 << 40], 1.0, DType::F64, Chunks::Auto)
        .unwrap_err();
    assert!(err.to_string().contains("chunks"), "{err}");
    assert!(ctx.zeros(&[1 << 40], DType::Bool, 1).is_err());
    // Views build their grids from the input's chunks: capped too.
    let x = ctx
        .zeros(&[1 << 13, (1 << 13) + 1], DType::Bool, 1 << 14)
        .unwrap();
    assert!(x.rechunk([1, 1]).is_err());
}

#[test]
fn reshape_products_that_wrap_are_refused() -> Result<()> {
    let x = ctx().arange(0.0, 16.0, 1.0, DType::I32, 4)?;
    // 17 * 1085102592571150096 wraps to 16.
    let err = x.reshape(&[17, 1085102592571150096]).unwrap_err();
    assert!(err.to_string().starts_with("reshape:"), "{err}");
    assert!(x.reshape(&[-1, 1085102592571150096, 17]).is_err());
    assert!(x.reshape(&[isize::MAX, 4, -1]).is_err());
    assert_eq!(values(&x.reshape(&[4, -1])?)?, range(16));
    Ok(())
}

#[test]
fn broadcasts_past_the_addressable_size_are_refused() -> Result<()> {
    let ctx = ctx();
    let x = ctx.ones(&[2], DType::F32, 2)?;
    let err = x.broadcast_to(&[usize::MAX, 2]).unwrap_err();
    assert!(err.to_string().starts_with("broadcast_to:"), "{err}");
    assert!(x.broadcast_to(&[1 << 40, 1 << 40, 2]).is_err());
    // Two lazy 16 GiB views whose elementwise product would be 2^65 bytes.
    let one = ctx.ones(&[1, 1], DType::F64, 1)?;
    let (a, b) = (
        one.broadcast_to(&[1 << 31, 1])?,
        one.broadcast_to(&[1, 1 << 31])?,
    );
    let err = a.try_add(&b).unwrap_err();
    assert!(err.to_string().starts_with("add:"), "{err}");
    assert!(a.matmul(&b).is_err());
    Ok(())
}

#[test]
fn pad_and_concatenate_lengths_that_wrap_are_refused() -> Result<()> {
    let ctx = ctx();
    let x = ctx.arange(0.0, 4.0, 1.0, DType::I32, 2)?;
    // 4 + 4 + (usize::MAX - 1) wraps to 6... and gave shape [7].
    let err = x
        .pad(&[(4, usize::MAX - 1)], PadMode::Constant(Scalar::I32(0)))
        .unwrap_err();
    assert!(err.to_string().starts_with("pad:"), "{err}");
    let padded = x.pad(&[(1, 2)], PadMode::Constant(Scalar::I32(9)))?;
    assert_eq!(values(&padded)?, vec![9, 0, 1, 2, 3, 9, 9]);
    // Four lazy 2^62-byte views: their joined length wraps to 0.
    let big = ctx.ones(&[1], DType::Bool, 1)?.broadcast_to(&[1 << 62])?;
    let err = concatenate(&[&big, &big, &big, &big], 0).unwrap_err();
    assert!(err.to_string().starts_with("concatenate:"), "{err}");
    assert!(stack(&[&big, &big], 0).is_err());
    Ok(())
}

fn identity(b: ArrayViewD<'_, f64>) -> ArrayD<f64> {
    b.to_owned()
}

#[test]
fn map_overlap_depths_past_the_axis_are_refused_or_clamped() -> Result<()> {
    let x = ctx().arange(0.0, 4.0, 1.0, DType::F64, 2)?;
    // Was an abort allocating a 16 TiB halo'd block.
    let constant = Boundary::Constant(Scalar::F64(0.0));
    let err = x
        .map_overlap("id", &[1 << 40], constant, identity)
        .unwrap_err();
    assert!(err.to_string().starts_with("map_overlap:"), "{err}");
    assert!(
        x.map_overlap("id", &[5], Boundary::Periodic, identity)
            .is_err()
    );
    // Without a boundary no halo goes past the edges: any depth is the whole axis (usize::MAX
    // used to become -1 in the planner's isize arithmetic).
    let whole = |b: ArrayViewD<'_, f64>| ArrayD::from_elem(b.raw_dim(), b.len() as f64);
    for depth in [4, usize::MAX] {
        let y = x.map_overlap("whole", &[depth], Boundary::None, whole)?;
        assert_eq!(y.to_ndarray::<f64>()?.as_slice(), Some(&[4.0; 4][..]));
    }
    Ok(())
}

#[test]
fn halo_blocks_count_against_the_host_budget() -> Result<()> {
    // Input and output chunks are 1 MiB each, within the 6 MiB budget; the two halo'd blocks
    // (3 MiB each: assembled, and returned by the function) are not.
    let ctx = Context::builder().threads(2).host_memory(6 << 20).build()?;
    let n = 1 << 17;
    let x = ctx.zeros(&[n], DType::F64, n)?;
    let y = x.map_overlap("id", &[n], Boundary::Constant(Scalar::F64(1.0)), identity)?;
    let err = y.compute().unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { .. }), "{err}");
    assert!(err.to_string().contains("overlap"), "{err}");
    // A small halo fits.
    let y = x.map_overlap("id", &[1], Boundary::Constant(Scalar::F64(1.0)), identity)?;
    assert_eq!(y.sum()?.to_scalar()?.to_f64(), 0.0);
    Ok(())
}

#[test]
fn user_kernels_on_empty_arrays_give_empty_results() -> Result<()> {
    let ctx = ctx();
    let x = ctx.zeros(&[0, 5], DType::F64, 2)?;
    for boundary in [
        Boundary::None,
        Boundary::Constant(Scalar::F64(1.0)),
        Boundary::Periodic,
        Boundary::Reflect,
    ] {
        // Was "device error: overlap: 0 inputs for 1 arrays x 0 slots".
        let y = x.map_overlap("id", &[1, 1], boundary, identity)?;
        assert_eq!(y.to_ndarray::<f64>()?.shape(), &[0, 5]);
    }
    let y = x.map_blocks("double", |b: ArrayViewD<'_, f64>| b.mapv(|v| v * 2.0))?;
    assert_eq!(y.to_ndarray::<f64>()?.shape(), &[0, 5]);
    let e = ctx.zeros(&[0], DType::F32, 2)?;
    let k = WgslKernel::new("diff", "return in0(1) - in0(0);")
        .with_cpu(|b: ArrayViewD<'_, f32>| b.to_owned());
    let y = e.map_overlap_wgsl(&[1], Boundary::Constant(Scalar::F32(0.0)), &k)?;
    assert_eq!(y.to_ndarray::<f32>()?.shape(), &[0]);
    Ok(())
}

#[test]
fn extreme_steps_follow_numpy() -> Result<()> {
    let x = ctx().arange(0.0, 10.0, 1.0, DType::I32, 3)?;
    let cases: [(SliceElem, Vec<i32>); 7] = [
        (s![..;isize::MAX][0], vec![0]),
        (s![..;isize::MIN][0], vec![9]),
        (s![5..;isize::MIN][0], vec![5]),
        (s![isize::MIN..isize::MAX][0], range(10)),
        (
            s![isize::MAX..;-1][0],
            range(10).into_iter().rev().collect(),
        ),
        (s![isize::MIN..;-1][0], vec![]),
        (s![1..;isize::MAX - 1][0], vec![1]),
    ];
    for (elem, expected) in cases {
        assert_eq!(values(&x.slice(&[elem])?)?, expected, "{elem:?}");
    }
    Ok(())
}

#[test]
fn usize_slice_bounds_clamp_and_indices_stay_errors() -> Result<()> {
    let x = ctx().arange(0.0, 5.0, 1.0, DType::I32, 2)?;
    // Dropped the last element (usize::MAX became -1).
    assert_eq!(values(&x.slice(&s![0usize..usize::MAX])?)?, range(5));
    assert_eq!(values(&x.slice(&s![0usize..=usize::MAX])?)?, range(5));
    assert_eq!(values(&x.slice(&s![..=usize::MAX])?)?, range(5));
    assert!(values(&x.slice(&s![usize::MAX..])?)?.is_empty());
    assert_eq!(values(&x.slice(&s![2usize..;2])?)?, vec![2, 4]);
    // Returned x[4].
    assert!(matches!(
        x.slice(&s![usize::MAX]),
        Err(Error::BadIndex { .. })
    ));
    assert!(x.slice(&s![i64::MIN]).is_err());
    assert_eq!(values(&x.slice(&s![-1])?)?, vec![4]);
    Ok(())
}

#[test]
fn grid_accessors_refuse_bad_axes_and_indices() -> Result<()> {
    let x = ctx().zeros(&[4, 6], DType::F32, 2)?;
    let grid = x.grid();
    // Panicked.
    assert!(matches!(grid.axis_sizes(5), Err(Error::BadAxis { .. })));
    assert_eq!(grid.axis_sizes(1)?, vec![2, 2, 2]);
    assert!(grid.bounds(2).is_err());
    assert!(grid.region(&[2, 0]).is_err());
    assert!(grid.region(&[0]).is_err());
    assert!(grid.unravel(6).is_err());
    assert_eq!(grid.unravel(5)?.as_slice(), &[1, 2]);
    assert!(grid.ravel(&[0, 3]).is_err());
    assert!(grid.chunks_overlapping(0, 0..5).is_err());
    assert!(grid.chunks_overlapping(9, 0..1).is_err());
    let region = grid.region(&[1, 2])?;
    assert_eq!(
        (region.start.as_slice(), region.shape.as_slice()),
        (&[2, 4][..], &[2, 2][..])
    );
    Ok(())
}
