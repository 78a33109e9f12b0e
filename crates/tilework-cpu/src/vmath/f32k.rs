//! f32 lane kernels. exp, log and tanh compute in f32 (2x the lanes of f64); sin and cos in
//! f64, see [`sin_reduced`].
//!
//! Coefficients are near-minimax fits (`mpmath.chebyfit`, 300-bit arithmetic) of the reduced
//! functions named at each table, rounded to f32.

use super::{Lane, MulAdd, poly32, poly64};
use std::f32::consts::LOG2_E;
use std::f64::consts::FRAC_1_PI;

/// `1.5 * 2^23`: adding it rounds any `|v| < 2^22` to an integer, readable in the low bits.
const ROUND: f32 = 12_582_912.0;

/// `1.5 * 2^52`, the same trick in f64.
const ROUND64: f64 = 6_755_399_441_055_744.0;

/// pi/2 as P0 + P1: P0 has 29 significant bits, so `q * P0` is exact for `q < 2^24` (all
/// `|x| < 2^24`, [`super::TRIG_LIMIT`]) and `x - q P0` is exact too (Sterbenz); the sum is pi/2 to
/// 2^-86, so `r` is good to about 2^-58 absolute plus 2^-53 relative, far below the smallest
/// `|r|` of any f32 below 2^24 (2^-27.8 at x = 252.898 = 161 pi/2 + r, and similar).
const PIO2: [f64; 2] = [1.570_796_325_802_803, 9.920_935_796_805_404e-10];

/// `(sin(r)/r - 1)/z` with `z = r^2`, on `|r| <= pi/2 + 0.001`; fit error 2.8e-11, so the
/// polynomial is good to 2^-33 relative, a thousandth of an f32 ulp.
const SIN: [f64; 5] = [
    -0.166_666_666_638_635_58,
    0.008_333_332_765_892_838,
    -0.000_198_410_858_668_201_67,
    2.753_641_107_243_41e-6,
    -2.407_897_609_276_595e-8,
];

/// `sin(x - q pi/2)` with its sign flipped by `flip` (0 or the sign bit), rounded once to f32,
/// for integer-valued `|q| < 2^24`.
///
/// f32 trig runs in f64 because that is the cheap way to a (nearly) correctly rounded result:
/// in f32 the reduction needs more pieces of pi/2 plus a double-f32 `r`, and the polynomial
/// over `|r| <= pi/2` loses 2 ulp, at about the same cost.
#[inline(always)]
fn sin_reduced<M: MulAdd>(x: f64, q: f64, flip: u64) -> f32 {
    let r = M::f64(q, -PIO2[1], M::f64(q, -PIO2[0], x));
    let z = r * r;
    // r (1 + z P) rather than r + r z P: the same accuracy in f64 (f32 needs far less), and it
    // keeps sin(-0) = -0.
    let s = r * M::f64(z, poly64::<M, 5>(z, &SIN), 1.0);
    f64::from_bits(s.to_bits() ^ flip) as f32
}

/// sin for `|x| < 2^24` (computed in f64): max error 0.501 ulp, baseline and FMA, measured by
/// `vmath::tests::f32_accuracy` and `vmath::tests_sweep`; NaN and infinities give NaN.
pub(crate) struct Sin;

impl Lane<f32> for Sin {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        // x = n pi + r, |r| <= pi/2: sin x = (-1)^n sin r, one odd polynomial, no select.
        let x = f64::from(x);
        let t = M::f64(x, FRAC_1_PI, ROUND64);
        let n = t - ROUND64;
        sin_reduced::<M>(x, n + n, t.to_bits() << 63)
    }
}

/// cos for `|x| < 2^24` (computed in f64): max error 0.502 ulp, baseline and FMA, measured by
/// `vmath::tests::f32_accuracy` and `vmath::tests_sweep`; NaN and infinities give NaN.
pub(crate) struct Cos;

impl Lane<f32> for Cos {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        // x = (2n + 1) pi/2 + r: cos x = (-1)^(n+1) sin r, the same polynomial.
        let x = f64::from(x);
        let t = M::f64(x, FRAC_1_PI, -0.5) + ROUND64;
        let n = t - ROUND64;
        sin_reduced::<M>(x, M::f64(n, 2.0, 1.0), !t.to_bits() << 63)
    }
}

/// ln 2 as HI + LO, HI with 16 bits so that `n * HI` is exact for `|n| < 2^8`.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// `(e^r - 1 - r)/r^2` on `|r| <= 0.3466`; fit error 6.5e-8, scaled by `r^2 <= 0.12`.
const EXP: [f32; 5] = [
    0.5,
    0.166_665_76,
    0.041_666_556,
    0.008_363_178,
    0.001_392_618_2,
];

