//! The reduction operators as [`Fold`]s: how a contiguous run of values reduces to a slot, how a
//! row of values updates a row of slots, and how two slots merge (in order).
//!
//! Run kernels keep [`LANES`] independent accumulators so that the loop vectorizes (f32 data is
//! widened to f64 lanes) and rounding error grows with `n / LANES` instead of `n`.

use crate::num::Elem;

/// Independent accumulators per run kernel.
pub(crate) const LANES: usize = 64;

/// One reduction operator over elements of type `T`.
pub(crate) trait Fold<T>: Sync {
    /// Per-output-element state.
    type Slot: Copy + Send + Sync;
    /// True when [`Fold::run`] and [`Fold::update`] need element indices (argmin/argmax).
    const NEEDS_INDEX: bool = false;
    /// The state of no elements.
    fn empty(&self) -> Self::Slot;
    /// Reduces a non-empty contiguous run; `index(k)` is the reduced-space index of `vals[k]`.
    fn run(&self, vals: &[T], index: &dyn Fn(usize) -> i64) -> Self::Slot;
    /// `slots[j] = slots[j] (+) vals[j]`; every value has reduced-space index `index`, and every
    /// slot has seen the same number of elements (they belong to one row of the stream).
    fn update(&self, slots: &mut [Self::Slot], vals: &[T], index: i64);
    /// Merges `a` with `b`, `b`'s elements coming after `a`'s.
    fn merge(&self, a: Self::Slot, b: Self::Slot) -> Self::Slot;
}

/// Folds `vals` into [`LANES`] accumulators with `step`, then joins them pairwise (and the
/// tail last) with `join`. `init` must be the identity of `join`.
///
/// 64 lanes: with f32 widened to f64, 16 lanes left the loop bound by conversions at about 0.57
/// of the triad bandwidth; 64 reach 0.77 (32: 0.64, 128: no better) on the AVX-512 machine.
#[inline(always)]
pub(crate) fn lanes<T: Copy, A: Copy>(
    vals: &[T],
    init: A,
    step: impl Fn(A, T) -> A,
    join: impl Fn(A, A) -> A,
) -> A {
    if vals.len() < LANES {
        // Every lane would stay `init`, and joining identities changes nothing: skip the tree,
        // which dominates for tiny chunks.
        return join(init, vals.iter().fold(init, |a, &v| step(a, v)));
    }
    let mut acc = [init; LANES];
    let mut chunks = vals.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = step(*a, v);
        }
    }
    let mut tail = init;
    for &v in chunks.remainder() {
        tail = step(tail, v);
    }
    // Pairwise tree over the lanes: fixed order, so results are reproducible.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] = join(acc[i], acc[i + width]);
        }
    }
    join(acc[0], tail)
}

/// True when any value is NaN; a branch-free fold that vectorizes (no early exit).
#[inline(always)]
fn any_nan<T: Elem>(vals: &[T]) -> bool {
    T::FLOAT && vals.iter().fold(false, |acc, v| acc | v.is_nan())
}

/// Position of the first value matching `pred`: whole tiles are tested with a vectorizable
/// fold, and only the tile that matches is scanned element by element.
#[inline(always)]
fn first_match<T: Copy>(vals: &[T], pred: impl Fn(T) -> bool) -> Option<usize> {
    const TILE: usize = 64;
    vals.chunks(TILE).enumerate().find_map(|(t, tile)| {
        if tile.iter().fold(false, |acc, &v| acc | pred(v)) {
            tile.iter().position(|&v| pred(v)).map(|k| t * TILE + k)
        } else {
            None
        }
    })
}

/// Sum of a float input, accumulated in f64.
pub(crate) struct SumF;
/// Sum of an integer or bool input, accumulated in wrapping i64.
pub(crate) struct SumI;
/// Product of a float input, in f64.
pub(crate) struct ProdF;
/// Product of an integer or bool input, in wrapping i64.
pub(crate) struct ProdI;

