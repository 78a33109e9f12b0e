//! Fused elementwise kernels against the CPU: every unary and binary op on every GPU dtype,
//! every cast, `where`, constant powers, broadcasting, and one launch past 65535 workgroups.
//!
//! Tolerances: exact for everything except the f32 transcendentals (`exp`, `log`, `sin`, `cos`,
//! `tan`, `tanh`, and `pow` with a non-constant exponent), which compare the GPU's built-ins
//! with the CPU's vectorized kernels ([`F32_MATH`], [`POW`]); f16 results of those may round to
//! a neighbouring f16 ([`F16_MATH`]).

use crate::common::*;
use tilework_core::{
    Backend, BinaryOp, Buffer, DType, Error, Expr, ExprNode, HostArray, Kernel, Scalar, UnaryOp,
};

const UNARY: [UnaryOp; 15] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Sqrt,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Tan,
    UnaryOp::Tanh,
    UnaryOp::Floor,
    UnaryOp::Ceil,
    UnaryOp::Round,
    UnaryOp::Not,
    UnaryOp::IsNan,
    UnaryOp::IsFinite,
];

const BINARY: [BinaryOp; 16] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Rem,
    BinaryOp::Pow,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::And,
    BinaryOp::Or,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
];

/// `pow` with a non-constant exponent: exp2(y * log2 x) loses about |y log2 x| ulp.
const POW: Tol = Tol::Close {
    rtol: 8e-6,
    atol: 1e-6,
};

fn math_tol(dtype: DType) -> Tol {
    match dtype {
        DType::F16 => F16_MATH,
        DType::F32 => F32_MATH,
        _ => Tol::Exact,
    }
}

fn unary_tol(op: UnaryOp, dtype: DType) -> Tol {
    match op {
        UnaryOp::Exp
        | UnaryOp::Log
        | UnaryOp::Sin
        | UnaryOp::Cos
        | UnaryOp::Tan
        | UnaryOp::Tanh => math_tol(dtype),
        _ => Tol::Exact,
    }
}

fn unary_domain(op: UnaryOp) -> Domain {
    match op {
        UnaryOp::Exp => Domain::WithSpecials(-20.0, 20.0),
        UnaryOp::Log | UnaryOp::Sqrt => Domain::WithSpecials(0.0, 1000.0),
        UnaryOp::Sin | UnaryOp::Cos => Domain::WithSpecials(-10.0, 10.0),
        UnaryOp::Tan => Domain::Range(-1.4, 1.4),
        UnaryOp::Tanh => Domain::WithSpecials(-12.0, 12.0),
        _ => Domain::WithSpecials(-1000.0, 1000.0),
    }
}

/// (output shape, input shapes): same shapes, broadcasts of every kind, empty and scalar.
const SHAPES: [(&[usize], [&[usize]; 2]); 7] = [
    (&[], [&[], &[]]),
    (&[0], [&[0], &[1]]),
    (&[1], [&[1], &[]]),
    (&[1000], [&[1000], &[1000]]),
    (&[3, 4, 5], [&[3, 4, 5], &[4, 1]]),
    (&[3, 4, 5], [&[1, 4, 5], &[5]]),
    (&[2, 1, 3], [&[2, 1, 3], &[1, 1, 1]]),
];

fn unary(op: UnaryOp, d: DType) -> (Expr, DType) {
    let rd = match op {
        UnaryOp::IsNan | UnaryOp::IsFinite => DType::Bool,
        _ => d,
    };
    let mut e = Expr::builder(1);
    let x = e.push(ExprNode::Input(0), d);
    e.push(ExprNode::Unary(op, x), rd);
    (e, rd)
}

fn binary(op: BinaryOp, d: DType) -> (Expr, DType) {
    let rd = if op.is_comparison() { DType::Bool } else { d };
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), d);
    let y = e.push(ExprNode::Input(1), d);
    e.push(ExprNode::Binary(op, x, y), rd);
    (e, rd)
}

