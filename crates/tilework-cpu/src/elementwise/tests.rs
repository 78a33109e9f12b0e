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

/// The backend's sin of one value (the vectorized kernel: per element, the same as in a block).
fn vsin(v: f32) -> f32 {
    use crate::vmath::{Func, VecMath};
    let mut o = [0f32];
    f32::eval(Func::Sin, &[v], &mut o);
    o[0]
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
            let want = (i + 1) as f32 * 2.0 + vsin(j as f32 * 0.5);
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
                let want = x[flat] * 2.0 + vsin(y[i * n2 + k]);
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

/// `sin(x)^2 + cos(y)*x - 3` over two f32 inputs (`trig == false`: `x^2 + y*x - 3`, the same
/// expression without the transcendental functions, for the memory/evaluator floor).
fn issue4_expr(trig: bool) -> Expr {
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), DType::F32);
    let y = e.push(ExprNode::Input(1), DType::F32);
    let (s, c) = if trig {
        let s = e.push(ExprNode::Unary(UnaryOp::Sin, x), DType::F32);
        (s, e.push(ExprNode::Unary(UnaryOp::Cos, y), DType::F32))
    } else {
        (x, y)
    };
    let two = e.push(ExprNode::Const(Scalar::F32(2.0)), DType::F32);
    let s2 = e.push(ExprNode::Binary(BinaryOp::Pow, s, two), DType::F32);
    let cx = e.push(ExprNode::Binary(BinaryOp::Mul, c, x), DType::F32);
    let sum = e.push(ExprNode::Binary(BinaryOp::Add, s2, cx), DType::F32);
    let three = e.push(ExprNode::Const(Scalar::F32(3.0)), DType::F32);
    e.push(ExprNode::Binary(BinaryOp::Sub, sum, three), DType::F32);
    e
}

#[test]
fn issue4_expression_matches_scalar_reference() {
    let n = 5000;
    let xs: Vec<f32> = (0..n).map(|i| (i as f32 - 2500.0) * 0.37).collect();
    let ys: Vec<f32> = (0..n).map(|i| (i as f32) * -1.3e-2).collect();
    let out = elementwise(
        &issue4_expr(true),
        &[&arr(xs.clone(), &[n]), &arr(ys.clone(), &[n])],
        &[n],
    )
    .unwrap();
    for ((&g, &x), &y) in vals::<f32>(&out).iter().zip(&xs).zip(&ys) {
        let (x, y) = (f64::from(x), f64::from(y));
        let want = x.sin().powi(2) + y.cos() * x - 3.0;
        // Each f32 rounding is relative to the larger terms (|x| up to 925).
        assert!(
            (f64::from(g) - want).abs() <= 4e-7 * (x.abs() + 4.0),
            "x={x} y={y}: {g} vs {want}"
        );
    }
}

/// Timing of issue 4's fused `sin(x)^2 + cos(y)*x - 3` over 2^24 f32 through the evaluator.
/// Not a test: run with `cargo test --release -p tilework-cpu fused_trig_timing -- --ignored
/// --nocapture`.
#[test]
#[ignore = "timing, run by hand in --release"]
fn fused_trig_timing() {
    let n = 1usize << 24;
    let xs: Vec<f32> = (0..n).map(|i| (i % 10007) as f32 * 1e-4).collect();
    let ys: Vec<f32> = (0..n).map(|i| (i % 9973) as f32 * 1e-4).collect();
    let (a, b) = (arr(xs, &[n]), arr(ys, &[n]));
    for trig in [true, false] {
        let e = issue4_expr(trig);
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let out = elementwise(&e, &[&a, &b], &[n]).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            assert_eq!(out.len(), n);
        }
        eprintln!(
            "fused {} over 2^24 f32 on {} threads: best {:.1} ms",
            e.render(),
            rayon::current_num_threads(),
            best * 1e3
        );
    }
}
