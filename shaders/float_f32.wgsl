// f32 bit-level helpers. NaN tests read the bits: drivers may fold `x != x` to false.

fn tw_isnan_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn tw_isfinite_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn tw_nan_f32() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

// tanh without the inf/inf of large arguments (from |x| = 10 on, tanh(x) rounds to +-1), and
// NaN in, NaN out (GL's tanh gives -1).
fn tw_tanh_f32(x: f32) -> f32 {
    if (tw_isnan_f32(x)) {
        return x;
    }
    return select(tanh(x), sign(x), abs(x) >= 10.0);
}

fn tw_is_odd_integer_f32(y: f32) -> bool {
    // f32 values of magnitude 2^24 and beyond are even integers.
    return abs(y) < 16777216.0 && floor(y) == y && (i32(y) & 1) != 0;
}

// C `powf` semantics (IEEE special cases) with the magnitude from exp2(y * log2|x|).
fn tw_pow_f32(x: f32, y: f32) -> f32 {
    let inf = bitcast<f32>(0x7f800000u);
    if (y == 0.0 || x == 1.0) {
        return 1.0;
    }
    if (tw_isnan_f32(x) || tw_isnan_f32(y)) {
        return tw_nan_f32();
    }
    let ax = abs(x);
    let odd = tw_is_odd_integer_f32(y);
    if (!tw_isfinite_f32(y)) {
        if (ax == 1.0) {
            return 1.0;
        }
        return select(0.0, inf, (ax > 1.0) == (y > 0.0));
    }
    if (x == 0.0 || !tw_isfinite_f32(x)) {
        // |x| is 0 or inf: the magnitude is 0 or inf, the sign x's for odd integer y.
        let big = (x == 0.0) == (y < 0.0);
        let m = select(0.0, inf, big);
        return select(m, -m, odd && (bitcast<u32>(x) >> 31u) == 1u);
    }
    if (x < 0.0 && floor(y) != y) {
        return tw_nan_f32();
    }
    let m = exp2(y * log2(ax));
    return select(m, -m, x < 0.0 && odd);
}

// The low 32 bits of Rust's `x as i64` (truncation, saturating, NaN to 0): casts of floats to
// the 32-bit and 8-bit integer dtypes wrap those bits, as NumPy's astype does.
fn tw_low32_f32(x: f32) -> u32 {
    if (tw_isnan_f32(x)) {
        return 0u;
    }
    let t = trunc(x);
    let a = abs(t);
    if (a >= 9223372036854775808.0) {
        return select(0u, 0xffffffffu, t > 0.0);
    }
    // Both steps are exact: a power-of-two scaling and the removal of the top bits.
    let hi = floor(a / 4294967296.0);
    let lo = u32(a - hi * 4294967296.0);
    return select(lo, 0u - lo, t < 0.0);
}
