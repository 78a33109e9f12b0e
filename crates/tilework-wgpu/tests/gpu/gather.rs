//! Gather (slices, transposes, reversals, broadcasts, concatenation, padding) and Reshape.

use crate::common::*;
use tilework_core::{AxisMap, Backend, DType, HostArray, Kernel, Piece, Region, Scalar, Shape};

fn affine(out_axis: usize, start: isize, step: isize) -> AxisMap {
    AxisMap::Affine {
        out_axis,
        start,
        step,
    }
}

fn piece(input: usize, out_start: &[usize], out_shape: &[usize], in_axes: Vec<AxisMap>) -> Piece {
    Piece {
        input,
        out_start: Shape::from_slice(out_start),
        out_shape: Shape::from_slice(out_shape),
        in_axes,
    }
}

/// One gather case: description, input shapes, output shape, pieces, fill.
type Case = (
    &'static str,
    Vec<Vec<usize>>,
    Vec<usize>,
    Vec<Piece>,
    Option<f64>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "slice with step",
            vec![vec![10, 8]],
            vec![4, 3],
            vec![piece(
                0,
                &[0, 0],
                &[4, 3],
                vec![affine(0, 1, 2), affine(1, 7, -3)],
            )],
            None,
        ),
        (
            "transpose",
            vec![vec![5, 7]],
            vec![7, 5],
            vec![piece(
                0,
                &[0, 0],
                &[7, 5],
                vec![affine(1, 0, 1), affine(0, 0, 1)],
            )],
            None,
        ),
        (
            "integer index and broadcast",
            vec![vec![4, 6]],
            vec![3, 6],
            vec![
                piece(
                    0,
                    &[0, 0],
                    &[3, 6],
                    vec![AxisMap::Fixed(2), affine(1, 0, 1)],
                ),
                piece(0, &[1, 2], &[2, 3], vec![affine(0, 3, 0), affine(1, 5, -1)]),
            ],
            None,
        ),
        (
            "concatenate",
            vec![vec![2, 3], vec![4, 3]],
            vec![6, 3],
            vec![
                piece(0, &[0, 0], &[2, 3], vec![affine(0, 0, 1), affine(1, 0, 1)]),
                piece(1, &[2, 0], &[4, 3], vec![affine(0, 0, 1), affine(1, 0, 1)]),
            ],
            None,
        ),
        (
            "pad with a constant",
            vec![vec![3, 3]],
            vec![5, 7],
            vec![piece(
                0,
                &[1, 2],
                &[3, 3],
                vec![affine(0, 0, 1), affine(1, 0, 1)],
            )],
            Some(7.0),
        ),
        (
            "empty piece and rank 0",
            vec![vec![]],
            vec![],
            vec![piece(0, &[], &[], vec![])],
            None,
        ),
        (
            "rechunk 3-d",
            vec![vec![4, 5, 6], vec![4, 5, 6]],
            vec![4, 5, 9],
            vec![
                piece(
                    0,
                    &[0, 0, 0],
                    &[4, 5, 3],
                    vec![affine(0, 0, 1), affine(1, 0, 1), affine(2, 3, 1)],
                ),
                piece(
                    1,
                    &[0, 0, 3],
                    &[4, 5, 6],
                    vec![affine(0, 0, 1), affine(1, 0, 1), affine(2, 0, 1)],
                ),
                piece(
                    1,
                    &[0, 0, 0],
                    &[0, 5, 6],
                    vec![affine(0, 9, 1), affine(1, 0, 1), affine(2, 0, 1)],
                ),
            ],
            None,
        ),
    ]
}

#[test]
fn gather_cases_every_dtype() {
    for gpu in gpus() {
        let mut rng = Rng::new(21);
        for dtype in gpu.caps().dtypes.clone() {
            for (what, ins, out, pieces, fill) in cases() {
                let inputs: Vec<HostArray> = ins
                    .iter()
                    .map(|s| random_host(dtype, s, Domain::WithSpecials(-100.0, 100.0), &mut rng))
                    .collect();
                let kernel = Kernel::Gather {
                    pieces,
                    fill: fill.map(|v| Scalar::F64(v).cast(dtype)),
                };
                for preupload in [false, true] {
                    let (g, c) = run_both(&gpu, &kernel, &inputs, &[spec(dtype, &out)], preupload)
                        .unwrap_or_else(|e| panic!("{what} {dtype}: {e}"));
                    assert_close(&g[0], &c[0], Tol::Exact, &format!("{what} {dtype}"));
                }
            }
        }
    }
}