/// What happened to one check.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Both ran and agree; the largest relative difference.
    Ran(f64),
    /// The CPU rejects the op too (the graph layer never emits it).
    BothReject,
    /// Only the GPU declined (`DTypeUnsupported`): the scheduler runs it on the CPU.
    GpuDeclined,
}

/// Runs `expr` on both backends and compares.
fn check(
    gpu: &tilework_wgpu::WgpuBackend,
    expr: &Expr,
    inputs: &[HostArray],
    out: &[usize],
    tol: Tol,
    what: &str,
    preupload: bool,
) -> Outcome {
    let kernel = Kernel::Elementwise { expr: expr.clone() };
    let outputs = [spec(expr.dtype(), out)];
    // Whether the CPU rejects the op, asked on one element (an empty chunk evaluates nothing).
    let cpu = tilework_cpu::CpuBackend::new();
    let scalars: Vec<Buffer> = inputs
        .iter()
        .map(|h| Buffer::Host(HostArray::zeros(h.dtype(), &[])))
        .collect();
    let scalar_refs: Vec<&Buffer> = scalars.iter().collect();
    if cpu
        .launch(&kernel, &scalar_refs, &[spec(expr.dtype(), &[])])
        .is_err()
    {
        let host: Vec<Buffer> = inputs.iter().cloned().map(Buffer::Host).collect();
        let refs: Vec<&Buffer> = host.iter().collect();
        let e = gpu.launch(&kernel, &refs, &outputs).expect_err(what);
        assert!(matches!(e, Error::DTypeUnsupported { .. }), "{what}: {e}");
        return Outcome::BothReject;
    }
    match run_both(gpu, &kernel, inputs, &outputs, preupload) {
        Ok((g, c)) => Outcome::Ran(assert_close(&g[0], &c[0], tol, what)),
        Err(Error::DTypeUnsupported { .. }) => Outcome::GpuDeclined,
        Err(e) => panic!("{what}: {e}"),
    }
}

#[test]
fn unary_ops_every_dtype() {
    for gpu in gpus() {
        let mut rng = Rng::new(11);
        let mut ran = 0;
        let mut worst = std::collections::BTreeMap::new();
        for d in gpu.caps().dtypes.clone() {
            for op in UNARY {
                let (e, _) = unary(op, d);
                for (k, (out, ins)) in SHAPES.iter().enumerate() {
                    let x = random_host(d, ins[0], unary_domain(op), &mut rng);
                    let what = format!("{op:?} {d} {out:?}");
                    match check(&gpu, &e, &[x], out, unary_tol(op, d), &what, k % 2 == 0) {
                        Outcome::Ran(w) => {
                            ran += 1;
                            if unary_tol(op, d) != Tol::Exact {
                                let slot = worst.entry(format!("{op:?} {d}")).or_insert(0.0);
                                *slot = f64::max(*slot, w);
                            }
                        }
                        Outcome::BothReject => {}
                        // Vulkan has no f64 transcendentals.
                        Outcome::GpuDeclined => assert!(
                            d == DType::F64 && op.float_only() && op != UnaryOp::Sqrt,
                            "{what} declined"
                        ),
                    }
                }
            }
        }
        eprintln!("largest |gpu - cpu| / max(|cpu|, 1): {worst:?}");
        assert!(ran > 200, "only {ran} unary checks ran");
    }
}

fn binary_domains(op: BinaryOp, d: DType) -> (Domain, Domain) {
    match (op, d.is_float()) {
        (BinaryOp::Pow, true) => (
            Domain::WithSpecials(0.0, 10.0),
            Domain::WithSpecials(-4.0, 4.0),
        ),
        (BinaryOp::Pow, false) => (Domain::WithSpecials(-6.0, 6.0), Domain::Range(-3.0, 14.0)),
        (BinaryOp::Rem | BinaryOp::Div, _) => (
            Domain::WithSpecials(-1e6, 1e6),
            Domain::WithSpecials(-30.0, 30.0),
        ),
        // Small ranges make equal operands (and ties in comparisons) common.
        (_, false) => (
            Domain::WithSpecials(-5.0, 5.0),
            Domain::WithSpecials(-5.0, 5.0),
        ),
        _ => (
            Domain::WithSpecials(-3.0, 3.0),
            Domain::WithSpecials(-3.0, 3.0),
        ),
    }
}