macro_rules! accumulate {
    ($name:ident, $slot:ty, $zero:expr, $conv:ident, $op:expr) => {
        impl<T: Elem> Fold<T> for $name {
            type Slot = $slot;
            fn empty(&self) -> $slot {
                $zero
            }
            fn run(&self, vals: &[T], _: &dyn Fn(usize) -> i64) -> $slot {
                lanes(vals, $zero, |a, v: T| $op(a, v.$conv()), $op)
            }
            fn update(&self, slots: &mut [$slot], vals: &[T], _: i64) {
                for (s, &v) in slots.iter_mut().zip(vals) {
                    *s = $op(*s, v.$conv());
                }
            }
            fn merge(&self, a: $slot, b: $slot) -> $slot {
                $op(a, b)
            }
        }
    };
}
accumulate!(SumI, i64, 0, as_i64, |a: i64, b: i64| a.wrapping_add(b));
accumulate!(ProdF, f64, 1.0, as_f64, |a: f64, b: f64| a * b);
accumulate!(ProdI, i64, 1, as_i64, |a: i64, b: i64| a.wrapping_mul(b));

impl<T: Elem> Fold<T> for SumF {
    type Slot = f64;
    fn empty(&self) -> f64 {
        0.0
    }
    fn run(&self, vals: &[T], _: &dyn Fn(usize) -> i64) -> f64 {
        wide::sum(vals)
    }
    fn update(&self, slots: &mut [f64], vals: &[T], _: i64) {
        wide::add_rows(slots, vals);
    }
    fn merge(&self, a: f64, b: f64) -> f64 {
        a + b
    }
}

/// The f64-accumulating loops of sum, mean and var, compiled again for AVX2 and AVX-512 and
/// picked at run time: widening f32 to f64 costs a conversion per element, which at the SSE2
/// baseline makes these loops compute-bound below memory bandwidth. Every variant adds in the
/// same order (the same lanes, no FMA), so results do not depend on the instruction set.
pub(crate) mod wide {
    use super::lanes;
    use crate::num::Elem;
    use crate::vmath::Isa;

    #[inline(always)]
    fn sum_base<T: Elem>(vals: &[T]) -> f64 {
        lanes(vals, 0.0, |a, v: T| a + v.as_f64(), |a, b| a + b)
    }

    #[inline(always)]
    fn m2_base<T: Elem>(vals: &[T], mean: f64) -> f64 {
        let sq = |a: f64, v: T| {
            let d = v.as_f64() - mean;
            a + d * d
        };
        lanes(vals, 0.0, sq, |a, b| a + b)
    }

    #[inline(always)]
    fn add_rows_base<T: Elem>(slots: &mut [f64], vals: &[T]) {
        for (s, &v) in slots.iter_mut().zip(vals) {
            *s += v.as_f64();
        }
    }

    /// Declares `$name`, which runs `$base` compiled for the widest available instruction set.
    macro_rules! dispatched {
        ($name:ident, $base:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
            #[doc = concat!("[`", stringify!($base), "`] for the widest instruction set this CPU has.")]
            pub(crate) fn $name<T: Elem>($($arg: $ty),*) -> $ret {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx2")]
                    fn avx2<T: Elem>($($arg: $ty),*) -> $ret {
                        $base($($arg),*)
                    }
                    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2")]
                    fn avx512<T: Elem>($($arg: $ty),*) -> $ret {
                        $base($($arg),*)
                    }
                    match Isa::best() {
                        // SAFETY: `Isa::best` only reports instruction sets this CPU supports,
                        // and each variant is compiled for exactly the features it checks.
                        Isa::Avx512 => return unsafe { avx512($($arg),*) },
                        // SAFETY: as above; AVX2 (and FMA, unused here) were detected.
                        Isa::Avx2 => return unsafe { avx2($($arg),*) },
                        Isa::Base => {}
                    }
                }
                $base($($arg),*)
            }
        };
    }

    dispatched!(sum, sum_base, (vals: &[T]) -> f64);
    dispatched!(m2, m2_base, (vals: &[T], mean: f64) -> f64);
    dispatched!(add_rows, add_rows_base, (slots: &mut [f64], vals: &[T]) -> ());
}

/// Min (`MAX == false`) or max (`MAX == true`), NaN-propagating.
pub(crate) struct Extreme<const MAX: bool>;

