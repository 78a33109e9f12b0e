// i64 arithmetic on vec2<u32>(low, high) two's complement words, wrapping like Rust's
// wrapping_add / wrapping_mul. Shared by the reduce and scan kernels; builds on index.wgsl.

fn rd_mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let p = tw_mul_wide(a.x, b.x);
    return vec2<u32>(p.x, p.y + a.x * b.y + a.y * b.x);
}

fn rd_i64_from_i32(v: i32) -> vec2<u32> {
    return vec2<u32>(bitcast<u32>(v), select(0u, 0xffffffffu, v < 0));
}

fn rd_i64_from_u32(v: u32) -> vec2<u32> {
    return vec2<u32>(v, 0u);
}

// Signed a < b.
fn rd_lt_i64(a: vec2<u32>, b: vec2<u32>) -> bool {
    let ah = bitcast<i32>(a.y);
    let bh = bitcast<i32>(b.y);
    return ah < bh || (ah == bh && a.x < b.x);
}

