//! Vectorizable transcendental functions over slices: sin, cos, tan, exp, log and tanh for f32
//! and f64 (f16 goes through f32 in the elementwise ops).
//!
//! std's `sin`/`exp`/... are calls into libm, one element at a time, so a loop over them never
//! vectorizes. Here every function is a branch-free "lane" kernel ([`Lane`]): Cody-Waite range
//! reduction, a polynomial, and bit tricks for the quadrant, scale and special values, written
//! with plain arithmetic, selects and integer ops that SSE2 has. LLVM then vectorizes the
//! per-slice loop ([`apply`]) at the baseline target, and the same loop body is compiled again
//! under `#[target_feature]` for AVX2+FMA and AVX-512, picked at run time ([`Isa::best`]).
//!
//! Under FMA the kernels use fused multiply-adds ([`MulAdd`]), so results can differ by an ulp
//! between machines; both variants are tested against the same error bounds, and on one machine
//! the result never depends on the thread count or block size.
//!
//! Trig range: the Cody-Waite reductions (pi/2 split in 2 or 4 pieces, see [`f32k`], [`f64k`])
//! are exact enough only for `|x| < 2^24` ([`TRIG_LIMIT`]). Each slice is scanned for finite
//! elements beyond that (one vectorized OR over the bits, [`any_beyond`]); when there are any
//! (rare: the result is essentially noise), their outputs are recomputed afterwards with std's
//! scalar function, which does the full Payne-Hanek reduction. NaN and infinities need no
//! fallback: every kernel maps them as C does.
//!
//! f32 sin and cos compute in f64 (widened lane by lane), exp/log/tanh in f32, f32 tan runs the
//! f64 kernel. f16 goes through f32 in the elementwise ops.
//!
//! Measured max errors are in each kernel's doc comment and in the table of `tests.rs`, for
//! both the baseline and the FMA builds.

mod f32k;
mod f64k;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_special;
#[cfg(test)]
mod tests_sweep;

/// A transcendental function with a vectorized slice implementation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Log,
    Tanh,
}

/// Multiply-add, fused or not: the only operation whose code differs between the baseline
/// build and the FMA builds of a kernel.
pub(crate) trait MulAdd {
    /// `a * b + c`.
    fn f32(a: f32, b: f32, c: f32) -> f32;
    /// `a * b + c`.
    fn f64(a: f64, b: f64, c: f64) -> f64;
}

/// Two roundings: a plain multiply then add (there is no FMA at the baseline, and
/// `mul_add` there is a libm call).
pub(crate) struct Plain;

