use super::*;
use crate::testutil::same_f64;

const FLOAT_SAMPLES: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.5,
    -2.5,
    3.5,
    0.5,
    -7.25,
    1e30,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    123.456,
];

fn run_unary<T: ElemOps>(op: UnaryOp, x: &[T]) -> Result<Vec<T>> {
    let mut out = vec![T::default(); x.len()];
    unary(op, T::wrap_ref(x), T::wrap_mut(&mut out))?;
    Ok(out)
}

fn run_binary<T: ElemOps, U: Elem>(op: BinaryOp, a: &[T], b: &[T]) -> Result<Vec<U>> {
    let mut out = vec![U::default(); a.len()];
    binary(op, T::wrap_ref(a), T::wrap_ref(b), U::wrap_mut(&mut out))?;
    Ok(out)
}

/// Every pair of the samples, as two columns.
fn pairs(samples: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &x in samples {
        for &y in samples {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

/// NumPy's float remainder, written the long way.
fn np_rem(a: f64, b: f64) -> f64 {
    if b == 0.0 || a.is_infinite() || a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if b.is_infinite() {
        return if a == 0.0 {
            0.0f64.copysign(b)
        } else if (a > 0.0) == (b > 0.0) {
            a
        } else {
            b
        };
    }
    // Euclidean remainder in [0, |b|), moved to the divisor's sign.
    let r = a.rem_euclid(b);
    if r == 0.0 {
        0.0f64.copysign(b)
    } else if b < 0.0 {
        r + b
    } else {
        r
    }
}

#[test]
fn float_unary_ops_match_std() {
    type Reference = fn(f64) -> f64;
    let ops: [(UnaryOp, Reference); 12] = [
        (UnaryOp::Neg, |v| -v),
        (UnaryOp::Abs, f64::abs),
        (UnaryOp::Sqrt, f64::sqrt),
        (UnaryOp::Exp, f64::exp),
        (UnaryOp::Log, f64::ln),
        (UnaryOp::Sin, f64::sin),
        (UnaryOp::Cos, f64::cos),
        (UnaryOp::Tan, f64::tan),
        (UnaryOp::Tanh, f64::tanh),
        (UnaryOp::Floor, f64::floor),
        (UnaryOp::Ceil, f64::ceil),
        (UnaryOp::Round, f64::round_ties_even),
    ];
    let x32: Vec<f32> = FLOAT_SAMPLES.iter().map(|&v| v as f32).collect();
    for (op, f) in ops {
        let got = run_unary(op, &FLOAT_SAMPLES).unwrap();
        // The vectorized transcendental functions (crate::vmath) are within 2 ulp of std's.
        let ulps = if op.float_only() && op != UnaryOp::Sqrt {
            2
        } else {
            0
        };
        for (g, &x) in got.iter().zip(&FLOAT_SAMPLES) {
            let want = f(x);
            let near = g.to_bits().abs_diff(want.to_bits()) <= ulps;
            assert!(same_f64(*g, want) || near, "{op:?}({x}) = {g}, want {want}");
        }
        let got = run_unary(op, &x32).unwrap();
        for (g, &x) in got.iter().zip(&x32) {
            let want = f(x as f64) as f32;
            // f32 math may differ from rounded f64 math by an ulp.
            let ok = same_f64(*g as f64, want as f64) || (g - want).abs() <= want.abs() * 1e-6;
            assert!(ok, "{op:?}({x}) = {g}, want {want}");
        }
    }
    // Half to even.
    assert_eq!(
        run_unary(UnaryOp::Round, &[0.5f32, 1.5, 2.5, -0.5, -1.5]).unwrap(),
        vec![0.0, 2.0, 2.0, -0.0, -2.0]
    );
}

#[test]
fn float_binary_ops_follow_numpy() {
    let (a, b) = pairs(&FLOAT_SAMPLES);
    let check = |op: BinaryOp, f: fn(f64, f64) -> f64| {
        let got: Vec<f64> = run_binary(op, &a, &b).unwrap();
        for i in 0..a.len() {
            assert!(
                same_f64(got[i], f(a[i], b[i])),
                "{op:?}({}, {}) = {}",
                a[i],
                b[i],
                got[i]
            );
        }
    };
    check(BinaryOp::Add, |x, y| x + y);
    check(BinaryOp::Sub, |x, y| x - y);
    check(BinaryOp::Mul, |x, y| x * y);
    check(BinaryOp::Div, |x, y| x / y);
    check(BinaryOp::Pow, f64::powf);
    check(BinaryOp::Rem, np_rem);
    check(BinaryOp::Maximum, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if x >= y {
            x
        } else {
            y
        }
    });
    check(BinaryOp::Minimum, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if x <= y {
            x
        } else {
            y
        }
    });
    // Spot checks against values printed by NumPy.
    let r: Vec<f32> = run_binary(
        BinaryOp::Rem,
        &[5.5f32, -5.5, 4.0, -1.0, 1.0],
        &[-2.0, 2.0, -2.0, f32::INFINITY, f32::INFINITY],
    )
    .unwrap();
    assert_eq!(r[..3], [-0.5, 0.5, -0.0]);
    assert!(r[2].is_sign_negative());
    assert_eq!(r[3..], [f32::INFINITY, 1.0]);
}

#[test]
fn comparisons_handle_nan() {
    let (a, b) = pairs(&FLOAT_SAMPLES);
    type Predicate = fn(&f64, &f64) -> bool;
    let cmp: [(BinaryOp, Predicate); 6] = [
        (BinaryOp::Eq, f64::eq),
        (BinaryOp::Ne, f64::ne),
        (BinaryOp::Lt, f64::lt),
        (BinaryOp::Le, f64::le),
        (BinaryOp::Gt, f64::gt),
        (BinaryOp::Ge, f64::ge),
    ];
    let a16: Vec<f16> = a.iter().map(|&v| f16::from_f64(v)).collect();
    let b16: Vec<f16> = b.iter().map(|&v| f16::from_f64(v)).collect();
    for (op, f) in cmp {
        let got: Vec<bool> = run_binary(op, &a, &b).unwrap();
        let got16: Vec<bool> = run_binary(op, &a16, &b16).unwrap();
        for i in 0..a.len() {
            assert_eq!(got[i], f(&a[i], &b[i]), "{op:?}({}, {})", a[i], b[i]);
            assert_eq!(
                got16[i],
                f(&a16[i].to_f64(), &b16[i].to_f64()),
                "f16 {op:?}({}, {})",
                a[i],
                b[i]
            );
        }
    }
    let got: Vec<bool> = run_binary(BinaryOp::Lt, &[1i32, 5, -3], &[2, 5, -4]).unwrap();
    assert_eq!(got, vec![true, false, false]);
}

#[test]
fn integer_ops_wrap_and_follow_numpy() {
    let a = [7i32, -7, 7, -7, 5, i32::MIN, i32::MAX, 0];
    let b = [3i32, 3, -3, -3, 0, -1, 2, -5];
    let rem: Vec<i32> = run_binary(BinaryOp::Rem, &a, &b).unwrap();
    assert_eq!(rem, vec![1, 2, -2, -1, 0, 0, 1, 0]);
    let add: Vec<i32> = run_binary(BinaryOp::Add, &a, &b).unwrap();
    assert_eq!(add[6], i32::MIN + 1);
    let mul: Vec<i32> = run_binary(BinaryOp::Mul, &a, &b).unwrap();
    assert_eq!(mul[5], i32::MIN);
    let max: Vec<i32> = run_binary(BinaryOp::Maximum, &a, &b).unwrap();
    assert_eq!(max, vec![7, 3, 7, -3, 5, -1, i32::MAX, 0]);
    let pow: Vec<i64> = run_binary(
        BinaryOp::Pow,
        &[2i64, 3, 1, -1, -1, 0, -2, 2],
        &[10, -1, -5, -3, -2, 0, 3, 64],
    )
    .unwrap();
    assert_eq!(pow, vec![1024, 0, 1, -1, 1, 1, -8, 0]);
    let neg = run_unary(UnaryOp::Neg, &[i32::MIN, 5, 0]).unwrap();
    assert_eq!(neg, vec![i32::MIN, -5, 0]);
    assert_eq!(
        run_unary(UnaryOp::Abs, &[i64::MIN, -3]).unwrap(),
        vec![i64::MIN, 3]
    );
    assert_eq!(run_unary(UnaryOp::Round, &[3i32, -4]).unwrap(), vec![3, -4]);
    // Unsigned: negation wraps, remainder by zero is zero.
    assert_eq!(
        run_unary(UnaryOp::Neg, &[1u8, 0, 200]).unwrap(),
        vec![255, 0, 56]
    );
    let urem: Vec<u32> = run_binary(BinaryOp::Rem, &[7u32, 7, 0], &[0, 4, 3]).unwrap();
    assert_eq!(urem, vec![0, 3, 0]);
    let upow: Vec<u8> = run_binary(BinaryOp::Pow, &[2u8, 3, 0], &[9, 5, 0]).unwrap();
    assert_eq!(upow, vec![0, 243, 1]);
    let sub: Vec<u8> = run_binary(BinaryOp::Sub, &[1u8], &[2]).unwrap();
    assert_eq!(sub, vec![255]);
}

#[test]
fn predicates_on_every_dtype() {
    let mut out = vec![false; 4];
    unary(
        UnaryOp::IsNan,
        ColRef::F32(&[1.0, f32::NAN, f32::INFINITY, -0.0]),
        ColMut::Bool(&mut out),
    )
    .unwrap();
    assert_eq!(out, vec![false, true, false, false]);
    unary(
        UnaryOp::IsFinite,
        ColRef::F64(&[1.0, f64::NAN, f64::INFINITY, -0.0]),
        ColMut::Bool(&mut out),
    )
    .unwrap();
    assert_eq!(out, vec![true, false, false, true]);
    unary(
        UnaryOp::IsNan,
        ColRef::I32(&[1, 2, 3, 4]),
        ColMut::Bool(&mut out),
    )
    .unwrap();
    assert_eq!(out, vec![false; 4]);
    unary(
        UnaryOp::IsFinite,
        ColRef::U8(&[1, 2, 3, 4]),
        ColMut::Bool(&mut out),
    )
    .unwrap();
    assert_eq!(out, vec![true; 4]);
    let h = [f16::NAN, f16::INFINITY, f16::ONE, f16::ZERO];
    unary(UnaryOp::IsFinite, ColRef::F16(&h), ColMut::Bool(&mut out)).unwrap();
    assert_eq!(out, vec![false, false, true, true]);
}

#[test]
fn f16_computes_in_f32_and_rounds_each_node() {
    let xs: Vec<f16> = (0..600)
        .map(|i| f16::from_f32(i as f32 * 0.37 - 50.0))
        .collect();
    let ys: Vec<f16> = (0..600)
        .map(|i| f16::from_f32(i as f32 * -0.11 + 3.0))
        .collect();
    for op in [
        BinaryOp::Add,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Pow,
        BinaryOp::Maximum,
    ] {
        let got: Vec<f16> = run_binary(op, &xs, &ys).unwrap();
        let xf: Vec<f32> = xs.iter().map(|v| v.to_f32()).collect();
        let yf: Vec<f32> = ys.iter().map(|v| v.to_f32()).collect();
        let want: Vec<f32> = run_binary(op, &xf, &yf).unwrap();
        for i in 0..xs.len() {
            assert_eq!(
                got[i].to_bits(),
                f16::from_f32(want[i]).to_bits(),
                "{op:?} at {i}"
            );
        }
    }
    let got = run_unary(UnaryOp::Sin, &xs).unwrap();
    let xf: Vec<f32> = xs.iter().map(|v| v.to_f32()).collect();
    let want: Vec<f32> = run_unary(UnaryOp::Sin, &xf).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.to_bits(), f16::from_f32(*w).to_bits());
    }
}

