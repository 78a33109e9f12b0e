//! `x ** c` for a constant float exponent: the fast paths NumPy also takes, so that
//! `x.pow(2.0)` is a multiply instead of a libm `powf` call per element (which does not
//! vectorize and costs more than a vectorized sin).
//!
//! The evaluator asks [`ConstPow::of`] when the exponent operand is a `Const` node. Results are
//! those of a correctly rounded `pow` (what std's `powf`/`pow` give in practice): `x * x` and
//! `1 / x` are single roundings, f32 powers up to 4 are computed in f64 (`x^2` exactly) and
//! rounded once more to f32, which can differ from the correctly rounded value only when the
//! f64 result lies within 2^-53 relative of an f32 rounding boundary. `x ** 0.5` is
//! `sqrt(x)` except `(-0) ** 0.5 = +0` and `(-inf) ** 0.5 = +inf`, as C's `pow`.

use crate::num::{ColMut, ColRef, map1};
use half::slice::HalfFloatSliceExt;
use tilework_core::{Error, Result, Scalar};

/// An exponent with a fast path.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConstPow {
    /// A small integer: -4..=4 for f16/f32, -1..=2 for f64 (where a product of more than two
    /// factors would round twice).
    Int(i32),
    /// 0.5: a square root.
    Half,
}

impl ConstPow {
    /// The fast path for exponent `c` on data of `c`'s dtype, if there is one (floats only:
    /// integer powers keep their exact wrapping loop).
    pub(crate) fn of(c: Scalar) -> Option<ConstPow> {
        let max = match c {
            Scalar::F16(_) | Scalar::F32(_) => 4,
            Scalar::F64(_) => 2,
            _ => return None,
        };
        let v = c.to_f64();
        if v == 0.5 {
            return Some(ConstPow::Half);
        }
        let n = v as i32;
        let min = if max == 4 { -4 } else { -1 };
        (f64::from(n) == v && (min..=max).contains(&n)).then_some(ConstPow::Int(n))
    }
}

/// `out = x ** p`; `x` and `out` have the same float dtype.
pub(crate) fn pow_const(p: ConstPow, x: ColRef<'_>, out: ColMut<'_>) -> Result<()> {
    match (x, out) {
        (ColRef::F32(x), ColMut::F32(o)) => pow_f32(p, x, o),
        (ColRef::F64(x), ColMut::F64(o)) => pow_f64(p, x, o),
        (ColRef::F16(x), ColMut::F16(o)) => {
            // f16 computes in f32 and rounds back, like every other f16 op.
            const TILE: usize = 256;
            let (mut a, mut b) = ([0f32; TILE], [0f32; TILE]);
            for (x, o) in x.chunks(TILE).zip(o.chunks_mut(TILE)) {
                let n = x.len().min(o.len());
                x[..n].convert_to_f32_slice(&mut a[..n]);
                pow_f32(p, &a[..n], &mut b[..n]);
                o[..n].convert_from_f32_slice(&b[..n]);
            }
        }
        (x, o) => {
            return Err(Error::Device(format!(
                "elementwise: power of {} into {}",
                x.dtype(),
                o.dtype()
            )));
        }
    }
    Ok(())
}

fn pow_f32(p: ConstPow, x: &[f32], o: &mut [f32]) {
    let wide = |f: fn(f64) -> f64| move |v: f32| f(f64::from(v)) as f32;
    match p {
        ConstPow::Half => map1(x, o, |v| {
            if v == f32::NEG_INFINITY {
                -v
            } else {
                v.sqrt() + 0.0
            }
        }),
        ConstPow::Int(0) => o.fill(1.0),
        ConstPow::Int(1) => map1(x, o, |v| v),
        ConstPow::Int(2) => map1(x, o, |v| v * v),
        ConstPow::Int(-1) => map1(x, o, |v| 1.0 / v),
        ConstPow::Int(3) => map1(x, o, wide(|v| v * v * v)),
        ConstPow::Int(4) => map1(x, o, wide(|v| (v * v) * (v * v))),
        ConstPow::Int(-2) => map1(x, o, wide(|v| 1.0 / (v * v))),
        ConstPow::Int(-3) => map1(x, o, wide(|v| 1.0 / (v * v * v))),
        ConstPow::Int(n) => {
            debug_assert_eq!(n, -4, "ConstPow::of gives -4..=4 for f32");
            map1(x, o, wide(|v| 1.0 / ((v * v) * (v * v))));
        }
    }
}

fn pow_f64(p: ConstPow, x: &[f64], o: &mut [f64]) {
    match p {
        ConstPow::Half => map1(x, o, |v| {
            if v == f64::NEG_INFINITY {
                -v
            } else {
                v.sqrt() + 0.0
            }
        }),
        ConstPow::Int(0) => o.fill(1.0),
        ConstPow::Int(1) => map1(x, o, |v| v),
        ConstPow::Int(2) => map1(x, o, |v| v * v),
        ConstPow::Int(n) => {
            debug_assert_eq!(n, -1, "ConstPow::of gives -1..=2 for f64");
            map1(x, o, |v| 1.0 / v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;
    use tilework_core::DType;

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    const SAMPLES: [f64; 16] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.5,
        3.0,
        1e-3,
        -7.25,
        1e30,
        -1e-30,
        1e-310,
        1e200,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];

    #[test]
    fn constant_exponents_match_pow() {
        let exps = [-4.0, -3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0];
        for e in exps {
            for dtype in [DType::F16, DType::F32, DType::F64] {
                let Some(p) = ConstPow::of(Scalar::F64(e).cast(dtype)) else {
                    assert!(dtype == DType::F64 && !(-1.0..=2.0).contains(&e));
                    continue;
                };
                for &x in &SAMPLES {
                    let got = match dtype {
                        DType::F32 => {
                            let mut o = [0f32];
                            pow_const(p, ColRef::F32(&[x as f32]), ColMut::F32(&mut o)).unwrap();
                            let want = f64::from((x as f32).powf(e as f32));
                            (f64::from(o[0]), want)
                        }
                        DType::F16 => {
                            let (h, mut o) = (f16::from_f64(x), [f16::ZERO]);
                            pow_const(p, ColRef::F16(&[h]), ColMut::F16(&mut o)).unwrap();
                            let want = f16::from_f32(h.to_f32().powf(e as f32)).to_f64();
                            (o[0].to_f64(), want)
                        }
                        _ => {
                            let mut o = [0f64];
                            pow_const(p, ColRef::F64(&[x]), ColMut::F64(&mut o)).unwrap();
                            (o[0], x.powf(e))
                        }
                    };
                    assert!(
                        same(got.0, got.1),
                        "{dtype} {x:e} ** {e} = {:e}, want {:e}",
                        got.0,
                        got.1
                    );
                }
            }
        }
        assert_eq!(ConstPow::of(Scalar::F32(2.5)), None);
        assert_eq!(ConstPow::of(Scalar::F32(5.0)), None);
        assert_eq!(ConstPow::of(Scalar::I32(2)), None);
    }
}
