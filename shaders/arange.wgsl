// Arange: the element with global flat index g is start + g * step computed in f64 (two
// roundings, no fused multiply-add), or exactly `last` at flat index `last_index`, then cast
// to the output dtype. Needs SHADER_F64.
//
// params: [n, <global index block, see index.wgsl>, start (lo, hi), step (lo, hi),
//          has_last, last_index (lo, hi), last (lo, hi)]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<{{ storage }}>;

{{ helpers }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let g = tw_global_index(i, 1u);
    let p = 4u + 3u * params[1];
    let start = tw_f64_from_bits(params[p], params[p + 1u]);
    let step = tw_f64_from_bits(params[p + 2u], params[p + 3u]);
    var v = start + tw_u64_to_f64(g) * step;
    if (params[p + 4u] == 1u && g.x == params[p + 5u] && g.y == params[p + 6u]) {
        v = tw_f64_from_bits(params[p + 7u], params[p + 8u]);
    }
    out[i] = {{ value }};
}