#[test]
fn bool_logic_and_select() {
    let a = [true, true, false, false];
    let b = [true, false, true, false];
    let and: Vec<bool> = run_binary(BinaryOp::And, &a, &b).unwrap();
    let or: Vec<bool> = run_binary(BinaryOp::Or, &a, &b).unwrap();
    let add: Vec<bool> = run_binary(BinaryOp::Add, &a, &b).unwrap();
    assert_eq!(and, vec![true, false, false, false]);
    assert_eq!(or, vec![true, true, true, false]);
    assert_eq!(add, or);
    assert_eq!(
        run_unary(UnaryOp::Not, &a).unwrap(),
        vec![false, false, true, true]
    );
    let mut out = [0i64; 4];
    select(
        ColRef::Bool(&b),
        ColRef::I64(&[1, 2, 3, 4]),
        ColRef::I64(&[-1, -2, -3, -4]),
        ColMut::I64(&mut out),
    )
    .unwrap();
    assert_eq!(out, [1, -2, 3, -4]);
}

#[test]
fn unsupported_combinations_are_errors() {
    assert!(run_unary(UnaryOp::Sqrt, &[4i32]).is_err());
    assert!(run_unary(UnaryOp::Not, &[1.0f32]).is_err());
    assert!(run_unary(UnaryOp::Neg, &[true]).is_err());
    assert!(run_binary::<i32, i32>(BinaryOp::Div, &[1], &[2]).is_err());
    assert!(run_binary::<bool, bool>(BinaryOp::Sub, &[true], &[true]).is_err());
    assert!(run_binary::<f32, f32>(BinaryOp::And, &[1.0], &[2.0]).is_err());
    // Mismatched operand dtypes and short operands are errors, not panics.
    let mut out = [0f32; 2];
    assert!(
        binary(
            BinaryOp::Add,
            ColRef::F32(&[1.0, 2.0]),
            ColRef::F64(&[1.0, 2.0]),
            ColMut::F32(&mut out)
        )
        .is_err()
    );
    assert!(
        binary(
            BinaryOp::Add,
            ColRef::F32(&[1.0]),
            ColRef::F32(&[1.0, 2.0]),
            ColMut::F32(&mut out)
        )
        .is_err()
    );
    let mut b = [false; 2];
    assert!(
        select(
            ColRef::F32(&[1.0, 2.0]),
            ColRef::F32(&[1.0, 2.0]),
            ColRef::F32(&[1.0, 2.0]),
            ColMut::Bool(&mut b)
        )
        .is_err()
    );
}