#[test]
fn binary_ops_every_dtype_with_broadcasting() {
    for gpu in gpus() {
        let mut rng = Rng::new(12);
        let mut worst_pow = 0.0f64;
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in BINARY {
                let (e, _) = binary(op, d);
                let tol = match (op, d) {
                    (BinaryOp::Pow, DType::F32) => POW,
                    (BinaryOp::Pow, DType::F16) => F16_MATH,
                    _ => Tol::Exact,
                };
                let (da, db) = binary_domains(op, d);
                for (k, (out, ins)) in SHAPES.iter().enumerate() {
                    let x = random_host(d, ins[0], da, &mut rng);
                    let y = random_host(d, ins[1], db, &mut rng);
                    let what = format!("{op:?} {d} {out:?}");
                    match check(&gpu, &e, &[x, y], out, tol, &what, k % 2 == 1) {
                        Outcome::Ran(w) => {
                            ran += 1;
                            if op == BinaryOp::Pow && d == DType::F32 {
                                worst_pow = worst_pow.max(w);
                            }
                        }
                        Outcome::BothReject => {}
                        // f64 pow needs f64 log/exp, which Vulkan lacks.
                        Outcome::GpuDeclined => {
                            assert!(op == BinaryOp::Pow && d == DType::F64, "{what} declined")
                        }
                    }
                }
            }
        }
        eprintln!("pow f32: largest |gpu - cpu| / max(|cpu|, 1): {worst_pow:e}");
        assert!(ran > 300, "only {ran} binary checks ran");
    }
}

#[test]
fn casts_between_every_pair() {
    for gpu in gpus() {
        let mut rng = Rng::new(13);
        let dtypes = gpu.caps().dtypes.clone();
        for &from in &dtypes {
            for &to in &dtypes {
                let mut e = Expr::builder(1);
                let x = e.push(ExprNode::Input(0), from);
                e.push(ExprNode::Cast(x), to);
                for domain in [
                    Domain::WithSpecials(-300.0, 300.0),
                    Domain::WithSpecials(-6e9, 6e9),
                    Domain::Range(-1e20, 1e20),
                ] {
                    let x = random_host(from, &[257], domain, &mut rng);
                    let what = format!("cast {from} -> {to} {domain:?}");
                    let r = check(&gpu, &e, &[x], &[257], Tol::Exact, &what, true);
                    assert!(matches!(r, Outcome::Ran(_)), "{what}: {r:?}");
                }
            }
        }
    }
}

#[test]
fn where_and_constant_powers() {
    for gpu in gpus() {
        let mut rng = Rng::new(14);
        for d in gpu
            .caps()
            .dtypes
            .clone()
            .into_iter()
            .filter(|d| d.is_float())
        {
            for p in [-4.0, -3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 2.5] {
                // where(x > 0.5, x ** p, -x)
                let mut e = Expr::builder(1);
                let x = e.push(ExprNode::Input(0), d);
                let c = e.push(ExprNode::Const(Scalar::F64(p).cast(d)), d);
                let half = e.push(ExprNode::Const(Scalar::F64(0.5).cast(d)), d);
                let cond = e.push(ExprNode::Binary(BinaryOp::Gt, x, half), DType::Bool);
                let pw = e.push(ExprNode::Binary(BinaryOp::Pow, x, c), d);
                let neg = e.push(ExprNode::Unary(UnaryOp::Neg, x), d);
                e.push(ExprNode::Where(cond, pw, neg), d);
                let input = random_host(d, &[3, 50], Domain::WithSpecials(-20.0, 20.0), &mut rng);
                // Powers 3, 4, -2, -3, -4 are computed in f64 and rounded once, as the CPU does;
                // without f64 they round at every step (within two f32 ulp).
                let widened = [-4.0, -3.0, -2.0, 3.0, 4.0].contains(&p);
                let no_f64 = !gpu.caps().dtypes.contains(&DType::F64);
                let tol = match (d, p == 2.5, widened && no_f64) {
                    (DType::F32, true, _) => POW,
                    (DType::F16, true, _) | (DType::F16, _, true) => F16_MATH,
                    (DType::F32, _, true) => Tol::Close {
                        rtol: 2.5e-7,
                        atol: 0.0,
                    },
                    _ => Tol::Exact,
                };
                let what = format!("where/pow {p} {d}");
                let r = check(&gpu, &e, &[input], &[3, 50], tol, &what, false);
                // f64 has the CPU's fast paths for -1, 0, 0.5, 1 and 2 only.
                let f64_general = d == DType::F64 && ![-1.0, 0.0, 0.5, 1.0, 2.0].contains(&p);
                let expected = if f64_general {
                    Outcome::GpuDeclined
                } else {
                    r_ran(&r)
                };
                assert_eq!(r_ran(&r), expected, "{what}");
            }
        }
    }
}

