use super::*;
use crate::testutil::{arr, vals};
use tilework_core::{BinaryOp, DType, Error, ExprNode, Scalar, UnaryOp};

/// `x0 * 2 + sin(x1)` over f32 inputs.
fn affine_sin() -> Expr {
    let mut e = Expr::builder(2);
    let x0 = e.push(ExprNode::Input(0), DType::F32);
    let two = e.push(ExprNode::Const(Scalar::F32(2.0)), DType::F32);
    let m = e.push(ExprNode::Binary(BinaryOp::Mul, x0, two), DType::F32);
    let x1 = e.push(ExprNode::Input(1), DType::F32);
    let s = e.push(ExprNode::Unary(UnaryOp::Sin, x1), DType::F32);
    e.push(ExprNode::Binary(BinaryOp::Add, m, s), DType::F32);
    e
}

#[test]
fn broadcasting_follows_numpy() {
    // (3, 1) with (4,) -> (3, 4).
    let a = arr(vec![1.0f32, 2.0, 3.0], &[3, 1]);
    let b = arr(vec![0.0f32, 0.5, 1.0, 1.5], &[4]);
    let out = elementwise(&affine_sin(), &[&a, &b], &[3, 4]).unwrap();
    assert_eq!(out.shape().as_slice(), &[3, 4]);
    let got = vals::<f32>(&out);
    for i in 0..3 {
        for j in 0..4 {
            let want = (i + 1) as f32 * 2.0 + (j as f32 * 0.5).sin();
            assert_eq!(got[i * 4 + j], want);
        }
    }
}

#[test]
fn large_chunks_match_per_element_reference() {
    // Crosses block and parallel-task boundaries with a middle-axis broadcast and a ragged tail.
    let (n0, n1, n2) = (37, 41, 97);
    let x: Vec<f32> = (0..n0 * n1 * n2)
        .map(|i| (i % 1000) as f32 * 0.01)
        .collect();
    let y: Vec<f32> = (0..n0 * n2).map(|i| i as f32 * 0.001).collect();
    let a = arr(x.clone(), &[n0, n1, n2]);
    let b = arr(y.clone(), &[n0, 1, n2]);
    let out = elementwise(&affine_sin(), &[&a, &b], &[n0, n1, n2]).unwrap();
    let got = vals::<f32>(&out);
    for i in 0..n0 {
        for j in 0..n1 {
            for k in 0..n2 {
                let flat = (i * n1 + j) * n2 + k;
                let want = x[flat] * 2.0 + y[i * n2 + k].sin();
                assert_eq!(got[flat], want, "at {i},{j},{k}");
            }
        }
    }
}

#[test]
fn where_compare_and_cast_chain() {
    // where(x > 0, x, -x).astype(int32) + y, with y an i32 scalar array (rank 0).
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), DType::F64);
    let zero = e.push(ExprNode::Const(Scalar::F64(0.0)), DType::F64);
    let c = e.push(ExprNode::Binary(BinaryOp::Gt, x, zero), DType::Bool);
    let nx = e.push(ExprNode::Unary(UnaryOp::Neg, x), DType::F64);
    let w = e.push(ExprNode::Where(c, x, nx), DType::F64);
    let i = e.push(ExprNode::Cast(w), DType::I32);
    let y = e.push(ExprNode::Input(1), DType::I32);
    e.push(ExprNode::Binary(BinaryOp::Add, i, y), DType::I32);
    let a = arr(vec![-2.7f64, 1.9, 0.0, -0.4, f64::NAN], &[5]);
    let b = arr(vec![10i32], &[]);
    let out = elementwise(&e, &[&a, &b], &[5]).unwrap();
    assert_eq!(out.dtype(), DType::I32);
    assert_eq!(vals::<i32>(&out), vec![12, 11, 10, 10, 10]);
}

#[test]
fn identity_constant_and_rank_zero_expressions() {
    let x = arr(vec![1u8, 2, 3], &[3]);
    let id = Expr::input(0, DType::U8, 1);
    assert_eq!(
        vals::<u8>(&elementwise(&id, &[&x], &[3]).unwrap()),
        vec![1, 2, 3]
    );
    // Broadcast of the identity.
    assert_eq!(
        vals::<u8>(&elementwise(&id, &[&x], &[2, 3]).unwrap()),
        vec![1, 2, 3, 1, 2, 3]
    );
    let mut c = Expr::builder(0);
    c.push(
        ExprNode::Const(Scalar::F16(half::f16::from_f32(1.5))),
        DType::F16,
    );
    let out = elementwise(&c, &[], &[2, 2]).unwrap();
    assert_eq!(vals::<half::f16>(&out), vec![half::f16::from_f32(1.5); 4]);
    let s = arr(vec![4.0f64], &[]);
    let mut e = Expr::builder(1);
    let x0 = e.push(ExprNode::Input(0), DType::F64);
    e.push(ExprNode::Unary(UnaryOp::Sqrt, x0), DType::F64);
    let out = elementwise(&e, &[&s], &[]).unwrap();
    assert_eq!(out.shape().as_slice(), &[] as &[usize]);
    assert_eq!(vals::<f64>(&out), vec![2.0]);
    // Zero-size outputs.
    let empty = arr(Vec::<f64>::new(), &[0, 3]);
    assert_eq!(elementwise(&e, &[&empty], &[0, 3]).unwrap().len(), 0);
}

#[test]
fn non_contiguous_inputs_are_read_in_logical_order() {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![1i64, 2, 3, 4, 5, 6])
        .unwrap();
    let t = HostArray::from_array(a.reversed_axes());
    let id = Expr::input(0, DType::I64, 1);
    assert_eq!(
        vals::<i64>(&elementwise(&id, &[&t], &[3, 2]).unwrap()),
        vec![1, 4, 2, 5, 3, 6]
    );
}

#[test]
fn bad_inputs_are_errors() {
    let a = arr(vec![1.0f32; 3], &[3]);
    let b = arr(vec![1.0f32; 4], &[4]);
    assert!(matches!(
        elementwise(&affine_sin(), &[&a, &b], &[3]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(elementwise(&affine_sin(), &[&a], &[3]).is_err());
    // An input whose dtype is not the node's.
    let i = arr(vec![1i32; 3], &[3]);
    assert!(elementwise(&affine_sin(), &[&a, &i], &[3]).is_err());
    // Higher-rank input than the output.
    let m = arr(vec![1.0f32; 6], &[2, 3]);
    assert!(elementwise(&affine_sin(), &[&m, &a], &[3]).is_err());
    // Float-only op on integers.
    let mut e = Expr::builder(1);
    let x = e.push(ExprNode::Input(0), DType::I32);
    e.push(ExprNode::Unary(UnaryOp::Exp, x), DType::I32);
    assert!(matches!(
        elementwise(&e, &[&i], &[3]),
        Err(Error::DTypeUnsupported { .. })
    ));
}
