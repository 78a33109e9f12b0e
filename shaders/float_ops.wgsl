// Float helpers shared by f32 and f64 (the F placeholder); they build on float_f32/f64.wgsl.

// C fmod, exactly: repeatedly subtract the largest |y| * 2^k not above the remainder (k found
// by bisection; frexp would give an i64 exponent for f64). Each subtraction is exact
// (Sterbenz) and at least halves the remainder.
fn tw_fmod_{{ F }}(x: {{ F }}, y: {{ F }}) -> {{ F }} {
    if (tw_isnan_{{ F }}(x) || tw_isnan_{{ F }}(y) || !tw_isfinite_{{ F }}(x) || y == 0.0) {
        return tw_nan_{{ F }}();
    }
    if (!tw_isfinite_{{ F }}(y)) {
        return x;
    }
    let ay = abs(y);
    var r = abs(x);
    loop {
        if (r < ay) {
            break;
        }
        // ay * 2^lo <= r < ay * 2^hi; 2100 exceeds every exponent difference of f64.
        var lo = 0;
        var hi = 2100;
        while (hi - lo > 1) {
            let mid = (lo + hi) / 2;
            if (ldexp(ay, mid) <= r) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        r = r - ldexp(ay, lo);
    }
    return select(r, -r, x < 0.0);
}

// NumPy's remainder: fmod moved to the divisor's sign; a zero result takes the divisor's sign.
fn tw_rem_{{ F }}(a: {{ F }}, b: {{ F }}) -> {{ F }} {
    let m = tw_fmod_{{ F }}(a, b);
    if (b == 0.0) {
        return m;
    }
    if (!(m == 0.0)) {
        if ((b < 0.0) != (m < 0.0)) {
            return m + b;
        }
        return m;
    }
    let zero = {{ F }}(0);
    return select(zero, -zero, b < 0.0);
}

// NumPy's maximum and minimum: NaN in either operand propagates.
fn tw_maximum_{{ F }}(a: {{ F }}, b: {{ F }}) -> {{ F }} {
    return select(b, a, a >= b || tw_isnan_{{ F }}(a));
}

fn tw_minimum_{{ F }}(a: {{ F }}, b: {{ F }}) -> {{ F }} {
    return select(b, a, a <= b || tw_isnan_{{ F }}(a));
}
