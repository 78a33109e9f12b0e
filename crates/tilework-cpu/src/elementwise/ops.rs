//! The per-(op, dtype) loops of the elementwise evaluator.
//!
//! Every op is one monomorphized loop over slices ([`map1`] / [`map2`] with a closure), so the
//! compiler sees a plain `for` over zipped slices: no bounds checks, no per-element dispatch. The
//! dispatch on `(op, dtype)` happens once per block in [`unary`], [`binary`] and friends.
//!
//! Semantics follow NumPy: integer arithmetic wraps, integer `%` takes the divisor's sign with
//! `x % 0 == 0`, float `%` is the fmod-adjusted remainder, `maximum`/`minimum` propagate NaN,
//! `round` is half-to-even, and f16 computes in f32 and rounds back at every node.
//! exp/log/sin/cos/tan/tanh are the vectorized kernels of [`crate::vmath`] (at most 1.5 ulp
//! from the exact result in f32, 1.9 in f64; std's libm is not bit-identical to them).

use crate::num::{ColMut, ColRef, Elem, map1, map2, unsupported};
use crate::vmath::{Func, VecMath};
use half::f16;
use half::slice::HalfFloatSliceExt;
use tilework_core::{BinaryOp, DType, Element, Error, Result, UnaryOp, with_dtype};

/// Per-dtype implementations of the elementwise ops.
pub(crate) trait ElemOps: Elem {
    /// A unary op whose result has the operand's dtype.
    fn unary(op: UnaryOp, x: &[Self], out: &mut [Self]) -> Result<()>;
    /// An arithmetic or logical binary op whose operands and result share this dtype.
    fn binary(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [Self]) -> Result<()>;
    /// A comparison (result bool).
    fn compare(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [bool]) -> Result<()> {
        match op {
            BinaryOp::Eq => map2(a, b, out, |x, y| x == y),
            BinaryOp::Ne => map2(a, b, out, |x, y| x != y),
            BinaryOp::Lt => map2(a, b, out, |x, y| x < y),
            BinaryOp::Le => map2(a, b, out, |x, y| x <= y),
            BinaryOp::Gt => map2(a, b, out, |x, y| x > y),
            BinaryOp::Ge => map2(a, b, out, |x, y| x >= y),
            _ => return Err(unsupported(op.name(), Self::DTYPE)),
        }
        Ok(())
    }
    /// `isnan` (false for non-floats).
    fn isnan(x: &[Self], out: &mut [bool]) {
        map1(x, out, |v| v.is_nan());
    }
    /// `isfinite` (true for non-floats).
    fn isfinite(x: &[Self], out: &mut [bool]);
}

/// Wrapping integer helpers with NumPy's `%` and `**`.
pub(crate) trait IntOps: Copy + Ord {
    /// Wrapping `+`.
    fn wadd(self, o: Self) -> Self;
    /// Wrapping `-`.
    fn wsub(self, o: Self) -> Self;
    /// Wrapping `*`.
    fn wmul(self, o: Self) -> Self;
    /// Wrapping negation (unsigned wraps around, as NumPy).
    fn wneg(self) -> Self;
    /// Wrapping absolute value (`MIN.abs() == MIN`, as NumPy).
    fn wabs(self) -> Self;
    /// NumPy remainder: sign of the divisor, `x % 0 == 0`.
    fn np_rem(self, o: Self) -> Self;
    /// NumPy power with wrapping; a negative exponent gives 0 unless the base is 1 or -1.
    fn np_pow(self, o: Self) -> Self;
}

