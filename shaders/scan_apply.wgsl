// ScanApply and ScanCarry: out[e] = a[e] (op) b[k], where `b` is `a` with the scanned axis
// reduced to length 1 and broadcast along it (ScanCarry: len = 1, so k = e). The generated
// `sc_combine` rounds f16 after the operation, as the CPU does.
//
// params: [n, len, inner]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<{{ out_elem }}>;
@group(0) @binding(2) var<storage, read> b: array<{{ out_elem }}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{ out_elem }}>;

{{ helpers }}

{{ algebra }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (e >= params[0]) {
        return;
    }
    let inner = params[2];
    let k = (e / (params[1] * inner)) * inner + e % inner;
    out[e] = sc_to(sc_combine(sc_from_out(a[e]), sc_from_out(b[k])));
}
