// Shared helpers: 64-bit unsigned arithmetic on vec2<u32>(low, high) and the global C-order
// flat index of a chunk element. Source kernels (arange, random) include this file.

// The full 64-bit product of two u32 values.
fn tw_mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(a * b, hi);
}

fn tw_add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn tw_sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn tw_ge64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y > b.y || (a.y == b.y && a.x >= b.x);
}

// a * b modulo 2^64.
fn tw_mul64_32(a: vec2<u32>, b: u32) -> vec2<u32> {
    let p = tw_mul_wide(a.x, b);
    return vec2<u32>(p.x, p.y + a.y * b);
}

// a mod m (m != 0) by binary long division.
fn tw_mod64(a: vec2<u32>, m: vec2<u32>) -> vec2<u32> {
    var r = vec2<u32>(0u, 0u);
    for (var k = 0u; k < 64u; k++) {
        let b = 63u - k;
        var bit = 0u;
        if (b >= 32u) {
            bit = (a.y >> (b - 32u)) & 1u;
        } else {
            bit = (a.x >> b) & 1u;
        }
        // Shifting out a set top bit means r >= 2^64 > m: subtract (mod 2^64 it comes out right).
        let carry = (r.y >> 31u) == 1u;
        r = vec2<u32>((r.x << 1u) | bit, (r.y << 1u) | (r.x >> 31u));
        if (carry || tw_ge64(r, m)) {
            r = tw_sub64(r, m);
        }
    }
    return r;
}

// The global flat index of element `i` of a chunk. At params[base]: rank, the chunk's first
// global flat index (low, high), then per axis (outermost first): the chunk's length on that
// axis and the global stride (low, high).
fn tw_global_index(i: u32, base: u32) -> vec2<u32> {
    let rank = params[base];
    var rem = i;
    var g = vec2<u32>(params[base + 1u], params[base + 2u]);
    for (var k = 0u; k < rank; k++) {
        let at = base + 3u + (rank - 1u - k) * 3u;
        let dim = params[at];
        let idx = rem % dim;
        rem = rem / dim;
        g = tw_add64(g, tw_mul64_32(vec2<u32>(params[at + 1u], params[at + 2u]), idx));
    }
    return g;
}
