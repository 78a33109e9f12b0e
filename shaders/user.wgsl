// User kernels with a WGSL body (map_blocks and map_overlap): one invocation per output element.
// The generated accessors inK(d0, ..) read input K at the current element's position plus an
// offset, clamped to the input block (the halo-extended block for map_overlap, where positions
// in a constant-boundary region read the constant); coord(axis) and size(axis) give the
// element's global index and the whole output's shape.
//
// params: [n, rank, then per axis: output length, global start, global length,
//          then per input, per axis: input length, origin (i32: the block position of
//          output element 0),
//          then the number of constant regions, then per region, per axis: start, end (i32)]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
{{ bindings }}

const TW_RANK: u32 = {{ rank }}u;
const TW_INPUTS: u32 = {{ inputs }}u;
var<private> tw_pos: array<u32, {{ rank }}>;

{{ helpers }}

// Global index of the current element along `axis`.
fn coord(axis: u32) -> u32 {
    return params[3u + 3u * axis] + tw_pos[min(axis, TW_RANK - 1u)];
}

// Length of the whole output array along `axis`.
fn size(axis: u32) -> u32 {
    return params[4u + 3u * axis];
}

// Block position of the current element shifted by `d`, as input `k` sees it.
fn tw_at(k: u32, d: array<i32, {{ rank }}>) -> array<i32, {{ rank }}> {
    let base = 2u + 3u * TW_RANK + 2u * TW_RANK * k;
    var shift = d;
    var c: array<i32, {{ rank }}>;
    for (var a = 0u; a < TW_RANK; a++) {
        c[a] = i32(tw_pos[a]) + bitcast<i32>(params[base + 2u * a + 1u]) + shift[a];
    }
    return c;
}

// Flat index into input `k` of block position `c`, clamped to the block.
fn tw_index(k: u32, c: array<i32, {{ rank }}>) -> u32 {
    let base = 2u + 3u * TW_RANK + 2u * TW_RANK * k;
    var at = c;
    var flat = 0u;
    for (var a = 0u; a < TW_RANK; a++) {
        let len = params[base + 2u * a];
        flat = flat * len + u32(clamp(at[a], 0, i32(len) - 1));
    }
    return flat;
}

// Whether block position `c` lies in a constant-boundary region.
fn tw_constant(c: array<i32, {{ rank }}>) -> bool {
    let base = 2u + 3u * TW_RANK + 2u * TW_RANK * TW_INPUTS;
    var at = c;
    for (var r = 0u; r < params[base]; r++) {
        var inside = true;
        for (var a = 0u; a < TW_RANK; a++) {
            let w = base + 1u + 2u * (r * TW_RANK + a);
            inside = inside && at[a] >= bitcast<i32>(params[w]) && at[a] < bitcast<i32>(params[w + 1u]);
        }
        if (inside) {
            return true;
        }
    }
    return false;
}

{{ accessors }}
// ---- user helpers ----
{{ user_helpers }}
// ---- user body ----
fn tw_user() -> {{ out_type }} {
{{ body }}
}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    var rem = i;
    for (var k = 0u; k < TW_RANK; k++) {
        let a = TW_RANK - 1u - k;
        let len = params[2u + 3u * a];
        tw_pos[a] = rem % len;
        rem = rem / len;
    }
    let value = tw_user();
    tw_out[i] = {{ store }};
}
