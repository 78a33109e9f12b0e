// ScanLocal, one workgroup per line: tiles of one element per invocation are scanned in
// workgroup memory (Hillis-Steele, log2(workgroup) rounds) and the running total of earlier
// tiles is combined in front, tile after tile. Floats round differently from the CPU's serial
// order (see the tolerance in tests/gpu/scan.rs); the algebra is generated as in
// scan_lines.wgsl.
//
// params: [lines, len, inner]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<{{ in_elem }}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{ out_elem }}>;
@group(0) @binding(3) var<storage, read_write> last: array<{{ out_elem }}>;

{{ helpers }}

{{ algebra }}

const WG: u32 = {{ workgroup }}u;

var<workgroup> sh: array<{{ acc }}, {{ workgroup }}>;

@compute @workgroup_size({{ workgroup }})
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // Uniform for the whole workgroup, so the early return keeps the barriers uniform.
    let line = wid.x + wid.y * nwg.x;
    if (line >= params[0]) {
        return;
    }
    let len = params[1];
    let inner = params[2];
    let base = (line / inner) * len * inner + line % inner;
    var carry = sc_identity();
    for (var t0 = 0u; t0 < len; t0 += WG) {
        let j = t0 + t;
        var x = sc_identity();
        if (j < len) {
            x = sc_from(src[base + j * inner]);
        }
        sh[t] = x;
        workgroupBarrier();
        for (var d = 1u; d < WG; d = d * 2u) {
            var left = x;
            if (t >= d) {
                left = sh[t - d];
            }
            workgroupBarrier();
            if (t >= d) {
                x = sc_combine(left, x);
                sh[t] = x;
            }
            workgroupBarrier();
        }
        if (t0 > 0u) {
            x = sc_combine(carry, x);
        }
        if (j < len) {
            out[base + j * inner] = sc_to(x);
        }
        if (j + 1u == len) {
            last[line] = sc_to(x);
        }
        // Only full tiles carry on (a partial tile is the last), so padding never enters.
        let total = sh[WG - 1u];
        if (t0 > 0u) {
            carry = sc_combine(carry, total);
        } else {
            carry = total;
        }
        workgroupBarrier();
    }
    if (len == 0u && t == 0u) {
        last[line] = sc_to(sc_identity());
    }
}
