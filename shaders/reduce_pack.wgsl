// Reduce, pack pass of `Combine`: copies state j (one buffer per component) of output elements
// o0 .. o0 + n into the scratch array, at part[i * m + j], for the merge pass.
//
// params: [n, m, j, o0]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
{{ bindings }}

{{ helpers }}

{{ state }}

{{ load }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    part[i * params[1] + params[2]] = rd_load(params[3] + i);
}