impl<const MAX: bool> Extreme<MAX> {
    /// NumPy's `(a >= b || isnan(a)) ? a : b` (and `<=` for min): a NaN on either side wins.
    #[inline(always)]
    fn pick<T: Elem>(a: T, b: T) -> T {
        let keep = if MAX { a >= b } else { a <= b };
        if keep || a.is_nan() { a } else { b }
    }

    /// The extreme of a non-empty run ignoring NaN: one compare-and-select per element, which
    /// maps onto `maxps`/`minps`-style instructions.
    #[inline(always)]
    fn plain<T: Elem>(vals: &[T], init: T) -> T {
        let better = |a: T, v: T| if MAX { v > a } else { v < a };
        lanes(
            vals,
            init,
            |a, v| if better(a, v) { v } else { a },
            |a, v| if better(a, v) { v } else { a },
        )
    }
}

impl<T: Elem, const MAX: bool> Fold<T> for Extreme<MAX> {
    type Slot = T;
    fn empty(&self) -> T {
        if MAX { T::MIN_VAL } else { T::MAX_VAL }
    }
    fn run(&self, vals: &[T], _: &dyn Fn(usize) -> i64) -> T {
        // NaN propagation checked in a second, vectorized pass over the (L1-resident) run.
        if any_nan(vals) {
            let k = first_match(vals, |v: T| v.is_nan()).unwrap_or(0);
            return vals[k];
        }
        Self::plain(vals, Fold::<T>::empty(self))
    }
    fn update(&self, slots: &mut [T], vals: &[T], _: i64) {
        for (s, &v) in slots.iter_mut().zip(vals) {
            *s = Self::pick(*s, v);
        }
    }
    fn merge(&self, a: T, b: T) -> T {
        Self::pick(a, b)
    }
}

/// Any (`ALL == false`) or all (`ALL == true`) of bools.
pub(crate) struct AnyAll<const ALL: bool>;

impl<const ALL: bool> Fold<bool> for AnyAll<ALL> {
    type Slot = bool;
    fn empty(&self) -> bool {
        ALL
    }
    fn run(&self, vals: &[bool], _: &dyn Fn(usize) -> i64) -> bool {
        if ALL {
            vals.iter().all(|&v| v)
        } else {
            vals.iter().any(|&v| v)
        }
    }
    fn update(&self, slots: &mut [bool], vals: &[bool], _: i64) {
        for (s, &v) in slots.iter_mut().zip(vals) {
            *s = if ALL { *s & v } else { *s | v };
        }
    }
    fn merge(&self, a: bool, b: bool) -> bool {
        if ALL { a & b } else { a | b }
    }
}

/// Count, mean and sum of squared deviations (the `Mean`/`Var`/`Std` state).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    /// Number of elements.
    pub(crate) n: f64,
    /// Their mean.
    pub(crate) mean: f64,
    /// Sum of squared deviations from the mean.
    pub(crate) m2: f64,
}

impl Moments {
    /// Chan et al.'s parallel merge.
    pub(crate) fn merge(a: Moments, b: Moments) -> Moments {
        if a.n == 0.0 {
            return b;
        }
        if b.n == 0.0 {
            return a;
        }
        let n = a.n + b.n;
        let delta = b.mean - a.mean;
        let f = b.n / n;
        Moments {
            n,
            mean: shifted_mean(a.mean, delta, f, b.mean),
            m2: a.m2 + b.m2 + delta * delta * (a.n * f),
        }
    }
}

/// `mean + delta * f`, the mean moved a fraction `f` of the way to `target` (`delta = target -
/// mean`), or the weighted sum `mean * (1 - f) + target * f` where `delta` is not finite: an
/// infinite mean minus a finite one would otherwise give `inf - inf` (NaN) where NumPy's
/// `sum / n` gives the infinity, and two finite means far apart would overflow. The weighted
/// form gives NaN exactly where NumPy does (opposite infinities, or a NaN).
#[inline(always)]
pub(crate) fn shifted_mean(mean: f64, delta: f64, f: f64, target: f64) -> f64 {
    if delta.is_finite() {
        mean + delta * f
    } else {
        mean * (1.0 - f) + target * f
    }
}

/// Mean (`m2 == false`: the deviations are not tracked) or variance statistics.
pub(crate) struct MomentsFold {
    /// Track `m2`.
    pub(crate) m2: bool,
}

