// Reduce, partial stage: every work item is one output element (or one split of its reduced
// elements, when a large reduction runs in two passes). `lanes` consecutive invocations share
// an item: each folds every lanes-th element of the item's range into its own state, then the
// lanes merge in workgroup memory as a binary tree. The state algebra (`State`, `st_empty`,
// `st_fold`, `st_merge`), the fused producer `rd_value` and the output writer `rd_sink` are
// generated per kernel (see kernels/reduce/).
//
// params: [items, lanes, splits, per (elements per split), count (elements per output),
//          kept groups K, reduced groups R, index offset (low, high),
//          then per kept group (outermost first): length, stride of each input,
//          then per reduced group (outermost first): length, stride of each input,
//          index multiplier (low, high)]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
{{ bindings }}

{{ helpers }}

{{ state }}

{{ value }}

{{ sink }}

// Inputs of the producer, and the length of the offset arrays (at least 1).
const NI: u32 = {{ inputs }}u;
const NA: u32 = {{ slots }}u;
const HEAD: u32 = 9u;

var<workgroup> sh: array<State, {{ workgroup }}>;

@compute @workgroup_size({{ workgroup }})
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let lanes = params[1];
    let item = (wid.x + wid.y * nwg.x) * ({{ workgroup }}u / lanes) + t / lanes;
    let lane = t % lanes;
    var s = st_empty();
    if (item < params[0]) {
        let splits = params[2];
        let o = item / splits;
        let k0 = (item % splits) * params[3];
        let k1 = min(k0 + params[3], params[4]);
        let nk = params[5];
        let nr = params[6];
        // Input offsets of the output element: its kept coordinates times the input strides.
        var base: array<u32, NA>;
        var rem = o;
        for (var g = 0u; g < nk; g++) {
            let at = HEAD + (nk - 1u - g) * (1u + NI);
            let len = params[at];
            let idx = rem % len;
            rem = rem / len;
            for (var j = 0u; j < NI; j++) {
                base[j] = base[j] + idx * params[at + 1u + j];
            }
        }
        let rb = HEAD + nk * (1u + NI);
        for (var k = k0 + lane; k < k1; k += lanes) {
            var off = base;
            var gi = vec2<u32>(params[7], params[8]);
            var r = k;
            for (var g = 0u; g < nr; g++) {
                let at = rb + (nr - 1u - g) * (3u + NI);
                let len = params[at];
                let idx = r % len;
                r = r / len;
                for (var j = 0u; j < NI; j++) {
                    off[j] = off[j] + idx * params[at + 1u + j];
                }
                let mul = vec2<u32>(params[at + 1u + NI], params[at + 2u + NI]);
                gi = tw_add64(gi, tw_mul64_32(mul, idx));
            }
            s = st_fold(s, rd_value(off), gi);
        }
    }
    sh[t] = s;
    workgroupBarrier();
    // `lanes` comes from params, so every invocation runs the same number of rounds.
    for (var stride = lanes / 2u; stride > 0u; stride = stride / 2u) {
        if (lane < stride) {
            sh[t] = st_merge(sh[t], sh[t + stride]);
        }
        workgroupBarrier();
    }
    if (lane == 0u && item < params[0]) {
        rd_sink(item, sh[t]);
    }
}
