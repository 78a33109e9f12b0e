// f16 without SHADER_F16: elements are stored as their bits in the low half of a u32 and
// converted here with round-to-nearest-even, as the `half` crate does on the CPU.

fn tw_f16_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        // Zero or subnormal: m * 2^-24 is a normal f32 (or zero), exact.
        let mag = f32(m) * 5.9604644775390625e-8;
        return bitcast<f32>(bitcast<u32>(mag) | sign);
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn tw_f32_to_f16(v: f32) -> u32 {
    let x = bitcast<u32>(v);
    let sign = (x >> 16u) & 0x8000u;
    let e = (x >> 23u) & 0xffu;
    let m = x & 0x7fffffu;
    if (e == 0xffu) {
        return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
    }
    let ue = i32(e) - 127;
    if (ue > 15) {
        return sign | 0x7c00u;
    }
    if (ue >= -14) {
        var h = (u32(ue + 15) << 10u) | (m >> 13u);
        let rest = m & 0x1fffu;
        // A carry out of the mantissa bumps the exponent, up to infinity: still correct.
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) {
            h = h + 1u;
        }
        return sign | h;
    }
    if (ue < -25) {
        return sign;
    }
    // Subnormal result: drop the bits below 2^-24.
    let full = m | 0x800000u;
    let shift = u32(-ue - 1);
    var h = full >> shift;
    let rest = full & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u) == 1u)) {
        h = h + 1u;
    }
    return sign | h;
}

fn tw_round_f16(v: f32) -> f32 {
    return tw_f16_to_f32(tw_f32_to_f16(v));
}
