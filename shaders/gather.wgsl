// Gather: copies one piece (a strided view of the input) into a box of the output. One launch
// per piece, in order; the output was filled first. Elements are copied as raw storage words,
// so one shader serves every dtype of the same storage size.
//
// params: [n, rank, dst_base, src_base, then per piece axis (outermost first): length,
//          dst stride, src stride (i32, may be negative or 0)]
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
    let rank = params[1];
    var rem = i;
    var d = params[2];
    var s = bitcast<i32>(params[3]);
    for (var k = 0u; k < rank; k++) {
        let at = 4u + (rank - 1u - k) * 3u;
        let len = params[at];
        let idx = rem % len;
        rem = rem / len;
        d = d + idx * params[at + 1u];
        s = s + i32(idx) * bitcast<i32>(params[at + 2u]);
    }
    dst[d] = src[u32(s)];
}