#[test]
fn fused_chain_with_mixed_dtypes() {
    for gpu in gpus() {
        let mut rng = Rng::new(15);
        // u8 wrap, i32 remainder, f16 rounding, bool logic in one kernel:
        // ((a_u8 * 7 + 3) as i32 % b_i32) as f16 * 0.3 > 1 || isnan(c_f32)
        let mut e = Expr::builder(3);
        let a = e.push(ExprNode::Input(0), DType::U8);
        let seven = e.push(ExprNode::Const(Scalar::U8(7)), DType::U8);
        let three = e.push(ExprNode::Const(Scalar::U8(3)), DType::U8);
        let m = e.push(ExprNode::Binary(BinaryOp::Mul, a, seven), DType::U8);
        let s = e.push(ExprNode::Binary(BinaryOp::Add, m, three), DType::U8);
        let si = e.push(ExprNode::Cast(s), DType::I32);
        let b = e.push(ExprNode::Input(1), DType::I32);
        let r = e.push(ExprNode::Binary(BinaryOp::Rem, si, b), DType::I32);
        let rh = e.push(ExprNode::Cast(r), DType::F16);
        let k = e.push(ExprNode::Const(Scalar::F16(h(0.3))), DType::F16);
        let p = e.push(ExprNode::Binary(BinaryOp::Mul, rh, k), DType::F16);
        let one = e.push(ExprNode::Const(Scalar::F16(h(1.0))), DType::F16);
        let gt = e.push(ExprNode::Binary(BinaryOp::Gt, p, one), DType::Bool);
        let c = e.push(ExprNode::Input(2), DType::F32);
        let nan = e.push(ExprNode::Unary(UnaryOp::IsNan, c), DType::Bool);
        e.push(ExprNode::Binary(BinaryOp::Or, gt, nan), DType::Bool);
        let inputs = [
            random_host(DType::U8, &[4, 33], Domain::Range(0.0, 256.0), &mut rng),
            random_host(DType::I32, &[33], Domain::WithSpecials(-9.0, 9.0), &mut rng),
            random_host(
                DType::F32,
                &[4, 1],
                Domain::WithSpecials(-1.0, 1.0),
                &mut rng,
            ),
        ];
        let r = check(&gpu, &e, &inputs, &[4, 33], Tol::Exact, "fused", true);
        assert_eq!(r, Outcome::Ran(0.0));
        assert!(gpu.cached_pipelines() > 0);
    }
}