/// Splits `y = n ln2 + r`; returns `(e^r - 1, t)` with the bits of `t` = `ROUND` bits + n.
#[inline(always)]
fn exp_reduce<M: MulAdd>(y: f32) -> (f32, u32) {
    let t = M::f32(y, LOG2_E, ROUND);
    let n = t - ROUND;
    let r = M::f32(n, -LN2_LO, M::f32(n, -LN2_HI, y));
    let p = M::f32(r * r, poly32::<M, 5>(r, &EXP), r);
    (p, t.to_bits())
}

/// exp: max error 0.97 ulp baseline, 1.00 ulp FMA, subnormal results included (in ulps of the
/// subnormal grid), measured by `vmath::tests::f32_accuracy` and `vmath::tests_sweep`;
/// overflow gives inf, underflow 0 (gradually, no flush), NaN gives NaN.
pub(crate) struct Exp;

impl Lane<f32> for Exp {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        // Clamping (NaN passes through) keeps n in [-150, 128], where the result overflows to
        // inf / rounds to 0 on its own.
        let x = if x > 89.0 { 89.0 } else { x };
        let x = if x < -104.0 { -104.0 } else { x };
        let (p, t) = exp_reduce::<M>(x);
        // 2^n = 2^n1 * 2^n2, both normal; u = n + 256 >= 0, n1 = floor(n/2) (see f64k::Exp).
        let u = t.wrapping_sub(ROUND.to_bits()).wrapping_add(256);
        let s1 = f32::from_bits(((u >> 1).wrapping_sub(1)) << 23);
        let s2 = f32::from_bits((u.wrapping_sub(u >> 1).wrapping_sub(1)) << 23);
        (1.0 + p) * s1 * s2
    }
}

/// `(tanh(a)/a - 1)/z` with `z = a^2`, on `a <= 0.55`; fit error 1.3e-8, scaled by `z <= 0.3`.
const TANH: [f32; 5] = [
    -0.333_333_3,
    0.133_331_13,
    -0.053_909_43,
    0.021_309_389,
    -0.006_610_228,
];

/// Below this, tanh is the odd polynomial [`TANH`]; above, `e / (e + 2)` (see f64k::Tanh).
const TANH_POLY: f32 = 0.55;

/// tanh: max error 1.50 ulp, baseline and FMA (`vmath::tests::f32_accuracy`,
/// `vmath::tests_sweep`); odd, ±1 beyond |x| = 9, NaN gives NaN.
pub(crate) struct Tanh;

impl Lane<f32> for Tanh {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        let a = x.abs();
        // tanh(9) = 1 - 3e-8 rounds to 1; NaN passes through.
        let a = if a > 9.0 { 9.0 } else { a };
        let z = a * a;
        let small = M::f32(a * z, poly32::<M, 5>(z, &TANH), a);
        // tanh(a) = e / (e + 2), e = expm1(2a) = 2^n (e^r - 1) + (2^n - 1), n in [0, 26].
        let (p, t) = exp_reduce::<M>(a + a);
        let s = f32::from_bits(t.wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
        let e = M::f32(s, p, s - 1.0);
        let large = e / (e + 2.0);
        (if a < TANH_POLY { small } else { large }).copysign(x)
    }
}

/// `(2 atanh(s) - 2s)/(s z)` with `z = s^2` on `z <= 0.02944`; fit error 1.9e-7, scaled by
/// `s z <= 0.0051` in the result.
const LOG: [f32; 3] = [0.666_666_87, 0.399_887_77, 0.295_800_54];

/// log: max error 0.77 ulp over all positive floats, subnormals included, baseline and FMA
/// (`vmath::tests::f32_accuracy`, `vmath::tests_sweep`); log(±0) = -inf, log(x < 0) = NaN,
/// log(inf) = inf.
pub(crate) struct Log;

impl Lane<f32> for Log {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        // Subnormals are scaled by 2^25 into the normal range, and the exponent corrected.
        let tiny = x < f32::MIN_POSITIVE;
        let xs = if tiny { x * 33_554_432.0 } else { x };
        let bits = xs.to_bits();
        let e = (bits >> 23) as i32 as f32;
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        // m in [1, 2) -> [sqrt(1/2), sqrt 2).
        let big = m > std::f32::consts::SQRT_2;
        let m = if big { 0.5 * m } else { m };
        let k = e - if tiny { 127.0 + 25.0 } else { 127.0 } + if big { 1.0 } else { 0.0 };
        // log(1 + f) = f - f^2/2 + s (f^2/2 + R), s = f / (2 + f): see f64k::Log.
        let f = m - 1.0;
        let s = f / (2.0 + f);
        let z = s * s;
        let r = z * poly32::<M, 3>(z, &LOG);
        let hfsq = 0.5 * f * f;
        let lo = M::f32(s, hfsq + r, k * LN2_LO);
        let v = M::f32(k, LN2_HI, f - (hfsq - lo));
        let v = if x == f32::INFINITY { x } else { v };
        if x > 0.0 {
            v
        } else if x == 0.0 {
            f32::NEG_INFINITY
        } else {
            f32::NAN
        }
    }
}
