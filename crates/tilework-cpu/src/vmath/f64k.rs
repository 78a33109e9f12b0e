//! f64 lane kernels (also the wide path of f32 trig and tan).
//!
//! Integer work stays in u64 add/sub/and/shift, which SSE2 vectorizes; integers reach floats
//! through the "magic number" trick (`x + 1.5 * 2^52` rounds `x` to an integer held in the low
//! mantissa bits) because SSE2 has no vector i64 <-> f64 conversion.
//!
//! Polynomial coefficients are near-minimax fits (`mpmath.chebyfit`, 300-bit arithmetic) of the
//! reduced functions named at each table, rounded to f64; the fit errors quoted there are far
//! below an ulp, so the rounding of the evaluation dominates the measured errors.

use super::{Lane, MulAdd, poly64};
use std::f64::consts::{FRAC_2_PI, LOG2_E};

/// `1.5 * 2^52`: adding it rounds any `|v| < 2^51` to an integer, readable in the low bits.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// pi/2 as P0 + P1 + P2 + P3: P0..P2 have 29 significant bits, so `q * Pi` is exact for
/// `q < 2^24` (all `|x| < 2^24`), and the sum is pi/2 to about 2^-142, so the reduced argument
/// of [`reduce_pio2`] is good to about 2^-117 absolute, far below the smallest `|r|` of any
/// double below 2^24 (~2^-61).
const PIO2: [f64; 4] = [
    1.570_796_325_802_803,
    9.920_935_774_287_987e-10,
    2.251_741_770_634_657_8e-18,
    3.521_559_865_183_2e-27,
];

/// `(sin(r)/r - 1)/z` with `z = r^2`, on `|r| <= pi/4 + 1e-5`; fit error 2.0e-17.
const SIN: [f64; 6] = [
    -0.166_666_666_666_666_66,
    0.008_333_333_333_330_948,
    -0.000_198_412_698_367_581_16,
    2.755_731_610_231_447e-6,
    -2.505_113_179_540_776_4e-8,
    1.591_812_572_172_497e-10,
];

/// `(cos(r) - 1 + z/2)/z^2` with `z = r^2`, on `|r| <= pi/4 + 1e-5`; fit error 1.3e-18.
const COS: [f64; 6] = [
    0.041_666_666_666_666_664,
    -0.001_388_888_888_888_739_8,
    2.480_158_729_876_54e-5,
    -2.755_731_727_158_092e-7,
    2.087_614_623_737_668e-9,
    -1.138_263_019_019_551_5e-11,
];

/// `(s, e)` with `s = a + b` rounded and `e` its exact rounding error (Knuth's TwoSum).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Returns `(r, lo, q)` with `x = q pi/2 + r + lo` (`r + lo` good to about 2^-117 absolute and
/// 2^-104 relative), `|r| <= pi/4` (a hair more at rounding ties) and the low bits of `q` in the
/// low bits of the returned word. Valid for `|x| < 2^24`.
///
/// `x - q P0` is exact (Sterbenz). The next two subtractions are exact while `r` is small, and
/// round relative to `r` when it is not: TwoSum keeps those rounding errors in `lo`, because half
/// an ulp of `r` is up to an ulp of `sin r` once the polynomial adds its own rounding.
#[inline(always)]
fn reduce_pio2<M: MulAdd>(x: f64) -> (f64, f64, u64) {
    let t = M::f64(x, FRAC_2_PI, ROUND);
    let q = t - ROUND;
    let r = M::f64(q, -PIO2[0], x);
    let (r, e1) = two_sum(r, -q * PIO2[1]);
    let (r, e2) = two_sum(r, -q * PIO2[2]);
    let lo = M::f64(q, -PIO2[3], e1 + e2);
    // Renormalize so that `r` is the rounded sum (|lo| is tiny next to any `r` that is not exact).
    let hi = r + lo;
    (hi, lo - (hi - r), t.to_bits())
}

/// `(sin(r + lo), cos(r + lo))` for `|r| <= pi/4`, `|lo|` below an ulp of `r`.
#[inline(always)]
fn sincos<M: MulAdd>(r: f64, lo: f64) -> (f64, f64) {
    let z = r * r;
    let hz = 0.5 * z;
    // sin(r + lo) = sin r + lo cos r, and cos r ~ 1 - z/2 is plenty for a term below an ulp.
    let s = r + M::f64(r * z, poly64::<M, 6>(z, &SIN), M::f64(-hz, lo, lo));
    let w = 1.0 - hz;
    // `(1 - w) - hz` is exactly the rounding error of `w`: folding it back keeps cos at ~0.5 ulp;
    // cos(r + lo) = cos r - lo sin r.
    let tail = M::f64(-r, lo, (1.0 - w) - hz);
    let c = w + M::f64(z * z, poly64::<M, 6>(z, &COS), tail);
    (s, c)
}