macro_rules! int_ops {
    ($signed:tt: $($t:ty),*) => {$(
        impl IntOps for $t {
            #[inline(always)] fn wadd(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn wsub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn wmul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn wneg(self) -> Self { self.wrapping_neg() }
            #[inline(always)] fn wabs(self) -> Self { int_ops!(@abs $signed, self) }
            #[inline(always)]
            fn np_rem(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                int_ops!(@fix $signed, r, o)
            }
            #[inline(always)]
            fn np_pow(self, o: Self) -> Self {
                int_ops!(@neg_exp $signed, self, o);
                let (mut base, mut exp, mut acc) = (self, o as u64, 1 as $t);
                while exp > 0 {
                    if exp & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    exp >>= 1;
                }
                acc
            }
        }
    )*};
    (@abs signed, $x:expr) => { $x.wrapping_abs() };
    (@abs unsigned, $x:expr) => { $x };
    (@fix signed, $r:expr, $o:expr) => {
        if $r != 0 && (($r < 0) != ($o < 0)) { $r.wrapping_add($o) } else { $r }
    };
    (@fix unsigned, $r:expr, $o:expr) => { $r };
    (@neg_exp signed, $x:expr, $o:expr) => {
        if $o < 0 {
            return match $x {
                1 => 1,
                -1 => if ($o & 1) == 0 { 1 } else { -1 },
                _ => 0,
            };
        }
    };
    (@neg_exp unsigned, $x:expr, $o:expr) => {};
}
int_ops!(signed: i32, i64);
int_ops!(unsigned: u8, u32);

macro_rules! int_elem_ops {
    ($($t:ty),*) => {$(
        impl ElemOps for $t {
            fn unary(op: UnaryOp, x: &[Self], out: &mut [Self]) -> Result<()> {
                match op {
                    UnaryOp::Neg => map1(x, out, IntOps::wneg),
                    UnaryOp::Abs => map1(x, out, IntOps::wabs),
                    // Rounding an integer is the identity (NumPy keeps the dtype).
                    UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => out.copy_from_slice(x),
                    _ => return Err(unsupported(op.name(), Self::DTYPE)),
                }
                Ok(())
            }
            fn binary(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [Self]) -> Result<()> {
                match op {
                    BinaryOp::Add => map2(a, b, out, IntOps::wadd),
                    BinaryOp::Sub => map2(a, b, out, IntOps::wsub),
                    BinaryOp::Mul => map2(a, b, out, IntOps::wmul),
                    BinaryOp::Rem => map2(a, b, out, IntOps::np_rem),
                    BinaryOp::Pow => map2(a, b, out, IntOps::np_pow),
                    BinaryOp::Maximum => map2(a, b, out, Ord::max),
                    BinaryOp::Minimum => map2(a, b, out, Ord::min),
                    _ => return Err(unsupported(op.name(), Self::DTYPE)),
                }
                Ok(())
            }
            fn isfinite(x: &[Self], out: &mut [bool]) {
                debug_assert_eq!(x.len(), out.len());
                out.fill(true);
            }
        }
    )*};
}
int_elem_ops!(u8, i32, i64, u32);

/// NumPy's float remainder: `fmod` moved to the divisor's sign; zero takes the divisor's sign.
macro_rules! float_rem {
    ($t:ty) => {
        |a: $t, b: $t| -> $t {
            let m = a % b;
            if b == 0.0 {
                m
            } else if m != 0.0 {
                if (b < 0.0) != (m < 0.0) { m + b } else { m }
            } else {
                (0.0 as $t).copysign(b)
            }
        }
    };
}

