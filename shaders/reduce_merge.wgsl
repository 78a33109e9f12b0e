// Reduce, merge pass: output element `o0 + i` is the in-order merge of the `m` states
// part[i * m .. i * m + m) (splits of a two-pass partial, or the k states of a `Combine`),
// written to the state's component buffers by the generated `rd_sink`.
//
// params: [n, m, o0]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
{{ bindings }}

{{ helpers }}

{{ state }}

{{ sink }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let m = params[1];
    var s = part[i * m];
    for (var j = 1u; j < m; j++) {
        s = st_merge(s, part[i * m + j]);
    }
    rd_sink(params[2] + i, s);
}
