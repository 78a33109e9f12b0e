// Integer helpers with NumPy semantics: remainder takes the divisor's sign and x % 0 == 0;
// power wraps, and a negative exponent gives 0 unless the base is 1 or -1.

fn tw_rem_i32(a: i32, b: i32) -> i32 {
    if (b == 0) {
        return 0;
    }
    // Unsigned magnitudes: `%` on negative operands is undefined in GLSL (the GL backend).
    // bitcast(abs(MIN)) is 2^31, the right magnitude.
    let ua = bitcast<u32>(abs(a));
    let ub = bitcast<u32>(abs(b));
    let m = ua % ub;
    // Truncated remainder (sign of a), then moved to the divisor's sign as NumPy does.
    let r = select(bitcast<i32>(m), -bitcast<i32>(m), a < 0);
    if (r != 0 && ((r < 0) != (b < 0))) {
        return r + b;
    }
    return r;
}

fn tw_rem_u32(a: u32, b: u32) -> u32 {
    if (b == 0u) {
        return 0u;
    }
    return a % b;
}

fn tw_pow_u32(a: u32, b: u32) -> u32 {
    var base = a;
    var e = b;
    var acc = 1u;
    while (e > 0u) {
        if ((e & 1u) == 1u) {
            acc = acc * base;
        }
        base = base * base;
        e = e >> 1u;
    }
    return acc;
}

fn tw_pow_i32(a: i32, b: i32) -> i32 {
    if (b < 0) {
        if (a == 1) {
            return 1;
        }
        if (a == -1) {
            return select(-1, 1, (b & 1) == 0);
        }
        return 0;
    }
    return bitcast<i32>(tw_pow_u32(bitcast<u32>(a), u32(b)));
}