impl MulAdd for Plain {
    #[inline(always)]
    fn f32(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn f64(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// One rounding: `mul_add`, a single instruction where FMA is enabled.
pub(crate) struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn f32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn f64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// A branch-free per-element kernel; [`apply`] maps it over slices.
pub(crate) trait Lane<T> {
    /// The function at one element.
    fn eval<M: MulAdd>(x: T) -> T;
}

/// An f64 kernel run on f32 data: widen, compute, round once to f32.
pub(crate) struct Widen<K>(std::marker::PhantomData<K>);

impl<K: Lane<f64>> Lane<f32> for Widen<K> {
    #[inline(always)]
    fn eval<M: MulAdd>(x: f32) -> f32 {
        K::eval::<M>(f64::from(x)) as f32
    }
}

/// Horner evaluation of `c[0] + c[1] x + c[2] x^2 + ...` (unrolled: the length is a constant).
#[inline(always)]
pub(crate) fn poly32<M: MulAdd, const N: usize>(x: f32, c: &[f32; N]) -> f32 {
    let mut p = c[N - 1];
    for &k in c[..N - 1].iter().rev() {
        p = M::f32(p, x, k);
    }
    p
}

/// Horner evaluation of `c[0] + c[1] x + c[2] x^2 + ...`.
#[inline(always)]
pub(crate) fn poly64<M: MulAdd, const N: usize>(x: f64, c: &[f64; N]) -> f64 {
    let mut p = c[N - 1];
    for &k in c[..N - 1].iter().rev() {
        p = M::f64(p, x, k);
    }
    p
}

/// An instruction set a kernel loop can be compiled for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The build's baseline (SSE2 on x86-64), no FMA.
    Base,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 (F, VL, DQ) with FMA.
    Avx512,
}

impl Isa {
    /// Whether this CPU can run code built for `self` (std caches the detection).
    pub(crate) fn supported(self) -> bool {
        match self {
            Isa::Base => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest supported instruction set.
    pub(crate) fn best() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|i| i.supported())
            .unwrap_or(Isa::Base)
    }
}

/// `out[i] = K(x[i])` for the common prefix, the loop compiled for `isa` when the CPU has it
/// (the baseline loop otherwise).
pub(crate) fn apply<T: Copy, K: Lane<T>>(isa: Isa, x: &[T], out: &mut [T]) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX-512 F/VL/DQ, AVX2 and FMA (checked just now), which is all
        // that `map_avx512` is compiled to use.
        Isa::Avx512 if isa.supported() => unsafe { map_avx512::<T, K>(x, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked just now), all that `map_avx2` uses.
        Isa::Avx2 if isa.supported() => unsafe { map_avx2::<T, K>(x, out) },
        _ => map::<T, K, Plain>(x, out),
    }
}

/// The loop every variant shares; inlined into each so it is vectorized for that target.
#[inline(always)]
fn map<T: Copy, K: Lane<T>, M: MulAdd>(x: &[T], out: &mut [T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = K::eval::<M>(v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn map_avx2<T: Copy, K: Lane<T>>(x: &[T], out: &mut [T]) {
    map::<T, K, Fused>(x, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
fn map_avx512<T: Copy, K: Lane<T>>(x: &[T], out: &mut [T]) {
    map::<T, K, Fused>(x, out);
}

/// The trig kernels' fast range reductions are exact enough for finite `|x|` below this (2^24);
/// outputs of larger inputs are recomputed with std.
pub(crate) const TRIG_LIMIT: f64 = 16_777_216.0;
/// [`TRIG_LIMIT`] as an f32.
const LIMIT32: f32 = TRIG_LIMIT as f32;

/// The key of the range scans: a monotone image of `|x|` in an i32 (the whole bit pattern for
/// f32, the high word for f64: enough to compare with a power of two); `INF` is the key of
/// infinity, and NaN keys are above it.
trait RangeKey: Copy {
    const INF: i32;
    fn key(self) -> i32;
}

impl RangeKey for f32 {
    const INF: i32 = 0x7f80_0000;
    #[inline(always)]
    fn key(self) -> i32 {
        (self.to_bits() & 0x7fff_ffff) as i32
    }
}

impl RangeKey for f64 {
    const INF: i32 = 0x7ff0_0000;
    #[inline(always)]
    fn key(self) -> i32 {
        ((self.to_bits() >> 32) as u32 & 0x7fff_ffff) as i32
    }
}

/// Whether some finite `x` has key `>= lo` (`|x| >= 2^k` for a power-of-two limit), with the
/// loop built for `isa`. NaN and infinities do not count: the kernels handle them.
fn any_beyond<T: RangeKey>(isa: Isa, x: &[T], lo: i32) -> bool {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `apply`, the features `scan_avx512` is built for were checked just now.
        Isa::Avx512 if isa.supported() => unsafe { scan_avx512(x, lo) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked just now), all that `scan_avx2` uses.
        Isa::Avx2 if isa.supported() => unsafe { scan_avx2(x, lo) },
        _ => scan(x, lo),
    }
}

/// An OR of sign bits: `key - lo >= 0` and `key - INF < 0` exactly when `lo <= key < INF`. Pure
/// integer and/or/sub, so it vectorizes at every width (a max reduction with a select, the
/// obvious alternative, is turned by LLVM into a conditional reduction that stays scalar).
#[inline(always)]
fn scan<T: RangeKey>(x: &[T], lo: i32) -> bool {
    let acc = x.iter().fold(0i32, |acc, &v| {
        let k = v.key();
        acc | (!k.wrapping_sub(lo) & k.wrapping_sub(T::INF))
    });
    acc < 0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scan_avx2<T: RangeKey>(x: &[T], lo: i32) -> bool {
    scan(x, lo)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
fn scan_avx512<T: RangeKey>(x: &[T], lo: i32) -> bool {
    scan(x, lo)
}

/// Recomputes with `f` the outputs of finite inputs with `|x| >= limit`.
#[cold]
fn fix_large<T: Copy + PartialOrd>(
    x: &[T],
    out: &mut [T],
    limit: T,
    abs: impl Fn(T) -> T,
    f: impl Fn(T) -> T,
) {
    for (o, &v) in out.iter_mut().zip(x) {
        // NaN compares false; infinities pass, and `f` maps them to NaN as the kernels do.
        if abs(v) >= limit {
            *o = f(v);
        }
    }
}

/// Trig: the kernel `K` over the slice, then std's `std_fn` for the elements beyond its range.
fn trig<T: RangeKey + PartialOrd, K: Lane<T>>(
    isa: Isa,
    x: &[T],
    out: &mut [T],
    limit: T,
    abs: fn(T) -> T,
    std_fn: fn(T) -> T,
) {
    apply::<T, K>(isa, x, out);
    if any_beyond(isa, x, limit.key()) {
        fix_large(x, out, limit, abs, std_fn);
    }
}

/// Element types with vectorized transcendental functions.
pub(crate) trait VecMath: Copy {
    /// `out[i] = f(x[i])` over the common prefix, with the loop built for `isa`.
    fn eval_on(isa: Isa, f: Func, x: &[Self], out: &mut [Self]);

    /// `out[i] = f(x[i])` over the common prefix, on the widest instruction set this CPU has.
    fn eval(f: Func, x: &[Self], out: &mut [Self]) {
        Self::eval_on(Isa::best(), f, x, out);
    }
}

impl VecMath for f32 {
    fn eval_on(isa: Isa, f: Func, x: &[f32], out: &mut [f32]) {
        match f {
            Func::Sin => trig::<f32, f32k::Sin>(isa, x, out, LIMIT32, f32::abs, f32::sin),
            Func::Cos => trig::<f32, f32k::Cos>(isa, x, out, LIMIT32, f32::abs, f32::cos),
            // tan is rarer and needs a division anyway: the f64 kernel, rounded.
            Func::Tan => {
                trig::<f32, Widen<f64k::Tan>>(isa, x, out, LIMIT32, f32::abs, f32::tan);
            }
            Func::Exp => apply::<f32, f32k::Exp>(isa, x, out),
            Func::Log => apply::<f32, f32k::Log>(isa, x, out),
            Func::Tanh => apply::<f32, f32k::Tanh>(isa, x, out),
        }
    }
}

impl VecMath for f64 {
    fn eval_on(isa: Isa, f: Func, x: &[f64], out: &mut [f64]) {
        match f {
            Func::Sin => trig::<f64, f64k::Sin>(isa, x, out, TRIG_LIMIT, f64::abs, f64::sin),
            Func::Cos => trig::<f64, f64k::Cos>(isa, x, out, TRIG_LIMIT, f64::abs, f64::cos),
            Func::Tan => trig::<f64, f64k::Tan>(isa, x, out, TRIG_LIMIT, f64::abs, f64::tan),
            Func::Exp => apply::<f64, f64k::Exp>(isa, x, out),
            Func::Log => apply::<f64, f64k::Log>(isa, x, out),
            Func::Tanh => apply::<f64, f64k::Tanh>(isa, x, out),
        }
    }
}