/// `if mask_bit { a } else { b }` for a word whose bit 0 is the condition, in SSE2 integer ops.
#[inline(always)]
fn select_bit0(cond: u64, a: f64, b: f64) -> f64 {
    let m = 0u64.wrapping_sub(cond & 1);
    f64::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

/// Flips the sign of `v` when bit 1 of `cond` is set.
#[inline(always)]
fn flip_bit1(cond: u64, v: f64) -> f64 {
    f64::from_bits(v.to_bits() ^ ((cond & 2) << 62))
}

/// sin for `|x| < 2^24`: max error 0.79 ulp baseline, 0.75 FMA (mpmath, see `vmath::tests`;
/// within 1 ulp of std in `vmath::tests::f64_accuracy`); NaN and infinities give NaN.
pub(crate) struct Sin;

impl Lane<f64> for Sin {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        let (r, lo, q) = reduce_pio2::<M>(x);
        let (s, c) = sincos::<M>(r, lo);
        let v = flip_bit1(q, select_bit0(q, c, s));
        // sin(-0) = -0: the sum of signed zeros above gives +0.
        if x == 0.0 { x } else { v }
    }
}

/// cos for `|x| < 2^24`: max error 0.82 ulp baseline, 0.79 FMA (mpmath; within 1 ulp of std
/// in `vmath::tests::f64_accuracy`); NaN and infinities give NaN.
pub(crate) struct Cos;

impl Lane<f64> for Cos {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        let (r, lo, q) = reduce_pio2::<M>(x);
        let (s, c) = sincos::<M>(r, lo);
        // cos(q pi/2 + r) = c, -s, -c, s for q mod 4 = 0, 1, 2, 3.
        flip_bit1(q.wrapping_add(1), select_bit0(q, s, c))
    }
}

/// tan for `|x| < 2^24`: max error 1.84 ulp (mpmath; within 2 ulp of std in
/// `vmath::tests::f64_accuracy`); NaN and infinities give NaN.
pub(crate) struct Tan;

impl Lane<f64> for Tan {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        let (r, lo, q) = reduce_pio2::<M>(x);
        let (s, c) = sincos::<M>(r, lo);
        // tan = s/c for even q, -c/s for odd q.
        let num = select_bit0(q, -c, s);
        let den = select_bit0(q, s, c);
        let v = num / den;
        // tan(±0) = ±0 (the only zero result); testing `v` rather than `x` keeps the division
        // out of a branch, which would stop the baseline loop from vectorizing.
        if v == 0.0 { x } else { v }
    }
}

/// ln 2 as HI + LO, HI with 42 bits so that `n * HI` is exact for `|n| < 2^11`.
const LN2_HI: f64 = 0.693_147_180_559_890_3;
const LN2_LO: f64 = 5.497_923_018_708_371e-14;

/// `(e^r - 1 - r)/r^2` on `|r| <= 0.3466`; fit error 1.4e-18.
const EXP: [f64; 11] = [
    0.5,
    0.166_666_666_666_666_7,
    0.041_666_666_666_666_67,
    0.008_333_333_333_326_136,
    0.001_388_888_888_888_375,
    0.000_198_412_698_748_158_34,
    2.480_158_732_554_432e-5,
    2.755_725_540_628_504_4e-6,
    2.755_727_364_745_108_7e-7,
    2.510_521_447_475_141_3e-8,
    2.091_468_516_141_806_7e-9,
];

/// Splits `y = n ln2 + r` with `|r| <= ln2/2`; returns `(e^r - 1, t)` where the bits of `t`
/// are `ROUND.to_bits() + n`. Needs `|y| < 1100`.
#[inline(always)]
fn exp_reduce<M: MulAdd>(y: f64) -> (f64, u64) {
    let t = M::f64(y, LOG2_E, ROUND);
    let n = t - ROUND;
    let r = M::f64(n, -LN2_LO, M::f64(n, -LN2_HI, y));
    let p = M::f64(r * r, poly64::<M, 11>(r, &EXP), r);
    (p, t.to_bits())
}

/// 2^k from the bits of `ROUND + k` for `-1022 <= k <= 1023`.
#[inline(always)]
fn pow2(t_bits: u64) -> f64 {
    f64::from_bits(t_bits.wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52)
}

/// exp: max error 0.87 ulp baseline, 0.94 FMA (mpmath; within 1 ulp of std in
/// `vmath::tests::f64_accuracy`, subnormal results included); overflow gives inf, underflow 0
/// (gradually, no flush), NaN gives NaN.
pub(crate) struct Exp;

