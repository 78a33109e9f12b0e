use super::*;
use crate::testutil::{arr, shape, spec, vals};
use tilework_core::DType;

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
        out_start: shape(out_start),
        out_shape: shape(out_shape),
        in_axes,
    }
}

/// A (3, 4) input holding 0..12.
fn grid() -> HostArray {
    arr((0..12).collect::<Vec<i32>>(), &[3, 4])
}

#[test]
fn strided_reversed_and_transposed_pieces() {
    let x = grid();
    // x[::-1, ::2] -> (3, 2)
    let p = piece(0, &[0, 0], &[3, 2], vec![affine(0, 2, -1), affine(1, 0, 2)]);
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[3, 2])).unwrap();
    assert_eq!(vals::<i32>(&got), vec![8, 10, 4, 6, 0, 2]);
    // x.T -> (4, 3)
    let p = piece(0, &[0, 0], &[4, 3], vec![affine(1, 0, 1), affine(0, 0, 1)]);
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[4, 3])).unwrap();
    assert_eq!(
        vals::<i32>(&got),
        vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    );
    // x[1, ::-1] -> (4,)
    let p = piece(0, &[0], &[4], vec![AxisMap::Fixed(1), affine(0, 3, -1)]);
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[4])).unwrap();
    assert_eq!(vals::<i32>(&got), vec![7, 6, 5, 4]);
    // Step -2 along the last axis.
    let p = piece(0, &[0], &[2], vec![AxisMap::Fixed(2), affine(0, 3, -2)]);
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[2])).unwrap();
    assert_eq!(vals::<i32>(&got), vec![11, 9]);
}

#[test]
fn repeats_broadcasts_fill_and_order() {
    let x = grid();
    // Step 0 repeats x[:, 1]; output axis 1 is not referenced: broadcast.
    let p = piece(
        0,
        &[0, 0, 0],
        &[3, 2, 2],
        vec![affine(0, 0, 1), affine(2, 1, 0)],
    );
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[3, 2, 2])).unwrap();
    assert_eq!(vals::<i32>(&got), vec![1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 9, 9]);
    // Two pieces from two inputs (concatenate) into a padded output; later pieces win.
    let y = arr(vec![100i32, 101], &[1, 2]);
    let pieces = [
        piece(0, &[0, 0], &[3, 2], vec![affine(0, 0, 1), affine(1, 0, 1)]),
        piece(1, &[3, 0], &[1, 2], vec![affine(0, 0, 1), affine(1, 0, 1)]),
        piece(1, &[0, 1], &[1, 1], vec![affine(0, 0, 1), affine(1, 1, 1)]),
    ];
    let got = gather(
        &pieces,
        Some(tilework_core::Scalar::I64(-1)),
        &[&x, &y],
        &spec(DType::I32, &[5, 2]),
    )
    .unwrap();
    assert_eq!(
        vals::<i32>(&got),
        vec![0, 101, 4, 5, 8, 9, 100, 101, -1, -1]
    );
    // No pieces: all fill (zero by default).
    let got = gather(&[], None, &[], &spec(DType::F32, &[2])).unwrap();
    assert_eq!(vals::<f32>(&got), vec![0.0, 0.0]);
}

#[test]
fn rank_zero_and_empty_pieces() {
    let x = grid();
    let p = piece(0, &[], &[], vec![AxisMap::Fixed(2), AxisMap::Fixed(3)]);
    let got = gather(&[p], None, &[&x], &spec(DType::I32, &[])).unwrap();
    assert_eq!(vals::<i32>(&got), vec![11]);
    let e = piece(0, &[0, 0], &[0, 2], vec![affine(0, 99, 1), affine(1, 0, 1)]);
    assert!(gather(&[e], None, &[&x], &spec(DType::I32, &[1, 2])).is_ok());
}

#[test]
fn bad_pieces_are_errors() {
    let x = grid();
    let out = spec(DType::I32, &[2, 2]);
    let cases = [
        // Reads past the input's end, before its start, and through a bad output axis.
        piece(0, &[0, 0], &[2, 2], vec![affine(0, 2, 1), affine(1, 0, 1)]),
        piece(0, &[0, 0], &[2, 2], vec![affine(0, 0, -1), affine(1, 0, 1)]),
        piece(0, &[0, 0], &[2, 2], vec![affine(0, 0, 1), affine(5, 0, 1)]),
        // Writes past the output, wrong number of axis maps, missing input, fixed out of range.
        piece(0, &[1, 1], &[2, 2], vec![affine(0, 0, 1), affine(1, 0, 1)]),
        piece(0, &[0, 0], &[2, 2], vec![affine(0, 0, 1)]),
        piece(3, &[0, 0], &[2, 2], vec![affine(0, 0, 1), affine(1, 0, 1)]),
        piece(
            0,
            &[0, 0],
            &[2, 2],
            vec![AxisMap::Fixed(3), affine(1, 0, 1)],
        ),
        piece(
            0,
            &[0, 0],
            &[2, 2],
            vec![affine(0, isize::MAX, isize::MAX), affine(1, 0, 1)],
        ),
    ];
    for p in cases {
        assert!(
            gather(std::slice::from_ref(&p), None, &[&x], &out).is_err(),
            "{p:?}"
        );
    }
    // Dtype mismatch between input and output.
    let p = piece(0, &[0, 0], &[2, 2], vec![affine(0, 0, 1), affine(1, 0, 1)]);
    assert!(gather(&[p], None, &[&x], &spec(DType::F32, &[2, 2])).is_err());
}