macro_rules! float_elem_ops {
    ($($t:ident),*) => {$(
        impl ElemOps for $t {
            fn unary(op: UnaryOp, x: &[Self], out: &mut [Self]) -> Result<()> {
                match op {
                    UnaryOp::Neg => map1(x, out, |v| -v),
                    UnaryOp::Abs => map1(x, out, $t::abs),
                    UnaryOp::Sqrt => map1(x, out, $t::sqrt),
                    // Vectorized kernels (crate::vmath) instead of one libm call per element.
                    UnaryOp::Exp => $t::eval(Func::Exp, x, out),
                    UnaryOp::Log => $t::eval(Func::Log, x, out),
                    UnaryOp::Sin => $t::eval(Func::Sin, x, out),
                    UnaryOp::Cos => $t::eval(Func::Cos, x, out),
                    UnaryOp::Tan => $t::eval(Func::Tan, x, out),
                    UnaryOp::Tanh => $t::eval(Func::Tanh, x, out),
                    UnaryOp::Floor => map1(x, out, $t::floor),
                    UnaryOp::Ceil => map1(x, out, $t::ceil),
                    UnaryOp::Round => map1(x, out, $t::round_ties_even),
                    UnaryOp::Not | UnaryOp::IsNan | UnaryOp::IsFinite => {
                        return Err(unsupported(op.name(), Self::DTYPE))
                    }
                }
                Ok(())
            }
            fn binary(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [Self]) -> Result<()> {
                match op {
                    BinaryOp::Add => map2(a, b, out, |x, y| x + y),
                    BinaryOp::Sub => map2(a, b, out, |x, y| x - y),
                    BinaryOp::Mul => map2(a, b, out, |x, y| x * y),
                    BinaryOp::Div => map2(a, b, out, |x, y| x / y),
                    BinaryOp::Rem => map2(a, b, out, float_rem!($t)),
                    BinaryOp::Pow => map2(a, b, out, $t::powf),
                    // NumPy's loops: `(a >= b || isnan(a)) ? a : b`, so NaN in either propagates.
                    BinaryOp::Maximum => {
                        map2(a, b, out, |x, y| if x >= y || x.is_nan() { x } else { y })
                    }
                    BinaryOp::Minimum => {
                        map2(a, b, out, |x, y| if x <= y || x.is_nan() { x } else { y })
                    }
                    _ => return Err(unsupported(op.name(), Self::DTYPE)),
                }
                Ok(())
            }
            fn isfinite(x: &[Self], out: &mut [bool]) {
                map1(x, out, $t::is_finite);
            }
        }
    )*};
}
float_elem_ops!(f32, f64);

/// f16 lanes are widened to f32 in stack tiles of this many elements.
const F16_TILE: usize = 256;

/// Runs an f32 kernel on f16 data: widen each tile, compute, round back to f16.
fn via_f32(
    inputs: [&[f16]; 2],
    arity: usize,
    out: &mut [f16],
    mut kernel: impl FnMut(&[f32], &[f32], &mut [f32]) -> Result<()>,
) -> Result<()> {
    let mut a = [0f32; F16_TILE];
    let mut b = [0f32; F16_TILE];
    let mut o = [0f32; F16_TILE];
    for (t, out_tile) in out.chunks_mut(F16_TILE).enumerate() {
        let n = out_tile.len();
        let lo = t * F16_TILE;
        for (k, buf) in [&mut a, &mut b].into_iter().enumerate().take(arity) {
            let src = inputs[k].get(lo..lo + n).ok_or_else(short_operand)?;
            src.convert_to_f32_slice(&mut buf[..n]);
        }
        kernel(&a[..n], &b[..n], &mut o[..n])?;
        out_tile.convert_from_f32_slice(&o[..n]);
    }
    Ok(())
}

fn short_operand() -> Error {
    Error::Device("elementwise: operand shorter than the block".into())
}

impl ElemOps for f16 {
    fn unary(op: UnaryOp, x: &[Self], out: &mut [Self]) -> Result<()> {
        via_f32([x, x], 1, out, |a, _, o| f32::unary(op, a, o))
    }
    fn binary(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [Self]) -> Result<()> {
        via_f32([a, b], 2, out, |x, y, o| f32::binary(op, x, y, o))
    }
    fn isfinite(x: &[Self], out: &mut [bool]) {
        map1(x, out, f16::is_finite);
    }
}