impl Lane<f64> for Exp {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        // Clamping (NaN passes through both comparisons) keeps n in [-1076, 1025], where the
        // result overflows to inf / rounds to 0 on its own.
        let x = if x > 710.0 { 710.0 } else { x };
        let x = if x < -746.0 { -746.0 } else { x };
        let (p, t) = exp_reduce::<M>(x);
        // 2^n as 2^n1 * 2^n2 with both halves normal; u = n + 2048 >= 0 so the halving is a
        // logical shift: n1 = floor(n/2) has biased exponent u/2 - 1, n2 = n - n1 has u - u/2 - 1.
        let u = t.wrapping_sub(ROUND.to_bits()).wrapping_add(2048);
        let s1 = f64::from_bits(((u >> 1).wrapping_sub(1)) << 52);
        let s2 = f64::from_bits((u.wrapping_sub(u >> 1).wrapping_sub(1)) << 52);
        // (1 + p) * s1 is exact; the last product rounds once, also onto the subnormal grid.
        (1.0 + p) * s1 * s2
    }
}

/// `(tanh(a)/a - 1)/z` with `z = a^2`, on `a <= 0.55`; fit error 7.7e-18.
const TANH: [f64; 11] = [
    -0.333_333_333_333_333_3,
    0.133_333_333_333_327_14,
    -0.053_968_253_967_434_016,
    0.021_869_488_493_666_944,
    -0.008_863_234_397_814_355,
    0.003_592_110_378_689_024,
    -0.001_455_661_830_100_716,
    0.000_588_936_052_007_405_7,
    -0.000_234_634_741_088_723_7,
    8.511_313_685_577_671e-5,
    -2.060_276_537_636_634e-5,
];

/// Below this, tanh is the odd polynomial [`TANH`]; above, `e / (e + 2)` with `e = expm1(2a)`,
/// which near 0 would lose two ulps to the roundings of `e` and `e + 2`.
const TANH_POLY: f64 = 0.55;

/// tanh: max error 1.44 ulp (mpmath; within 2 ulp of std, whose own error reaches 2, in
/// `vmath::tests::f64_accuracy`); odd, ±1 beyond |x| = 20, NaN gives NaN.
pub(crate) struct Tanh;

impl Lane<f64> for Tanh {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        let a = x.abs();
        // tanh(20) is 1 - 8.5e-18, which rounds to 1; NaN passes through.
        let a = if a > 20.0 { 20.0 } else { a };
        let z = a * a;
        let small = M::f64(a * z, poly64::<M, 11>(z, &TANH), a);
        // tanh(a) = e / (e + 2) with e = expm1(2a) = 2^n (e^r - 1) + (2^n - 1), n in [0, 58].
        let (p, t) = exp_reduce::<M>(a + a);
        let s = pow2(t);
        let e = M::f64(s, p, s - 1.0);
        let large = e / (e + 2.0);
        (if a < TANH_POLY { small } else { large }).copysign(x)
    }
}

/// `(2 atanh(s) - 2s)/(s z)` with `z = s^2`, on `z <= 0.02944` (`|s| <= 3 - 2 sqrt 2`); fit
/// error 3.1e-16, scaled by `s z <= 0.0051` in the result.
const LOG: [f64; 7] = [
    0.666_666_666_666_667,
    0.399_999_999_998_994_44,
    0.285_714_286_260_032_7,
    0.222_222_111_302_598_78,
    0.181_828_894_556_749_47,
    0.153_317_106_182_107_73,
    0.146_165_854_248_886_23,
];

/// log: max error 0.74 ulp over all positive doubles, subnormals included (mpmath; within 1
/// ulp of std in `vmath::tests::f64_accuracy`); log(±0) = -inf, log(x < 0) = NaN,
/// log(inf) = inf.
pub(crate) struct Log;

impl Lane<f64> for Log {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f64) -> f64 {
        // Subnormals are scaled into the normal range first (2^54), and the exponent corrected.
        let tiny = x < f64::MIN_POSITIVE;
        let xs = if tiny {
            x * 18_014_398_509_481_984.0
        } else {
            x
        };
        let bits = xs.to_bits();
        // The biased exponent as a float, by the magic trick: 2^52 + e, minus 2^52.
        let e = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52)) - 4_503_599_627_370_496.0;
        let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
        // m in [1, 2) -> [sqrt(1/2), sqrt 2), so that |f| and s stay small.
        let big = m > std::f64::consts::SQRT_2;
        let m = if big { 0.5 * m } else { m };
        let k = e - if tiny { 1023.0 + 54.0 } else { 1023.0 } + if big { 1.0 } else { 0.0 };
        // log(1 + f) = 2 atanh(s) = 2s + s R with s = f / (2 + f), R = z P(z); rewritten as
        // f - f^2/2 + s (f^2/2 + R) so that the exact f carries the bulk and the rest is small.
        let f = m - 1.0;
        let s = f / (2.0 + f);
        let z = s * s;
        let r = z * poly64::<M, 7>(z, &LOG);
        let hfsq = 0.5 * f * f;
        let lo = M::f64(s, hfsq + r, k * LN2_LO);
        let v = M::f64(k, LN2_HI, f - (hfsq - lo));
        let v = if x == f64::INFINITY { x } else { v };
        if x > 0.0 {
            v
        } else if x == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        }
    }
}