impl<T: Elem> Fold<T> for MomentsFold {
    type Slot = Moments;
    fn empty(&self) -> Moments {
        Moments::default()
    }
    fn run(&self, vals: &[T], _: &dyn Fn(usize) -> i64) -> Moments {
        if vals.is_empty() {
            return Moments::default();
        }
        let n = vals.len() as f64;
        if !self.m2 {
            let sum = wide::sum(vals);
            return Moments {
                n,
                mean: sum / n,
                m2: 0.0,
            };
        }
        // Two passes over the L1-resident run (each a vectorized lane loop): the mean, then the
        // squared deviations from it. Exact two-pass accuracy at the cost of L1 reads.
        let mean = wide::sum(vals) / n;
        let m2 = wide::m2(vals, mean);
        Moments { n, mean, m2 }
    }
    fn update(&self, slots: &mut [Moments], vals: &[T], _: i64) {
        // Welford's update, one element per slot. Every slot of a row has seen the same rows,
        // so they share one count and one reciprocal (no division per element).
        let Some(count) = slots.first().map(|s| s.n + 1.0) else {
            return;
        };
        debug_assert!(slots.iter().all(|s| s.n + 1.0 == count));
        let inv = 1.0 / count;
        for (s, &v) in slots.iter_mut().zip(vals) {
            let x = v.as_f64();
            s.n = count;
            let d = x - s.mean;
            s.mean = shifted_mean(s.mean, d, inv, x);
            if self.m2 {
                s.m2 += d * (x - s.mean);
            }
        }
    }
    fn merge(&self, a: Moments, b: Moments) -> Moments {
        Moments::merge(a, b)
    }
}

/// The argmin/argmax state: the best value and its reduced-space index (`-1`: no element yet).
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct ArgSlot<T> {
    /// The best value so far.
    pub(crate) value: T,
    /// Its index over the reduced axes of the global shape.
    pub(crate) index: i64,
}

/// Argmin (`MAX == false`) or argmax: first occurrence wins; NaN counts as the extreme.
pub(crate) struct Arg<const MAX: bool>;

impl<const MAX: bool> Arg<MAX> {
    /// True when `x` beats `y` strictly.
    #[inline(always)]
    fn better<T: Elem>(x: T, y: T) -> bool {
        if y.is_nan() {
            return false;
        }
        x.is_nan() || if MAX { x > y } else { x < y }
    }
}

impl<T: Elem, const MAX: bool> Fold<T> for Arg<MAX> {
    type Slot = ArgSlot<T>;
    const NEEDS_INDEX: bool = true;
    fn empty(&self) -> ArgSlot<T> {
        ArgSlot {
            value: T::default(),
            index: -1,
        }
    }
    fn run(&self, vals: &[T], index: &dyn Fn(usize) -> i64) -> ArgSlot<T> {
        if vals.is_empty() {
            return Fold::<T>::empty(self);
        }
        // Vectorized passes over the L1-resident run: the first NaN if there is one, else the
        // extreme value and then its first position (ties: first occurrence).
        let nan = if any_nan(vals) {
            first_match(vals, |v: T| v.is_nan())
        } else {
            None
        };
        let best = nan.unwrap_or_else(|| {
            let m = Extreme::<MAX>::plain(vals, vals[0]);
            first_match(vals, |v| v == m).unwrap_or(0)
        });
        ArgSlot {
            value: vals[best],
            index: index(best),
        }
    }
    fn update(&self, slots: &mut [ArgSlot<T>], vals: &[T], index: i64) {
        for (s, &v) in slots.iter_mut().zip(vals) {
            if s.index < 0 || Self::better(v, s.value) {
                *s = ArgSlot { value: v, index };
            }
        }
    }
    fn merge(&self, a: ArgSlot<T>, b: ArgSlot<T>) -> ArgSlot<T> {
        if a.index < 0 {
            return b;
        }
        if b.index < 0 || Self::better(a.value, b.value) {
            return a;
        }
        if Self::better(b.value, a.value) {
            return b;
        }
        // Equal (or both NaN): the first occurrence wins, whatever order the states came in.
        if b.index < a.index { b } else { a }
    }
}
