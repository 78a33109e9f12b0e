//! Special values of every function (NaN, infinities, signed zeros, subnormals, overflow and
//! underflow), exactly, under every ISA, on slices that take each trig path.

use super::Func;
use super::tests::{Probe, isas};

fn expect<T: Probe>(f: Func, cases: &[(f64, f64)], same: impl Fn(f64, f64) -> bool) {
    let xs: Vec<T> = cases.iter().map(|c| T::of(c.0)).collect();
    let mut out = xs.clone();
    for isa in isas() {
        T::eval_on(isa, f, &xs, &mut out);
        for (&(x, want), &got) in cases.iter().zip(&out) {
            let got = got.into();
            assert!(
                same(got, want),
                "{isa:?} {f:?}({x:e}) = {got:e}, want {want:e}"
            );
        }
    }
}

fn exact(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Within 1e-6 relative; zeros and special values exactly (signs included).
fn close(a: f64, b: f64) -> bool {
    exact(a, b) || (b != 0.0 && (a - b).abs() <= b.abs() * 1e-6)
}

fn special_values<T: Probe>() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let (tiny, min, max): (f64, f64, f64) = (T::TINY.into(), T::MIN_POS.into(), T::MAX.into());
    let sub = min / 8.0;
    // Alone, with a moderate value and with a huge one (the std fallback): trig maps NaN and
    // infinities to NaN and keeps signed zeros.
    for extra in [0.5, 3e5, 1e30] {
        let e: f64 = T::of(extra).into();
        let odd = [(0.0, 0.0), (-0.0, -0.0), (sub, sub), (-tiny, -tiny)];
        let bad = [(nan, nan), (inf, nan), (-inf, nan)];
        expect::<T>(
            Func::Sin,
            &[&bad[..], &odd, &[(e, e.sin())]].concat(),
            close,
        );
        expect::<T>(
            Func::Tan,
            &[&bad[..], &odd, &[(e, e.tan())]].concat(),
            close,
        );
        let even = [(0.0, 1.0), (-0.0, 1.0), (tiny, 1.0), (e, e.cos())];
        expect::<T>(Func::Cos, &[&bad[..], &even].concat(), close);
    }
    let exps = [
        (nan, nan),
        (inf, inf),
        (-inf, 0.0),
        (0.0, 1.0),
        (-0.0, 1.0),
        (tiny, 1.0),
    ];
    let huge = [
        (max, inf),
        (-max, 0.0),
        (1000.0, inf),
        (-1000.0, 0.0),
        (1.0, 1f64.exp()),
    ];
    expect::<T>(Func::Exp, &[&exps[..], &huge].concat(), close);
    let logs = [
        (nan, nan),
        (inf, inf),
        (-inf, nan),
        (0.0, -inf),
        (-0.0, -inf),
        (-1.0, nan),
    ];
    let more = [
        (-tiny, nan),
        (1.0, 0.0),
        (tiny, tiny.ln()),
        (sub, sub.ln()),
        (max, max.ln()),
    ];
    expect::<T>(Func::Log, &[&logs[..], &more].concat(), close);
    let tanh = [
        (nan, nan),
        (inf, 1.0),
        (-inf, -1.0),
        (0.0, 0.0),
        (-0.0, -0.0),
        (tiny, tiny),
    ];
    let more = [
        (-sub, -sub),
        (max, 1.0),
        (-30.0, -1.0),
        (0.5, 0.5f64.tanh()),
    ];
    expect::<T>(Func::Tanh, &[&tanh[..], &more].concat(), close);
    // exp has gradual underflow: a subnormal result within an ulp of the subnormal grid.
    let lo = if min > 1e-100 { -100.0 } else { -740.0 };
    let mut out = [T::of(lo)];
    T::eval(Func::Exp, &[T::of(lo)], &mut out);
    let got: f64 = out[0].into();
    assert!(got > 0.0 && got < min, "exp({lo}) = {got:e}");
    assert!((got - lo.exp()).abs() <= tiny, "exp({lo}) = {got:e}");
}

#[test]
fn f32_special_values() {
    special_values::<f32>();
}

#[test]
fn f64_special_values() {
    special_values::<f64>();
}
