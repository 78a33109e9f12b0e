// ScanLocal, one invocation per line: the line's elements (stride `inner`) accumulate serially,
// in the order and with the rounding of the CPU backend, so the result is the CPU's bit for
// bit. Used for f16 (rounded at every step), short lines, and many lines. `sc_from` (input
// element to accumulator), `sc_combine`, `sc_to` (accumulator to output element) and
// `sc_identity` are generated.
//
// params: [lines, len, inner]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<{{ in_elem }}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{ out_elem }}>;
@group(0) @binding(3) var<storage, read_write> last: array<{{ out_elem }}>;

{{ helpers }}

{{ algebra }}

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let len = params[1];
    let inner = params[2];
    let base = (i / inner) * len * inner + i % inner;
    // The first element is copied, not combined with the identity (which would turn -0 into +0).
    var acc = sc_identity();
    for (var j = 0u; j < len; j++) {
        let at = base + j * inner;
        let x = sc_from(src[at]);
        if (j == 0u) {
            acc = x;
        } else {
            acc = sc_combine(acc, x);
        }
        out[at] = sc_to(acc);
    }
    last[i] = sc_to(acc);
}
