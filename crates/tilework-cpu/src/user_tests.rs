use super::*;
use crate::num::slice_of;
use crate::testutil::{arr, shape, spec, vals};
use std::sync::Arc;
use tilework_core::{AxisMap, BinaryOp, DType, Expr, ExprNode, Piece};

fn block_fn(
    name: &str,
    f: impl Fn(&[HostArray]) -> Result<HostArray> + Send + Sync + 'static,
) -> BlockFn {
    BlockFn {
        name: name.into(),
        func: Arc::new(f),
        wgsl: None,
    }
}

fn region(start: &[usize], shape_: &[usize]) -> Region {
    Region {
        start: shape(start),
        shape: shape(shape_),
    }
}

/// Doubles every element of an f64 block.
fn doubler() -> BlockFn {
    block_fn("double", |b| {
        let v: Vec<f64> = slice_of::<f64>(&standard(&b[0]))?
            .iter()
            .map(|x| 2.0 * x)
            .collect();
        HostArray::from_vec(v, &b[0].shape())
    })
}

#[test]
fn map_blocks_checks_the_result() {
    let x = arr(vec![1.0f64, 2.0, 3.0], &[3]);
    let out = map_blocks(&doubler(), &[&x], &spec(DType::F64, &[3])).unwrap();
    assert_eq!(vals::<f64>(&out), vec![2.0, 4.0, 6.0]);
    let err = map_blocks(&doubler(), &[&x], &spec(DType::F64, &[4])).unwrap_err();
    assert!(
        matches!(&err, Error::UserKernel(m) if m.contains("map_blocks(double)") && m.contains("[3]")),
        "{err}"
    );
    let err = map_blocks(&doubler(), &[&x], &spec(DType::F32, &[3])).unwrap_err();
    assert!(matches!(err, Error::UserKernel(_)));
    let boom = block_fn("boom", |_| panic!("kaboom"));
    let err = map_blocks(&boom, &[&x], &spec(DType::F64, &[3])).unwrap_err();
    assert!(
        matches!(&err, Error::UserKernel(m) if m.contains("boom") && m.contains("kaboom")),
        "{err}"
    );
    let failing = block_fn("fails", |_| Err(Error::invalid("mine", "no")));
    assert_eq!(
        map_blocks(&failing, &[&x], &spec(DType::F64, &[3])).unwrap_err(),
        Error::invalid("mine", "no")
    );
}

/// A 1-d overlap of depth 1: chunk `[2, 5)` of a length-6 array, read from three slots (the
/// left neighbour, the chunk, the right neighbour).
fn overlap_kernel(
    expr: Option<Expr>,
    num_arrays: usize,
    func: BlockFn,
    const_regions: Vec<(Region, Scalar)>,
) -> Kernel {
    let p = |input, out_start, len, start| Piece {
        input,
        out_start: shape(&[out_start]),
        out_shape: shape(&[len]),
        in_axes: vec![AxisMap::Affine {
            out_axis: 0,
            start,
            step: 1,
        }],
    };
    Kernel::Overlap {
        block_shape: shape(&[5]),
        pieces: vec![p(0, 0, 1, 1), p(1, 1, 3, 0), p(2, 4, 1, 0)],
        slots: 3,
        num_arrays,
        const_regions,
        expr,
        func,
        trim: region(&[1], &[3]),
        global_shape: shape(&[6]),
        chunk_start: shape(&[2]),
    }
}

fn chunks(scale: f64) -> Vec<HostArray> {
    vec![
        arr(vec![scale, 2.0 * scale], &[2]),
        arr(vec![3.0 * scale, 4.0 * scale, 5.0 * scale], &[3]),
        arr(vec![6.0 * scale], &[1]),
    ]
}

/// Sum of each element and its neighbours (valid in the interior of the block).
fn stencil() -> BlockFn {
    block_fn("stencil", |b| {
        let v = slice_of::<f64>(&standard(&b[0]))?.to_vec();
        let out: Vec<f64> = (0..v.len())
            .map(|i| v[i] + v.get(i + 1).unwrap_or(&0.0) + if i > 0 { v[i - 1] } else { 0.0 })
            .collect();
        HostArray::from_vec(out, &b[0].shape())
    })
}

#[test]
fn overlap_assembles_halo_and_trims() {
    let c = chunks(1.0);
    let refs: Vec<&HostArray> = c.iter().collect();
    let k = overlap_kernel(None, 1, stencil(), vec![]);
    let out = overlap(&k, &refs, &spec(DType::F64, &[3])).unwrap();
    // Block [2, 3, 4, 5, 6]: interior sums 9, 12, 15.
    assert_eq!(vals::<f64>(&out), vec![9.0, 12.0, 15.0]);
    // A constant boundary replaces the right halo.
    let k = overlap_kernel(
        None,
        1,
        stencil(),
        vec![(region(&[4], &[1]), Scalar::F64(100.0))],
    );
    let out = overlap(&k, &refs, &spec(DType::F64, &[3])).unwrap();
    assert_eq!(vals::<f64>(&out), vec![9.0, 12.0, 109.0]);
}

#[test]
fn overlap_applies_the_fused_expression() {
    // x0 + x1 over two arrays, each given as three slots.
    let mut e = Expr::builder(2);
    let a = e.push(ExprNode::Input(0), DType::F64);
    let b = e.push(ExprNode::Input(1), DType::F64);
    e.push(ExprNode::Binary(BinaryOp::Add, a, b), DType::F64);
    let mut all = chunks(1.0);
    all.extend(chunks(10.0));
    let refs: Vec<&HostArray> = all.iter().collect();
    let k = overlap_kernel(Some(e), 2, stencil(), vec![]);
    let out = overlap(&k, &refs, &spec(DType::F64, &[3])).unwrap();
    assert_eq!(vals::<f64>(&out), vec![99.0, 132.0, 165.0]);
    // Two arrays without an expression, or the wrong number of inputs, are errors.
    assert!(
        overlap(
            &overlap_kernel(None, 2, stencil(), vec![]),
            &refs,
            &spec(DType::F64, &[3])
        )
        .is_err()
    );
    assert!(
        overlap(
            &overlap_kernel(None, 1, stencil(), vec![]),
            &refs[..2],
            &spec(DType::F64, &[3])
        )
        .is_err()
    );
}

#[test]
fn overlap_rejects_bad_user_results() {
    let c = chunks(1.0);
    let refs: Vec<&HostArray> = c.iter().collect();
    // Neither the block's shape nor the chunk's (an already trimmed interior) is accepted.
    let shrink = block_fn("shrink", |_| HostArray::from_vec(vec![0.0f64; 2], &[2]));
    let err = overlap(
        &overlap_kernel(None, 1, shrink, vec![]),
        &refs,
        &spec(DType::F64, &[3]),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::UserKernel(m) if m.contains("map_overlap(shrink)")),
        "{err}"
    );
    let retype = block_fn("retype", |b| crate::num::cast_host(&b[0], DType::F32));
    let err = overlap(
        &overlap_kernel(None, 1, retype, vec![]),
        &refs,
        &spec(DType::F64, &[3]),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UserKernel(_)));
    let bad_region = vec![(region(&[4], &[2]), Scalar::F64(0.0))];
    assert!(
        overlap(
            &overlap_kernel(None, 1, stencil(), bad_region),
            &refs,
            &spec(DType::F64, &[3])
        )
        .is_err()
    );
}
