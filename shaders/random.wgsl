// Random: Philox 4x32-10 by global flat index, bit-identical to tilework_core::random.
//
// Element with global C-order flat index g draws w = philox([g_lo, g_hi, 0, 0], [seed_lo,
// seed_hi]); the `value` placeholder turns w into the output value (see kernels/random.rs for the exact
// per-distribution formulas, the CPU backend's source.rs for the contract).
//
// params: [n, <global index block, see index.wgsl>, seed_lo, seed_hi, distribution words...]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<{{ storage }}>;

fn tw_philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        if (r > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let p0 = tw_mul_wide(0xD2511F53u, c.x);
        let p1 = tw_mul_wide(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.y ^ c.y ^ k.x, p1.x, p0.y ^ c.w ^ k.y, p0.x);
    }
    return c;
}

{{ helpers }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let g = tw_global_index(i, 1u);
    // Distribution parameters follow the index block.
    let p = 4u + 3u * params[1];
    let w = tw_philox(vec4<u32>(g.x, g.y, 0u, 0u), vec2<u32>(params[p], params[p + 1u]));
    out[i] = {{ value }};
}
