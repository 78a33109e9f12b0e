// f64 helpers (needs SHADER_F64). WGSL has no 64-bit bitcast without SHADER_INT64, so NaN tests
// use an ordered comparison and f64 values travel in params as two u32 words.

fn tw_isnan_f64(x: f64) -> bool {
    return !(x == x);
}

fn tw_isfinite_f64(x: f64) -> bool {
    return abs(x) <= 1.7976931348623157e308;
}

// `r`, an integer rounding of `x` (round, floor or ceil), with the sign of `x`: lavapipe's f64
// rounding returns +0 for -0.3 and -0, where IEEE (and the CPU) give -0.
fn tw_keep_sign_f64(r: f64, x: f64) -> f64 {
    return select(select(r, -abs(r), x < 0.0), x, x == 0.0);
}

// Round half to even, from floor: lavapipe's f64 `round` sends 1.5 to 1. `x - floor(x)` is exact,
// and from 2^52 on every f64 is an integer (the fraction is 0, so `f` is returned).
fn tw_round_f64(x: f64) -> f64 {
    let f = floor(x);
    let frac = x - f;
    let f_is_odd = f * 0.5 != floor(f * 0.5);
    let up = frac > 0.5 || (frac == 0.5 && f_is_odd);
    return tw_keep_sign_f64(select(f, f + 1.0, up), x);
}

fn tw_nan_f64() -> f64 {
    return f64(bitcast<f32>(0x7fc00000u));
}

// The f64 whose IEEE bits are (hi << 32) | lo, built exactly from its fields.
fn tw_f64_from_bits(lo: u32, hi: u32) -> f64 {
    let negative = (hi >> 31u) == 1u;
    let e = i32((hi >> 20u) & 0x7ffu);
    let mant = f64(hi & 0xfffffu) * 4294967296.0 + f64(lo);
    var m: f64;
    if (e == 0x7ff) {
        m = select(f64(bitcast<f32>(0x7f800000u)), tw_nan_f64(), mant != 0.0);
    } else if (e == 0) {
        m = ldexp(mant, -1074);
    } else {
        m = ldexp(mant + 4503599627370496.0, e - 1075);
    }
    return select(m, -m, negative);
}

// u64 (low, high) to f64 with one rounding, as Rust's `as f64`.
fn tw_u64_to_f64(v: vec2<u32>) -> f64 {
    return f64(v.y) * 4294967296.0 + f64(v.x);
}

fn tw_low32_f64(x: f64) -> u32 {
    if (tw_isnan_f64(x)) {
        return 0u;
    }
    let t = trunc(x);
    let a = abs(t);
    if (a >= 9223372036854775808.0) {
        return select(0u, 0xffffffffu, t > 0.0);
    }
    let hi = floor(a / 4294967296.0);
    let lo = u32(a - hi * 4294967296.0);
    return select(lo, 0u - lo, t < 0.0);
}
