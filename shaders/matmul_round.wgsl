// Matmul, last step for f16 with several (a, b) pairs: the pairs were summed in an f32 buffer
// (as the CPU sums them, rounding once at the end); this rounds each sum to the f16 output.
//
// params: [n]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<{{ out_elem }}>;

{{ helpers }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let x = sums[i];
    out[i] = {{ store }};
}