#[test]
fn fused_expression_past_65535_workgroups() {
    let Some(gpu) = gpu() else { return };
    // sin(x)^2 + cos(y) * x - 3 over 2^24 + 3 f32 elements: 65537 workgroups of 256.
    let n = (1 << 24) + 3;
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), DType::F32);
    let y = e.push(ExprNode::Input(1), DType::F32);
    let s = e.push(ExprNode::Unary(UnaryOp::Sin, x), DType::F32);
    let two = e.push(ExprNode::Const(Scalar::F32(2.0)), DType::F32);
    let s2 = e.push(ExprNode::Binary(BinaryOp::Pow, s, two), DType::F32);
    let c = e.push(ExprNode::Unary(UnaryOp::Cos, y), DType::F32);
    let cx = e.push(ExprNode::Binary(BinaryOp::Mul, c, x), DType::F32);
    let sum = e.push(ExprNode::Binary(BinaryOp::Add, s2, cx), DType::F32);
    let three = e.push(ExprNode::Const(Scalar::F32(3.0)), DType::F32);
    e.push(ExprNode::Binary(BinaryOp::Sub, sum, three), DType::F32);
    let mut rng = Rng::new(16);
    let xs = random_host(DType::F32, &[n], Domain::Range(-4.0, 4.0), &mut rng);
    let ys = random_host(DType::F32, &[n], Domain::Range(-4.0, 4.0), &mut rng);
    let tol = Tol::Close {
        rtol: 1e-5,
        atol: 1e-5,
    };
    let r = check(&gpu, &e, &[xs, ys], &[n], tol, "big fused", true);
    let Outcome::Ran(worst) = r else {
        panic!("big fused: {r:?}");
    };
    eprintln!("2^24+3 fused: largest |gpu - cpu| / max(|cpu|, 1): {worst:e}");
}

#[test]
fn malformed_expressions_and_shapes_are_errors() {
    let Some(gpu) = gpu() else { return };
    let e = Expr::input(0, DType::F32, 1);
    let k = Kernel::Elementwise { expr: e };
    let x = HostArray::zeros(DType::F32, &[3]);
    let bx = tilework_core::Buffer::Host(x);
    // Input does not broadcast to the output.
    assert!(gpu.launch(&k, &[&bx], &[spec(DType::F32, &[4])]).is_err());
    // Wrong number of inputs.
    assert!(gpu.launch(&k, &[], &[spec(DType::F32, &[3])]).is_err());
    // Input dtype differs from the expression's.
    let bi = tilework_core::Buffer::Host(HostArray::zeros(DType::I32, &[3]));
    assert!(gpu.launch(&k, &[&bi], &[spec(DType::F32, &[3])]).is_err());
    assert_eq!(gpu.live_buffers(), 0, "failed launches leak nothing");
}

/// `Ran(_)` with the difference dropped, for comparisons.
fn r_ran(r: &Outcome) -> Outcome {
    match r {
        Outcome::Ran(_) => Outcome::Ran(0.0),
        Outcome::BothReject => Outcome::BothReject,
        Outcome::GpuDeclined => Outcome::GpuDeclined,
    }
}

#[test]
fn rounding_ties_and_signed_zeros_match_the_cpu_bit_for_bit() {
    // Half-way cases go to even and negative results keep their sign (-0.3 rounds to -0), as
    // NumPy and the CPU do; lavapipe's own f64 `round` gets both wrong.
    let values = vec![
        -2.5,
        -1.5,
        -0.5,
        -0.3,
        -0.0,
        0.0,
        0.3,
        0.5,
        1.5,
        2.5,
        3.5,
        3.7,
        -3.7,
        4503599627370495.5,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    for gpu in gpus() {
        let float_dtypes = [DType::F16, DType::F32, DType::F64];
        for d in float_dtypes
            .into_iter()
            .filter(|d| gpu.caps().dtypes.contains(d))
        {
            let x = HostArray::from_vec(values.clone(), &[values.len()])
                .expect("shape")
                .cast(d);
            for op in [UnaryOp::Round, UnaryOp::Floor, UnaryOp::Ceil] {
                let (e, _) = unary(op, d);
                let what = format!("{op:?} {d}");
                let outcome = check(
                    &gpu,
                    &e,
                    std::slice::from_ref(&x),
                    &[values.len()],
                    Tol::Exact,
                    &what,
                    false,
                );
                assert!(matches!(outcome, Outcome::Ran(_)), "{what}: {outcome:?}");
            }
        }
    }
}
