// Eye: one where the global column minus the global row equals k, zero elsewhere.
//
// params: [n, cols, d] with d = k + row0 - col0 (clamped so that out-of-range offsets match no
// element): the local element (r, c) is on the diagonal when c == r + d.
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
    let cols = params[1];
    let r = i32(i / cols);
    let c = i32(i % cols);
    out[i] = select({{ zero }}, {{ one }}, c - r == bitcast<i32>(params[2]));
}