impl ElemOps for bool {
    fn unary(op: UnaryOp, x: &[Self], out: &mut [Self]) -> Result<()> {
        match op {
            UnaryOp::Not => map1(x, out, |v| !v),
            UnaryOp::Abs => out.copy_from_slice(x),
            _ => return Err(unsupported(op.name(), DType::Bool)),
        }
        Ok(())
    }
    fn binary(op: BinaryOp, a: &[Self], b: &[Self], out: &mut [Self]) -> Result<()> {
        // NumPy's bool loops: add/maximum are "or", multiply/minimum are "and".
        match op {
            BinaryOp::And | BinaryOp::Mul | BinaryOp::Minimum => map2(a, b, out, |x, y| x & y),
            BinaryOp::Or | BinaryOp::Add | BinaryOp::Maximum => map2(a, b, out, |x, y| x | y),
            _ => return Err(unsupported(op.name(), DType::Bool)),
        }
        Ok(())
    }
    fn isfinite(x: &[Self], out: &mut [bool]) {
        debug_assert_eq!(x.len(), out.len());
        out.fill(true);
    }
}

fn mismatch(what: &str, got: DType, want: DType) -> Error {
    Error::Device(format!(
        "elementwise: {what} has dtype {got}, expected {want}"
    ))
}

fn typed<'a, T: Elem>(col: ColRef<'a>, what: &str) -> Result<&'a [T]> {
    let dtype = col.dtype();
    T::col_ref(col).ok_or_else(|| mismatch(what, dtype, T::DTYPE))
}

fn typed_mut<'a, T: Elem>(col: ColMut<'a>) -> Result<&'a mut [T]> {
    let dtype = col.dtype();
    T::col_mut(col).ok_or_else(|| mismatch("result", dtype, T::DTYPE))
}

fn check_len(n: usize, out: usize) -> Result<()> {
    if n < out {
        Err(short_operand())
    } else {
        Ok(())
    }
}

/// `out = op(x)`; the result dtype is `out`'s.
pub(crate) fn unary(op: UnaryOp, x: ColRef<'_>, out: ColMut<'_>) -> Result<()> {
    check_len(x.len(), out.len())?;
    match op {
        UnaryOp::IsNan | UnaryOp::IsFinite => {
            let o = typed_mut::<bool>(out)?;
            with_dtype!(x.dtype(), T => {
                let x = typed::<T>(x, "operand")?;
                if op == UnaryOp::IsNan { T::isnan(x, o) } else { T::isfinite(x, o) }
            });
            Ok(())
        }
        _ => with_dtype!(out.dtype(), T => {
            T::unary(op, typed::<T>(x, "operand")?, typed_mut::<T>(out)?)
        }),
    }
}

/// `out = op(a, b)`; comparisons give bool, everything else the operands' dtype.
pub(crate) fn binary(op: BinaryOp, a: ColRef<'_>, b: ColRef<'_>, out: ColMut<'_>) -> Result<()> {
    check_len(a.len().min(b.len()), out.len())?;
    if op.is_comparison() {
        let o = typed_mut::<bool>(out)?;
        return with_dtype!(a.dtype(), T => {
            T::compare(op, typed::<T>(a, "lhs")?, typed::<T>(b, "rhs")?, o)
        });
    }
    with_dtype!(out.dtype(), T => {
        T::binary(op, typed::<T>(a, "lhs")?, typed::<T>(b, "rhs")?, typed_mut::<T>(out)?)
    })
}

/// `out = cond ? a : b`.
pub(crate) fn select(
    cond: ColRef<'_>,
    a: ColRef<'_>,
    b: ColRef<'_>,
    out: ColMut<'_>,
) -> Result<()> {
    check_len(cond.len().min(a.len()).min(b.len()), out.len())?;
    let c = typed::<bool>(cond, "condition")?;
    with_dtype!(out.dtype(), T => {
        let (a, b, o) = (typed::<T>(a, "lhs")?, typed::<T>(b, "rhs")?, typed_mut::<T>(out)?);
        for (((o, &c), &x), &y) in o.iter_mut().zip(c).zip(a).zip(b) {
            *o = if c { x } else { y };
        }
    });
    Ok(())
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