#[test]
fn bad_pieces_are_errors_not_gpu_faults() {
    let Some(gpu) = gpu() else { return };

    let x = tilework_core::Buffer::Host(HostArray::zeros(DType::F32, &[4]));
    for p in [
        piece(0, &[0], &[3], vec![affine(0, 2, 1)]),
        piece(0, &[2], &[3], vec![affine(0, 0, 1)]),
        piece(1, &[0], &[1], vec![affine(0, 0, 1)]),
        piece(0, &[0], &[2], vec![affine(3, 0, 1)]),
        piece(0, &[0], &[2], vec![]),
    ] {
        let k = Kernel::Gather {
            pieces: vec![p],
            fill: None,
        };
        assert!(gpu.launch(&k, &[&x], &[spec(DType::F32, &[3])]).is_err());
    }
    let i = tilework_core::Buffer::Host(HostArray::zeros(DType::I32, &[4]));
    let k = Kernel::Gather {
        pieces: vec![piece(0, &[0], &[3], vec![affine(0, 0, 1)])],
        fill: None,
    };
    assert!(gpu.launch(&k, &[&i], &[spec(DType::F32, &[3])]).is_err());
    assert_eq!(gpu.live_buffers(), 0);
}

fn region(start: &[usize], shape: &[usize]) -> Region {
    Region {
        start: Shape::from_slice(start),
        shape: Shape::from_slice(shape),
    }
}

#[test]
fn reshape_blocks_every_dtype() {
    for gpu in gpus() {
        let mut rng = Rng::new(22);
        for dtype in gpu.caps().dtypes.clone() {
            // (4, 6) split at row 3, reshaped to (3, 8): block rows 1..3, cols 2..7.
            let a = random_host(dtype, &[3, 6], Domain::WithSpecials(-9.0, 9.0), &mut rng);
            let b = random_host(dtype, &[1, 6], Domain::WithSpecials(-9.0, 9.0), &mut rng);
            let k = Kernel::Reshape {
                in_shape: Shape::from_slice(&[4, 6]),
                out_shape: Shape::from_slice(&[3, 8]),
                out_region: region(&[1, 2], &[2, 5]),
                in_regions: vec![region(&[0, 0], &[3, 6]), region(&[3, 0], &[1, 6])],
            };
            let (g, c) = run_both(&gpu, &k, &[a, b], &[spec(dtype, &[2, 5])], true).unwrap();
            assert_close(&g[0], &c[0], Tol::Exact, &format!("reshape {dtype}"));
            // To and from rank 0 and 3.
            let x = random_host(dtype, &[], Domain::Range(-9.0, 9.0), &mut rng);
            let k = Kernel::Reshape {
                in_shape: Shape::new(),
                out_shape: Shape::from_slice(&[1, 1, 1]),
                out_region: region(&[0, 0, 0], &[1, 1, 1]),
                in_regions: vec![region(&[], &[])],
            };
            let (g, c) = run_both(&gpu, &k, &[x], &[spec(dtype, &[1, 1, 1])], false).unwrap();
            assert_close(&g[0], &c[0], Tol::Exact, &format!("reshape rank 0 {dtype}"));
            let x = random_host(dtype, &[2, 3, 4], Domain::Range(-9.0, 9.0), &mut rng);
            let k = Kernel::Reshape {
                in_shape: Shape::from_slice(&[2, 3, 4]),
                out_shape: Shape::from_slice(&[4, 6]),
                out_region: region(&[0, 0], &[4, 6]),
                in_regions: vec![region(&[0, 0, 0], &[2, 3, 4])],
            };
            let (g, c) = run_both(&gpu, &k, &[x], &[spec(dtype, &[4, 6])], false).unwrap();
            assert_close(&g[0], &c[0], Tol::Exact, &format!("reshape 3d {dtype}"));
        }
    }
}
