// Reshape: copies the elements of one input block into an output block of a C-order reshape.
// One launch per input block; each output element finds its global flat index, unravels it
// in the input shape and copies when that lands inside this input block. Global sizes are
// below 2^32 (the backend checks).
//
// params: [n, out_rank, in_rank, then per output axis: block length, block start, global
//          stride; then per input axis: global length, block start, block length]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<{{ elem }}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ elem }}>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let out_rank = params[1];
    let in_rank = params[2];
    var rem = i;
    var flat = 0u;
    for (var k = 0u; k < out_rank; k++) {
        let at = 3u + (out_rank - 1u - k) * 3u;
        let len = params[at];
        flat = flat + (params[at + 1u] + rem % len) * params[at + 2u];
        rem = rem / len;
    }
    let base = 3u + out_rank * 3u;
    var local = 0u;
    var stride = 1u;
    for (var k = 0u; k < in_rank; k++) {
        let at = base + (in_rank - 1u - k) * 3u;
        let u = flat % params[at];
        flat = flat / params[at];
        let start = params[at + 1u];
        let len = params[at + 2u];
        if (u < start || u >= start + len) {
            return;
        }
        local = local + (u - start) * stride;
        stride = stride * len;
    }
    dst[i] = src[local];
}
